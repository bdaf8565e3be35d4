"""What the browser page costs the API: the warm GET /?lat&long with the content
negotiation hook vs the same API with the hook switched off, interleaved in rounds; INIT
in process (create_api) with and without the page's (lazy) construction; the import of
chipotle_model.page; and the page itself, built on the first browser request, then kept.

    .venv/bin/python -m bench.page [--requests 5000]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

import numpy as np

import chipotle_model
from bench import support
from chipotle_model import page
from serving.api import LocalContext, create_api, make_logger
from serving.events import http_event

ROUNDS = 10
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@functools.cache
def devnull():
    return open(os.devnull, "w")  # lives as long as the process


def quietly(fn, *args):
    """fn(*args) with stdout discarded: the APIs print an EMF metric record per request."""
    with contextlib.redirect_stdout(devnull()):
        return fn(*args)


@functools.cache
def quiet_logger():
    """Powertools keys loggers by service name: one logger (to /dev/null) for every API made here."""
    return make_logger("bench-page", logger_handler=logging.StreamHandler(devnull()))


def quiet_api(artifact):
    return create_api(chipotle_model, artifact, logger=quiet_logger())


def warm_get(artifact, requests: int) -> dict[str, list[float]]:
    """The same API answering the same GETs, with and without the page hook."""
    model = artifact.model
    lat, lon = np.asarray(model.stores.latitude), np.asarray(model.stores.longitude)
    events = [support.point_event(float(a), float(b)) for a, b in support.query_points(lat, lon, requests)]
    context = LocalContext()
    api = quiet_api(artifact)
    hooks = {
        "GET /?lat&long, with the page hook": page.wants_page,
        "the same, hook off": lambda request: False,
    }
    times: dict[str, list[float]] = {name: [] for name in hooks}
    per_round = max(1, requests // ROUNDS)
    try:
        for r in range(ROUNDS):
            chunk = [(e, context) for e in events[r * per_round : (r + 1) * per_round]]
            for name, hook in hooks.items():
                page.wants_page = hook
                times[name] += support.time_calls(api.handler, chunk)
    finally:
        page.wants_page = hooks["GET /?lat&long, with the page hook"]
    return times


def init_in_process(artifact, runs: int) -> dict[str, list[float]]:
    """create_api (the handler's INIT after the model is loaded), with and without the page."""
    real_store_page = page.StorePage
    times: dict[str, list[float]] = {"create_api, as shipped": [], "create_api, no page object": []}
    for _ in range(runs):
        for name in times:
            if name.endswith("no page object"):
                page.StorePage = lambda *a, **k: None
            started = time.perf_counter()
            quiet_api(artifact)
            times[name].append(time.perf_counter() - started)
            page.StorePage = real_store_page
    return times


def page_import_us(runs: int) -> float:
    """Self time of importing chipotle_model.page in a fresh interpreter (python -X importtime),
    after everything else serving.api imports, as the handler imports them."""
    selfs = []
    with tempfile.TemporaryDirectory() as pycache:
        # bytecode compiled once, as the serving image has it (compileall at build time)
        env = {**os.environ, "PYTHONPYCACHEPREFIX": pycache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        for run in range(runs + 1):
            proc = subprocess.run(
                [sys.executable, "-X", "importtime", "-c", "import serving.api, chipotle_model"],
                capture_output=True, text=True, check=True, env=env, cwd=support.REPO_ROOT,
            )  # fmt: skip
            selfs += [
                int(line.split(":")[1].split("|")[0])
                for line in proc.stderr.splitlines()
                if run and line.rstrip().endswith("chipotle_model.page")
            ]
    return float(np.median(selfs))


def page_answers(artifact, runs: int) -> tuple[float, list[float], int]:
    """The first browser request (renders the page) and the ones after it (kept)."""
    api = quiet_api(artifact)
    event = http_event("GET", "/", headers={"accept": BROWSER_ACCEPT})
    started = time.perf_counter()
    first = api.handler(event, LocalContext())
    first_s = time.perf_counter() - started
    later = support.time_calls(api.handler, [(event, LocalContext())] * runs)
    return first_s, later, len(first["body"].encode())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    artifact = support.real_artifact()
    stores = len(artifact.model)
    print(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {support.machine()}, {stores:,} stores\n")

    times = quietly(warm_get, artifact, args.requests)
    print(f"### Warm GET /?lat&long in process ({args.requests:,} events, interleaved)\n")
    print("| handler | p50 ms | p99 ms | p50 ratio |\n|---|---|---|---|")
    base = np.median(times["the same, hook off"])
    for name, values in times.items():
        p50, p99 = np.median(values), support.pct(values, 99)
        print(f"| {name} | {p50 * 1e3:.3f} | {p99 * 1e3:.3f} | {p50 / base:.3f}x |")

    inits = quietly(init_in_process, artifact, 15)
    print("\n### INIT in process after the model is loaded (15 runs each, interleaved)\n")
    print("| step | median ms |\n|---|---|")
    for name, values in inits.items():
        print(f"| {name} | {np.median(values) * 1e3:.2f} |")
    print(f"| import chipotle_model.page (self time, -X importtime) | {page_import_us(5) / 1e3:.2f} |")

    first_s, later, size = quietly(page_answers, artifact, 500)
    print("\n### GET / from a browser (the page)\n")
    print("| request | ms | bytes |\n|---|---|---|")
    print(f"| first (renders the page) | {first_s * 1e3:.2f} | {size:,} |")
    print(f"| later (kept), median of {len(later)} | {np.median(later) * 1e3:.3f} | {size:,} |")


if __name__ == "__main__":
    main()
