"""Generated worlds: stores and queries anywhere on Earth, ties and duplicates."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chipotle_model.data import parse_stores
from chipotle_model.geo import haversine_km
from chipotle_model.model import NearestStoreModel
from chipotle_model.table import StoreTable
from tests.support.strategies import latitudes, longitudes, points


def table(coords) -> StoreTable:
    return StoreTable(
        state=["S"] * len(coords),
        city=[f"c{i}" for i in range(len(coords))],
        address=[f"store {i}" for i in range(len(coords))],
        latitude=[c[0] for c in coords],
        longitude=[c[1] for c in coords],
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    stores=st.lists(points, min_size=1, max_size=60),
    queries=st.lists(points, min_size=1, max_size=30),
    k=st.integers(1, 5),
)
def test_k_nearest_match_brute_force_anywhere_on_earth(stores, queries, k):
    model = NearestStoreModel.fit(table(stores))
    k = min(k, len(stores))
    lat, lon = np.array(queries).T
    got, _ = model.query(lat, lon, k=k)
    s_lat, s_lon = np.array(stores).T
    want = np.sort(haversine_km(lat[:, None], lon[:, None], s_lat[None], s_lon[None]), axis=1)[:, :k]
    assert np.allclose(got, want, rtol=0, atol=1e-6)


def test_across_the_antimeridian_the_store_on_the_other_side_wins():
    model = NearestStoreModel.fit(table([(0.0, 179.9), (0.0, -170.0)]))
    distances, indices = model.query(0.0, -179.95)
    assert indices[0, 0] == 0  # store 0
    assert distances[0, 0] < 20


def test_at_the_pole_longitude_does_not_matter():
    model = NearestStoreModel.fit(table([(89.9, 0.0), (85.0, 180.0)]))
    for lon in (-180.0, -90.0, 0.0, 45.0, 180.0):
        assert model.query(90.0, lon)[1][0, 0] == 0  # store 0


def test_ties_give_equal_distances_and_all_tied_stores():
    # Two stores at the same place (different addresses) and one farther away.
    model = NearestStoreModel.fit(table([(10.0, 10.0), (10.0, 10.0), (11.0, 10.0)]))
    distances, indices = model.query(10.2, 10.0, k=3)
    first, second, third = distances[0]
    assert first == second < third
    assert set(indices[0, :2]) == {0, 1}


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["a", "b"]), latitudes, longitudes), min_size=1, max_size=20))
def test_exact_duplicate_rows_are_dropped_and_counted(rows):
    lines = ["state,location,address,latitude,longitude"]
    lines += [f"S,C,{a},{la!r},{lo!r}" for a, la, lo in rows]
    stores, rows_read, dropped = parse_stores("\n".join(lines))
    assert rows_read == len(rows)
    assert len(stores) == len(set(rows))
    assert dropped == len(rows) - len(set(rows))
