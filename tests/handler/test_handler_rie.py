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

from chipotle_model.api import LocalContext
from tests import support
from tests.support import require
from tests.support.cases import all_events, check_answer
from tests.support.docker import INIT_REPORT
from tests.support.events import load_event
from tests.support.rie import Emulator, fetch_rie, rss_kb

pytestmark = pytest.mark.rie

MEMORY_WARM_UP = 50
MEMORY_INVOCATIONS = 1_000
MAX_RSS_GROWTH_KB = 5 * 1024


@pytest.fixture(scope="module")
def emulator(real_artifact, tmp_path_factory):
    try:
        binary = fetch_rie()
    except RuntimeError as exc:
        require(False, str(exc))
    require(os.access(binary, os.X_OK), f"scripts/fetch-rie printed no executable binary: {binary}")
    log = tmp_path_factory.mktemp("rie") / "rie.log"
    emulator = Emulator(
        binary, log, {"MODEL_PATH": str(real_artifact), "POWERTOOLS_SERVICE_NAME": "nearest-store-rie"}
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
