"""chipotle_model: an exact great-circle nearest-store model.

The names below are imported on first use, so `import chipotle_model.response` (or
.geo, .params, .cors) loads neither scikit-learn nor scipy. Importing this package or
loading a model never imports pandas or kagglehub: the serving image has neither.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# public name -> the module that defines it
_EXPORTS = {
    "DataError": "data",
    "StoreTable": "table",
    "load_stores": "data",
    "InvalidQuery": "geo",
    "haversine_km": "geo",
    "MAX_K": "model",
    "ModelLoadError": "model",
    "ModelVersionMismatch": "model",
    "NearestStoreModel": "model",
    "load_model": "model",
    "RESULT_FIELDS": "response",
    "StoreRecords": "response",
}
__all__ = list(_EXPORTS)

if TYPE_CHECKING:  # the same names, for type checkers and editors
    from .data import DataError, load_stores  # noqa: F401
    from .geo import InvalidQuery, haversine_km  # noqa: F401
    from .model import MAX_K, ModelLoadError, ModelVersionMismatch, NearestStoreModel, load_model  # noqa: F401
    from .response import RESULT_FIELDS, StoreRecords  # noqa: F401
    from .table import StoreTable  # noqa: F401


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # once imported, a plain attribute
    return value
