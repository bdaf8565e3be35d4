"""lambda_image/handler.py: the model path, loading once at import, and the handler it exposes."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid

import numpy as np
import pytest

from serving.api import LocalContext
from serving.artifact import ModelLoadError
from tests.support import REPO_ROOT
from tests.support.cases import check_answer
from tests.support.events import load_event

HANDLER_FILE = REPO_ROOT / "lambda_image" / "handler.py"


@pytest.fixture(autouse=True)
def model_package(monkeypatch):
    """The serving image sets MODEL_PACKAGE; so do these tests."""
    monkeypatch.setenv("MODEL_PACKAGE", "chipotle_model")


def import_handler_module():
    """Import lambda_image/handler.py afresh, as the Lambda runtime does at init."""
    name = f"lambda_handler_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, HANDLER_FILE)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def test_handler_loads_the_model_at_import_and_answers(real_artifact, real_model, monkeypatch):
    monkeypatch.setenv("MODEL_PATH", str(real_artifact))
    module = import_handler_module()
    assert len(module.api.model) == len(real_model)
    model = module.api.model
    for name in ("get_nearest", "post_batch", "get_health", "get_missing_long"):
        event = load_event(name)
        check_answer(real_model, name, event, module.handler(event, LocalContext()))
    assert module.api.model is model  # loaded once, at import


def test_handler_init_fails_clearly_without_model_path(monkeypatch):
    monkeypatch.delenv("MODEL_PATH", raising=False)
    with pytest.raises(ModelLoadError, match="MODEL_PATH not set: the serving image sets"):
        import_handler_module()


def test_handler_init_fails_clearly_without_an_artifact(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "model.joblib"
    monkeypatch.setenv("MODEL_PATH", str(missing))
    with pytest.raises(ModelLoadError, match=r"no model artifact at .*nowhere"):
        import_handler_module()


def test_handler_logs_ready_at_init_then_one_line_per_request(real_artifact, monkeypatch, capsys):
    monkeypatch.setenv("MODEL_PATH", str(real_artifact))
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", f"entry-test-{uuid.uuid4().hex[:8]}")
    module = import_handler_module()
    init = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [record["message"] for record in init] == ["ready"]
    assert init[0]["store_count"] == len(module.api.model) and init[0]["warm_up_ms"] > 0
    module.handler(load_event("get_nearest"), LocalContext())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (request,) = [line for line in lines if line.get("message") == "request"]
    (metrics,) = [line for line in lines if "_aws" in line]  # and its EMF record
    assert len(lines) == 2
    assert request["service"].startswith("entry-test-") and metrics["service"] == request["service"]


TRACING_PROBE = """
import json, sys
sys.path.insert(0, "lambda_image")
import handler
from serving.api import LocalContext
from tests.support.events import load_event
answer = handler.handler(load_event("get_nearest"), LocalContext())
print(json.dumps({"status": answer["statusCode"], "xray": "aws_xray_sdk" in sys.modules}))
"""


@pytest.mark.parametrize("tracing", [False, True])
def test_tracing_only_when_asked_and_no_tracing_library_otherwise(real_artifact, tracing):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_LAMBDA_", "TRACING"))}
    env.update(MODEL_PACKAGE="chipotle_model", MODEL_PATH=str(real_artifact), PYTHONPATH=str(REPO_ROOT))
    if tracing:  # as the image sets it; no X-Ray daemon here, so Powertools' own off switch
        env.update(TRACING="true", POWERTOOLS_TRACE_DISABLED="true")
    proc = subprocess.run(
        [sys.executable, "-c", TRACING_PROBE],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"status": 200, "xray": tracing}


def test_handler_init_fails_clearly_with_a_damaged_artifact(real_artifact, real_model, tmp_path, monkeypatch):
    """Lambda reports the INIT error's message: it names the damage and how to rebuild."""
    from tests.support.artifacts import PickledAs, rewrite_model, rows

    path = tmp_path / "model.joblib"
    path.write_bytes(real_artifact.read_bytes())
    reversed_rows = rows(real_model.stores, np.arange(len(real_model))[::-1])
    rewrite_model(path, PickledAs(real_model._tree, reversed_rows.to_arrays()))
    monkeypatch.setenv("MODEL_PATH", str(path))
    with pytest.raises(ModelLoadError) as err:
        import_handler_module()
    assert str(err.value) == (
        f"{path} is a damaged artifact: its model cannot be restored (ValueError: the index's points "
        "are not the store table's coordinates, in order); rebuild it with "
        f"'python -m <model package>.train --data CSV --out {path}'"
    )
