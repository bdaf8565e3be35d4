"""The local server: real HTTP requests in, the same handler's answers out."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

import chipotle_model
from infra.local.server import request, serve_process
from serving.api import LocalContext, cors_policy
from serving.server import build_event
from tests.support import REPO_ROOT
from tests.support.cases import EXPECTED, assert_nearest, check_answer
from tests.support.events import load_event
from tests.support.http import http_front

# Fixture events an HTTP client cannot produce (a body that is not valid base64), or that
# never reach the function (a preflight: the CORS layer answers it, as API Gateway does).
NOT_HTTP = {"post_bad_base64"}
PREFLIGHT = {"options_preflight"}
SKIPPED_HEADERS = {"host", "content-length"}


@pytest.fixture(scope="module")
def server(api_and_logs):
    with http_front(api_and_logs[0].handler) as url:
        yield urlsplit(url).port


@pytest.fixture(scope="module")
def listed_origins_server(api_and_logs):
    cors = cors_policy(chipotle_model.ROUTES, ("https://a.example", "https://b.example"))
    with http_front(api_and_logs[0].handler, cors=cors) as url:
        yield urlsplit(url).port


def test_a_real_http_get_gets_the_nearest_stores(server, real_model):
    status, headers, body = request(server, "GET", "/?lat=39.153198&long=-77.066176&k=3")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    answer = json.loads(body)
    assert answer["query"] == {"latitude": 39.153198, "longitude": -77.066176, "k": 3}
    assert_nearest(real_model, 39.153198, -77.066176, answer["stores"])


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - NOT_HTTP - PREFLIGHT))
def test_every_fixture_replayed_over_http_gets_the_same_answer(server, api, real_model, name):
    event = load_event(name)
    target = event["rawPath"] + (f"?{event['rawQueryString']}" if event["rawQueryString"] else "")
    headers = {k: v for k, v in event["headers"].items() if k not in SKIPPED_HEADERS}
    body = event.get("body")
    if body is not None:
        body = base64.b64decode(body) if event["isBase64Encoded"] else body.encode()
    method = event["requestContext"]["http"]["method"]
    status, response_headers, payload = request(server, method, target, headers, body)
    direct = api.handler(event, LocalContext())
    assert status == direct["statusCode"]
    assert {k: v for k, v in response_headers.items() if k in direct["headers"]} == direct["headers"]
    if status == 204:
        assert payload == b""
    else:
        assert json.loads(payload) == json.loads(direct["body"])
        replayed = {**direct, "body": payload.decode()}
        check_answer(real_model, name, event, replayed)


# --- CORS: what API Gateway does with the stack's CorsPolicy ---------------------------------


def test_a_preflight_is_answered_by_the_cors_layer_as_api_gateway_does(server):
    event = load_event("options_preflight")
    status, headers, payload = request(server, "OPTIONS", "/", event["headers"])
    policy = cors_policy(chipotle_model.ROUTES)
    assert (status, payload) == (204, b"")
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Access-Control-Allow-Methods"] == ",".join(policy.allow_methods) == "GET,POST"
    assert headers["Access-Control-Allow-Headers"] == "content-type"
    assert headers["Access-Control-Max-Age"] == str(policy.max_age)


def test_answers_to_browsers_carry_the_allowed_origin(server):
    for target in ("/?lat=39.15&long=-77.06", "/?lat=x", "/nowhere"):
        _, headers, _ = request(server, "GET", target, {"Origin": "https://maps.example.com"})
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert "Vary" not in headers
    # no Origin header (not a browser's cross-origin request): no CORS headers
    _, headers, _ = request(server, "GET", "/health")
    assert not [name for name in headers if name.lower().startswith("access-control-")]


def test_listed_origins_are_echoed_with_vary_and_others_get_no_cors_headers(listed_origins_server):
    port = listed_origins_server
    for origin, allowed in (("https://b.example", "https://b.example"), ("https://evil.example", None)):
        _, headers, _ = request(port, "GET", "/?lat=39&long=-77", {"Origin": origin})
        assert headers.get("Access-Control-Allow-Origin") == allowed
        assert headers["Vary"] == "Origin"
        preflight = {"Origin": origin, "Access-Control-Request-Method": "POST"}
        status, headers, _ = request(port, "OPTIONS", "/", preflight)
        assert status == 204 and headers.get("Access-Control-Allow-Origin") == allowed


def test_form_encoded_posts_like_curl_d_work(server, real_model):
    body = json.dumps({"points": [[39.15, -77.06], [34.05, -118.24]]}).encode()
    status, _, payload = request(
        server, "POST", "/", {"Content-Type": "application/x-www-form-urlencoded"}, body
    )
    assert status == 200
    assert len(json.loads(payload)["results"]) == 2


def test_errors_over_http(server):
    status, headers, payload = request(server, "DELETE", "/")
    assert (status, headers["Allow"]) == (405, "GET, POST")
    assert "not allowed" in json.loads(payload)["error"]
    status, _, payload = request(server, "GET", "/?lat=39&lat=40&long=-77")
    assert status == 400 and "must be given once" in json.loads(payload)["error"]
    status, _, payload = request(server, "GET", "/nowhere")
    assert status == 404 and "no such path" in json.loads(payload)["error"]
    status, _, payload = request(server, "HEAD", "/health")
    assert status == 405 and payload == b""


def test_build_event_is_a_payload_2_0_event():
    headers = [("Host", "localhost:8000"), ("User-Agent", "pytest"), ("X-Multi", "a"), ("X-Multi", "b"),
               ("Cookie", "a=1; b=2"), ("Content-Type", "application/json")]  # fmt: skip
    event = build_event("post", "/path/x?lat=1&lat=2&long=%2D77&empty=", headers, b'{"points": []}')
    assert event["version"] == "2.0"
    assert (event["rawPath"], event["rawQueryString"]) == ("/path/x", "lat=1&lat=2&long=%2D77&empty=")
    assert event["queryStringParameters"] == {"lat": "1,2", "long": "-77", "empty": ""}
    assert event["headers"]["x-multi"] == "a,b" and event["headers"]["user-agent"] == "pytest"
    assert event["cookies"] == ["a=1", "b=2"]
    http = event["requestContext"]["http"]
    assert (http["method"], http["path"], http["protocol"]) == ("POST", "/path/x", "HTTP/1.1")
    assert (http["sourceIp"], http["userAgent"]) == ("127.0.0.1", "pytest")
    assert event["requestContext"]["stage"] == "$default"
    assert (event["body"], event["isBase64Encoded"]) == ('{"points": []}', False)


def test_build_event_base64_encodes_non_text_bodies_like_api_gateway():
    event = build_event("POST", "/", [("Content-Type", "application/x-www-form-urlencoded")], b"lat=1")
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"lat=1"
    event = build_event("POST", "/", [("Content-Type", "application/json")], b"\xff\xfe")
    assert event["isBase64Encoded"] is True
    event = build_event("GET", "/", [])
    assert "body" not in event and "queryStringParameters" not in event and event["rawQueryString"] == ""


def test_the_serve_command(real_artifact, real_model):
    with serve_process("--model", str(real_artifact)) as server:
        assert server.store_count == len(real_model)
        status, _, payload = server.request("GET", "/health")
        assert status == 200 and json.loads(payload)["store_count"] == len(real_model)
        status, _, payload = server.request("GET", "/?lat=21.306944&lon=-157.858333")
        assert status == 200
        assert_nearest(real_model, 21.306944, -157.858333, json.loads(payload)["stores"])


def test_the_serve_command_fails_clearly_without_a_model(tmp_path):
    missing = tmp_path / "missing.joblib"
    proc = subprocess.run(
        [sys.executable, "-m", "chipotle_model", "serve", "--model", str(missing), "--port", "0"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert f"no model artifact at {missing}" in proc.stderr


def test_the_cli_needs_a_command():
    proc = subprocess.run(
        [sys.executable, "-m", "chipotle_model"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 2 and "serve" in proc.stderr
