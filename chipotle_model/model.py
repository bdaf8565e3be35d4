"""The exact nearest-store model: fit, query, save, load.

A scikit-learn KDTree over 3-D unit vectors (see geo.unit_vectors) answers
great-circle nearest-neighbour queries exactly. It was chosen by measurement
over a haversine BallTree and the NearestNeighbors wrapper: bench/model_choice.py.
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
from sklearn.neighbors import KDTree

from .files import replaced_together
from .geo import InvalidQuery, haversine_km, unit_vectors, validate_coordinates
from .table import StoreTable

# 2: the store table as numpy columns (chipotle_model.table); 1 held Python lists.
ARTIFACT_FORMAT = 2
MAX_K = 20
# Loading refuses an artifact whose pickled estimator came from other versions of these.
CHECKED_PACKAGES = ("scikit-learn", "numpy")


class ModelLoadError(RuntimeError):
    """The artifact is missing, unreadable or not a model artifact."""


class ModelVersionMismatch(ModelLoadError):
    """The artifact was made with other scikit-learn/numpy versions than the running ones."""


def runtime_versions() -> dict[str, str]:
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
    }


class NearestStoreModel:
    """Stores plus a spatial index; answers "which k stores are nearest to these points".

    Like scikit-learn's neighbours estimators, `query` returns `(distances, indices)`;
    the answers' JSON records are built from them by `chipotle_model.response`.
    """

    def __init__(self, tree: KDTree, stores: StoreTable, metadata: dict):
        self._tree = tree
        self.stores = stores
        self.metadata = metadata
        self._latitude = np.asarray(stores.latitude, dtype=np.float64)
        self._longitude = np.asarray(stores.longitude, dtype=np.float64)

    @classmethod
    def fit(cls, stores: StoreTable, **metadata) -> NearestStoreModel:
        if len(stores) == 0:
            raise ValueError("cannot fit a model on zero stores")
        tree = KDTree(unit_vectors(stores.latitude, stores.longitude))
        metadata = {
            "store_count": len(stores),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": runtime_versions(),
            **metadata,
        }
        return cls(tree, stores, metadata)

    def __len__(self) -> int:
        return len(self.stores)

    def query(self, latitudes, longitudes, *, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest stores to each point.

        Parameters
        ----------
        latitudes, longitudes : float or array-like of shape (n,)
            Points in decimal degrees; each must be finite and in range.
        k : int, default=1
            How many stores per point, 1 to min(MAX_K, number of stores).

        Returns
        -------
        distances : ndarray of shape (n, k)
            Great-circle distances in km, nearest first.
        indices : ndarray of shape (n, k)
            Row numbers of those stores in `self.stores`.

        Raises InvalidQuery naming the first bad point or a bad k.
        """
        k = check_k(k, len(self))
        lat, lon = validate_coordinates(latitudes, longitudes, where="points")
        _, indices = self._tree.query(unit_vectors(lat, lon), k=k)
        distances = haversine_km(
            lat[:, None], lon[:, None], self._latitude[indices], self._longitude[indices]
        )
        return distances, indices

    def save(self, path: str | Path) -> Path:
        """Write the artifact to `path` atomically: a failed write keeps the previous file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        artifact = {
            "format": ARTIFACT_FORMAT,
            "metadata": self.metadata,
            "stores": self.stores.to_arrays(),  # plain arrays: joblib writes each in one piece
            "estimator": self._tree,
        }
        with replaced_together([path]) as (temporary,):
            joblib.dump(artifact, temporary)
        return path


def check_k(k, store_count: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
        raise InvalidQuery(f"k must be an integer from 1 to {MAX_K}, got {k!r}")
    if k > store_count:
        raise InvalidQuery(f"k must be at most the number of stores ({store_count}), got {k}")
    return int(k)


def load_model(path: str | Path) -> NearestStoreModel:
    """Load an artifact written by `save`, refusing one made with other library versions.

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
    try:
        stores = StoreTable.from_arrays(artifact["stores"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(
            f"{path} is a damaged artifact: its store table is malformed ({exc!r}); {_rebuild(path)}"
        ) from exc
    return NearestStoreModel(artifact["estimator"], stores, artifact["metadata"])


def _rebuild(path: Path) -> str:
    return f"rebuild it with 'python -m chipotle_model.train --data CSV --out {path}'"


def _read_artifact(path: Path) -> object:
    """The unpickled content of `path`, or ModelLoadError saying why it cannot be read."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ModelLoadError(
            f"no model artifact at {path}: train one with "
            f"'python -m chipotle_model.train --data CSV --out {path}'"
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


# What each part of an artifact must be, checked before any of it is used ("stores": the
# store table's columns, StoreTable.to_arrays).
_ARTIFACT_PARTS = {"metadata": dict, "stores": dict, "estimator": KDTree}


def _validated(artifact: object, path: Path) -> dict:
    """`artifact` if it has every part an artifact of ARTIFACT_FORMAT has, else ModelLoadError."""
    if not isinstance(artifact, dict) or "format" not in artifact:
        raise ModelLoadError(
            f"{path} is not a chipotle_model artifact (format {ARTIFACT_FORMAT}): it holds a "
            f"{type(artifact).__name__} without a 'format'; {_rebuild(path)}"
        )
    if artifact["format"] != ARTIFACT_FORMAT:
        raise ModelLoadError(
            f"{path} is a chipotle_model artifact of format {artifact['format']!r}; this version "
            f"reads format {ARTIFACT_FORMAT}; {_rebuild(path)}"
        )
    for part, kind in _ARTIFACT_PARTS.items():
        if not isinstance(artifact.get(part), kind):
            found = "missing" if part not in artifact else f"a {type(artifact[part]).__name__}"
            raise ModelLoadError(
                f"{path} is a damaged artifact: '{part}' should be a {kind.__name__}, found "
                f"{found}; {_rebuild(path)}"
            )
    if not isinstance(artifact["metadata"].get("versions"), dict):
        raise ModelLoadError(
            f"{path} is a damaged artifact: its metadata has no 'versions' (the library "
            f"versions it was made with); {_rebuild(path)}"
        )
    return artifact
