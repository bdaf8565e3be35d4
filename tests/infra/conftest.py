"""Fixtures of the Pulumi program tests (helpers: tests/infra/program.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.infra.program import DataFiles, ProgramRun, run_program


@pytest.fixture(scope="session")
def dev_run(repo_data_csv) -> ProgramRun:
    """The dev stack exactly as committed (Pulumi.yaml defaults + Pulumi.dev.yaml)."""
    return run_program().ok()


@pytest.fixture
def data_files(repo_data_csv) -> Iterator[DataFiles]:
    files = DataFiles()
    yield files
    files.remove_all()
