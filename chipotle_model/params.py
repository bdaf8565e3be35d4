"""Reading a request's input: the query string of GET / and the body of POST /.

Plain functions over plain values (no event, no framework): each returns the validated
input or raises `ClientError` with the status and a message that says what is wrong and
what is allowed. Input is validated here, once, at the edge.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np

from .geo import LATITUDE_RANGE, LONGITUDE_RANGE

MAX_POINTS = 10_000  # per POST request
MAX_BODY_BYTES = 1_000_000  # 1 MB, after base64 decoding
LATITUDE_PARAMETER = "lat"
LONGITUDE_PARAMETERS = ("long", "lng", "lon")  # the first is the documented name
USAGE = 'GET /?lat=<deg>&long=<deg>[&k=1..20], POST / {"points": [[lat, long], ...]} or GET /health'
POINTS_SHAPE = '{"points": [[lat, long], ...]}'

# The number grammar of the API, and of the data (chipotle_model.data): plain ASCII decimals.
DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+]?[0-9]+")


class ClientError(Exception):
    """Input the API cannot answer: answered with `status` and {"error": message}."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class NearestQuery:
    latitude: float
    longitude: float
    k: int = 1
    # what the request log records of this query
    log: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "log", {"lat": self.latitude, "long": self.longitude, "k": self.k})


