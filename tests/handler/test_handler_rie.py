"""The handler under the real Lambda Runtime Interface Emulator, on loopback.

scripts/fetch-rie takes the `aws-lambda-rie` binary out of the pinned aws-sam-cli wheel;
the RIE runs `python -m awslambdaric handler.handler` from lambda_image/ exactly as the
Lambda base image's entrypoint does, and every case is invoked over HTTP at
POST /2015-03-31/functions/function/invocations.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from chipotle_model.api import LocalContext
from tests.handler.cases import REPO_ROOT, all_events, check_answer, load_event
from tests.support import require

pytestmark = pytest.mark.rie

INVOCATIONS_PATH = "/2015-03-31/functions/function/invocations"
INIT_REPORT = re.compile(r"INIT REPORT\(durationMs: ([\d.]+)\)")
MEMORY_WARM_UP = 50
MEMORY_INVOCATIONS = 1_000
MAX_RSS_GROWTH_KB = 5 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def rie_binary() -> Path:
    script = REPO_ROOT / "scripts" / "fetch-rie"
    require(script.is_file(), f"{script} is missing")
    env = {**os.environ, "PIP": f"{sys.executable} -m pip"}
    proc = subprocess.run([str(script)], capture_output=True, text=True, timeout=900, env=env)
    require(proc.returncode == 0, f"scripts/fetch-rie failed: {proc.stderr.strip()[-2000:]}")
    binary = Path(proc.stdout.strip().splitlines()[-1])
    require(binary.is_file() and os.access(binary, os.X_OK), f"scripts/fetch-rie printed no binary: {binary}")
    return binary


@dataclass
class Emulator:
    process: subprocess.Popen
    port: int
    log: Path

    def invoke(self, event: dict) -> dict:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request("POST", INVOCATIONS_PATH, body=json.dumps(event).encode())
            response = connection.getresponse()
            payload = response.read()
            assert response.status == 200, (response.status, payload[:500])
            return json.loads(payload)
        finally:
            connection.close()

    def runtime_pid(self) -> int:
        """The runtime (python -m awslambdaric) the RIE started: a child of the RIE process."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and b"awslambdaric" in cmdline:
                return int(entry.name)
        raise AssertionError("the RIE has no runtime process")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.fixture(scope="module")
def emulator(rie_binary, real_artifact, tmp_path_factory):
    port, runtime_api_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("rie") / "rie.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_LAMBDA_"))}
    env.update(
        MODEL_PATH=str(real_artifact),
        PYTHONPATH=str(REPO_ROOT),
        POWERTOOLS_SERVICE_NAME="nearest-store-rie",
        CORS_ALLOW_ORIGINS="*",
    )
    command = [
        str(rie_binary),
        "--runtime-interface-emulator-address", f"127.0.0.1:{port}",
        "--runtime-api-address", f"127.0.0.1:{runtime_api_port}",
        sys.executable, "-m", "awslambdaric", "handler.handler",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT / "lambda_image",
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    emulator = Emulator(process, port, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"the RIE exited:\n{emulator.log_text()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"the RIE did not listen:\n{emulator.log_text()}"
                time.sleep(0.05)
        yield emulator
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the RIE and the runtime it started
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def comparable(response: dict) -> dict:
    body = response["body"]
    return {**response, "body": json.loads(body) if body else body}


def test_every_case_gets_the_same_answer_through_the_rie(emulator, api, real_model):
    for name, event in all_events().items():
        through_rie = emulator.invoke(event)
        check_answer(real_model, name, event, through_rie)
        assert comparable(through_rie) == comparable(api.handler(event, LocalContext())), name


def test_init_runs_once_and_the_first_request_is_the_cold_start(emulator, record_property):
    emulator.invoke(load_event("get_health"))
    emulator.invoke(load_event("get_nearest"))
    text = emulator.log_text()
    inits = INIT_REPORT.findall(text)
    assert len(inits) == 1, text[-3000:]
    record_property("rie_init_duration_ms", float(inits[0]))
    print(f"RIE INIT REPORT durationMs: {float(inits[0]):.1f}")
    requests = [json.loads(line) for line in text.splitlines() if line.startswith('{"level"')]
    requests = [record for record in requests if record["message"] == "request"]
    assert requests[0]["cold_start"] is True
    assert all(record["cold_start"] is False for record in requests[1:])
    assert requests[0]["service"] == "nearest-store-rie"
    request_ids = re.findall(r"START RequestId: (\S+)", text)
    assert [record["function_request_id"] for record in requests] == request_ids
    assert "Billed Duration" in text


def test_memory_is_flat_over_1000_invocations(emulator, real_model, record_property):
    mix = [
        load_event(name)
        for name in ("get_nearest", "get_nearest_k20_far", "post_batch", "post_batch_base64", "get_health",
                     "get_out_of_range_lat", "post_malformed_json", "get_unknown_path", "get_nearest_lng")
    ]  # fmt: skip
    for i in range(MEMORY_WARM_UP):
        emulator.invoke(mix[i % len(mix)])
    pid = emulator.runtime_pid()
    before = rss_kb(pid)
    for i in range(MEMORY_INVOCATIONS):
        response = emulator.invoke(mix[i % len(mix)])
        assert response["statusCode"] in (200, 400, 404)
    after = rss_kb(pid)
    assert emulator.runtime_pid() == pid  # the same runtime answered throughout
    record_property("rie_rss_before_kb", before)
    record_property("rie_rss_growth_kb", after - before)
    print(f"runtime RSS {before} kB -> {after} kB over {MEMORY_INVOCATIONS} invocations")
    assert after - before < MAX_RSS_GROWTH_KB, (before, after)
