"""Shared pieces of the benchmarks: events, statistics, images and RIE containers.

Images are built from infra/build_spec.py with the helpers of tests/images (what is
measured is what is deployed); containers run through the base image's entrypoint and
the real Runtime Interface Emulator, as the image tests run them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from infra import build_spec
from tests.handler.cases import load_event
from tests.images.docker_support import (
    INIT_REPORT,
    REPO_ROOT,
    STAND_IN_BASE,
    LambdaContainer,
    built,
    docker,
    docker_available,
    image_id,
    image_size_mb,
)

SHARED_CSV = REPO_ROOT.parent / "shared" / "data" / "chipotle_stores.csv"
# The RIE's own log of each invocation; for the first one, REPORT's Duration includes INIT.
INVOKE_DONE = re.compile(r"INVOKE RTDONE\(status: \w+, produced bytes: \d+, duration: ([\d.]+)ms\)")
# The first REPORT carries an "Init Duration" (meaningless in the RIE) before "Duration".
REPORT_DURATION = re.compile(r"REPORT RequestId: \S+\s+(?:Init Duration: [\d.]+ ms\s+)?Duration: ([\d.]+) ms")
ORIGINAL_IMAGE_DIR = REPO_ROOT / "bench" / "original_image"
ORIGINAL_PICKLE = "/var/task/model.pkl"

# Lambda x86_64 on-demand prices (us-east-1), used on the date printed with each table.
PRICE_PER_GB_SECOND = 0.0000166667
PRICE_PER_MILLION_REQUESTS = 0.20
MB_PER_VCPU = 1769  # Lambda: 1,769 MB of memory = 1 vCPU, proportional


# --- data, events, statistics -------------------------------------------------------


def csv_path() -> Path:
    path = Path(os.environ.get("CHIPOTLE_STORES_CSV", SHARED_CSV))
    if not path.is_file():
        raise SystemExit(f"the store CSV is not at {path} (set CHIPOTLE_STORES_CSV)")
    return path


def repo_data_csv() -> Path:
    """The CSV at the image builds' default data path (data/ is gitignored)."""
    target = REPO_ROOT / build_spec.DEFAULT_DATA_PATH
    if not target.is_file():
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(csv_path(), target)
    return target


def get_event(lat: float, lon: float) -> dict:
    event = load_event("get_nearest")
    event["rawQueryString"] = f"lat={lat!r}&long={lon!r}"
    event["queryStringParameters"] = {"lat": repr(lat), "long": repr(lon)}
    return event


def post_event(points) -> dict:
    event = load_event("post_batch")
    event["body"] = json.dumps({"points": [[float(a), float(b)] for a, b in points]})
    event["isBase64Encoded"] = False
    return event


def query_points(stores_lat, stores_lon, n: int, seed: int = 7):
    """n points: half uniform over the contiguous US, half within ~50 km of a store."""
    rng = np.random.default_rng(seed)
    half = n // 2
    us = np.column_stack([rng.uniform(24.5, 49.4, half), rng.uniform(-124.8, -66.9, half)])
    pick = rng.integers(0, len(stores_lat), n - half)
    near = np.column_stack(
        [
            np.clip(np.asarray(stores_lat)[pick] + rng.uniform(-0.45, 0.45, n - half), -90, 90),
            np.asarray(stores_lon)[pick] + rng.uniform(-0.45, 0.45, n - half),
        ]
    )
    points = np.vstack([us, near])
    return points[rng.permutation(n)]


def time_calls(fn, args_list) -> list[float]:
    """Seconds each call `fn(*args)` took, one per entry of `args_list`."""
    out = []
    for args in args_list:
        t0 = time.perf_counter()
        fn(*args)
        out.append(time.perf_counter() - t0)
    return out


def pct(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def median(values) -> float:
    return float(np.median(np.asarray(values, dtype=np.float64)))


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{os.cpu_count()} CPUs ({model})"


def met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


# --- images -------------------------------------------------------------------------------


def base_image() -> str:
    """$LAMBDA_BASE_IMAGE, else the stand-in (built by scripts/lambda-base/build if missing)."""
    if not docker_available():
        raise SystemExit("no Docker engine answers: run `setsid scripts/ensure-docker`")
    chosen = os.environ.get("LAMBDA_BASE_IMAGE", STAND_IN_BASE)
    if docker("image", "inspect", chosen, check=False).returncode != 0:
        if chosen != STAND_IN_BASE:
            raise SystemExit(f"base image {chosen} is not present")
        subprocess.run([str(REPO_ROOT / "scripts/lambda-base/build")], check=True)
    return chosen


def serving_image(base: str) -> tuple[str, str]:
    """Build (cached) the training then the serving image from infra/build_spec.py.

    Returns (serving tag, training tag named by its image ID, as the Pulumi program does).
    """
    from chipotle_model import load_stores

    data = repo_data_csv()
    tag = built(build_spec.training_build(base_image=base), "nearest-store-training:bench")
    training = f"nearest-store-training:{image_id(tag).split(':')[-1][:12]}"
    docker("tag", tag, training)
    spec = build_spec.serving_build(
        training_image=training, data_sha256=load_stores(data).sha256, base_image=base
    )
    return built(spec, "nearest-store:bench"), training


def original_image(base: str) -> str:
    """A serving image built the original way (bench/original_image/Dockerfile).

    The context is assembled in a temporary directory: the repository's .dockerignore
    admits only what the real images copy.
    """
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp)
        for name in ("Dockerfile", "handler.py", "train.py"):
            shutil.copy(ORIGINAL_IMAGE_DIR / name, context / name)
        shutil.copy(REPO_ROOT / "bench" / "original.py", context / "original.py")
        shutil.copy(REPO_ROOT / "requirements" / "constraints.txt", context / "constraints.txt")
        shutil.copy(csv_path(), context / "chipotle_stores.csv")
        tag = "nearest-store-original:bench"
        proc = subprocess.run(
            ["docker", "build", "--network", "host", "--build-arg", f"BASE_IMAGE={base}", "-t", tag, tmp],
            capture_output=True,
            text=True,
            timeout=1200,
        )
        if proc.returncode != 0:
            raise SystemExit(f"building the original-way image failed:\n{proc.stdout[-3000:]}{proc.stderr}")
    return tag


