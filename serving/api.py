"""The HTTP API around one loaded model: API Gateway HTTP API (payload 2.0) events in,
JSON answers out.

The model package's ROUTES are the routes, {(method, path): route}; the platform adds
GET /health (the model's metadata) and GET /openapi.json (the API's OpenAPI document,
serving.openapi, built on its first request). A route is `route(model, request)` and returns a
dict (a 200 JSON answer) or a Powertools `Response`; it raises `ClientError` for input
it cannot answer (a 4xx {"error": ...}). A path no route names is a 404, a method not
listed for a path a 405, and an unexpected failure a 500 {"error": "internal error"},
logged with its traceback, never sent. Every answer names the model that gave it
(X-Model-Version) and every request is logged once, with its metrics.

`create_api(package, artifact).handler` is a complete Lambda handler; the Lambda entry
(serving.lambda_handler) and the local server (serving.server) both call it, so the code
that answers in AWS is the code that answers on a laptop. CORS is API Gateway's job
(`cors_policy`).
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths

from . import lifecycle
from .artifact import Artifact, damaged_artifact, load_artifact
from .cors import CorsPolicy
from .inputs import ClientError, show
from .metrics import OTHER_ROUTE, RequestMetrics

JSON_CONTENT_TYPE = "application/json"
# Names the model that answered, on every answer (CORS exposes it to browsers).
MODEL_VERSION_HEADER = "X-Model-Version"
HEALTH_ROUTE = ("GET", "/health")
OPENAPI_ROUTE = ("GET", "/openapi.json")
_JSON_SEPARATORS = (",", ":")
_INTERNAL_ERROR = {"error": "internal error"}


@dataclass
class LocalContext:
    """A stand-in for the Lambda context object, for the local server and tests."""

    function_name: str = "local"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class Request:
    """What a route sees of one request: the event (Powertools' APIGatewayProxyEventV2),
    and where it records what it did (log keys, counts)."""

    event: Any
    logger: Logger
    metrics: RequestMetrics

    def log(self, **keys: Any) -> None:
        """Keys for this request's log line."""
        self.logger.append_keys(**keys)

    def count(self, name: str, value: float) -> None:
        """A count for this request's metrics record."""
        self.metrics.count(name, value)


Route = Callable[[Any, Request], "dict | Response"]


def make_logger(service: str, **kwargs) -> Logger:
    """A structured JSON logger; POWERTOOLS_SERVICE_NAME overrides `service`, LOG_LEVEL sets the level."""
    return Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or service, **kwargs)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    text = body if isinstance(body, str) else json.dumps(body, separators=_JSON_SEPARATORS)
    return Response(status_code=status, content_type=JSON_CONTENT_TYPE, body=text, headers=headers)


def all_routes(routes: Mapping[tuple[str, str], Route]) -> list[tuple[str, str]]:
    """Every (method, path) the API answers: the model's routes, GET /health and GET /openapi.json."""
    return [*routes, HEALTH_ROUTE, OPENAPI_ROUTE]


def cors_policy(
    routes: Mapping[tuple[str, str], Route], allow_origins: tuple[str, ...] = ("*",)
) -> CorsPolicy:
    """The CORS policy of an API with these routes (their methods, the headers it sends)."""
    methods = tuple(dict.fromkeys(method for method, _ in all_routes(routes)))
    return CorsPolicy(
        allow_origins=tuple(allow_origins),
        allow_methods=methods,
        expose_headers=(MODEL_VERSION_HEADER.lower(),),
    )


def local_model_version(metadata: dict) -> str:
    """The model version of an artifact run outside a serving image (which records the
    build's MODEL_VERSION): named after its data, so other data is another version."""
    return f"local-{str(metadata.get('data_sha256', 'unknown'))[:12]}"


