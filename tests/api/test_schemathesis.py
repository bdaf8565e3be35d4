"""Schemathesis against the real local server: every operation of GET /openapi.json
fuzzed (valid and invalid input), every answer checked against the document.

The server is `python -m <package> serve` in a process of its own on 127.0.0.1, and
Schemathesis runs as its CLI (`schemathesis run`) in another, bounded in examples per
operation, in seconds per request and in seconds overall. Checks: all of them
(not_a_server_error, status code, content type, headers and response schema
conformance, negative data rejected and positive data accepted, unsupported methods
answered 405 with Allow, ...). Its configuration is tests/api/schemathesis.toml.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from infra.local.server import serve_process

CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 100  # per operation
REQUEST_TIMEOUT_S = 10
RUN_TIMEOUT_S = 300


def schemathesis_run(base_url: str, workdir: Path) -> subprocess.CompletedProcess:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{base_url}openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--request-timeout",
        str(REQUEST_TIMEOUT_S),
        "--generation-database",
        "none",  # nothing written beside the tests
        "--no-color",
        "--output-truncate",
        "true",
    ]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


def summary(output: str) -> str:
    """The run's figures: test cases, failures, seconds, seed."""
    cases = re.search(r"^\s*(\d+ generated.*)$", output, re.MULTILINE)
    ending = re.search(r"^=+ (.* in [\d.]+s) =+$", output, re.MULTILINE)
    seed = re.search(r"^Seed: (\d+)$", output, re.MULTILINE)
    return "; ".join(
        [
            cases.group(1) if cases else "no test cases",
            ending.group(1) if ending else "?",
            f"seed {seed.group(1) if seed else '?'}",
        ]
    )


@pytest.mark.parametrize(
    ("package", "artifact_fixture"),
    [("chipotle_model", "real_artifact"), ("examples.regression_model", "example_artifact")],
)
def test_schemathesis_finds_nothing_against_the_local_server(
    request, tmp_path, measurements, package, artifact_fixture
):
    artifact = request.getfixturevalue(artifact_fixture)
    with serve_process("--model", str(artifact), package=package) as server:
        run = schemathesis_run(f"http://127.0.0.1:{server.port}/", tmp_path)
    output = run.stdout + run.stderr
    figures = summary(output)
    measurements.append(f"schemathesis run --checks all -n {MAX_EXAMPLES}, {package}: {figures}")
    assert run.returncode == 0, output[-6000:]
    assert "No issues found" in output, output[-6000:]
    operations = re.search(r"Operations:\s+(\d+) selected / (\d+) total", output)
    assert operations and int(operations.group(1)) == int(operations.group(2)) >= 5, output[:2000]
