"""The HTTP API in process: payload-2.0 events in, responses checked against brute force."""

from __future__ import annotations

import base64
import copy
import functools
import json

import numpy as np
import pytest

from chipotle_model.model import MAX_K
from chipotle_model.params import MAX_POINTS
from serving.api import LocalContext, ServingApi
from tests.support.cases import (
    ALL_EXPECTED,
    EXPECTED,
    assert_batch,
    assert_nearest,
    check_answer,
    generated_events,
)
from tests.support.events import event_files, get_event, grid_points, load_event, post_event, with_body
from tests.support.logs import make_api


@functools.cache
def _generated() -> dict[str, dict]:
    return generated_events()


def case_event(name: str) -> dict:
    return copy.deepcopy(_generated()[name] if name in _generated() else load_event(name))


def invoke(api: ServingApi, event: dict) -> dict:
    return api.handler(event, LocalContext())


def error_of(response: dict) -> str:
    assert response["headers"]["Content-Type"] == "application/json"
    body = json.loads(response["body"])
    assert set(body) == {"error"}
    return body["error"]


# --- the fixtures ---------------------------------------------------------------------------


def test_every_event_fixture_has_an_expected_answer():
    assert event_files() == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixtures_are_payload_2_0_events_as_api_gateway_sends_them(name):
    event = load_event(name)
    assert event["version"] == "2.0"
    for key in ("routeKey", "rawPath", "rawQueryString", "headers", "requestContext", "isBase64Encoded"):
        assert key in event, key
    http = event["requestContext"]["http"]
    assert http["path"] == event["rawPath"]
    assert event["routeKey"] in ("$default", f"{http['method']} {event['rawPath']}")
    assert all(key == key.lower() for key in event["headers"])  # API Gateway lower-cases header names
    if event.get("queryStringParameters"):
        assert event["rawQueryString"]


@pytest.mark.parametrize("name", sorted(ALL_EXPECTED))
def test_every_case_gets_its_answer(api, real_model, name):
    event = case_event(name)
    check_answer(real_model, name, event, invoke(api, event))


# --- GET / ------------------------------------------------------------------------------------


def test_longitude_aliases_give_the_same_answer(api):
    answers = [
        json.loads(invoke(api, get_event({"lat": "40.712776", alias: "-74.005974"}))["body"])
        for alias in ("long", "lng", "lon")
    ]
    assert answers[0] == answers[1] == answers[2]


@pytest.mark.parametrize("k", [1, 2, 7, MAX_K])
def test_k_gives_the_k_nearest_stores(api, real_model, k):
    rng = np.random.default_rng(k)
    for lat, lon in zip(rng.uniform(25, 49, 5).tolist(), rng.uniform(-124, -68, 5).tolist()):
        response = invoke(api, get_event({"lat": repr(lat), "long": repr(lon), "k": str(k)}))
        assert response["statusCode"] == 200
        body = json.loads(response["body"])
        assert len(body["stores"]) == k
        assert_nearest(real_model, lat, lon, body["stores"])


def test_many_random_points_agree_with_brute_force(api, real_model):
    for lat, lon in grid_points(200, seed=3):
        body = json.loads(invoke(api, get_event({"lat": str(lat), "lng": str(lon), "k": "3"}))["body"])
        assert_nearest(real_model, lat, lon, body["stores"])


@pytest.mark.parametrize(
    ("lat", "lon"),
    [("+39.15", "-77.06"), ("39", "-77"), ("-0", "0"), (".5", "-.5"), ("39.", "-77."), ("3.9e1", "-7.7E1"),
     (" 39.15 ", "-77.06"), ("90", "180"), ("-90", "-180")],
)  # fmt: skip
def test_decimal_degree_spellings_are_accepted(api, real_model, lat, lon):
    response = invoke(api, get_event({"lat": lat, "long": lon}))
    assert response["statusCode"] == 200, response["body"]
    assert_nearest(real_model, float(lat), float(lon), json.loads(response["body"])["stores"])


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "abc",
        "0x10",
        "1_0",
        "1e999",
        "-1e999",
        "nan",
        "inf",
        "Infinity",
        "--1",
        "1.2.3",
        "٣",
        "39°",
        "1,2",
    ],
)
def test_bad_latitudes_are_400_naming_the_parameter(api, value):
    response = invoke(api, get_event({"lat": value, "long": "-77"}))
    assert response["statusCode"] == 400
    assert "'lat'" in error_of(response)


@pytest.mark.parametrize("value", ["0", "-1", "21", "2.5", "", "abc", "1e1", "1,2", "9" * 5000])
def test_bad_k_is_400(api, value):
    response = invoke(api, get_event({"lat": "39", "long": "-77", "k": value}))
    assert response["statusCode"] == 400
    assert "'k'" in error_of(response)