class ServingApi:
    """Routes, validation errors, request logging and metrics around one loaded model."""

    def __init__(
        self,
        package: ModuleType,
        artifact: Artifact,
        *,
        model_version: str | None = None,
        logger: Logger | None = None,
        metrics: RequestMetrics | None = None,
    ):
        self.package = package
        self.model = artifact.model
        self.metadata = artifact.metadata
        self.routes: dict[tuple[str, str], Route] = dict(package.ROUTES)
        self.model_version = model_version or local_model_version(artifact.metadata)
        self.logger = logger or make_logger(package.SERVICE_NAME)
        self.metrics = metrics or RequestMetrics(service=self.logger.service)
        # The health answer never changes: serialise it once.
        health = {"status": "ok", "model_version": self.model_version, **artifact.metadata}
        self.health_body = json.dumps(health, separators=_JSON_SEPARATORS)
        self._openapi_body: str | None = None  # built on its first request (openapi_body)
        # debug=False: POWERTOOLS_DEV must never put a traceback in an answer
        self.app = APIGatewayHttpResolver(debug=False)
        self._register()
        self.handler = self.logger.inject_lambda_context(
            self._handle,
            log_event=False,
            correlation_id_path=correlation_paths.API_GATEWAY_HTTP,
            clear_state=True,  # the previous request's keys and error are not carried over
        )

    def _handle(self, event: dict, context: Any) -> dict:
        started = time.perf_counter()
        try:
            answer = _not_an_http_api_event(event) or self.app.resolve(event, context)
        except Exception:  # the resolver's own handlers failed: still answer in JSON
            self.logger.exception("unhandled error outside the routes")
            answer = {
                "statusCode": 500,
                "headers": {"Content-Type": JSON_CONTENT_TYPE},
                "body": json.dumps(_INTERNAL_ERROR),
                "isBase64Encoded": False,
            }
        answer.setdefault("headers", {})[MODEL_VERSION_HEADER] = self.model_version
        self._log_request(event, answer, started)
        return answer

    def _log_request(self, event: Any, answer: dict, started: float) -> None:
        http = _request_http(event)
        method, path, status = http.get("method"), http.get("path"), answer.get("statusCode")
        latency_ms = round((time.perf_counter() - started) * 1e3, 3)
        environment = lifecycle.log_fields()  # init_type, restored: a restore vs a cold INIT
        self.logger.info(
            "request",
            extra={
                "method": method,
                "path": path if isinstance(path, str) else None,
                "status": status,
                "latency_ms": latency_ms,
                "model_version": self.model_version,
                **environment,
            },
        )
        self.metrics.request(
            route=self.route_label(method, path),
            status=status if isinstance(status, int) else 500,
            latency_ms=latency_ms,
            model_version=self.model_version,
            start="restore" if environment["restored"] else environment["init_type"] or "on-demand",
        )

    def route_label(self, method: Any, path: Any) -> str:
        """The route a request took, for metrics: "GET /" and the like, or "other"."""
        if (
            isinstance(method, str)
            and isinstance(path, str)
            and (method.upper(), path) in all_routes(self.routes)
        ):
            return f"{method.upper()} {path}"
        return OTHER_ROUTE

    def allowed_methods(self, path: str) -> list[str]:
        return [method for method, route_path in all_routes(self.routes) if route_path == path]

    def openapi_body(self) -> str:
        """The API's OpenAPI document as JSON, built on its first request and kept: the
        generator is imported then, so INIT neither imports nor builds it."""
        if self._openapi_body is None:
            from . import openapi

            document = openapi.document(
                title=self.package.SERVICE_NAME,
                version=self.model_version,
                routes=self.routes,
                model=self.model,
                health_route=HEALTH_ROUTE,
                openapi_route=OPENAPI_ROUTE,
                model_version_header=MODEL_VERSION_HEADER,
            )
            self._openapi_body = json.dumps(document, separators=_JSON_SEPARATORS)
        return self._openapi_body

    def warm_up(self) -> None:
        """Answer the model's warm-up requests end to end, so the first request pays no
        first-use costs; each must be answered 200, else WarmUpFailed."""
        try:
            events = self.package.warm_up_requests(self.model)
        except Exception as exc:  # the model cannot even name a request: it cannot serve
            raise WarmUpFailed(f"its warm-up requests cannot be made ({type(exc).__name__}: {exc})") from exc
        for event in events:
            answer = self.app.resolve(event, LocalContext())
            if answer["statusCode"] != 200:
                request = (
                    f"{event.get('requestContext', {}).get('http', {}).get('method')} {event.get('rawPath')}"
                )
                raise WarmUpFailed(
                    f"its warm-up request {request} was answered {answer['statusCode']} {answer['body']}"
                )
        self.logger.clear_state()  # the warm-up requests are not requests: log none of their keys
        self.metrics.discard()

    def _register(self) -> None:
        app = self.app
        for (method, path), route in self.routes.items():
            app.route(path, method)(lambda route=route: route(self.model, self._request()))
        app.route(HEALTH_ROUTE[1], HEALTH_ROUTE[0])(lambda: json_response(200, self.health_body))
        # escaped: Powertools compiles a route as a regular expression, and "." matches any character
        app.route(re.escape(OPENAPI_ROUTE[1]), OPENAPI_ROUTE[0])(
            lambda: json_response(200, self.openapi_body())
        )

        @app.exception_handler(ClientError)
        def client_error(exc: ClientError) -> Response:
            self.logger.append_keys(error=exc.message)
            return json_response(exc.status, {"error": exc.message}, exc.headers)

        @app.not_found
        def not_found(_exc: Exception) -> Response:
            path, method = app.current_event.path, app.current_event.http_method
            allowed = self.allowed_methods(path)
            if allowed and method == "OPTIONS":
                # A preflight that API Gateway forwarded (the catch-all route takes OPTIONS
                # too): 204, and API Gateway adds its CORS headers (CorsPolicy).
                return Response(status_code=204, body="", headers={"Allow": ", ".join(allowed)})
            return client_error(self._no_route(path, method, allowed))

        @app.exception_handler(Exception)
        def internal_error(exc: Exception) -> Response:
            self.logger.exception("unhandled error")
            return json_response(500, _INTERNAL_ERROR)

    def _request(self) -> Request:
        return Request(self.app.current_event, self.logger, self.metrics)

    def _no_route(self, path: str, method: str, allowed: list[str]) -> ClientError:
        if not allowed:
            served = ", ".join(f"{m} {p}" for m, p in all_routes(self.routes))
            return ClientError(404, f"no such path {show(path, 100)}; the API serves {served}")
        return ClientError(
            405,
            f"method {show(method)} is not allowed on {path}; allowed: {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        )


def _not_an_http_api_event(event: Any) -> dict | None:
    """A 400 for an event API Gateway's HTTP API never sends (not a dict, or without
    requestContext.http with a method and a path: a test event, another trigger), or None."""
    http = _request_http(event)
    if isinstance(http.get("method"), str) and isinstance(http.get("path"), str):
        return None
    return {
        "statusCode": 400,
        "headers": {"Content-Type": JSON_CONTENT_TYPE},
        "body": json.dumps({"error": "not an API Gateway HTTP API event (payload 2.0): "
                            "it needs requestContext.http with method and path"}),
        "isBase64Encoded": False,
    }  # fmt: skip


def _request_http(event: Any) -> dict:
    """requestContext.http of an event, or {} (for logging, whatever the event holds)."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    http = context.get("http") if isinstance(context, dict) else None
    return http if isinstance(http, dict) else {}


class WarmUpFailed(RuntimeError):
    """A warm-up request could not be made or was not answered 200: the model cannot serve."""


def create_api(package: ModuleType, artifact: Artifact, *, tracing: bool = False, **kwargs) -> ServingApi:
    """The API of `package`'s routes around `artifact`, warmed up:
    `create_api(package, artifact).handler(event, context)`.

    `tracing`: X-Ray subsegments with Powertools Tracer (the image must carry the tracing
    library); off, no tracing library is imported.
    """
    api = ServingApi(package, artifact, **kwargs)
    if tracing:
        from aws_lambda_powertools import Tracer

        api.handler = Tracer(service=api.logger.service).capture_lambda_handler(api.handler)
    started = time.perf_counter()
    api.warm_up()
    about = {k: v for k, v in artifact.metadata.items() if not isinstance(v, (dict, list))}
    api.logger.info(
        "ready",
        extra={
            **about,  # what the artifact records of its model and data (store_count, data_sha256, ...)
            "model_version": api.model_version,
            "warm_up_ms": round((time.perf_counter() - started) * 1e3, 3),
        },
    )
    return api


def api_from_artifact(package: ModuleType, path, **kwargs) -> ServingApi:
    """`create_api` around the artifact at `path` (serving.artifact.load_artifact): a
    ModelLoadError with the rebuild hint when it cannot be loaded or fails its warm-up."""
    artifact = load_artifact(path)
    try:
        return create_api(package, artifact, **kwargs)
    except WarmUpFailed as exc:
        raise damaged_artifact(path, str(exc)) from exc
