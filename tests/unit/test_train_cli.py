"""The training CLI: exit codes, report, and fetching the data set when it is absent."""

import json
import re
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chipotle_model import fetch
from chipotle_model.train import main
from chipotle_model.training import estimated_seconds
from serving.artifact import load_artifact
from tests.support import fake_kagglehub

HEADER = "state,location,address,latitude,longitude\n"
ROWS = "S,C,1 a st,39.0,-77.0\nS,C,2 b st,40.0,-75.0\nS,C,2 b st,40.0,-75.0\n"


def train_process(*args: str, preexec_fn=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "chipotle_model.train", *args],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=preexec_fn,
    )


def test_trains_on_the_real_csv_and_writes_the_report(real_csv, real_store_count, tmp_path):
    out, report = tmp_path / "m.joblib", tmp_path / "r.json"
    proc = train_process("--data", str(real_csv), "--out", str(out), "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    written = json.loads(report.read_text())
    assert written == json.loads(proc.stdout)
    assert written["store_count"] == real_store_count
    assert written["duplicates_dropped"] == 0
    assert written["agreement_share"] == 1.0
    assert all(a["points"] >= 10_000 and a["agree"] == a["points"] for a in written["agreement"].values())
    assert written["timings"]["single_query_median_us"] > 0
    assert written["timings"]["batch_points_per_second"] > 0
    assert load_artifact(out).metadata["report"] == written


def test_the_phases_are_printed_with_counts_and_times_after_an_estimate(real_csv, real_store_count, tmp_path):
    proc = train_process(
        "--data", str(real_csv), "--out", str(tmp_path / "m.joblib"), "--report", str(tmp_path / "r.json")
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    time, n = r"in \d+\.\d\d s", f"{real_store_count:,}"
    expected = [
        rf"reading {real_csv} \([\d,]+ bytes\) \.\.\.",
        rf"read: {n} stores from {n} rows \(0 exact duplicates dropped\) {time}",
        rf"fit and check {real_store_count:,} stores: about \d+ s",
        rf"fit: KDTree over {real_store_count:,} stores {time}",
        rf"check: 20,000 of 20,000 points agree with brute force {time}",
        rf"write: {tmp_path / 'm.joblib'} \([\d,]+ bytes\) and {tmp_path / 'r.json'} {time}",
        r"trained in \d+\.\d s",
    ]
    assert len(lines) == len(expected), lines
    for line, pattern in zip(lines, expected):
        assert re.fullmatch(pattern, line), (line, pattern)


def test_the_estimate_grows_with_the_store_count():
    """How close it comes to a machine's time is a figure of bench.training_estimate."""
    counts = [1, 2_629, 100_000, 1_000_000, 10_000_000]
    estimates = [estimated_seconds(n) for n in counts]
    assert estimates == sorted(estimates) and len(set(estimates)) == len(estimates)


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        (["--out", "{dir}"], "--out {dir} is a directory; give a file path such as {dir}/model.joblib"),
        (
            ["--out", "{file}/m.joblib"],
            "--out {file}/m.joblib cannot be written: {file} is a file, not a directory",
        ),
        (
            ["--out", "{dir}/m.joblib", "--report", "{file}/r.json"],
            "--report {file}/r.json cannot be written",
        ),
        (
            ["--out", "{dir}/m.joblib", "--report", "{dir}/m.joblib"],
            "--report {dir}/m.joblib is the same file as --out",
        ),
        (["--out", "{dir}/m.joblib", "--report", "{dir}"], "--report {dir} is a directory"),
    ],
)
def test_output_paths_are_checked_before_training_with_exit_2_and_one_line(
    real_csv, tmp_path, arguments, problem
):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory")
    (tmp_path / "m.joblib").write_bytes(b"the previous model")
    fill = {"dir": tmp_path, "file": a_file}
    proc = train_process("--data", str(real_csv), *(argument.format(**fill) for argument in arguments))
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {problem.format(**fill)}"), proc.stderr
    assert proc.stderr.count("\n") == 1  # one line: nothing was read or trained first, no traceback
    assert (tmp_path / "m.joblib").read_bytes() == b"the previous model"


def _limit_file_size(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG), not the process

    return apply


