"""The response schema, in one place: what every answer of the API looks like.

Only the standard library and numpy: the model (scikit-learn) never builds JSON, and a
handler that answers without scikit-learn can build the very same records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .geo import km_to_miles

if TYPE_CHECKING:
    from .table import StoreTable

# Distances are rounded to the metre (and its equivalent in miles).
DISTANCE_DECIMALS = 3
_DISTANCE = {"type": "number", "minimum": 0}
# One store in an answer (JSON Schema), its fields in this order: the one description of
# a store, read by the OpenAPI document (GET /openapi.json), the contract and the tests.
STORE_SCHEMA = {
    "type": "object",
    "properties": {
        "address": {"type": "string"},
        "city": {"type": "string"},
        "state": {"type": "string"},
        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
        "distance_km": {**_DISTANCE, "description": f"great-circle, rounded to {DISTANCE_DECIMALS} decimals"},
        "distance_miles": {
            **_DISTANCE,
            "description": f"the same, in miles, rounded to {DISTANCE_DECIMALS} decimals",
        },
    },
    "additionalProperties": False,
}
RESULT_FIELDS = tuple(STORE_SCHEMA["properties"])
STORE_SCHEMA["required"] = list(RESULT_FIELDS)


class StoreRecords:
    """The per-store part of every answer, read from the store table's columns for the
    stores answered only: a request costs O(records returned), whatever the store count
    (nothing per store is built at load, so INIT does not grow with the data either)."""

    def __init__(self, stores: StoreTable):
        self._stores = stores

    @classmethod
    def from_table(cls, stores: StoreTable) -> StoreRecords:
        return cls(stores)

    def __len__(self) -> int:
        return len(self._stores)

    def rows(self, distances_km: np.ndarray, indices: np.ndarray) -> list[dict]:
        """One record (RESULT_FIELDS) per (distance, index) pair of two 1-D arrays."""
        indices = np.asarray(indices, dtype=np.intp)
        stores = self._stores
        km = np.round(distances_km, DISTANCE_DECIMALS).tolist()
        miles = np.round(km_to_miles(distances_km), DISTANCE_DECIMALS).tolist()
        return [
            {
                "address": address,
                "city": city,
                "state": state,
                "latitude": latitude,
                "longitude": longitude,
                "distance_km": d_km,
                "distance_miles": d_mi,
            }
            for address, city, state, latitude, longitude, d_km, d_mi in zip(
                stores.address.take(indices),
                stores.city.take(indices),
                stores.state.take(indices),
                stores.latitude[indices].tolist(),
                stores.longitude[indices].tolist(),
                km,
                miles,
            )
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


def nearest_schema(max_k: int) -> dict:
    """JSON Schema of a GET / answer (nearest_answer) with k up to `max_k`."""
    return {
        "type": "object",
        "required": ["query", "nearest", "stores"],
        "properties": {
            "query": {
                "type": "object",
                "required": ["latitude", "longitude", "k"],
                "properties": {
                    "latitude": STORE_SCHEMA["properties"]["latitude"],
                    "longitude": STORE_SCHEMA["properties"]["longitude"],
                    "k": {"type": "integer", "minimum": 1, "maximum": max_k},
                },
                "additionalProperties": False,
            },
            "nearest": {**STORE_SCHEMA, "description": "the first of `stores`"},
            "stores": {"type": "array", "items": STORE_SCHEMA, "minItems": 1, "maxItems": max_k},
        },
        "additionalProperties": False,
    }


def batch_schema(max_points: int) -> dict:
    """JSON Schema of a POST / answer (batch_answer) to up to `max_points` points."""
    return {
        "type": "object",
        "required": ["results"],
        "properties": {
            "results": {
                "type": "array",
                "items": STORE_SCHEMA,
                "minItems": 1,
                "maxItems": max_points,
                "description": "results[i]: the nearest store to points[i]",
            }
        },
        "additionalProperties": False,
    }


def health_answer(metadata: Mapping[str, Any]) -> dict:
    """GET /health: the model's metadata."""
    return {"status": "ok", **metadata}


def error_answer(message: str) -> dict:
    """Any 4xx/5xx: what is wrong and what is allowed."""
    return {"error": message}
