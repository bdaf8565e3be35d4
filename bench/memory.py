"""Memory: peak RSS (VmHWM) of the runtime process inside the serving container after 1,000
requests through the RIE, beside the same image's bare-import and empty handlers and the
original-way image.

    .venv/bin/python -m bench.memory [--requests 1000]

The request mix: single-point GETs, k=20, 400s and 404s, small POSTs (base64 too)
and, every 100th request, a 10,000-point POST (the largest request the API accepts).
VmHWM is read with `docker exec <container> cat /proc/<pid>/status`.
"""

from __future__ import annotations

import argparse
import base64
from datetime import UTC, datetime

import numpy as np

from bench import support
from serving.events import http_event

TARGET_PEAK_MB = 200
SMALL_BATCH = [[39.153198, -77.066176], [40.712776, -74.005974], [21.306944, -157.858333],
               [61.218056, -149.900278], [51.507222, -0.1275], [-33.86882, 151.209296]]  # fmt: skip


def request_mix() -> list[dict]:
    """Answers of each kind: nearest (k=1, k=20), batches (JSON, base64), health, a 400 of
    each sort (a value, the JSON, a parameter's name) and a 404."""
    batch = support.points_event(SMALL_BATCH)
    encoded = {**batch, "body": base64.b64encode(batch["body"].encode()).decode(), "isBase64Encoded": True}
    return [
        support.point_event(39.153198, -77.066176),
        support.point_event(21.306944, -157.858333, k=20),
        batch,
        encoded,
        http_event("GET", "/health"),
        http_event("GET", "/", query={"lat": "91", "long": "-77.066176"}),
        http_event(
            "POST",
            "/",
            body='{"points": [[39.153198, -77.066176]',
            headers={"content-type": "application/json"},
        ),
        http_event("GET", "/stores", query={"lat": "39.153198", "long": "-77.066176"}),
        http_event("GET", "/", query={"lat": "40.712776", "lng": "-74.005974"}),
    ]


def big_batch(n: int = 10_000) -> dict:
    rng = np.random.default_rng(11)
    return support.points_event(np.column_stack([rng.uniform(24.5, 49.4, n), rng.uniform(-124.8, -66.9, n)]))


def measure(image: str, handler: str | None, requests: int, handlers: support.HandlerDir, mix) -> dict:
    with support.LambdaContainer(image, handler=handler, extra=handlers.docker_args()) as container:
        container.invoke(mix[0], timeout=60)
        after_init = container.memory_kb()
        for i in range(requests):
            container.invoke(mix[i % len(mix)] if i % 100 != 99 else mix[-1])
        after = container.memory_kb()
    return {"init_hwm": after_init["VmHWM"], "hwm": after["VmHWM"], "rss": after["VmRSS"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    base = support.base_image()
    image, _ = support.serving_image(base)
    original = support.original_image(base)
    handlers = support.HandlerDir()
    ours_mix = [*request_mix(), big_batch()]
    simple_mix = [support.point_event(39.153198, -77.066176), support.point_event(40.7, -74.0)]
    rows = {}
    try:
        rows["ours (serving image)"] = measure(image, None, args.requests, handlers, ours_mix)
        rows["bare `import sklearn.neighbors` handler, same image"] = measure(
            image, "bench_import_sklearn.handler", args.requests, handlers, simple_mix
        )
        rows["empty handler, same image"] = measure(
            image, "bench_empty.handler", args.requests, handlers, simple_mix
        )
        rows["original way (own image; GETs only)"] = measure(
            original, None, args.requests, handlers, simple_mix
        )
    finally:
        handlers.cleanup()
    print(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {support.machine()}, base {base}\n")
    print(f"### Runtime process memory in the container ({args.requests:,} requests through the RIE)\n")
    print("| handler | peak RSS after INIT + 1 request MB | peak RSS (VmHWM) after all MB | RSS at end MB |")
    print("|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['init_hwm'] / 1024:.1f} | {r['hwm'] / 1024:.1f} | {r['rss'] / 1024:.1f} |")
    peak = rows["ours (serving image)"]["hwm"] / 1024
    print(
        f"\nTarget: peak RSS <= {TARGET_PEAK_MB} MB: {support.met(peak <= TARGET_PEAK_MB)} ({peak:.1f} MB)\n"
    )


if __name__ == "__main__":
    main()
