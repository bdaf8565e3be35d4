"""Warm latency: the full handler (event in, response out) vs the original's handler vs the
bare nearest-neighbour query, in process; then the RIE's warm Duration of our handler vs an
empty handler in the same image and the same emulator, with two variants that show what
the request log line and the Powertools router cost there.

    .venv/bin/python -m bench.warm_latency [--requests 5000] [--rie-requests 1000] [--no-rie]

In process, the candidates run interleaved in rounds (these machines are noisy); the
logger writes its JSON lines to /dev/null. Every answer is checked against brute force.
"""

from __future__ import annotations

import argparse
import json
import pickle
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench import support
from bench.original import original_handler, train_original
from chipotle_model.geo import unit_vectors
from chipotle_model.response import StoreRecords
from chipotle_model.training import brute_force_nearest_km
from serving.api import LocalContext
from serving.artifact import load_artifact

ROUNDS = 10
TARGET_P99_MS = 1.0
TARGET_RIE_OVERHEAD_MS = 0.5


def build(csv: Path, workdir: Path):
    """Our API around a saved-and-loaded artifact, and the original's handler around its pickle."""
    artifact = load_artifact(support.trained_artifact(workdir / "model.joblib", csv))
    model = artifact.model
    api = support.quiet_api(artifact)
    pickle_path = workdir / "original.pkl"
    with pickle_path.open("wb") as f:
        pickle.dump(train_original(str(csv)), f)
    return model, api, original_handler(str(pickle_path))


def in_process(csv: Path, requests: int) -> tuple[list, bool]:
    with tempfile.TemporaryDirectory() as tmp:
        return _in_process(csv, requests, Path(tmp))


