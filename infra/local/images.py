"""Both images built locally with docker from infra/build_spec.py (as the Pulumi program
builds them), and the serving image run as Lambda runs it locally (the base image's
entrypoint around the real Runtime Interface Emulator). The image tests and the
benchmarks build and run the images with this; so can anyone, by hand.

Long steps report progress (each build step, a heartbeat with the elapsed time while a
step runs, the expected duration up front) to a `progress` callable: stderr by default,
the pytest terminal in the image tests. What the tests leave on the Docker engine is described
in docs/design.md ("What the tests leave on the Docker engine"): the images under one
name per checkout ($NEAREST_STORE_IMAGES), reused as build cache; no container.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infra import build_spec
from infra.build_spec import REPO_ROOT
from serving import model_package as import_model_package

BUILD_TIMEOUT_S = 1200
HEARTBEAT_S = 15
# Measured on the project's 2-core machines with nothing cached; a cached rebuild takes seconds.
EXPECTED_MODEL_IMAGES = (
    "about 1 minute with nothing cached (pip installs the pinned stack in each, training), "
    "seconds when cached"
)
EXPECTED_BASE_IMAGE = (
    "about 1 to 2 minutes when it is missing (debootstrap of Debian trixie), a second when it exists"
)
# arm64 on an x86_64 machine: every arm64 instruction runs under QEMU (docs/deploy.md).
EXPECTED_ARM64 = {
    "base": "about 6 to 10 minutes when it is missing (debootstrap --arch=arm64 under QEMU), "
    "a second when it exists",
    "images": "about 10 minutes with nothing cached (pip and training under QEMU), seconds when cached",
}
# A step of `docker build`: the classic builder's "Step 3/9 : RUN ..." or BuildKit's "#7 [2/6] RUN ...".
BUILD_STEP = re.compile(r"^(Step \d+/\d+ : |#\d+ \[[^\]]+\] )")
# The name the tests' and benchmarks' images and containers start with (documented in
# docs/design.md); another checkout building at the same time can set its own.
IMAGE_PREFIX = os.environ.get("NEAREST_STORE_IMAGES", "nearest-store")
BASE_IMAGE_SCRIPT = REPO_ROOT / "scripts" / "lambda-base" / "build"
INVOCATIONS_PATH = "/2015-03-31/functions/function/invocations"
# Run in an image (run_python): the versions the model's answers depend on, as JSON.
VERSIONS = "import json; from serving.artifact import runtime_versions; print(json.dumps(runtime_versions()))"
# arm64 programs run here: natively, or under QEMU registered with binfmt_misc (F flag).
QEMU_AARCH64 = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")

# What the RIE logs, as Lambda does. INIT: the init phase (the first REPORT's "Init
# Duration" is not meaningful in the RIE); RTDONE: each invocation's own duration.
INIT_REPORT = re.compile(r"INIT REPORT\(durationMs: ([\d.]+)\)")
INVOKE_DONE = re.compile(r"INVOKE RTDONE\(status: \w+, produced bytes: \d+, duration: ([\d.]+)ms\)")
REPORT_DURATION = re.compile(r"REPORT RequestId: \S+\s+(?:Init Duration: [\d.]+ ms\s+)?Duration: ([\d.]+) ms")


Progress = Callable[[str], None]


def to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=check)


def docker_available() -> bool:
    try:
        return docker("info", timeout=20, check=False).returncode == 0
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False


def run_with_progress(
    command: list[str],
    label: str,
    is_step: Callable[[str], bool],
    progress: Progress = to_stderr,
    *,
    cwd: Path = REPO_ROOT,
) -> subprocess.CompletedProcess:
    """Run `command` (stdout and stderr together), passing each line `is_step` picks to
    `progress` with the elapsed time, and a heartbeat when no step has started for
    HEARTBEAT_S. Returns the finished process (not checked); killed after BUILD_TIMEOUT_S."""
    started = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd)
    lines: list[str] = []
    last_said = [started]

    def say(text: str) -> None:
        last_said[0] = time.monotonic()
        progress(f"  {label} {last_said[0] - started:4.0f} s  {text}")

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if is_step(line):
                say(line.strip()[:110])

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while reader.is_alive():
        reader.join(1)
        if time.monotonic() - started > BUILD_TIMEOUT_S:
            proc.kill()
        elif reader.is_alive() and time.monotonic() - last_said[0] >= HEARTBEAT_S:
            say("... still on it")
    proc.wait()
    return subprocess.CompletedProcess(command, proc.returncode, "".join(lines), "")


def arm64_runs_here() -> bool:
    """An arm64 machine, or an x86_64 one with qemu-aarch64 registered (scripts/ensure-qemu)."""
    if os.uname().machine in ("aarch64", "arm64"):
        return True
    try:
        entry = QEMU_AARCH64.read_text()
    except OSError:
        return False
    return entry.startswith("enabled") and re.search(r"^flags: \S*F", entry, re.MULTILINE) is not None


def lambda_base_image(progress: Progress = to_stderr, *, architecture: str | None = None) -> str:
    """The base both images build on: $LAMBDA_BASE_IMAGE ($LAMBDA_BASE_IMAGE_ARM64 for
    architecture="arm64") when set, else the local stand-in for the Lambda Python base
    image of that architecture (default: this machine's), built by
    scripts/lambda-base/build, which names it on its last line; no registry is reached."""
    chosen = os.environ.get("LAMBDA_BASE_IMAGE_ARM64" if architecture == "arm64" else "LAMBDA_BASE_IMAGE")
    if chosen:
        return chosen
    expected = EXPECTED_ARM64["base"] if architecture == "arm64" else EXPECTED_BASE_IMAGE
    progress(f"the local Lambda base image{f' ({architecture})' if architecture else ''}: {expected}")
    proc = run_with_progress(
        [str(BASE_IMAGE_SCRIPT), *(["--arch", architecture] if architecture else [])],
        "base image",
        lambda line: line.startswith(("lambda-base:", "ensure-docker:")),
        progress,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{BASE_IMAGE_SCRIPT} failed:\n{proc.stdout[-4000:]}")
    return proc.stdout.strip().splitlines()[-1]


def build(
    spec: build_spec.ImageBuild, tag: str, progress: Progress = to_stderr, *, cwd: Path = REPO_ROOT
) -> subprocess.CompletedProcess:
    """`docker build` as the spec says, in the project directory `cwd`, each step reported
    to `progress`; returns the finished process (not checked). Nothing is left behind when
    it fails: no intermediate container (--force-rm), no dangling image of its last step."""
    command = spec.docker_command(tag)
    command.insert(2, "--force-rm")
    is_step = lambda line: bool(BUILD_STEP.match(line))  # noqa: E731
    proc = run_with_progress(command, tag, is_step, progress, cwd=cwd)
    if proc.returncode != 0:
        layers = re.findall(r"^ ---> ([0-9a-f]{12})$", proc.stdout, re.MULTILINE)
        if layers:  # fails (and stays) when it is a cached layer that other images build on
            docker("image", "rm", layers[-1], check=False)
    return proc


def built(
    spec: build_spec.ImageBuild, tag: str, progress: Progress = to_stderr, *, cwd: Path = REPO_ROOT
) -> str:
    """`build`, checked: the tag, or RuntimeError with the end of the build's output."""
    proc = build(spec, tag, progress, cwd=cwd)
    if proc.returncode != 0:
        raise RuntimeError(f"docker build of {tag} failed:\n{proc.stdout[-6000:]}")
    return tag


def untag_all_but(repository: str, keep: set[str]) -> None:
    """Remove every tag of `repository` except those in `keep` (full repository:tag names)."""
    listed = docker("images", "--format", "{{.Repository}}:{{.Tag}}", repository).stdout.split()
    for name in set(listed) - keep:
        docker("image", "rm", name, check=False)


def remove_containers(prefix: str = f"{IMAGE_PREFIX}-test-") -> None:
    """Remove every container whose name starts with `prefix` (left by a killed run)."""
    ids = docker("ps", "-aq", "--filter", f"name=^{prefix}").stdout.split()
    if ids:
        docker("rm", "-f", *ids, check=False)


def image_size_mb(tag: str) -> float:
    return int(docker("image", "inspect", "--format", "{{.Size}}", tag).stdout) / 1e6


def run_python(image: str, code: str) -> subprocess.CompletedProcess:
    return docker("run", "--rm", "--entrypoint", "python", image, "-c", code, check=False)


def copy_build_context(dest: Path) -> Path:
    """A copy of what the image builds read (as another clone would have it) at `dest`."""
    wanted = [
        *build_spec.admitted_paths(),
        build_spec.TRAINING_DOCKERFILE,
        build_spec.SERVING_STAGE,
        ".dockerignore",
    ]
    for path in wanted:
        source, target = REPO_ROOT / path, dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target)
    return dest


