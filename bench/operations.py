"""What operations cost the function: EMF metrics on vs off (warm latency in process, INIT
in fresh containers through the RIE), and tracing's INIT (an image built with tracing).

    .venv/bin/python -m bench.operations [--containers 7] [--requests 5000]

Side by side in one run: in process the two handlers take turns in rounds; in containers
each round starts one fresh container of every kind.
"""

from __future__ import annotations

import argparse
import contextlib
import io
from datetime import UTC, datetime

import numpy as np

import chipotle_model
from bench import support
from infra import build_spec
from infra.local.images import IMAGE_PREFIX, built
from serving.api import LocalContext, create_api, make_logger
from serving.artifact import load_artifact
from serving.metrics import RequestMetrics
from serving.training import Progress, cached_model

TARGET_INIT_RATIO = 1.03
TARGET_WARM_P50_DELTA_MS = 0.05
ROUNDS = 10


def in_process(requests: int) -> dict[str, list[float]]:
    """Warm handler latency with metrics on and off (log and EMF lines to a discarded stream)."""
    cache = support.REPO_ROOT / "build" / "bench-operations" / "model.joblib"
    artifact = load_artifact(cached_model(chipotle_model, cache, support.csv_path(), Progress()))
    model = artifact.model
    sink = io.StringIO()
    apis = {}
    for name, enabled in (("metrics on", True), ("metrics off", False)):
        logger = make_logger(service=f"bench-{name.replace(' ', '-')}", stream=sink)
        metrics = RequestMetrics(service=logger.service, enabled=enabled)
        apis[name] = create_api(chipotle_model, artifact, logger=logger, metrics=metrics)
    lat, lon = np.asarray(model.stores.latitude), np.asarray(model.stores.longitude)
    events = [support.point_event(float(a), float(b)) for a, b in support.query_points(lat, lon, requests)]
    context = LocalContext()
    times: dict[str, list[float]] = {name: [] for name in apis}
    per_round = max(1, requests // ROUNDS)
    with contextlib.redirect_stdout(sink):  # the EMF records are printed
        for r in range(ROUNDS):
            chunk = [(event, context) for event in events[r * per_round : (r + 1) * per_round]]
            for name, api in apis.items():
                times[name] += support.time_calls(api.handler, chunk)
                sink.seek(0)
                sink.truncate()
    return times


def tracing_image(base: str) -> str:
    spec = build_spec.model_build(data_path=chipotle_model.DEFAULT_DATA_PATH, base_image=base, tracing=True)
    return built(spec.serving, f"{IMAGE_PREFIX}-bench:{spec.serving_tag}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--containers", type=int, default=7)
    parser.add_argument("--requests", type=int, default=5000)
    args = parser.parse_args()
    warm = in_process(args.requests)

    base = support.base_image()
    image, _ = support.serving_image(base)
    traced = tracing_image(base)
    event = support.point_event(39.153198, -77.066176)
    kinds = {
        "metrics on (the default)": (image, []),
        "metrics off (POWERTOOLS_METRICS_DISABLED)": (image, ["-e", "POWERTOOLS_METRICS_DISABLED=true"]),
        "tracing on (its own image; no X-Ray daemon here)": (
            traced,
            ["-e", "POWERTOOLS_TRACE_DISABLED=false"],
        ),
    }
    inits: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(args.containers):
        for name, (tag, extra) in kinds.items():
            inits[name].append(support.cold_start(tag, event, extra=extra)["init"])

    print(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {support.machine()}\n")
    print(f"### Metrics and tracing: what they cost ({args.requests:,} warm GETs in process; "
          f"{args.containers} fresh containers each through the RIE)\n")  # fmt: skip
    print("| handler | warm p50 ms | warm p99 ms | INIT ms (median) | INIT vs metrics off |")
    print("|---|---|---|---|---|")
    off_init = support.median(inits["metrics off (POWERTOOLS_METRICS_DISABLED)"])
    rows = {
        "metrics on (the default)": warm["metrics on"],
        "metrics off (POWERTOOLS_METRICS_DISABLED)": warm["metrics off"],
        "tracing on (its own image; no X-Ray daemon here)": None,
    }
    for name, values in rows.items():
        p50 = f"{support.median(values) * 1e3:.3f}" if values else "-"
        p99 = f"{support.pct(values, 99) * 1e3:.3f}" if values else "-"
        init = support.median(inits[name])
        print(f"| {name} | {p50} | {p99} | {init:.0f} | {init / off_init:.2f}x |")
    delta = (support.median(warm["metrics on"]) - support.median(warm["metrics off"])) * 1e3
    ratio = support.median(inits["metrics on (the default)"]) / off_init
    print(
        f"\nTargets: INIT with metrics <= {TARGET_INIT_RATIO:.2f}x without: "
        f"{support.met(ratio <= TARGET_INIT_RATIO)} "
        f"({ratio:.3f}x); warm p50 +{TARGET_WARM_P50_DELTA_MS} ms or less in process: "
        f"{support.met(delta <= TARGET_WARM_P50_DELTA_MS)} ({delta:+.3f} ms)"
    )


if __name__ == "__main__":
    main()
