"""The training data, read once up front: bad data fails `pulumi preview`/`up` before
any resource is touched, and its hash and store count feed the build and the exports.

Which file: `chipotle:dataPath`, or when it is unset the model package's own
DEFAULT_DATA_PATH. Only that default file may be absent (the package fetches or generates
it: chipotle_model downloads the public data set, the example writes its CSV); any other
path must be an existing regular file, so a typo is an error rather than a deploy of the
public data set.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from infra import build_spec
from infra.config import ConfigError, Settings, data_path_in, key_name


@dataclass(frozen=True)
class Dataset:
    path: str  # relative to the project directory (the Docker build context)
    checked: dict  # what the model package's check_data says of it (its hash, counts)

    def summary(self) -> dict[str, object]:
        """The `model` stack output."""
        return {"data_path": self.path, **self.checked}


def default_data_path(package: ModuleType, project_dir: Path = build_spec.REPO_ROOT) -> str:
    """The package's DEFAULT_DATA_PATH as a dataPath (inside data/), or ConfigError."""
    default = Path(package.DEFAULT_DATA_PATH).as_posix()
    try:
        return data_path_in(default, project_dir)
    except ConfigError as exc:
        raise ConfigError(
            f"the model package {package.__name__} has DEFAULT_DATA_PATH {default!r}, which cannot "
            f"be used ({exc}); set {key_name('dataPath')} to a CSV file under data/"
        ) from exc


def load_dataset(
    package: ModuleType, settings: Settings, project_dir: Path = build_spec.REPO_ROOT
) -> Dataset:
    """The configured data, checked by the model package (`check_data`), which raises a
    ValueError naming the line and column of bad data, or saying why there is none. A
    missing file other than the package's default, a directory or a path that cannot be
    looked at is a ConfigError naming chipotle:dataPath, and the package is not called."""
    default = default_data_path(package, project_dir)
    path = settings.data_path or default
    _refuse_unusable(project_dir / path, path, default)
    checked = package.check_data(project_dir / path, setting=key_name("dataPath"))
    return Dataset(path=path, checked=checked)


def _refuse_unusable(file: Path, path: str, default: str) -> None:
    key = key_name("dataPath")
    try:
        mode = file.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        if path == default:
            return  # the package fetches or generates its default file
        raise ConfigError(
            f"{key} {path!r}: no such file. Only the model package's default data file "
            f"({default}) is fetched or generated when absent; check the name, or "
            f"`pulumi config rm {key}` to use the default"
        ) from None
    except OSError as exc:  # permission denied, a loop of links, ...
        raise ConfigError(f"{key} {path!r} cannot be read: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise ConfigError(f"{key} {path!r} is {kind}: it must name a CSV file")
