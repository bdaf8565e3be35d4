"""Reading a request's input: the query string of GET / and the body of POST /.

Plain functions over plain values (no event, no framework): each returns the validated
input or raises `ClientError` with the status and a message that says what is wrong and
what is allowed. Input is validated here, once, at the edge.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np

from serving.inputs import MAX_BODY_BYTES, ClientError, body_text, describe, json_document, json_type, show

from .geo import LATITUDE_RANGE, LONGITUDE_RANGE
from .numbers import DECIMAL

MAX_POINTS = 10_000  # per POST request
LATITUDE_PARAMETER = "lat"
LONGITUDE_PARAMETERS = ("long", "lng", "lon")  # the first is the documented name
USAGE = 'GET /?lat=<deg>&long=<deg>[&k=1..20], POST / {"points": [[lat, long], ...]} or GET /health'
POINTS_SHAPE = '{"points": [[lat, long], ...]}'

_INTEGER = re.compile(r"[+]?[0-9]+")


@dataclass(frozen=True)
class NearestQuery:
    latitude: float
    longitude: float
    k: int = 1
    # what the request log records of this query
    log: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "log", {"lat": self.latitude, "long": self.longitude, "k": self.k})


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


def batch_request(body: Any, *, base64_encoded: bool) -> tuple[np.ndarray, np.ndarray]:
    """(latitudes, longitudes) of a POST / body (text or base64, within MAX_BODY_BYTES)."""
    expected = f"a JSON object {POINTS_SHAPE}"
    text = body_text(
        body,
        base64_encoded=base64_encoded,
        expected=expected,
        max_bytes=MAX_BODY_BYTES,
        too_large_hint=f"send at most {MAX_POINTS:,} points",
    )
    return batch_points(json_document(text, expected=expected))


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
                400, f"points[{i}] must be a [lat, long] pair of numbers, got {describe(point)}"
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


# --- the same, described (the OpenAPI document, GET /openapi.json) ------------------------


def _degrees(label: str, bounds: tuple[float, float]) -> dict:
    low, high = bounds
    return {
        "type": "number",
        "minimum": low,
        "maximum": high,
        "description": f"the {label} in decimal degrees",
    }


def nearest_parameters(max_k: int) -> list[dict]:
    """The query parameters nearest_query reads, as OpenAPI Parameter Objects."""
    other_names = " and ".join(f"`{name}`" for name in LONGITUDE_PARAMETERS[1:])
    return [
        {
            "name": LATITUDE_PARAMETER,
            "in": "query",
            "required": True,
            "schema": _degrees("latitude", LATITUDE_RANGE),
        },
        {
            "name": LONGITUDE_PARAMETERS[0],
            "in": "query",
            "required": True,
            "description": f"{other_names} are accepted as other names for it (give one of them)",
            "schema": _degrees("longitude", LONGITUDE_RANGE),
        },
        {
            "name": "k",
            "in": "query",
            "required": False,
            "description": "how many stores, nearest first",
            "schema": {"type": "integer", "minimum": 1, "maximum": max_k, "default": 1},
        },
    ]


def batch_body_schema() -> dict:
    """JSON Schema of the body batch_request reads (at most MAX_BODY_BYTES of it)."""
    pair = {
        "type": "array",
        "prefixItems": [_degrees("latitude", LATITUDE_RANGE), _degrees("longitude", LONGITUDE_RANGE)],
        "minItems": 2,
        "maxItems": 2,
    }
    return {
        "type": "object",
        "required": ["points"],
        "properties": {"points": {"type": "array", "items": pair, "minItems": 1, "maxItems": MAX_POINTS}},
        "description": f"at most {MAX_BODY_BYTES:,} bytes; other keys are ignored",
    }
