"""Synthetic store CSVs of any size, reproducible from a seed: the model at any scale.

Most stores lie around real ones (a real store's position plus a normal offset of
SPREAD_DEG), the way a bigger chain fills in the same towns; a share lies anywhere on
Earth (uniform on the sphere), so the poles and the antimeridian are covered. Addresses
look like the real ones and are about as long; some names are non-ASCII and some
`state`/`location` values are empty, as other chains' data may have them.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from chipotle_model.data import COLUMNS, load_stores

SPREAD_DEG = 0.3
WORLDWIDE_SHARE = 0.1
STREETS = ("Main St", "Old Georgetown Rd", "W Magnolia Ave", "Highway 280", "Rue de Rivoli",
           "Straße des 17. Juni", "Avenida São João", "Calle Mayor", "Ōdōri", "King St W")  # fmt: skip
WORLD_PLACES = (("", ""), ("Île-de-France", "Paris"), ("São Paulo", "São Paulo"),
                ("Tōkyō", "東京"), ("Bayern", "München"), ("", "Zürich"))  # fmt: skip


def synthetic_columns(n: int, anchors, seed: int) -> dict[str, list]:
    """n stores (the CSV's columns) around `anchors` (a StoreTable of real stores)."""
    rng = np.random.default_rng(seed)
    near = rng.random(n) >= WORLDWIDE_SHARE
    pick = rng.integers(0, len(anchors), n)
    lat = np.where(near, anchors.latitude[pick] + rng.normal(0, SPREAD_DEG, n), 0.0)
    lon = np.where(near, anchors.longitude[pick] + rng.normal(0, SPREAD_DEG, n), 0.0)
    # uniform on the sphere: sin(latitude) uniform in [-1, 1]
    lat[~near] = np.degrees(np.arcsin(rng.uniform(-1, 1, int((~near).sum()))))
    lon[~near] = rng.uniform(-180, 180, int((~near).sum()))
    lat = np.clip(lat, -90, 90)
    lon = (lon + 180) % 360 - 180
    place = rng.integers(0, len(WORLD_PLACES), n)
    states = [anchors.state[i] if ok else WORLD_PLACES[p][0] for i, ok, p in zip(pick.tolist(), near, place)]
    cities = [anchors.city[i] if ok else WORLD_PLACES[p][1] for i, ok, p in zip(pick.tolist(), near, place)]
    houses = rng.integers(1, 20_000, n).tolist()
    streets = rng.integers(0, len(STREETS), n).tolist()
    zips = rng.integers(501, 99_950, n).tolist()
    addresses = [
        f"{house} {STREETS[street]} {city or 'Town'}, {zip_code:05d} #{i}"
        for i, (house, street, city, zip_code) in enumerate(zip(houses, streets, cities, zips))
    ]
    return {"state": states, "location": cities, "address": addresses,
            "latitude": lat.tolist(), "longitude": lon.tolist()}  # fmt: skip


def write_synthetic_csv(path: Path, n: int, real_csv: Path, seed: int = 15) -> Path:
    """A CSV of n synthetic stores (anchored on the stores of `real_csv`); n unique rows."""
    columns = synthetic_columns(n, load_stores(real_csv).stores, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerows(zip(*(columns[name] for name in COLUMNS)))
    return path
