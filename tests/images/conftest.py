"""Images built for real with a Docker engine, from infra/build_spec.py (as the Pulumi program does).

The base image: $LAMBDA_BASE_IMAGE when set (CI sets the local stand-in); otherwise
the real public.ecr.aws/lambda/python:3.13 when it can be pulled, else the stand-in
local/lambda-python:3.13 built by scripts/lambda-base/build.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from infra import build_spec
from tests.images.docker_support import (
    BUILD_TIMEOUT_S,
    REPO_ROOT,
    STAND_IN_BASE,
    LambdaContainer,
    built,
    docker,
    docker_available,
    image_id,
    image_size_mb,
)
from tests.support import require


@pytest.fixture(scope="session")
def docker_engine():
    require(docker_available(), "no Docker engine answers (run scripts/setup --images, or start dockerd)")


@pytest.fixture(scope="session")
def base_image(docker_engine) -> str:
    chosen = os.environ.get("LAMBDA_BASE_IMAGE")
    if chosen:
        if docker("image", "inspect", chosen, check=False).returncode != 0 and chosen == STAND_IN_BASE:
            subprocess.run(
                [str(REPO_ROOT / "scripts/lambda-base/build")], check=True, timeout=BUILD_TIMEOUT_S
            )
        return chosen
    real = build_spec.DEFAULT_BASE_IMAGE
    try:
        if docker("pull", real, timeout=60, check=False).returncode == 0:
            return real
    except subprocess.TimeoutExpired:
        pass
    subprocess.run([str(REPO_ROOT / "scripts/lambda-base/build")], check=True, timeout=BUILD_TIMEOUT_S)
    return STAND_IN_BASE


@pytest.fixture(scope="session")
def training_image(base_image, repo_data_csv, measurements) -> str:
    spec = build_spec.training_build(data_path=build_spec.DEFAULT_DATA_PATH, base_image=base_image)
    tag = built(spec, "nearest-store-training:test")
    # Name the training image by its content (as the Pulumi program does), so the
    # serving build depends on exactly this model.
    unique = f"nearest-store-training:{image_id(tag).split(':')[-1][:12]}"
    docker("tag", tag, unique)
    measurements.append(f"training image ({base_image}): {image_size_mb(tag):.0f} MB")
    return unique


@pytest.fixture(scope="session")
def serving_image(base_image, training_image, repo_data_csv, measurements) -> str:
    from chipotle_model import load_stores

    spec = build_spec.serving_build(
        training_image=training_image,
        data_sha256=load_stores(repo_data_csv).sha256,
        base_image=base_image,
    )
    tag = built(spec, "nearest-store:test")
    measurements.append(f"serving image ({base_image}): {image_size_mb(tag):.0f} MB")
    return tag


@pytest.fixture(scope="module")
def lambda_container(serving_image):
    container = LambdaContainer(serving_image)
    yield container
    container.stop()
