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
ORIGIN_SCHEMES = ("http", "https")
PORT_RANGE = (1, 65535)
# A DNS label (RFC 1123): ASCII letters, digits and inner hyphens, 1 to 63 characters.
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_PORT = re.compile(r"[1-9][0-9]{0,4}")  # ASCII digits, no sign, no leading zero
_MAX_HOST = 253  # the longest DNS name, dots included


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
    return text.isascii() and len(text) <= _MAX_HOST and all(_LABEL.fullmatch(label) for label in labels)


def is_port(text: str) -> bool:
    """A port number as an URL or a command line writes it: ASCII digits, 1 to 65535."""
    return text.isascii() and text.isdigit() and PORT_RANGE[0] <= int(text) <= PORT_RANGE[1]


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
        try:
            parse_origin(origin)
        except ValueError as exc:
            raise OriginError(f"must be {ORIGINS_ALLOWED}, got {origin!r}: {exc}") from None
    return origins


def parse_origin(text: str) -> str:
    """`text` if it is one origin as a browser sends it in `Origin`, else ValueError saying
    why: `scheme://host[:port]`, scheme http or https, host a DNS name (RFC 1123 labels;
    a name whose last label is numeric must be an IPv4 address), an IPv4 address or a
    bracketed IPv6 address, port 1 to 65535 in ASCII digits without a leading zero;
    nothing after it (no path, query, user or trailing dot). `*` is not an origin."""
    scheme, separator, rest = text.partition("://")
    if not separator or scheme not in ORIGIN_SCHEMES:
        raise ValueError(f"an origin starts with {' or '.join(f'{s}://' for s in ORIGIN_SCHEMES)}")
    if any(mark in rest for mark in "/?#@"):
        raise ValueError("an origin is scheme://host[:port]: no path, query, fragment or user")
    host, port = _split_port(rest)
    if port is not None and not (_PORT.fullmatch(port) and PORT_RANGE[0] <= int(port) <= PORT_RANGE[1]):
        raise ValueError(f"the port must be from {PORT_RANGE[0]} to {PORT_RANGE[1]}, got {port!r}")
    _check_host(host)
    return text


def _split_port(rest: str) -> tuple[str, str | None]:
    """host[:port] -> (host, port or None); a bracketed IPv6 host keeps its brackets."""
    if rest.startswith("["):
        end = rest.find("]")
        host, after = (rest, "") if end < 0 else (rest[: end + 1], rest[end + 1 :])
        if after and not after.startswith(":"):
            raise ValueError("an origin is scheme://host[:port], with nothing after the port")
        return host, after[1:] if after else None
    host, colon, port = rest.partition(":")
    return host, port if colon else None


def _check_host(host: str) -> None:
    if host.startswith("["):
        try:
            if not host.endswith("]") or "%" in host:  # a zone index is not part of an origin
                raise ValueError
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise ValueError(f"{host!r} is not a bracketed IPv6 address") from None
        return
    labels = host.split(".")
    if len(host) > _MAX_HOST or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(
            f"the host must be a DNS name (labels of ASCII letters, digits and inner hyphens, "
            f"at most {_MAX_HOST} characters) or an IP address, got {host!r}"
        )
    if labels[-1].isdigit():  # browsers read such a host as an IPv4 address
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not an IPv4 address") from None
