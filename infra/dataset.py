"""The training data, read once up front: bad data fails `pulumi preview`/`up` before
any resource is touched, and its hash and store count feed the build and the exports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from infra import build_spec
from infra.config import Settings, key_name


@dataclass(frozen=True)
class Dataset:
    path: str  # relative to the project directory (the Docker build context)
    checked: dict  # what the model package's check_data says of it (its hash, counts)

    def summary(self) -> dict[str, object]:
        """The `model` stack output."""
        return {"data_path": self.path, **self.checked}


def load_dataset(
    package: ModuleType, settings: Settings, project_dir: Path = build_spec.REPO_ROOT
) -> Dataset:
    """The configured data, checked by the model package (`check_data`), which raises a
    ValueError naming the line and column of bad data, or saying why there is none."""
    checked = package.check_data(project_dir / settings.data_path, setting=key_name("dataPath"))
    return Dataset(path=settings.data_path, checked=checked)
