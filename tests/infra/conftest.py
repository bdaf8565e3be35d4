"""Fixtures of the Pulumi program tests (helpers: tests/infra/program.py)."""

from __future__ import annotations

import pytest

from tests.infra.program import ProgramRun, run_program


@pytest.fixture(scope="session")
def dev_run(repo_data_csv) -> ProgramRun:
    """The dev stack exactly as committed (Pulumi.yaml defaults + Pulumi.dev.yaml)."""
    return run_program().ok()
