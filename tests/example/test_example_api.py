"""The example model package (examples/regression_model) on the platform, in process: its
training CLI, its artifact loaded by serving.artifact, and its routes through the very
handler Lambda runs (serving.api.create_api), with the platform's /health and 404."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

import examples.regression_model as package
from examples.regression_model import data
from examples.regression_model.contract import TOLERANCE
from examples.regression_model.routes import MAX_ROWS
from examples.regression_model.train import main as train
from serving import contract, model_package
from serving.api import LocalContext, cors_policy
from serving.artifact import Artifact
from serving.events import http_event
from tests.support import REPO_ROOT
from tests.support.http import http_front
from tests.support.logs import make_api


@pytest.fixture(scope="module")
def api(example_loaded):
    return make_api(example_loaded, package)[0]


def call(api, event) -> tuple[int, dict]:
    answer = api.handler(event, LocalContext())
    assert answer["headers"]["Content-Type"] == "application/json", answer
    return answer["statusCode"], json.loads(answer["body"])


def test_it_exports_exactly_the_seam():
    assert model_package("examples.regression_model") is package
    assert package.SERVICE_NAME == "regression"
    assert str(package.DEFAULT_DATA_PATH) == "data/regression.csv"


def test_training_generates_the_default_data_once_and_identically(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # DEFAULT_DATA_PATH is relative to the project directory
    assert train(["--out", "first.joblib", "--report", "report.json"]) == 0
    generated = (tmp_path / package.DEFAULT_DATA_PATH).read_bytes()
    assert generated.count(b"\n") == data.GENERATED_ROWS + 1
    assert data.generate_csv(tmp_path / "again.csv").read_bytes() == generated
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["r2_held_out"] > 0.999 and report["held_out_rows"] == 100


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("1.0,two,3.0", "line 3 column x2"),
        ("1.0,2.0", "line 3: 2 columns"),
        ("1.0,2.0,inf", "line 3 column y"),
    ],
)
def test_bad_data_fails_training_and_check_data_naming_line_and_column(tmp_path, capsys, line, message):
    bad = tmp_path / "bad.csv"
    rows = data.generate_csv(tmp_path / "good.csv").read_text().splitlines()
    bad.write_text("\n".join([rows[0], rows[1], line, *rows[2:20]]) + "\n")
    assert train(["--data", str(bad), "--out", str(tmp_path / "m.joblib")]) == 2
    assert message in capsys.readouterr().err
    with pytest.raises(ValueError, match=message):
        package.check_data(bad, setting="chipotle:dataPath")


def test_check_data_summarises_the_data(example_csv, example_loaded):
    summary = package.check_data(example_csv, setting="chipotle:dataPath")
    assert summary == {"data_sha256": example_loaded.metadata["data_sha256"], "rows": 500}


def test_get_predicts_the_generating_formula(api):
    for x1, x2 in [(0, 0), (2.5, -1), (-9, 9)]:
        status, body = call(api, http_event("GET", "/predict", query={"x1": str(x1), "x2": str(x2)}))
        assert status == 200
        assert body["prediction"] == pytest.approx(data.true_y(x1, x2), abs=TOLERANCE)


def test_post_predicts_each_row_in_order(api):
    rows = [[1, 1], [0.5, -3], [10, 10]]
    status, body = call(api, http_event("POST", "/predict", body={"rows": rows}))
    assert status == 200
    assert body["predictions"] == pytest.approx([data.true_y(*row) for row in rows], abs=TOLERANCE)


@pytest.mark.parametrize(
    ("event", "status", "phrase"),
    [
        (http_event("GET", "/predict", query={"x1": "1"}), 400, "x2"),
        (http_event("GET", "/predict"), 400, "x1 and x2"),
        (http_event("GET", "/predict", query={"x1": "one", "x2": "2"}), 400, "'x1'"),
        (http_event("GET", "/predict", query={"x1": "nan", "x2": "2"}), 400, "'x1'"),
        (http_event("GET", "/predict", query={"x1": "1e999", "x2": "2"}), 400, "finite"),
        # a prediction would overflow to Infinity, which is not JSON (found by Schemathesis)
        (http_event("GET", "/predict", query={"x1": "1.7976931348623157e308", "x2": "0"}), 400, "to 1e+12"),
        (
            http_event("POST", "/predict", body={"rows": [[0, -1e13]]}),
            400,
            "rows[0][1] must be a finite number",
        ),
        (http_event("POST", "/predict", body={"rows": [[1, "2"]]}), 400, "rows[0][1]"),
        (http_event("POST", "/predict", body={"rows": [[1, True]]}), 400, "rows[0][1]"),
        (http_event("POST", "/predict", body={"rows": [[1, 2, 3]]}), 400, "rows[0]"),
        (http_event("POST", "/predict", body={"rows": []}), 400, "at least one row"),
        (http_event("POST", "/predict", body='{"rows": [[1, NaN]]}'), 400, "NaN"),
        (http_event("POST", "/predict", body="{"), 400, "not valid JSON"),
        (http_event("POST", "/predict", body={"rows": [[0, 0]] * (MAX_ROWS + 1)}), 413, "too many rows"),
        (http_event("DELETE", "/predict"), 405, "not allowed"),
        (http_event("GET", "/no/such/path"), 404, "no such path"),
    ],
)
def test_bad_input_is_a_4xx_json_error(api, event, status, phrase):
    got, body = call(api, event)
    assert got == status and set(body) == {"error"} and phrase in body["error"], body


def test_health_shows_the_models_data(api, example_loaded):
    status, body = call(api, http_event("GET", "/health"))
    assert status == 200 and body["status"] == "ok"
    assert body["rows"] == 500 and body["data_sha256"] == example_loaded.metadata["data_sha256"]


def test_the_contract_holds_for_the_trained_model(api, example_csv):
    with http_front(api.handler, cors=cors_policy(package.ROUTES)) as url:
        for data in (None, example_csv):  # smoke URL, and smoke URL --data CSV
            out = io.StringIO()
            assert contract.run(url, package.contract_checks(data), out=out) == 0, out.getvalue()


def test_with_data_the_contract_checks_predictions_against_its_rows(api, example_csv, tmp_path):
    """Rows of other data (y off by 1, far beyond the data's noise) are a difference."""
    rows = example_csv.read_text().splitlines()
    shifted = [rows[0]] + [
        f"{line.rsplit(',', 1)[0]},{float(line.rsplit(',', 1)[1]) + 1:.6f}" for line in rows[1:]
    ]
    other = tmp_path / "other.csv"
    other.write_text("\n".join(shifted) + "\n")
    out = io.StringIO()
    with http_front(api.handler, cors=cors_policy(package.ROUTES)) as url:
        assert contract.run(url, package.contract_checks(other), out=out) == 1
    assert "FAIL prediction: GET /predict?x1=" in out.getvalue(), out.getvalue()


def test_the_contract_fails_a_wrong_model(example_loaded):
    model = example_loaded.model.__class__().fit([[0, 0], [1, 0], [0, 1]], [0, 1, 1])  # y = x1 + x2
    wrong = make_api(Artifact(model, example_loaded.metadata), package)[0]
    out = io.StringIO()
    with http_front(wrong.handler, cors=cors_policy(package.ROUTES)) as url:
        assert contract.run(url, package.contract_checks(), out=out) == 1
    assert "FAIL prediction" in out.getvalue()


def test_training_imports_nothing_of_the_http_stack():
    """The training image installs the model stack only (requirements/training.txt): the
    package, which the training command imports, must not need Powertools."""
    code = "import sys; sys.modules['aws_lambda_powertools'] = None\nimport examples.regression_model.train"
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
