"""Starts as Lambda reports them: the REPORT lines of the deployed function's logs.

What the emulator cannot show (a SnapStart restore, an environment started by
provisioned concurrency, Lambda's own CPUs) is in the function's CloudWatch logs: one
REPORT line per invocation, with `Init Duration` on the first invocation of an environment
initialised on demand and `Restore Duration` on the first of one restored from a SnapStart
snapshot. Environments of provisioned concurrency are initialised ahead, so their
invocations carry neither. This reads them (the JSON of `aws logs filter-log-events`, or
log text) and sums them up per kind of start; `python -m bench.lambda_reports` prints the
table.
"""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass

REPORT_MARK = "REPORT RequestId:"
_FIELD = re.compile(r"^(?P<name>[A-Za-z][A-Za-z ]*?): (?P<value>[\d.]+) (?:ms|MB)$")
COLD, RESTORE, WARM = "cold INIT (on demand)", "SnapStart restore", "warm (or provisioned)"


@dataclass(frozen=True)
class Report:
    request_id: str
    fields: dict[str, float]  # "Duration", "Billed Duration", "Init Duration", "Restore Duration", ...

    @property
    def kind(self) -> str:
        if "Restore Duration" in self.fields:
            return RESTORE
        return COLD if "Init Duration" in self.fields else WARM

    @property
    def start_ms(self) -> float:
        """What this environment's start added before the handler ran (0 when warm)."""
        return self.fields.get("Init Duration", 0.0) + self.fields.get("Restore Duration", 0.0)


def parse_report(line: str) -> Report | None:
    """One REPORT line (tab-separated `Name: value unit` fields), or None if it is not one."""
    at = line.find(REPORT_MARK)
    if at < 0:
        return None
    parts = [part.strip() for part in line[at:].split("\t") if part.strip()]
    request_id = parts[0][len(REPORT_MARK) :].strip()
    fields = {}
    for part in parts[1:]:
        match = _FIELD.match(part)
        if match:
            fields[match["name"]] = float(match["value"])
    return Report(request_id, fields) if "Duration" in fields else None


def read_reports(text: str) -> list[Report]:
    """Every REPORT in the output of `aws logs filter-log-events` (JSON) or in plain log text."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        messages = text.splitlines()
    else:
        messages = [event.get("message", "") for event in document.get("events", [])]
    reports = (parse_report(message) for message in messages)
    return [report for report in reports if report is not None]


def summarise(reports: list[Report]) -> list[dict]:
    """One row per kind of start: how many, and the medians (and p90 and max of the start)."""
    rows = []
    for kind in (COLD, RESTORE, WARM):
        mine = [report for report in reports if report.kind == kind]
        if not mine:
            continue
        starts = sorted(report.start_ms for report in mine)
        rows.append(
            {
                "kind": kind,
                "invocations": len(mine),
                "start_median_ms": statistics.median(starts),
                "start_p90_ms": starts[min(len(starts) - 1, int(0.9 * len(starts)))],
                "start_max_ms": starts[-1],
                "duration_median_ms": statistics.median(r.fields["Duration"] for r in mine),
                "billed_median_ms": statistics.median(r.fields.get("Billed Duration", 0) for r in mine),
                "billed_restore_median_ms": statistics.median(
                    r.fields.get("Billed Restore Duration", 0) for r in mine
                ),
                "max_memory_mb": max(r.fields.get("Max Memory Used", 0) for r in mine),
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| start | invocations | Init/Restore Duration median ms | p90 | max | Duration median ms "
        "| Billed Duration median ms | Billed Restore Duration median ms | Max Memory Used MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [
            row["kind"],
            str(row["invocations"]),
            *(f"{row[key]:.0f}" for key in ("start_median_ms", "start_p90_ms", "start_max_ms")),
            f"{row['duration_median_ms']:.2f}",
            *(f"{row[key]:.0f}" for key in ("billed_median_ms", "billed_restore_median_ms", "max_memory_mb")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
