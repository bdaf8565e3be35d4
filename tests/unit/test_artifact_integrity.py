"""Damaged artifacts are refused, never served: the digest catches changed bytes, the
model's consistency check an index and a table that disagree, the warm-up the rest; each
with the rebuild hint, `serve` with exit 2 and one line."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from sklearn.neighbors import KDTree

import chipotle_model
from chipotle_model.geo import unit_vectors
from chipotle_model.model import NearestStoreModel
from chipotle_model.table import StoreTable
from serving.api import api_from_artifact
from serving.artifact import ModelLoadError, artifact_metadata, load_artifact, save_artifact
from serving.events import http_event
from tests.support.artifacts import PickledAs, rewrite_model, rows


def hint(path: Path) -> str:
    return f"rebuild it with 'python -m <model package>.train --data CSV --out {path}'"


@pytest.fixture
def copy_of_real(real_artifact, tmp_path) -> Path:
    path = tmp_path / "model.joblib"
    path.write_bytes(real_artifact.read_bytes())
    return path


def _tree(stores) -> KDTree:
    return KDTree(unit_vectors(stores.latitude, stores.longitude))


def _damaged(kind: str, model: NearestStoreModel) -> PickledAs:
    stores, n = model.stores, len(model.stores)
    arrays = stores.to_arrays()
    if kind == "rows reversed":
        return PickledAs(model._tree, rows(stores, np.arange(n)[::-1]).to_arrays())
    if kind == "a table of 10 stores":
        return PickledAs(model._tree, rows(stores, np.arange(10)).to_arrays())
    if kind == "an index of 10 points":
        return PickledAs(_tree(rows(stores, np.arange(10))), arrays)
    if kind == "an index with extra points":
        return PickledAs(_tree(rows(stores, np.r_[np.arange(n), np.arange(5)])), arrays)
    if kind == "a 2-D index":
        return PickledAs(KDTree(np.column_stack((stores.latitude, stores.longitude))), arrays)
    if kind == "NaN coordinates":
        arrays["latitude"] = arrays["latitude"].copy()
        arrays["latitude"][7] = np.nan
        return PickledAs(model._tree, arrays)
    if kind == "an empty table":
        return PickledAs(model._tree, rows(stores, np.arange(0)).to_arrays())
    if kind == "invalid UTF-8":
        blob = bytearray(arrays["address_utf8"])
        blob[0] = 0xFF  # never a byte of UTF-8
        return PickledAs(model._tree, {**arrays, "address_utf8": bytes(blob)})
    raise AssertionError(kind)


DAMAGE = {
    "rows reversed": "the index's points are not the store table's coordinates, in order",
    "a table of 10 stores": "the index holds points of shape (2629, 3), the table 10 stores",
    "an index of 10 points": "the index holds points of shape (10, 3), the table 2,629 stores",
    "an index with extra points": "the index holds points of shape (2634, 3), the table 2,629 stores",
    "a 2-D index": "the index holds points of shape (2629, 2), the table 2,629 stores",
    "NaN coordinates": "stores[7] latitude must be a finite number in [-90, 90], got nan",
    "an empty table": "the store table is empty",
    "invalid UTF-8": "'utf-8' codec can't decode byte 0xff in position 0",
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_an_index_and_a_table_that_disagree_are_refused(copy_of_real, real_model, kind):
    rewrite_model(copy_of_real, _damaged(kind, real_model))
    with pytest.raises(ModelLoadError) as err:
        load_artifact(copy_of_real)
    message = str(err.value)
    assert message.startswith(f"{copy_of_real} is a damaged artifact: its model cannot be restored ")
    assert DAMAGE[kind] in message and message.endswith(hint(copy_of_real)), message


def test_a_string_offset_inside_a_character_is_refused(tmp_path):
    stores = StoreTable(
        state=["Tōkyō", "x"],
        city=["東京", "y"],
        address=["丸の内 1-1", "z"],
        latitude=[35.7, 0],
        longitude=[139.8, 0],
    )
    model = NearestStoreModel.fit(stores)
    path = save_artifact(tmp_path / "m.joblib", model, artifact_metadata())
    inside = {**stores.to_arrays(), "city_offsets": np.array([0, 1, 7])}  # "東" is 3 bytes
    rewrite_model(path, PickledAs(model._tree, inside))
    with pytest.raises(ModelLoadError) as err:
        load_artifact(path)
    assert "(ValueError: string 1 starts inside a UTF-8 character); rebuild it with" in str(err.value)


def _flip_exponent_bit(data: bytes, values: np.ndarray, index: int) -> bytes:
    """`data` with the top exponent bit of `values[index]` flipped where `values` lie in it."""
    start = data.find(values.tobytes())
    assert start > 0 and data.count(values.tobytes()) == 1
    damaged = bytearray(data)
    damaged[start + index * 8 + 7] ^= 0x40  # little-endian float64: byte 7 holds the exponent's top bits
    return bytes(damaged)


def test_one_flipped_bit_in_a_coordinate_is_refused_by_the_digest(copy_of_real, real_model):
    copy_of_real.write_bytes(_flip_exponent_bit(copy_of_real.read_bytes(), real_model.stores.latitude, 1000))
    with pytest.raises(ModelLoadError) as err:
        load_artifact(copy_of_real)
    message = str(err.value)
    assert message.startswith(f"{copy_of_real} is a damaged artifact: its model's bytes have sha256 ")
    assert (
        "not the " in message
        and "recorded when it was made" in message
        and message.endswith(hint(copy_of_real))
    )


def test_a_flipped_bit_with_a_recomputed_digest_is_refused_by_the_consistency_check(copy_of_real, real_model):
    """Without the digest the damage would be served: latitude 1000 is then ~1e-300, a valid
    coordinate, and the model would answer with a store that is not where it says."""
    arrays = real_model.stores.to_arrays()
    latitude = arrays["latitude"].copy()
    latitude.view(np.uint64)[1000] ^= np.uint64(1 << 62)  # the exponent's top bit
    assert -90 <= latitude[1000] <= 90 and latitude[1000] != real_model.stores.latitude[1000]
    rewrite_model(copy_of_real, PickledAs(real_model._tree, {**arrays, "latitude": latitude}))
    with pytest.raises(ModelLoadError, match="the index's points are not the store table's coordinates"):
        load_artifact(copy_of_real)


@pytest.mark.parametrize("kind", ["a 2-D index", "NaN coordinates", "an empty table", "invalid UTF-8"])
def test_serve_refuses_a_damaged_artifact_with_exit_2_and_one_line(copy_of_real, real_model, kind):
    """These four once loaded and then failed the warm-up: `serve` exited 1 with a traceback."""
    rewrite_model(copy_of_real, _damaged(kind, real_model))
    proc = subprocess.run(
        [sys.executable, "-m", "chipotle_model", "serve", "--model", str(copy_of_real), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"error: {copy_of_real} is a damaged artifact: ")
    assert proc.stderr.count("\n") == 1 and proc.stderr.rstrip().endswith(hint(copy_of_real))
    assert DAMAGE[kind] in proc.stderr and "Traceback" not in proc.stderr


def _package_with_warm_up(warm_up_requests) -> types.ModuleType:
    package = types.ModuleType("warm_up_probe")
    package.__dict__.update({name: getattr(chipotle_model, name) for name in chipotle_model.__all__})
    package.warm_up_requests = warm_up_requests
    return package


def _no_first_store(model):
    return [http_event("GET", "/", query={"lat": str(model.stores.latitude[len(model)]), "long": "0"})]


@pytest.mark.parametrize(
    ("warm_up_requests", "problem"),
    [
        (_no_first_store, "its warm-up requests cannot be made (IndexError: "),
        (
            lambda model: [http_event("GET", "/", query={"lat": "91", "long": "0"})],
            "its warm-up request GET / was answered 400 ",
        ),
    ],
)
def test_a_model_that_fails_its_warm_up_is_a_damaged_artifact(real_artifact, warm_up_requests, problem):
    with pytest.raises(ModelLoadError) as err:
        api_from_artifact(_package_with_warm_up(warm_up_requests), real_artifact)
    message = str(err.value)
    assert message.startswith(f"{real_artifact} is a damaged artifact: {problem}")
    assert message.endswith(hint(real_artifact))
