"""Training CLI: CSV in, model artifact (and evaluation report) out.

    python -m chipotle_model.train --data CSV --out ARTIFACT [--report REPORT.json]

Exit status: 0 trained; 1 the model failed its exactness check; 2 bad input
(the error, naming line and column, on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from .data import DataError, LoadedData, load_stores
from .fetch import DEFAULT_DATA_PATH, DatasetUnavailable, ensure_dataset
from .geo import haversine_km
from .model import NearestStoreModel

EVALUATION_POINTS = 10_000  # per kind: uniform over the stores' region, and near stores
NEAR_STORE_SPREAD_DEG = 0.5
EVALUATION_SEED = 20240101


def brute_force_nearest_km(model_lat, model_lon, lat, lon, chunk: int = 1024) -> np.ndarray:
    """Distance to the true nearest store by checking every store (the reference)."""
    best = np.empty(len(lat))
    for start in range(0, len(lat), chunk):
        stop = start + chunk
        d = haversine_km(lat[start:stop, None], lon[start:stop, None], model_lat[None], model_lon[None])
        best[start:stop] = d.min(axis=1)
    return best


def evaluation_points(stores_lat, stores_lon, n: int, seed: int = EVALUATION_SEED):
    """n points uniform over the stores' bounding box (padded) and n points near stores."""
    rng = np.random.default_rng(seed)
    lat_lo, lat_hi = max(np.min(stores_lat) - 2, -90), min(np.max(stores_lat) + 2, 90)
    lon_lo, lon_hi = max(np.min(stores_lon) - 2, -180), min(np.max(stores_lon) + 2, 180)
    region = (rng.uniform(lat_lo, lat_hi, n), rng.uniform(lon_lo, lon_hi, n))
    pick = rng.integers(0, len(stores_lat), n)
    spread = rng.uniform(-NEAR_STORE_SPREAD_DEG, NEAR_STORE_SPREAD_DEG, (2, n))
    near = (
        np.clip(stores_lat[pick] + spread[0], -90, 90),
        (stores_lon[pick] + spread[1] + 180) % 360 - 180,
    )
    return {"region": region, "near_stores": near}


def evaluate(model: NearestStoreModel, n: int = EVALUATION_POINTS) -> dict:
    """Agreement with brute force, and query timings (medians)."""
    stores_lat = np.asarray(model.stores.latitude)
    stores_lon = np.asarray(model.stores.longitude)
    agreement = {}
    for kind, (lat, lon) in evaluation_points(stores_lat, stores_lon, n).items():
        got_km, _ = model.query(lat, lon)
        true_km = brute_force_nearest_km(stores_lat, stores_lon, lat, lon)
        # a different store at the same distance (a tie) is as correct as any
        agree = int(np.sum(np.abs(got_km[:, 0] - true_km) <= 1e-6))
        agreement[kind] = {"points": len(lat), "agree": agree, "share": agree / len(lat)}

    lat, lon = evaluation_points(stores_lat, stores_lon, n)["region"]
    single = []
    for i in range(min(n, 2000)):
        t0 = time.perf_counter()
        model.query(float(lat[i]), float(lon[i]))
        single.append(time.perf_counter() - t0)
    batch = []
    for _ in range(5):
        t0 = time.perf_counter()
        model.query(lat, lon)
        batch.append(time.perf_counter() - t0)
    batch_s = float(np.median(batch))
    return {
        "agreement": agreement,
        "agreement_share": min(a["share"] for a in agreement.values()),
        "timings": {
            "single_query_median_us": round(float(np.median(single)) * 1e6, 1),
            "batch_points": len(lat),
            "batch_median_ms": round(batch_s * 1e3, 2),
            "batch_points_per_second": round(len(lat) / batch_s),
        },
    }


def train(loaded: LoadedData, *, data_path: str = "") -> NearestStoreModel:
    model = NearestStoreModel.fit(
        loaded.stores,
        data_sha256=loaded.sha256,
        data_file=Path(data_path).name,
        rows_read=loaded.rows_read,
        duplicates_dropped=loaded.duplicates_dropped,
    )
    model.metadata["report"] = {
        "store_count": len(model),
        "data_sha256": loaded.sha256,
        "rows_read": loaded.rows_read,
        "duplicates_dropped": loaded.duplicates_dropped,
        **evaluate(model),
    }
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m chipotle_model.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--data", default=str(DEFAULT_DATA_PATH), help="store CSV (default: %(default)s, fetched when absent)"
    )
    parser.add_argument("--out", required=True, help="where to write the model artifact (joblib)")
    parser.add_argument("--report", help="also write the evaluation report here (JSON)")
    args = parser.parse_args(argv)
    try:
        data_path = args.data
        if Path(data_path) == DEFAULT_DATA_PATH:
            data_path = ensure_dataset(data_path, config_hint="--data")
        loaded = load_stores(data_path)
    except (DataError, DatasetUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    model = train(loaded, data_path=str(data_path))
    report = model.metadata["report"]
    text = json.dumps(report, indent=2)
    if report["agreement_share"] != 1.0:
        print(text, file=sys.stderr)
        print("error: the model disagrees with brute force; no artifact written", file=sys.stderr)
        return 1
    model.save(args.out)
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(text + "\n")
    print(text)
    print(f"wrote {args.out}: {len(model)} stores", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
