"""Scale: training stays in bounded memory and exact on a synthesised 200,000-store file.

The full scale benchmark (10k to millions of stores) is `python -m bench.scale`; this is
the bounded part CI runs (~20 s here).
"""

import json
import sys
import tracemalloc

import numpy as np
import pytest

from chipotle_model.synthetic import write_synthetic_csv
from chipotle_model.training import (
    EVALUATION_PAIR_BUDGET,
    EVALUATION_POINTS,
    brute_force_nearest_km,
    estimated_seconds,
    evaluation_point_count,
    evaluation_points,
)
from infra.local.measure import run_measured
from serving.artifact import load_artifact

STORES = 200_000
# Measured ~0.45 GB here. Before the bounded check, the brute force alone needed
# ~11 GB at this size (1,024 x 200,000 float64 temporaries).
PEAK_RSS_LIMIT_MB = 1_000
BRUTE_FORCE_LIMIT_MB = 20  # its block buffers (~13 MB), whatever the store count
SAMPLED_POINTS = 2_000


@pytest.fixture(scope="module")
def trained(real_csv, tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale")
    csv = write_synthetic_csv(folder / "stores.csv", STORES, real_csv)
    artifact, report = folder / "model.joblib", folder / "report.json"
    train = [sys.executable, "-m", "chipotle_model.train", "--data", str(csv)]
    run = run_measured([*train, "--out", str(artifact), "--report", str(report)])
    assert run.returncode == 0, run.stderr[-3000:]
    return run, artifact, json.loads(report.read_text())


def test_training_200k_stores_stays_under_the_peak_rss_limit(trained, measurements):
    run, _, report = trained
    measurements.append(
        f"training on {STORES:,} stores: {run.seconds:.1f} s, peak RSS {run.peak_rss_mb:.0f} MB"
    )
    assert report["store_count"] == STORES
    assert run.peak_rss_mb < PEAK_RSS_LIMIT_MB


def test_the_report_states_the_rule_and_every_checked_point_agrees(trained):
    _, _, report = trained
    assert report["checked_points_rule"].startswith(f"per kind: min({EVALUATION_POINTS:,}")
    for kind in ("region", "near_stores"):
        agreement = report["agreement"][kind]
        assert agreement["points"] == evaluation_point_count(STORES) == EVALUATION_PAIR_BUDGET // STORES
        assert agreement["agree"] == agreement["points"]


def test_the_estimate_is_printed_before_fitting(trained):
    """Its accuracy on a machine is a figure of bench.training_estimate, not of a test."""
    run, _, _ = trained
    estimate = f"fit and check {STORES:,} stores: about {estimated_seconds(STORES):.0f} s"
    lines = run.stderr.splitlines()
    assert estimate in lines
    assert lines.index(estimate) < next(i for i, line in enumerate(lines) if line.startswith("fit: "))


def test_answers_are_exact_on_sampled_points(trained):
    _, artifact, _ = trained
    model = load_artifact(artifact).model
    stores = model.stores.latitude, model.stores.longitude
    for kind, (lat, lon) in evaluation_points(*stores, SAMPLED_POINTS // 2, seed=99).items():
        got, _ = model.query(lat, lon)
        assert np.max(np.abs(got[:, 0] - brute_force_nearest_km(*stores, lat, lon))) <= 1e-6, kind


def test_the_checked_points_fall_with_the_store_count_to_bound_the_cost():
    counts = {n: evaluation_point_count(n) for n in (1, 2_629, 100_000, 200_000, 1_000_000, 10**10)}
    assert counts == {1: 10_000, 2_629: 10_000, 100_000: 10_000, 200_000: 5_000, 1_000_000: 1_000, 10**10: 1}
    assert all(n * c <= EVALUATION_PAIR_BUDGET for n, c in counts.items() if c > 1)


@pytest.mark.parametrize("store_count", [20_000, 400_000])
def test_the_brute_force_memory_does_not_grow_with_the_store_count(store_count):
    rng = np.random.default_rng(8)
    s_lat, s_lon = rng.uniform(-90, 90, store_count), rng.uniform(-180, 180, store_count)
    lat, lon = rng.uniform(-90, 90, 600), rng.uniform(-180, 180, 600)
    tracemalloc.start()  # numpy reports its allocations to tracemalloc
    try:
        brute_force_nearest_km(s_lat, s_lon, lat, lon)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak / 1e6 < BRUTE_FORCE_LIMIT_MB
