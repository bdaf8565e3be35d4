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
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask
from waitress.utilities import RequestEntityTooLarge

# API Gateway refuses bodies over 10 MB itself, before the Lambda function runs.
GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024
TOO_LARGE = "the request body is over 10 MB (API Gateway's limit)"
# After a refusal: how much more of what the client sends is read and dropped, and for how long.
LINGER_BYTES = 256 * 1024 * 1024
LINGER_SECONDS = 5.0

# waitress's settings (https://docs.pylonsproject.org/projects/waitress/en/stable/arguments.html)
SETTINGS = {
    "threads": 4,  # requests run one at a time anyway (the handler's lock); these format and write
    "backlog": 1024,  # pending connections the kernel queues before the loop accepts them
    "connection_limit": 512,  # open connections; beyond it new ones wait in the backlog
    "channel_timeout": 10,  # seconds a connection may stay idle (or stall mid-request)
    "cleanup_interval": 2,  # how often idle connections are looked for
    "max_request_header_size": 64 * 1024,
    # waitress refuses a declared Content-Length >= this (a chunked body once it reaches it)
    "max_request_body_size": GATEWAY_MAX_BODY_BYTES + 1,
    "asyncore_use_poll": True,  # poll(), not select(): no limit at file descriptor 1024
    "log_socket_errors": False,  # a client that goes away early is not an error of ours
    "expose_tracebacks": False,
    "ident": "serving-local",
}


class _Parser(HTTPRequestParser):
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


class _Server(TcpWSGIServer):
    channel_class = _Channel


class LocalServer:
    """A WSGI application served on (host, port) until `shutdown`."""

    def __init__(self, app, host: str, port: int, **settings) -> None:
        # waitress reports a full task queue at WARNING on every request under load
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        self._map: dict = {}
        self._server = _Server(app, map=self._map, host=host, port=port, **{**SETTINGS, **settings})
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
