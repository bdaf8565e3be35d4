"""The HTTP API: API Gateway HTTP API (payload 2.0) events in, JSON responses out.

    GET  /?lat=<deg>&long=<deg>[&k=<1..20>]   the k nearest stores (`lng`/`lon` = `long`)
    POST /  {"points": [[lat, long], ...]}      the nearest store to each point, in order
    GET  /health                                the model's metadata

`NearestStoreApi(model).handler` is a complete Lambda handler; the Lambda entry
(lambda_image/handler.py) and the local server (chipotle_model.server) both call it,
so the code that answers in AWS is the code that answers on a laptop. Nothing here
needs AWS: the tests feed it the events API Gateway sends.

Bad client input always gets a 4xx with a JSON body {"error": "..."} saying what is
wrong and what is allowed; an unexpected failure gets a 500 {"error": "internal error"}
(no traceback) and is logged with its traceback.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import (
    APIGatewayHttpResolver,
    CORSConfig,
    Response,
)
from aws_lambda_powertools.logging import correlation_paths

from .geo import LATITUDE_RANGE, LONGITUDE_RANGE, InvalidQuery
from .model import MAX_K, NearestStoreModel

MAX_POINTS = 10_000  # per POST request
MAX_BODY_BYTES = 1_000_000  # 1 MB, after base64 decoding
LATITUDE_PARAMETER = "lat"
LONGITUDE_PARAMETERS = ("long", "lng", "lon")  # the first is the documented name
DEFAULT_SERVICE_NAME = "nearest-store"
DEFAULT_TASK_ROOT = "/var/task"  # LAMBDA_TASK_ROOT of the Lambda base images
ARTIFACT_IN_TASK_ROOT = "model/model.joblib"
JSON_CONTENT_TYPE = "application/json"
# Known paths and the methods each answers: any other method there is a 405, any other path a 404.
ROUTES = {"/": ("GET", "POST"), "/health": ("GET",)}
USAGE = 'GET /?lat=<deg>&long=<deg>[&k=1..20], POST / {"points": [[lat, long], ...]} or GET /health'

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+]?[0-9]+")
_INTERNAL_ERROR_BODY = json.dumps({"error": "internal error"})
_JSON_SEPARATORS = (",", ":")


def model_path(environ: Any = None) -> str:
    """Where the handler loads the model from: $MODEL_PATH, else the serving image's artifact.

    The default, <LAMBDA_TASK_ROOT or /var/task>/model/model.joblib, is where the serving
    image's Dockerfile puts the artifact (infra.build_spec.SERVING_MODEL_PATH; a test
    keeps the two equal).
    """
    environ = os.environ if environ is None else environ
    explicit = environ.get("MODEL_PATH")
    if explicit:
        return explicit
    root = (environ.get("LAMBDA_TASK_ROOT") or DEFAULT_TASK_ROOT).rstrip("/")
    return f"{root}/{ARTIFACT_IN_TASK_ROOT}"


def cors_origins(value: str | None = None) -> list[str]:
    """The allowed CORS origins: comma-separated CORS_ALLOW_ORIGINS, default `*`."""
    if value is None:
        value = os.environ.get("CORS_ALLOW_ORIGINS", "*")
    origins = [origin.strip() for origin in value.split(",") if origin.strip()]
    return origins or ["*"]


def make_logger(service: str | None = None, **kwargs) -> Logger:
    """A structured JSON logger; service from POWERTOOLS_SERVICE_NAME, level from LOG_LEVEL."""
    service = service or os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE_NAME
    return Logger(service=service, **kwargs)


@dataclass
class LocalContext:
    """A stand-in for the Lambda context object, for the local server and tests."""

    function_name: str = "nearest-store-local"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:local:000000000000:function:nearest-store-local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class ApiError(Exception):
    """A client error: answered with `status` and {"error": message}."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status, content_type=JSON_CONTENT_TYPE, body={"error": message}, headers=headers
    )


