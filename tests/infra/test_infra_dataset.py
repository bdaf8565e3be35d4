"""infra/dataset.py in process, in a project directory of its own: which data file a
deploy trains on, that only the model package's default file is ever fetched or
generated, and that every other unusable `chipotle:dataPath` is a ConfigError naming it
before the package is called. The program runs of the same: tests/infra/test_infra_program.py."""

from __future__ import annotations

import os
import types
from pathlib import Path

import pytest

import chipotle_model
import examples.regression_model as example
from chipotle_model.fetch import DEFAULT_DATA_PATH, KAGGLE_CSV_NAME, KAGGLE_DATASET
from examples.regression_model.data import generate_csv
from infra.config import ConfigError, parse_settings
from infra.dataset import default_data_path, load_dataset
from tests.support import fake_kagglehub

STORES = (
    "state,location,address,latitude,longitude\n"
    "Maryland,Rockville,1 Main St,39.1,-77.1\n"
    "Maryland,Bethesda,2 Main St,39.0,-77.0\n"
)


@pytest.fixture
def downloads(monkeypatch, tmp_path) -> list[str]:
    """kagglehub stood in for at its public seam (`dataset_download`): each call recorded,
    and answered with a folder holding a small store CSV, as kagglehub's cache would."""
    cache = tmp_path / "kagglehub-cache"
    cache.mkdir()
    (cache / KAGGLE_CSV_NAME).write_text(STORES)
    calls: list[str] = []

    def dataset_download(handle, *args, **kwargs):
        calls.append(handle)
        return str(cache)

    fake_kagglehub(monkeypatch, dataset_download)
    return calls


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "project" / "data").mkdir(parents=True)
    return tmp_path / "project"


def load(package, project: Path, data_path: str | None = None):
    raw = {"dataPath": data_path} if data_path is not None else {}
    return load_dataset(package, parse_settings(raw, project), project)


def refused(package, project: Path, data_path: str) -> str:
    with pytest.raises(ConfigError) as error:
        load(package, project, data_path)
    return str(error.value)


def test_unset_the_default_file_absent_is_downloaded_and_checked(project, downloads):
    dataset = load(chipotle_model, project)
    assert downloads == [KAGGLE_DATASET]
    assert dataset.path == DEFAULT_DATA_PATH.as_posix()
    assert (project / DEFAULT_DATA_PATH).read_text() == STORES
    assert dataset.checked["stores"] == 2


def test_the_default_file_named_explicitly_is_the_default(project, downloads):
    dataset = load(chipotle_model, project, "./data/../data/chipotle_stores.csv")
    assert dataset.path == "data/chipotle_stores.csv"
    assert downloads == [KAGGLE_DATASET]


def test_the_default_file_present_is_used_and_nothing_is_downloaded(project, downloads):
    (project / DEFAULT_DATA_PATH).write_text(STORES)
    assert load(chipotle_model, project).checked["stores"] == 2
    assert downloads == []


@pytest.mark.parametrize("typo", ["data/my_own_stores.cvs", "data/chipotle_stores.csv.bak", "data/sub/x.csv"])
def test_another_missing_file_is_refused_and_nothing_is_downloaded(project, downloads, typo):
    message = refused(chipotle_model, project, typo)
    assert f"chipotle:dataPath {typo!r}: no such file" in message
    assert "(data/chipotle_stores.csv) is fetched or generated when absent" in message
    assert downloads == [], "the downloader was never called"
    assert not (project / typo).exists() and not (project / DEFAULT_DATA_PATH).exists()


def test_a_path_through_a_file_is_missing_not_a_traceback(project, downloads):
    (project / "data" / "stores.csv").write_text(STORES)
    message = refused(chipotle_model, project, "data/stores.csv/x.csv")
    assert "chipotle:dataPath 'data/stores.csv/x.csv': no such file" in message
    assert downloads == []


@pytest.mark.parametrize("path", ["data/sub", DEFAULT_DATA_PATH.as_posix()])
def test_a_directory_is_refused_even_at_the_default_path(project, downloads, path):
    (project / path).mkdir()
    message = refused(chipotle_model, project, path)
    assert f"chipotle:dataPath '{path}' is a directory: it must name a CSV file" in message
    assert downloads == []


def test_a_fifo_is_not_a_regular_file(project, downloads):
    os.mkfifo(project / "data" / "stores.csv")  # reading it would block the program
    message = refused(chipotle_model, project, "data/stores.csv")
    assert "chipotle:dataPath 'data/stores.csv' is not a regular file" in message
    assert downloads == []


def test_the_models_own_check_never_downloads_for_another_path(project, downloads):
    """chipotle_model.check_data holds the same rule itself (the seam's promise)."""
    with pytest.raises(ValueError, match="no such data file; point chipotle:dataPath"):
        chipotle_model.check_data(project / "data" / "other.csv", setting="chipotle:dataPath")
    assert downloads == []


def test_the_example_generates_its_default_file_and_nothing_else(project, downloads, tmp_path):
    dataset = load(example, project)
    assert dataset.path == example.DEFAULT_DATA_PATH.as_posix() == "data/regression.csv"
    assert (project / dataset.path).read_bytes() == generate_csv(tmp_path / "expected.csv").read_bytes()
    assert "(data/regression.csv) is fetched or generated" in refused(example, project, "data/regresion.csv")
    assert not (project / "data" / "regresion.csv").exists()
    assert downloads == [], "the example never downloads"


def test_a_package_whose_default_is_outside_data_is_refused_naming_both_keys(project):
    package = types.ModuleType("my_model")
    package.DEFAULT_DATA_PATH = Path("stores.csv")
    with pytest.raises(ConfigError) as error:
        default_data_path(package, project)
    message = str(error.value)
    assert "my_model has DEFAULT_DATA_PATH 'stores.csv'" in message and "set chipotle:dataPath" in message
