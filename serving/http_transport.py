"""The local server's HTTP transport: waitress, set up to hold concurrent and hostile clients.

waitress (a pure-Python WSGI server) reads and writes every socket in one event loop and
hands only complete requests to a small pool of threads, so an idle or slow connection
costs a socket, never a thread. On top of its limits (backlog, connection cap, idle
timeout, header and body sizes) this module adds what API Gateway does and waitress
does not:

- every request waitress itself refuses (a malformed request line such as a lowercase
  method, headers too large, a body over API Gateway's 10 MB) is answered in JSON
  `{"error": ...}`, at once: a client that asked `Expect: 100-continue` never sends the body;
- after such a refusal the connection is closed the way a browser or `requests` can read:
  the answer is sent, then what the client still sends (the rest of a 50 MB body, say) is
  read and thrown away, up to LINGER_BYTES or LINGER_SECONDS, before the socket closes.
  Closing at once would make the kernel reset the connection, and a client still sending
  would get a broken pipe instead of the 413. Nothing of the body is kept: memory stays flat.
- a deadline for each request to arrive whole (`request_timeout` from its first byte, 408
  after it), where waitress only closes a connection idle for channel_timeout, so a client
  sending a header line every few seconds held its connection for good;
- an accept policy: past `max_connections`, the connection that has waited longest for
  its client (idle, or its request begun longest ago) is closed to make room. waitress's
  own cap stops accepting, so 520 slow clients kept every new one waiting in the backlog.
- memory given back after large bodies (map_large_allocations_apart, and a collection).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import json
import logging
import socket
import threading
import time

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser, ParsingError
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask
from waitress.utilities import Error, RequestEntityTooLarge

# API Gateway refuses bodies over 10 MB itself, before the Lambda function runs.
GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024
TOO_LARGE = "the request body is over 10 MB (API Gateway's limit)"
# After a refusal: how much more of what the client sends is read and dropped, and for how long.
LINGER_BYTES = 256 * 1024 * 1024
LINGER_SECONDS = 5.0
# Allocations at least this large get a mapping of their own (map_large_allocations_apart).
LARGE_ALLOCATION_BYTES = 256 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's <malloc.h>

# This module's own settings (LocalServer takes them beside waitress's).
TRANSPORT = {
    # open connections; past it, the one waiting longest for its client is closed
    "max_connections": 512,
    # seconds a request's headers and body may take to arrive, from its first byte (408)
    "request_timeout": 10,
}

# waitress's settings (https://docs.pylonsproject.org/projects/waitress/en/stable/arguments.html)
SETTINGS = {
    "threads": 4,  # requests run one at a time anyway (the handler's lock); these format and write
    "backlog": 1024,  # pending connections the kernel queues before the loop accepts them
    # a hard cap, reached only when max_connections are all busy (none can be closed)
    "connection_limit": 1024,
    "channel_timeout": 10,  # seconds a connection may stay idle (no byte) before it is closed
    "cleanup_interval": 1,  # how often idle connections and late requests are looked for
    "max_request_header_size": 64 * 1024,
    # waitress refuses a declared Content-Length >= this (a chunked body once it reaches it)
    "max_request_body_size": GATEWAY_MAX_BODY_BYTES + 1,
    "asyncore_use_poll": True,  # poll(), not select(): no limit at file descriptor 1024
    "log_socket_errors": False,  # a client that goes away early is not an error of ours
    "expose_tracebacks": False,
    "ident": "serving-local",
}


def map_large_allocations_apart() -> None:
    """Have glibc give every allocation over LARGE_ALLOCATION_BYTES a mapping of its own,
    returned to the system when freed.

    By default glibc raises that threshold to the size of the largest block freed (up to
    32 MB), so a large body's copies (10 MB of bytes, text and event) are then carved from
    the worker threads' arenas, whose free tops are never returned: 80 bodies of 10 MB
    took the server from 160 to 430 MB, held after idle. A fixed threshold also turns off
    that raising. A no-op where the C library has no mallopt (musl, macOS)."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return
    mallopt(_M_MMAP_THRESHOLD, LARGE_ALLOCATION_BYTES)


class RequestTimeout(Error):
    code = 408
    reason = "Request Timeout"


class _Parser(HTTPRequestParser):
    def parse_header(self, header_plus: bytes) -> None:
        try:
            super().parse_header(header_plus)
        except ValueError as exc:  # urlsplit's, on "http://[::1/": waitress lets it escape
            raise ParsingError(f"malformed request target: {exc}") from exc

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        if self.error is not None:
            # refused: no "100 Continue" (waitress would send one, and wait for the body)
            self.expect_continue = False
        return consumed


class _JsonErrorTask(ErrorTask):
    """waitress's answer to a request it refuses, in the API's error format."""

    def execute(self) -> None:
        error = self.request.error
        detail = TOO_LARGE if isinstance(error, RequestEntityTooLarge) else error.body
        body = json.dumps({"error": f"{error.reason.lower()}: {detail}"}).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.channel.linger_after_close = True
        self.write(body)


