"""Scale: every figure as the store count grows, from the real 2,629 stores to millions.

    .venv/bin/python -m bench.scale [--sizes 10000,100000,1000000] [--no-images] [--strings]

For each size: a CSV (the real data at 2,629; above it synthesised from a seed by
chipotle_model/synthetic.py), then
- training by the real CLI in a child process: wall time and the child's peak RSS;
- the artifact's size;
- in a fresh child process, after the imports: load time (load_artifact + create_api, what
  INIT pays beyond imports), RSS after the imports and after the load, single GET p50/p99
  through the full handler (and model.query + records alone), a 10,000-point POST's
  throughput, the serving peak RSS, and every answer checked against brute force;
- with Docker: the serving image built through the build spec (the training image trains
  during its build) and its size, and INIT of fresh containers through the RIE.
The recommended `memorySize` is the default (one vCPU, see bench/memory_sizing.py) unless
1.5x the serving peak RSS needs more. `--strings` compares ways to store a string column.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

import chipotle_model
from bench import support
from chipotle_model.data import load_stores
from chipotle_model.params import MAX_POINTS
from chipotle_model.response import StoreRecords
from chipotle_model.synthetic import synthetic_columns, write_synthetic_csv
from chipotle_model.training import brute_force_nearest_km
from infra.build_spec import REPO_ROOT
from infra.config import DEFAULTS
from infra.local.data import repo_data_csv
from infra.local.measure import run_measured
from serving.api import LocalContext, create_api, make_logger
from serving.artifact import load_artifact

WORKDIR = REPO_ROOT / "build" / "scale"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
LAMBDA_MAX_MEMORY_MB = 10_240
MEMORY_HEADROOM = 1.5
TARGETS = {  # at 1,000,000 stores, on the CI machine
    "training_s": 180,
    "training_peak_mb": 2048,
    "load_s": 1.5,
    "get_p50_ratio": 2.0,
    "points_per_s": 100_000,
}


def vm_mb(key: str) -> float:
    """VmRSS / VmHWM of this process, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def nearest_km_checked(stores_lat, stores_lon, lat, lon) -> np.ndarray:
    """brute_force_nearest_km on both CPUs (numpy releases the GIL): halves of the points."""
    halves = np.array_split(np.arange(len(lat)), 2)
    with ThreadPoolExecutor(2) as pool:
        parts = pool.map(lambda i: brute_force_nearest_km(stores_lat, stores_lon, lat[i], lon[i]), halves)
        return np.concatenate(list(parts))


def wrong_answers(got_km, lat, lon, model) -> int:
    truth = nearest_km_checked(model.stores.latitude, model.stores.longitude, lat, lon)
    return int(np.sum(np.abs(np.asarray(got_km) - np.round(truth, 3)) > 5e-4))


# --- the serving figures: run in a fresh child process (python -m bench.scale --serve-figures) ---


def quiet_api(artifact, service: str):
    """The API around `artifact`, logging to /dev/null (one Powertools logger per service name)."""
    devnull = open(os.devnull, "w")  # noqa: SIM115  (lives as long as the process)
    logger = make_logger(service, logger_handler=logging.StreamHandler(devnull))
    return create_api(chipotle_model, artifact, logger=logger)


