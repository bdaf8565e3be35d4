"""Writing files so that a failure part-way leaves the previous file as it was.

Each file is written to a temporary file beside it (same directory, so the same file
system), flushed to disk, and renamed over the target only when every file of the set
is complete: a full disk, a file-size limit or an exception while writing leaves the
old files byte for byte and no temporary file behind. SIGINT and SIGTERM are held while
the files are renamed, so a set is replaced whole or not at all.

A process killed outright (SIGKILL, a lost machine) cannot clean up: its temporary files
are named `.<target>.partial-<pid>-<random>.tmp`, and `remove_stale_temporaries` removes
those of processes that no longer run.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import signal
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

_HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_PARTIAL = "partial"


@contextlib.contextmanager
def replaced_together(targets: Sequence[str | Path]) -> Iterator[list[Path]]:
    """Yield one temporary path per target; on success rename each over its target.

        with replaced_together([model_path, report_path]) as (model_tmp, report_tmp):
            write(model_tmp); write(report_tmp)

    On any exception the temporary files are removed and the targets are untouched.
    """
    temporaries: list[Path] = []
    try:
        for target in map(Path, targets):
            prefix = f".{target.name}.{_PARTIAL}-{os.getpid()}-"
            descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=".tmp")
            os.close(descriptor)
            temporaries.append(Path(name))
            # mkstemp makes the file private (0600); give it a new file's usual mode, so
            # that e.g. the Lambda function's user can read a model made by root
            os.chmod(name, 0o666 & ~_umask())
        yield temporaries
        for temporary in temporaries:
            _fsync(temporary)  # a full disk may only show here
        with _signals_held():  # an interruption between two renames would mix old and new
            for temporary, target in zip(temporaries, targets):
                os.replace(temporary, target)
        for directory in {Path(target).parent for target in targets}:
            with contextlib.suppress(OSError):  # some systems cannot fsync a directory
                _fsync(directory)  # keeps the renames across a crash
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)


def remove_stale_temporaries(target: str | Path) -> list[Path]:
    """Remove the temporary files of `target` that `replaced_together` left in a process
    that no longer runs (killed outright); those of running processes stay. Returns them."""
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.name)}\.{_PARTIAL}-(\d+)-[^/]*\.tmp")
    removed = []
    for candidate in target.parent.glob(f".{glob.escape(target.name)}.{_PARTIAL}-*.tmp"):
        found = pattern.fullmatch(candidate.name)
        # our own PID: a killed run in an earlier container had it too (PID 1, say)
        if found and (int(found[1]) == os.getpid() or not _running(int(found[1]))):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # another user's process; or not a PID at all
        return True
    return True


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends (then they are delivered)."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
