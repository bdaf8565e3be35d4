"""The artifact: round trip, the same-environment guarantee, and a pandas-free serving path."""

import subprocess
import sys

import joblib
import numpy as np
import pytest

from chipotle_model import (
    ModelLoadError,
    ModelVersionMismatch,
    NearestStoreModel,
    StoreRecords,
    StoreTable,
    load_model,
)
from chipotle_model.model import runtime_versions

STORES = StoreTable(
    state=["A", "B"],
    city=["x", "y"],
    address=["1 a st", "2 b st"],
    latitude=[10.0, -20.0],
    longitude=[30.0, 40.0],
)


def test_round_trip_keeps_answers_and_metadata(tmp_path):
    model = NearestStoreModel.fit(STORES, data_sha256="abc")
    path = model.save(tmp_path / "m.joblib")
    loaded = load_model(path)
    assert loaded.metadata == model.metadata
    assert loaded.stores == STORES
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-90, 90, 100), rng.uniform(-180, 180, 100)
    for got, want in zip(loaded.query(lat, lon, k=2), model.query(lat, lon, k=2)):
        np.testing.assert_array_equal(got, want)


def test_the_columnar_artifact_round_trips_every_field_including_empty_and_non_ascii(tmp_path):
    stores = StoreTable(
        state=["", "Île-de-France", "Tōkyō", "Maryland"],
        city=["Zürich", "", "東京", "Bethesda"],
        address=["Bahnhofstraße 1", "1 Rue de Rivoli", "丸の内 1-1 🌮", "7600 Old Georgetown Rd"],
        latitude=[47.3769, 48.8606, 35.6812, -89.999999999],
        longitude=[8.5417, 2.3376, 139.7671, 179.999999999999],
    )
    model = NearestStoreModel.fit(stores, data_sha256="abc")
    loaded = load_model(model.save(tmp_path / "m.joblib"))
    assert loaded.stores == stores
    for name in ("state", "city", "address"):
        assert list(getattr(loaded.stores, name)) == list(getattr(stores, name))
    for name in ("latitude", "longitude"):  # every bit of every coordinate
        assert getattr(loaded.stores, name).tobytes() == getattr(stores, name).tobytes()
    records = StoreRecords.from_table(loaded.stores).rows(np.zeros(4), np.arange(4))
    assert [(r["state"], r["city"], r["address"]) for r in records] == list(
        zip(stores.state, stores.city, stores.address)
    )


def test_the_artifact_holds_the_store_table_as_a_few_large_values(tmp_path):
    """No per-store Python objects: loading is a few large reads whatever the store count."""
    path = NearestStoreModel.fit(STORES).save(tmp_path / "m.joblib")
    stores = joblib.load(path)["stores"]
    assert len(stores) == 8  # latitude, longitude; for state, city, address: a blob and its offsets
    for name, value in stores.items():
        if name.endswith("_utf8"):
            assert isinstance(value, bytes)
        else:
            assert isinstance(value, np.ndarray) and value.dtype.kind in "fi"


def test_an_artifact_of_another_format_or_with_a_malformed_table_is_refused(tmp_path):
    model = NearestStoreModel.fit(STORES)
    artifact = {"format": 1, "metadata": model.metadata, "stores": STORES, "estimator": model._tree}
    joblib.dump(artifact, tmp_path / "v1.joblib")
    with pytest.raises(ModelLoadError, match=r"artifact format 1; this version reads format 2: retrain"):
        load_model(tmp_path / "v1.joblib")
    arrays = STORES.to_arrays()
    del arrays["address_utf8"]
    joblib.dump({**artifact, "format": 2, "stores": arrays}, tmp_path / "broken.joblib")
    with pytest.raises(ModelLoadError, match=r"store table is malformed .*address_utf8"):
        load_model(tmp_path / "broken.joblib")


def test_metadata_records_the_environment_and_data(real_model):
    meta = real_model.metadata
    assert meta["versions"] == runtime_versions()
    assert set(meta["versions"]) >= {"python", "numpy", "scipy", "scikit-learn"}
    assert meta["data_sha256"] == meta["report"]["data_sha256"]
    assert meta["report"]["agreement_share"] == 1.0
    assert meta["created_at"].endswith("+00:00")


@pytest.mark.parametrize("package", ["scikit-learn", "numpy"])
def test_an_artifact_from_other_library_versions_is_refused(tmp_path, package):
    model = NearestStoreModel.fit(STORES)
    model.metadata["versions"] = {**model.metadata["versions"], package: "0.0.1"}
    path = model.save(tmp_path / "old.joblib")
    with pytest.raises(ModelVersionMismatch, match=rf"{package} 0\.0\.1 \(running "):
        load_model(path)


def test_missing_corrupt_and_foreign_files_are_refused_clearly(tmp_path):
    with pytest.raises(ModelLoadError, match=r"no model artifact at .*python -m chipotle_model.train"):
        load_model(tmp_path / "absent.joblib")
    (tmp_path / "junk.joblib").write_bytes(b"not a pickle")
    with pytest.raises(ModelLoadError, match="not a readable model artifact"):
        load_model(tmp_path / "junk.joblib")
    joblib.dump({"something": "else"}, tmp_path / "foreign.joblib")
    with pytest.raises(ModelLoadError, match="not a chipotle_model artifact"):
        load_model(tmp_path / "foreign.joblib")


def test_importing_and_loading_work_without_pandas_or_kagglehub(real_artifact):
    """The serving image has neither. (scikit-learn imports pandas opportunistically when it is
    installed, as on this host, so both are made unimportable here, as in the image.)"""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('pandas', 'kagglehub'):\n"
        "            raise ImportError(f'{name} is blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import chipotle_model\n"
        f"m = chipotle_model.load_model({str(real_artifact)!r})\n"
        "distances, indices = m.query(39.0, -77.0)\n"
        "print(chipotle_model.StoreRecords.from_table(m.stores).rows(distances[0], indices[0])[0]['state'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()


def test_bad_k_and_bad_points_are_refused():
    from chipotle_model import InvalidQuery

    model = NearestStoreModel.fit(STORES)
    for k in (0, 21, 1.5, True, "2"):
        with pytest.raises(InvalidQuery, match="k must be an integer from 1 to 20"):
            model.query(0, 0, k=k)
    with pytest.raises(InvalidQuery, match="at most the number of stores"):
        model.query(0, 0, k=3)
    with pytest.raises(InvalidQuery, match=r"latitude must be a finite number in \[-90, 90\], got 91.0"):
        model.query(91, 0)
    with pytest.raises(InvalidQuery, match=r"points\[1\] longitude"):
        model.query([0, 0], [0, float("nan")])
