"""The training CLI: exit codes, report, and fetching the data set when it is absent."""

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from chipotle_model import fetch, load_model
from chipotle_model.train import main

HEADER = "state,location,address,latitude,longitude\n"
ROWS = "S,C,1 a st,39.0,-77.0\nS,C,2 b st,40.0,-75.0\nS,C,2 b st,40.0,-75.0\n"


def test_trains_on_the_real_csv_and_writes_the_report(real_csv, real_store_count, tmp_path):
    out, report = tmp_path / "m.joblib", tmp_path / "r.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "chipotle_model.train",
            "--data",
            str(real_csv),
            "--out",
            str(out),
            "--report",
            str(report),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    written = json.loads(report.read_text())
    assert written == json.loads(proc.stdout)
    assert written["store_count"] == real_store_count
    assert written["duplicates_dropped"] == 0
    assert written["agreement_share"] == 1.0
    assert all(a["points"] >= 10_000 and a["agree"] == a["points"] for a in written["agreement"].values())
    assert written["timings"]["single_query_median_us"] > 0
    assert written["timings"]["batch_points_per_second"] > 0
    assert load_model(out).metadata["report"] == written


def test_bad_data_exits_2_with_the_line_and_column_on_stderr(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text(HEADER + "S,C,1 a st,39.0,-77.0\nS,C,2 b st,ninety,-75.0\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "chipotle_model.train",
            "--data",
            str(csv),
            "--out",
            str(tmp_path / "m.joblib"),
        ],
        capture_output=True,
        text=True,
    )
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


def fake_kagglehub(monkeypatch, download):
    module = types.ModuleType("kagglehub")
    module.dataset_download = download
    monkeypatch.setitem(sys.modules, "kagglehub", module)


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
