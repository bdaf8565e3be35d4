"""The nearest-store API's own contract checks, run by `python -m chipotle_model smoke URL`
before the platform's (serving.contract): the README's examples (distances consistent with
the stores' own coordinates, nearest first), a batch, the store count on /health and every
documented error of the nearest-store routes."""

from __future__ import annotations

import json

from serving.contract import Check, Contract, error_answer, expect, json_answer

from .geo import haversine_km
from .params import MAX_POINTS
from .response import RESULT_FIELDS

DISTANCE_TOLERANCE_KM = 1.5e-3  # answers are rounded to the metre
README_POINT = (39.153198, -77.066176)


def _stores_near(point: tuple[float, float], stores: list, k: int) -> None:
    expect(isinstance(stores, list) and len(stores) == k, f"expected {k} stores, got {stores!r:.200}")
    distances = []
    for store in stores:
        expect(
            list(store) == list(RESULT_FIELDS),
            f"a store's fields are {list(store)}, expected {RESULT_FIELDS}",
        )
        own = float(haversine_km(point[0], point[1], store["latitude"], store["longitude"]))
        expect(
            abs(store["distance_km"] - own) <= DISTANCE_TOLERANCE_KM,
            f"distance_km {store['distance_km']} but the store is {own:.3f} km from {point}",
        )
        distances.append(store["distance_km"])
    expect(distances == sorted(distances), f"stores not nearest first: {distances}")


# --- the checks, in the order of the API reference -------------------------------------


def nearest_store(contract: Contract) -> None:
    lat, lon = README_POINT
    body = json_answer(contract.request("GET", f"?lat={lat}&long={lon}"), 200)
    expect(
        body.get("query") == {"latitude": lat, "longitude": lon, "k": 1},
        f"query echoed as {body.get('query')}",
    )
    _stores_near(README_POINT, body.get("stores"), 1)
    expect(body["nearest"] == body["stores"][0], "nearest is not the first of stores")


def k_nearest_with_an_alias(contract: Contract) -> None:
    point = (40.712776, -74.005974)
    body = json_answer(contract.request("GET", f"?lat={point[0]}&lng={point[1]}&k=3"), 200)
    _stores_near(point, body.get("stores"), 3)


def batch(contract: Contract) -> None:
    points = [list(README_POINT), [34.052235, -118.243683]]
    for headers in ({"Content-Type": "application/json"}, {}):  # curl -d without a type: base64 in AWS
        answer = contract.request("POST", "", json.dumps({"points": points}).encode(), headers)
        results = json_answer(answer, 200).get("results")
        expect(isinstance(results, list) and len(results) == len(points), f"results: {results!r:.200}")
        for point, result in zip(points, results):
            _stores_near(tuple(point), [result], 1)


def store_count(contract: Contract) -> None:
    body = json_answer(contract.request("GET", "health"), 200)
    expect(isinstance(body.get("store_count"), int) and body["store_count"] > 0, "no store_count")


ERRORS = [
    # (method, target, body, status, a phrase of the error)
    ("GET", "", None, 400, "lat"),
    ("GET", "?lat=91&long=-77", None, 400, "'lat'"),
    ("GET", "?lat=39&lat=40&long=-77", None, 400, "given once"),
    ("GET", "?lat=39&long=-77&k=50", None, 400, "'k'"),
    ("POST", "", b"", 400, "empty"),
    ("POST", "", b'{"points": [[39.1, -77.1]', 400, "not valid JSON"),
    ("POST", "", json.dumps({"points": [[0, 0]] * (MAX_POINTS + 1)}).encode(), 413, "too many points"),
]


def documented_errors(contract: Contract) -> None:
    for error in ERRORS:
        error_answer(contract, *error)


CHECKS: list[Check] = [nearest_store, k_nearest_with_an_alias, batch, store_count, documented_errors]
