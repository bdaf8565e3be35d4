"""Accuracy: how often the answer is not the great-circle nearest store, ours vs the original.

    .venv/bin/python -m bench.accuracy [--data ../shared/data/chipotle_stores.csv]

20,000 points uniform over the contiguous US and 20,000 points within ~50 km of a store.
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.original import train_original
from chipotle_model.data import load_stores
from chipotle_model.geo import haversine_km
from chipotle_model.model import NearestStoreModel
from chipotle_model.training import brute_force_nearest_km

POINTS = 20_000
CONTIGUOUS_US = ((24.5, 49.4), (-124.8, -66.9))
TOLERANCE_KM = 1e-6


def query_sets(lat, lon, n: int, seed: int = 42):
    rng = np.random.default_rng(seed)
    (lat_lo, lat_hi), (lon_lo, lon_hi) = CONTIGUOUS_US
    us = (rng.uniform(lat_lo, lat_hi, n), rng.uniform(lon_lo, lon_hi, n))
    pick = rng.integers(0, len(lat), n)
    near = (lat[pick] + rng.uniform(-0.45, 0.45, n), lon[pick] + rng.uniform(-0.45, 0.45, n))
    return {"over the contiguous US": us, "near stores": near}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="../shared/data/chipotle_stores.csv")
    args = parser.parse_args()
    loaded = load_stores(args.data)
    ours = NearestStoreModel.fit(loaded.stores)
    original = train_original(args.data)
    lat, lon = np.asarray(loaded.stores.latitude), np.asarray(loaded.stores.longitude)
    where = {address: i for i, address in enumerate(loaded.stores.address)}

    print(f"{len(lat)} stores; share of answers that are not the great-circle nearest store\n")
    print("| queries | points | ours: wrong | original: wrong | original: median / max extra km when wrong |")
    print("|---|---|---|---|---|")
    for name, (q_lat, q_lon) in query_sets(lat, lon, POINTS).items():
        truth = brute_force_nearest_km(lat, lon, q_lat, q_lon)
        ours_km, _ = ours.query(q_lat, q_lon)
        ours_wrong = np.mean(ours_km[:, 0] - truth > TOLERANCE_KM)
        picked = np.array([where[a] for a in original.predict(np.column_stack([q_lat, q_lon]))])
        extra = haversine_km(q_lat, q_lon, lat[picked], lon[picked]) - truth
        wrong = extra > TOLERANCE_KM
        print(
            f"| {name} | {len(q_lat):,} | {ours_wrong:.2%} | {np.mean(wrong):.2%} "
            f"| {np.median(extra[wrong]):.1f} / {np.max(extra):.0f} |"
        )


if __name__ == "__main__":
    main()
