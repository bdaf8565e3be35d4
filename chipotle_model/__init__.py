"""chipotle_model: an exact great-circle nearest-store model, served by the `serving` platform.

The names below are the seam between this package and the platform (docs/own-model.md):
the platform, the images and the Pulumi program call these and nothing else of the
package. A package of your own exports the same names.

    SERVICE_NAME       the service's name in logs, metrics and resource descriptions
    DEFAULT_DATA_PATH  the training data file when none is given
    check_data         check a data file before a deploy (bad data fails `pulumi preview`)
    train_model        train from a data file -> serving.training.Trained
    ROUTES             {(method, path): route(model, request)}, served beside GET /health
    warm_up_requests   requests answered at init, so the first user pays no first-use cost
    contract_checks    contract_checks(data) -> the checks `smoke URL [--data DATA]` runs
                       against an API, before the platform's (data: None for the default set)
"""

from __future__ import annotations

from pathlib import Path

from .contract import contract_checks
from .data import DataError, load_stores
from .fetch import DEFAULT_DATA_PATH, ensure_dataset
from .routes import ROUTES, warm_up_requests
from .training import train_model

SERVICE_NAME = "nearest-store"


def check_data(path: Path, *, setting: str) -> dict:
    """The data a deploy trains on, validated: its hash and counts (the `model` stack
    output). The public data set is fetched first when `path` is the default file
    (DEFAULT_DATA_PATH, under the project directory) and absent, never for another path;
    `setting` names the option that points elsewhere, for the error. Raises DataError (a
    ValueError) naming the line and column of bad data, or when the data cannot be had."""
    path = Path(path)
    try:
        if path.parts[-len(DEFAULT_DATA_PATH.parts) :] == DEFAULT_DATA_PATH.parts:
            path = ensure_dataset(path, config_hint=setting)
        elif not path.is_file():
            raise DataError(f"{path}: no such data file; point {setting} at a CSV file")
        loaded = load_stores(path)
    except RuntimeError as exc:  # DatasetUnavailable: offline, and no file
        raise DataError(str(exc)) from exc
    return {
        "data_sha256": loaded.sha256,
        "stores": len(loaded.stores),
        "rows_read": loaded.rows_read,
        "duplicates_dropped": loaded.duplicates_dropped,
    }


__all__ = [
    "DEFAULT_DATA_PATH",
    "ROUTES",
    "SERVICE_NAME",
    "check_data",
    "contract_checks",
    "train_model",
    "warm_up_requests",
]
