"""The API's OpenAPI 3.1 document, generated from the route table that serves it.

Every (method, path) the API answers is in it: the model package's ROUTES, each with the
Operation Object its route describes (serving.operations), GET /health and GET
/openapi.json from the platform, and OPTIONS on every path. The platform adds what it
does to every answer: the `X-Model-Version` header, the `{"error": ...}` body of a 4xx
or 500 and the 405 with `Allow` of a method a path does not serve.

serving.api imports this module on the first GET /openapi.json and keeps the document
it builds: importing or creating the API (INIT) never builds it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from .operations import operation_of

OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "what is wrong and what is allowed"}},
    "additionalProperties": False,
}
HEALTH_SCHEMA = {
    "type": "object",
    "required": ["status", "model_version"],
    "properties": {
        "status": {"const": "ok"},
        "model_version": {"type": "string", "description": "the model that answers (X-Model-Version)"},
    },
    "additionalProperties": True,  # the model's metadata, as its training recorded it
}
_METHOD_NAMES = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _header(name: str) -> dict:
    return {"$ref": f"#/components/headers/{name}"}


def _components(model_version_header: str) -> dict:
    error_content = {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {
        "schemas": {"Error": ERROR_SCHEMA, "Health": HEALTH_SCHEMA},
        "headers": {
            model_version_header: {
                "description": "the model version that gave the answer",
                "required": True,
                "schema": {"type": "string"},
            },
            "Allow": {
                "description": "the methods the path serves",
                "required": True,
                "schema": {"type": "string"},
            },
        },
        "responses": {
            "NotFound": {
                "description": "a path the API does not serve (any method)",
                "content": error_content,
            },
            "MethodNotAllowed": {
                "description": "a method the path does not serve; `Allow` lists those it does",
                "headers": {"Allow": _header("Allow")},
                "content": error_content,
            },
            "InternalError": {
                "description": 'an unexpected failure (logged): {"error": "internal error"}',
                "content": error_content,
            },
        },
    }


def _error_answer(description: str) -> dict:
    return {"description": description, "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}


def complete_operation(operation: Mapping[str, Any], model_version_header: str) -> dict:
    """A route's Operation Object with what the platform adds: error answers from their
    descriptions, the 500, and the model version header on every answer."""
    done = copy.deepcopy(dict(operation))
    responses = {
        status: _error_answer(answer) if isinstance(answer, str) else answer
        for status, answer in done.get("responses", {}).items()
    }
    if not any(str(status).startswith("2") for status in responses):
        responses["200"] = {"description": "the route's answer (the model package does not describe it)"}
    responses.setdefault("500", {"$ref": "#/components/responses/InternalError"})
    for answer in responses.values():
        if "$ref" not in answer:
            answer.setdefault("headers", {})[model_version_header] = _header(model_version_header)
    done["responses"] = responses
    return done


def _options(methods: list[str], model_version_header: str) -> dict:
    return {
        "summary": "the methods this path serves",
        "description": (
            "A CORS preflight (with `Origin` and `Access-Control-Request-Method`) is answered by API "
            "Gateway (and by the local server) with the `Access-Control-*` headers of the CORS policy; "
            f"a forwarded or plain OPTIONS gets 204 with `Allow: {', '.join(methods)}`."
        ),
        "responses": {
            "204": {
                "description": "no body; `Allow` lists the methods",
                "headers": {
                    "Allow": {"description": "the methods the path serves", "schema": {"type": "string"}},
                    # absent when API Gateway answers a preflight itself
                    model_version_header: {
                        "description": "the answering model",
                        "schema": {"type": "string"},
                    },
                },
            }
        },
    }


def _platform_operations(health: tuple[str, str], openapi: tuple[str, str]) -> dict:
    return {
        health: {
            "summary": "what is being served: the model version and the model's metadata",
            "operationId": "health",
            "responses": {
                "200": {
                    "description": "the model version and the metadata its training recorded",
                    "content": {JSON: {"schema": {"$ref": "#/components/schemas/Health"}}},
                }
            },
        },
        openapi: {
            "summary": "this document",
            "operationId": "openapi",
            "responses": {
                "200": {
                    "description": "the OpenAPI document",
                    "content": {JSON: {"schema": {"type": "object"}}},
                }
            },
        },
    }


def document(
    *,
    title: str,
    version: str,
    routes: Mapping[tuple[str, str], Callable],
    model: Any,
    health_route: tuple[str, str],
    openapi_route: tuple[str, str],
    model_version_header: str,
) -> dict:
    """The OpenAPI document of an API serving `routes` around `model`, with the platform's
    own routes `health_route` and `openapi_route`."""
    operations = {key: operation_of(route, model) for key, route in routes.items()}
    operations.update(_platform_operations(health_route, openapi_route))
    paths: dict[str, dict] = {}
    for (method, path), operation in operations.items():
        if method.lower() not in _METHOD_NAMES:
            raise ValueError(f"route {method} {path}: {method!r} is not an HTTP method OpenAPI describes")
        paths.setdefault(path, {})[method.lower()] = complete_operation(operation, model_version_header)
    for by_method in paths.values():
        methods = [method.upper() for method in by_method]
        by_method.setdefault("options", _options(methods, model_version_header))
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": (
                'Every answer is JSON unless a route says otherwise; a 4xx or 500 is {"error": "..."}. '
                "A path not listed here is a 404 (NotFound), a method a path does not list a 405 "
                "with `Allow` (MethodNotAllowed)."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": _components(model_version_header),
    }
