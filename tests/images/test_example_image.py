"""The example model package's own images, built from infra/build_spec.py as the Pulumi
program builds them with `chipotle:modelPackage examples.regression_model`, and its
serving image run through the RIE: the platform's images carry any model package."""

from __future__ import annotations

import io
import json

import pytest

import examples.regression_model as package
from examples.regression_model.contract import TOLERANCE
from examples.regression_model.data import generate_csv, true_y
from infra import build_spec
from infra.local.images import (
    IMAGE_PREFIX,
    LambdaContainer,
    ModelImages,
    build_model_images,
    docker,
    run_python,
)
from serving import contract
from serving.api import cors_policy
from serving.events import http_event
from tests.support import REPO_ROOT
from tests.support.http import http_front

pytestmark = pytest.mark.docker

DATA_PATH = "data/regression.csv"


@pytest.fixture(scope="module")
def example_images(base_image, progress) -> ModelImages:
    if not (REPO_ROOT / DATA_PATH).is_file():  # data/ is gitignored; the same bytes every time
        generate_csv(REPO_ROOT / DATA_PATH)
    return build_model_images(
        base_image,
        data_path=DATA_PATH,
        model_package="examples.regression_model",
        name=f"{IMAGE_PREFIX}-example",  # beside the nearest-store images, not in place of them
        progress=progress,
    )


@pytest.fixture(scope="module")
def example_container(example_images):
    with LambdaContainer(example_images.serving) as container:
        yield container


def test_the_training_image_trained_the_example_on_its_data(example_images):
    proc = run_python(example_images.training, f"print(open({build_spec.REPORT_PATH!r}).read())")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["rows"] == 500 and report["r2_held_out"] > 0.999


def test_through_the_rie_it_predicts_the_generating_formula(example_container, example_images):
    answer = example_container.invoke(http_event("GET", "/predict", query={"x1": "2", "x2": "-3"}))
    assert answer["statusCode"] == 200, answer
    assert answer["headers"]["X-Model-Version"] == example_images.build.model_version
    assert json.loads(answer["body"])["prediction"] == pytest.approx(true_y(2, -3), abs=TOLERANCE)
    rows = [[0, 0], [1.5, 4], [-8, 2]]
    answer = example_container.invoke(http_event("POST", "/predict", body={"rows": rows}))
    assert answer["statusCode"] == 200, answer
    predictions = json.loads(answer["body"])["predictions"]
    assert predictions == pytest.approx([true_y(*row) for row in rows], abs=TOLERANCE)


def test_through_the_rie_bad_input_and_health(example_container):
    answer = example_container.invoke(http_event("GET", "/predict", query={"x1": "1", "x2": "inf"}))
    assert answer["statusCode"] == 400 and "'x2'" in json.loads(answer["body"])["error"]
    health = example_container.invoke(http_event("GET", "/health"))
    assert health["statusCode"] == 200 and json.loads(health["body"])["rows"] == 500


def test_the_serving_image_keeps_the_examples_contract(example_container):
    out = io.StringIO()
    front = http_front(
        lambda event, context: example_container.invoke(event), cors=cors_policy(package.ROUTES)
    )
    with front as url:
        assert contract.run(url, package.contract_checks(), out=out) == 0, out.getvalue()


def test_both_images_are_labelled_with_the_model_package_and_its_version(example_images):
    """`docker inspect` (and a registry's UI) tells which model an image holds."""
    for tag in (example_images.training, example_images.serving):
        labels = json.loads(docker("image", "inspect", "-f", "{{json .Config.Labels}}", tag).stdout)
        assert labels["org.opencontainers.image.title"] == package.__name__, tag
        assert labels["serving.model-version"] == example_images.build.model_version, tag
