"""The handler under the real Lambda Runtime Interface Emulator, on loopback.

scripts/fetch-rie takes the `aws-lambda-rie` binary out of the pinned aws-sam-cli wheel;
the RIE runs `python -m awslambdaric handler.handler` from lambda_image/ exactly as the
Lambda base image's entrypoint does, and every case is invoked over HTTP at
POST /2015-03-31/functions/function/invocations.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from infra.local.images import INIT_REPORT
from serving.api import LocalContext
from tests import support
from tests.support import require
from tests.support.cases import all_events, check_answer
from tests.support.events import load_event
from tests.support.rie import Emulator, fetch_rie, rss_kb

pytestmark = pytest.mark.rie

MEMORY_WARM_UP = 50
MEMORY_INVOCATIONS = 1_000
MAX_RSS_GROWTH_KB = 5 * 1024


@pytest.fixture(scope="module")
def rie_binary():
    try:
        binary = fetch_rie()
    except RuntimeError as exc:
        require(False, str(exc))
    require(os.access(binary, os.X_OK), f"scripts/fetch-rie printed no executable binary: {binary}")
    return binary


@pytest.fixture(scope="module")
def emulator(rie_binary, real_artifact, tmp_path_factory):
    log = tmp_path_factory.mktemp("rie") / "rie.log"
    emulator = Emulator(
        rie_binary, log, {"MODEL_PATH": str(real_artifact), "POWERTOOLS_SERVICE_NAME": "nearest-store-rie"}
    )
    yield emulator
    emulator.stop()


def comparable(response: dict) -> dict:
    body = response["body"]
    return {**response, "body": json.loads(body) if body else body}


def test_every_case_gets_the_same_answer_through_the_rie(emulator, api, real_model):
    health = json.loads(emulator.invoke(load_event("get_health"))["body"])
    for name, event in all_events().items():
        through_rie = emulator.invoke(event)
        check_answer(real_model, name, event, through_rie)
        assert comparable(through_rie) == comparable(api.handler(event, LocalContext())), name
        assert through_rie["headers"]["X-Model-Version"] == health["model_version"], name


def test_a_model_trained_on_other_data_answers_with_another_version(emulator, data_files, tmp_path):
    from chipotle_model.train import main as train

    lines = support.repo_data_csv().read_bytes().splitlines(keepends=True)
    other = tmp_path / "other.joblib"
    assert (
        train(
            ["--data", str(support.REPO_ROOT / data_files.write(b"".join(lines[:-1]))), "--out", str(other)]
        )
        == 0
    )
    second = Emulator(emulator.binary, tmp_path / "rie-other.log", {"MODEL_PATH": str(other)})
    try:
        versions = {
            rie.invoke(load_event("get_nearest"))["headers"]["X-Model-Version"] for rie in (emulator, second)
        }
    finally:
        second.stop()
    assert len(versions) == 2


def test_init_runs_once_and_the_first_request_is_the_cold_start(emulator, record_property):
    emulator.invoke(load_event("get_health"))
    emulator.invoke(load_event("get_nearest"))
    text = emulator.log_text()
    inits = INIT_REPORT.findall(text)
    assert len(inits) == 1, text[-3000:]
    record_property("rie_init_duration_ms", float(inits[0]))
    print(f"RIE INIT REPORT durationMs: {float(inits[0]):.1f}")
    requests = [json.loads(line) for line in text.splitlines() if line.startswith('{"level"')]
    requests = [record for record in requests if record["message"] == "request"]
    assert requests[0]["cold_start"] is True
    assert all(record["cold_start"] is False for record in requests[1:])
    assert requests[0]["service"] == "nearest-store-rie"
    request_ids = re.findall(r"START RequestId: (\S+)", text)
    assert [record["function_request_id"] for record in requests] == request_ids
    assert "Billed Duration" in text


def test_memory_is_flat_over_1000_invocations(emulator, real_model, record_property):
    mix = [
        load_event(name)
        for name in ("get_nearest", "get_nearest_k20_far", "post_batch", "post_batch_base64", "get_health",
                     "get_out_of_range_lat", "post_malformed_json", "get_unknown_path", "get_nearest_lng")
    ]  # fmt: skip
    for i in range(MEMORY_WARM_UP):
        emulator.invoke(mix[i % len(mix)])
    pid = emulator.runtime_pid()
    before = rss_kb(pid)
    for i in range(MEMORY_INVOCATIONS):
        response = emulator.invoke(mix[i % len(mix)])
        assert response["statusCode"] in (200, 400, 404)
    after = rss_kb(pid)
    assert emulator.runtime_pid() == pid  # the same runtime answered throughout
    record_property("rie_rss_before_kb", before)
    record_property("rie_rss_growth_kb", after - before)
    print(f"runtime RSS {before} kB -> {after} kB over {MEMORY_INVOCATIONS} invocations")
    assert after - before < MAX_RSS_GROWTH_KB, (before, after)


def emf_records(log_text: str) -> list[dict]:
    """The log's embedded-metric-format records (a JSON line with `_aws`)."""
    records = []
    for line in log_text.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            records.append(json.loads(line))
    return records


