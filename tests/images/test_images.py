"""Both images built for real on a Docker engine, and the serving image run through the RIE."""

from __future__ import annotations

import io
import json
import re

import pytest

import chipotle_model
from chipotle_model.fetch import DEFAULT_DATA_PATH
from infra import build_spec
from infra.config import DEFAULTS
from infra.local.images import (
    IMAGE_PREFIX,
    INIT_REPORT,
    VERSIONS,
    LambdaContainer,
    build,
    built,
    copy_build_context,
    docker,
    run_python,
)
from serving import contract
from tests.support import REPO_ROOT
from tests.support.cases import all_events, check_answer
from tests.support.events import load_event
from tests.support.http import http_front

pytestmark = pytest.mark.docker


def test_training_image_holds_the_model_and_a_perfect_report(training_image, real_store_count):
    proc = run_python(training_image, f"print(open({build_spec.REPORT_PATH!r}).read())")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["store_count"] == real_store_count
    assert report["agreement_share"] == 1.0
    assert all(a["agree"] == a["points"] >= 10_000 for a in report["agreement"].values())


def test_serving_image_has_the_artifact_where_model_path_says_and_no_pandas(serving_image):
    proc = run_python(
        serving_image, "import os; print(os.environ['MODEL_PATH'], os.path.getsize(os.environ['MODEL_PATH']))"
    )
    assert proc.returncode == 0, proc.stderr
    path, size = proc.stdout.split()
    assert path == build_spec.MODEL_PATH and int(size) > 0
    no_pandas = run_python(serving_image, "import pandas")
    assert no_pandas.returncode != 0
    assert "No module named 'pandas'" in no_pandas.stderr


def test_both_images_run_the_very_same_versions(training_image, serving_image):
    training, serving = run_python(training_image, VERSIONS), run_python(serving_image, VERSIONS)
    assert training.returncode == serving.returncode == 0, training.stderr + serving.stderr
    assert json.loads(training.stdout) == json.loads(serving.stdout)
    assert json.loads(serving.stdout)["python"].startswith("3.13.")


def test_the_serving_model_is_the_one_trained_in_the_training_image(training_image, serving_image):
    digest = "import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())"
    code = digest.replace("sys.argv[1]", "{!r}")
    trained = run_python(training_image, code.format(build_spec.MODEL_PATH))
    served = run_python(serving_image, code.format(build_spec.MODEL_PATH))
    assert trained.stdout == served.stdout and len(trained.stdout.strip()) == 64


def test_served_through_the_rie_every_case_gets_the_same_checked_answer(
    lambda_container, real_model, model_images
):
    """Every API case (tests/events/ and the generated ones) through the container's RIE,
    checked against brute force exactly as in process, each naming the model the build
    recorded."""
    for name, event in all_events().items():
        answer = lambda_container.invoke(event)
        assert answer["headers"]["X-Model-Version"] == model_images.build.model_version, name
        if name == "get_health":
            continue  # its metadata (created_at) is the image's own model: checked below
        check_answer(real_model, name, event, answer)


def test_the_serving_image_keeps_the_apis_contract_behind_an_http_front(lambda_container):
    """`python -m chipotle_model smoke` against the image: HTTP turned into the events API
    Gateway sends (the local server's front), each invoked through the container's RIE."""
    out = io.StringIO()
    with http_front(lambda event, context: lambda_container.invoke(event)) as url:
        assert contract.run(url, chipotle_model.contract_checks(), out=out) == 0, out.getvalue()


def test_served_health_reports_the_models_data_and_versions(lambda_container, real_metadata, model_images):
    response = lambda_container.invoke(load_event("get_health"))
    assert response["statusCode"] == 200, response
    health = json.loads(response["body"])
    assert health["model_version"] == model_images.build.model_version
    serving_image = model_images.serving
    for key in ("store_count", "data_sha256", "duplicates_dropped"):
        assert health[key] == real_metadata[key]
    in_image = json.loads(run_python(serving_image, VERSIONS).stdout)
    assert health["versions"] == in_image