def _in_process(csv: Path, requests: int, workdir: Path) -> tuple[list, bool]:
    model, api, original = build(csv, workdir)
    lat, lon = np.asarray(model.stores.latitude), np.asarray(model.stores.longitude)
    points = support.query_points(lat, lon, requests)
    events = [support.point_event(float(a), float(b)) for a, b in points]
    context = LocalContext()

    # 0 wrong answers: the handler's nearest store is the brute-force nearest, for every point.
    truth = brute_force_nearest_km(lat, lon, points[:, 0], points[:, 1])
    answers = [json.loads(api.handler(e, context)["body"])["nearest"]["distance_km"] for e in events]
    wrong = int(np.sum(np.abs(np.asarray(answers) - np.round(truth, 3)) > 5e-4))

    tree = model._tree
    records = StoreRecords(model.stores)  # as the GET route builds its records
    candidates = {
        "full handler (event in, response out)": (api.handler, [(e, context) for e in events]),
        "original's handler (unpickle per request)": (original, [(e, context) for e in events]),
        "model.query + records (validated query + result dicts)": (
            lambda a, b: records.rows(*(column[0] for column in model.query(a, b))),
            [(float(a), float(b)) for a, b in points],
        ),
        "floor: bare KDTree.query on one unit vector": (
            lambda q: tree.query(q, k=1),
            [(unit_vectors(a, b).reshape(1, 3),) for a, b in points],
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in candidates}
    per_round = max(1, requests // ROUNDS)
    for r in range(ROUNDS):
        for name, (fn, args) in candidates.items():
            chunk = args[r * per_round : (r + 1) * per_round]
            if name.startswith("original"):  # ~3 ms each: a tenth of the requests is plenty
                chunk = chunk[: max(20, per_round // 10)]
            times[name] += support.time_calls(fn, chunk)
    floor = np.median(times["floor: bare KDTree.query on one unit vector"])
    rows = []
    for name, values in times.items():
        rows.append((name, len(values), np.median(values) * 1e3, support.pct(values, 99) * 1e3,
                     np.median(values) / floor))  # fmt: skip
    p99 = rows[0][3]
    print(f"### Warm latency in process ({len(points):,} GET events, {support.machine()})\n")
    print(f"Wrong answers of the full handler against brute force: {wrong} of {len(points):,}\n")
    print("| path | calls | p50 ms | p99 ms | p50 vs floor |")
    print("|---|---|---|---|---|")
    for name, n, p50, p99_, ratio in rows:
        print(f"| {name} | {n:,} | {p50:.3f} | {p99_:.3f} | {ratio:.1f}x |")
    print(
        f"\nTarget: warm handler p99 < {TARGET_P99_MS} ms in process: {support.met(p99 < TARGET_P99_MS)} "
        f"(p99 {p99:.3f} ms); 0 wrong answers: {support.met(wrong == 0)}\n"
    )
    return rows, wrong == 0


# A handler answering from the same loaded model without the Powertools router or log:
# what the router and the per-request log line cost through the RIE.
BARE_HANDLER = """import json
from chipotle_model.response import StoreRecords
from handler import api
_query, _rows = api.model.query, StoreRecords(api.model.stores).rows

def handler(event, context):
    q = event["queryStringParameters"]
    distances, indices = _query(float(q["lat"]), float(q["long"]))
    stores = _rows(distances[0], indices[0])
    body = {"nearest": stores[0], "stores": stores}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body, separators=(",", ":"))}
"""


def through_rie(requests: int) -> None:
    """Ours, its variants and an empty handler, each in a fresh container of the same serving
    image, requests alternating between them; the RIE's REPORT Duration of each."""
    base = support.base_image()
    image, _ = support.serving_image(base)
    handlers = support.HandlerDir({"bench_bare_model": BARE_HANDLER})
    args = handlers.docker_args()
    kinds = {
        "ours (GET /?lat&long)": (None, []),
        "ours, POWERTOOLS_LOG_LEVEL=WARNING (no request log line)": (
            None,
            ["-e", "POWERTOOLS_LOG_LEVEL=WARNING"],
        ),
        "model.query + records + json.dumps, no router, no log": ("bench_bare_model.handler", []),
        "empty handler, same image": ("bench_empty.handler", []),
    }
    rng = np.random.default_rng(3)
    points = np.column_stack([rng.uniform(24.5, 49.4, requests), rng.uniform(-124.8, -66.9, requests)])
    containers = {}
    durations = {}
    warm = 50
    try:
        for name, (handler, extra) in kinds.items():
            containers[name] = support.LambdaContainer(image, handler=handler, extra=args + extra)
        for i in range(requests + warm):
            event = support.point_event(*map(float, points[i % requests]))
            for container in containers.values():
                assert container.invoke(event)["statusCode"] == 200
        for name, container in containers.items():
            durations[name] = container.durations_ms(requests + warm)[warm + 1 :]
    finally:
        for container in containers.values():
            container.stop()
        handlers.cleanup()
    n = len(durations["empty handler, same image"])
    print(f"### Warm Duration through the RIE ({image}, {n:,} requests each, alternating)\n")
    print("| handler | p50 ms | p90 ms | p99 ms | p50 minus empty |")
    print("|---|---|---|---|---|")
    empty = support.median(durations["empty handler, same image"])
    for name, values in durations.items():
        print(f"| {name} | {support.median(values):.2f} | {support.pct(values, 90):.2f} "
              f"| {support.pct(values, 99):.2f} | {support.median(values) - empty:+.2f} |")  # fmt: skip
    gap = support.median(durations["ours (GET /?lat&long)"]) - empty
    print(
        f"\nTarget: warm Duration within {TARGET_RIE_OVERHEAD_MS} ms of the empty handler's: "
        f"{support.met(gap <= TARGET_RIE_OVERHEAD_MS)} (median gap {gap:.2f} ms)\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rie-requests", type=int, default=1000)
    parser.add_argument("--no-rie", action="store_true")
    args = parser.parse_args()
    print(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    in_process(args.data or support.csv_path(), args.requests)
    if not args.no_rie:
        through_rie(args.rie_requests)


if __name__ == "__main__":
    main()
