"""SnapStart hooks (serving.lifecycle), run the way awslambdaric runs them.

The RIE has no SnapStart (it answers 404 to /runtime/restore/next), so the lifecycle is
played in process: INIT imports lambda_image/handler.py with AWS_LAMBDA_INITIALIZATION_TYPE
= snap-start, awslambdaric's own hooks runner runs the before-snapshot hooks, and the
snapshot is a fork: each child is an execution environment restored from the same memory,
in which the runner runs the after-restore hooks before the first request.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from serving import lifecycle
from tests.support import REPO_ROOT
from tests.support.cases import check_answer
from tests.support.events import load_event

SNAPSHOT_THEN_TWO_RESTORES = """
import gc, json, os, random, sys
import numpy as np
sys.path.insert(0, "lambda_image")
import handler  # INIT, as awslambdaric imports the handler module
from awslambdaric import lambda_runtime_hooks_runner as hooks
from serving.api import LocalContext

hooks.run_before_snapshot()
snapshot_random = random.getstate()
print(json.dumps({"snapshot": {"frozen": gc.get_freeze_count()}}), flush=True)
event = json.loads(sys.argv[1])
for restore in (True, True, False, False):  # two restored environments, then two without the hook
    pid = os.fork()
    if pid == 0:
        random.setstate(snapshot_random)  # fork reseeds `random` itself; a restore does not
        if restore:
            hooks.run_after_restore()
        answer = handler.handler(event, LocalContext())
        print(json.dumps({"environment": {"hooked": restore, "random": random.random(),
                          "numpy": float(np.random.random()), "answer": answer}}), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
"""


def play_snapstart(real_artifact) -> tuple[dict, list[dict], list[dict]]:
    """(the snapshot's state, each environment's result, every log line), in order."""
    event = json.dumps(load_event("get_nearest"))
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SNAPSHOT_THEN_TWO_RESTORES), event],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(REPO_ROOT),
            "MODEL_PACKAGE": "chipotle_model",
            "MODEL_PATH": str(real_artifact),
            "MODEL_VERSION": "m-snapstart-test",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
        },
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    snapshot = next(line["snapshot"] for line in lines if "snapshot" in line)
    environments = [line["environment"] for line in lines if "environment" in line]
    logs = [line for line in lines if "message" in line]
    return snapshot, environments, logs


def test_restored_environments_answer_correctly_each_with_its_own_random_state(real_artifact, real_model):
    snapshot, environments, _ = play_snapstart(real_artifact)
    assert snapshot["frozen"] > 0  # before the snapshot: the heap collected and frozen
    restored, unhooked = environments[:2], environments[2:]
    assert [env["hooked"] for env in environments] == [True, True, False, False]
    for env in environments:
        check_answer(real_model, "get_nearest", load_event("get_nearest"), env["answer"])
    # Without the hook, two environments from one snapshot draw the very same numbers...
    assert unhooked[0]["random"] == unhooked[1]["random"]
    assert unhooked[0]["numpy"] == unhooked[1]["numpy"]
    # ...with it, each draws its own.
    assert restored[0]["random"] != restored[1]["random"]
    assert restored[0]["numpy"] != restored[1]["numpy"]
    assert {restored[0]["random"], restored[1]["random"]}.isdisjoint({unhooked[0]["random"]})


def test_the_log_tells_a_restore_from_a_cold_init(real_artifact):
    _, _, logs = play_snapstart(real_artifact)
    messages = [line["message"] for line in logs]
    assert messages == ["ready", *["restored from snapshot", "request"] * 2, "request", "request"]
    requests = [line for line in logs if line["message"] == "request"]
    assert all(line["cold_start"] is True and line["init_type"] == "snap-start" for line in requests)
    assert [line["restored"] for line in requests] == [True, True, False, False]
    restores = [line for line in logs if line["message"] == "restored from snapshot"]
    assert all(line["restored"] is True and line["init_type"] == "snap-start" for line in restores)


def test_log_fields_follow_lambdas_initialization_type(monkeypatch):
    for init_type in ("on-demand", "provisioned-concurrency", "snap-start"):
        monkeypatch.setenv(lifecycle.INIT_TYPE_VARIABLE, init_type)
        assert lifecycle.log_fields() == {"init_type": init_type, "restored": False}
    monkeypatch.delenv(lifecycle.INIT_TYPE_VARIABLE)
    assert lifecycle.log_fields()["init_type"] is None


def test_without_snapshot_restore_py_nothing_is_registered(monkeypatch):
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # makes the import fail
    assert lifecycle.register_snapstart_hooks() is False
