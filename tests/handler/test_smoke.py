"""`python -m chipotle_model smoke URL`: the API's contract against a real URL. It passes
against the local server (here) and the serving image behind an HTTP front
(tests/images/test_images.py), and fails, naming the first difference, against a server
that answers wrongly."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

import chipotle_model
from serving import contract
from tests.support import REPO_ROOT
from tests.support.http import http_front


@pytest.fixture(scope="module")
def local_url(api_and_logs):
    with http_front(api_and_logs[0].handler) as url:
        yield url


def test_the_local_server_keeps_the_contract(local_url):
    out = io.StringIO()
    assert contract.run(local_url, chipotle_model.contract_checks, out=out) == 0, out.getvalue()
    assert out.getvalue().count("ok   ") == len(chipotle_model.contract_checks) + len(
        contract.PLATFORM_CHECKS
    )


def test_the_command_line_runs_it_and_exits_0(local_url):
    proc = subprocess.run(
        [sys.executable, "-m", "chipotle_model", "smoke", local_url],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "keeps its contract" in proc.stdout


def wrong_distances(answer: dict) -> dict:
    body = json.loads(answer["body"])
    for store in body.get("stores", []):
        store["distance_km"] += 1.0
    return {**answer, "body": json.dumps(body)}


def wrong_status(answer: dict) -> dict:
    return {**answer, "statusCode": 200} if answer["statusCode"] == 413 else answer


def no_model_version(answer: dict) -> dict:
    return {**answer, "headers": {k: v for k, v in answer["headers"].items() if k != "X-Model-Version"}}


@pytest.mark.parametrize(
    ("corrupt", "first_difference"),
    [
        (wrong_distances, "FAIL nearest store: distance_km"),
        (wrong_status, "FAIL documented errors: POST /: status 200, expected 413"),
        (no_model_version, "FAIL nearest store: no X-Model-Version header"),
    ],
)
def test_a_server_that_answers_wrongly_fails_naming_the_first_difference(api, corrupt, first_difference):
    out = io.StringIO()
    with http_front(lambda event, context: corrupt(api.handler(event, context))) as url:
        assert contract.run(url, chipotle_model.contract_checks, out=out) == 1
    assert first_difference in out.getvalue().splitlines()[-1], out.getvalue()


def test_no_answer_at_all_fails_clearly():
    out = io.StringIO()
    assert contract.run("http://127.0.0.1:9/", chipotle_model.contract_checks, out=out) == 1
    assert "no answer from http://127.0.0.1:9/" in out.getvalue()
