"""Images built for real with a Docker engine, from infra/build_spec.py (as the Pulumi
program builds them), on $LAMBDA_BASE_IMAGE or the local stand-in for the Lambda base."""

from __future__ import annotations

import pytest

from tests.support import require
from tests.support.docker import (
    LambdaContainer,
    ModelImages,
    build_model_images,
    docker_available,
    image_size_mb,
    lambda_base_image,
)


@pytest.fixture(scope="session")
def docker_engine():
    require(docker_available(), "no Docker engine answers (run scripts/setup --images, or start dockerd)")


@pytest.fixture(scope="session")
def base_image(docker_engine) -> str:
    return lambda_base_image()


@pytest.fixture(scope="session")
def model_images(base_image, repo_data_csv, measurements) -> ModelImages:
    images = build_model_images(base_image)
    for kind, tag in (("training", images.training), ("serving", images.serving)):
        measurements.append(f"{kind} image ({base_image}): {image_size_mb(tag):.0f} MB")
    return images


@pytest.fixture(scope="session")
def training_image(model_images) -> str:
    return model_images.training


@pytest.fixture(scope="session")
def serving_image(model_images) -> str:
    return model_images.serving


@pytest.fixture(scope="module")
def lambda_container(serving_image):
    with LambdaContainer(serving_image) as container:
        yield container
