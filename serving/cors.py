"""CORS, declared once: API Gateway's CORS configuration, and what it does to requests.

With CORS configured on an HTTP API, API Gateway answers preflight requests itself and
sets the CORS headers of every answer, ignoring any the function sends. So the handler
sends none; the Pulumi program gives the API `CorsPolicy.gateway_configuration()`, and
the local server applies the same policy with `preflight` and `answer_headers`, so a
browser sees the same headers locally and deployed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

ANY_ORIGIN = "*"


@dataclass(frozen=True)
class CorsPolicy:
    allow_origins: tuple[str, ...] = (ANY_ORIGIN,)
    allow_methods: tuple[str, ...] = ("GET", "POST")
    allow_headers: tuple[str, ...] = ("content-type",)
    expose_headers: tuple[str, ...] = ()
    max_age: int = 3600  # seconds a browser may cache a preflight answer

    def gateway_configuration(self) -> dict:
        """The HTTP API's `cors_configuration` (pulumi-aws argument names)."""
        config = {
            "allow_origins": list(self.allow_origins),
            "allow_methods": list(self.allow_methods),
            "allow_headers": list(self.allow_headers),
            "max_age": self.max_age,
        }
        if self.expose_headers:
            config["expose_headers"] = list(self.expose_headers)
        return config

    def allowed_origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for a request from `origin`, or None."""
        if not origin:
            return None
        if ANY_ORIGIN in self.allow_origins:
            return ANY_ORIGIN
        return origin if origin.lower() in (o.lower() for o in self.allow_origins) else None

    @staticmethod
    def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
        """A browser's preflight: OPTIONS with Origin and Access-Control-Request-Method
        (header names in lower case, as in a payload-2.0 event)."""
        return (
            method.upper() == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers
        )

    def preflight_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The headers of API Gateway's 204 answer to a preflight (none for an origin not allowed)."""
        origin = self.allowed_origin(headers.get("origin"))
        if origin is None:
            return self._vary()
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": ",".join(self.allow_methods),
            "Access-Control-Allow-Headers": ",".join(self.allow_headers),
            "Access-Control-Max-Age": str(self.max_age),
            **self._vary(),
        }

    def answer_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The CORS headers added to an answer to a request with these headers."""
        origin = self.allowed_origin(headers.get("origin"))
        if origin is None:
            return self._vary()
        added = {"Access-Control-Allow-Origin": origin, **self._vary()}
        if self.expose_headers:
            added["Access-Control-Expose-Headers"] = ",".join(self.expose_headers)
        return added

    def _vary(self) -> dict[str, str]:
        # An answer that depends on the Origin header must say so to caches.
        return {} if ANY_ORIGIN in self.allow_origins else {"Vary": "Origin"}


class OriginError(ValueError):
    """A list of origins that is not '*' or comma-separated origins; the message says
    what is wrong, to follow the name of the option or key it came from."""


ORIGINS_ALLOWED = (
    "'*' or a comma-separated list of origins like https://example.com (scheme, host, optional port)"
)
# scheme://host[:port], the host checked apart (is_host)
_ORIGIN = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<host>\[[^\]]*\]|[^:/]*)(?::(?P<port>[^/]*))?"
)
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def is_host(text: str) -> bool:
    """A DNS name (labels of letters, digits and inner hyphens, 1-63 characters each), an
    IPv4 address, or an IPv6 address (bare, or in brackets as in a URL)."""
    address = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        ipaddress.ip_address(address)
        return address == text or ":" in address  # brackets hold IPv6 addresses only
    except ValueError:
        pass
    labels = text.removesuffix(".").split(".")
    if labels[-1].isdigit():  # all digits at the end: an IPv4 address, and not a valid one
        return False
    return text.isascii() and len(text) <= 253 and all(_LABEL.fullmatch(label) for label in labels)


def is_port(text: str) -> bool:
    """A port number as an URL or a command line writes it: ASCII digits, 1 to 65535."""
    return text.isascii() and text.isdigit() and 1 <= int(text) <= 65535


def origin_problem(origin: str) -> str | None:
    """What is wrong with one origin (scheme://host[:port]), or None."""
    match = _ORIGIN.fullmatch(origin)
    if match is None:
        return "not scheme://host[:port]"
    if match["scheme"].lower() not in ("http", "https"):
        return f"the scheme {match['scheme']!r} is not http or https"
    if not is_host(match["host"]):
        return f"the host {match['host']!r} is not a DNS name or an IP address"
    if match["port"] is not None and not is_port(match["port"]):
        return f"the port {match['port']!r} is not a number from 1 to 65535"
    return None


def parse_origins(text: str) -> tuple[str, ...]:
    """'*' alone, or comma-separated origins -> a tuple (white space around each trimmed).
    Raises OriginError naming the first problem."""
    origins = tuple(part.strip() for part in text.split(","))
    if origins == (ANY_ORIGIN,):
        return origins
    if ANY_ORIGIN in origins:
        raise OriginError(
            f"must be '*' alone (it allows every origin and cannot be combined with others), got {text!r}"
        )
    for origin in origins:
        if not origin:
            raise OriginError(f"must be {ORIGINS_ALLOWED}, got {text!r}: an origin is empty")
        if problem := origin_problem(origin):
            raise OriginError(f"must be {ORIGINS_ALLOWED}, got {origin!r}: {problem}")
    return origins
