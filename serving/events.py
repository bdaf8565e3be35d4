"""API Gateway HTTP API (payload 2.0) events, built the way API Gateway builds them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode


def http_event(
    method: str,
    path: str = "/",
    *,
    query: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> dict:
    """A payload-2.0 event of one request: `query` as decoded parameters, `body` as JSON
    (a str is sent as it is)."""
    text = body if body is None or isinstance(body, str) else json.dumps(body)
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {name.lower(): value for name, value in (headers or {}).items()},
        "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"},
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if text is not None:
        event["body"] = text
    return event
