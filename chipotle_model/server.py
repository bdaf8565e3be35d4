"""A local HTTP server for the API: try it in a browser, without AWS.

    python -m chipotle_model serve --model ARTIFACT [--host 127.0.0.1] [--port 8000]

Each HTTP request becomes the payload-2.0 event API Gateway's HTTP API would send
(query parameters decoded and repeated ones joined with commas, header names in
lower case, non-text bodies base64-encoded) and goes to the same Lambda handler that
runs in AWS; the handler's response is written back as HTTP. CORS is done here the way
API Gateway does it in AWS (chipotle_model.cors): preflights answered without calling the
handler, CORS headers set on every answer. Standard library only.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .api import LocalContext, cors_policy, create_api
from .cors import CorsPolicy
from .model import load_model

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# API Gateway refuses bodies over 10 MB itself, before the Lambda function runs.
GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024
# Content types API Gateway passes as text; any other body arrives base64-encoded.
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")

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

    `target` is the request line's path and query (e.g. "/?lat=1&long=2").
    """
    split = urlsplit(target)
    path = split.path or "/"
    joined, cookies = _joined_headers(headers)
    event: dict = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": split.query,
        "headers": joined,
        "requestContext": _request_context(method, path, joined, source_ip),
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if split.query:
        event["queryStringParameters"] = _joined_pairs(parse_qsl(split.query, keep_blank_values=True))
    if body:
        event.update(_event_body(body, joined.get("content-type", "")))
    return event


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


class _RequestHandler(BaseHTTPRequestHandler):
    """Each HTTP request: CORS as API Gateway does it, else the event to the Lambda handler."""

    server_version = "nearest-store-local"
    server: _LocalServer

    def _answer(self) -> None:
        length = self.headers.get("Content-Length") or "0"
        try:
            length = int(length)
        except ValueError:
            return self._write(400, {"Content-Type": "application/json"}, b'{"error": "bad Content-Length"}')
        if length > GATEWAY_MAX_BODY_BYTES:
            self.close_connection = True
            body = json.dumps({"error": "request body over 10 MB (API Gateway's limit)"}).encode()
            return self._write(413, {"Content-Type": "application/json"}, body)
        body = self.rfile.read(length) if length > 0 else b""
        event = build_event(
            self.command, self.path, self.headers.items(), body, source_ip=self.client_address[0]
        )
        cors = self.server.cors
        if cors.is_preflight(event["requestContext"]["http"]["method"], event["headers"]):
            return self._write(204, cors.preflight_headers(event["headers"]), b"")
        with self.server.lock:
            response = self.server.handler(event, LocalContext())
        payload = response.get("body") or ""
        payload = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode("utf-8")
        # API Gateway ignores the function's CORS headers and sets its own
        headers = {
            name: value
            for name, value in (response.get("headers") or {}).items()
            if not name.lower().startswith("access-control-")
        }
        headers.update(cors.answer_headers(event["headers"]))
        self._write(int(response["statusCode"]), headers, payload, response.get("cookies") or [])

    def _write(self, status: int, headers: dict, body: bytes, cookies: Iterable[str] = ()) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        for cookie in cookies:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _answer

    def log_message(self, format: str, *args) -> None:  # the handler logs each request already
        pass


class _LocalServer(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], handler: Handler, cors: CorsPolicy):
        super().__init__(address, _RequestHandler)
        self.handler = handler
        self.cors = cors
        # One request at a time: the Powertools resolver, like a Lambda execution
        # environment, serves one event at once.
        self.lock = threading.Lock()


def make_server(
    handler: Handler,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    cors: CorsPolicy | None = None,
) -> ThreadingHTTPServer:
    """An HTTP server answering every request with `handler`, behind `cors` (default: the
    API's policy for any origin) as API Gateway would be."""
    return _LocalServer((host, port), handler, cors or cors_policy())


def serve(
    artifact: str,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    allow_origins: tuple[str, ...] = ("*",),
) -> None:
    """Load the model, then answer HTTP requests until interrupted."""
    api = create_api(load_model(artifact))
    server = make_server(api.handler, host, port, cors=cors_policy(allow_origins))
    bound_host, bound_port = server.server_address[:2]
    url = f"http://{bound_host}:{bound_port}/"
    lat, lon = api.model.stores.latitude[0], api.model.stores.longitude[0]
    print(
        f"serving the nearest-store API ({len(api.model)} stores) at {url}\n"
        f"  try {url}?lat={lat:.6f}&long={lon:.6f}&k=3 or {url}health  (Ctrl-C to stop)",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
