"""What the right answer is, for `smoke`: the nearest stores to a point by brute force
(every store's great-circle distance, sorted), sharing nothing with the model but the
CSV reader; the sample of points `smoke --data CSV` asks about; and the known answers of
the default data set (chipotle_model.known_answers), which a test proves by brute force.

Ties are answers too: a rank accepts every store as near as the rank's distance, within
the tolerance the API's rounding needs.

    python -m chipotle_model.reference CSV   # prints known_answers.py for that data
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .data import load_stores
from .geo import haversine_km
from .table import StoreTable

DISTANCE_TOLERANCE_KM = 1.5e-3  # answers are rounded to the metre
IDENTITY = ("address", "city", "state", "latitude", "longitude")  # what names one store
SAMPLE_SEED = 20261208
README_QUERY = ((39.153198, -77.066176), 1)  # the README's example
ALIAS_QUERY = ((40.712776, -74.005974), 3)  # asked with `lng`, the alias of `long`
SAMPLE_KS = (1, 2, 5)  # k of the sampled points, in turn


@dataclass(frozen=True)
class Rank:
    """One place in an answer: its distance, and every store that may fill it."""

    distance_km: float
    stores: tuple[tuple, ...]  # IDENTITY values of each store this near


@dataclass(frozen=True)
class Case:
    point: tuple[float, float]
    ranks: tuple[Rank, ...]

    @property
    def k(self) -> int:
        return len(self.ranks)


@dataclass(frozen=True)
class Reference:
    """The answers `smoke` compares with: one Case per query, for data of this sha256."""

    data_sha256: str
    store_count: int
    cases: dict[tuple[tuple[float, float], int], Case]  # (point, k) -> Case

    def queries(self) -> list[tuple[tuple[float, float], int]]:
        """The sampled queries: every case but the two fixed ones (README, alias)."""
        return [query for query in self.cases if query not in (README_QUERY, ALIAS_QUERY)]


def brute_force(stores: StoreTable, point: tuple[float, float], k: int) -> Case:
    """The k nearest stores to `point` by the distance of every store, nearest first."""
    km = haversine_km(point[0], point[1], stores.latitude, stores.longitude)
    ranks = []
    for i in np.argsort(km, kind="stable")[:k].tolist():
        tied = np.flatnonzero(np.abs(km - km[i]) <= DISTANCE_TOLERANCE_KM)
        ranks.append(Rank(round(float(km[i]), 6), tuple(identity(stores, j) for j in tied.tolist())))
    return Case(point, tuple(ranks))


def identity(stores: StoreTable, i: int) -> tuple:
    return (
        stores.address[i],
        stores.city[i],
        stores.state[i],
        float(stores.latitude[i]),
        float(stores.longitude[i]),
    )


def sample_points(stores: StoreTable, seed: int = SAMPLE_SEED) -> list[tuple[float, float]]:
    """Points to ask about, the same for the same data: on stores, a few km from stores,
    anywhere in the stores' bounding box, and anywhere on Earth (rounded to 6 decimals,
    as a request sends them)."""
    rng = np.random.default_rng(seed)
    at = rng.choice(len(stores), size=6, replace=len(stores) < 6)
    lat, lon = stores.latitude[at], stores.longitude[at]
    near = np.column_stack((lat[3:] + rng.uniform(-0.05, 0.05, 3), lon[3:] + rng.uniform(-0.05, 0.05, 3)))
    box = rng.uniform(
        (stores.latitude.min(), stores.longitude.min()),
        (stores.latitude.max(), stores.longitude.max()),
        (3, 2),
    )
    anywhere = np.column_stack((rng.uniform(-89, 89, 2), rng.uniform(-179, 179, 2)))
    points = np.vstack((np.column_stack((lat[:3], lon[:3])), near, box, anywhere))
    points = np.column_stack((np.clip(points[:, 0], -90, 90), np.clip(points[:, 1], -180, 180)))
    return [(round(float(a), 6), round(float(b), 6)) for a, b in points]


def from_stores(stores: StoreTable, data_sha256: str) -> Reference:
    """The README's and the alias's queries, and one per sampled point (k from SAMPLE_KS)."""
    queries = [README_QUERY, ALIAS_QUERY] + [
        (point, min(SAMPLE_KS[i % len(SAMPLE_KS)], len(stores)))
        for i, point in enumerate(sample_points(stores))
    ]
    cases = {(point, k): brute_force(stores, point, k) for point, k in queries}
    return Reference(data_sha256, len(stores), cases)


def from_csv(path: Path) -> Reference:
    """The reference for a data file, read by the package's own reader (DataError if bad)."""
    loaded = load_stores(path)
    return from_stores(loaded.stores, loaded.sha256)


def known() -> Reference:
    """The reference for the default data set, from its table of known answers."""
    from . import known_answers

    cases = {
        (point, k): Case(point, tuple(Rank(row[-1], (tuple(row[:-1]),)) for row in rows))
        for (point, k), rows in known_answers.ANSWERS.items()
    }
    return Reference(known_answers.DATA_SHA256, known_answers.STORE_COUNT, cases)


def known_answers_module(reference: Reference) -> str:
    """known_answers.py for `reference`: the cases with no ties (one store per rank)."""
    lines = [
        '"""The known answers of the default data set (generated: python -m chipotle_model.reference',
        'CSV); tests/unit/test_known_answers.py proves each by brute force against that CSV."""',
        "",
        f'DATA_SHA256 = "{reference.data_sha256}"',
        f"STORE_COUNT = {reference.store_count}",
        "# ((latitude, longitude), k): the k nearest stores, nearest first:",
        "# (address, city, state, latitude, longitude, distance_km)",
        "ANSWERS = {",
    ]
    for query, case in reference.cases.items():
        if all(len(rank.stores) == 1 for rank in case.ranks):
            rows = "".join(f"        {(*rank.stores[0], rank.distance_km)!r},\n" for rank in case.ranks)
            lines.append(f"    {query!r}: (\n{rows}    ),")
    return "\n".join([*lines, "}", ""])


if __name__ == "__main__":
    sys.stdout.write(known_answers_module(from_csv(Path(sys.argv[1]))))
