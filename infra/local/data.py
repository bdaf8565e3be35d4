"""The real store CSV on this machine: never committed, it lives beside the repository
(or where $CHIPOTLE_STORES_CSV says), and is copied to the stack's default data path
(data/ is gitignored) for the image builds, whose context admits data/ only."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from infra.build_spec import REPO_ROOT
from infra.config import DEFAULTS

SHARED_CSV = REPO_ROOT.parent / "shared" / "data" / "chipotle_stores.csv"


def real_csv() -> Path:
    """The real store CSV: $CHIPOTLE_STORES_CSV, else ../shared/data/chipotle_stores.csv."""
    return Path(os.environ.get("CHIPOTLE_STORES_CSV", SHARED_CSV))


def repo_data_csv() -> Path:
    """The real CSV at the stack's default data path, copied there once."""
    target = REPO_ROOT / str(DEFAULTS["dataPath"])
    if not target.is_file():
        source = real_csv()
        if not source.is_file():
            raise FileNotFoundError(f"the real store CSV is not at {source} (set CHIPOTLE_STORES_CSV)")
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(source, target)
    return target