class _Channel(HTTPChannel):
    """waitress's connection, with JSON refusals and a lingering close after them."""

    parser_class = _Parser
    error_task_class = _JsonErrorTask
    linger_after_close = False  # set by a refusal
    linger_until: float | None = None  # lingering: reading and dropping until then
    lingered_bytes = 0
    request_started: float | None = None  # time.time() of the first byte of a request not yet whole

    def service(self) -> None:
        large_body = self.requests[0].content_length > LARGE_ALLOCATION_BYTES
        super().service()
        if large_body:
            # A refused body stays reachable from its exception's traceback cycle (in the
            # resolver) until the collector's next full pass, which may be far off: 10 MB
            # a request. Collected now (quick: serve() froze the model out of the passes).
            gc.collect()

    def received(self, data: bytes) -> bool:
        pending = self.request
        result = super().received(data)
        if self.request is None:
            self.request_started = None
        elif self.request is not pending:  # a request began in this data
            self.request_started = time.time()
        return result

    def waiting_since(self) -> float | None:
        """Since when this connection has waited for a client (its request's first byte,
        or its last byte when idle), or None when it is busy (a request running, an
        answer being sent, being closed): those are never evicted."""
        if self.requests or self.total_outbufs_len or self.will_close or self.close_when_flushed:
            return None
        if self.linger_until is not None:
            return 0.0  # answered already: the first to go
        return self.request_started or self.last_activity

    def handle_close(self) -> None:
        if self.linger_after_close and self.linger_until is None and self.connected:
            try:
                self.socket.shutdown(socket.SHUT_WR)  # the answer is sent: end of our side
            except OSError:
                return super().handle_close()
            self.linger_until = time.monotonic() + LINGER_SECONDS
            self.will_close = self.close_when_flushed = False
            return None
        return super().handle_close()

    def readable(self) -> bool:
        if self.linger_until is None:
            return super().readable()
        if time.monotonic() > self.linger_until:
            super().handle_close()
            return False
        return True

    def handle_read(self) -> None:
        if self.linger_until is None:
            return super().handle_read()
        try:
            data = self.recv(self.adj.recv_bytes)
        except OSError:
            data = b""
        self.lingered_bytes += len(data)
        if (not data or self.lingered_bytes > LINGER_BYTES) and self.socket is not None:
            super().handle_close()  # (recv has closed it already at the end of the stream)
        return None


# What a connection closed mid-request to make room is told, if its socket takes it at once.
_BUSY_BODY = b'{"error": "service unavailable: the server is at its connection limit; try again"}'
_BUSY_ANSWER = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY)
)


class _Server(TcpWSGIServer):
    """waitress's server, with a deadline for each request to arrive whole and an accept
    policy: over `max_connections`, the connection waiting longest for its client is
    closed to make room, so slow or idle clients cannot keep a new one out."""

    channel_class = _Channel

    def __init__(self, *args, max_connections: int, request_timeout: float, **kwargs) -> None:
        self.max_connections = max_connections
        self.request_timeout = request_timeout
        super().__init__(*args, **kwargs)

    def handle_accept(self) -> None:
        super().handle_accept()
        if len(self.active_channels) > self.max_connections:
            self._evict_one()

    def _evict_one(self) -> None:
        waiting = [(since, channel) for channel in list(self.active_channels.values())
                   if (since := channel.waiting_since()) is not None]  # fmt: skip
        if not waiting:
            return  # every one busy: waitress's connection_limit is the hard cap
        _, channel = min(waiting, key=lambda pair: pair[0])
        if channel.request is not None:  # mid-request: say why, if the socket takes it now
            with contextlib.suppress(OSError):
                channel.socket.send(_BUSY_ANSWER)
        channel.handle_close()

    def maintenance(self, now: float) -> None:
        """Answer 408 to requests not whole `request_timeout` after their first byte, then
        waitress's own: close connections idle for `channel_timeout`."""
        cutoff = now - self.request_timeout
        for channel in list(self.active_channels.values()):
            if channel.request_started is not None and channel.request_started < cutoff:
                self._time_out(channel)
        super().maintenance(now)

    def _time_out(self, channel: _Channel) -> None:
        with channel.requests_lock:
            request = channel.request
            if request is None or channel.requests or channel.will_close or channel.close_when_flushed:
                return
            if not request.headers_finished:  # what waitress does for headers too large
                request.parse_header(b"GET / HTTP/1.1\r\n")
            request.error = RequestTimeout(
                f"the request did not arrive whole within {self.request_timeout:g} s of its first byte"
            )
            request.completed, request.expect_continue = True, False
            channel.request = channel.request_started = None
            channel.requests.append(request)
        self.add_task(channel)  # answered by _JsonErrorTask, as waitress's own refusals


class LocalServer:
    """A WSGI application served on (host, port) until `shutdown`."""

    def __init__(self, app, host: str, port: int, **settings) -> None:
        # waitress reports a full task queue at WARNING on every request under load
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        map_large_allocations_apart()
        self._map: dict = {}
        transport = {**TRANSPORT, **{k: settings.pop(k) for k in TRANSPORT if k in settings}}
        self._server = _Server(
            app, map=self._map, host=host, port=port, **transport, **{**SETTINGS, **settings}
        )
        self._stopping = threading.Event()
        self._stopped = threading.Event()

    @property
    def server_address(self) -> tuple[str, int]:
        return self._server.effective_host, self._server.effective_port

    @property
    def url(self) -> str:
        host, port = self.server_address
        return f"http://{host}:{port}/"

    def serve_forever(self) -> None:
        """Answer requests until `shutdown` (another thread) or Ctrl-C."""
        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=1.0, use_poll=True, map=self._map, count=1)
        finally:
            self._close()
            self._stopped.set()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop `serve_forever` running in another thread, and wait for it."""
        self._stopping.set()
        self._server.trigger.pull_trigger()  # wake the loop now
        self._stopped.wait(timeout)

    def _close(self) -> None:
        self._server.task_dispatcher.shutdown()
        self._server.close()  # the listening socket and the loop's wake-up pipe
        for channel in list(self._map.values()):  # the open connections
            channel.close()
