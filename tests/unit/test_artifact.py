"""The artifact (serving.artifact) with the nearest-store model in it: round trip, the
same-environment guarantee, refusals, and a pandas-free serving path."""

import errno
import hashlib
import pickle
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest

from chipotle_model.model import NearestStoreModel
from chipotle_model.response import StoreRecords
from chipotle_model.table import StoreTable
from serving.artifact import (
    ARTIFACT_FORMAT,
    ModelLoadError,
    ModelVersionMismatch,
    artifact_metadata,
    load_artifact,
    runtime_versions,
    save_artifact,
)
from tests.support.artifacts import rewrite_model


def save(model, path, **metadata):
    return save_artifact(path, model, artifact_metadata(**metadata))


STORES = StoreTable(
    state=["A", "B"],
    city=["x", "y"],
    address=["1 a st", "2 b st"],
    latitude=[10.0, -20.0],
    longitude=[30.0, 40.0],
)


def test_round_trip_keeps_answers_and_metadata(tmp_path):
    model = NearestStoreModel.fit(STORES)
    metadata = artifact_metadata(data_sha256="abc")
    loaded = load_artifact(save_artifact(tmp_path / "m.joblib", model, metadata))
    assert loaded.metadata == metadata
    assert loaded.model.stores == STORES
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(-90, 90, 100), rng.uniform(-180, 180, 100)
    for got, want in zip(loaded.model.query(lat, lon, k=2), model.query(lat, lon, k=2)):
        np.testing.assert_array_equal(got, want)


def test_the_columnar_artifact_round_trips_every_field_including_empty_and_non_ascii(tmp_path):
    stores = StoreTable(
        state=["", "Île-de-France", "Tōkyō", "Maryland"],
        city=["Zürich", "", "東京", "Bethesda"],
        address=["Bahnhofstraße 1", "1 Rue de Rivoli", "丸の内 1-1 🌮", "7600 Old Georgetown Rd"],
        latitude=[47.3769, 48.8606, 35.6812, -89.999999999],
        longitude=[8.5417, 2.3376, 139.7671, 179.999999999999],
    )
    loaded = load_artifact(save(NearestStoreModel.fit(stores), tmp_path / "m.joblib")).model
    assert loaded.stores == stores
    for name in ("state", "city", "address"):
        assert list(getattr(loaded.stores, name)) == list(getattr(stores, name))
    for name in ("latitude", "longitude"):  # every bit of every coordinate
        assert getattr(loaded.stores, name).tobytes() == getattr(stores, name).tobytes()
    records = StoreRecords(loaded.stores).rows(np.zeros(4), np.arange(4))
    assert [(r["state"], r["city"], r["address"]) for r in records] == list(
        zip(stores.state, stores.city, stores.address)
    )


def test_the_artifact_holds_the_store_table_as_a_few_large_values(tmp_path):
    """No per-store Python objects: loading is a few large reads whatever the store count."""
    path = save(NearestStoreModel.fit(STORES), tmp_path / "m.joblib")
    stores = load_artifact(path).model.__getstate__()["stores"]
    assert len(stores) == 8  # latitude, longitude; for state, city, address: a blob and its offsets
    for name, value in stores.items():
        if name.endswith("_utf8"):
            assert isinstance(value, bytes)
        else:
            assert isinstance(value, np.ndarray) and value.dtype.kind in "fi"


def test_an_artifact_of_another_format_or_with_a_malformed_table_is_refused(tmp_path):
    model = NearestStoreModel.fit(STORES)
    joblib.dump({"format": 2, "metadata": artifact_metadata(), "stores": {}}, tmp_path / "v2.joblib")
    reads = f"this version reads format {ARTIFACT_FORMAT}; rebuild"
    with pytest.raises(ModelLoadError, match=rf"artifact of format 2; {reads}"):
        load_artifact(tmp_path / "v2.joblib")
    # format 3, the one before: the model in place, no digest
    joblib.dump({"format": 3, "metadata": artifact_metadata(), "model": model}, tmp_path / "v3.joblib")
    with pytest.raises(ModelLoadError, match=rf"artifact of format 3; {reads} it with 'python -m"):
        load_artifact(tmp_path / "v3.joblib")
    path = save(model, tmp_path / "broken.joblib")

    class Broken:  # pickles as a model whose table lacks a column
        def __reduce__(self):
            arrays = STORES.to_arrays()
            del arrays["address_utf8"]
            return NearestStoreModel.__new__, (NearestStoreModel,), {"tree": model._tree, "stores": arrays}

    rewrite_model(path, Broken())
    with pytest.raises(
        ModelLoadError, match=r"is a damaged artifact: its model cannot be restored \(KeyError: .*_utf8"
    ):
        load_artifact(path)


def test_metadata_records_the_environment_and_data(real_metadata):
    meta = real_metadata
    assert meta["versions"] == runtime_versions()
    assert set(meta["versions"]) >= {"python", "numpy", "scipy", "scikit-learn"}
    assert meta["data_sha256"] == meta["report"]["data_sha256"]
    assert meta["report"]["agreement_share"] == 1.0
    assert meta["created_at"].endswith("+00:00")


