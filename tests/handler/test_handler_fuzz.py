"""Property-based fuzzing of the handler: whatever a client sends, a 2xx/4xx JSON answer.

Generated payload-2.0 events vary the query string, body, method, path, headers and the
base64 flag; every response must be a 2xx or 4xx with a JSON body (or the empty 204 of a
CORS preflight), and no exception may escape the handler.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import logging
import uuid
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chipotle_model
from serving.api import LocalContext, create_api, make_logger
from tests.support.events import load_event

FUZZ_EXAMPLES = 10_000

KNOWN_PATHS = ["/", "/health", "", "/health/", "//", "/favicon.ico", "/prod/health", "/%2e%2e/", "/ /"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "get", "TRACE", "CONNECT"]
PARAMETER_NAMES = ["lat", "long", "lng", "lon", "k", "LAT", "latitude", "", "callback"]

finite = st.floats(min_value=-200, max_value=200, allow_nan=False)
any_float = st.floats(allow_nan=True, allow_infinity=True)
numberish = st.one_of(
    finite.map(repr),
    any_float.map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(
        ["", " ", "nan", "-inf", "1e999", "0x1A", "1_000", "١٢", "39,40", "+", ".", "-.", "1e", "٣"]
    ),
    st.text(max_size=12),
)
query = st.dictionaries(
    st.one_of(st.sampled_from(PARAMETER_NAMES), st.text(max_size=6)), numberish, max_size=5
)

json_scalar = st.one_of(st.none(), st.booleans(), finite, any_float, st.integers(), st.text(max_size=8))
json_value = st.recursive(
    json_scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)
point = st.one_of(
    st.tuples(finite, finite).map(list),
    st.tuples(st.floats(-90, 90), st.floats(-180, 180)).map(list),
    st.lists(json_scalar, max_size=3),
    json_value,
)
points_document = st.one_of(
    st.fixed_dictionaries({"points": st.lists(point, max_size=30)}),
    st.fixed_dictionaries({"points": json_value}),
    st.dictionaries(st.sampled_from(["points", "point", "extra"]), json_value, max_size=3),
    json_value,
)


def _dump(document) -> str:
    return json.dumps(document, allow_nan=True)


valid_points = st.lists(
    st.tuples(st.floats(-90, 90), st.floats(-180, 180)).map(list), min_size=1, max_size=40
)
body_text = st.one_of(
    st.fixed_dictionaries({"points": valid_points}).map(_dump),
    points_document.map(_dump),
    st.text(max_size=60),
    st.sampled_from(["", "{", '{"points": [[1, 2]]', "[" * 5000, '{"points": [[NaN, 1]]}', "null", "0"]),
)


coordinate_query = st.builds(
    lambda lat, name, lon, k: {"lat": lat, name: lon, **k},
    st.floats(-90, 90).map(str),
    st.sampled_from(["long", "lng", "lon"]),
    st.floats(-180, 180).map(str),
    st.one_of(st.just({}), st.integers(-2, 25).map(lambda k: {"k": str(k)})),
)
# What a request aims at: the three routes, or anything at all.
TARGETS = ["nearest"] * 3 + ["batch"] * 3 + ["health"] + ["anything"] * 3
ROUTE_OF_TARGET = {"nearest": ("GET", "/"), "batch": ("POST", "/"), "health": ("GET", "/health")}


@st.composite
def events(draw) -> dict:
    event = copy.deepcopy(_TEMPLATE)
    target = draw(st.sampled_from(TARGETS))
    if target in ROUTE_OF_TARGET:
        method, path = ROUTE_OF_TARGET[target]
    else:
        method = draw(st.one_of(st.sampled_from(METHODS), st.text(min_size=1, max_size=7)))
        path = draw(st.one_of(st.sampled_from(KNOWN_PATHS), st.text(max_size=12).map(lambda s: "/" + s)))
    stage = draw(st.sampled_from(["$default"] * 8 + ["prod", "v1"]))
    event["requestContext"]["stage"] = stage
    if stage != "$default" and draw(st.booleans()):
        path = f"/{stage}{path}"
    event["requestContext"]["http"]["method"] = method
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    queries = [st.none(), query] + [coordinate_query] * (3 if target == "nearest" else 1)
    params = draw(st.one_of(queries))
    if params is None:
        event.pop("queryStringParameters", None)
        event["rawQueryString"] = ""
    else:
        event["queryStringParameters"] = params
        event["rawQueryString"] = "&".join(f"{quote(k)}={quote(v)}" for k, v in params.items())
    if draw(st.booleans()):
        event["headers"]["origin"] = draw(st.sampled_from(["https://maps.example.com", "null", "a,b"]))
    kinds = ["none", "text", "base64", "base64-bytes", "bad-base64"]
    kind = draw(st.sampled_from([*kinds, "text", "text", "base64"] if target == "batch" else kinds))
    event["isBase64Encoded"] = kind.startswith(("base64", "bad-"))
    if kind == "text":
        event["body"] = draw(body_text)
    elif kind == "base64":
        event["body"] = base64.b64encode(draw(body_text).encode("utf-8", "surrogatepass")).decode()
    elif kind == "base64-bytes":
        event["body"] = base64.b64encode(draw(st.binary(max_size=64))).decode()
    elif kind == "bad-base64":
        event["body"] = draw(st.text(max_size=20))
    else:
        event.pop("body", None)
    return event


_TEMPLATE = load_event("post_batch")


def test_fuzzed_events_always_get_a_2xx_or_4xx_json_answer(real_loaded):
    # A quiet logger: the fuzz makes 10,000+ log lines, which need not reach the console.
    service = f"nearest-store-fuzz-{uuid.uuid4().hex[:8]}"
    logger = make_logger(service=service, stream=io.StringIO())
    logging.getLogger(service).propagate = False  # nor pytest's log capture
    api = create_api(chipotle_model, real_loaded, logger=logger)
    statuses: dict[int, int] = {}
    examples = 0

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(event=events())
    def run(event):
        nonlocal examples
        examples += 1
        logger.logger_handler.stream.seek(0)
        logger.logger_handler.stream.truncate()
        response = api.handler(event, LocalContext())  # must not raise
        status = response["statusCode"]
        statuses[status] = statuses.get(status, 0) + 1
        assert 200 <= status < 300 or 400 <= status < 500, (status, response["body"])
        assert isinstance(response["body"], str)
        if status == 204:
            assert event["requestContext"]["http"]["method"].upper() == "OPTIONS"
            assert response["body"] == ""
            return
        assert response["headers"]["Content-Type"] == "application/json"
        body = json.loads(response["body"])
        assert isinstance(body, dict)
        if status >= 400:
            assert set(body) == {"error"} and body["error"]
            assert "Traceback" not in body["error"]

    run()
    assert examples >= FUZZ_EXAMPLES
    # the fuzz reached the answers, not only the errors
    assert statuses.get(200, 0) > 100, statuses
    assert {204, 400, 404, 405, 413} - {413} <= set(statuses), statuses
    print(f"fuzz: {examples} events, statuses {dict(sorted(statuses.items()))}")
