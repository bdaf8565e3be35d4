"""Writing files so that a failure part-way leaves the previous file as it was.

Each file is written to a temporary file beside it (same directory, so the same file
system), flushed to disk, and renamed over the target only when every file of the set
is complete: a full disk, a file-size limit or an exception while writing leaves the
old files byte for byte and no temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path


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
            descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            os.close(descriptor)
            temporaries.append(Path(name))
            # mkstemp makes the file private (0600); give it a new file's usual mode, so
            # that e.g. the Lambda function's user can read a model made by root
            os.chmod(name, 0o666 & ~_umask())
        yield temporaries
        for temporary in temporaries:
            _fsync(temporary)  # a full disk may only show here
        for temporary, target in zip(temporaries, targets):
            os.replace(temporary, target)
        for directory in {Path(target).parent for target in targets}:
            with contextlib.suppress(OSError):  # some systems cannot fsync a directory
                _fsync(directory)  # keeps the renames across a crash
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)


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
