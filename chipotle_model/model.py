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

from .data import StoreTable
from .geo import InvalidQuery, haversine_km, km_to_miles, unit_vectors, validate_coordinates

ARTIFACT_FORMAT = 1
MAX_K = 20
# The response schema of one store, in order: every caller (HTTP API, CLI) uses this.
RESULT_FIELDS = ("address", "city", "state", "latitude", "longitude", "distance_km", "distance_miles")
# Distances are rounded to the metre (and its equivalent in miles).
DISTANCE_DECIMALS = 3
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
    """Stores plus a spatial index; answers "which k stores are nearest to this point"."""

    def __init__(self, tree: KDTree, stores: StoreTable, metadata: dict):
        self._tree = tree
        self.stores = stores
        self.metadata = metadata
        self._latitude = np.asarray(stores.latitude, dtype=np.float64)
        self._longitude = np.asarray(stores.longitude, dtype=np.float64)
        # Per-store part of each result, built once so answering only adds distances.
        self._records = [
            {"address": a, "city": c, "state": s, "latitude": la, "longitude": lo}
            for a, c, s, la, lo in zip(
                stores.address, stores.city, stores.state, stores.latitude, stores.longitude
            )
        ]

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

    def query(self, latitudes, longitudes, k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised core: (indices, distances in km), each of shape (n, k), nearest first."""
        k = check_k(k, len(self))
        lat, lon = validate_coordinates(latitudes, longitudes, where="points")
        return self._query(lat, lon, k)

    def _query(self, lat: np.ndarray, lon: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        _, indices = self._tree.query(unit_vectors(lat, lon), k=k)
        distances = haversine_km(
            lat[:, None], lon[:, None], self._latitude[indices], self._longitude[indices]
        )
        return indices, distances

    def nearest(self, latitude: float, longitude: float, k: int = 1) -> list[dict]:
        """The k nearest stores to one point, nearest first (dicts with RESULT_FIELDS)."""
        k = check_k(k, len(self))
        lat, lon = validate_coordinates(latitude, longitude)
        if lat.size != 1:
            raise InvalidQuery("nearest() takes one point; use nearest_batch() for many")
        indices, distances = self._query(lat, lon, k)
        return self._results(indices[0], distances[0])

    def nearest_batch(self, latitudes, longitudes) -> list[dict]:
        """The nearest store to each point, in input order (one vectorised query)."""
        indices, distances = self.query(latitudes, longitudes, 1)
        return self._results(indices[:, 0], distances[:, 0])

    def _results(self, indices: np.ndarray, distances_km: np.ndarray) -> list[dict]:
        km = np.round(distances_km, DISTANCE_DECIMALS).tolist()
        miles = np.round(km_to_miles(distances_km), DISTANCE_DECIMALS).tolist()
        records = self._records
        return [
            {**records[i], "distance_km": d_km, "distance_miles": d_mi}
            for i, d_km, d_mi in zip(indices.tolist(), km, miles)
        ]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        artifact = {
            "format": ARTIFACT_FORMAT,
            "metadata": self.metadata,
            "stores": self.stores,
            "estimator": self._tree,
        }
        joblib.dump(artifact, path)
        return path


def check_k(k, store_count: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
        raise InvalidQuery(f"k must be an integer from 1 to {MAX_K}, got {k!r}")
    if k > store_count:
        raise InvalidQuery(f"k must be at most the number of stores ({store_count}), got {k}")
    return int(k)


def load_model(path: str | Path) -> NearestStoreModel:
    """Load an artifact written by `save`, refusing one made with other library versions."""
    path = Path(path)
    try:
        artifact = joblib.load(path)
    except FileNotFoundError:
        raise ModelLoadError(
            f"no model artifact at {path}: train one with "
            f"'python -m chipotle_model.train --data CSV --out {path}'"
        ) from None
    except Exception as exc:
        raise ModelLoadError(f"{path} is not a readable model artifact: {exc}") from exc
    if not isinstance(artifact, dict) or artifact.get("format") != ARTIFACT_FORMAT:
        raise ModelLoadError(f"{path} is not a chipotle_model artifact (format {ARTIFACT_FORMAT})")
    made_with = artifact["metadata"].get("versions", {})
    running = runtime_versions()
    mismatched = [name for name in CHECKED_PACKAGES if made_with.get(name) != running[name]]
    if mismatched:
        details = ", ".join(f"{n} {made_with.get(n)} (running {running[n]})" for n in mismatched)
        raise ModelVersionMismatch(
            f"{path} was made with {details}; retrain it with the pinned versions in "
            "requirements/constraints.txt so training and serving share one environment"
        )
    return NearestStoreModel(artifact["estimator"], artifact["stores"], artifact["metadata"])
