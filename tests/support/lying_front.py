"""A lying HTTP front: a server on 127.0.0.1 that relays every request to a real server
and changes its answers with `lie`, to prove `smoke` notices (tests/handler/test_smoke.py)."""

from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

DRIP_LIMIT_S = 30  # a dripping answer stops here even if the client still reads


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    drip_s: float = 0.0  # > 0: send the answer one byte at a time, this far apart
    reset: bool = False  # close the connection with a TCP reset instead of answering
    raw: bytes | None = None  # send these bytes instead of a well-formed answer


@dataclass
class Exchange:
    """The request the front received, and a way to ask the real server."""

    method: str
    target: str
    body: bytes | None
    upstream: tuple[str, int]
    headers: dict[str, str] = field(default_factory=dict)

    def relay(self, target: str | None = None) -> Reply:
        """The real server's answer to this request (or to it sent to `target`)."""
        return self.ask(self.method, target or self.target, self.body, self.headers)

    def ask(self, method: str, target: str, body: bytes | None = None, headers: dict | None = None) -> Reply:
        connection = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            connection.request(method, target, body=body, headers=headers or {})
            answer = connection.getresponse()
            return Reply(answer.status, dict(answer.getheaders()), answer.read())
        finally:
            connection.close()


Lie = Callable[[Exchange], Reply]


class _Front(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        forwarded = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        exchange = Exchange(self.command, self.path, body, self.server.upstream, forwarded)
        self._send(self.server.lie(exchange))

    do_GET = do_POST = do_DELETE = do_OPTIONS = _relay

    def _send(self, reply: Reply) -> None:
        if reply.reset:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        headers = {
            k: v
            for k, v in reply.headers.items()
            if k.lower() not in ("content-length", "transfer-encoding", "connection")
        }
        head = f"HTTP/1.1 {reply.status} Lie\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        data = (
            reply.raw
            or (head + f"Content-Length: {len(reply.body)}\r\nConnection: close\r\n\r\n").encode()
            + reply.body
        )
        self.close_connection = True
        if not reply.drip_s:
            self.wfile.write(data)
            return
        stop = time.monotonic() + DRIP_LIMIT_S
        for i in range(len(data)):
            if time.monotonic() > stop:
                return
            try:
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
            except OSError:  # the client gave up: what the test wants
                return
            time.sleep(reply.drip_s)


@contextmanager
def lying_front(upstream_url: str, lie: Lie) -> Iterator[str]:
    """Serve the lying front while the block runs; yields its base URL."""
    parts = urlsplit(upstream_url)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Front)
    httpd.daemon_threads = True
    httpd.upstream, httpd.lie = (parts.hostname, parts.port), lie
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
