"""infra.lambda_reports on recorded CloudWatch REPORT lines (on-demand, SnapStart, warm)."""

from __future__ import annotations

import json

import pytest

from infra.lambda_reports import COLD, RESTORE, WARM, parse_report, read_reports, summarise, table

COLD_LINE = (
    "REPORT RequestId: 3f1c9a52-8d0e-4b7a-9f1e-2c7d5e6a1b20\tDuration: 1.42 ms\tBilled Duration: 2 ms\t"
    "Memory Size: 128 MB\tMax Memory Used: 39 MB\tInit Duration: 123.74 ms\t\n"
)
RESTORE_LINE = (
    "REPORT RequestId: 9b2e7c41-0a6d-4c3f-8e5b-7d1f2a9c6e83\tDuration: 2.87 ms\tBilled Duration: 3 ms\t"
    "Memory Size: 1769 MB\tMax Memory Used: 173 MB\tRestore Duration: 398.97 ms\t"
    "Billed Restore Duration: 182 ms\t\n"
)
WARM_LINE = (
    "REPORT RequestId: 5c8d1e2f-3a4b-4c5d-8e6f-7a8b9c0d1e2f\tDuration: 1.18 ms\tBilled Duration: 2 ms\t"
    "Memory Size: 1769 MB\tMax Memory Used: 140 MB\t"
    "XRAY TraceId: 1-6744b0f2-0c1d2e3f4a5b6c7d8e9f0a1b\tSegmentId: 0a1b2c3d4e5f6a7b\tSampled: true\t\n"
)


def filter_log_events_output(*messages: str) -> str:
    """What `aws logs filter-log-events --output json` prints for these messages."""
    events = [
        {
            "logStreamName": f"2026/11/25/[7]abc{i}",
            "timestamp": 1796200000000 + i,
            "message": message,
            "ingestionTime": 1796200000500 + i,
            "eventId": str(38000000000000000000 + i),
        }
        for i, message in enumerate(messages)
    ]
    return json.dumps({"events": events, "searchedLogStreams": []})


def test_each_kind_of_report_line_is_read_field_by_field():
    cold, restore, warm = (parse_report(line) for line in (COLD_LINE, RESTORE_LINE, WARM_LINE))
    assert cold.request_id == "3f1c9a52-8d0e-4b7a-9f1e-2c7d5e6a1b20"
    assert cold.fields == {
        "Duration": 1.42,
        "Billed Duration": 2,
        "Memory Size": 128,
        "Max Memory Used": 39,
        "Init Duration": 123.74,
    }
    assert (cold.kind, cold.start_ms) == (COLD, 123.74)
    assert restore.fields["Restore Duration"] == 398.97 and restore.fields["Billed Restore Duration"] == 182
    assert (restore.kind, restore.start_ms) == (RESTORE, 398.97)
    assert (warm.kind, warm.start_ms, warm.fields["Duration"]) == (WARM, 0.0, 1.18)
    assert "XRAY TraceId" not in warm.fields  # fields that are not durations or sizes are skipped


@pytest.mark.parametrize("line", ["START RequestId: 1 Version: 3", "END RequestId: 1", "", "REPORT"])
def test_lines_that_are_not_reports_are_skipped(line):
    assert parse_report(line) is None


def test_filter_log_events_json_and_plain_text_give_the_same_reports():
    lines = [COLD_LINE, RESTORE_LINE, WARM_LINE, "START RequestId: x Version: 7\n"]
    from_json = read_reports(filter_log_events_output(*lines))
    text = "".join(f"2026-11-25T10:00:0{i}.000Z {line}" for i, line in enumerate(lines))  # `aws logs tail`
    assert from_json == read_reports(text)
    assert [report.kind for report in from_json] == [COLD, RESTORE, WARM]


def test_the_summary_has_one_row_per_kind_with_its_medians():
    restores = [RESTORE_LINE.replace("398.97", value) for value in ("398.97", "250.50", "610.00")]
    reports = read_reports(filter_log_events_output(COLD_LINE, *restores, WARM_LINE, WARM_LINE))
    rows = {row["kind"]: row for row in summarise(reports)}
    assert list(rows) == [COLD, RESTORE, WARM]
    assert rows[RESTORE]["invocations"] == 3
    assert rows[RESTORE]["start_median_ms"] == 398.97 and rows[RESTORE]["start_max_ms"] == 610.0
    assert rows[RESTORE]["billed_restore_median_ms"] == 182
    assert rows[COLD]["start_median_ms"] == 123.74 and rows[COLD]["max_memory_mb"] == 39
    assert rows[WARM]["invocations"] == 2 and rows[WARM]["start_median_ms"] == 0


def test_the_table_is_markdown_with_one_row_per_kind():
    reports = read_reports(filter_log_events_output(COLD_LINE, RESTORE_LINE, WARM_LINE))
    lines = table(summarise(reports)).splitlines()
    assert lines[0].startswith("| start | invocations |") and len(lines) == 5
    assert lines[3].startswith(f"| {RESTORE} | 1 | 399 |")
    assert read_reports("START RequestId: 1\n") == []
