"""The local server under load (loopback only, bounded in count and time): 20 concurrent
clients, idle connections held open. The server runs as users run it, in its own process
(`python -m chipotle_model serve`), so its memory is its own.

What is asserted is what does not depend on the machine's speed or load: every answer
right, no error, flat memory, a new client served while idle connections stay open.
Latency and throughput are figures of `python -m bench.local_server_load`
(docs/benchmarks.md), not of a test.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import pytest

from infra.local.server import request, serve_process
from tests.support import REPO_ROOT
from tests.support.cases import assert_batch
from tests.support.http import http_front
from tests.support.local_server import closed_by_server

CLIENTS = 20
REQUESTS_PER_CLIENT = 500
RSS_GROWTH_LIMIT_KB = 10 * 1024
IDLE_CONNECTIONS = 200
# The server closes a connection idle this long (http_transport.SETTINGS["channel_timeout"]):
# a new client answered while every idle one is still open was not kept waiting for them.
IDLE_TIMEOUT_S = 10


@pytest.fixture(scope="module")
def server(real_artifact):
    with serve_process("--model", str(real_artifact)) as process:
        yield process


def run_clients(port: int) -> tuple[list, list]:
    """The clients, in a process of their own (infra/local/load_clients.py)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.local.load_clients",
            str(port),
            str(CLIENTS),
            str(REQUESTS_PER_CLIENT),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    run = json.loads(proc.stdout)
    results = [((lat, lon), status, body) for lat, lon, status, body, _seconds in run["results"]]
    return results, run["errors"]


def test_20_concurrent_clients_get_every_answer_right_in_flat_memory(server, real_model):
    for _ in range(300):  # warm up: first-use costs, allocator pools
        assert server.request("GET", "/?lat=39&long=-77")[0] == 200
    rss_before = server.rss_kb()
    results, errors = run_clients(server.port)
    rss_growth = server.rss_kb() - rss_before

    assert errors == []
    assert len(results) == CLIENTS * REQUESTS_PER_CLIENT
    assert [status for _, status, _ in results if status != 200] == []
    points = [point for point, _, _ in results]
    answers = [json.loads(body)["nearest"] for _, _, body in results]
    assert_batch(real_model, points, answers)  # every answer against brute force
    assert rss_growth < RSS_GROWTH_LIMIT_KB


def test_a_new_client_is_served_while_200_idle_connections_are_open(server):
    idle = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        idle[0].sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and one stalls mid-headers
        status, _, body = server.request("GET", "/?lat=39.15&long=-77.07", timeout=IDLE_TIMEOUT_S)
        open_after = sum(not closed_by_server(sock) for sock in idle)
    finally:
        for sock in idle:
            sock.close()
    assert status == 200 and json.loads(body)["nearest"]
    # Not a speed limit: had the server served the new client only once idle connections
    # timed out, they would be closed by now. Served beside them, every one is still open.
    assert open_after == IDLE_CONNECTIONS


# Slow and idle clients past the connection cap (in-process server, settings scaled down).
CAP = 100
CROWD = 150  # clients holding connections: half again the cap
DEADLINE_S = 30  # request_timeout and channel_timeout: what freed a place without the policy


def crowd(port: int, slow: bool, stop: threading.Event) -> None:
    """CROWD connections kept open: each slow one sends a header line every second (never
    idle, never whole); a closed one is opened again, as an attacker would."""

    def opened() -> socket.socket | None:
        with contextlib.suppress(OSError):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if slow:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            return sock
        return None

    socks = [opened() for _ in range(CROWD)]
    while not stop.wait(1.0):
        for i, sock in enumerate(socks):
            if sock is None or closed_by_server(sock):
                if sock is not None:
                    sock.close()
                socks[i] = opened()
            elif slow:
                with contextlib.suppress(OSError):
                    sock.send(b"X-Slow: 1\r\n")
    for sock in socks:
        if sock is not None:
            sock.close()


@pytest.mark.parametrize("slow", [True, False], ids=["slow-headers", "idle"])
def test_a_client_is_served_promptly_beside_more_slow_or_idle_clients_than_the_cap(api_and_logs, slow):
    """Once, 520 clients sending a header line every 4 s kept each new request waiting
    12 s (600 idle ones: 9.6 s): the cap was full and waitress stopped accepting. Now the
    connection waiting longest makes room. Not a speed limit: without that, no place
    frees before the DEADLINE_S timeouts, so each request would wait at least that."""
    settings = {
        "max_connections": CAP,
        "connection_limit": CAP + 10,  # waitress's hard cap, scaled down as the cap is
        "request_timeout": DEADLINE_S,
        "channel_timeout": DEADLINE_S,
    }
    stop = threading.Event()
    with http_front(api_and_logs[0].handler, **settings) as url:
        port = urlsplit(url).port
        crowding = threading.Thread(target=crowd, args=(port, slow, stop))
        crowding.start()
        try:
            time.sleep(2)  # the crowd in place, over the cap
            waits = []
            for _ in range(5):
                started = time.monotonic()
                status, _, body = request(port, "GET", "/?lat=39.15&long=-77.07", timeout=2 * DEADLINE_S)
                waits.append(time.monotonic() - started)
                assert status == 200 and json.loads(body)["nearest"]
        finally:
            stop.set()
            crowding.join(timeout=60)
    assert max(waits) < DEADLINE_S / 3, waits