@pytest.mark.parametrize("value", ["1", "+3", "03", " 20 "])
def test_good_k_spellings(api, value):
    response = invoke(api, get_event({"lat": "39", "long": "-77", "k": value}))
    assert response["statusCode"] == 200
    assert len(json.loads(response["body"])["stores"]) == int(value)


def test_missing_query_string_parameters_key_is_a_clear_400(api):
    event = load_event("get_no_query")
    assert "queryStringParameters" not in event
    assert "missing query parameter 'lat'" in error_of(invoke(api, event))
    event["queryStringParameters"] = None
    assert invoke(api, event)["statusCode"] == 400


def test_repeated_parameters_are_rejected_clearly(api):
    for query in (
        {"lat": "39,40", "long": "-77"},
        {"lat": "39", "lon": "-77,-78"},
        {"lat": "1", "long": "2", "k": "1,2"},
    ):
        message = error_of(invoke(api, get_event(query)))
        assert "must be given once" in message and "repeated parameter" in message


def test_unknown_parameters_are_ignored(api, real_model):
    response = invoke(api, get_event({"lat": "39", "long": "-77", "callback": "x", "": ""}))
    assert response["statusCode"] == 200


# --- POST / -----------------------------------------------------------------------------------


def test_batch_keeps_input_order(api, real_model):
    points = grid_points(500, seed=11)
    forward = json.loads(invoke(api, post_event({"points": points}))["body"])["results"]
    backward = json.loads(invoke(api, post_event({"points": points[::-1]}))["body"])["results"]
    assert backward == forward[::-1]
    assert_batch(real_model, points, forward)


def test_batch_answers_match_single_queries(api):
    points = grid_points(30, seed=5)
    results = json.loads(invoke(api, post_event({"points": points}))["body"])["results"]
    for (lat, lon), result in zip(points, results):
        single = json.loads(invoke(api, get_event({"lat": repr(lat), "long": repr(lon)}))["body"])
        assert single["nearest"] == result


def test_batch_accepts_integers_duplicates_and_the_maximum(api, real_model):
    points = [[39, -77], [39, -77], [39.5, -77.25], [0, 0]]
    body = json.loads(invoke(api, post_event({"points": points}))["body"])
    assert_batch(real_model, points, body["results"])
    assert body["results"][0] == body["results"][1]
    response = invoke(api, post_event({"points": [[10.0, 20.0]] * MAX_POINTS}))
    assert response["statusCode"] == 200
    assert len(json.loads(response["body"])["results"]) == MAX_POINTS


def test_base64_and_plain_bodies_get_the_same_answer(api):
    plain = invoke(api, load_event("post_batch"))
    encoded = invoke(api, load_event("post_batch_base64"))
    assert plain["statusCode"] == encoded["statusCode"] == 200
    assert json.loads(plain["body"]) == json.loads(encoded["body"])


@pytest.mark.parametrize(
    ("body", "status", "phrase"),
    [
        ("", 400, "empty"),
        ("   ", 400, "empty"),
        ("points", 400, "not valid JSON"),
        ('{"points": [[1, 2]]', 400, "not valid JSON"),
        ('{"points": [[Infinity, 2]]}', 400, "Infinity is not a JSON number"),
        ("[" * 100_000 + "]" * 100_000, 400, "nested too deeply"),
        ('"points"', 400, "got a JSON string"),
        ("null", 400, "got a JSON null"),
        ('{"points": {"a": [1, 2]}}', 400, "got a JSON object"),
        ('{"points": "1,2"}', 400, "got a JSON string"),
        ('{"points": [[1, 2], 3]}', 400, "points[1] must be a [lat, long] pair"),
        ('{"points": [[1, 2], [1, 2, 3]]}', 400, "points[1] must be a [lat, long] pair"),
        ('{"points": [[1, 2], []]}', 400, "points[1] must be a [lat, long] pair"),
        ('{"points": [[1, 2], "ab"]}', 400, "points[1] must be a [lat, long] pair"),
        ('{"points": [[1, 2], {"lat": 1, "long": 2}]}', 400, "points[1] must be a [lat, long] pair"),
        ('{"points": [[true, 2]]}', 400, "points[0] latitude must be a number, got a JSON boolean"),
        ('{"points": [[1, null]]}', 400, "points[0] longitude must be a number, got a JSON null"),
        ('{"points": [[1, [2]]]}', 400, "points[0] longitude must be a number, got a JSON array"),
        ('{"points": [[1, 2], [1e400, 2]]}', 400, "points[1] latitude"),
        ('{"points": [[1, 2], [1' + "0" * 400 + ", 2]]}", 400, "points[1] latitude is out of range"),
        (
            '{"points": [[1, 2], [1' + "0" * 5000 + ", 2]]}",
            400,
            "a number in the request body has too many digits",
        ),
        (
            '{"points": [[1, 2], [3, -181]]}',
            400,
            "points[1] longitude must be a finite number in [-180, 180]",
        ),
    ],
)
def test_bad_bodies_are_4xx_with_a_clear_message(api, body, status, phrase):
    response = invoke(api, post_event(body))
    assert response["statusCode"] == status, response["body"]
    assert phrase in error_of(response)


