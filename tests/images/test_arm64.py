"""arm64 for real: both images built for linux/arm64 from the same build spec (no other
Dockerfile), on the arm64 stand-in base, and the serving image answering through the
arm64 RIE, under QEMU on an x86_64 machine (scripts/setup --images --arm64).

Emulated, every instruction is slow: the base takes minutes to build and the images
about ten with nothing cached (seconds when cached), so the test is bounded to one
container and a few queries. Opt-in for local runs (`-m arm64` or NEAREST_STORE_ARM64=1);
with CI=true it always runs and never skips.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from infra.local.images import (
    IMAGE_PREFIX,
    INIT_REPORT,
    LambdaContainer,
    ModelImages,
    arm64_runs_here,
    build_model_images,
    docker,
    image_size_mb,
    lambda_base_image,
    run_python,
)
from tests.support import IN_CI, REAL_STORE_COUNT, require
from tests.support.cases import check_answer
from tests.support.events import load_event

pytestmark = [pytest.mark.docker, pytest.mark.arm64]

# A few cases, one of each kind: a GET, k nearest, a far point, a batch, an error.
QUERIES = ("get_nearest", "get_nearest_k5", "get_nearest_k20_far", "post_batch", "get_missing_long")
# Every Python start costs seconds under QEMU: each image starts one (the training image
# for this, the serving image for its INIT), and the rest is read with `uname` and `od`.
# The RIE's ELF machine (e_machine, bytes 18-19 of the binary): 183 is AArch64.
RIE_MACHINE = "od -An -tu2 -j18 -N2 /usr/local/bin/aws-lambda-rie"
# The versions of runtime_versions() (infra/local/images.VERSIONS), read from the
# installed packages' metadata: importing scikit-learn takes ~40 s emulated, this ~2 s.
INSTALLED_VERSIONS = (
    "import json, platform, importlib.metadata as m; print(json.dumps({'python': platform.python_version(),"
    " **{name: m.version(name) for name in ('numpy', 'scipy', 'scikit-learn', 'joblib')}}))"
)


def opted_in(config) -> bool:
    return IN_CI or os.environ.get("NEAREST_STORE_ARM64") == "1" or "arm64" in config.getoption("markexpr")


@pytest.fixture(scope="module")
def arm64_base(pytestconfig, docker_engine, progress, measurements) -> str:
    if not opted_in(pytestconfig):
        pytest.skip("arm64 images under QEMU take minutes: opt in with -m arm64 or NEAREST_STORE_ARM64=1")
    require(arm64_runs_here(), "no arm64 emulation (run scripts/setup --images --arm64)")
    started = time.monotonic()
    base = lambda_base_image(progress, architecture="arm64")
    measurements.append(f"arm64 base image ({base}): ready in {time.monotonic() - started:.0f} s")
    return base


@pytest.fixture(scope="module")
def arm64_images(arm64_base, repo_data_csv, progress, measurements) -> ModelImages:
    started = time.monotonic()
    images = build_model_images(
        arm64_base, name=f"{IMAGE_PREFIX}-test-arm64", architecture="arm64", progress=progress
    )
    measurements.append(f"arm64 training + serving image builds: {time.monotonic() - started:.0f} s")
    for kind, tag in (("training", images.training), ("serving", images.serving)):
        measurements.append(f"arm64 {kind} image: {image_size_mb(tag):.0f} MB")
    return images


@pytest.fixture(scope="module")
def arm64_container(arm64_images, measurements):
    with LambdaContainer(arm64_images.serving) as container:
        started = time.monotonic()
        response = container.invoke(load_event("get_health"), timeout=180)  # INIT, then the answer
        assert response["statusCode"] == 200, response
        init = INIT_REPORT.findall(container.logs())
        measurements.append(
            f"arm64 serving container: first answer {time.monotonic() - started:.1f} s after start, "
            f"INIT {float(init[0]) if init else float('nan'):.0f} ms (RIE, emulated)"
        )
        yield container


@pytest.fixture(scope="module")
def served_health(arm64_container) -> dict:
    return json.loads(arm64_container.invoke(load_event("get_health"))["body"])


def test_both_images_are_arm64_and_run_aarch64(arm64_images, arm64_container, measurements):
    assert arm64_images.build.serving.platform == arm64_images.build.training.platform == "linux/arm64"
    for tag in (arm64_images.training, arm64_images.serving):
        platform = docker("image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", tag).stdout.strip()
        assert platform == "linux/arm64", tag
    training = docker("run", "--rm", "--entrypoint", "uname", arm64_images.training, "-m").stdout.strip()
    serving = docker("exec", arm64_container.name, "uname", "-m").stdout.strip()
    rie = docker("exec", arm64_container.name, "sh", "-c", RIE_MACHINE).stdout.strip()
    assert (training, serving) == ("aarch64", "aarch64")
    assert rie == "183"  # the container answers through the arm64 RIE, not the x86_64 one
    measurements.append(
        f"arm64 uname -m: training image {training}, serving container {serving}; its RIE is AArch64"
    )


def test_both_arm64_images_run_the_very_same_versions(arm64_images, served_health, measurements):
    """The training image's installed versions, and those the serving process reports
    (runtime_versions() of the modules it runs)."""
    training = run_python(arm64_images.training, INSTALLED_VERSIONS)
    assert training.returncode == 0, training.stderr
    versions = json.loads(training.stdout)
    assert served_health["versions"] == versions
    assert versions["python"].startswith("3.13.")
    measurements.append(f"arm64 versions (training = serving): {versions}")


def test_served_through_the_arm64_rie_every_answer_is_checked(
    arm64_container, arm64_images, served_health, real_model, real_metadata, measurements
):
    """A few API cases through the arm64 RIE, each checked against brute force (haversine
    to each of the real CSV's stores), each naming the model the arm64 build recorded."""
    assert served_health["store_count"] == REAL_STORE_COUNT
    assert served_health["data_sha256"] == real_metadata["data_sha256"]
    started = time.monotonic()
    for name in QUERIES:
        event = load_event(name)
        answer = arm64_container.invoke(event, timeout=60)
        assert answer["headers"]["X-Model-Version"] == arm64_images.build.model_version, name
        check_answer(real_model, name, event, answer)
    took = time.monotonic() - started
    measurements.append(
        f"arm64 through the RIE: {len(QUERIES)} answers checked against brute force over "
        f"{served_health['store_count']:,} stores in {took:.1f} s ({', '.join(QUERIES)})"
    )
