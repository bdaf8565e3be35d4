"""Obtaining the public data set when the default CSV is absent (the only network I/O)."""

from __future__ import annotations

import shutil
from pathlib import Path

DEFAULT_DATA_PATH = Path("data/chipotle_stores.csv")
KAGGLE_DATASET = "jeffreybraun/chipotle-locations"
KAGGLE_PAGE = f"https://www.kaggle.com/datasets/{KAGGLE_DATASET}"
KAGGLE_CSV_NAME = "chipotle_stores.csv"


class DatasetUnavailable(RuntimeError):
    """The data set could not be fetched; the message says how to supply a local CSV."""


def ensure_dataset(path: str | Path = DEFAULT_DATA_PATH, *, config_hint: str = "--data") -> Path:
    """Return `path`, first downloading the public data set there if it is absent.

    Only a missing file is fetched; an existing file is never overwritten.
    `config_hint` names the setting that points at a local CSV instead (the CLI
    flag or the Pulumi config key), so the error tells the caller what to change.
    """
    path = Path(path)
    if path.is_file():
        return path
    try:
        # imported here: serving never fetches, and must not pay for kagglehub
        import kagglehub

        folder = Path(kagglehub.dataset_download(KAGGLE_DATASET))
    except Exception as exc:  # offline, no credentials, package missing, ...
        raise DatasetUnavailable(
            f"{path} does not exist and the public data set {KAGGLE_DATASET} "
            f"({KAGGLE_PAGE}) could not be downloaded: {exc}. "
            f"Download {KAGGLE_CSV_NAME} from that page to {path}, or point "
            f"{config_hint} at any local CSV with the columns "
            "state,location,address,latitude,longitude."
        ) from exc
    source = folder / KAGGLE_CSV_NAME
    if not source.is_file():
        found = sorted(folder.rglob("*.csv"))
        if not found:
            raise DatasetUnavailable(
                f"the download of {KAGGLE_DATASET} holds no CSV file (looked in {folder}); "
                f"point {config_hint} at a local CSV instead"
            )
        source = found[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, path)
    return path