def metric_values(record: dict) -> dict[str, tuple[str, object]]:
    """name -> (unit, value) of an EMF record, checked against the structure CloudWatch parses."""
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "NearestStore"
    assert isinstance(record["_aws"]["Timestamp"], int)
    (dimensions,) = directive["Dimensions"]
    assert sorted(dimensions) == ["route", "service"]
    assert all(isinstance(record[name], str) for name in dimensions)
    values = {}
    for metric in directive["Metrics"]:
        value = record[metric["Name"]]  # EMF takes a number or an array of them (one per request here)
        if isinstance(value, list):
            assert len(value) == 1, value
            (value,) = value
        assert isinstance(value, (int, float)), value
        values[metric["Name"]] = (metric["Unit"], value)
    return values


def test_the_log_carries_an_emf_record_per_request(rie_binary, real_artifact, tmp_path):
    """Through a fresh RIE: a GET (the cold start), a batch POST and a 400, each one record."""
    fresh = Emulator(rie_binary, tmp_path / "rie-emf.log", {"MODEL_PATH": str(real_artifact)})
    try:
        for name in ("get_nearest_k5", "post_batch", "get_out_of_range_lat"):
            fresh.invoke(load_event(name))
        log = fresh.log_text()
    finally:
        fresh.stop()
    get, post, bad = emf_records(log)
    points = len(json.loads(load_event("post_batch")["body"])["points"])
    assert metric_values(get) == {
        "Requests": ("Count", 1.0), "ClientErrors": ("Count", 0.0), "ServerErrors": ("Count", 0.0),
        "Latency": ("Milliseconds", metric_values(get)["Latency"][1]), "K": ("Count", 5.0),
        "ColdStart": ("Count", 1.0),
    }  # fmt: skip
    assert get["route"] == "GET /" and get["start"] == "on-demand" and metric_values(get)["Latency"][1] > 0
    assert metric_values(post)["BatchPoints"] == ("Count", float(points))
    assert post["route"] == "POST /" and post["start"] == "warm" and "ColdStart" not in metric_values(post)
    assert metric_values(bad)["ClientErrors"] == ("Count", 1.0) and bad["route"] == "GET /"
    assert {record["model_version"] for record in (get, post, bad)} == {get["model_version"]}


def test_a_damaged_artifact_is_a_clear_init_error(rie_binary, real_artifact, real_model, tmp_path):
    """What Lambda reports when INIT fails: the damage and how to rebuild, not a traceback's tail."""
    import numpy as np

    from tests.support.artifacts import PickledAs, rewrite_model, rows

    path = tmp_path / "model.joblib"
    path.write_bytes(real_artifact.read_bytes())
    reversed_rows = rows(real_model.stores, np.arange(len(real_model))[::-1])
    rewrite_model(path, PickledAs(real_model._tree, reversed_rows.to_arrays()))
    damaged = Emulator(rie_binary, tmp_path / "rie-damaged.log", {"MODEL_PATH": str(path)})
    try:
        with pytest.raises(RuntimeError, match="the RIE answered 502: ") as err:  # INIT failed
            damaged.invoke(load_event("get_nearest"))
    finally:
        damaged.stop()
    answered = str(err.value)  # the RIE's answer: Lambda's INIT error, {"errorMessage", "errorType", ...}
    assert (
        f'"errorMessage": "{path} is a damaged artifact: its model cannot be restored (ValueError: '
        in answered
    )
    assert "are not the store table\\'s coordinates, in order); rebuild it with " in answered
    assert '"errorType": "ModelLoadError"' in answered
