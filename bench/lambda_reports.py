"""Cold starts as Lambda reports them: the REPORT lines of a deployed function, read and
summed up by infra/lambda_reports.py (which says what each kind of start logs).

    aws logs filter-log-events --log-group-name "$(pulumi stack output log_group)" \\
        --filter-pattern REPORT --output json > reports.json
    .venv/bin/python -m bench.lambda_reports reports.json
    .venv/bin/python -m bench.lambda_reports --log-group "$(pulumi stack output log_group)" --hours 24

Reads the JSON of `filter-log-events` (or of `aws logs tail`-like text: any line with a
REPORT in it) and prints a markdown table per kind of start.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from infra.lambda_reports import read_reports, summarise, table


def fetch(log_group: str, hours: float) -> str:
    """The REPORT lines of the last `hours` hours, from the AWS CLI."""
    start = int((time.time() - hours * 3600) * 1000)
    command = ["aws", "logs", "filter-log-events", "--log-group-name", log_group]
    command += ["--filter-pattern", "REPORT", "--start-time", str(start), "--output", "json"]
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"aws logs filter-log-events failed: {proc.stderr.strip()}")
    return proc.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", help="saved output of filter-log-events, or log text; - for stdin")
    parser.add_argument("--log-group", help="read from CloudWatch instead (needs the AWS CLI)")
    parser.add_argument("--hours", type=float, default=24, help="with --log-group: how far back (24)")
    args = parser.parse_args(argv)
    if bool(args.file) == bool(args.log_group):
        parser.error("give a file (or -) or --log-group")
    if args.log_group:
        text = fetch(args.log_group, args.hours)
    else:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    reports = read_reports(text)
    if not reports:
        print("no REPORT lines found", file=sys.stderr)
        return 1
    print(table(summarise(reports)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