# --- handler modules mounted into the serving image -----------------------------------------

# Baselines run in the *same* serving image through the same RIE; only the handler differs.
BASELINE_HANDLERS = {
    "bench_empty": "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n",
    "bench_import_sklearn": (
        "import sklearn.neighbors  # noqa: F401  (only the import: the floor of any scikit-learn model)\n\n"
        "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"
    ),
}


class HandlerDir:
    """A temporary directory of handler modules (and data), mounted read-only at /opt/bench."""

    MOUNT = "/opt/bench"

    def __init__(self, modules: dict[str, str] | None = None):
        self.path = Path(tempfile.mkdtemp(prefix="nearest-store-bench-"))
        self.path.chmod(0o755)
        for name, source in {**BASELINE_HANDLERS, **(modules or {})}.items():
            (self.path / f"{name}.py").write_text(source)

    def add_file(self, name: str, source: Path) -> None:
        shutil.copy(source, self.path / name)

    def docker_args(self) -> list[str]:
        return ["-v", f"{self.path}:{self.MOUNT}:ro", "-e", f"PYTHONPATH={self.MOUNT}"]

    def cleanup(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


# --- containers through the RIE -----------------------------------------------------------


class BenchContainer(LambdaContainer):
    """LambdaContainer with CPU/memory quotas, extra `docker run` arguments and another CMD."""

    def __init__(self, image: str, *, handler: str | None = None, cpus: float | None = None,
                 memory_mb: int | None = None, extra: list[str] | None = None):  # fmt: skip
        from tests.images.docker_support import free_port

        self.port = free_port()
        self.name = f"nearest-store-bench-{os.urandom(4).hex()}"
        args = ["run", "-d", "--name", self.name, "-p", f"127.0.0.1:{self.port}:8080"]
        if cpus is not None:
            args += [f"--cpus={cpus:.3f}"]
        if memory_mb is not None:
            args += [f"--memory={memory_mb}m", f"--memory-swap={memory_mb}m"]
        args += [*(extra or []), image]
        if handler:
            args.append(handler)
        docker(*args)
        self.url = f"http://127.0.0.1:{self.port}/2015-03-31/functions/function/invocations"

    def __enter__(self) -> BenchContainer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def init_ms(self, timeout: float = 10) -> float:
        deadline = time.monotonic() + timeout
        while True:
            found = INIT_REPORT.findall(self.logs())
            if found:
                return float(found[0])
            if time.monotonic() > deadline:
                raise RuntimeError(f"no INIT REPORT in the logs of {self.name}:\n{self.logs()[-3000:]}")
            time.sleep(0.05)

    def durations_ms(self, expected: int = 1, timeout: float = 10) -> list[float]:
        """The REPORT Durations logged so far (waits until there are at least `expected`)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [float(d) for d in REPORT_DURATION.findall(self.logs())]
            if len(found) >= expected or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def runtime_pid(self) -> int:
        """The PID (inside the container) of the runtime process, python -m awslambdaric."""
        script = (
            "for d in /proc/[0-9]*; do "
            "case \"$(tr '\\0' ' ' < $d/cmdline 2>/dev/null)\" in "
            "python*awslambdaric*) echo ${d#/proc/};; esac; done"
        )
        out = docker("exec", self.name, "sh", "-c", script).stdout.split()
        pids = [int(p) for p in out]
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


def cold_start(image: str, event: dict, *, handler: str | None = None, **kwargs) -> dict[str, float]:
    """One fresh container: INIT REPORT and the duration of the first (cold) invocation
    (the RIE's INVOKE RTDONE: the REPORT Duration of a first invocation includes INIT)."""
    with BenchContainer(image, handler=handler, **kwargs) as container:
        response = container.invoke(event, timeout=60)
        if response.get("statusCode") != 200:
            raise RuntimeError(f"cold invocation failed in {image} {handler}: {str(response)[:300]}")
        init = container.init_ms()
        container.durations_ms(1)
        first = float(INVOKE_DONE.findall(container.logs())[0])
    return {"init": init, "first": first}


def lambda_cost(duration_ms: float, memory_mb: int, *, requests: bool = True) -> float:
    """Dollars for one invocation billed at duration_ms (rounded up to 1 ms)."""
    billed_s = np.ceil(duration_ms) / 1e3
    return billed_s * memory_mb / 1024 * PRICE_PER_GB_SECOND + (
        PRICE_PER_MILLION_REQUESTS / 1e6 if requests else 0.0
    )


__all__ = [
    "REPO_ROOT",
    "BenchContainer",
    "HandlerDir",
    "image_size_mb",
]