def test_a_write_that_fails_part_way_keeps_the_previous_model_and_report_byte_for_byte(
    real_csv, real_artifact, tmp_path
):
    out, report = tmp_path / "model.joblib", tmp_path / "report.json"
    out.write_bytes(real_artifact.read_bytes())
    report.write_text('{"previous": "report"}\n')
    before = {path: path.read_bytes() for path in (out, report)}
    assert len(before[out]) > 200_000
    proc = train_process(
        "--data",
        str(real_csv),
        "--out",
        str(out),
        "--report",
        str(report),
        preexec_fn=_limit_file_size(100_000),
    )
    assert proc.returncode == 2
    last = proc.stderr.splitlines()[-1]
    assert last == f"error: cannot write {out}: File too large; the previous files are unchanged"
    assert "Traceback" not in proc.stderr
    assert {path: path.read_bytes() for path in (out, report)} == before
    assert sorted(tmp_path.iterdir()) == [out, report]  # no temporary file left behind
    load_artifact(out)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (HEADER.strip() + ",latitude\nS,C,1 a st,39.0,-77.0,1\n", "line 1: duplicate column names"),
        (HEADER + 'S,C,"1 a st,39.0,-77.0\nS,C,2 b st,40.0,-75.0\n', "line 2: unterminated quote"),
        (HEADER + "S,C,1 a st,3_9.0,-77.0\n", "line 2, column 'latitude': not a number: '3_9.0'"),
        ("", "the file is empty"),
    ],
)
def test_bad_data_exits_2_with_one_line_naming_the_file(tmp_path, text, problem):
    csv = tmp_path / "stores.csv"
    csv.write_text(text)
    proc = train_process("--data", str(csv), "--out", str(tmp_path / "m.joblib"))
    assert proc.returncode == 2
    error = proc.stderr.splitlines()[-1]
    assert error.startswith(f"error: {csv}") and problem in error, error
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "m.joblib").exists()


def test_swapped_coordinates_train_with_a_warning(tmp_path):
    csv = tmp_path / "swapped.csv"
    csv.write_text(HEADER + "S,C,1 a st,-77.0,39.0\nS,C,2 b st,-75.0,40.0\n")
    proc = train_process("--data", str(csv), "--out", str(tmp_path / "m.joblib"))
    assert proc.returncode == 0
    assert f"warning: {csv}: 2 of 2 stores lie beyond 60 degrees of latitude" in proc.stderr


def test_bad_data_exits_2_with_the_line_and_column_on_stderr(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text(HEADER + "S,C,1 a st,39.0,-77.0\nS,C,2 b st,ninety,-75.0\n")
    proc = train_process("--data", str(csv), "--out", str(tmp_path / "m.joblib"))
    assert proc.returncode == 2
    assert "line 3, column 'latitude': not a number: 'ninety'" in proc.stderr
    assert not (tmp_path / "m.joblib").exists()


def test_duplicates_are_reported(tmp_path, capsys):
    csv = tmp_path / "dups.csv"
    csv.write_text(HEADER + ROWS)
    assert main(["--data", str(csv), "--out", str(tmp_path / "m.joblib")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rows_read"], report["duplicates_dropped"], report["store_count"]) == (3, 1, 2)


@pytest.fixture
def in_empty_project(tmp_path, monkeypatch):
    """cwd without data/: the default data path is absent."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_absent_default_data_is_fetched_from_kaggle(in_empty_project, monkeypatch, capsys):
    calls = []

    def download(handle):
        calls.append(handle)
        folder = in_empty_project / "kaggle-cache"
        folder.mkdir()
        (folder / "chipotle_stores.csv").write_text(HEADER + ROWS)
        return str(folder)

    fake_kagglehub(monkeypatch, download)
    assert main(["--out", "m.joblib"]) == 0
    assert calls == ["jeffreybraun/chipotle-locations"]
    assert Path("data/chipotle_stores.csv").read_text() == HEADER + ROWS
    # a second run uses the file it fetched and does not download again
    assert main(["--out", "m.joblib"]) == 0
    assert len(calls) == 1


def test_offline_fetch_fails_with_the_data_set_page_and_how_to_use_a_local_csv(
    in_empty_project, monkeypatch, capsys
):
    def download(handle):
        raise ConnectionError("Name or service not known")

    fake_kagglehub(monkeypatch, download)
    assert main(["--out", "m.joblib"]) == 2
    err = capsys.readouterr().err
    assert fetch.KAGGLE_PAGE in err
    assert "Name or service not known" in err
    assert "--data" in err
    assert not Path("data/chipotle_stores.csv").exists()
