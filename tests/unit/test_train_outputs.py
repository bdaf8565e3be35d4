"""Training never destroys its input or a file it should not replace, and an interrupted
or killed run keeps the previous model and report byte for byte."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from chipotle_model.train import main
from serving.artifact import load_artifact

CSV = "state,location,address,latitude,longitude\nS,C,1 a st,39.0,-77.0\nS,C,2 b st,40.0,-75.0\n"


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    """A data file, a previous model and a previous report, side by side."""
    found = {"data": tmp_path / "stores.csv", "out": tmp_path / "m.joblib", "report": tmp_path / "r.json"}
    found["data"].write_text(CSV)
    found["out"].write_bytes(b"the previous model")
    found["report"].write_text('{"previous": "report"}\n')
    return found


def _contents(paths) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in paths if path.is_file()}


def _link(kind: str, target: Path, link: Path) -> Path:
    (os.symlink if kind == "symlink" else os.link)(target, link)
    return link


# (how --out and --report are given, what the one line says); {data}, {out}, {report}, {dir}
REFUSED = {
    "out is the data": (["--out", "{data}"], "--out {data} is the input --data {data}"),
    "report is the data": (
        ["--out", "{out}", "--report", "{data}"],
        "--report {data} is the input --data {data}",
    ),
    "out is a symlink to the data": (
        ["--out", "{dir}/symlink.joblib"],
        "--out {dir}/symlink.joblib is the input --data {data}",
    ),
    "out is a hard link to the data": (
        ["--out", "{dir}/hardlink.joblib"],
        "--out {dir}/hardlink.joblib is the input --data {data}",
    ),
    "out via another spelling of the data's path": (
        ["--out", "{dir}/./sub/../stores.csv"],
        "--out {dir}/sub/../stores.csv is the input --data {data}",
    ),
    "report is out": (["--out", "{out}", "--report", "{out}"], "--report {out} is the same file as --out"),
    "report is a hard link to out": (
        ["--out", "{out}", "--report", "{dir}/out-link.json"],
        "--report {dir}/out-link.json is the same file as --out",
    ),
    "out is a character device": (["--out", "/dev/null"], "--out /dev/null exists and is not a regular file"),
    "out is a fifo": (["--out", "{dir}/fifo"], "--out {dir}/fifo exists and is not a regular file (a fifo)"),
    "report is a fifo": (
        ["--out", "{out}", "--report", "{dir}/fifo"],
        "--report {dir}/fifo exists and is not a regular file (a fifo)",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_an_output_that_is_the_input_the_other_output_or_not_a_regular_file_is_refused(files, capsys, case):
    directory = files["data"].parent
    _link("symlink", files["data"], directory / "symlink.joblib")
    _link("hardlink", files["data"], directory / "hardlink.joblib")
    _link("hardlink", files["out"], directory / "out-link.json")
    (directory / "sub").mkdir()
    os.mkfifo(directory / "fifo")
    before = _contents(directory.iterdir())
    arguments, problem = REFUSED[case]
    fill = {name: str(path) for name, path in files.items()} | {"dir": str(directory)}
    status = main(["--data", str(files["data"]), *(argument.format(**fill) for argument in arguments)])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(f"error: {problem.format(**fill)}") and err.count("\n") == 1, err  # before any work
    assert _contents(directory.iterdir()) == before  # the data, the previous model and report: byte for byte


def test_the_default_data_path_is_compared_too(tmp_path, monkeypatch, capsys):
    """Without --data the input is the package's default path, which may not exist yet."""
    monkeypatch.chdir(tmp_path)
    import chipotle_model

    status = main(["--out", str(chipotle_model.DEFAULT_DATA_PATH)])
    assert status == 2
    assert "is the input --data" in capsys.readouterr().err
    assert not any(tmp_path.rglob("*.csv"))


# A training run that pauses while writing its model: the temporary files exist then.
PAUSED_WHILE_WRITING = """
import sys, time
import joblib

def slow_dump(value, filename):
    with open(filename, "wb") as file:
        file.write(b"half a model")
    print("writing", file=sys.stderr, flush=True)
    time.sleep(60)

joblib.dump = slow_dump
from chipotle_model.train import main
sys.exit(main(sys.argv[1:]))
"""


def _arguments(files) -> list[str]:
    return ["--data", str(files["data"]), "--out", str(files["out"]), "--report", str(files["report"])]


def _paused_run(files) -> subprocess.Popen:
    """A training subprocess, returned once it is mid-write (bounded: killed after 60 s)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", PAUSED_WHILE_WRITING, *_arguments(files)],
        stderr=subprocess.PIPE,
        text=True,
    )
    threading.Timer(60, proc.kill).start()
    lines = []
    while (line := proc.stderr.readline()) and line != "writing\n":
        lines.append(line)
    assert line == "writing\n", "".join(lines)
    return proc


def _partials(directory: Path) -> list[Path]:
    return sorted(path for path in directory.iterdir() if ".partial-" in path.name)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_ends_cleanly_and_keeps_the_previous_files(files, signum, status):
    before = _contents(files.values())
    proc = _paused_run(files)
    assert len(_partials(files["data"].parent)) == 2  # the model's and the report's, mid-write
    proc.send_signal(signum)
    err = proc.stderr.read()
    assert proc.wait(timeout=30) == status
    name = signal.Signals(signum).name
    assert (
        err == f"error: interrupted by {name}; the previous files are unchanged\n"
    )  # one line, no traceback
    assert _contents(files.values()) == before
    assert sorted(files["data"].parent.iterdir()) == sorted(files.values())  # no temporary file left


def test_a_killed_runs_temporary_files_are_removed_by_the_next_run(files, tmp_path):
    before = _contents(files.values())
    proc = _paused_run(files)
    proc.kill()  # SIGKILL: nothing can clean up
    proc.wait(timeout=30)
    left = _partials(tmp_path)
    assert len(left) == 2 and _contents(files.values()) == before
    # a temporary of a running process (this one) and a file that is not ours stay
    running = tmp_path / f".m.joblib.partial-{os.getpid()}-abc.tmp"
    foreign = tmp_path / ".m.joblib.mine.tmp"
    for path in (running, foreign):
        path.write_text("not stale")
    proc = subprocess.run(
        [sys.executable, "-m", "chipotle_model.train", *_arguments(files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    for path in left:
        assert f"removed {path}, left by a training run that was killed\n" in proc.stderr
    assert sorted(tmp_path.iterdir()) == sorted([*files.values(), running, foreign])
    load_artifact(files["out"])
