"""The local server (chipotle_model.server) run in a thread, for tests that talk HTTP to it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from chipotle_model.server import make_server


@contextmanager
def local_server(handler, **kwargs) -> Iterator[str]:
    """The local server around `handler` on a free loopback port; yields its base URL."""
    httpd = make_server(handler, "127.0.0.1", 0, **kwargs)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
