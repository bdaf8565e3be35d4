"""Fixtures of the example model package's tests: a model trained by its training CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.regression_model import data
from examples.regression_model.train import main as train
from serving.artifact import load_artifact


@pytest.fixture(scope="session")
def example_csv(tmp_path_factory) -> Path:
    return data.generate_csv(tmp_path_factory.mktemp("data") / "regression.csv")


@pytest.fixture(scope="session")
def example_artifact(example_csv: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("model") / "model.joblib"
    assert train(["--data", str(example_csv), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def example_loaded(example_artifact: Path):
    return load_artifact(example_artifact)
