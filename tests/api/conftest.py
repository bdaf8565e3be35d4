"""Fixtures of the OpenAPI tests: both model packages' APIs, and the example's artifact."""

from __future__ import annotations

from pathlib import Path

import pytest

import examples.regression_model
from examples.regression_model import data
from examples.regression_model.train import main as train_example
from serving.artifact import load_artifact
from tests.support.logs import make_api


@pytest.fixture(scope="session")
def example_artifact(tmp_path_factory) -> Path:
    csv = data.generate_csv(tmp_path_factory.mktemp("data") / "regression.csv")
    out = tmp_path_factory.mktemp("model") / "model.joblib"
    assert train_example(["--data", str(csv), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def example_api(example_artifact: Path):
    return make_api(load_artifact(example_artifact), examples.regression_model)[0]


@pytest.fixture(scope="session")
def store_api(real_loaded):
    return make_api(real_loaded)[0]
