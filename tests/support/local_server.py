"""Raw and hostile exchanges with the local server (the server process itself:
infra/local/server.py)."""

from __future__ import annotations

import socket


def raw_exchange(port: int, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes on a new connection; return all the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server has closed or reset the connection (a read gives end of stream)."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False  # nothing to read: still open
    except OSError:
        return True
    finally:
        sock.setblocking(True)
