"""The model answers the true great-circle nearest stores on the real data."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chipotle_model.geo import haversine_km
from chipotle_model.training import AGREEMENT_TOLERANCE_KM, brute_force_nearest_km, evaluation_points
from tests.support.strategies import points as anywhere

TOLERANCE_KM = 1e-6  # a tie broken the other way is as correct as any


@pytest.fixture(scope="module")
def stores(real_model):
    return np.asarray(real_model.stores.latitude), np.asarray(real_model.stores.longitude)


def test_all_real_stores_are_kept(real_model, real_metadata, real_store_count):
    assert len(real_model) == real_store_count
    assert real_metadata["store_count"] == real_store_count


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
    from chipotle_model.response import RESULT_FIELDS, StoreRecords

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
    from chipotle_model.response import StoreRecords

    distances_km, indices = real_model.query(lat, lon)
    got = [
        r["distance_km"]
        for r in StoreRecords.from_table(real_model.stores).rows(distances_km[:, 0], indices[:, 0])
    ]
    want = brute_force_nearest_km(*stores, lat, lon)
    assert np.allclose(got, want, atol=1e-3)


@settings(max_examples=200, deadline=None)
@given(
    stores=st.lists(anywhere, min_size=1, max_size=50),
    points=st.lists(anywhere, min_size=1, max_size=20),
)
def test_the_brute_force_reference_is_the_haversine_minimum_anywhere(stores, points):
    s_lat, s_lon = np.array(stores).T
    lat, lon = np.array(points).T
    want = haversine_km(lat[:, None], lon[:, None], s_lat[None], s_lon[None]).min(axis=1)
    # as exact as the training check needs, also near antipodes (where both forms lose digits)
    assert np.allclose(
        brute_force_nearest_km(s_lat, s_lon, lat, lon), want, rtol=0, atol=AGREEMENT_TOLERANCE_KM
    )


def test_the_brute_force_reference_resolves_millimetres_and_checks_every_block():
    rng = np.random.default_rng(4)
    # more stores than one block and more points than one block, the nearest in the last block
    s_lat, s_lon = rng.uniform(-60, 60, 5_000), rng.uniform(-180, 180, 5_000)
    lat, lon = s_lat[-300:] + 1e-8, s_lon[-300:] - 1e-8  # ~1.5 mm from the last 300 stores
    want = haversine_km(lat[:, None], lon[:, None], s_lat[None], s_lon[None]).min(axis=1)
    got = brute_force_nearest_km(s_lat, s_lon, lat, lon)
    assert np.all(want < 2e-6)
    assert np.allclose(got, want, rtol=1e-6, atol=1e-12)
