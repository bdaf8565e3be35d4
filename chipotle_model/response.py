"""The response schema, in one place: what every answer of the API looks like.

Only the standard library and numpy: the model (scikit-learn) never builds JSON, and a
handler that answers without scikit-learn can build the very same records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .geo import km_to_miles

if TYPE_CHECKING:
    from .data import StoreTable

# One store in an answer, in this order.
RESULT_FIELDS = ("address", "city", "state", "latitude", "longitude", "distance_km", "distance_miles")
# Distances are rounded to the metre (and its equivalent in miles).
DISTANCE_DECIMALS = 3


class StoreRecords:
    """The per-store part of every answer, built once per model so that answering a query
    only adds the distances."""

    def __init__(self, base: Sequence[Mapping[str, Any]]):
        self.base = [dict(record) for record in base]

    @classmethod
    def from_table(cls, stores: StoreTable) -> StoreRecords:
        return cls(
            {"address": a, "city": c, "state": s, "latitude": la, "longitude": lo}
            for a, c, s, la, lo in zip(
                stores.address, stores.city, stores.state, stores.latitude, stores.longitude
            )
        )

    def __len__(self) -> int:
        return len(self.base)

    def rows(self, distances_km: np.ndarray, indices: np.ndarray) -> list[dict]:
        """One record (RESULT_FIELDS) per (distance, index) pair of two 1-D arrays."""
        km = np.round(distances_km, DISTANCE_DECIMALS).tolist()
        miles = np.round(km_to_miles(distances_km), DISTANCE_DECIMALS).tolist()
        base = self.base
        return [
            {**base[i], "distance_km": d_km, "distance_miles": d_mi}
            for i, d_km, d_mi in zip(np.asarray(indices).tolist(), km, miles)
        ]


def nearest_answer(latitude: float, longitude: float, k: int, stores: list[dict]) -> dict:
    """GET /: the k nearest stores to one point, nearest first."""
    return {
        "query": {"latitude": latitude, "longitude": longitude, "k": k},
        "nearest": stores[0],
        "stores": stores,
    }


def batch_answer(results: list[dict]) -> dict:
    """POST /: the nearest store to each point, in input order."""
    return {"results": results}


def health_answer(metadata: Mapping[str, Any]) -> dict:
    """GET /health: the model's metadata."""
    return {"status": "ok", **metadata}


def error_answer(message: str) -> dict:
    """Any 4xx/5xx: what is wrong and what is allowed."""
    return {"error": message}
