"""The HTTP API: API Gateway HTTP API (payload 2.0) events in, JSON answers out.

    GET  /?lat=<deg>&long=<deg>[&k=<1..20>]   the k nearest stores (`lng`/`lon` = `long`)
    POST /  {"points": [[lat, long], ...]}      the nearest store to each point, in order
    GET  /health                                the model's metadata
    GET  /  from a browser, without coordinates  a page that asks the above (chipotle_model.page)

`create_api(model).handler` is a complete Lambda handler; the Lambda entry
(lambda_image/handler.py) and the local server (chipotle_model.server) both call it,
so the code that answers in AWS is the code that answers on a laptop.

The API Gateway in front sends every path and method here (one catch-all route), so
ROUTES below is the only route table: a path it does not name is a 404, a method it
does not list for a path a 405. CORS is API Gateway's job (`cors_policy`).
Bad input gets a 4xx {"error": "..."} (chipotle_model.params); an unexpected failure
a 500 {"error": "internal error"}, logged with its traceback, never sent.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths

from . import lifecycle, page, params, response
from .cors import CorsPolicy
from .geo import InvalidQuery
from .metrics import OTHER_ROUTE, RequestMetrics
from .model import MAX_K, NearestStoreModel

SERVICE_NAME = "nearest-store"  # the product's name in logs (POWERTOOLS_SERVICE_NAME overrides)
JSON_CONTENT_TYPE = "application/json"
# Names the model that answered, on every answer (CORS exposes it to browsers).
MODEL_VERSION_HEADER = "X-Model-Version"
_JSON_SEPARATORS = (",", ":")
_INTERNAL_ERROR = response.error_answer("internal error")


@dataclass
class LocalContext:
    """A stand-in for the Lambda context object, for the local server and tests."""

    function_name: str = f"{SERVICE_NAME}-local"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = f"arn:aws:lambda:local:000000000000:function:{SERVICE_NAME}-local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def make_logger(service: str | None = None, **kwargs) -> Logger:
    """A structured JSON logger; service from POWERTOOLS_SERVICE_NAME, level from LOG_LEVEL."""
    return Logger(service=service or os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE_NAME, **kwargs)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    text = body if isinstance(body, str) else json.dumps(body, separators=_JSON_SEPARATORS)
    return Response(status_code=status, content_type=JSON_CONTENT_TYPE, body=text, headers=headers)


# --- the routes: one function per (method, path) ---------------------------------------


def _nearest(api: NearestStoreApi, event) -> dict | Response:
    if page.wants_page(event):
        return api.page.response()
    query = params.nearest_query(event.query_string_parameters, max_k=api.max_k)
    api.logger.append_keys(query=query.log)
    api.metrics.k(query.k)
    distances, indices = api.model.query(query.latitude, query.longitude, k=query.k)
    stores = api.records.rows(distances[0], indices[0])
    return response.nearest_answer(query.latitude, query.longitude, query.k, stores)


def _nearest_batch(api: NearestStoreApi, event) -> dict:
    text = params.body_text(event.body, base64_encoded=event.is_base64_encoded)
    latitudes, longitudes = params.batch_points(params.json_document(text))
    api.logger.append_keys(query={"points": len(latitudes)})
    api.metrics.batch_points(len(latitudes))
    distances, indices = api.model.query(latitudes, longitudes, k=1)
    return response.batch_answer(api.records.rows(distances[:, 0], indices[:, 0]))


def _health(api: NearestStoreApi, event) -> Response:
    api.logger.append_keys(query={})
    return json_response(200, api.health_body)


# The route table: the handler serves exactly these, and API Gateway forwards everything.
ROUTES: dict[tuple[str, str], Callable[[NearestStoreApi, Any], Any]] = {
    ("GET", "/"): _nearest,
    ("POST", "/"): _nearest_batch,
    ("GET", "/health"): _health,
}


def allowed_methods(path: str) -> list[str]:
    return [method for method, route_path in ROUTES if route_path == path]


def cors_policy(allow_origins: tuple[str, ...] = ("*",)) -> CorsPolicy:
    """The CORS policy of this API (the methods its routes answer, the headers it sends)."""
    methods = tuple(dict.fromkeys(method for method, _ in ROUTES))
    return CorsPolicy(
        allow_origins=tuple(allow_origins),
        allow_methods=methods,
        expose_headers=(MODEL_VERSION_HEADER.lower(),),
    )


def route_label(method: Any, path: Any) -> str:
    """The route a request took, for metrics: "GET /" and the like, or "other"."""
    if isinstance(method, str) and isinstance(path, str) and (method.upper(), path) in ROUTES:
        return f"{method.upper()} {path}"
    return OTHER_ROUTE


def local_model_version(metadata: dict) -> str:
    """The model version of an artifact run outside a serving image (which records the
    build's MODEL_VERSION): named after its data, so other data is another version."""
    return f"local-{str(metadata.get('data_sha256', 'unknown'))[:12]}"


class NearestStoreApi:
    """Routes, validation, errors and request logging around one loaded model."""

    def __init__(
        self,
        model: NearestStoreModel,
        *,
        model_version: str | None = None,
        logger: Logger | None = None,
        metrics: RequestMetrics | None = None,
    ):
        self.model = model
        self.model_version = model_version or local_model_version(model.metadata)
        self.records = response.StoreRecords.from_table(model.stores)
        self.logger = logger or make_logger()
        self.metrics = metrics or RequestMetrics(service=self.logger.service)
        self.max_k = min(MAX_K, len(model))
        self.page = page.StorePage(model.stores.latitude, model.stores.longitude, max_k=self.max_k)
        # The health answer never changes: serialise it once.
        health = response.health_answer({"model_version": self.model_version, **model.metadata})
        self.health_body = json.dumps(health, separators=_JSON_SEPARATORS)
        # debug=False: POWERTOOLS_DEV must never put a traceback in an answer
        self.app = APIGatewayHttpResolver(debug=False)
        self._register()
        self.handler = self.logger.inject_lambda_context(
            self._handle,
            log_event=False,
            correlation_id_path=correlation_paths.API_GATEWAY_HTTP,
            clear_state=True,  # the previous request's query and error are not carried over
        )

    def _handle(self, event: dict, context: Any) -> dict:
        started = time.perf_counter()
        try:
            answer = self.app.resolve(event, context)
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
            route=route_label(method, path),
            status=status if isinstance(status, int) else 500,
            latency_ms=latency_ms,
            model_version=self.model_version,
            start="restore" if environment["restored"] else environment["init_type"] or "on-demand",
        )

    def warm_up(self) -> None:
        """Answer one real query of each kind end to end, so the first request pays no first-use costs."""
        lat, lon = float(self.model.stores.latitude[0]), float(self.model.stores.longitude[0])
        get = {
            "version": "2.0",
            "rawPath": "/",
            "rawQueryString": f"lat={lat}&long={lon}",
            "headers": {},
            "queryStringParameters": {"lat": str(lat), "long": str(lon)},
            "requestContext": {"http": {"method": "GET", "path": "/"}, "stage": "$default"},
            "isBase64Encoded": False,
        }
        post = {
            **get,
            "rawQueryString": "",
            "queryStringParameters": None,
            "requestContext": {"http": {"method": "POST", "path": "/"}, "stage": "$default"},
            "body": json.dumps({"points": [[lat, lon], [lon / 2, lat]]}),
        }
        for event in (get, post):
            answer = self.app.resolve(event, LocalContext())
            if answer["statusCode"] != 200:
                raise RuntimeError(f"the warm-up query failed: {answer['statusCode']} {answer['body']}")
        self.logger.clear_state()  # the warm-up queries are not requests: log none of their keys
        self.metrics.discard()

    def _register(self) -> None:
        app = self.app
        for (method, path), route in ROUTES.items():
            app.route(path, method)(lambda route=route: route(self, app.current_event))

        @app.exception_handler(params.ClientError)
        def client_error(exc: params.ClientError) -> Response:
            self.logger.append_keys(error=exc.message)
            return json_response(exc.status, response.error_answer(exc.message), exc.headers)

        @app.exception_handler(InvalidQuery)
        def invalid_query(exc: InvalidQuery) -> Response:
            return client_error(params.ClientError(400, str(exc)))

        @app.not_found
        def not_found(_exc: Exception) -> Response:
            path, method = app.current_event.path, app.current_event.http_method
            allowed = allowed_methods(path)
            if allowed and method == "OPTIONS":
                # A preflight that API Gateway forwarded (the catch-all route takes OPTIONS
                # too): 204, and API Gateway adds its CORS headers (CorsPolicy).
                return Response(status_code=204, body="", headers={"Allow": ", ".join(allowed)})
            return client_error(_no_route(path, method, allowed))

        @app.exception_handler(Exception)
        def internal_error(exc: Exception) -> Response:
            self.logger.exception("unhandled error")
            return json_response(500, _INTERNAL_ERROR)


