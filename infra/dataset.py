"""The training data, read once up front: bad data fails `pulumi preview`/`up` before
any resource is touched, and its hash and store count feed the build and the exports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from chipotle_model import load_stores
from chipotle_model.fetch import ensure_dataset
from infra import build_spec
from infra.config import Settings, key_name


@dataclass(frozen=True)
class Dataset:
    path: str  # relative to the project directory (the Docker build context)
    sha256: str
    stores: int
    rows_read: int
    duplicates_dropped: int

    def summary(self) -> dict[str, object]:
        """The `model` stack output."""
        return {
            "data_path": self.path,
            "data_sha256": self.sha256,
            "stores": self.stores,
            "rows_read": self.rows_read,
            "duplicates_dropped": self.duplicates_dropped,
        }


def load_dataset(settings: Settings, project_dir: Path = build_spec.REPO_ROOT) -> Dataset:
    """Fetch the public data set when the configured CSV is absent, then validate it.

    Raises `chipotle_model.fetch.DatasetUnavailable` (offline, no file) or
    `chipotle_model.DataError` (naming the line and column of bad data).
    """
    path = ensure_dataset(project_dir / settings.data_path, config_hint=key_name("dataPath"))
    loaded = load_stores(path)
    return Dataset(
        path=settings.data_path,
        sha256=loaded.sha256,
        stores=len(loaded.stores),
        rows_read=loaded.rows_read,
        duplicates_dropped=loaded.duplicates_dropped,
    )