def test_the_rie_reports_the_cold_start(lambda_container, measurements):
    lambda_container.invoke(load_event("get_nearest"))
    durations = [float(ms) for ms in INIT_REPORT.findall(lambda_container.logs())]
    assert len(durations) == 1, lambda_container.logs()[-2000:]
    measurements.append(f"serving container INIT (RIE): {durations[0]:.0f} ms")


def test_a_broken_csv_fails_the_training_build_with_line_and_column(base_image, repo_data_csv, progress):
    broken = REPO_ROOT / "data" / "test-broken-stores.csv"
    lines = repo_data_csv.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 2)[0] + ",forty,-77.1"  # line 6 of the file
    broken.write_text("\n".join(lines[:10]) + "\n")
    try:
        spec = build_spec.model_build(data_path="data/test-broken-stores.csv", base_image=base_image)
        proc = build(spec.training, f"{IMAGE_PREFIX}-test-training:broken", progress)
    finally:
        broken.unlink()
    assert proc.returncode != 0
    assert "line 6, column 'latitude': not a number: 'forty'" in proc.stdout


def test_the_dockerfiles_have_no_architecture_specific_step(repo_data_csv):
    """Both images build per platform from one spec; nothing in them names an architecture."""
    spec = build_spec.model_build(data_path=DEFAULT_DATA_PATH, base_image="b", architecture="arm64")
    for image in (spec.training, spec.serving):
        assert image.platform == "linux/arm64"
        text = (REPO_ROOT / image.dockerfile).read_text().lower()
        assert not re.search(r"amd64|x86_64|aarch64|arm64|--platform", text)


def test_the_model_version_names_the_training_inputs(repo_data_csv, data_files):
    """Same data and code: the same version (a rebuild anywhere names the same model);
    other data: another version, and another serving tag."""
    base = DEFAULTS["baseImage"]
    one = build_spec.model_build(data_path=DEFAULT_DATA_PATH, base_image=base)
    assert build_spec.model_build(data_path=DEFAULT_DATA_PATH, base_image=base) == one
    assert re.fullmatch(r"m-[0-9a-f]{12}", one.model_version)
    assert one.serving_tag.startswith(one.model_version + "-")
    lines = repo_data_csv.read_bytes().splitlines(keepends=True)
    other = build_spec.model_build(data_path=data_files.write(b"".join(lines[:-1])), base_image=base)
    assert other.model_version != one.model_version and other.serving_tag != one.serving_tag
    assert build_spec.model_build(data_path=DEFAULT_DATA_PATH, base_image="other:base") != one


# Last in this module: it removes the training image the tests above use.
def test_the_serving_build_survives_a_pruned_training_image_a_changed_handler_and_another_clone(
    model_images, base_image, real_model, real_metadata, tmp_path, progress
):
    """The hand-off is one multi-stage build: with every local image of the training build
    gone, a serving build from another clone path with only the handler changed succeeds,
    without any manual step, and serves an equal model."""
    docker("image", "rm", "-f", model_images.training)
    docker("image", "prune", "-f")
    assert docker("image", "inspect", model_images.training, check=False).returncode != 0
    clone = copy_build_context(tmp_path / "elsewhere")
    handler = clone / "lambda_image" / "handler.py"
    handler.write_text(handler.read_text() + "\n# a change to the handler only\n")
    spec = build_spec.model_build(data_path=DEFAULT_DATA_PATH, base_image=base_image, project_dir=clone)
    assert spec.model_version == model_images.build.model_version, "same data and code: same model"
    assert spec.serving_tag != model_images.build.serving_tag, "a changed handler is a new image"
    rebuilt = built(spec.serving, f"{IMAGE_PREFIX}-test:{spec.serving_tag}", progress, cwd=clone)
    with LambdaContainer(rebuilt) as container:
        for name in ("get_nearest", "post_batch", "get_missing_long"):
            event = load_event(name)
            check_answer(real_model, name, event, container.invoke(event))
        health = json.loads(container.invoke(load_event("get_health"))["body"])
    assert health["data_sha256"] == real_metadata["data_sha256"]
    docker("image", "rm", "-f", rebuilt, check=False)
