"""Concurrent HTTP clients of the local server, run in a process of their own
(`python -m infra.local.load_clients PORT CLIENTS REQUESTS`) so that the caller's heap,
collector and threads add nothing to the latencies measured.

Each client sends REQUESTS GETs of random US points, each on a new connection (as curl or a
browser without keep-alive does: every request goes through the listen backlog), with a
request written out as bytes and the answer read until the server closes: a thin client,
so the time measured is the server's. Prints one JSON object: results and errors.
"""

from __future__ import annotations

import gc
import json
import socket
import sys
import threading
import time

import numpy as np

SWITCH_INTERVAL_SECONDS = 0.001  # the clients' threads hand the GIL over quickly


def one_client(port: int, seed: int, requests: int, results: list, errors: list) -> None:
    rng = np.random.default_rng(seed)
    points = np.column_stack((rng.uniform(25, 49, requests), rng.uniform(-124, -67, requests))).tolist()
    for lat, lon in points:
        request = f"GET /?lat={lat!r}&long={lon!r} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        started = time.perf_counter()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(request.encode())
                chunks = []
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
        except OSError as exc:
            errors.append(repr(exc))
            continue
        seconds = time.perf_counter() - started
        head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
        results.append([lat, lon, status, body.decode(errors="replace"), seconds])


def main(port: int, clients: int, requests: int) -> dict:
    results: list = []
    errors: list = []
    threads = [
        threading.Thread(target=one_client, args=(port, seed, requests, results, errors))
        for seed in range(clients)
    ]
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    gc.disable()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return {"results": results, "errors": errors, "elapsed": time.perf_counter() - started}


if __name__ == "__main__":
    print(json.dumps(main(*(int(arg) for arg in sys.argv[1:4]))))
