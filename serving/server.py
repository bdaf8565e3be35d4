"""A local HTTP server for the API: try it in a browser, without AWS.

    python -m <model package> serve [--model ARTIFACT | --data DATA] [--host 127.0.0.1] [--port 8000]

Each HTTP request becomes the payload-2.0 event API Gateway's HTTP API would send
(query parameters decoded and repeated ones joined with commas, header names in
lower case, non-text bodies base64-encoded) and goes to the same Lambda handler that
runs in AWS; the handler's response is written back as HTTP. CORS is done here the way
API Gateway does it in AWS (serving.cors): preflights answered without calling the
handler, CORS headers set on every answer. The HTTP transport (waitress, set up for
concurrent and hostile clients) is serving.http_transport.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import ipaddress
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from urllib.parse import parse_qsl

from .api import LocalContext, api_from_artifact, cors_policy
from .cors import CorsPolicy
from .http_transport import GATEWAY_MAX_BODY_BYTES, TOO_LARGE, LocalServer
from .inputs import show

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# Content types API Gateway passes as text; any other body arrives base64-encoded.
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
# A request target (RFC 3986): the path of pchar and "/", the query of those and "?" (and
# "[" "]", which browsers send as they are); "%" only before two hex digits. No space,
# control or non-ASCII character, no '"', "#", "<", ">", "\\", "^", "`", "{", "|", "}".
_PCHAR = r"[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2}"
_PATH = re.compile(rf"/(?:{_PCHAR}|/)*")
_QUERY = re.compile(rf"(?:{_PCHAR}|[/?\[\]])*")
_ABSOLUTE_FORM = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?]*)(?P<rest>.*)", re.S)
# host[:port]: a reg-name or IPv4 address, or an IPv6 address in brackets (checked apart)
_AUTHORITY = re.compile(
    r"(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+)(?::(?P<port>[0-9]*))?"
)
_TARGET_HINT = "send a path such as /health (origin-form) or http://host/health (absolute-form)"

Handler = Callable[[dict, object], dict]


def _is_text(content_type: str) -> bool:
    content_type = content_type.split(";")[0].strip().lower()
    return content_type.startswith(TEXT_TYPES) or content_type.endswith(("+json", "+xml"))


def build_event(
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes = b"",
    *,
    source_ip: str = "127.0.0.1",
) -> dict:
    """The API Gateway HTTP API payload-2.0 event for one HTTP request.

    `target` is the request line's target: a path and query ("/?lat=1&long=2"), or an
    absolute URL, whose authority then stands for the Host header (RFC 9112, 3.2.2).
    Raises BadTarget for a target that is neither.
    """
    path, query, authority = split_target(target)
    joined, cookies = _joined_headers(headers)
    if authority is not None:
        joined["host"] = authority
    event: dict = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": joined,
        "requestContext": _request_context(method, path, joined, source_ip),
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = _joined_pairs(parse_qsl(query, keep_blank_values=True))
    if body:
        event.update(_event_body(body, joined.get("content-type", "")))
    return event


class BadTarget(ValueError):
    """A request target that is neither a path (origin-form) nor an http(s) URL (absolute-form)."""


def split_target(target: str) -> tuple[str, str, str | None]:
    """(raw path, raw query, authority or None) of a request target, as API Gateway sees
    it: the path as sent, never normalised, so "//evil.example/health" is that path, not
    /health. Raises BadTarget naming what is wrong."""
    authority = None
    if not target.startswith("/"):
        absolute = _ABSOLUTE_FORM.fullmatch(target)
        if absolute is None or absolute["scheme"].lower() not in ("http", "https"):
            raise BadTarget(f"the request target {show(target)} is not a path or an http(s) URL")
        if not _valid_authority(absolute["authority"]):
            raise BadTarget(f"the request target {show(target)} has no valid host[:port]")
        authority, rest = absolute["authority"], absolute["rest"]
        target = rest if rest.startswith("/") else f"/{rest}"  # "http://h" and "http://h?q" are of "/"
    path, _, query = target.partition("?")
    if not _PATH.fullmatch(path) or not _QUERY.fullmatch(query):
        raise BadTarget(
            f"the request target {show(target)} has a character a URL cannot hold as it is "
            "(encode it as %XX; a fragment '#' is never sent)"
        )
    return path, query, authority


def _valid_authority(authority: str) -> bool:
    match = _AUTHORITY.fullmatch(authority)
    if match is None or (match["port"] and not 1 <= int(match["port"]) <= 65535):
        return False
    try:
        return match["ipv6"] is None or bool(ipaddress.IPv6Address(match["ipv6"]))
    except ValueError:
        return False


def _joined_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Repeated names joined with commas, as API Gateway joins them."""
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def _joined_headers(headers: Iterable[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Header names in lower case, repeats joined; cookies apart, as payload 2.0 has them."""
    cookies: list[str] = []
    others = []
    for name, value in headers:
        if name.lower() == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
        else:
            others.append((name.lower(), value))
    return _joined_pairs(others), cookies


def _request_context(method: str, path: str, headers: dict[str, str], source_ip: str) -> dict:
    now = time.time()
    host = headers.get("host", "localhost")
    return {
        "accountId": "anonymous",
        "apiId": "local",
        "domainName": host,
        "domainPrefix": host.split(".")[0],
        "http": {
            "method": method.upper(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": "$default",
        "stage": "$default",
        "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now * 1000),
    }


def _event_body(body: bytes, content_type: str) -> dict:
    """Text bodies as they are; any other body base64-encoded, as API Gateway passes them."""
    if _is_text(content_type):
        try:
            return {"body": body.decode("utf-8"), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass
    return {"body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True}


class LocalGateway:
    """A WSGI application doing API Gateway's part: CORS, then the event to the handler."""

    def __init__(self, handler: Handler, cors: CorsPolicy):
        self.handler = handler
        self.cors = cors
        # One request at a time: the Powertools resolver, like a Lambda execution
        # environment, serves one event at once.
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response) -> list[bytes]:
        status, headers, body = self.answer(environ)
        start_response(f"{status} {_reason(status)}", headers)
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]

    def answer(self, environ: dict) -> tuple[int, list[tuple[str, str]], bytes]:
        """(status, headers, body) of the answer to one request."""
        length = int(environ.get("CONTENT_LENGTH") or 0)  # waitress has checked it: digits
        if length > GATEWAY_MAX_BODY_BYTES:  # waitress refuses these; never buffered here
            return _json_error(413, TOO_LARGE)
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            event = build_event(
                environ["REQUEST_METHOD"],
                environ.get("REQUEST_URI") or "/",
                _request_headers(environ),
                body,
                source_ip=environ.get("REMOTE_ADDR", "127.0.0.1"),
            )
        except BadTarget as exc:
            return _json_error(400, f"bad request: {exc}; {_TARGET_HINT}")
        del body  # the event holds it now (as text or base64): one copy less while it runs
        if self.cors.is_preflight(event["requestContext"]["http"]["method"], event["headers"]):
            return 204, list(self.cors.preflight_headers(event["headers"]).items()), b""
        with self.lock:
            response = self.handler(event, LocalContext())
        payload = response.get("body") or ""
        payload = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode("utf-8")
        # API Gateway ignores the function's CORS headers and sets its own
        headers = [
            (name, str(value))
            for name, value in (response.get("headers") or {}).items()
            if not name.lower().startswith("access-control-") and name.lower() not in _HOP_BY_HOP
        ]
        headers.extend(self.cors.answer_headers(event["headers"]).items())
        headers.extend(("Set-Cookie", cookie) for cookie in response.get("cookies") or [])
        headers.append(("Content-Length", str(len(payload))))
        return int(response["statusCode"]), headers, payload


