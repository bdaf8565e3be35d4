"""Shared fixtures: the real store CSV and models trained on it.

The real CSV is read from ../shared/data/chipotle_stores.csv beside the
repository (or $CHIPOTLE_STORES_CSV). Without it, tests that need it skip,
except in CI (CI=true), where its absence is a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support import require

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_CSV = REPO_ROOT.parent / "shared" / "data" / "chipotle_stores.csv"
# The real data set's row count (../shared/data/README.md): no duplicates, all valid.
REAL_STORE_COUNT = 2629


@pytest.fixture(scope="session")
def real_csv() -> Path:
    path = Path(os.environ.get("CHIPOTLE_STORES_CSV", SHARED_CSV))
    require(path.is_file(), f"the real store CSV is not at {path}")
    return path


@pytest.fixture(scope="session")
def real_store_count() -> int:
    return REAL_STORE_COUNT


@pytest.fixture(scope="session")
def repo_data_csv(real_csv: Path) -> Path:
    """The real CSV at the default data path inside the repository (gitignored)."""
    target = REPO_ROOT / "data" / "chipotle_stores.csv"
    if not target.is_file():
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(real_csv, target)
    return target


@pytest.fixture(scope="session")
def real_artifact(real_csv: Path, tmp_path_factory) -> Path:
    """A model artifact trained by the real training CLI on the real CSV."""
    from chipotle_model.train import main

    out = tmp_path_factory.mktemp("model") / "model.joblib"
    assert main(["--data", str(real_csv), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def real_model(real_artifact: Path):
    from chipotle_model import load_model

    return load_model(real_artifact)


# Measurements that tests want shown in the run's output (image sizes, INIT durations):
# tests append lines here, and they are printed in the terminal summary.
MEASUREMENTS: list[str] = []


def pytest_terminal_summary(terminalreporter):
    if MEASUREMENTS:
        terminalreporter.section("measurements")
        for line in MEASUREMENTS:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def measurements() -> list[str]:
    """Append a line to have it printed in the run's 'measurements' summary."""
    return MEASUREMENTS
