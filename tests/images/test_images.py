"""Both images built for real on a Docker engine, and the serving image run through the RIE."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from chipotle_model import load_stores
from chipotle_model.train import brute_force_nearest_km
from infra import build_spec
from tests.images.docker_support import REPO_ROOT, build, run_python

pytestmark = pytest.mark.docker

VERSIONS = (
    "import json; from chipotle_model.model import runtime_versions; print(json.dumps(runtime_versions()))"
)


# The RIE logs "INIT REPORT(durationMs: N)" or, in some versions, "Init Duration: N ms".
INIT_DURATION = re.compile(r"(?:INIT REPORT\(durationMs: |Init Duration: )([\d.]+)")


def http_event(method: str = "GET", path: str = "/", query: str = "", body: str | None = None) -> dict:
    """An API Gateway HTTP API payload 2.0 event, as API Gateway sends it."""
    params: dict[str, str] = {}
    for pair in filter(None, query.split("&")):
        key, _, value = pair.partition("=")
        params[key] = f"{params[key]},{value}" if key in params else value
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"accept": "application/json", "host": "example.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "example",
            "domainName": "example.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "pytest",
            },
            "requestId": "test-request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "24/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1795514400000,
        },
        "isBase64Encoded": False,
    }
    if params:
        event["queryStringParameters"] = params
    if body is not None:
        event["body"] = body
    return event


def test_training_image_holds_the_model_and_a_perfect_report(training_image, real_store_count):
    proc = run_python(training_image, "print(open('/opt/model/report.json').read())")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["store_count"] == real_store_count
    assert report["agreement_share"] == 1.0
    assert all(a["agree"] == a["points"] >= 10_000 for a in report["agreement"].values())


def test_serving_image_has_the_artifact_and_no_pandas(serving_image):
    proc = run_python(serving_image, f"import os; print(os.path.getsize({build_spec.SERVING_MODEL_PATH!r}))")
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) > 0
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
    trained = run_python(training_image, code.format("/opt/model/model.joblib"))
    served = run_python(serving_image, code.format(build_spec.SERVING_MODEL_PATH))
    assert trained.stdout == served.stdout and len(trained.stdout.strip()) == 64


def test_served_through_the_rie_answers_the_true_nearest_store(lambda_container, repo_data_csv, measurements):
    stores = load_stores(repo_data_csv).stores
    lat, lon = np.asarray(stores.latitude), np.asarray(stores.longitude)
    rng = np.random.default_rng(11)
    queries = [(39.153198, -77.066176), *zip(rng.uniform(25, 49, 15), rng.uniform(-124, -68, 15))]
    for q_lat, q_lon in queries:
        response = lambda_container.invoke(http_event(query=f"lat={q_lat}&long={q_lon}"))
        assert response["statusCode"] == 200, response
        body = json.loads(response["body"])
        want = brute_force_nearest_km(lat, lon, np.array([q_lat]), np.array([q_lon]))[0]
        assert body["nearest"]["distance_km"] == pytest.approx(want, abs=1e-3)
    durations = [float(ms) for ms in INIT_DURATION.findall(lambda_container.logs())]
    assert durations, lambda_container.logs()[-2000:]
    measurements.append(f"serving container INIT (RIE): {durations[0]:.0f} ms")


@pytest.mark.parametrize(
    "query",
    ["long=-77.0", "lat=abc&long=-77.0", "lat=91&long=-77", "lat=39&long=-77&k=0", "lat=39,40&long=-77"],
)
def test_served_bad_input_is_a_400_with_a_json_error(lambda_container, query):
    response = lambda_container.invoke(http_event(query=query))
    assert response["statusCode"] == 400, response
    assert json.loads(response["body"])["error"]


def test_served_health_reports_the_model(lambda_container, real_store_count):
    response = lambda_container.invoke(http_event(path="/health"))
    assert response["statusCode"] == 200, response
    assert str(real_store_count) in response["body"]


def test_served_batch_keeps_input_order(lambda_container):
    points = [[47.6, -122.3], [40.7, -74.0], [34.0, -118.2]]
    response = lambda_container.invoke(http_event("POST", body=json.dumps({"points": points})))
    assert response["statusCode"] == 200, response
    states = [r["state"] for r in json.loads(response["body"])["results"]]
    assert states[0] == "Washington" and states[2] == "California"


def test_a_broken_csv_fails_the_training_build_with_line_and_column(base_image, repo_data_csv):
    broken = REPO_ROOT / "data" / "test-broken-stores.csv"
    lines = repo_data_csv.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 2)[0] + ",forty,-77.1"  # line 6 of the file
    broken.write_text("\n".join(lines[:10]) + "\n")
    try:
        spec = build_spec.training_build(data_path="data/test-broken-stores.csv", base_image=base_image)
        proc = build(spec, "nearest-store-training:broken")
    finally:
        broken.unlink()
    assert proc.returncode != 0
    assert "line 6, column 'latitude': not a number: 'forty'" in proc.stdout + proc.stderr


def test_the_dockerfiles_have_no_architecture_specific_step():
    """Both images build per platform from one spec; nothing in them names an architecture."""
    for spec in (
        build_spec.training_build(architecture="arm64"),
        build_spec.serving_build(training_image="t", data_sha256="x", architecture="arm64"),
    ):
        assert spec.platform == "linux/arm64"
        text = Path(spec.dockerfile).read_text().lower()
        assert not re.search(r"amd64|x86_64|aarch64|arm64|--platform", text)
