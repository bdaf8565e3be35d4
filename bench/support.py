"""Shared pieces of the benchmarks: events, statistics, images and RIE containers.

Images are built from infra/build_spec.py with infra/local/images.py, as the image tests
build them (what is measured is what is deployed); containers run through the base
image's entrypoint and the real Runtime Interface Emulator, as the image tests run them.
Events are built by serving.events, the shape API Gateway sends.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import chipotle_model
from chipotle_model.data import load_stores
from infra.build_spec import REPO_ROOT
from infra.local.data import real_csv, repo_data_csv
from infra.local.images import (  # noqa: F401  (the benchmarks use them as support.*)
    IMAGE_PREFIX,
    LambdaContainer,
    ModelImages,
    build_model_images,
    cold_start,
    docker,
    docker_available,
    image_size_mb,
    lambda_base_image,
)
from serving.artifact import Artifact, load_artifact
from serving.events import http_event
from serving.training import Progress, run

ORIGINAL_IMAGE_DIR = REPO_ROOT / "bench" / "original_image"

# Lambda x86_64 prices (us-east-1), as published on aws.amazon.com/lambda/pricing; used on
# PRICES_USED_ON, printed with each table.
PRICES_USED_ON = "2026-11-25"
PRICE_PER_GB_SECOND = 0.0000166667  # on-demand duration (INIT included since 1 August 2025)
PRICE_PER_MILLION_REQUESTS = 0.20
PROVISIONED_PRICE_PER_GB_SECOND = 0.0000041667  # provisioned concurrency, while configured
PROVISIONED_DURATION_PRICE_PER_GB_SECOND = 0.0000097222  # duration on provisioned environments
SNAPSTART_CACHE_PRICE_PER_GB_SECOND = 0.0000015046  # Python: per published version, while active
SNAPSTART_RESTORE_PRICE_PER_GB = 0.0001397998  # Python: per restore
MB_PER_VCPU = 1769  # Lambda: 1,769 MB of memory = 1 vCPU, proportional


# --- data, events, statistics -------------------------------------------------------


def csv_path() -> Path:
    path = real_csv()
    if not path.is_file():
        raise SystemExit(f"the store CSV is not at {path} (set CHIPOTLE_STORES_CSV)")
    return path


@functools.cache
def real_store_count() -> int:
    """The stores of the real CSV (a size of 'the real data' in the scale benchmarks)."""
    return len(load_stores(csv_path()).stores)


def point_event(lat: float, lon: float, k: int | None = None) -> dict:
    """GET / for one point (repr keeps every digit)."""
    query = {"lat": repr(float(lat)), "long": repr(float(lon))}
    if k is not None:
        query["k"] = str(k)
    return http_event("GET", "/", query=query)


def points_event(points) -> dict:
    """POST / {"points": points} (pairs of numbers), as JSON."""
    body = {"points": [[float(a), float(b)] for a, b in points]}
    return http_event("POST", "/", body=body, headers={"content-type": "application/json"})


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
    return lambda_base_image()


def serving_image(base: str) -> tuple[str, str]:
    """Build (cached) the training then the serving image from infra/build_spec.py.

    Returns (serving tag, training tag), tagged as the Pulumi program tags them.
    """
    csv_path()
    repo_data_csv()
    images = build_model_images(base, name=f"{IMAGE_PREFIX}-bench")
    return images.serving, images.training


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
        return docker_build("nearest-store-original:bench", ["--build-arg", f"BASE_IMAGE={base}", tmp])


def docker_build(tag: str, args: list[str], *, dockerfile: str | None = None) -> str:
    """`docker build --network host -t tag *args` (a Dockerfile on stdin with args ["-"]);
    returns the tag, or exits with the build's output."""
    proc = subprocess.run(
        ["docker", "build", "--network", "host", "-t", tag, *args],
        input=dockerfile,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        raise SystemExit(f"building {tag} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
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


def trained_artifact(out: Path, csv: Path | None = None) -> Path:
    """`out`, the artifact the training command writes (serving.training.run around
    chipotle_model's train_model, checked against brute force), trained on `csv` (default
    the real CSV); its progress lines discarded."""
    run(chipotle_model, csv or csv_path(), out, None, Progress(io.StringIO()))
    return out


def real_artifact() -> Artifact:
    """The artifact of the real CSV, trained and loaded as the serving image loads it."""
    with tempfile.TemporaryDirectory() as tmp:
        return load_artifact(trained_artifact(Path(tmp) / "model.joblib"))


def quiet_api(artifact: Artifact, service: str = "bench"):
    """chipotle_model's API around `artifact` as Lambda runs it (warmed up; log lines and
    EMF metric records written), writing to a discarded stream instead of this
    benchmark's output."""
    from serving.api import create_api, make_logger

    devnull = open(os.devnull, "w")  # noqa: SIM115  (lives as long as the process)
    logger = make_logger(service, logger_handler=logging.StreamHandler(devnull))
    api = create_api(chipotle_model, artifact, logger=logger)
    handler = api.handler

    def quiet(event, context):
        with contextlib.redirect_stdout(devnull):  # the EMF records are printed
            return handler(event, context)

    api.handler = quiet
    return api
