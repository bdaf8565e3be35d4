"""GET /openapi.json: a valid OpenAPI document of every route the API serves, whose
schemas the API's real answers match, built on its first request and never at INIT."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from serving.api import LocalContext, all_routes
from serving.events import http_event
from tests.support import REPO_ROOT
from tests.support.cases import all_events
from tests.support.logs import make_api

OPENAPI_PATH = "/openapi.json"


def get_document(api) -> dict:
    answer = api.handler(http_event("GET", OPENAPI_PATH), LocalContext())
    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"] == "application/json"
    return json.loads(answer["body"])


def schema_at(document: dict, *pointer: str) -> Draft202012Validator:
    """A validator of the schema at `pointer` inside the document (its $refs resolve)."""
    escaped = "/".join(part.replace("~", "~0").replace("/", "~1") for part in pointer)
    return Draft202012Validator({**document, "$ref": f"#/{escaped}"})


@pytest.mark.parametrize("api_name", ["store_api", "example_api"])
def test_the_document_is_valid_openapi_and_lists_every_route(request, api_name):
    api = request.getfixturevalue(api_name)
    document = get_document(api)
    validate(document)  # openapi-spec-validator: OpenAPI 3.1 and its JSON Schema dialect
    served = {(method.lower(), path) for method, path in all_routes(api.routes)}
    described = {(m, path) for path, item in document["paths"].items() for m in item if m != "options"}
    assert described == served  # nothing invented, nothing left out
    for path, item in document["paths"].items():
        assert "options" in item, path
        for method, operation in item.items():
            if method != "options":
                assert "200" in operation["responses"] and "500" in operation["responses"], (method, path)


def test_every_answer_to_the_fixtures_matches_the_document(store_api):
    document = get_document(store_api)
    checked = 0
    for name, event in all_events().items():
        answer = store_api.handler(event, LocalContext())
        method, path = event["requestContext"]["http"]["method"].lower(), event["rawPath"]
        status = str(answer["statusCode"])
        if path not in document["paths"]:
            assert status == "404", name
            schema = schema_at(
                document, "components", "responses", "NotFound", "content", "application/json", "schema"
            )
        elif method not in document["paths"][path]:
            assert status == "405" and answer["headers"]["Allow"], name
            schema = schema_at(
                document,
                "components",
                "responses",
                "MethodNotAllowed",
                "content",
                "application/json",
                "schema",
            )
        else:
            responses = document["paths"][path][method]["responses"]
            assert status in responses, (name, status)
            if status == "204":
                assert answer["body"] == ""
                continue
            schema = schema_at(
                document, "paths", path, method, "responses", status, "content", "application/json", "schema"
            )
        schema.validate(json.loads(answer["body"]))
        checked += 1
    assert checked >= 40  # every fixture of tests/events/ and the generated ones


def test_the_document_states_the_models_own_limits(store_api, real_model):
    document = get_document(store_api)
    k = next(p for p in document["paths"]["/"]["get"]["parameters"] if p["name"] == "k")
    assert k["schema"]["maximum"] == min(20, len(real_model))
    body = document["paths"]["/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["points"]["maxItems"] == 10_000


def test_a_wrong_answer_fails_the_documents_schema(store_api):
    """The schemas are strict enough to catch a wrong field (or they would check nothing)."""
    document = get_document(store_api)
    answer = store_api.handler(http_event("GET", "/", query={"lat": "39.1", "long": "-77.1"}), LocalContext())
    body = json.loads(answer["body"])
    schema = schema_at(
        document, "paths", "/", "get", "responses", "200", "content", "application/json", "schema"
    )
    schema.validate(body)
    body["nearest"]["distance_km"] = "near"
    assert not schema.is_valid(body)
    del body["nearest"]["distance_km"]
    assert not schema.is_valid(body)


def test_the_document_is_built_once_on_its_first_request(real_loaded, monkeypatch):
    from serving import openapi

    built = []
    original = openapi.document
    monkeypatch.setattr(openapi, "document", lambda **kw: built.append(1) or original(**kw))
    fresh = make_api(real_loaded)[0]  # created and warmed up, as at INIT
    assert built == []
    first = get_document(fresh)
    assert get_document(fresh) == first
    assert built == [1]


def test_creating_the_api_neither_imports_nor_builds_the_generator(real_artifact, measurements):
    """INIT (create_api, warm-up included) pays nothing for the document: the generator
    module is not even imported until GET /openapi.json."""
    script = textwrap.dedent(
        f"""
        import json, sys, time
        import chipotle_model
        from serving.api import LocalContext, create_api
        from serving.artifact import load_artifact
        from serving.events import http_event
        api = create_api(chipotle_model, load_artifact({str(real_artifact)!r}))
        at_init = "serving.openapi" in sys.modules
        started = time.perf_counter()
        answer = api.handler(http_event("GET", "/openapi.json"), LocalContext())
        first_ms = (time.perf_counter() - started) * 1e3
        print(json.dumps({{"at_init": at_init, "after": "serving.openapi" in sys.modules,
                           "status": answer["statusCode"], "first_ms": first_ms,
                           "bytes": len(answer["body"])}}))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["at_init"] is False
    assert result["after"] is True and result["status"] == 200
    measurements.append(
        f"GET /openapi.json: built on the first request in {result['first_ms']:.1f} ms "
        f"({result['bytes']:,} bytes); not imported at INIT"
    )


def test_an_undescribed_route_is_still_listed_and_a_bad_method_is_refused():
    from serving import openapi
    from serving.api import HEALTH_ROUTE, MODEL_VERSION_HEADER, OPENAPI_ROUTE

    def undescribed(model, request):
        return {}

    def build(routes):
        return openapi.document(
            title="t",
            version="v",
            routes=routes,
            model=None,
            health_route=HEALTH_ROUTE,
            openapi_route=OPENAPI_ROUTE,
            model_version_header=MODEL_VERSION_HEADER,
        )

    document = build({("PUT", "/thing"): undescribed})
    validate(document)
    assert set(document["paths"]["/thing"]) == {"put", "options"}
    assert set(document["paths"]["/thing"]["put"]["responses"]) == {"200", "500"}
    with pytest.raises(ValueError, match="'FETCH' is not an HTTP method"):
        build({("FETCH", "/thing"): undescribed})
