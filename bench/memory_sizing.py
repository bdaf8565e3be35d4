"""Memory sizing: the serving container under Lambda's CPU share for 512, 1024, 1769 and
3008 MB (1,769 MB = 1 vCPU, proportional: `docker run --cpus=memory/1769 --memory=memory`),
INIT and warm durations at each, and what they cost.

    .venv/bin/python -m bench.memory_sizing [--containers 5] [--requests 300]

Prices: Lambda x86_64 on demand, $0.0000166667 per GB-second and $0.20 per million
requests (us-east-1), billed per 1 ms rounded up. Since 1 August 2025 Lambda bills the
INIT phase too, so a cold start costs (INIT + first request) at the function's memory.
"""

from __future__ import annotations

import argparse
import math
from datetime import UTC, datetime

import numpy as np

from bench import support

SIZES_MB = (512, 1024, 1769, 3008)


def measure(image: str, memory_mb: int, containers: int, requests: int, batch_event: dict) -> dict:
    cpus = memory_mb / support.MB_PER_VCPU
    quota = {"cpus": cpus, "memory_mb": memory_mb}
    event = support.point_event(39.153198, -77.066176)
    colds = [support.cold_start(image, event, **quota) for _ in range(containers)]
    rng = np.random.default_rng(memory_mb)
    with support.LambdaContainer(image, **quota) as container:
        container.invoke(event, timeout=60)
        for _ in range(requests):
            ev = support.point_event(float(rng.uniform(24.5, 49.4)), float(rng.uniform(-124.8, -66.9)))
            assert container.invoke(ev)["statusCode"] == 200
        warm = container.durations_ms(requests + 1)[1:]
        for _ in range(5):
            assert container.invoke(batch_event, timeout=60)["statusCode"] == 200
        batch = container.durations_ms(requests + 6)[requests + 1 :]
    return {
        "cpus": cpus,
        "init": support.median([c["init"] for c in colds]),
        "cold_total": support.median([c["init"] + c["first"] for c in colds]),
        "warm_p50": support.median(warm),
        "warm_p99": support.pct(warm, 99),
        "billed_mean": float(np.mean(np.ceil(warm))),
        "batch": support.median(batch),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--containers", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    base = support.base_image()
    image, _ = support.serving_image(base)
    rng = np.random.default_rng(2)
    batch_event = support.points_event(
        np.column_stack([rng.uniform(24.5, 49.4, 10_000), rng.uniform(-124.8, -66.9, 10_000)])
    )
    rows = {mb: measure(image, mb, args.containers, args.requests, batch_event) for mb in SIZES_MB}

    print(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {support.machine()}, base {base}")
    print(
        f"Prices used ({datetime.now(UTC):%Y-%m-%d}): ${support.PRICE_PER_GB_SECOND:.10f} per GB-s, "
        f"${support.PRICE_PER_MILLION_REQUESTS:.2f} per million requests (Lambda x86_64, us-east-1)\n"
    )
    print(
        f"### Memory size vs CPU share ({args.containers} fresh containers per size; "
        f"{args.requests} warm GETs; 5 batches of 10,000 points)\n"
    )
    print(
        "| memory MB | --cpus | INIT ms | INIT + first request ms | warm p50 ms | warm p99 ms "
        "| 10,000-point POST ms | $ per million warm GETs | $ per cold start | $ per million cold starts |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for mb, r in rows.items():
        gb = mb / 1024
        warm_cost = 1e6 * r["billed_mean"] / 1e3 * gb * support.PRICE_PER_GB_SECOND
        warm_cost += support.PRICE_PER_MILLION_REQUESTS
        cold = math.ceil(r["cold_total"]) / 1e3 * gb * support.PRICE_PER_GB_SECOND
        print(
            f"| {mb} | {r['cpus']:.3f} | {r['init']:.0f} | {r['cold_total']:.0f} | {r['warm_p50']:.2f} "
            f"| {r['warm_p99']:.2f} | {r['batch']:.0f} | {warm_cost:.3f} | {cold:.7f} | {cold * 1e6:.2f} |"
        )
    print()


if __name__ == "__main__":
    main()
