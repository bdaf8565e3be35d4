"""Batch throughput: points per second for one 10,000-point `POST /`, in process (the full
handler, JSON body in, JSON body out) and through the RIE in the serving container.

    .venv/bin/python -m bench.batch [--repeats 20]

Every answer is checked against brute force. "model.query + records" is the vectorised
query plus the answer's records without HTTP; the RIE rows use its REPORT Duration and the
client's wall time (which adds moving ~1.6 MB of JSON through the emulator).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime

import numpy as np

from bench import support
from chipotle_model.params import MAX_POINTS
from chipotle_model.response import StoreRecords
from chipotle_model.training import brute_force_nearest_km
from serving.api import LocalContext

TARGET_POINTS_PER_S = 100_000


def wrong_answers(body: str, truth_km: np.ndarray) -> int:
    got = np.array([r["distance_km"] for r in json.loads(body)["results"]])
    return int(np.sum(np.abs(got - np.round(truth_km, 3)) > 5e-4))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    n = MAX_POINTS
    artifact = support.real_artifact()
    model = artifact.model
    api = support.quiet_api(artifact)
    lat, lon = np.asarray(model.stores.latitude), np.asarray(model.stores.longitude)
    points = support.query_points(lat, lon, n, seed=5)
    truth = brute_force_nearest_km(lat, lon, points[:, 0], points[:, 1])
    event = support.points_event(points)
    context = LocalContext()
    records = StoreRecords.from_table(model.stores)

    wrong = wrong_answers(api.handler(event, context)["body"], truth)
    handler_s, batch_s = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        api.handler(event, context)
        handler_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        distances, indices = model.query(points[:, 0], points[:, 1])
        records.rows(distances[:, 0], indices[:, 0])
        batch_s.append(time.perf_counter() - t0)

    base = support.base_image()
    image, _ = support.serving_image(base)
    wall_s = []
    with support.LambdaContainer(image) as container:
        for i in range(args.repeats + 1):
            t0 = time.perf_counter()
            response = container.invoke(event, timeout=60)
            if i:
                wall_s.append(time.perf_counter() - t0)
        wrong += wrong_answers(response["body"], truth)
        reported_s = [d / 1e3 for d in container.durations_ms(args.repeats + 1)[1:]]

    print(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {support.machine()}\n")
    print(
        f"### One {n:,}-point `POST /` (medians of {args.repeats}; body {len(event['body']) / 1e6:.2f} MB)\n"
    )
    print(f"Wrong answers against brute force: {wrong} of {2 * n:,} (in process + through the RIE)\n")
    print("| path | ms per request | points/s |")
    print("|---|---|---|")
    for name, values in (
        ("model.query + records (no HTTP)", batch_s),
        ("full handler in process (JSON in, JSON out)", handler_s),
        ("through the RIE: REPORT Duration", reported_s),
        ("through the RIE: client wall time", wall_s),
    ):
        seconds = support.median(values)
        print(f"| {name} | {seconds * 1e3:.1f} | {n / seconds:,.0f} |")
    worst = n / support.median(reported_s)
    print(
        f"\nTarget: >= {TARGET_POINTS_PER_S:,} points/s in one batch request: "
        f"{support.met(worst >= TARGET_POINTS_PER_S)} ({worst:,.0f} points/s by the RIE's Duration; "
        f"{n / support.median(handler_s):,.0f} in process)\n"
    )


if __name__ == "__main__":
    main()
