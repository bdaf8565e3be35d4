"""The real `__main__.py` under Pulumi's mocks with the example model package configured
(`chipotle:modelPackage examples.regression_model`, the one key: `chipotle:dataPath`
unset is the package's DEFAULT_DATA_PATH): the same program builds, deploys and names
the other model, with nothing changed but the config."""

from __future__ import annotations

import pytest

import examples.regression_model as package
from examples.regression_model.data import generate_csv
from infra import build_spec
from infra.config import DEFAULTS
from tests.infra.program import ProgramRun, clone_of_project, run_program
from tests.support import REPO_ROOT

DATA_PATH = package.DEFAULT_DATA_PATH.as_posix()
CONFIG = {"chipotle:modelPackage": "examples.regression_model"}  # and nothing else


@pytest.fixture(scope="module")
def example_run() -> ProgramRun:
    return run_program(CONFIG).ok()


def test_the_package_key_alone_trains_on_the_packages_own_data_generated_when_absent(tmp_path):
    """From a clone with no data at all: the example's CSV is generated at its default path,
    the same bytes every time, and nothing is downloaded."""
    clone = clone_of_project(tmp_path / "clone", data=False)
    run = run_program(CONFIG, project_dir=clone).ok()
    assert run.config["chipotle:dataPath"] == "", "unset: the declared default"
    assert run.exports["model"]["data_path"] == DATA_PATH
    assert (clone / DATA_PATH).read_bytes() == generate_csv(tmp_path / "expected.csv").read_bytes()
    assert run.serving_image["inputs"]["build"]["args"]["DATA_PATH"] == DATA_PATH
    assert run.kagglehub_downloads == []


def test_another_missing_data_file_is_refused_not_generated():
    missing = "data/regression-typo.csv"
    run = run_program({**CONFIG, "chipotle:dataPath": missing})
    assert run.error is not None and run.error["type"] == "RunError"
    assert f"chipotle:dataPath {missing!r}: no such file" in run.error["message"]
    assert f"({DATA_PATH})" in run.error["message"], "the example's own default named"
    assert not (REPO_ROOT / missing).exists() and run.resources == []


def test_the_build_trains_and_serves_the_example_package(example_run: ProgramRun):
    """One multi-stage build (training stage, then serving): its args name the package."""
    spec = build_spec.model_build(
        data_path=DATA_PATH, base_image=DEFAULTS["baseImage"], model_package="examples.regression_model"
    )
    args = example_run.serving_image["inputs"]["build"]["args"]
    assert args == spec.serving.args
    assert args["MODEL_PACKAGE"] == "examples.regression_model"
    assert args["MODEL_DIR"] == "examples/regression_model"
    assert args["DATA_PATH"] == DATA_PATH
    assert example_run.exports["model_version"] == spec.model_version


def test_the_function_runs_under_the_example_service_name(example_run: ProgramRun):
    variables = example_run.one("aws:lambda/function:Function")["inputs"]["environment"]["variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == package.SERVICE_NAME == "regression"


def test_the_api_exists_and_the_model_output_is_the_example_data(example_run: ProgramRun):
    api = example_run.one("aws:apigatewayv2/api:Api")["inputs"]
    assert api["protocolType"] == "HTTP"
    assert sorted(api["corsConfiguration"]["allowMethods"]) == ["GET", "POST"]
    assert example_run.exports["url"]
    model = example_run.exports["model"]
    assert model["data_path"] == DATA_PATH and model["rows"] == 500
    assert model["data_sha256"] == package.check_data(REPO_ROOT / DATA_PATH, setting="-")["data_sha256"]
