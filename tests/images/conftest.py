"""Images built for real with a Docker engine, from infra/build_spec.py (as the Pulumi
program builds them), on $LAMBDA_BASE_IMAGE or the local stand-in for the Lambda base.

The builds take minutes when nothing is cached: they say so before they start and print
each build step to the terminal as it goes (pytest's capture is suspended for those
lines). The session leaves no container behind; the images stay under one name per
checkout, reused as cache by the next run (docs/design.md).
"""

from __future__ import annotations

import pytest

from infra.local.images import (
    LambdaContainer,
    ModelImages,
    Progress,
    build_model_images,
    docker_available,
    image_size_mb,
    lambda_base_image,
    remove_containers,
)
from tests.support import require


@pytest.fixture(scope="session")
def progress(pytestconfig) -> Progress:
    """A line straight to the terminal, even while pytest captures the test's output."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    terminal = pytestconfig.pluginmanager.getplugin("terminalreporter")

    def say(line: str) -> None:
        with capture.global_and_fixture_disabled():
            if terminal._tw.width_of_current_line:  # after the progress dots of -q
                terminal.write("\n")
            terminal.write_line(line)

    return say


@pytest.fixture(scope="session")
def docker_engine():
    require(docker_available(), "no Docker engine answers (run scripts/setup --images, or start dockerd)")
    yield
    remove_containers()  # any a test could not stop (each test's container is removed as it ends)


@pytest.fixture(scope="session")
def base_image(docker_engine, progress) -> str:
    return lambda_base_image(progress)


@pytest.fixture(scope="session")
def model_images(base_image, repo_data_csv, measurements, progress) -> ModelImages:
    images = build_model_images(base_image, progress=progress)
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