def serve_figures(artifact: Path, baseline: Path, requests: int) -> dict:
    """Load `artifact` after the imports, answer and check GETs and a 10,000-point POST; then
    time both against the `baseline` (2,629-store) model side by side, interleaved."""
    rss_imports = vm_mb("VmRSS")
    started = time.perf_counter()
    api = quiet_api(load_artifact(artifact), "scale")
    figures = {"load_s": time.perf_counter() - started, "rss_imports_mb": rss_imports}
    figures["rss_loaded_mb"] = vm_mb("VmRSS")
    model, context = api.model, LocalContext()
    points = support.query_points(model.stores.latitude, model.stores.longitude, requests, seed=11)
    events = [support.point_event(float(a), float(b)) for a, b in points]
    got = [json.loads(api.handler(e, context)["body"])["nearest"]["distance_km"] for e in events]
    batch_points = support.query_points(model.stores.latitude, model.stores.longitude, MAX_POINTS, seed=12)
    batch = support.points_event(batch_points)
    got_batch = [r["distance_km"] for r in json.loads(api.handler(batch, context)["body"])["results"]]
    figures["serving_peak_mb"] = vm_mb("VmHWM")  # after the load, the GETs and a POST
    figures.update(side_by_side(api, quiet_api(load_artifact(baseline), "baseline"), events, batch))
    figures["checked"] = len(got) + len(got_batch)
    figures["wrong"] = wrong_answers(got, points[:, 0], points[:, 1], model) + wrong_answers(
        got_batch, batch_points[:, 0], batch_points[:, 1], model
    )
    return figures