# Set by the server, not the application (PEP 3333 forbids hop-by-hop headers from it).
_HOP_BY_HOP = {"connection", "content-length", "keep-alive", "transfer-encoding", "upgrade", "te",
               "trailer", "proxy-authenticate", "proxy-authorization"}  # fmt: skip


def _request_headers(environ: dict) -> list[tuple[str, str]]:
    """The request's headers from a WSGI environ (names in lower case)."""
    headers = [
        (key[5:].replace("_", "-").lower(), value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    for key, name in (("CONTENT_TYPE", "content-type"), ("CONTENT_LENGTH", "content-length")):
        if environ.get(key):
            headers.append((name, environ[key]))
    return headers


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _json_error(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    body = json.dumps({"error": message}).encode()
    return status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body


def make_server(
    handler: Handler,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    cors: CorsPolicy,
    **settings,
) -> LocalServer:
    """An HTTP server answering every request with `handler`, behind `cors` as API Gateway
    would be. `settings` override waitress's (serving.http_transport.SETTINGS)."""
    return LocalServer(LocalGateway(handler, cors), host, port, **settings)


def serve(
    package: ModuleType,
    artifact: str | Path,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    allow_origins: tuple[str, ...] = ("*",),
) -> None:
    """Load the model, then answer HTTP requests until interrupted."""
    api = api_from_artifact(package, artifact)  # ModelLoadError: not loadable, or fails its warm-up
    # The model and the API live as long as the process: keep them out of the collector's
    # full passes, which would otherwise pause every request now and then.
    gc.freeze()
    server = make_server(api.handler, host, port, cors=cors_policy(api.routes, allow_origins))
    url = server.url
    examples = [f"{url}{e['rawPath'][1:]}?{e['rawQueryString']}" for e in package.warm_up_requests(api.model)]
    example = next((e for e in examples if not e.endswith("?")), f"{url}health")
    print(
        f"serving {package.SERVICE_NAME} ({package.__name__}) at {url}\n"
        f"  open {example} or {url}health  (Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: stop quietly
        server.serve_forever()
