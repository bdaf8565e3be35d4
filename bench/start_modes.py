"""On demand vs SnapStart vs provisioned concurrency: what a user waits for and what a
month costs, for a few traffic profiles. A model, fed by what bench.cold_start measures
(INIT + first request, warm Duration) and by Lambda's published prices (bench/support.py).

Assumptions, stated in the printed table:
- an idle execution environment is reclaimed after ~10 minutes (Lambda does not publish
  this; minutes is what is observed), so with random arrivals a request finds none warm
  with probability exp(-600 s / mean gap);
- with steady traffic an environment is still replaced now and then: assumed every 2 hours;
- the traffic here never needs more than one environment at once (a request takes ~2 ms),
  so one provisioned environment serves it all;
- SnapStart caches one published version (each version SnapStart keeps costs the same);
- a SnapStart restore's latency cannot be measured without AWS (bench.lambda_reports reads
  it from a deployed stack), so it is not filled in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench import support

SECONDS_PER_MONTH = 30 * 24 * 3600
IDLE_RECLAIM_S = 600
RECYCLE_EVERY_S = 2 * 3600


@dataclass(frozen=True)
class Profile:
    name: str
    requests_per_month: float
    cold_starts_per_month: float


def profiles() -> list[Profile]:
    sporadic = 100 * 30  # 100 requests a day at random times: a mean gap of 864 s
    steady = SECONDS_PER_MONTH  # 1 request a second, all month
    busy = 50 * SECONDS_PER_MONTH  # 50 a second
    return [
        Profile("sporadic: 100 requests a day", sporadic, sporadic * math.exp(-IDLE_RECLAIM_S / 864)),
        Profile("steady: 1 request a second", steady, SECONDS_PER_MONTH / RECYCLE_EVERY_S),
        Profile("busy: 50 requests a second", busy, SECONDS_PER_MONTH / RECYCLE_EVERY_S),
    ]


def monthly_cost(mode: str, profile: Profile, memory_mb: int, cold_ms: float, warm_ms: float) -> float:
    """Dollars a month: requests, duration (billed per ms, rounded up), INIT, and the mode's own."""
    gb = memory_mb / 1024
    warm_billed_s = math.ceil(warm_ms) / 1e3
    requests = profile.requests_per_month / 1e6 * support.PRICE_PER_MILLION_REQUESTS
    if mode == "provisioned":
        always = gb * SECONDS_PER_MONTH * support.PROVISIONED_PRICE_PER_GB_SECOND
        used = (
            profile.requests_per_month * warm_billed_s * gb * support.PROVISIONED_DURATION_PRICE_PER_GB_SECOND
        )
        return requests + always + used
    warm = profile.requests_per_month * warm_billed_s * gb * support.PRICE_PER_GB_SECOND
    if mode == "on-demand":
        cold = profile.cold_starts_per_month * (math.ceil(cold_ms) / 1e3 - warm_billed_s) * gb
        return requests + warm + cold * support.PRICE_PER_GB_SECOND
    if mode == "snapstart":
        cache = gb * SECONDS_PER_MONTH * support.SNAPSTART_CACHE_PRICE_PER_GB_SECOND
        restores = profile.cold_starts_per_month * gb * support.SNAPSTART_RESTORE_PRICE_PER_GB
        return requests + warm + cache + restores
    raise ValueError(f"unknown mode {mode!r}")


def table(memory_mb: int, cold_ms: float, warm_ms: float) -> str:
    """The markdown table: per profile and mode, who waits, how long, and the monthly cost."""
    lines = [
        f"Prices used ({support.PRICES_USED_ON}, us-east-1, x86_64): on demand "
        f"${support.PRICE_PER_GB_SECOND:.10f}/GB-s and ${support.PRICE_PER_MILLION_REQUESTS:.2f} per "
        f"million requests; provisioned concurrency ${support.PROVISIONED_PRICE_PER_GB_SECOND:.10f}/GB-s "
        f"configured + ${support.PROVISIONED_DURATION_PRICE_PER_GB_SECOND:.10f}/GB-s used; SnapStart "
        f"(Python) cache ${support.SNAPSTART_CACHE_PRICE_PER_GB_SECOND:.10f}/GB-s, restore "
        f"${support.SNAPSTART_RESTORE_PRICE_PER_GB:.10f}/GB. Memory {memory_mb} MB; cold start here "
        f"{cold_ms:.0f} ms (INIT + first request), warm Duration {warm_ms:.2f} ms. Idle environments "
        f"reclaimed after {IDLE_RECLAIM_S // 60} min, replaced every {RECYCLE_EVERY_S // 3600} h "
        "under steady traffic (assumptions).",
        "",
        "| traffic | requests a month | requests that start an environment | on demand: wait, $/month "
        "| SnapStart: wait, $/month | provisioned (1): wait, $/month |",
        "|---|---|---|---|---|---|",
    ]
    for profile in profiles():
        costs = {mode: monthly_cost(mode, profile, memory_mb, cold_ms, warm_ms) for mode in MODES}
        share = profile.cold_starts_per_month / profile.requests_per_month
        lines.append(
            f"| {profile.name} | {profile.requests_per_month:,.0f} | {share:.2%} "
            f"({profile.cold_starts_per_month:,.0f}) | {cold_ms:.0f} ms, ${costs['on-demand']:.2f} "
            f"| a restore (not measurable here), ${costs['snapstart']:.2f} "
            f"| none, ${costs['provisioned']:.2f} |"
        )
    return "\n".join(lines)


MODES = ("on-demand", "snapstart", "provisioned")
