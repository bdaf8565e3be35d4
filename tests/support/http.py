"""HTTP in front of a Lambda handler, as API Gateway would be: the local server
(serving.server) around any `handler(event, context)`, on a free loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import chipotle_model
from serving.api import cors_policy
from serving.server import make_server


@contextmanager
def http_front(handler, *, cors=None, **server_options) -> Iterator[str]:
    """Serve `handler` over HTTP while the block runs, behind `cors` (default: the
    nearest-store API's policy for any origin); yields the base URL."""
    cors = cors or cors_policy(chipotle_model.ROUTES)
    httpd = make_server(handler, "127.0.0.1", 0, cors=cors, **server_options)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()  # stops serve_forever, closes every socket
        thread.join(timeout=10)