def test_bad_base64_bodies(api):
    assert "not valid base64" in error_of(
        invoke(api, with_body(load_event("post_batch"), "%%%", base64_encoded=True))
    )
    not_utf8 = base64.b64encode(b'{"points": [[1, 2]], "x": "\xff"}').decode()
    assert "not UTF-8" in error_of(
        invoke(api, with_body(load_event("post_batch"), not_utf8, base64_encoded=True))
    )
    event = load_event("post_batch")
    event.pop("body")
    assert "empty" in error_of(invoke(api, event))


def test_size_limits_are_413(api):
    assert invoke(api, post_event({"points": [[0, 0]] * (MAX_POINTS + 1)}))["statusCode"] == 413
    big = json.dumps({"points": [[0, 0]], "pad": "é" * 600_000})  # 1.2 MB in UTF-8, 0.6 M characters
    assert "over 1,000,000 bytes" in error_of(invoke(api, post_event(big)))
    assert invoke(api, post_event(big, base64_encoded=True))["statusCode"] == 413


# --- GET /health, 404, 405, OPTIONS -----------------------------------------------------------------


def test_health_reports_the_model_metadata(api, real_model, real_loaded):
    body = json.loads(invoke(api, load_event("get_health"))["body"])
    assert body["status"] == "ok"
    assert body["store_count"] == len(real_model) == real_loaded.metadata["store_count"]
    for key in ("data_sha256", "created_at", "versions"):
        assert body[key] == real_loaded.metadata[key]
    assert set(body["versions"]) >= {"python", "numpy", "scipy", "scikit-learn", "joblib"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("PUT", "/", 405), ("PATCH", "/", 405), ("DELETE", "/health", 405), ("HEAD", "/", 405),
     ("POST", "/health", 405), ("GET", "/nearest", 404), ("POST", "/x", 404), ("GET", "/health/x", 404),
     ("GET", "//", 404)],
)  # fmt: skip
def test_unknown_paths_are_404_and_wrong_methods_405(api, method, path, status):
    event = load_event("delete_root")
    event["requestContext"]["http"]["method"] = method
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    response = invoke(api, event)
    assert response["statusCode"] == status
    message = error_of(response)
    if status == 405:
        assert response["headers"]["Allow"].startswith("GET")
        assert method in message
    else:
        assert "no such path" in message


def test_a_named_stage_prefix_is_routed(api, real_model):
    event = load_event("get_health")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/prod/health"
    event["requestContext"]["stage"] = "prod"
    assert invoke(api, event)["statusCode"] == 200


# --- CORS is API Gateway's: the function sends no CORS headers -------------------------------


def test_the_function_sends_no_cors_headers(api):
    """API Gateway ignores them and sets its own (serving.cors): sending some would
    only make local tests see headers a browser never gets from AWS."""
    origin = "https://maps.example.com"
    for event in (load_event("get_nearest_cors"), get_event({"lat": "x"}, origin=origin),
                  load_event("options_preflight"), load_event("get_health")):  # fmt: skip
        headers = invoke(api, event)["headers"]
        assert not [name for name in headers if name.lower().startswith("access-control-")], headers


def test_a_forwarded_preflight_gets_204_with_allow(api):
    """The catch-all route can forward an OPTIONS request: a 2xx keeps a browser's preflight
    passing (API Gateway adds the CORS headers); unknown paths stay 404."""
    response = invoke(api, load_event("options_preflight"))
    assert (response["statusCode"], response["body"]) == (204, "")
    assert response["headers"]["Allow"] == "GET, POST"
    event = load_event("options_preflight")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/nowhere"
    assert invoke(api, event)["statusCode"] == 404


# --- the model's identity ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ALL_EXPECTED))
def test_every_answer_names_the_model_that_gave_it(api, name):
    answer = invoke(api, case_event(name))
    health = json.loads(invoke(api, load_event("get_health"))["body"])
    assert answer["headers"]["X-Model-Version"] == health["model_version"] == api.model_version


def test_the_model_version_is_the_images_or_else_named_after_the_data(real_loaded):
    built, _ = make_api(real_loaded, model_version="m-0123456789ab")
    assert invoke(built, load_event("get_nearest"))["headers"]["X-Model-Version"] == "m-0123456789ab"
    local, _ = make_api(real_loaded)
    assert local.model_version == f"local-{real_loaded.metadata['data_sha256'][:12]}"