@pytest.mark.parametrize("package", ["scikit-learn", "numpy"])
def test_an_artifact_from_other_library_versions_is_refused(tmp_path, package):
    metadata = artifact_metadata()
    metadata["versions"] = {**metadata["versions"], package: "0.0.1"}
    path = save_artifact(tmp_path / "old.joblib", NearestStoreModel.fit(STORES), metadata)
    with pytest.raises(ModelVersionMismatch, match=rf"{package} 0\.0\.1 \(running "):
        load_artifact(path)


def test_a_missing_file_is_refused_with_the_command_that_makes_one(tmp_path):
    with pytest.raises(ModelLoadError, match=r"no model artifact at .*python -m <model package>.train"):
        load_artifact(tmp_path / "absent.joblib")


def _artifact(**changes) -> dict:
    model_pickle = pickle.dumps(NearestStoreModel.fit(STORES))
    artifact = {
        "format": ARTIFACT_FORMAT,
        "metadata": artifact_metadata(),
        "model_sha256": hashlib.sha256(model_pickle).hexdigest(),
        "model_pickle": model_pickle,
    }
    artifact.update(changes)
    return {key: value for key, value in artifact.items() if value is not _DROP}


_DROP = object()
MALFORMED = {
    "empty": (lambda path: path.write_bytes(b""), "is empty (0 bytes)"),
    "random bytes": (
        lambda path: path.write_bytes(np.random.default_rng(1).bytes(4096)),
        "(4,096 bytes) is not a readable model artifact (joblib: ",
    ),
    "text": (lambda path: path.write_text("not a pickle\n"), "is not a readable model artifact (joblib: "),
    "a list": (lambda path: joblib.dump([1, 2], path), "holds a list without a 'format'"),
    "another dict": (
        lambda path: joblib.dump({"something": "else"}, path),
        "holds a dict without a 'format'",
    ),
    "another format": (
        lambda path: joblib.dump(_artifact(format=99), path),
        "of format 99; this version reads",
    ),
    "format a numpy array": (
        lambda path: joblib.dump(_artifact(format=np.array([ARTIFACT_FORMAT])), path),
        f"of format array([{ARTIFACT_FORMAT}]); this version reads",
    ),
    "format a string": (
        lambda path: joblib.dump(_artifact(format=str(ARTIFACT_FORMAT)), path),
        f"of format '{ARTIFACT_FORMAT}'; this version reads",
    ),
    "format True": (
        lambda path: joblib.dump(_artifact(format=True), path),
        "of format True; this version reads",
    ),
    "digest missing": (
        lambda path: joblib.dump(_artifact(model_sha256=_DROP), path),
        "its 'model_sha256' is missing, not a str",
    ),
    "model a str": (
        lambda path: joblib.dump(_artifact(model_pickle="x"), path),
        "its 'model_pickle' is a str, not a bytes",
    ),
    "no metadata": (
        lambda path: joblib.dump(_artifact(metadata=_DROP), path),
        "its 'metadata' is missing",
    ),
    "versions None": (
        lambda path: joblib.dump(_artifact(metadata={"versions": None}), path),
        "its metadata has no 'versions'",
    ),
    "no model": (
        lambda path: joblib.dump(_artifact(model_pickle=_DROP), path),
        "its 'model_pickle' is missing",
    ),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_every_malformed_artifact_is_refused_saying_what_is_wrong_and_how_to_rebuild(tmp_path, kind):
    write, problem = MALFORMED[kind]
    path = tmp_path / "model.joblib"
    write(path)
    with pytest.raises(ModelLoadError) as err:
        load_artifact(path)
    message = str(err.value)
    assert message.startswith(str(path)) and problem in message, message
    assert f"rebuild it with 'python -m <model package>.train --data CSV --out {path}'" in message


def test_a_truncated_artifact_is_refused(real_artifact, tmp_path):
    path = tmp_path / "truncated.joblib"
    path.write_bytes(real_artifact.read_bytes()[:50_000])
    with pytest.raises(
        ModelLoadError, match=r"\(50,000 bytes\) is not a readable model artifact \(joblib: \w+"
    ):
        load_artifact(path)


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(ModelLoadError, match="is a directory, not a model artifact file"):
        load_artifact(tmp_path)


def test_serve_refuses_a_malformed_artifact_with_exit_2_and_one_line(tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(_artifact(metadata={"versions": None}), path)
    proc = subprocess.run(
        [sys.executable, "-m", "chipotle_model", "serve", "--model", str(path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"error: {path} is a damaged artifact") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


def test_a_failed_save_keeps_the_previous_artifact_byte_for_byte(tmp_path, monkeypatch):
    path = save(NearestStoreModel.fit(STORES), tmp_path / "model.joblib")
    before = path.read_bytes()

    def dump_half_then_fail(value, filename):
        Path(filename).write_bytes(b"\x80\x04half an artifact")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(joblib, "dump", dump_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        save(NearestStoreModel.fit(STORES), path, data_sha256="new")
    assert path.read_bytes() == before
    assert sorted(tmp_path.iterdir()) == [path]  # no temporary file left behind


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
        "from chipotle_model.response import StoreRecords\n"
        "from serving.artifact import load_artifact\n"
        f"m = load_artifact({str(real_artifact)!r}).model\n"
        "distances, indices = m.query(39.0, -77.0)\n"
        "print(StoreRecords(m.stores).rows(distances[0], indices[0])[0]['state'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip()


def test_bad_k_and_bad_points_are_refused():
    from chipotle_model.geo import InvalidQuery

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
