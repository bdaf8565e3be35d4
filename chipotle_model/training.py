"""Training the nearest-store model: read the CSV, fit, check against brute force.

`train_model` is the model package's training (the seam serving.training calls): the
training CLI (`python -m chipotle_model.train`, serving.training.main) writes what it
returns. The check compares the model with a brute-force haversine search on points
over the stores' region and near stores, and fails training unless every one agrees.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from serving.training import Progress, Trained, TrainingFailed

from .data import DataError, LoadedData, load_stores
from .fetch import DEFAULT_DATA_PATH, KAGGLE_DATASET, DatasetUnavailable, ensure_dataset
from .geo import EARTH_RADIUS_KM
from .model import NearestStoreModel

EVALUATION_POINTS = 10_000  # per kind (uniform over the stores' region, and near stores) at most
# The exactness check compares each point with every store, so it costs points x stores
# distance evaluations. Its budget: checked points per kind = min(EVALUATION_POINTS,
# EVALUATION_PAIR_BUDGET // stores), at least 1: all 10,000 up to 100,000 stores, then
# fewer (1,000 at 1M stores), so the check takes a few seconds at any store count.
EVALUATION_PAIR_BUDGET = 1_000_000_000
NEAR_STORE_SPREAD_DEG = 0.5
# An answer agrees with brute force when their distances differ by at most this (1 mm):
# a tie is as right as any store, and near antipodes the two haversine forms differ by
# up to ~0.5 mm (arcsin is ill-conditioned there).
AGREEMENT_TOLERANCE_KM = 1e-6
EVALUATION_SEED = 20240101
# The brute force works on blocks of QUERY_BLOCK points x STORE_BLOCK stores: a few
# float64 buffers of that size (~4 MB each) whatever the store count.
QUERY_BLOCK = 256
STORE_BLOCK = 2048


def evaluation_point_count(store_count: int) -> int:
    """How many points of each kind the training run checks against brute force."""
    return max(1, min(EVALUATION_POINTS, EVALUATION_PAIR_BUDGET // max(store_count, 1)))


def brute_force_nearest_km(model_lat, model_lon, lat, lon) -> np.ndarray:
    """Distance to the true nearest store of each point, by the haversine formula against
    every store (the reference the model is checked with; it shares no code with it).

    Memory is the points' own arrays plus a few block-sized buffers, whatever the store
    count. The half-angle sines of the haversine formula come from
    sin(b - a) = sin b cos a - cos b sin a, with each point's and store's sines and
    cosines computed once per block: no trigonometry per pair, and an absolute error
    ~1e-16 per sine (~1e-12 km), unlike the cancellation-prone 1 - cos form.
    """
    model_lat, model_lon = np.asarray(model_lat), np.asarray(model_lon)
    points = _half_angles(lat, lon)
    best = np.full(len(points[0]), np.inf)  # the smallest haversine `a` of each point so far
    buffers = np.empty((3, QUERY_BLOCK, STORE_BLOCK))
    for s0 in range(0, len(model_lat), STORE_BLOCK):
        block_of_stores = slice(s0, s0 + STORE_BLOCK)
        stores = [c[None, :] for c in _half_angles(model_lat[block_of_stores], model_lon[block_of_stores])]
        for q0 in range(0, len(best), QUERY_BLOCK):
            block = [c[q0 : q0 + QUERY_BLOCK, None] for c in points]
            a = _haversine_a(block, stores, buffers)
            np.minimum(best[q0 : q0 + QUERY_BLOCK], a.min(axis=1), out=best[q0 : q0 + QUERY_BLOCK])
    # d = 2 R asin(sqrt(a)) increases with a: the smallest a is the nearest store
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(best, 0.0, 1.0)))


def _half_angles(lat, lon) -> list[np.ndarray]:
    """sin and cos of half the latitude and of half the longitude, and cos of the latitude."""
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    return [np.sin(phi / 2), np.cos(phi / 2), np.sin(lam / 2), np.cos(lam / 2), np.cos(phi)]


def _haversine_a(points, stores, buffers) -> np.ndarray:
    """haversine `a` = sin^2(dphi/2) + cos phi1 cos phi2 sin^2(dlambda/2) of every pair of a
    block of points (column vectors) and a block of stores (row vectors), in `buffers`."""
    sin_phi_p, cos_phi_p, sin_lam_p, cos_lam_p, cos_p = points
    sin_phi_s, cos_phi_s, sin_lam_s, cos_lam_s, cos_s = stores
    a, b, tmp = (buffer[: len(sin_phi_p), : sin_phi_s.shape[1]] for buffer in buffers)
    np.multiply(sin_phi_s, cos_phi_p, out=a)
    np.multiply(cos_phi_s, sin_phi_p, out=tmp)
    np.subtract(a, tmp, out=a)  # sin(dphi / 2)
    np.square(a, out=a)
    np.multiply(sin_lam_s, cos_lam_p, out=b)
    np.multiply(cos_lam_s, sin_lam_p, out=tmp)
    np.subtract(b, tmp, out=b)  # sin(dlambda / 2)
    np.square(b, out=b)
    np.multiply(b, cos_s, out=b)
    np.multiply(b, cos_p, out=b)
    return np.add(a, b, out=a)


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


def evaluate(model: NearestStoreModel, n: int | None = None) -> dict:
    """Agreement with brute force on n points of each kind (default: evaluation_point_count),
    and query timings (medians)."""
    stores_lat, stores_lon = model.stores.latitude, model.stores.longitude
    n = evaluation_point_count(len(model)) if n is None else n
    agreement = {}
    for kind, (lat, lon) in evaluation_points(stores_lat, stores_lon, n).items():
        got_km, _ = model.query(lat, lon)
        true_km = brute_force_nearest_km(stores_lat, stores_lon, lat, lon)
        # a different store at the same distance (a tie) is as correct as any
        agree = int(np.sum(np.abs(got_km[:, 0] - true_km) <= AGREEMENT_TOLERANCE_KM))
        agreement[kind] = {"points": len(lat), "agree": agree, "share": agree / len(lat)}
    return {
        "checked_points_rule": (
            f"per kind: min({EVALUATION_POINTS:,}, {EVALUATION_PAIR_BUDGET:,} // stores), at least 1"
        ),
        "agreement": agreement,
        "agreement_share": min(a["share"] for a in agreement.values()),
        "timings": query_timings(model),
    }


def query_timings(model: NearestStoreModel, n: int = EVALUATION_POINTS) -> dict:
    """Median time of one-point queries and of an n-point batch over the stores' region."""
    lat, lon = evaluation_points(model.stores.latitude, model.stores.longitude, n)["region"]
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
        "single_query_median_us": round(float(np.median(single)) * 1e6, 1),
        "batch_points": len(lat),
        "batch_median_ms": round(batch_s * 1e3, 2),
        "batch_points_per_second": round(len(lat) / batch_s),
    }


