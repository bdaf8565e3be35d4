"""The model answers the true great-circle nearest stores on the real data."""

import numpy as np
import pytest

from chipotle_model.geo import haversine_km
from chipotle_model.train import brute_force_nearest_km, evaluation_points

TOLERANCE_KM = 1e-6  # a tie broken the other way is as correct as any


@pytest.fixture(scope="module")
def stores(real_model):
    return np.asarray(real_model.stores.latitude), np.asarray(real_model.stores.longitude)


def test_all_real_stores_are_kept(real_model, real_store_count):
    assert len(real_model) == real_store_count
    assert real_model.metadata["store_count"] == real_store_count


def test_exact_on_random_points_over_the_contiguous_us(real_model, stores):
    rng = np.random.default_rng(1)
    lat, lon = rng.uniform(24.5, 49.5, 10_000), rng.uniform(-125.0, -66.9, 10_000)
    got, _ = real_model.query(lat, lon)
    want = brute_force_nearest_km(*stores, lat, lon)
    assert np.max(np.abs(got[:, 0] - want)) <= TOLERANCE_KM


def test_exact_on_points_near_stores(real_model, stores):
    lat, lon = evaluation_points(*stores, 10_000, seed=7)["near_stores"]
    got, _ = real_model.query(lat, lon)
    want = brute_force_nearest_km(*stores, lat, lon)
    assert np.max(np.abs(got[:, 0] - want)) <= TOLERANCE_KM


def test_k_nearest_are_the_k_smallest_distances_in_order(real_model, stores):
    rng = np.random.default_rng(2)
    lat, lon = rng.uniform(24.5, 49.5, 500), rng.uniform(-125.0, -66.9, 500)
    got, _ = real_model.query(lat, lon, k=20)
    all_d = haversine_km(lat[:, None], lon[:, None], stores[0][None], stores[1][None])
    want = np.sort(all_d, axis=1)[:, :20]
    assert np.max(np.abs(got - want)) <= TOLERANCE_KM


def test_nearest_returns_the_documented_fields(real_model, stores):
    from chipotle_model import RESULT_FIELDS, StoreRecords

    # the README's example query (Bethesda, MD)
    distances_km, indices = real_model.query(39.153198, -77.066176, k=3)
    results = StoreRecords.from_table(real_model.stores).rows(distances_km[0], indices[0])
    assert [list(r) for r in results] == [list(RESULT_FIELDS)] * 3
    distances = [r["distance_km"] for r in results]
    assert distances == sorted(distances)
    true_km = brute_force_nearest_km(*stores, np.array([39.153198]), np.array([-77.066176]))[0]
    assert results[0]["distance_km"] == pytest.approx(true_km, abs=1e-3)
    assert results[0]["distance_miles"] == pytest.approx(true_km / 1.609344, abs=1e-3)


def test_nearest_batch_matches_brute_force_in_input_order(real_model, stores):
    lat, lon = evaluation_points(*stores, 2_000, seed=3)["region"]
    from chipotle_model import StoreRecords

    distances_km, indices = real_model.query(lat, lon)
    got = [
        r["distance_km"]
        for r in StoreRecords.from_table(real_model.stores).rows(distances_km[:, 0], indices[:, 0])
    ]
    want = brute_force_nearest_km(*stores, lat, lon)
    assert np.allclose(got, want, atol=1e-3)
