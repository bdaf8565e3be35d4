"""Which exact great-circle index to use: KDTree on unit vectors, haversine BallTree,
or the NearestNeighbors wrapper. Prints medians and ratios measured in one run.

    .venv/bin/python -m bench.model_choice [--data ../shared/data/chipotle_stores.csv]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.neighbors import BallTree, KDTree, NearestNeighbors

from chipotle_model.data import load_stores
from chipotle_model.geo import haversine_km, unit_vectors
from chipotle_model.training import brute_force_nearest_km, evaluation_points


def median_seconds(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="../shared/data/chipotle_stores.csv")
    args = parser.parse_args()
    stores = load_stores(args.data).stores
    lat, lon = np.asarray(stores.latitude), np.asarray(stores.longitude)
    qlat, qlon = evaluation_points(lat, lon, 10_000)["region"]
    radians = np.radians(np.column_stack([lat, lon]))
    q_radians = np.radians(np.column_stack([qlat, qlon]))
    q_unit = unit_vectors(qlat, qlon)

    kd = KDTree(unit_vectors(lat, lon))
    ball = BallTree(radians, metric="haversine")
    wrapper = NearestNeighbors(n_neighbors=1, algorithm="kd_tree").fit(unit_vectors(lat, lon))
    candidates = {
        "KDTree, 3-D unit vectors": (lambda q: kd.query(q, k=1)[1], q_unit),
        "BallTree, haversine": (lambda q: ball.query(q, k=1)[1], q_radians),
        "NearestNeighbors(kd_tree), unit vectors": (lambda q: wrapper.kneighbors(q)[1], q_unit),
    }
    truth = brute_force_nearest_km(lat, lon, qlat, qlon)
    rows = []
    for name, (query, points) in candidates.items():
        idx = query(points)[:, 0]
        wrong = int(np.sum(haversine_km(qlat, qlon, lat[idx], lon[idx]) - truth > 1e-6))
        single = median_seconds(lambda q=query, p=points: q(p[:1]), 3000)
        batch = median_seconds(lambda q=query, p=points: q(p), 30)
        rows.append((name, wrong, single * 1e6, batch * 1e3))
    base_single, base_batch = rows[0][2], rows[0][3]
    print(f"{len(lat)} stores, {len(qlat)} query points; medians\n")
    print("| index | wrong | single query µs | ratio | batch of 10,000 ms | ratio |")
    print("|---|---|---|---|---|---|")
    for name, wrong, single, batch in rows:
        print(
            f"| {name} | {wrong} | {single:.1f} | {single / base_single:.2f}x "
            f"| {batch:.2f} | {batch / base_batch:.2f}x |"
        )


if __name__ == "__main__":
    main()
