"""The local server under load: latency and throughput of `python -m chipotle_model serve`
with 20 concurrent clients, and a new client's wait beside 200 idle connections.

    .venv/bin/python -m bench.local_server_load [--clients 20] [--requests 500] [--runs 3]

The server runs as users run it, in its own process, on a model trained from the real
CSV; the clients run in another process (infra/local/load_clients.py), each sending
GETs of random US points on a new connection. Every answer is checked against brute
force. These are figures of this machine, printed with its name: the test suite asserts
only what holds on any machine (tests/handler/test_local_server_load.py).
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import support
from chipotle_model.contract import DISTANCE_TOLERANCE_KM
from chipotle_model.training import brute_force_nearest_km
from infra.local.server import serve_process
from serving.artifact import load_artifact

TARGET_P99_MS = 50  # the local server's target on 2 CPUs (docs/benchmarks.md)
IDLE_CONNECTIONS = 200


def load_run(port: int, clients: int, requests: int) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "infra.local.load_clients", str(port), str(clients), str(requests)],
        cwd=support.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    return json.loads(proc.stdout)


def wrong_answers(model, results: list) -> int:
    points = np.array([[lat, lon] for lat, lon, *_ in results])
    got = np.array([json.loads(body)["nearest"]["distance_km"] for *_, body, _ in results])
    lat, lon = model.stores.latitude, model.stores.longitude
    true_km = brute_force_nearest_km(lat, lon, points[:, 0], points[:, 1])
    return int(np.sum(np.abs(got - true_km) > DISTANCE_TOLERANCE_KM))


def idle_wait_ms(server) -> float:
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(IDLE_CONNECTIONS)]
    try:
        idle[0].sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.5)
        started = time.perf_counter()
        status, _, _ = server.request("GET", "/?lat=39.15&long=-77.07", timeout=30)
        assert status == 200
        return (time.perf_counter() - started) * 1e3
    finally:
        for sock in idle:
            sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.local_server_load", description=__doc__)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=500, help="per client")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        artifact = Path(tmp) / "model.joblib"
        train = [sys.executable, "-m", "chipotle_model.train", "--data", str(support.csv_path())]
        subprocess.run([*train, "--out", str(artifact)], check=True, capture_output=True)
        model = load_artifact(artifact).model
        rows = []
        with serve_process("--model", str(artifact)) as server:
            for _ in range(300):  # warm up, as the test does
                server.request("GET", "/?lat=39&long=-77")
            for _ in range(args.runs):
                rss_before = server.rss_kb()
                run = load_run(server.port, args.clients, args.requests)
                latencies = np.array([r[4] for r in run["results"]]) * 1e3
                p50, p99 = np.percentile(latencies, [50, 99])
                rows.append({
                    "requests": len(run["results"]),
                    "errors": len(run["errors"]),
                    "wrong": wrong_answers(model, run["results"]),
                    "rps": len(run["results"]) / run["elapsed"],
                    "p50": p50,
                    "p99": p99,
                    "max": latencies.max(),
                    "rss_growth_mb": (server.rss_kb() - rss_before) / 1024,
                    "idle_wait_ms": idle_wait_ms(server),
                })  # fmt: skip
    print(f"### Local server under load ({support.machine()})\n")
    print(f"{args.clients} clients x {args.requests} GETs, a new connection each; {args.runs} runs\n")
    print("| run | requests | errors | wrong | requests/s | p50 ms | p99 ms | max ms | RSS growth MB "
          f"| new client beside {IDLE_CONNECTIONS} idle, ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for i, r in enumerate(rows, 1):
        print(
            f"| {i} | {r['requests']:,} | {r['errors']} | {r['wrong']} | {r['rps']:,.0f} | {r['p50']:.1f} "
            f"| {r['p99']:.1f} | {r['max']:.1f} | {r['rss_growth_mb']:.1f} | {r['idle_wait_ms']:.1f} |"
        )
    median_p99 = float(np.median([r["p99"] for r in rows]))
    verdict = "met" if median_p99 < TARGET_P99_MS else "not met"
    print(f"\nmedian p99 {median_p99:.1f} ms; target p99 < {TARGET_P99_MS} ms on 2 CPUs: {verdict}")


if __name__ == "__main__":
    main()
