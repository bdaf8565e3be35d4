"""The training command's time estimate against the time it took, on the real CSV and on
synthetic ones (chipotle_model/synthetic.py).

    .venv/bin/python -m bench.training_estimate [--sizes 2629,50000,200000]

`python -m chipotle_model.train` prints "fit and check N stores: about S s" before it
fits, from constants measured on a 2-CPU machine (chipotle_model.train.estimated_seconds),
then the time of each phase. The estimate is a figure of the machine it was made on, so
it is measured here, not asserted by a test.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from bench import support
from chipotle_model.synthetic import write_synthetic_csv
from chipotle_model.training import estimated_seconds
from infra.local.measure import run_measured


def measured(csv: Path, workdir: Path) -> tuple[int, float]:
    run = run_measured([sys.executable, "-m", "chipotle_model.train", "--data", str(csv),
                        "--out", str(workdir / "model.joblib")])  # fmt: skip
    if run.returncode != 0:
        raise SystemExit(run.stderr[-2000:])
    stores = int(re.search(r"fit and check ([\d,]+) stores", run.stderr).group(1).replace(",", ""))
    took = sum(float(s) for s in re.findall(r"^(?:fit|check): .* in ([\d.]+) s$", run.stderr, re.MULTILINE))
    return stores, took


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.training_estimate", description=__doc__)
    parser.add_argument("--sizes", default="2629,50000,200000", help="store counts; 2629 = the real CSV")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for size in (int(s) for s in args.sizes.split(",")):
            csv = support.csv_path()
            if size != support.real_store_count():
                csv = write_synthetic_csv(workdir / f"stores-{size}.csv", size, csv)
            stores, took = measured(csv, workdir)
            rows.append((stores, estimated_seconds(stores), took))
    print(f"### The training estimate ({support.machine()})\n")
    print("| stores | estimate s | fit + check took s | took / estimate |")
    print("|---|---|---|---|")
    for stores, estimate, took in rows:
        print(f"| {stores:,} | {estimate:.1f} | {took:.1f} | {took / estimate:.2f}x |")


if __name__ == "__main__":
    main()
