"""The answers `smoke` compares with: the known answers of the default data set
(chipotle_model.known_answers), proved here by a brute force of this test's own against
the real CSV; and the reference's ties, which accept any store as near."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from chipotle_model import known_answers
from chipotle_model.contract import _right_stores
from chipotle_model.data import load_stores
from chipotle_model.reference import (
    DISTANCE_TOLERANCE_KM,
    README_QUERY,
    brute_force,
    from_csv,
    known,
    known_answers_module,
    sample_points,
)
from chipotle_model.table import StoreTable
from serving.contract import ContractBroken

EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lat, lon, lats, lons) -> np.ndarray:
    """The haversine formula, written out here so the proof shares no code with the package."""
    p1, p2 = np.radians(lat), np.radians(np.asarray(lats))
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(np.asarray(lons) - lon) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


@pytest.fixture(scope="module")
def stores(real_csv):
    return load_stores(real_csv).stores


def test_the_table_is_of_the_default_data_set(real_csv, real_store_count):
    assert hashlib.sha256(real_csv.read_bytes()).hexdigest() == known_answers.DATA_SHA256
    assert real_store_count == known_answers.STORE_COUNT
    assert README_QUERY in known_answers.ANSWERS and len(known_answers.ANSWERS) >= 10
    assert any(k > 1 for _, k in known_answers.ANSWERS)


@pytest.mark.parametrize("query", list(known_answers.ANSWERS), ids=str)
def test_each_known_answer_is_the_brute_force_nearest_with_no_tie(stores, query):
    (lat, lon), k = query
    km = great_circle_km(lat, lon, stores.latitude, stores.longitude)
    order = np.argsort(km)[: k + 1]
    want = [
        (stores.address[i], stores.city[i], stores.state[i], stores.latitude[i], stores.longitude[i])
        for i in order[:k]
    ]
    rows = known_answers.ANSWERS[query]
    assert [row[:5] for row in rows] == want
    assert np.allclose([row[5] for row in rows], km[order[:k]], atol=1e-6, rtol=0)
    # no tie: the next store is farther than the API's rounding, so the answer is unique
    assert np.all(np.diff(km[order]) > 2 * DISTANCE_TOLERANCE_KM)


def test_the_table_is_what_the_generator_writes_for_the_default_data(real_csv):
    namespace: dict = {}
    exec(known_answers_module(from_csv(real_csv)), namespace)
    assert namespace["ANSWERS"] == known_answers.ANSWERS
    assert known().cases.keys() == from_csv(real_csv).cases.keys()


def test_the_sample_is_the_same_every_time_and_spread(stores):
    points = sample_points(stores)
    assert points == sample_points(stores) and len(set(points)) == len(points) == 11
    on_a_store = [p for p in points if great_circle_km(*p, stores.latitude, stores.longitude).min() < 1e-3]
    assert len(on_a_store) >= 3


def _two_stores_at_one_place() -> StoreTable:
    return StoreTable(
        state=["MD", "MD", "VA"],
        city=["Olney", "Olney", "Arlington"],
        address=["1 Mall Rd, unit A", "1 Mall Rd, unit B", "9 Far Rd"],
        latitude=[39.15, 39.15, 38.88],
        longitude=[-77.06, -77.06, -77.10],
    )


def _answer(stores: StoreTable, point, order) -> list[dict]:
    records = []
    for i in order:
        km = round(float(great_circle_km(*point, stores.latitude[i], stores.longitude[i])), 3)
        records.append(
            {
                "address": stores.address[i],
                "city": stores.city[i],
                "state": stores.state[i],
                "latitude": float(stores.latitude[i]),
                "longitude": float(stores.longitude[i]),
                "distance_km": km,
                "distance_miles": round(km / 1.609344, 3),
            }
        )
    return records


def test_tied_stores_are_accepted_in_either_order_but_not_twice_or_out_of_rank():
    stores, point = _two_stores_at_one_place(), (39.16, -77.07)
    case = brute_force(stores, point, 2)
    assert [len(rank.stores) for rank in case.ranks] == [2, 2]
    _right_stores(case, _answer(stores, point, [0, 1]), "ties")
    _right_stores(case, _answer(stores, point, [1, 0]), "ties")
    with pytest.raises(ContractBroken, match="again"):
        _right_stores(case, _answer(stores, point, [0, 0]), "ties")
    with pytest.raises(ContractBroken, match="store 2: expected '1 Mall Rd, unit"):
        _right_stores(case, _answer(stores, point, [0, 2]), "ties")