def test_even_an_internal_error_names_the_model(api, monkeypatch):
    monkeypatch.setattr(api.model, "query", lambda *a, **k: 1 / 0)
    answer = invoke(api, get_event({"lat": "39", "long": "-77"}))
    assert answer["statusCode"] == 500 and answer["headers"]["X-Model-Version"] == api.model_version


# --- internal errors and logging -----------------------------------------------------------------


def test_an_unexpected_error_is_a_500_without_a_traceback_and_is_logged(api, logs, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(api.model, "query", broken)
    response = invoke(api, get_event({"lat": "39", "long": "-77"}))
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"error": "internal error"}
    assert "secret" not in response["body"] and "Traceback" not in response["body"]
    records = logs.records()
    failure = next(record for record in records if record["level"] == "ERROR")
    assert "secret internal detail" in failure["exception"]
    assert records[-1]["message"] == "request" and records[-1]["status"] == 500


def test_a_failure_outside_the_routes_is_still_a_json_500(api, logs, monkeypatch):
    def resolver_failure(event, context):
        raise RuntimeError("the resolver's own handlers failed")

    monkeypatch.setattr(api.app, "resolve", resolver_failure)
    response = invoke(api, get_event({"lat": "39", "long": "-77"}))
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"error": "internal error"}
    assert any(record["level"] == "ERROR" for record in logs.records())


@pytest.mark.filterwarnings("ignore:POWERTOOLS_DEV")
def test_powertools_dev_mode_does_not_leak_tracebacks(real_loaded, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    api, _ = make_api(real_loaded)
    monkeypatch.setattr(api.model, "query", lambda *a, **k: 1 / 0)
    response = invoke(api, get_event({"lat": "39", "long": "-77"}))
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"error": "internal error"}


def test_one_structured_log_line_per_request_without_bodies(api, logs):
    context = LocalContext()
    event = load_event("get_nearest_k5")
    api.handler(event, context)
    marker = "do-not-log-this-body-" + "z" * 20
    api.handler(post_event({"points": [[39, -77], [40, -75]], "note": marker}), LocalContext())
    api.handler(load_event("get_out_of_range_lat"), LocalContext())
    records = logs.records()
    assert [record["message"] for record in records] == ["request"] * 3
    get, post, bad = records
    assert get["service"].startswith("nearest-store")
    assert get["level"] == "INFO" and isinstance(get["cold_start"], bool)
    assert get["function_request_id"] == context.aws_request_id
    assert get["correlation_id"] == event["requestContext"]["requestId"]
    assert (get["method"], get["path"], get["status"]) == ("GET", "/", 200)
    assert get["query"] == {"lat": 41.878113, "long": -87.629799, "k": 5}
    assert isinstance(get["latency_ms"], float) and get["latency_ms"] >= 0
    assert post["query"] == {"points": 2} and post["status"] == 200
    assert {record["model_version"] for record in records} == {api.model_version}
    assert marker not in logs.getvalue()
    assert bad["status"] == 400 and "'lat'" in bad["error"]


def test_service_name_and_log_level_come_from_the_environment(monkeypatch):
    from chipotle_model import SERVICE_NAME
    from serving.api import make_logger

    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
    monkeypatch.delenv("POWERTOOLS_LOG_LEVEL", raising=False)
    assert make_logger(SERVICE_NAME).service == SERVICE_NAME
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "svc-under-test")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    logger = make_logger(SERVICE_NAME)
    assert logger.service == "svc-under-test"
    assert logger.log_level == 30


def test_the_model_is_not_reloaded_per_request(api, monkeypatch):
    import joblib

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded during a request")

    monkeypatch.setattr(joblib, "load", no_loading)
    assert invoke(api, load_event("get_nearest"))["statusCode"] == 200
    assert invoke(api, load_event("post_batch"))["statusCode"] == 200


def test_a_decimal_comma_gets_a_hint(api):
    message = error_of(invoke(api, get_event({"lat": "39,1", "long": "-77"})))
    assert "must be given once" in message and "write decimals with a point, like 39.1" in message


@pytest.mark.parametrize(
    "event",
    [[], "GET /", None, 1, {}, {"requestContext": {}}, {"requestContext": {"http": "GET"}},
     {"requestContext": {"http": {"method": "GET"}}},
     {"requestContext": {"http": {"path": "/", "method": 1}}}],
)  # fmt: skip
def test_an_event_api_gateway_never_sends_gets_a_json_400_not_a_500(api, logs, event):
    response = api.handler(event, LocalContext())
    assert response["statusCode"] == 400
    assert "not an API Gateway HTTP API event" in json.loads(response["body"])["error"]
    assert [r for r in logs.records() if r.get("level") == "ERROR"] == []  # no traceback logged
