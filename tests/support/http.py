"""HTTP in front of a Lambda handler, as API Gateway would be: the local server
(chipotle_model.server) around any `handler(event, context)`, on a free loopback port."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from chipotle_model.server import make_server


@contextmanager
def http_front(handler, **server_options) -> Iterator[str]:
    """Serve `handler` over HTTP while the block runs; yields the base URL."""
    httpd = make_server(handler, "127.0.0.1", 0, **server_options)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()  # stops serve_forever, closes every socket
        thread.join(timeout=10)
