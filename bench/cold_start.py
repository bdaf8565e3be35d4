"""Cold start: the RIE's INIT REPORT in fresh serving containers, against a handler that only
imports sklearn.neighbors in the same image (and an empty handler), and against a serving
image built the original way (pandas installed, model unpickled per request).

    .venv/bin/python -m bench.cold_start [--containers 7]

Each round starts one fresh container of every kind, in turn, and makes one request (the
RIE runs INIT at the first invocation). The original handler imports scikit-learn lazily,
inside its first request (unpickling), so "INIT + first request" is the fair total.
`python -X importtime` in the same image breaks our INIT down by top-level import.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime

from bench import support
from tests.support.docker import docker

TARGET_RATIO = 1.15


def import_breakdown(image: str, statement: str, top: int = 8) -> tuple[float, list[tuple[str, float]]]:
    """`python -X importtime -c statement` in `image`: the total and the self time (ms) summed
    per top-level package, so the rows add up (scipy imported by sklearn counts as scipy)."""
    proc = docker(
        "run", "--rm", "-e", "PYTHONPATH=/var/task", "--entrypoint", "python", image,
        "-X", "importtime", "-c", statement, check=True, timeout=120,
    )  # fmt: skip
    per_package: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| *(\S+)", line)
        if m:
            root = m.group(3).split(".")[0]
            per_package[root] = per_package.get(root, 0.0) + int(m.group(1)) / 1e3
    total = sum(per_package.values())
    rows = sorted(per_package.items(), key=lambda r: -r[1])
    shown = rows[:top]
    shown.append(("everything else", sum(ms for _, ms in rows[top:])))
    return total, shown


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--containers", type=int, default=7, help="fresh containers of each kind (>= 5)")
    args = parser.parse_args()
    base = support.base_image()
    image, _ = support.serving_image(base)
    original = support.original_image(base)
    handlers = support.HandlerDir()
    event = support.point_event(39.153198, -77.066176)
    kinds = {
        "ours (serving image)": (image, None),
        "bare `import sklearn.neighbors` handler, same image": (image, "bench_import_sklearn.handler"),
        "empty handler, same image": (image, "bench_empty.handler"),
        "original way (own image)": (original, None),
    }
    results: dict[str, list[dict]] = {name: [] for name in kinds}
    try:
        for _ in range(args.containers):
            for name, (img, handler) in kinds.items():
                results[name].append(
                    support.cold_start(img, event, handler=handler, extra=handlers.docker_args())
                )
    finally:
        handlers.cleanup()

    bare = support.median([r["init"] for r in results["bare `import sklearn.neighbors` handler, same image"]])
    print(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {support.machine()}, base {base}\n")
    print(f"### Cold start through the RIE ({args.containers} fresh containers each, medians)\n")
    print("| handler | INIT ms | INIT min-max | INIT vs bare import | first request ms | INIT + first ms |")
    print("|---|---|---|---|---|---|")
    for name, runs in results.items():
        inits = [r["init"] for r in runs]
        firsts = [r["first"] for r in runs]
        totals = [r["init"] + r["first"] for r in runs]
        print(
            f"| {name} | {support.median(inits):.0f} | {min(inits):.0f}-{max(inits):.0f} "
            f"| {support.median(inits) / bare:.2f}x | {support.median(firsts):.1f} "
            f"| {support.median(totals):.0f} |"
        )
    ours = support.median([r["init"] for r in results["ours (serving image)"]])
    print(
        f"\nTarget: INIT <= {TARGET_RATIO}x the bare scikit-learn import in the same image: "
        f"{support.met(ours <= TARGET_RATIO * bare)} ({ours:.0f} ms / {bare:.0f} ms = {ours / bare:.2f}x)\n"
    )
    total, rows = import_breakdown(image, "import handler")
    bare_total, _ = import_breakdown(image, "import sklearn.neighbors")
    print("### Where our INIT goes: `python -X importtime -c 'import handler'` in the serving image\n")
    print(f"Imports total {total:.0f} ms (self time per top-level package below); "
          f"`import sklearn.neighbors` alone: {bare_total:.0f} ms.\n")  # fmt: skip
    print("| package | import self time ms | share |")
    print("|---|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.0f} | {ms / total:.0%} |")
    print()


if __name__ == "__main__":
    main()
