"""API Gateway HTTP API payload-2.0 events: the recorded fixtures in tests/events/ and
builders of new ones from them (so every event has the shape API Gateway sends)."""

from __future__ import annotations

import base64
import copy
import json
from urllib.parse import urlencode

import numpy as np

from tests.support import REPO_ROOT

EVENTS_DIR = REPO_ROOT / "tests" / "events"


def load_event(name: str) -> dict:
    return json.loads((EVENTS_DIR / f"{name}.json").read_text())


def event_files() -> set[str]:
    return {path.stem for path in EVENTS_DIR.glob("*.json")}


def with_body(event: dict, body: str, *, base64_encoded: bool = False) -> dict:
    event = copy.deepcopy(event)
    event["body"] = body
    event["isBase64Encoded"] = base64_encoded
    return event


def get_event(query: dict[str, str] | None, *, origin: str | None = None) -> dict:
    """GET / with these query parameters (None: no query string at all)."""
    event = load_event("get_nearest")
    if query is None:
        event.pop("queryStringParameters")
    else:
        event["queryStringParameters"] = dict(query)
    event["rawQueryString"] = urlencode(query or {}, safe=",:+")
    if origin:
        event["headers"]["origin"] = origin
    return event


def point_event(lat: float, lon: float, k: int | None = None) -> dict:
    """GET / for one point (repr keeps every digit)."""
    query = {"lat": repr(float(lat)), "long": repr(float(lon))}
    if k is not None:
        query["k"] = str(k)
    return get_event(query)


def post_event(body, *, base64_encoded: bool = False) -> dict:
    """POST / with `body`: text as it is, anything else as JSON."""
    text = body if isinstance(body, str) else json.dumps(body)
    if base64_encoded:
        text = base64.b64encode(text.encode()).decode()
    return with_body(load_event("post_batch"), text, base64_encoded=base64_encoded)


def points_event(points) -> dict:
    """POST / {"points": points} (pairs of numbers)."""
    return post_event({"points": [[float(a), float(b)] for a, b in points]})


def grid_points(n: int, seed: int = 7) -> list[list[float]]:
    """n reproducible points spread over the contiguous US and beyond."""
    rng = np.random.default_rng(seed)
    return np.column_stack((rng.uniform(15, 65, n), rng.uniform(-170, -50, n))).round(6).tolist()