@dataclass(frozen=True)
class ModelImages:
    training: str
    serving: str
    build: build_spec.ModelBuild


def build_model_images(
    base_image: str,
    *,
    data_path: str | None = None,
    model_package: str = build_spec.DEFAULT_MODEL_PACKAGE,
    name: str = f"{IMAGE_PREFIX}-test",
    architecture: str = "x86_64",
    progress: Progress = to_stderr,
) -> ModelImages:
    """The training image, then the serving image (whose build builds or reuses the training
    stage), both from the build spec for `architecture`, tagged as the program tags them.
    The tags earlier builds left under `name` are removed (with their images, unless still
    in use): one name per architecture."""
    default_data = Path(import_model_package(model_package).DEFAULT_DATA_PATH).as_posix()
    spec = build_spec.model_build(
        data_path=data_path or default_data,
        base_image=base_image,
        model_package=model_package,
        architecture=architecture,
    )
    training_tag, serving_tag = f"{name}-training:{spec.model_version}", f"{name}:{spec.serving_tag}"
    expected = EXPECTED_ARM64["images"] if architecture == "arm64" else EXPECTED_MODEL_IMAGES
    progress(f"building {training_tag} and {serving_tag} ({spec.serving.platform}): {expected}")
    training = built(spec.training, training_tag, progress)
    serving = built(spec.serving, serving_tag, progress)
    untag_all_but(f"{name}-training", {training})
    untag_all_but(name, {serving})
    return ModelImages(training=training, serving=serving, build=spec)


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

    def mapped_files(self) -> set[str]:
        """The files the runtime process has mapped (its shared libraries and extension
        modules, from /proc/<pid>/maps): what it has really loaded."""
        maps = docker("exec", self.name, "cat", f"/proc/{self.runtime_pid()}/maps").stdout
        return {fields[5] for fields in (line.split() for line in maps.splitlines()) if len(fields) >= 6}

    def stop(self) -> None:
        docker("rm", "-f", self.name, check=False)


def cold_start(image: str, event: dict, **container) -> dict[str, float]:
    """One fresh container, one request: its INIT and the first invocation's own duration."""
    with LambdaContainer(image, **container) as lambda_container:
        answer = lambda_container.invoke(event, timeout=60)
        if answer.get("statusCode") != 200:
            raise RuntimeError(f"cold invocation failed in {image}: {str(answer)[:300]}")
        return {"init": lambda_container.init_ms(), "first": lambda_container.invoke_durations_ms(1)[0]}
