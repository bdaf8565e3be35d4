"""The model artifact: one joblib file holding a trained model and its metadata.

    {"format": ARTIFACT_FORMAT, "metadata": {..., "versions": {...}},
     "model_sha256": <hex>, "model_pickle": <the model, pickled>}

The model is whatever the model package's `train_model` returned (the platform never
looks inside it). The metadata records the library versions it was made with, and
loading refuses an artifact made with other scikit-learn or numpy versions than the
running ones: a pickled estimator is only valid under the versions that pickled it.

Integrity: the model is pickled on its own and the sha256 of those bytes recorded beside
them; loading recomputes it before unpickling and refuses an artifact whose bytes
changed (a flipped bit, a partial copy). Consistency is the model's own business: its
unpickling (`__setstate__`) may raise, and any error there is a damaged artifact too.
"""

from __future__ import annotations

import hashlib
import pickle
import platform
import reprlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib

from .files import replaced_together

# 4: the model as pickled bytes with their sha256; 3: {"format", "metadata", "model"};
# 2 held one model's parts by name.
ARTIFACT_FORMAT = 4
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
    with replaced_together([path]) as (temporary,):
        dump_artifact(temporary, model, metadata)
    return path


def dump_artifact(path: str | Path, model: Any, metadata: dict) -> None:
    """Write the artifact to `path` as it is (not atomically: `save_artifact` is)."""
    model_pickle = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    artifact = {
        "format": ARTIFACT_FORMAT,
        "metadata": metadata,
        "model_sha256": hashlib.sha256(model_pickle).hexdigest(),
        "model_pickle": model_pickle,
    }
    joblib.dump(artifact, path)


def load_artifact(path: str | Path) -> Artifact:
    """Load an artifact written by `save_artifact`, refusing one made with other library
    versions.

    An artifact is a pickle, which runs code when loaded: load only artifacts from a
    build you trust. Anything else that is not a complete, intact artifact (its model's
    bytes match their recorded sha256, and unpickle without error) is refused with a
    ModelLoadError saying what is wrong and how to rebuild it.
    """
    path = Path(path)
    artifact = _validated(_read_artifact(path), path)
    digest = hashlib.sha256(artifact["model_pickle"]).hexdigest()
    if digest != artifact["model_sha256"]:
        raise damaged_artifact(
            path,
            f"its model's bytes have sha256 {digest[:12]}..., not the "
            f"{artifact['model_sha256'][:12]}... recorded when it was made",
        )
    made_with = artifact["metadata"]["versions"]
    running = runtime_versions()
    mismatched = [name for name in CHECKED_PACKAGES if made_with.get(name) != running[name]]
    if mismatched:
        details = ", ".join(f"{n} {made_with.get(n)} (running {running[n]})" for n in mismatched)
        raise ModelVersionMismatch(
            f"{path} was made with {details}; retrain it with the pinned versions in "
            "requirements/constraints.txt so training and serving share one environment"
        )
    return Artifact(_unpickled_model(artifact["model_pickle"], path), artifact["metadata"])


def damaged_artifact(path: str | Path, problem: str) -> ModelLoadError:
    """The error for an artifact at `path` that is damaged as `problem` says."""
    return ModelLoadError(f"{path} is a damaged artifact: {problem}; {_rebuild(path)}")


def _unpickled_model(model_pickle: bytes, path: Path) -> Any:
    try:
        return pickle.loads(model_pickle)
    except Exception as exc:  # the model's own consistency checks raise here, or a damaged pickle
        raise damaged_artifact(path, f"its model cannot be restored ({type(exc).__name__}: {exc})") from exc


def _rebuild(path: str | Path) -> str:
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
    found = artifact["format"]
    if type(found) is not int or found != ARTIFACT_FORMAT:  # not `!=` alone: an array's is no bool
        raise ModelLoadError(
            f"{path} is a model artifact of format {reprlib.repr(found)}; this version "
            f"reads format {ARTIFACT_FORMAT}; {_rebuild(path)}"
        )
    parts = {"metadata": dict, "model_sha256": str, "model_pickle": bytes}
    for part, kind in parts.items():
        if not isinstance(artifact.get(part), kind):
            problem = "missing" if part not in artifact else f"a {type(artifact[part]).__name__}"
            raise damaged_artifact(path, f"its '{part}' is {problem}, not a {kind.__name__}")
    if not isinstance(artifact["metadata"].get("versions"), dict):
        raise damaged_artifact(path, "its metadata has no 'versions' (the library versions it was made with)")
    return artifact
