"""The nearest-store API's own contract checks, run by `python -m chipotle_model smoke URL`
before the platform's (serving.contract): the README's examples, sampled points single
and with k > 1, a batch, /health's data and store count, and every documented error.

Answers are checked for being right, not only well formed: every store of every answer
is compared, rank by rank, with a reference (chipotle_model.reference) -- by brute force
over the data file with `--data CSV`, or else the known answers of the default data set --
its address, city, state and coordinates exactly, its distance within
DISTANCE_TOLERANCE_KM, and its distance with its own coordinates."""

from __future__ import annotations

import json
import math
from pathlib import Path

from serving.contract import Check, Contract, error_answer, expect, json_answer, shown

from .geo import haversine_km, km_to_miles
from .params import MAX_POINTS
from .reference import (
    ALIAS_QUERY,
    DISTANCE_TOLERANCE_KM,
    IDENTITY,
    README_QUERY,
    Case,
    Rank,
    Reference,
    from_csv,
    known,
)
from .response import RESULT_FIELDS

__all__ = ["DISTANCE_TOLERANCE_KM", "contract_checks"]
_TEXT_FIELDS = ("address", "city", "state")
_NUMBER_FIELDS = ("latitude", "longitude", "distance_km", "distance_miles")


def _store(store, where: str) -> dict:
    """`store`, checked to be one store's record: RESULT_FIELDS in order, of their types."""
    expect(
        isinstance(store, dict),
        f"{where} is {shown(store)}, expected an object of {', '.join(RESULT_FIELDS)}",
    )
    expect(
        list(store) == list(RESULT_FIELDS),
        f"{where}'s fields are {shown(list(store))}, expected {list(RESULT_FIELDS)}",
    )
    for name in _TEXT_FIELDS:
        expect(isinstance(store[name], str), f"{where}'s {name} is {shown(store[name])}, expected a string")
    for name in _NUMBER_FIELDS:
        value = store[name]
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        expect(number, f"{where}'s {name} is {shown(value)}, expected a finite number")
    return store


def _described(store: tuple) -> str:
    address, city, state, latitude, longitude = store
    return f"{address!r} ({city}, {state}; {latitude:.6f}, {longitude:.6f})"


def _expected(rank: Rank) -> str:
    others = f" (or one of {len(rank.stores) - 1} other stores as near)" if len(rank.stores) > 1 else ""
    return f"{_described(rank.stores[0])} at {rank.distance_km:.3f} km{others}"


def _right_store(store, rank: Rank, point: tuple[float, float], where: str, seen: set) -> None:
    got = _store(store, where)
    name = tuple(got[field] for field in IDENTITY)
    expect(name not in seen, f"{where} is {_described(name)} again")
    seen.add(name)
    km = got["distance_km"]
    own = float(haversine_km(point[0], point[1], got["latitude"], got["longitude"]))
    expect(
        abs(km - own) <= DISTANCE_TOLERANCE_KM,
        f"{where}: distance_km {km}, but {_described(name)} is {own:.3f} km away",
    )
    miles = float(km_to_miles(km))
    expect(
        abs(got["distance_miles"] - miles) <= DISTANCE_TOLERANCE_KM,
        f"{where}: distance_miles {got['distance_miles']}, expected {miles:.3f}",
    )
    expect(
        abs(km - rank.distance_km) <= DISTANCE_TOLERANCE_KM and name in rank.stores,
        f"{where}: expected {_expected(rank)}, got {_described(name)} at {km:.3f} km",
    )


def _right_stores(case: Case, stores, what: str) -> None:
    """`stores` is the answer `case` expects: the same stores, rank by rank."""
    expect(
        isinstance(stores, list) and len(stores) == case.k,
        f"{what}: expected {case.k} stores, got {shown(stores)}",
    )
    seen: set = set()
    for rank_number, (store, rank) in enumerate(zip(stores, case.ranks), 1):
        _right_store(store, rank, case.point, f"{what}, store {rank_number}", seen)


def _nearest(point: tuple[float, float], k: int) -> str:
    return (
        f"the {k} nearest to ({point[0]}, {point[1]})"
        if k > 1
        else f"the nearest to ({point[0]}, {point[1]})"
    )


class NearestStoreContract:
    """The checks, in the order of the API reference, each comparing with `reference`."""

    def __init__(self, reference: Reference):
        self.reference = reference

    def _get(self, contract: Contract, query, parameter: str = "long") -> dict:
        (lat, lon), k = query
        target = f"?lat={lat}&{parameter}={lon}" + (f"&k={k}" if k != 1 else "")
        body = json_answer(contract.request("GET", target), 200)
        _right_stores(self.reference.cases[query], body.get("stores"), _nearest(*query))
        return body

    def nearest_store(self, contract: Contract) -> None:
        body = self._get(contract, README_QUERY)
        (lat, lon), k = README_QUERY
        echo = body.get("query")
        expect(echo == {"latitude": lat, "longitude": lon, "k": k}, f"query echoed as {shown(echo)}")
        expect(body.get("nearest") == body["stores"][0], "nearest is not the first of stores")

    def k_nearest_with_an_alias(self, contract: Contract) -> None:
        self._get(contract, ALIAS_QUERY, "lng")

    def sampled_points(self, contract: Contract) -> None:
        for query in self.reference.queries():
            self._get(contract, query)

    def batch(self, contract: Contract) -> None:
        cases = [_first(self.reference.cases[query]) for query in self.reference.queries()]
        points = [case.point for case in cases]
        document = json.dumps({"points": [list(point) for point in points]}).encode()
        for headers in ({"Content-Type": "application/json"}, {}):  # curl -d without a type: base64 in AWS
            results = json_answer(contract.request("POST", "", document, headers), 200).get("results")
            expect(
                isinstance(results, list) and len(results) == len(points),
                f"results: {shown(results)}, expected {len(points)}",
            )
            for i, (case, result) in enumerate(zip(cases, results)):
                _right_stores(case, [result], f"results[{i}], {_nearest(case.point, 1)}")

    def trained_on_the_data(self, contract: Contract) -> None:
        body = json_answer(contract.request("GET", "health"), 200)
        want, got = self.reference.data_sha256, body.get("data_sha256")
        expect(
            got == want, f"data_sha256 {shown(got)}, expected {want} (is --data the model's training data?)"
        )
        count = body.get("store_count")
        expect(
            count == self.reference.store_count,
            f"store_count {shown(count)}, expected {self.reference.store_count}",
        )

    @staticmethod
    def documented_errors(contract: Contract) -> None:
        for error in ERRORS:
            error_answer(contract, *error)


def _first(case: Case) -> Case:
    return Case(case.point, case.ranks[:1])


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


def contract_checks(data: Path | None = None) -> list[Check]:
    """The checks for a model of `data` (a CSV; DataError when it cannot be read), or, when
    None, of the default data set (its known answers)."""
    checks = NearestStoreContract(from_csv(Path(data)) if data is not None else known())
    return [
        checks.nearest_store,
        checks.k_nearest_with_an_alias,
        checks.sampled_points,
        checks.batch,
        checks.trained_on_the_data,
        checks.documented_errors,
    ]