def show(value: str, limit: int = 40) -> str:
    """A client-supplied value, quoted and shortened, for an error message."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


# --- GET / -------------------------------------------------------------------------------


def nearest_query(params: Mapping[str, Any] | None, *, max_k: int) -> NearestQuery:
    """`lat`, `long` (or `lng`/`lon`) and optional `k` from API Gateway's query parameters
    (a repeated parameter arrives as one value joined with commas)."""
    params = params or {}
    if not isinstance(params, Mapping):
        raise ClientError(400, "malformed query string")
    return NearestQuery(
        latitude=_coordinate(params, (LATITUDE_PARAMETER,), "latitude", LATITUDE_RANGE),
        longitude=_coordinate(params, LONGITUDE_PARAMETERS, "longitude", LONGITUDE_RANGE),
        k=_k(params, max_k),
    )


def _single(params: Mapping[str, Any], name: str) -> str:
    raw = params[name]
    if not isinstance(raw, str):
        raise ClientError(400, f"query parameter '{name}' is malformed")
    if "," in raw:
        raise ClientError(
            400,
            f"query parameter '{name}' must be given once, got {show(raw)} "
            "(a repeated parameter arrives joined with commas; write decimals with a point, like 39.1)",
        )
    return raw.strip()


def _coordinate(params: Mapping[str, Any], names: tuple[str, ...], label: str, bounds) -> float:
    given = [name for name in names if name in params]
    spelled = " or ".join(f"'{name}'" for name in names)
    if not given:
        raise ClientError(
            400, f"missing query parameter {spelled}: the {label} in decimal degrees; usage: {USAGE}"
        )
    if len(given) > 1:
        raise ClientError(400, f"give the {label} once, as one of {spelled}; got {', '.join(given)}")
    name = given[0]
    raw = _single(params, name)
    low, high = bounds
    expected = f"a {label} in decimal degrees from {low:g} to {high:g}"
    if not raw:
        raise ClientError(400, f"query parameter '{name}' is empty; expected {expected}")
    value = float(raw) if DECIMAL.fullmatch(raw) else math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise ClientError(400, f"query parameter '{name}' must be {expected}, got {show(raw)}")
    return value


def _k(params: Mapping[str, Any], max_k: int) -> int:
    if "k" not in params:
        return 1
    raw = _single(params, "k")
    if not _INTEGER.fullmatch(raw) or len(raw) > 6 or not 1 <= int(raw) <= max_k:
        raise ClientError(400, f"query parameter 'k' must be an integer from 1 to {max_k}, got {show(raw)}")
    return int(raw)


# --- POST / ------------------------------------------------------------------------------


def body_text(body: Any, *, base64_encoded: bool) -> str:
    """The request body as text, within MAX_BODY_BYTES (API Gateway base64-encodes
    bodies it does not consider text)."""
    if body is None or body == "":
        raise ClientError(400, f"the request body is empty; expected a JSON object {POINTS_SHAPE}")
    if not isinstance(body, str):
        raise ClientError(400, f"the request body is malformed; expected a JSON object {POINTS_SHAPE}")
    too_large = ClientError(
        413, f"the request body is over {MAX_BODY_BYTES:,} bytes; send at most {MAX_POINTS:,} points"
    )
    if not base64_encoded:
        if len(body) > MAX_BODY_BYTES or (
            not body.isascii() and len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES
        ):
            raise too_large
        return body
    if len(body) > 4 * (MAX_BODY_BYTES // 3 + 1):
        raise too_large
    try:
        data = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ClientError(400, "the request body is marked base64-encoded but is not valid base64") from None
    if len(data) > MAX_BODY_BYTES:
        raise too_large
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ClientError(
            400, f"the request body is not UTF-8 text; expected a JSON object {POINTS_SHAPE}"
        ) from None


def json_document(text: str) -> Any:
    """Parse JSON text strictly (no NaN or Infinity)."""
    expected = f"expected a JSON object {POINTS_SHAPE}"
    if not text.strip():
        raise ClientError(400, f"the request body is empty; {expected}")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ClientError(
            400,
            f"the request body is not valid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno}); {expected}",
        ) from None
    except ValueError as exc:  # NaN, Infinity, or an integer longer than Python converts
        if "digits" in str(exc):
            raise ClientError(400, f"a number in the request body has too many digits; {expected}") from None
        raise ClientError(400, f"the request body is not valid JSON ({exc}); {expected}") from None
    except RecursionError:
        raise ClientError(400, f"the request body is nested too deeply; {expected}") from None


def batch_points(document: Any) -> tuple[np.ndarray, np.ndarray]:
    """(latitudes, longitudes) of a `{"points": [[lat, long], ...]}` document."""
    if not isinstance(document, dict):
        raise ClientError(
            400, f"the request body must be a JSON object {POINTS_SHAPE}, got a JSON {json_type(document)}"
        )
    if "points" not in document:
        raise ClientError(400, f"the request body has no 'points'; expected {POINTS_SHAPE}")
    points = document["points"]
    if not isinstance(points, list):
        raise ClientError(
            400, f"'points' must be a list of [lat, long] pairs, got a JSON {json_type(points)}"
        )
    if not points:
        raise ClientError(400, f"'points' is empty; give 1 to {MAX_POINTS:,} [lat, long] pairs")
    if len(points) > MAX_POINTS:
        raise ClientError(413, f"too many points: {len(points):,}; at most {MAX_POINTS:,} per request")
    return _point_arrays(points)


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
            raise ClientError(
                400, f"points[{i}] must be a [lat, long] pair of numbers, got {_describe(point)}"
            )
        for name, value in zip(("latitude", "longitude"), point):
            if type(value) not in (int, float):
                raise ClientError(400, f"points[{i}] {name} must be a number, got a JSON {json_type(value)}")
            try:
                float(value)
            except OverflowError:
                raise ClientError(
                    400, f"points[{i}] {name} is out of range, got {show(str(value))}"
                ) from None
    raise ClientError(400, "'points' must be a list of [lat, long] pairs of numbers")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _describe(value: Any) -> str:
    """A parsed JSON value, briefly, for an error message."""
    if isinstance(value, list):
        return f"a JSON array of {len(value)} item{'' if len(value) == 1 else 's'}"
    if isinstance(value, dict):
        return f"a JSON object with {len(value)} key{'' if len(value) == 1 else 's'}"
    return show(json.dumps(value))


def json_type(value: Any) -> str:
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
