"""The page for people who open the API's URL in a browser.

`GET /` without coordinates, from a client that prefers `text/html` to JSON (a browser's
address bar), gets one self-contained HTML page (`page.html`: inline script and style,
the stores' coordinates inline, nothing loaded from anywhere else), sent under a strict
Content-Security-Policy that allows exactly its own script and style (by hash) and
requests to its own origin. The page calls the JSON API with relative URLs, so it works
the same on the local server and on the deployed URL. Every other request gets the JSON
API's answer unchanged: curl (`*/*`), `Accept: application/json`, any request with a
coordinate parameter, POST.

The page is built once per process, on the first request for it: INIT does not pay for it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Response

from .params import LATITUDE_PARAMETER, LONGITUDE_PARAMETERS

TEMPLATE_PATH = Path(__file__).with_name("page.html")
HTML_CONTENT_TYPE = "text/html; charset=utf-8"
# The map draws at most this many stores (an even sample beyond it), so the page stays
# small for any data set: 2 decimals (about 1 km) is finer than a map pixel.
MAX_MAP_POINTS = 10_000
MAP_DECIMALS = 2
DEFAULT_K = 3
COORDINATE_PARAMETERS = (LATITUDE_PARAMETER, *LONGITUDE_PARAMETERS)
_INLINE = r"<(script|style)>(.*?)</\1>"  # compiled on first use: not at INIT


def accept_quality(accept: str, media_type: str) -> float:
    """The quality an Accept header gives `media_type`: that of its most specific
    matching range (`type/subtype` over `type/*` over `*/*`), 0 when none matches."""
    kind = media_type.split("/")[0]
    specificity_of = {media_type: 2, f"{kind}/*": 1, "*/*": 0}
    best_specificity, best_quality = -1, 0.0
    for item in accept.split(","):
        media_range, *parameters = (part.strip() for part in item.split(";"))
        specificity = specificity_of.get(media_range.lower(), -1)
        if specificity <= best_specificity:
            continue
        best_specificity, best_quality = specificity, _quality(parameters)
    return best_quality


def _quality(parameters: Sequence[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def wants_page(request: Any) -> bool:
    """Whether a GET / (a Powertools event) is a browser asking for the page: no coordinate
    parameter, and an Accept header that prefers HTML to JSON (`*/*` alone, curl's default,
    is a tie: JSON)."""
    query = request.query_string_parameters or {}
    if any(name in query for name in COORDINATE_PARAMETERS):
        return False  # decided before the headers are read: the API's own requests pay nothing
    accept = request.headers.get("accept") or ""
    return accept_quality(accept, "text/html") > accept_quality(accept, "application/json")


def map_points(latitudes: Sequence[float], longitudes: Sequence[float]) -> list[float]:
    """The stores to draw, as one flat [lat, long, lat, long, ...] list."""
    step = -(-len(latitudes) // MAX_MAP_POINTS) or 1  # ceiling division: an even sample
    points: list[float] = []
    for lat, lon in zip(latitudes[::step], longitudes[::step]):
        points += (round(float(lat), MAP_DECIMALS), round(float(lon), MAP_DECIMALS))
    return points


def render(template: str, *, points: Sequence[float], store_count: int, max_k: int) -> str:
    """The page: the template with the store points, the store count and the choices of k."""
    k_options = "".join(
        f"<option{' selected' if k == min(DEFAULT_K, max_k) else ''}>{k}</option>"
        for k in range(1, max_k + 1)
    )
    values = {
        "{{STORE_POINTS}}": json.dumps(list(points), separators=(",", ":")),
        "{{STORE_COUNT}}": f"{store_count:,}",
        "{{K_OPTIONS}}": k_options,
    }
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    return template


def content_security_policy(html: str) -> str:
    """A policy that lets the page run its own inline script and style (by hash), call its
    own origin, and nothing else: no other script, style, font, image, frame or origin."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for tag, body in re.findall(_INLINE, html, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes[tag].append(f"'sha256-{digest}'")
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {' '.join(hashes['script'])}",
            f"style-src {' '.join(hashes['style'])}",
            "img-src data:",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


class StorePage:
    """The page for one set of stores, rendered on first use and kept."""

    def __init__(self, latitudes: Sequence[float], longitudes: Sequence[float], *, max_k: int):
        self._latitudes, self._longitudes, self._max_k = latitudes, longitudes, max_k
        self._response: tuple[str, dict[str, str]] | None = None

    def _build(self) -> tuple[str, dict[str, str]]:
        html = render(
            TEMPLATE_PATH.read_text(encoding="utf-8"),
            points=map_points(self._latitudes, self._longitudes),
            store_count=len(self._latitudes),
            max_k=self._max_k,
        )
        headers = {
            "Content-Security-Policy": content_security_policy(html),
            "Vary": "Accept",  # the same URL answers JSON to other clients
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        }
        return html, headers

    def response(self) -> Response:
        if self._response is None:
            self._response = self._build()
        html, headers = self._response
        return Response(status_code=200, content_type=HTML_CONTENT_TYPE, body=html, headers=dict(headers))
