"""What the tests and the benchmarks share: the repository, the real data, ports, and
CI's rule that no required test skips. `bench/` imports from this package too.

    events   payload-2.0 events (tests/events/) and builders of new ones
    cases    every API case with its expected answer, checked against brute force
    docker   images built from infra/build_spec.py, containers run through the RIE
    rie      the real Runtime Interface Emulator on the host
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import types
import uuid
from pathlib import Path

import pytest

from infra.build_spec import REPO_ROOT
from infra.config import DEFAULTS

IN_CI = os.environ.get("CI", "").lower() == "true"
# The real data set (2,629 stores) lives beside the repository and is never committed.
SHARED_CSV = REPO_ROOT.parent / "shared" / "data" / "chipotle_stores.csv"
REAL_STORE_COUNT = 2629  # its row count (../shared/data/README.md): no duplicates, all valid

__all__ = [
    "IN_CI",
    "REAL_STORE_COUNT",
    "REPO_ROOT",
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


def real_csv() -> Path:
    """The real store CSV: $CHIPOTLE_STORES_CSV, else ../shared/data/chipotle_stores.csv."""
    return Path(os.environ.get("CHIPOTLE_STORES_CSV", SHARED_CSV))


def repo_data_csv() -> Path:
    """The real CSV at the stack's default data path (data/ is gitignored), copied there once."""
    target = REPO_ROOT / str(DEFAULTS["dataPath"])
    if not target.is_file():
        source = real_csv()
        if not source.is_file():
            raise FileNotFoundError(f"the real store CSV is not at {source} (set CHIPOTLE_STORES_CSV)")
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(source, target)
    return target


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
