"""What scikit-learn costs: the same queries answered by numpy alone (bench/numpy_handler.py,
brute-force unit-vector dot products over every store, from arrays exported from the
training artifact; no scikit-learn, scipy or joblib imported) beside ours: INIT, peak RSS,
warm latency in process and through the RIE, and a 10,000-point batch.

    .venv/bin/python -m bench.numpy_only [--containers 5] [--requests 1000]

Both run in the same serving image through the same RIE (the numpy handler is mounted
in; scikit-learn is installed there but never imported), so only the handler differs.
The numpy handler has no Powertools router or request log: the "ours, Powertools
resolver + log" gap is shown by the bare model.nearest row of bench/warm_latency.py.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench import support
from chipotle_model.training import brute_force_nearest_km
from infra import build_spec
from infra.local.images import docker
from serving.api import LocalContext
from serving.artifact import load_artifact

HANDLER_SOURCE = Path(__file__).with_name("numpy_handler.py")
SERVE_TIME_DISTRIBUTIONS = ("scikit-learn", "scipy", "joblib", "threadpoolctl", "narwhals")


def artifact_from_image(image: str, dest: Path) -> Path:
    """The model artifact the serving image carries (what training produced)."""
    name = f"nearest-store-bench-export-{os.urandom(4).hex()}"
    docker("create", "--name", name, image)
    try:
        docker("cp", f"{name}:{build_spec.MODEL_PATH}", str(dest / "model.joblib"))
    finally:
        docker("rm", "-f", name, check=False)
    return dest / "model.joblib"


def export_arrays(model, dest: Path) -> None:
    """The arrays the numpy handler serves from: unit vectors straight out of the fitted tree,
    and the store table's columns as the artifact holds them."""
    columns = {  # string blobs as uint8 arrays: np.savez would store bytes as fixed-width "S"
        name: np.frombuffer(value, dtype=np.uint8) if isinstance(value, bytes) else value
        for name, value in model.stores.to_arrays().items()
    }
    np.savez(dest / "stores.npz", units=np.asarray(model._tree.data), **columns)


def serve_time_packages_mb(image: str) -> float:
    code = (
        "import importlib.metadata as m, os\n"
        f"names = {SERVE_TIME_DISTRIBUTIONS!r}\n"
        "total = 0\n"
        "for n in names:\n"
        "    try: files = m.distribution(n).files or []\n"
        "    except m.PackageNotFoundError: continue\n"
        "    total += sum(os.path.getsize(f.locate()) for f in files if os.path.isfile(f.locate()))\n"
        "print(total)\n"
    )
    return int(docker("run", "--rm", "--entrypoint", "python", image, "-c", code).stdout) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--containers", type=int, default=5)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    base = support.base_image()
    image, _ = support.serving_image(base)
    handlers = support.HandlerDir({"numpy_handler": HANDLER_SOURCE.read_text()})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            artifact = load_artifact(artifact_from_image(image, Path(tmp)))
        model = artifact.model
        export_arrays(model, handlers.path)
        os.environ["NUMPY_MODEL_DIR"] = str(handlers.path)
        sys.path.insert(0, str(handlers.path))
        numpy_handler = importlib.import_module("numpy_handler")
        api = support.quiet_api(artifact)
        report(image, model, api, numpy_handler, handlers, args)
    finally:
        handlers.cleanup()


def report(image, model, api, numpy_handler, handlers, args) -> None:
    lat, lon = np.asarray(model.stores.latitude), np.asarray(model.stores.longitude)
    points = support.query_points(lat, lon, 5000, seed=13)
    events = [support.point_event(float(a), float(b)) for a, b in points]
    batch = support.points_event(support.query_points(lat, lon, 10_000, seed=17))
    batch_points = np.array(json.loads(batch["body"])["points"])
    context = LocalContext()
    truth = np.round(brute_force_nearest_km(lat, lon, points[:, 0], points[:, 1]), 3)
    batch_truth = np.round(brute_force_nearest_km(lat, lon, batch_points[:, 0], batch_points[:, 1]), 3)
    wrong = {}
    for name, fn in (("ours", api.handler), ("numpy only", numpy_handler.handler)):
        got = [json.loads(fn(e, context)["body"])["nearest"]["distance_km"] for e in events]
        got_batch = [r["distance_km"] for r in json.loads(fn(batch, context)["body"])["results"]]
        wrong[name] = int(np.sum(np.abs(np.asarray(got) - truth) > 5e-4))
        wrong[name] += int(np.sum(np.abs(np.asarray(got_batch) - batch_truth) > 5e-4))

    in_process = {"ours": [], "numpy only": []}
    batch_s = {"ours": [], "numpy only": []}
    for r in range(10):
        chunk = [(e, context) for e in events[r * 500 : (r + 1) * 500]]
        in_process["ours"] += support.time_calls(api.handler, chunk)
        in_process["numpy only"] += support.time_calls(numpy_handler.handler, chunk)
        batch_s["ours"] += support.time_calls(api.handler, [(batch, context)])
        batch_s["numpy only"] += support.time_calls(numpy_handler.handler, [(batch, context)])

    kinds = {"ours": None, "numpy only": "numpy_handler.handler"}
    event = support.point_event(39.153198, -77.066176)
    inits = {name: [] for name in kinds}
    for _ in range(args.containers):
        for name, handler in kinds.items():
            inits[name].append(
                support.cold_start(image, event, handler=handler, extra=handlers.docker_args())
            )
    memory, rie = {}, {}
    containers = {
        name: support.LambdaContainer(image, handler=handler, extra=handlers.docker_args())
        for name, handler in kinds.items()
    }
    try:
        for i in range(args.requests):
            ev = batch if i % 100 == 99 else events[i % len(events)]
            for c in containers.values():
                assert c.invoke(ev, timeout=60)["statusCode"] == 200
        for name, c in containers.items():
            memory[name] = c.memory_kb()["VmHWM"] / 1024
            durations = c.durations_ms(args.requests)
            rie[name] = [d for i, d in enumerate(durations) if i % 100 != 99 and i > 0]
    finally:
        for c in containers.values():
            c.stop()

    print(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {support.machine()}, image {image}\n")
    print("### What scikit-learn costs: ours vs numpy only (same image, same RIE)\n")
    print(
        "| handler | wrong answers | INIT ms (median) | peak RSS MB | in-process p50 / p99 ms "
        "| RIE warm Duration p50 / p99 ms | 10,000-point POST in process ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in kinds:
        values = [v * 1e3 for v in in_process[name]]
        print(
            f"| {name} | {wrong[name]} of 15,000 | {support.median([c['init'] for c in inits[name]]):.0f} "
            f"| {memory[name]:.1f} | {support.median(values):.3f} / {support.pct(values, 99):.3f} "
            f"| {support.median(rie[name]):.2f} / {support.pct(rie[name], 99):.2f} "
            f"| {support.median(batch_s[name]) * 1e3:.1f} |"
        )
    print(
        f"\nscikit-learn and what only it pulls in ({', '.join(SERVE_TIME_DISTRIBUTIONS)}) take "
        f"{serve_time_packages_mb(image):.0f} MB of the serving image; a numpy-only image would drop them.\n"
    )


if __name__ == "__main__":
    main()
