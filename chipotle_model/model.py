"""The exact nearest-store model: fit and query (serving.artifact saves and loads it).

A scikit-learn KDTree over 3-D unit vectors (see geo.unit_vectors) answers
great-circle nearest-neighbour queries exactly. It was chosen by measurement
over a haversine BallTree and the NearestNeighbors wrapper: bench/model_choice.py.
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import KDTree

from .geo import InvalidQuery, haversine_km, unit_vectors, validate_coordinates
from .table import StoreTable

MAX_K = 20


class NearestStoreModel:
    """Stores plus a spatial index; answers "which k stores are nearest to these points".

    Like scikit-learn's neighbours estimators, `query` returns `(distances, indices)`;
    the answers' JSON records are built from them by `chipotle_model.response`.
    """

    def __init__(self, tree: KDTree, stores: StoreTable):
        self._tree = tree
        self.stores = stores
        self._latitude = np.asarray(stores.latitude, dtype=np.float64)
        self._longitude = np.asarray(stores.longitude, dtype=np.float64)

    @classmethod
    def fit(cls, stores: StoreTable) -> NearestStoreModel:
        if len(stores) == 0:
            raise ValueError("cannot fit a model on zero stores")
        return cls(KDTree(unit_vectors(stores.latitude, stores.longitude)), stores)

    def __len__(self) -> int:
        return len(self.stores)

    # Pickled (in the artifact, serving.artifact) as the tree and the store table's plain
    # columns; unpickling checks that they agree (serving.artifact refuses the artifact if not).
    def __getstate__(self) -> dict:
        return {"tree": self._tree, "stores": self.stores.to_arrays()}

    def __setstate__(self, state: dict) -> None:
        stores = StoreTable.from_arrays(state["stores"])
        check_consistent(state["tree"], stores)
        self.__init__(state["tree"], stores)

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


def check_consistent(tree: KDTree, stores: StoreTable) -> None:
    """ValueError unless `tree` indexes exactly `stores`' coordinates, in order, and they are
    valid: a table and an index that disagree would answer with the wrong stores."""
    if len(stores) == 0:
        raise ValueError("the store table is empty")
    if not isinstance(tree, KDTree):
        raise ValueError(f"the index is a {type(tree).__name__}, not a KDTree")
    validate_coordinates(stores.latitude, stores.longitude, where="stores")
    points = np.asarray(tree.get_arrays()[0])
    if points.shape != (len(stores), 3):
        raise ValueError(f"the index holds points of shape {points.shape}, the table {len(stores):,} stores")
    if not np.array_equal(points, unit_vectors(stores.latitude, stores.longitude)):
        raise ValueError("the index's points are not the store table's coordinates, in order")
    for column in (stores.state, stores.city, stores.address):
        column.check_utf8()


def check_k(k, store_count: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_K:
        raise InvalidQuery(f"k must be an integer from 1 to {MAX_K}, got {k!r}")
    if k > store_count:
        raise InvalidQuery(f"k must be at most the number of stores ({store_count}), got {k}")
    return int(k)
