"""`python -m chipotle_model serve` with no model: it trains one, caches it, and serves it."""

from __future__ import annotations

import json
import shutil

import pytest

from chipotle_model import fetch
from chipotle_model.__main__ import main
from infra.local.server import serve_process
from serving.artifact import load_artifact
from tests.support import fake_kagglehub
from tests.support.cases import assert_nearest

SMALL_CSV = "state,location,address,latitude,longitude\nS,C,1 a st,39.0,-77.0\nS,C,2 b st,40.0,-75.0\n"


def test_serve_without_a_model_trains_caches_and_serves_one(real_csv, tmp_path):
    (tmp_path / "data").mkdir()
    shutil.copyfile(real_csv, tmp_path / "data" / "chipotle_stores.csv")
    cached = tmp_path / "build" / "model.joblib"
    with serve_process(cwd=tmp_path) as server:
        startup = "".join(server.startup)
        assert "training the model cached at build/model.joblib: none yet" in startup
        for phase in ("read:", "fit:", "check:", "write:"):
            assert f"\n{phase} " in startup
        model = load_artifact(cached).model
        assert server.store_count == len(model)
        status, _, body = server.request("GET", "/?lat=39.153198&long=-77.066176&k=3")
        assert status == 200
        assert_nearest(model, 39.153198, -77.066176, json.loads(body)["stores"])
    trained = cached.read_bytes()
    with serve_process(cwd=tmp_path) as server:  # the second time: the cached model, as it is
        assert "training" not in "".join(server.startup)
    assert cached.read_bytes() == trained


def test_serve_with_data_retrains_only_when_the_cached_model_is_of_other_data(real_artifact, tmp_path):
    (tmp_path / "build").mkdir()
    shutil.copyfile(real_artifact, tmp_path / "build" / "model.joblib")
    small = tmp_path / "small.csv"
    small.write_text(SMALL_CSV)
    with serve_process("--data", str(small), cwd=tmp_path) as server:
        assert "it was trained on other data than" in "".join(server.startup)
        assert server.store_count == 2
        assert json.loads(server.request("GET", "/health")[2])["store_count"] == 2
    with serve_process("--data", str(small), cwd=tmp_path) as server:
        assert "training" not in "".join(server.startup) and server.store_count == 2


def test_an_unusable_cached_model_is_retrained(tmp_path):
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "model.joblib").write_bytes(b"")
    small = tmp_path / "small.csv"
    small.write_text(SMALL_CSV)
    with serve_process("--data", str(small), cwd=tmp_path) as server:
        assert "it cannot be used (build/model.joblib is empty (0 bytes)" in "".join(server.startup)
        assert server.store_count == 2


def test_offline_without_data_it_says_how_to_point_it_at_a_csv(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    def download(handle):
        raise ConnectionError("Name or service not known")

    fake_kagglehub(monkeypatch, download)
    assert main(["serve", "--port", "0"]) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith("error: data/chipotle_stores.csv does not exist")
    assert fetch.KAGGLE_PAGE in error and "point --data at any local CSV" in error
    assert not (tmp_path / "build" / "model.joblib").exists()


def test_model_and_data_are_alternatives(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["serve", "--model", "m.joblib", "--data", "s.csv"])
    assert exit.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "phrase"),
    [
        ("--port", "70000", "1 to 65535"),  # once taken modulo 65536: port 4464
        ("--port", "-1", "1 to 65535"),  # once a traceback
        ("--port", "+80", "1 to 65535"),
        ("--port", "٨٠٠٠", "1 to 65535"),  # Arabic-Indic digits
        ("--port", "0x50", "1 to 65535"),
        ("--port", "", "1 to 65535"),
        ("--host", "", "IP address or a DNS name"),
        ("--host", "a b", "IP address or a DNS name"),
        ("--host", "-x.example", "IP address or a DNS name"),
        ("--host", "[::1]", "IP address or a DNS name"),
        ("--host", "999.1.1.1", "IP address or a DNS name"),
        ("--cors-origins", ",,,", "an origin is empty"),  # once taken as '*'
        ("--cors-origins", "", "an origin is empty"),
        ("--cors-origins", "*,https://a.example", "'*' alone"),
        ("--cors-origins", "https://a.example:99999", "port must be from 1 to 65535"),
        ("--cors-origins", "https://a.example:0", "port must be from 1 to 65535"),
        ("--cors-origins", "https://-", "host must be a DNS name"),
        ("--cors-origins", "https://..", "host must be a DNS name"),
        ("--cors-origins", "ftp://a.example", "starts with http:// or https://"),
        ("--cors-origins", "https://a.example/app", "no path"),
    ],
)
def test_serve_refuses_a_bad_option_in_one_line_before_training_or_loading(
    option, value, phrase, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)  # nothing to train from here: only the check can answer
    assert main(["serve", "--model", "absent.joblib", f"{option}={value}"]) == 2
    error = capsys.readouterr().err
    assert len(error.splitlines()) == 1 and error.startswith(f"error: {option} must be"), error
    assert phrase in error and repr(value) in error


@pytest.mark.parametrize(
    ("options", "origins"),
    [
        ([], ("*",)),
        (["--cors-origins", " https://a.example , http://localhost:8080 "], ("https://a.example", "http://localhost:8080")),
        (["--cors-origins", "http://[::1]:8080,http://127.0.0.1"], ("http://[::1]:8080", "http://127.0.0.1")),
    ],
)  # fmt: skip
def test_serve_passes_valid_options_on(options, origins, tmp_path, monkeypatch):
    served = {}
    monkeypatch.setattr("serving.server.serve", lambda *a, **kw: served.update(args=a[2:], **kw))
    args = ["serve", "--model", str(tmp_path / "m.joblib"), "--host", "localhost", "--port", "0", *options]
    assert main(args) == 0
    assert served == {"args": ("localhost", 0), "allow_origins": origins}
