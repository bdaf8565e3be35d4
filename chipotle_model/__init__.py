"""chipotle_model: an exact great-circle nearest-store model.

Importing this package (and loading a model) never imports pandas or kagglehub:
the serving image has neither.
"""

from .data import DataError, StoreTable, load_stores
from .geo import InvalidQuery, haversine_km
from .model import (
    MAX_K,
    RESULT_FIELDS,
    ModelLoadError,
    ModelVersionMismatch,
    NearestStoreModel,
    load_model,
)

__all__ = [
    "MAX_K",
    "RESULT_FIELDS",
    "DataError",
    "InvalidQuery",
    "ModelLoadError",
    "ModelVersionMismatch",
    "NearestStoreModel",
    "StoreTable",
    "haversine_km",
    "load_model",
    "load_stores",
]
