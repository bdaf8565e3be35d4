"""The model artifact: one joblib file holding a trained model and its metadata.

    {"format": ARTIFACT_FORMAT, "metadata": {..., "versions": {...}}, "model": <any object>}

The model is whatever the model package's `train_model` returned (the platform never
looks inside it). The metadata records the library versions it was made with, and
loading refuses an artifact made with other scikit-learn or numpy versions than the
running ones: a pickled estimator is only valid under the versions that pickled it.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib

from .files import replaced_together

# 3: {"format", "metadata", "model"}; 2 held one model's parts by name.
ARTIFACT_FORMAT = 3
# Loading refuses an artifact whose pickled estimator came from other versions of these.
CHECKED_PACKAGES = ("scikit-learn", "numpy")


class ModelLoadError(RuntimeError):
    """The artifact is missing, unreadable or not a model artifact."""


class ModelVersionMismatch(ModelLoadError):
    """The artifact was made with other scikit-learn/numpy versions than the running ones."""


@dataclass(frozen=True)
class Artifact:
    """A loaded artifact: the model object and its metadata (versions, data, report)."""

    model: Any
    metadata: dict


def runtime_versions() -> dict[str, str]:
    import numpy
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
    }


def artifact_metadata(**metadata: Any) -> dict:
    """`metadata` with when the model was made and with which library versions."""
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": runtime_versions(),
        **metadata,
    }


def save_artifact(path: str | Path, model: Any, metadata: dict) -> Path:
    """Write the artifact to `path` atomically: a failed write keeps the previous file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    artifact = {"format": ARTIFACT_FORMAT, "metadata": metadata, "model": model}
    with replaced_together([path]) as (temporary,):
        joblib.dump(artifact, temporary)
    return path


def load_artifact(path: str | Path) -> Artifact:
    """Load an artifact written by `save_artifact`, refusing one made with other library
    versions.

    An artifact is a pickle, which runs code when loaded: load only artifacts from a
    build you trust. Anything else that is not a complete artifact is refused with a
    ModelLoadError saying what is wrong and how to rebuild it.
    """
    path = Path(path)
    artifact = _validated(_read_artifact(path), path)
    made_with = artifact["metadata"]["versions"]
    running = runtime_versions()
    mismatched = [name for name in CHECKED_PACKAGES if made_with.get(name) != running[name]]
    if mismatched:
        details = ", ".join(f"{n} {made_with.get(n)} (running {running[n]})" for n in mismatched)
        raise ModelVersionMismatch(
            f"{path} was made with {details}; retrain it with the pinned versions in "
            "requirements/constraints.txt so training and serving share one environment"
        )
    return Artifact(artifact["model"], artifact["metadata"])


def _rebuild(path: Path) -> str:
    return f"rebuild it with 'python -m <model package>.train --data CSV --out {path}'"


def _read_artifact(path: Path) -> object:
    """The unpickled content of `path`, or ModelLoadError saying why it cannot be read."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ModelLoadError(
            f"no model artifact at {path}: train one with "
            f"'python -m <model package>.train --data CSV --out {path}'"
        ) from None
    except OSError as exc:
        raise ModelLoadError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    if path.is_dir():
        raise ModelLoadError(f"{path} is a directory, not a model artifact file")
    if size == 0:
        raise ModelLoadError(f"{path} is empty (0 bytes), not a model artifact; {_rebuild(path)}")
    try:
        return joblib.load(path)
    except OSError as exc:
        raise ModelLoadError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    except Exception as exc:  # unpickling fails in many ways on a damaged or foreign file
        raise ModelLoadError(
            f"{path} ({size:,} bytes) is not a readable model artifact (joblib: "
            f"{type(exc).__name__}: {exc}); it may be truncated or another kind of file; "
            f"{_rebuild(path)}"
        ) from exc


def _validated(artifact: object, path: Path) -> dict:
    """`artifact` if it has every part an artifact of ARTIFACT_FORMAT has, else ModelLoadError."""
    if not isinstance(artifact, dict) or "format" not in artifact:
        raise ModelLoadError(
            f"{path} is not a model artifact (format {ARTIFACT_FORMAT}): it holds a "
            f"{type(artifact).__name__} without a 'format'; {_rebuild(path)}"
        )
    if artifact["format"] != ARTIFACT_FORMAT:
        raise ModelLoadError(
            f"{path} is a model artifact of format {artifact['format']!r}; this version "
            f"reads format {ARTIFACT_FORMAT}; {_rebuild(path)}"
        )
    if "model" not in artifact or not isinstance(artifact.get("metadata"), dict):
        part = "model" if "model" not in artifact else "metadata"
        raise ModelLoadError(f"{path} is a damaged artifact: its '{part}' is missing; {_rebuild(path)}")
    if not isinstance(artifact["metadata"].get("versions"), dict):
        raise ModelLoadError(
            f"{path} is a damaged artifact: its metadata has no 'versions' (the library "
            f"versions it was made with); {_rebuild(path)}"
        )
    return artifact
