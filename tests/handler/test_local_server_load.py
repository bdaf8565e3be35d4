"""The local server under load (loopback only, bounded in count and time): 20 concurrent
clients, idle connections held open. The server runs as users run it, in its own process
(`python -m chipotle_model serve`), so its latency and memory are its own."""

from __future__ import annotations

import gc
import http.client
import json
import socket
import sys
import threading
import time

import numpy as np
import pytest

from chipotle_model.server import SWITCH_INTERVAL_SECONDS
from tests.support.cases import assert_batch
from tests.support.local_server import serve_process

CLIENTS = 20
REQUESTS_PER_CLIENT = 500
P99_LIMIT_MS = 50
RSS_GROWTH_LIMIT_KB = 10 * 1024
IDLE_CONNECTIONS = 200


@pytest.fixture(scope="module")
def server(real_artifact):
    with serve_process("--model", str(real_artifact)) as process:
        yield process


def one_client(port: int, seed: int, results: list, errors: list) -> None:
    """REQUESTS_PER_CLIENT GETs of random US points, each on a new connection (as curl or
    a browser without keep-alive does: every request goes through the listen backlog)."""
    rng = np.random.default_rng(seed)
    for _ in range(REQUESTS_PER_CLIENT):
        lat, lon = float(rng.uniform(25, 49)), float(rng.uniform(-124, -67))
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", f"/?lat={lat!r}&long={lon!r}")
            response = connection.getresponse()
            status, body = response.status, response.read()
        except OSError as exc:
            errors.append(repr(exc))
            continue
        finally:
            connection.close()
        results.append(((lat, lon), status, body, time.perf_counter() - started))


def run_clients(port: int) -> tuple[list, list, float]:
    results: list = []
    errors: list = []
    threads = [
        threading.Thread(target=one_client, args=(port, seed, results, errors)) for seed in range(CLIENTS)
    ]
    # The client threads share this process: keep its collector (the test run's heap is large)
    # and its GIL hand-offs from adding their pauses to the server's latency.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    gc.disable()
    try:
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        return results, errors, time.perf_counter() - started
    finally:
        gc.enable()
        sys.setswitchinterval(switch_interval)


def test_20_concurrent_clients_get_every_answer_right_quickly_in_flat_memory(
    server, real_model, measurements
):
    for _ in range(300):  # warm up: first-use costs, allocator pools
        assert server.request("GET", "/?lat=39&long=-77")[0] == 200
    rss_before = server.rss_kb()
    results, errors, elapsed = run_clients(server.port)
    rss_growth = server.rss_kb() - rss_before

    assert errors == []
    assert len(results) == CLIENTS * REQUESTS_PER_CLIENT
    assert [status for _, status, _, _ in results if status != 200] == []
    points = [point for point, _, _, _ in results]
    answers = [json.loads(body)["nearest"] for _, _, body, _ in results]
    assert_batch(real_model, points, answers)  # every answer against brute force
    latencies_ms = np.array([seconds for _, _, _, seconds in results]) * 1e3
    p50, p99 = np.percentile(latencies_ms, [50, 99])
    measurements.append(
        f"local server load: {CLIENTS} clients x {REQUESTS_PER_CLIENT} requests (new connection each): "
        f"0 errors, 0 wrong; {len(results) / elapsed:,.0f} requests/s; p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms, max {latencies_ms.max():.1f} ms; RSS growth {rss_growth / 1024:.1f} MB"
    )
    assert p99 < P99_LIMIT_MS
    assert rss_growth < RSS_GROWTH_LIMIT_KB


def test_200_idle_connections_do_not_keep_a_new_client_waiting(server, measurements):
    idle = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            idle.append(sock)
        idle[0].sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and one stalls mid-headers
        time.sleep(0.5)  # all accepted by now
        started = time.perf_counter()
        status, _, body = server.request("GET", "/?lat=39.15&long=-77.07", timeout=5)
        waited_ms = (time.perf_counter() - started) * 1e3
    finally:
        for sock in idle:
            sock.close()
    measurements.append(
        f"local server: a new client answered in {waited_ms:.1f} ms beside {IDLE_CONNECTIONS} idle ones"
    )
    assert status == 200 and json.loads(body)["nearest"]
    assert waited_ms < 1000
