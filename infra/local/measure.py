"""A command run in a child process, with its wall time and its own peak RSS: how much
memory and time training (or anything else) needs on this machine."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from infra.build_spec import REPO_ROOT


@dataclass(frozen=True)
class Measured:
    returncode: int
    seconds: float
    peak_rss_mb: float  # the child's own maximum resident set size (getrusage ru_maxrss)
    stdout: str
    stderr: str


def run_measured(argv: list[str], *, cwd: Path = REPO_ROOT, timeout: float = 3600) -> Measured:
    """Run argv to completion; os.wait4 gives the rusage of exactly this child (not of the
    other children this process has waited for, as RUSAGE_CHILDREN would)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err)
        try:
            _, status, usage = _wait4(proc.pid, timeout)
        except TimeoutError:
            proc.kill()
            proc.wait()
            raise
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            returncode=proc.returncode,
            seconds=seconds,
            peak_rss_mb=usage.ru_maxrss / 1024,  # Linux reports kilobytes
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


def _wait4(pid: int, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        waited, status, usage = os.wait4(pid, os.WNOHANG)
        if waited == pid:
            return waited, status, usage
        if time.monotonic() > deadline:
            raise TimeoutError(f"process {pid} still running after {timeout:.0f} s")
        time.sleep(0.02)
