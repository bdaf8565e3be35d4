"""The training command: a data file in, a model artifact (and its evaluation report) out.

    python -m <model package>.train --data DATA --out ARTIFACT [--report REPORT.json]

The model package trains (`train_model(data, progress)`, returning `Trained`); this
module does what every model's training needs around it. Its phases are printed on
stderr with counts and times, the report on stdout. The output paths are checked before
anything else (never the input, never each other, a regular file or none yet), and the
model and the report are written together or not at all: a failure or an interruption
at any point leaves the previous files byte for byte. Temporary files a killed run left
are removed by the next.

Exit status: 0 trained; 1 the model failed its own check; 2 bad input or an output path
that cannot be written (one line on stderr naming the file, and for data the line and
column); 130 or 143 interrupted by SIGINT or SIGTERM (one line).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .artifact import ModelLoadError, artifact_metadata, dump_artifact, load_artifact
from .files import remove_stale_temporaries, replaced_together


@dataclass
class Trained:
    """What a model package's `train_model` returns: the model (any picklable object),
    what the artifact records of it (shown by /health; `data_sha256` names its data), and
    the evaluation report."""

    model: Any
    metadata: dict
    report: dict


class TrainingFailed(Exception):
    """Training stopped: `status` is the CLI's exit status, the message says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived while training (`signum` is which)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Progress:
    """One line per phase on stderr: what it did, with counts, and how long it took."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.started = self.mark = time.perf_counter()

    def say(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def phase(self, name: str, text: str) -> None:
        now = time.perf_counter()
        self.say(f"{name}: {text} in {now - self.mark:.2f} s")
        self.mark = now


def checked_output_path(path: str | Path, option: str) -> Path:
    """`path` if a file can be written there, else TrainingFailed, before any training."""
    path = Path(path)
    if path.is_dir():
        raise TrainingFailed(
            2, f"{option} {path} is a directory; give a file path such as {path / 'model.joblib'}"
        )
    with contextlib.suppress(OSError):  # absent (or unreadable: the write test below says so)
        kind = stat.S_IFMT(path.stat().st_mode)
        if kind != stat.S_IFREG:  # a device, a fifo, a socket: replacing it would destroy it
            raise TrainingFailed(
                2, f"{option} {path} exists and is not a regular file ({_KINDS.get(kind, 'special')})"
            )
    nearest = next(folder for folder in (path.parent, *path.parent.parents) if folder.exists())
    if not nearest.is_dir():
        raise TrainingFailed(2, f"{option} {path} cannot be written: {nearest} is a file, not a directory")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):  # the one real test of "can write there"
            pass
    except OSError as exc:
        raise TrainingFailed(2, f"{option} {path} cannot be written: {exc.strerror or exc}") from exc
    return path


_KINDS = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFIFO: "a fifo",
          stat.S_IFSOCK: "a socket"}  # fmt: skip


def same_file(a: Path, b: Path) -> bool:
    """Whether `a` and `b` name one file: the same resolved path, or (through a symlink
    or a hard link) the same device and inode."""
    if a.resolve() == b.resolve():
        return True
    try:
        first, second = a.stat(), b.stat()
    except OSError:  # one does not exist (yet): then they are not the same existing file
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def check_distinct(data: Path, out: Path, report: Path | None) -> None:
    """TrainingFailed unless the outputs are neither the input nor each other."""
    for option, path in (("--out", out), ("--report", report)):
        if path is not None and same_file(path, data):
            raise TrainingFailed(
                2, f"{option} {path} is the input --data {data}: training never overwrites its input"
            )
    if report is not None and same_file(report, out):
        raise TrainingFailed(2, f"--report {report} is the same file as --out")


def write(trained: Trained, out: Path, report: Path | None) -> None:
    """The artifact and the report together, or neither (the previous files stay)."""
    targets = [out] + ([report] if report else [])
    metadata = artifact_metadata(**trained.metadata, report=trained.report)
    writing = out
    try:
        with replaced_together(targets) as temporaries:
            dump_artifact(temporaries[0], trained.model, metadata)
            if report:
                writing = report
                temporaries[1].write_text(json.dumps(trained.report, indent=2) + "\n")
    except OSError as exc:
        raise TrainingFailed(
            2, f"cannot write {writing}: {exc.strerror or exc}; the previous files are unchanged"
        ) from exc


def run(
    package: ModuleType, data: str | Path, out: str | Path, report: str | Path | None, progress: Progress
) -> Trained:
    """Check the outputs, train with `package.train_model`, write; raises TrainingFailed."""
    out = checked_output_path(out, "--out")
    report = checked_output_path(report, "--report") if report else None
    check_distinct(Path(data), out, report)
    for target in [out] + ([report] if report else []):
        for stale in remove_stale_temporaries(target):
            progress.say(f"removed {stale}, left by a training run that was killed")
    trained = package.train_model(Path(data), progress)
    write(trained, out, report)
    written = f"{out} ({out.stat().st_size:,} bytes)" + (f" and {report}" if report else "")
    progress.phase("write", written)
    return trained


def cached_model(package: ModuleType, cache: Path, data: str | Path | None, progress: Progress) -> Path:
    """`cache` when it holds a loadable model (of `data`, when given), else a model trained
    from `data` (default: the package's DEFAULT_DATA_PATH) and written there."""
    try:
        made_from = load_artifact(cache).metadata.get("data_sha256")
    except ModelLoadError as exc:
        reason = "none yet" if not cache.exists() else f"it cannot be used ({exc})"
    else:
        if data is None or (Path(data).is_file() and made_from == _sha256(Path(data))):
            return cache
        reason = f"it was trained on other data than {data}"
    progress.say(f"training the model cached at {cache}: {reason}")
    source = package.DEFAULT_DATA_PATH if data is None else data
    run(package, source, cache, cache.with_name("report.json"), progress)
    return cache


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def main(package: ModuleType, argv: list[str] | None = None) -> int:
    """`python -m <package>.train`: train `package`'s model and write its artifact."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {package.__name__}.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--data",
        default=str(package.DEFAULT_DATA_PATH),
        help="the training data (default: %(default)s)",
    )
    parser.add_argument("--out", required=True, help="where to write the model artifact (joblib)")
    parser.add_argument("--report", help="also write the evaluation report here (JSON)")
    args = parser.parse_args(argv)
    progress = Progress()
    before = _identity(Path(args.out))
    try:
        with _interruptible():
            trained = run(package, args.data, args.out, args.report, progress)
    except TrainingFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.status
    except Interrupted as exc:
        # the renames are atomic and hold signals back: the outputs are all old or all new
        kept = "unchanged" if _identity(Path(args.out)) == before else "already replaced by the new ones"
        print(f"error: interrupted by {exc}; the previous files are {kept}", file=sys.stderr)
        return 128 + exc.signum
    print(json.dumps(trained.report, indent=2))
    progress.say(f"trained in {time.perf_counter() - progress.started:.1f} s")
    return 0


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted (so every `finally` runs: temporary files go)."""

    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