def _show(value: str, limit: int = 40) -> str:
    """A client-supplied value, quoted and shortened, for an error message."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


class NearestStoreApi:
    """Routes, validation, CORS, errors and request logging around one loaded model."""

    def __init__(
        self,
        model: NearestStoreModel,
        *,
        allow_origins: list[str] | None = None,
        logger: Logger | None = None,
    ):
        self.model = model
        self.logger = logger or make_logger()
        self.max_k = min(MAX_K, len(model))
        origins = allow_origins or cors_origins()
        self.cors = CORSConfig(allow_origin=origins[0], extra_origins=origins[1:], max_age=600)
        # debug=False: POWERTOOLS_DEV must never put a traceback in a response
        self.app = APIGatewayHttpResolver(cors=self.cors, debug=False)
        # The query and client error of the request being answered, for its log line.
        self._query: dict[str, Any] | None = None
        self._error: str | None = None
        # The health answer never changes: serialise it once.
        self._health_body = json.dumps({"status": "ok", **model.metadata}, separators=_JSON_SEPARATORS)
        self._register()
        self.handler = self.logger.inject_lambda_context(
            self._handle,
            log_event=False,
            correlation_id_path=correlation_paths.API_GATEWAY_HTTP,
            clear_state=True,
        )

    # --- Lambda entry -------------------------------------------------------------

    def _handle(self, event: dict, context: Any) -> dict:
        self._query = self._error = None
        started = time.perf_counter()
        try:
            response = self.app.resolve(event, context)
        except Exception:  # the resolver's own handlers failed: still answer in JSON
            self.logger.exception("unhandled error outside the routes")
            response = {
                "statusCode": 500,
                "headers": {"Content-Type": JSON_CONTENT_TYPE},
                "body": _INTERNAL_ERROR_BODY,
                "isBase64Encoded": False,
            }
        latency_ms = round((time.perf_counter() - started) * 1e3, 3)
        http = _request_http(event)
        self.logger.info(
            "request",
            extra={
                "method": http.get("method"),
                "path": http.get("path") if isinstance(http.get("path"), str) else None,
                "status": response.get("statusCode"),
                "latency_ms": latency_ms,
                "query": self._query,
                "error": self._error,
            },
        )
        return response

    def warm_up(self) -> None:
        """Answer one real query end to end, so the first request pays no first-use costs."""
        lat, lon = self.model.stores.latitude[0], self.model.stores.longitude[0]
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/",
            "rawQueryString": f"lat={lat}&long={lon}",
            "headers": {"origin": "https://warm-up.invalid"},
            "queryStringParameters": {"lat": str(lat), "long": str(lon)},
            "requestContext": {"http": {"method": "GET", "path": "/"}, "stage": "$default"},
            "isBase64Encoded": False,
        }
        batch = {
            **event,
            "rawQueryString": "",
            "queryStringParameters": None,
            "requestContext": {"http": {"method": "POST", "path": "/"}, "stage": "$default"},
            "body": json.dumps({"points": [[lat, lon], [lon / 2, lat]]}),
        }
        for warm_up_event in (event, batch):
            response = self.app.resolve(warm_up_event, LocalContext())
            if response["statusCode"] != 200:
                raise RuntimeError(f"the warm-up query failed: {response['statusCode']} {response['body']}")

    # --- routes ---------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app

        @app.get("/")
        def nearest() -> dict:
            params = app.current_event.query_string_parameters or {}
            if not isinstance(params, dict):
                raise ApiError(400, "malformed query string")
            lat = self._coordinate(params, (LATITUDE_PARAMETER,), "latitude", LATITUDE_RANGE)
            lon = self._coordinate(params, LONGITUDE_PARAMETERS, "longitude", LONGITUDE_RANGE)
            k = self._k(params)
            self._query = {"lat": lat, "long": lon, "k": k}
            stores = self.model.nearest(lat, lon, k)
            return {
                "query": {"latitude": lat, "longitude": lon, "k": k},
                "nearest": stores[0],
                "stores": stores,
            }

        @app.post("/")
        def nearest_batch() -> dict:
            points = self._points(self._json_body())
            self._query = {"points": len(points)}
            latitudes, longitudes = self._point_arrays(points)
            return {"results": self.model.nearest_batch(latitudes, longitudes)}

        @app.get("/health")
        def health() -> Response:
            self._query = {}
            return Response(status_code=200, content_type=JSON_CONTENT_TYPE, body=self._health_body)

        @app.exception_handler(ApiError)
        def api_error(exc: ApiError) -> Response:
            self._error = exc.message
            return error_response(exc.status, exc.message, exc.headers)

        @app.not_found
        def not_found(_exc: Exception) -> Response:
            path = app.current_event.path
            allowed = ROUTES.get(path)
            if allowed:
                method = app.current_event.http_method
                return api_error(
                    ApiError(
                        405,
                        f"method {_show(method)} is not allowed on {path}; allowed: {', '.join(allowed)}",
                        headers={"Allow": ", ".join((*allowed, "OPTIONS"))},
                    )
                )
            return api_error(ApiError(404, f"no such path {_show(path, 100)}; the API serves {USAGE}"))

        @app.exception_handler(InvalidQuery)
        def invalid_query(exc: InvalidQuery) -> Response:
            self._error = str(exc)
            return error_response(400, str(exc))

        @app.exception_handler(Exception)
        def internal_error(exc: Exception) -> Response:
            self.logger.exception("unhandled error")
            return Response(status_code=500, content_type=JSON_CONTENT_TYPE, body=_INTERNAL_ERROR_BODY)

    # --- GET / parameters -------------------------------------------------------------

    @staticmethod
    def _single(params: dict, name: str) -> str:
        raw = params[name]
        if not isinstance(raw, str):
            raise ApiError(400, f"query parameter '{name}' is malformed")
        if "," in raw:
            raise ApiError(
                400,
                f"query parameter '{name}' must be given once, got {_show(raw)} "
                "(a repeated parameter arrives joined with commas)",
            )
        return raw.strip()

    def _coordinate(self, params: dict, names: tuple[str, ...], label: str, bounds) -> float:
        given = [name for name in names if name in params]
        spelled = " or ".join(f"'{name}'" for name in names)
        if not given:
            raise ApiError(
                400, f"missing query parameter {spelled}: the {label} in decimal degrees; usage: {USAGE}"
            )
        if len(given) > 1:
            raise ApiError(400, f"give the {label} once, as one of {spelled}; got {', '.join(given)}")
        name = given[0]
        raw = self._single(params, name)
        low, high = bounds
        expected = f"a {label} in decimal degrees from {low:g} to {high:g}"
        if not raw:
            raise ApiError(400, f"query parameter '{name}' is empty; expected {expected}")
        if not _DECIMAL.fullmatch(raw):
            raise ApiError(400, f"query parameter '{name}' must be {expected}, got {_show(raw)}")
        value = float(raw)
        if not math.isfinite(value) or not low <= value <= high:
            raise ApiError(400, f"query parameter '{name}' must be {expected}, got {_show(raw)}")
        return value

    def _k(self, params: dict) -> int:
        expected = f"an integer from 1 to {self.max_k}"
        if "k" not in params:
            return 1
        raw = self._single(params, "k")
        if not _INTEGER.fullmatch(raw) or len(raw) > 6 or not 1 <= int(raw) <= self.max_k:
            raise ApiError(400, f"query parameter 'k' must be {expected}, got {_show(raw)}")
        return int(raw)

    # --- POST / body ----------------------------------------------------------------------

    def _json_body(self) -> Any:
        event = self.app.current_event
        body = event.body
        shape = 'expected a JSON object {"points": [[lat, long], ...]}'
        if body is None or body == "":
            raise ApiError(400, f"the request body is empty; {shape}")
        if not isinstance(body, str):
            raise ApiError(400, f"the request body is malformed; {shape}")
        too_large = ApiError(
            413, f"the request body is over {MAX_BODY_BYTES:,} bytes; send at most {MAX_POINTS:,} points"
        )
        if event.is_base64_encoded:
            if len(body) > 4 * (MAX_BODY_BYTES // 3 + 1):
                raise too_large
            try:
                data = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                raise ApiError(
                    400, "the request body is marked base64-encoded but is not valid base64"
                ) from None
            if len(data) > MAX_BODY_BYTES:
                raise too_large
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise ApiError(400, f"the request body is not UTF-8 text; {shape}") from None
        else:
            if len(body) > MAX_BODY_BYTES or (
                not body.isascii() and len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES
            ):
                raise too_large
            text = body
        if not text.strip():
            raise ApiError(400, f"the request body is empty; {shape}")
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as exc:
            raise ApiError(
                400,
                f"the request body is not valid JSON ({exc.msg} at line {exc.lineno} "
                f"column {exc.colno}); {shape}",
            ) from None
        except ValueError as exc:  # NaN / Infinity
            raise ApiError(400, f"the request body is not valid JSON ({exc}); {shape}") from None
        except RecursionError:
            raise ApiError(400, f"the request body is nested too deeply; {shape}") from None

    @staticmethod
    def _points(document: Any) -> list:
        shape = '{"points": [[lat, long], ...]}'
        if not isinstance(document, dict):
            raise ApiError(
                400, f"the request body must be a JSON object {shape}, got a JSON {_json_type(document)}"
            )
        if "points" not in document:
            raise ApiError(400, f"the request body has no 'points'; expected {shape}")
        points = document["points"]
        if not isinstance(points, list):
            raise ApiError(
                400, f"'points' must be a list of [lat, long] pairs, got a JSON {_json_type(points)}"
            )
        if not points:
            raise ApiError(400, f"'points' is empty; give 1 to {MAX_POINTS:,} [lat, long] pairs")
        if len(points) > MAX_POINTS:
            raise ApiError(413, f"too many points: {len(points):,}; at most {MAX_POINTS:,} per request")
        return points

    @staticmethod
    def _point_arrays(points: list) -> tuple[np.ndarray, np.ndarray]:
        """Check every point is a [number, number] pair and return (latitudes, longitudes).

        The checks run in C (map/set over the list, then numpy); only a bad request pays
        for the Python loop that finds and names the first bad point.
        """
        try:
            if (
                set(map(type, points)) == {list}
                and set(map(len, points)) == {2}
                and set(map(type, chain.from_iterable(points))) <= {int, float}
            ):
                array = np.array(points, dtype=np.float64)
                return array[:, 0], array[:, 1]
        except (OverflowError, ValueError, TypeError):
            pass
        for i, point in enumerate(points):
            if not isinstance(point, list) or len(point) != 2:
                raise ApiError(
                    400, f"points[{i}] must be a [lat, long] pair of numbers, got {_describe(point)}"
                )
            for name, value in zip(("latitude", "longitude"), point):
                if type(value) not in (int, float):
                    raise ApiError(
                        400, f"points[{i}] {name} must be a number, got a JSON {_json_type(value)}"
                    )
                try:
                    float(value)
                except OverflowError:
                    raise ApiError(
                        400, f"points[{i}] {name} is out of range, got {_show(str(value))}"
                    ) from None
        raise ApiError(400, "'points' must be a list of [lat, long] pairs of numbers")


def _request_http(event: Any) -> dict:
    """requestContext.http of an event, or {} (for logging, whatever the event holds)."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    http = context.get("http") if isinstance(context, dict) else None
    return http if isinstance(http, dict) else {}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _describe(value: Any) -> str:
    """A parsed JSON value, briefly, for an error message."""
    if isinstance(value, list):
        return f"a JSON array of {len(value)} item{'' if len(value) == 1 else 's'}"
    if isinstance(value, dict):
        return f"a JSON object with {len(value)} key{'' if len(value) == 1 else 's'}"
    return _show(json.dumps(value))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def create_api(model: NearestStoreModel, **kwargs) -> NearestStoreApi:
    """The API around `model`, warmed up: `create_api(model).handler(event, context)`."""
    api = NearestStoreApi(model, **kwargs)
    started = time.perf_counter()
    api.warm_up()
    api.logger.info(
        "ready",
        extra={
            "store_count": len(model),
            "data_sha256": model.metadata.get("data_sha256"),
            "warm_up_ms": round((time.perf_counter() - started) * 1e3, 3),
        },
    )
    return api
