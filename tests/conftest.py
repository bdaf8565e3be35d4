"""Shared fixtures: the real store CSV and models trained on it (helpers: tests/support/).

The real CSV is read from ../shared/data/chipotle_stores.csv beside the repository (or
$CHIPOTLE_STORES_CSV). Without it, tests that need it skip, except in CI (CI=true),
where its absence is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests import support

# No per-example deadline: hypothesis's default (200 ms) fails an example for taking long,
# which measures the machine, not the code (docs/design.md, "What a test may assert").
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


@pytest.fixture(scope="session")
def real_csv() -> Path:
    path = support.real_csv()
    support.require(path.is_file(), f"the real store CSV is not at {path}")
    return path


@pytest.fixture(scope="session")
def real_store_count() -> int:
    return support.REAL_STORE_COUNT


@pytest.fixture(scope="session")
def repo_data_csv(real_csv: Path) -> Path:
    """The real CSV at the default data path inside the repository (gitignored)."""
    return support.repo_data_csv()


@pytest.fixture
def data_files(repo_data_csv) -> Iterator[support.DataFiles]:
    """CSVs written under data/ for one test, removed after it."""
    files = support.DataFiles()
    yield files
    files.remove_all()


@pytest.fixture(scope="session")
def real_artifact(real_csv: Path, tmp_path_factory) -> Path:
    """A model artifact trained by the real training CLI on the real CSV."""
    from chipotle_model.train import main

    out = tmp_path_factory.mktemp("model") / "model.joblib"
    assert main(["--data", str(real_csv), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def real_loaded(real_artifact: Path):
    """The real artifact, loaded: its model and metadata (serving.artifact.Artifact)."""
    from serving.artifact import load_artifact

    return load_artifact(real_artifact)


@pytest.fixture(scope="session")
def real_model(real_loaded):
    return real_loaded.model


@pytest.fixture(scope="session")
def real_metadata(real_loaded) -> dict:
    return real_loaded.metadata


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