def _no_route(path: str, method: str, allowed: list[str]) -> params.ClientError:
    if not allowed:
        return params.ClientError(
            404, f"no such path {params.show(path, 100)}; the API serves {params.USAGE}"
        )
    return params.ClientError(
        405,
        f"method {params.show(method)} is not allowed on {path}; allowed: {', '.join(allowed)}",
        headers={"Allow": ", ".join(allowed)},
    )


def _request_http(event: Any) -> dict:
    """requestContext.http of an event, or {} (for logging, whatever the event holds)."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    http = context.get("http") if isinstance(context, dict) else None
    return http if isinstance(http, dict) else {}


def create_api(model: NearestStoreModel, *, tracing: bool = False, **kwargs) -> NearestStoreApi:
    """The API around `model`, warmed up: `create_api(model).handler(event, context)`.

    `tracing`: X-Ray subsegments with Powertools Tracer (the image must carry the tracing
    library); off, no tracing library is imported.
    """
    api = NearestStoreApi(model, **kwargs)
    if tracing:
        from aws_lambda_powertools import Tracer

        api.handler = Tracer(service=api.logger.service).capture_lambda_handler(api.handler)
    started = time.perf_counter()
    api.warm_up()
    api.logger.info(
        "ready",
        extra={
            "store_count": len(model),
            "data_sha256": model.metadata.get("data_sha256"),
            "model_version": api.model_version,
            "warm_up_ms": round((time.perf_counter() - started) * 1e3, 3),
        },
    )
    return api
