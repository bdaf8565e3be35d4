"""The local server under load (loopback only, bounded in count and time): 20 concurrent
clients, idle connections held open. The server runs as users run it, in its own process
(`python -m chipotle_model serve`), so its memory is its own.

What is asserted is what does not depend on the machine's speed or load: every answer
right, no error, flat memory, a new client served while idle connections stay open.
Latency and throughput are figures of `python -m bench.local_server_load`
(docs/benchmarks.md), not of a test.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from infra.local.server import serve_process
from tests.support import REPO_ROOT
from tests.support.cases import assert_batch
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
