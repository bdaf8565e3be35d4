"""The real `__main__.py` under Pulumi's mocks with the example model package configured
(`chipotle:modelPackage examples.regression_model`): the same program builds, deploys
and names the other model, with nothing changed but the config."""

from __future__ import annotations

import pytest

import examples.regression_model as package
from examples.regression_model.data import generate_csv
from infra import build_spec
from infra.config import DEFAULTS
from tests.infra.program import ProgramRun, run_program
from tests.support import REPO_ROOT

DATA_PATH = "data/regression.csv"
CONFIG = {"chipotle:modelPackage": "examples.regression_model", "chipotle:dataPath": DATA_PATH}


@pytest.fixture(scope="module")
def example_run() -> ProgramRun:
    if not (REPO_ROOT / DATA_PATH).is_file():  # data/ is gitignored; the same bytes every time
        generate_csv(REPO_ROOT / DATA_PATH)
    return run_program(CONFIG).ok()


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
