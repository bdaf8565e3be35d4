"""Running Docker from the tests: builds from infra/build_spec.py, containers run through the RIE."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from infra import build_spec

# The RIE's measure of the init phase (its REPORT line's "Init Duration" is not meaningful).
INIT_REPORT = re.compile(r"INIT REPORT\(durationMs: ([\d.]+)\)")

REPO_ROOT = Path(__file__).resolve().parents[2]
STAND_IN_BASE = "local/lambda-python:3.13"
BUILD_TIMEOUT_S = 1200


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)


def docker_available() -> bool:
    try:
        return docker("info", timeout=20, check=False).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False


def build(spec: build_spec.ImageBuild, tag: str) -> subprocess.CompletedProcess:
    """`docker build` exactly as the spec says; returns the finished process (not checked)."""
    return subprocess.run(
        spec.docker_command(tag),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
    )


def built(spec: build_spec.ImageBuild, tag: str) -> str:
    proc = build(spec, tag)
    assert proc.returncode == 0, f"docker build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return tag


def image_size_mb(tag: str) -> float:
    return int(docker("image", "inspect", "--format", "{{.Size}}", tag).stdout) / 1e6


def image_id(tag: str) -> str:
    return docker("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()


def run_python(image: str, code: str) -> subprocess.CompletedProcess:
    return docker("run", "--rm", "--entrypoint", "python", image, "-c", code, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LambdaContainer:
    """A serving container run as Lambda runs it locally: the base's entrypoint, the RIE."""

    def __init__(self, image: str):
        self.port = free_port()
        self.name = f"nearest-store-test-{uuid.uuid4().hex[:8]}"
        docker("run", "-d", "--name", self.name, "-p", f"127.0.0.1:{self.port}:8080", image)
        self.url = f"http://127.0.0.1:{self.port}/2015-03-31/functions/function/invocations"

    def invoke(self, event: dict, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                request = urllib.request.Request(self.url, data=json.dumps(event).encode(), method="POST")
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    return json.loads(response.read())
            except (ConnectionError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def logs(self) -> str:
        proc = docker("logs", self.name, check=False)
        return proc.stdout + proc.stderr

    def stop(self) -> None:
        docker("rm", "-f", self.name, check=False)