def side_by_side(api, baseline_api, events: list[dict], batch: dict) -> dict:
    """GET and POST timings of two APIs, interleaved in rounds (the machine is shared)."""
    context = LocalContext()
    times = {"get": [], "base_get": [], "model": [], "post": [], "base_post": [], "post_cpu": []}
    query = [
        (float(e["queryStringParameters"]["lat"]), float(e["queryStringParameters"]["long"])) for e in events
    ]
    store_records = StoreRecords(api.model.stores)  # as the GET route builds its records
    records = lambda a, b: store_records.rows(*(c[0] for c in api.model.query(a, b)))  # noqa: E731
    for r in range(10):
        chunk = slice(r * len(events) // 10, (r + 1) * len(events) // 10)
        times["get"] += support.time_calls(api.handler, [(e, context) for e in events[chunk]])
        times["base_get"] += support.time_calls(baseline_api.handler, [(e, context) for e in events[chunk]])
        times["model"] += support.time_calls(records, query[chunk])
        cpu = time.thread_time()
        times["post"] += support.time_calls(api.handler, [(batch, context)])
        times["post_cpu"].append(time.thread_time() - cpu)  # robust to other jobs on the machine
        times["base_post"] += support.time_calls(baseline_api.handler, [(batch, context)])
    return {
        "get_p50_ms": support.median(times["get"]) * 1e3,
        "get_p99_ms": support.pct(times["get"], 99) * 1e3,
        "base_get_p50_ms": support.median(times["base_get"]) * 1e3,
        "model_p50_us": support.median(times["model"]) * 1e6,
        "points_per_s": MAX_POINTS / support.median(times["post"]),
        "points_per_cpu_s": MAX_POINTS / support.median(times["post_cpu"]),
        "base_points_per_s": MAX_POINTS / support.median(times["base_post"]),
    }


# --- one size, end to end ------------------------------------------------------------------


def data_for(size: int, workdir: Path) -> Path:
    if size == support.real_store_count():
        return support.csv_path()
    path = workdir / f"stores-{size}.csv"
    if not path.is_file():
        write_synthetic_csv(path, size, support.csv_path())
    return path


def train_figures(csv: Path, workdir: Path, size: int) -> tuple[dict, Path]:
    artifact, report = workdir / f"model-{size}.joblib", workdir / f"report-{size}.json"
    cmd = [sys.executable, "-m", "chipotle_model.train", "--data", str(csv), "--out", str(artifact)]
    run = run_measured([*cmd, "--report", str(report)])
    if run.returncode != 0:
        raise SystemExit(f"training on {csv} failed:\n{run.stderr[-3000:]}")
    report = json.loads(report.read_text())
    agreement = report["agreement"]
    return {
        "stores": report["store_count"],
        "csv_mb": csv.stat().st_size / 1e6,
        "training_s": run.seconds,
        "training_peak_mb": run.peak_rss_mb,
        "training_checked": agreement["region"]["points"],
        "training_wrong": sum(a["points"] - a["agree"] for a in agreement.values()),
        "artifact_mb": artifact.stat().st_size / 1e6,
    }, artifact


def serving_in_child(artifact: Path, baseline: Path, requests: int) -> dict:
    run = run_measured([sys.executable, "-m", "bench.scale", "--serve-figures", str(artifact), str(baseline),
                        "--requests", str(requests)])  # fmt: skip
    if run.returncode != 0:
        raise SystemExit(f"serving {artifact} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def build_images(csv: Path, size: int, base: str) -> support.ModelImages:
    """The training then the serving image, built through the build spec from a CSV under
    data/ (the training image trains during its build)."""
    real = size == support.real_store_count()
    in_context = repo_data_csv() if real else REPO_ROOT / "data" / f"scale-{size}.csv"
    if not real:
        in_context.parent.mkdir(exist_ok=True)
        shutil.copyfile(csv, in_context)
    try:
        name = f"{support.IMAGE_PREFIX}-scale{size}"
        data_path = str(in_context.relative_to(REPO_ROOT))
        images = support.build_model_images(base, name=name, data_path=data_path)
    finally:
        if not real:
            in_context.unlink()  # data/ is the build context of every image: keep it small
    return images


def image_figures(serving: str, baseline_serving: str, containers: int = 3) -> dict:
    """The serving image's size, and INIT through the RIE of fresh containers of it and of the
    2,629-store image, alternating (medians)."""
    event = support.point_event(39.153198, -77.066176)
    inits: dict[str, list[float]] = {serving: [], baseline_serving: []}
    for _ in range(containers):
        for image in inits:
            inits[image].append(support.cold_start(image, event)["init"])
    return {
        "image_mb": support.image_size_mb(serving),
        "init_ms": support.median(inits[serving]),
        "base_init_ms": support.median(inits[baseline_serving]),
    }


def remove_images(images: support.ModelImages) -> None:
    support.docker("rmi", images.serving, images.training, check=False)


def recommended_memory_mb(serving_peak_mb: float) -> int | None:
    need = int(np.ceil(serving_peak_mb * MEMORY_HEADROOM / 64) * 64)
    chosen = max(int(DEFAULTS["memorySize"]), need)
    return chosen if chosen <= LAMBDA_MAX_MEMORY_MB else None


# --- the tables ----------------------------------------------------------------------------

COLUMNS = {  # key: (heading, format)
    "stores": ("stores", "{:,}"),
    "csv_mb": ("CSV MB", "{:.1f}"),
    "training_s": ("training s", "{:.1f}"),
    "training_peak_mb": ("training peak RSS MB", "{:.0f}"),
    "training_checked": ("points checked per kind", "{:,}"),
    "artifact_mb": ("artifact MB", "{:.1f}"),
    "load_s": ("load s (INIT beyond imports)", "{:.3f}"),
    "rss_loaded_mb": ("RSS after load MB", "{:.0f}"),
    "get_p50_ms": ("GET p50 ms", "{:.3f}"),
    "get_p99_ms": ("GET p99 ms", "{:.3f}"),
    "model_p50_us": ("query + records p50 µs", "{:.1f}"),
    "points_per_s": ("10,000-point POST points/s", "{:,.0f}"),
    "points_per_cpu_s": ("points per CPU-second", "{:,.0f}"),
    "serving_peak_mb": ("serving peak RSS MB", "{:.0f}"),
    "wrong": ("wrong answers", "{:,}"),
    "image_mb": ("serving image MB", "{:.0f}"),
    "init_ms": ("INIT ms (RIE)", "{:.0f}"),
    "memory_mb": ("recommended memorySize MB", "{:,}"),
}
TABLES = (
    ("Training and artifact", ("stores", "csv_mb", "training_s", "training_peak_mb", "training_checked",
                               "artifact_mb", "image_mb")),
    ("Serving", ("stores", "load_s", "init_ms", "rss_loaded_mb", "serving_peak_mb", "get_p50_ms",
                 "get_p99_ms", "model_p50_us", "points_per_s", "points_per_cpu_s", "wrong", "memory_mb")),
)  # fmt: skip


def cell(row: dict, key: str) -> str:
    value = row.get(key)
    if value is None:
        return "n/a" if key != "memory_mb" else "over 10,240"
    return COLUMNS[key][1].format(value)


def print_tables(rows: list[dict]) -> None:
    for title, keys in TABLES:
        keys = [k for k in keys if any(k in row for row in rows)]
        print(f"### {title}\n")
        print("| " + " | ".join(COLUMNS[k][0] for k in keys) + " |")
        print("|" + "---|" * len(keys))
        for row in rows:
            print("| " + " | ".join(cell(row, k) for k in keys) + " |")
        print()
    print_ratios(rows)


# Measured side by side with the 2,629-store model in the same run (interleaved): the
# ratio is against that, not against the 2,629 row's own (earlier) measurement.
SIDE_BY_SIDE = {
    "get_p50_ms": "base_get_p50_ms",
    "points_per_s": "base_points_per_s",
    "init_ms": "base_init_ms",
}


def ratio(row: dict, first: dict, key: str) -> float | None:
    base = row.get(SIDE_BY_SIDE[key]) if key in SIDE_BY_SIDE else first.get(key)
    return row[key] / base if row.get(key) and base else None


def print_ratios(rows: list[dict]) -> None:
    keys = ["training_s", "training_peak_mb", "artifact_mb", "load_s", "rss_loaded_mb", "serving_peak_mb",
            "get_p50_ms", "model_p50_us", "points_per_s", "image_mb", "init_ms"]  # fmt: skip
    keys = [k for k in keys if k in rows[0]]
    print(f"### Ratios against the {rows[0]['stores']:,}-store figures\n")
    print("GET p50, points/s and INIT: against the 2,629-store model measured side by side in")
    print("the same process (or alternating containers); the rest: against the first row.\n")
    print("| stores | " + " | ".join(COLUMNS[k][0] for k in keys) + " |")
    print("|" + "---|" * (len(keys) + 1))
    for row in rows[1:]:
        cells = [f"{r:.2f}x" if (r := ratio(row, rows[0], k)) is not None else "n/a" for k in keys]
        print(f"| {row['stores']:,} | " + " | ".join(cells) + " |")
    print()


def print_targets(rows: list[dict]) -> None:
    million = next((row for row in rows if row["stores"] == 1_000_000), None)
    if million is None:
        return
    m = million
    get_ratio = ratio(m, rows[0], "get_p50_ms")
    checks = [
        ("training <= 3 min", m["training_s"] <= TARGETS["training_s"], f"{m['training_s']:.1f} s"),
        ("training peak RSS <= 2 GB", m["training_peak_mb"] <= TARGETS["training_peak_mb"],
         f"{m['training_peak_mb']:.0f} MB"),
        ("load <= 1.5 s", m["load_s"] <= TARGETS["load_s"], f"{m['load_s']:.3f} s"),
        ("single GET p50 <= 2x the 2,629-store figure", get_ratio <= TARGETS["get_p50_ratio"],
         f"{m['get_p50_ms']:.3f} / {m['base_get_p50_ms']:.3f} ms = {get_ratio:.2f}x (side by side)"),
        ("batch >= 100,000 points/s", m["points_per_s"] >= TARGETS["points_per_s"],
         f"{m['points_per_s']:,.0f} points/s ({m['points_per_cpu_s']:,.0f} per CPU-second)"),
        ("0 wrong answers on >= 10,000 checked queries", m["wrong"] == 0 and m["checked"] >= 10_000,
         f"{m['wrong']} of {m['checked']:,}"),
    ]  # fmt: skip
    print("### Targets at 1,000,000 stores\n")
    print("| target | result | figure |")
    print("|---|---|---|")
    for name, ok, figure in checks:
        print(f"| {name} | {support.met(ok)} | {figure} |")
    print()


# --- string columns: which compact form (--strings) ---------------------------------------------


def string_forms(n: int) -> None:
    """A million-address column stored four ways: size in the artifact, load time, reads."""
    import joblib
    from numpy.dtypes import StringDType

    from chipotle_model.table import StringColumn

    addresses = synthetic_columns(n, load_stores(support.csv_path()).stores, seed=15)["address"]
    picks = np.random.default_rng(2).integers(0, n, MAX_POINTS)
    forms = {
        "Python list of str (format 1)": (addresses, lambda c, i: [c[j] for j in i.tolist()]),
        "**one UTF-8 blob + int64 offsets**": (StringColumn.from_strings(addresses), lambda c, i: c.take(i)),
        "numpy fixed-width bytes (`S`)": (
            np.array([a.encode() for a in addresses]),
            lambda c, i: [b.decode() for b in c[i].tolist()],
        ),
        "numpy `StringDType` (variable width)": (
            np.array(addresses, dtype=StringDType()),
            lambda c, i: c[i].tolist(),
        ),
    }  # fmt: skip
    print(f"### A string column of {n:,} synthetic addresses, four ways\n")
    print("| form | in the artifact MB | load ms | 1 string µs | 10,000 strings ms |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (column, take) in forms.items():
            path = Path(tmp) / "column.joblib"
            joblib.dump(column, path)
            loaded, load_s = _timed(joblib.load, path)
            one = support.median(support.time_calls(take, [(loaded, picks[i : i + 1]) for i in range(2000)]))
            many = support.median(support.time_calls(take, [(loaded, picks)] * 20))
            print(f"| {name} | {path.stat().st_size / 1e6:.1f} | {load_s * 1e3:.0f} | {one * 1e6:.2f} "
                  f"| {many * 1e3:.2f} |")  # fmt: skip
    print()


def _timed(fn, *args):
    started = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="synthetic store counts")
    parser.add_argument("--requests", type=int, default=3000, help="single GETs per size")
    parser.add_argument("--no-images", action="store_true", help="skip the Docker images")
    parser.add_argument("--image-max", type=int, default=1_000_000, help="build images up to this size")
    parser.add_argument("--keep-images", action="store_true")
    parser.add_argument("--strings", action="store_true", help="only compare string column forms")
    parser.add_argument("--serve-figures", type=Path, nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_figures:
        print(json.dumps(serve_figures(*args.serve_figures, args.requests)))
        return
    print(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {support.machine()}, load average "
          f"{os.getloadavg()[1]:.1f} (other jobs share this machine)\n")  # fmt: skip
    if args.strings:
        return string_forms(1_000_000)
    WORKDIR.mkdir(parents=True, exist_ok=True)
    base = None if args.no_images else support.base_image()
    rows, images = [], []
    try:
        for size in (support.real_store_count(), *(int(s) for s in args.sizes.split(","))):
            csv = data_for(size, WORKDIR)
            row, artifact = train_figures(csv, WORKDIR, size)
            baseline = artifact if not rows else WORKDIR / f"model-{support.real_store_count()}.joblib"
            row.update(serving_in_child(artifact, baseline, args.requests))
            row["memory_mb"] = recommended_memory_mb(row["serving_peak_mb"])
            if base and size <= args.image_max:
                images.append(build_images(csv, size, base))
                row.update(image_figures(images[-1].serving, images[0].serving))
            print(f"<!-- {json.dumps(row)} -->", flush=True)
            rows.append(row)
    finally:
        for image in images if not args.keep_images else []:
            remove_images(image)
    print_tables(rows)
    print_targets(rows)
    print(f"Load average at the end (1, 5, 15 min): {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
