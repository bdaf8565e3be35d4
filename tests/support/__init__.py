"""What only the tests need: CI's rule that no required test skips, the real data's row
count, data files under data/, a stand-in kagglehub. What the tests share with the
benchmarks (images, the local server, the real CSV, ports) is the product's, in
infra/local/; `bench/` imports nothing from here.

    events   payload-2.0 events (tests/events/) and builders of new ones
    cases    every API case with its expected answer, checked against brute force
    rie      the real Runtime Interface Emulator on the host
    local_server  raw and hostile exchanges with the local server
"""

from __future__ import annotations

import os
import sys
import types
import uuid
from pathlib import Path

import pytest

from infra.build_spec import REPO_ROOT
from infra.local.data import SHARED_CSV, real_csv, repo_data_csv
from infra.local.images import free_port

IN_CI = os.environ.get("CI", "").lower() == "true"
# The real data set's row count (../shared/data/README.md: no duplicates, all valid); the
# CSV itself is found by infra/local/data.py.
REAL_STORE_COUNT = 2629

__all__ = [
    "IN_CI",
    "REAL_STORE_COUNT",
    "REPO_ROOT",
    "SHARED_CSV",
    "DataFiles",
    "fake_kagglehub",
    "free_port",
    "real_csv",
    "repo_data_csv",
    "require",
]


def require(condition: bool, reason: str) -> None:
    """Skip when a test's prerequisite is missing, but never in CI: there it must run."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must run this test, but: {reason}")
    pytest.skip(reason)


class DataFiles:
    """CSVs written under data/ (the only place the build context takes data from)."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def _new(self, label: str) -> Path:
        path = REPO_ROOT / "data" / f"test-infra-{label}{uuid.uuid4().hex[:12]}.csv"
        self.paths.append(path)
        return path

    def write(self, content: bytes | str) -> str:
        """Write `content`; return its dataPath (relative to the project directory)."""
        path = self._new("")
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path.relative_to(REPO_ROOT).as_posix()

    def missing(self) -> str:
        """A dataPath under data/ where no file exists."""
        return self._new("missing-").relative_to(REPO_ROOT).as_posix()

    def remove_all(self) -> None:
        for path in self.paths:
            path.unlink(missing_ok=True)


def fake_kagglehub(monkeypatch, download) -> None:
    """Make `import kagglehub` give a module whose dataset_download is `download` (tests
    never reach the internet: a download that raises plays the offline machine)."""
    module = types.ModuleType("kagglehub")
    module.dataset_download = download
    monkeypatch.setitem(sys.modules, "kagglehub", module)
