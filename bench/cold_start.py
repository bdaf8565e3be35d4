"""Cold start, lever by lever: the RIE's INIT REPORT in fresh containers of the serving image
and of variants of it, against a handler that only imports sklearn.neighbors in the same
image (and an empty handler), and against a serving image built the original way.

    .venv/bin/python -m bench.cold_start [--containers 7] [--write docs/benchmarks.md]

- "Ours" is the serving image's own handler. (Import deferral, which once left scipy.stats
  and other modules the query path never touches unimported, was removed: docs/benchmarks.md
  says what it cost.)
- Image levers: images derived from the serving image (built here, cached by Docker):
  without .pyc, with unchecked-hash .pyc, untrimmed (the trimmed files reinstalled).
- Every container runs read-only with a tmpfs /tmp, as Lambda runs it; each round starts
  one fresh container of every kind in turn, one request each (the RIE runs INIT at the
  first invocation). The original handler imports scikit-learn inside its first request
  (unpickling), so "INIT + first request" is the fair total there.

Then `python -X importtime` of our INIT, the image's files, a warm Duration, and the
start-mode model (bench.start_modes). With --write, the tables replace the generated part
of that file's cold-start section (between its bench.cold_start markers).
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import start_modes, support
from infra.config import DEFAULTS
from infra.local.images import IMAGE_PREFIX, LambdaContainer, docker, run_python

TARGET_RATIO = 0.7  # INIT <= 0.7x the bare `import sklearn.neighbors`, same image
BARE, ORIGINAL, OURS = "bare `import sklearn.neighbors`, same image", "original way (own image)", "**ours**"
# Tried and not kept unless this row shows they help (more stand-ins, more to go wrong).
LAMBDA_LIKE = ["--read-only", "--tmpfs", "/tmp"]  # Lambda's file system: read-only but /tmp
SITE = 'site="$(python -c \'import sysconfig; print(sysconfig.get_path("purelib"))\')"'
DERIVED = {  # image key -> (row name, the RUN line that makes it from the serving image)
    "nopyc": (
        "without .pyc (every module compiled at every start)",
        f'{SITE} && find "$site" "$LAMBDA_TASK_ROOT" -name __pycache__ -prune -exec rm -rf {{}} +',
    ),
    "unchecked": (
        "unchecked-hash .pyc (sources never stat'ed)",
        f"{SITE} && python -m compileall -q -f -j 0 --invalidation-mode unchecked-hash"
        ' "$site" "$LAMBDA_TASK_ROOT"',
    ),
    "untrimmed": (
        "untrimmed (test suites, headers, stubs reinstalled)",
        "pip install --no-cache-dir --force-reinstall -r /opt/requirements/serving.txt",
    ),
}
MARKERS = ("<!-- bench.cold_start:begin -->", "<!-- bench.cold_start:end -->")


@dataclass(frozen=True)
class Kind:
    name: str
    image: str
    handler: str | None = None  # a module mounted at /opt/bench, or None: the image's CMD


def derived_image(serving: str, key: str) -> str:
    """The serving image with one more RUN line (cached by Docker)."""
    tag = f"{IMAGE_PREFIX}-bench-{key}:{serving.rsplit(':', 1)[-1]}"
    dockerfile = f"FROM {serving}\nRUN {DERIVED[key][1]}\n"
    return support.docker_build(tag, ["-"], dockerfile=dockerfile)


def measure(kinds: list[Kind], containers: int, handlers: support.HandlerDir) -> dict[str, list[dict]]:
    event = support.point_event(39.153198, -77.066176)
    results: dict[str, list[dict]] = {kind.name: [] for kind in kinds}
    for _ in range(containers):
        for kind in kinds:
            extra = [*LAMBDA_LIKE, *handlers.docker_args()]
            results[kind.name].append(
                support.cold_start(kind.image, event, handler=kind.handler, extra=extra)
            )
    return results


def init_table(results: dict[str, list[dict]], containers: int) -> tuple[str, float]:
    """The INIT table and the ratio of ours to the bare import."""
    median = {name: support.median([r["init"] for r in runs]) for name, runs in results.items()}
    total = {name: support.median([r["init"] + r["first"] for r in runs]) for name, runs in results.items()}
    ours = next(name for name in results if name.startswith(OURS))
    lines = [
        f"### Cold start through the RIE ({containers} fresh containers each, read-only, medians)\n",
        "| handler | INIT ms | INIT min-max | INIT vs bare import | first request ms | INIT + first ms "
        "| INIT + first vs original |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        inits = [r["init"] for r in runs]
        lines.append(
            f"| {name} | {median[name]:.0f} | {min(inits):.0f}-{max(inits):.0f} "
            f"| {median[name] / median[BARE]:.2f}x | {support.median([r['first'] for r in runs]):.1f} "
            f"| {total[name]:.0f} | {total[name] / total[ORIGINAL]:.2f}x |"
        )
    ratio = median[ours] / median[BARE]
    lines.append(
        f"\nTarget: INIT <= {TARGET_RATIO}x the bare scikit-learn import in the same image: "
        f"{support.met(ratio <= TARGET_RATIO)} "
        f"({median[ours]:.0f} ms / {median[BARE]:.0f} ms = {ratio:.2f}x); "
        f"the cold start a user waits for (INIT + first request) is {total[ours] / total[ORIGINAL]:.2f}x "
        f"the original pattern's ({total[ours]:.0f} vs {total[ORIGINAL]:.0f} ms)."
    )
    return "\n".join(lines), ratio


def import_breakdown(image: str, statement: str, extra: list[str] | None = None, top: int = 8):
    """`python -X importtime -c statement` in `image`: the total and the self time (ms) summed
    per top-level package, so the rows add up (scipy imported by sklearn counts as scipy)."""
    proc = docker(
        "run", "--rm", *LAMBDA_LIKE, *(extra or []), "-e", "PYTHONPATH=/var/task", "--entrypoint", "python",
        image, "-X", "importtime", "-c", statement, check=True, timeout=120,
    )  # fmt: skip
    per_package: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| *(\S+)", line)
        if m:
            root = m.group(3).split(".")[0]
            per_package[root] = per_package.get(root, 0.0) + int(m.group(1)) / 1e3
    total = sum(per_package.values())
    rows = sorted(per_package.items(), key=lambda r: -r[1])
    return total, [*rows[:top], ("everything else", sum(ms for _, ms in rows[top:]))]


def breakdown_table(image: str, handlers: support.HandlerDir) -> str:
    total, rows = import_breakdown(image, "import handler")
    bare, _ = import_breakdown(image, "import sklearn.neighbors")
    lines = [
        "### Where our INIT goes: `python -X importtime -c 'import handler'` in the serving image\n",
        f"Imports total {total:.0f} ms (self time per top-level package below); "
        f"`import sklearn.neighbors` alone {bare:.0f} ms (one run each).\n",
        "| package | import self time ms | share |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {ms:.0f} | {ms / total:.0%} |" for name, ms in rows]
    return "\n".join(lines)


IMAGE_FILES = (
    "import json, pathlib, sysconfig\n"
    "site = pathlib.Path(sysconfig.get_path('purelib'))\n"
    "files = [p for p in site.rglob('*') if p.is_file()]\n"
    "print(json.dumps({'files': len(files), 'mb': sum(p.stat().st_size for p in files) / 1e6,\n"
    "                  'pyc': sum(p.suffix == '.pyc' for p in files)}))"
)


def files_table(images: dict[str, str]) -> str:
    lines = [
        "### The image's installed packages (site-packages)\n",
        "| image | files | MB | .pyc files |",
        "|---|---|---|---|",
    ]
    for name, image in images.items():
        stats = json.loads(run_python(image, IMAGE_FILES).stdout)
        lines.append(f"| {name} | {stats['files']:,} | {stats['mb']:.0f} | {stats['pyc']:,} |")
    return "\n".join(lines)


def warm_duration_ms(image: str, requests: int = 200) -> float:
    """The median REPORT Duration of warm GETs in one container (the first, cold, left out)."""
    event = support.point_event(39.153198, -77.066176)
    with LambdaContainer(image, extra=LAMBDA_LIKE) as container:
        for _ in range(requests + 1):
            container.invoke(event)
        return support.median(container.durations_ms(requests + 1)[1:])


def write_section(path: Path, text: str) -> None:
    """Replace what lies between the bench.cold_start markers of `path` with `text`."""
    document = path.read_text()
    begin, end = (document.index(marker) for marker in MARKERS)
    path.write_text(document[: begin + len(MARKERS[0])] + "\n" + text + "\n" + document[end:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--containers", type=int, default=7, help="fresh containers of each kind (>= 5)")
    parser.add_argument("--write", type=Path, help="put the tables into this file (docs/benchmarks.md)")
    args = parser.parse_args()
    base = support.base_image()
    image, _ = support.serving_image(base)
    kinds, modules = [Kind(f"{OURS} (the serving image)", image)], {}
    derived = {key: derived_image(image, key) for key in DERIVED}
    kinds += [Kind(DERIVED[key][0], tag) for key, tag in derived.items()]
    kinds += [
        Kind(BARE, image, "bench_import_sklearn.handler"),
        Kind("empty handler, same image", image, "bench_empty.handler"),
    ]
    kinds.append(Kind(ORIGINAL, support.original_image(base)))
    handlers = support.HandlerDir(modules)
    try:
        results = measure(kinds, args.containers, handlers)
        breakdown = breakdown_table(image, handlers)
    finally:
        handlers.cleanup()
    init, _ = init_table(results, args.containers)
    ours = next(runs for name, runs in results.items() if name.startswith(OURS))
    cold_ms = support.median([r["init"] + r["first"] for r in ours])
    sections = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {support.machine()}, base {base}, image {image}.",
        init,
        files_table({"ours (trimmed)": image, "untrimmed": derived["untrimmed"]}),
        breakdown,
        "### Start modes: what a user waits for and what a month costs (`bench.start_modes`)\n\n"
        + start_modes.table(int(DEFAULTS["memorySize"]), cold_ms, warm_duration_ms(image)),
    ]
    text = "\n\n".join(sections)
    print(text)
    if args.write:
        write_section(args.write, text)


if __name__ == "__main__":
    main()
