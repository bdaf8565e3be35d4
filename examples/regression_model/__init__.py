"""examples.regression_model: a linear regression y ~ x1 + x2, served by the `serving` platform.

A second model package beside chipotle_model, the proof that the seam is all the platform
needs (docs/own-model.md). It exports the seam's names and nothing else of it is called.
"""

from __future__ import annotations

from pathlib import Path

from .contract import contract_checks
from .data import DEFAULT_DATA_PATH, DataError, ensure_data, read_rows
from .routes import ROUTES, warm_up_requests
from .training import train_model

SERVICE_NAME = "regression"


def check_data(path: Path, *, setting: str) -> dict:
    """The data a deploy trains on, validated: its hash and row count. The example data is
    generated first when the default file is absent. Raises DataError (a ValueError)
    naming the line and column of bad data; `setting` names the option to change."""
    path = ensure_data(Path(path), say=lambda text: None)
    if not path.is_file():
        raise DataError(f"no data file at {path}; point {setting} at a CSV with the columns x1,x2,y")
    rows = read_rows(path)
    return {"data_sha256": rows.sha256, "rows": len(rows.y)}


__all__ = [
    "DEFAULT_DATA_PATH",
    "ROUTES",
    "SERVICE_NAME",
    "check_data",
    "contract_checks",
    "train_model",
    "warm_up_requests",
]
