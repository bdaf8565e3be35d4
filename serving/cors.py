"""CORS, declared once: API Gateway's CORS configuration, and what it does to requests.

With CORS configured on an HTTP API, API Gateway answers preflight requests itself and
sets the CORS headers of every answer, ignoring any the function sends. So the handler
sends none; the Pulumi program gives the API `CorsPolicy.gateway_configuration()`, and
the local server applies the same policy with `preflight` and `answer_headers`, so a
browser sees the same headers locally and deployed.
"""

from __future__ import annotations

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


def parse_origins(text: str) -> tuple[str, ...]:
    """'*' or comma-separated origins -> a tuple (empty parts dropped; empty -> ('*',))."""
    origins = tuple(part.strip() for part in text.split(",") if part.strip())
    return origins or (ANY_ORIGIN,)
