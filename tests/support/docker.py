"""Docker for the tests and the benchmarks: images built from infra/build_spec.py (as the
Pulumi program builds them), containers run as Lambda runs them locally (the base
image's entrypoint around the real Runtime Interface Emulator)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

from infra import build_spec
from infra.config import DEFAULTS
from tests.support import REPO_ROOT, free_port

BUILD_TIMEOUT_S = 1200
# The name the tests' and benchmarks' images and containers start with (documented in
# docs/design.md); another checkout building at the same time can set its own.
IMAGE_PREFIX = os.environ.get("NEAREST_STORE_IMAGES", "nearest-store")
BASE_IMAGE_SCRIPT = REPO_ROOT / "scripts" / "lambda-base" / "build"
INVOCATIONS_PATH = "/2015-03-31/functions/function/invocations"

# What the RIE logs, as Lambda does. INIT: the init phase (the first REPORT's "Init
# Duration" is not meaningful in the RIE); RTDONE: each invocation's own duration.
INIT_REPORT = re.compile(r"INIT REPORT\(durationMs: ([\d.]+)\)")
INVOKE_DONE = re.compile(r"INVOKE RTDONE\(status: \w+, produced bytes: \d+, duration: ([\d.]+)ms\)")
REPORT_DURATION = re.compile(r"REPORT RequestId: \S+\s+(?:Init Duration: [\d.]+ ms\s+)?Duration: ([\d.]+) ms")


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)


def docker_available() -> bool:
    try:
        return docker("info", timeout=20, check=False).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False


def lambda_base_image() -> str:
    """The base both images build on: $LAMBDA_BASE_IMAGE when set, else the local
    stand-in for the Lambda Python base image (built by scripts/lambda-base/build,
    which names it; no registry is reached)."""
    chosen = os.environ.get("LAMBDA_BASE_IMAGE")
    if chosen:
        return chosen
    proc = subprocess.run(
        [str(BASE_IMAGE_SCRIPT)], stdout=subprocess.PIPE, text=True, timeout=BUILD_TIMEOUT_S, check=True
    )
    return proc.stdout.strip().splitlines()[-1]


def build(spec: build_spec.ImageBuild, tag: str) -> subprocess.CompletedProcess:
    """`docker build` exactly as the spec says; returns the finished process (not checked)."""
    return subprocess.run(
        spec.docker_command(tag), capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, cwd=REPO_ROOT
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


@dataclass(frozen=True)
class ModelImages:
    training: str  # the training image, tagged by its content (as the program names it)
    serving: str


def build_model_images(
    base_image: str,
    data_sha256: str,
    *,
    name: str = f"{IMAGE_PREFIX}-test",
    data_path: str = str(DEFAULTS["dataPath"]),
) -> ModelImages:
    """The training image (trained on `data_path`, a CSV under data/), then the serving
    image built from it, both from the build spec."""
    spec = build_spec.training_build(data_path=data_path, base_image=base_image)
    training = built(spec, f"{name}-training:latest")
    # Named by its image ID, as the Pulumi program does: the serving build takes exactly this model.
    unique = f"{name}-training:{image_id(training).split(':')[-1][:12]}"
    docker("tag", training, unique)
    serving_spec = build_spec.serving_build(
        training_image=unique, data_sha256=data_sha256, base_image=base_image
    )
    return ModelImages(training=unique, serving=built(serving_spec, f"{name}:latest"))


class LambdaContainer:
    """A serving container run as Lambda runs it locally: the base's entrypoint, the RIE.

    `handler` replaces the image's CMD; `cpus`/`memory_mb` are Lambda-like quotas;
    `extra` are more `docker run` arguments (mounts, environment)."""

    def __init__(
        self,
        image: str,
        *,
        handler: str | None = None,
        cpus: float | None = None,
        memory_mb: int | None = None,
        extra: list[str] | None = None,
    ):
        self.port = free_port()
        self.name = f"{IMAGE_PREFIX}-test-{uuid.uuid4().hex[:8]}"
        args = ["run", "-d", "--name", self.name, "-p", f"127.0.0.1:{self.port}:8080"]
        if cpus is not None:
            args.append(f"--cpus={cpus:.3f}")
        if memory_mb is not None:
            args += [f"--memory={memory_mb}m", f"--memory-swap={memory_mb}m"]
        args += [*(extra or []), image, *([handler] if handler else [])]
        docker(*args)
        self.url = f"http://127.0.0.1:{self.port}{INVOCATIONS_PATH}"

    def __enter__(self) -> LambdaContainer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

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

    def _wait_for(self, pattern: re.Pattern, count: int, timeout: float) -> list[float]:
        deadline = time.monotonic() + timeout
        while True:
            found = [float(value) for value in pattern.findall(self.logs())]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def init_ms(self, timeout: float = 10) -> float:
        found = self._wait_for(INIT_REPORT, 1, timeout)
        if not found:
            raise RuntimeError(f"no INIT REPORT in the logs of {self.name}:\n{self.logs()[-3000:]}")
        return found[0]

    def durations_ms(self, expected: int = 1, timeout: float = 10) -> list[float]:
        """The REPORT Durations logged so far (waits until there are at least `expected`)."""
        return self._wait_for(REPORT_DURATION, expected, timeout)

    def invoke_durations_ms(self, expected: int = 1, timeout: float = 10) -> list[float]:
        """Each invocation's own duration (INVOKE RTDONE; the first REPORT's includes INIT)."""
        return self._wait_for(INVOKE_DONE, expected, timeout)

    def runtime_pid(self) -> int:
        """The PID (inside the container) of the runtime process, python -m awslambdaric."""
        script = (
            "for d in /proc/[0-9]*; do "
            "case \"$(tr '\\0' ' ' < $d/cmdline 2>/dev/null)\" in "
            "python*awslambdaric*) echo ${d#/proc/};; esac; done"
        )
        pids = [int(p) for p in docker("exec", self.name, "sh", "-c", script).stdout.split()]
        if len(pids) != 1:
            raise RuntimeError(f"expected one runtime process, found {pids}")
        return pids[0]

    def memory_kb(self) -> dict[str, int]:
        """VmHWM (peak RSS) and VmRSS of the runtime process, from /proc/<pid>/status."""
        status = docker("exec", self.name, "cat", f"/proc/{self.runtime_pid()}/status").stdout
        values = {}
        for line in status.splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0])
        return values

    def stop(self) -> None:
        docker("rm", "-f", self.name, check=False)


def cold_start(image: str, event: dict, **container) -> dict[str, float]:
    """One fresh container, one request: its INIT and the first invocation's own duration."""
    with LambdaContainer(image, **container) as lambda_container:
        answer = lambda_container.invoke(event, timeout=60)
        if answer.get("statusCode") != 200:
            raise RuntimeError(f"cold invocation failed in {image}: {str(answer)[:300]}")
        return {"init": lambda_container.init_ms(), "first": lambda_container.invoke_durations_ms(1)[0]}