# The estimate printed before fitting, measured on a 2-CPU machine: the check's distance
# evaluations (at most 2 x EVALUATION_PAIR_BUDGET) dominate, then the fit, per store.
ESTIMATE_BASE_SECONDS = 0.3
ESTIMATE_SECONDS_PER_PAIR = 3e-9
ESTIMATE_SECONDS_PER_STORE = 1e-6


def estimated_seconds(store_count: int) -> float:
    pairs = 2 * evaluation_point_count(store_count) * store_count
    return (
        ESTIMATE_BASE_SECONDS + ESTIMATE_SECONDS_PER_PAIR * pairs + ESTIMATE_SECONDS_PER_STORE * store_count
    )


def data_metadata(loaded: LoadedData, data_path: Path) -> dict:
    """What the artifact, /health and the report record of the data a model was trained on."""
    return {
        "store_count": len(loaded.stores),
        "data_sha256": loaded.sha256,
        "data_file": data_path.name,
        "rows_read": loaded.rows_read,
        "duplicates_dropped": loaded.duplicates_dropped,
    }


def read(data: str | Path, progress: Progress) -> tuple[LoadedData, Path]:
    """The validated data (fetched first when the default file is absent)."""
    try:
        path = Path(data)
        if path == DEFAULT_DATA_PATH and not path.is_file():
            progress.say(f"fetching the public data set {KAGGLE_DATASET} to {path} ...")
            path = ensure_dataset(path, config_hint="--data")
        if path.is_file():
            progress.say(f"reading {path} ({path.stat().st_size:,} bytes) ...")
        loaded = load_stores(path)
    except (DataError, DatasetUnavailable) as exc:
        raise TrainingFailed(2, str(exc)) from exc
    progress.phase(
        "read",
        f"{len(loaded.stores):,} stores from {loaded.rows_read:,} rows "
        f"({loaded.duplicates_dropped:,} exact duplicates dropped)",
    )
    for warning in loaded.warnings:
        progress.say(f"warning: {warning}")
    return loaded, path


def train_model(data: Path, progress: Progress) -> Trained:
    """Read `data` (the public data set is fetched first when it is the default path and
    absent), fit the model and check it against brute force; TrainingFailed when the data
    is invalid (status 2) or the model disagrees with brute force (status 1)."""
    loaded, data_path = read(data, progress)
    count = len(loaded.stores)
    progress.say(f"fit and check {count:,} stores: about {estimated_seconds(count):.0f} s")
    model = NearestStoreModel.fit(loaded.stores)
    progress.phase("fit", f"KDTree over {count:,} stores")
    metadata = data_metadata(loaded, data_path)
    report = {**metadata, **evaluate(model)}
    agreed = sum(kind["agree"] for kind in report["agreement"].values())
    points = sum(kind["points"] for kind in report["agreement"].values())
    progress.phase("check", f"{agreed:,} of {points:,} points agree with brute force")
    if report["agreement_share"] != 1.0:
        progress.say(json.dumps(report, indent=2))
        raise TrainingFailed(1, "the model disagrees with brute force; no artifact written")
    return Trained(model, metadata, report)
