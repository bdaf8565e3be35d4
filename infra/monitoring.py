"""What the stack watches: the alarms and the dashboard, as pure functions of the names
AWS gives the function, its alias and the API (tested without Pulumi).

AWS's own metrics (free): AWS/Lambda by function and alias (Errors, Throttles, Duration,
Invocations) and AWS/ApiGateway by API and stage (Count, 4xx, 5xx, Latency). The
handler's own (serving.metrics, EMF): requests, client and server errors and
latency per route, batch size, k, cold starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from serving.metrics import namespace_for

PERIOD_S = 300  # five-minute periods: the finest that standard-resolution alarms bill for
STAGE = "$default"
MIN_REQUESTS_FOR_RATE = 20  # a 4xx rate over fewer requests than this is noise


@dataclass(frozen=True)
class Watched:
    """The names of what is watched, once AWS has given them."""

    region: str
    function_name: str
    alias_name: str
    api_id: str
    log_group: str


def alarm_specs(watched: Watched, *, latency_p99_ms: int, client_error_percent: int) -> dict[str, dict]:
    """Alarm name suffix -> the MetricAlarm arguments (without actions), what to do in its description."""
    function = {
        "FunctionName": watched.function_name,
        "Resource": f"{watched.function_name}:{watched.alias_name}",
    }
    api = {"ApiId": watched.api_id, "Stage": STAGE}
    return {
        **_count_alarms(function, api),
        "latency-p99": {
            "namespace": "AWS/ApiGateway",
            "metric_name": "Latency",
            "dimensions": api,
            "extended_statistic": "p99",
            "comparison_operator": "GreaterThanThreshold",
            "threshold": latency_p99_ms,
            "period": PERIOD_S,
            # two bad periods of three: one cold start after a quiet spell is not an incident
            "evaluation_periods": 3,
            "datapoints_to_alarm": 2,
            "treat_missing_data": "notBreaching",
            "alarm_description": f"Watches AWS/ApiGateway Latency p99 of the $default stage: above "
            f"{latency_p99_ms} ms in 2 of 3 five-minute periods. Cold starts (see coldStart), big "
            "batches, or too little memory.",
        },
        "client-error-rate": {
            "metric_queries": [
                _api_query("errors", "4xx", api),
                _api_query("requests", "Count", api),
                {
                    "id": "rate",
                    "expression": f"IF(requests >= {MIN_REQUESTS_FOR_RATE}, 100 * errors / requests, 0)",
                    "label": "4xx, % of requests",
                    "return_data": True,
                },
            ],
            "comparison_operator": "GreaterThanThreshold",
            "threshold": client_error_percent,
            "evaluation_periods": 1,
            "treat_missing_data": "notBreaching",
            "alarm_description": f"Watches AWS/ApiGateway 4xx as a share of Count on the $default stage: "
            f"above {client_error_percent}% of at least {MIN_REQUESTS_FOR_RATE} requests in five minutes. "
            "A client sends bad input, or a deploy changed the API.",
        },
    }


# Any count above zero in a five-minute period.
_ANY_AT_ALL = {
    "comparison_operator": "GreaterThanThreshold",
    "threshold": 0,
    "statistic": "Sum",
    "period": PERIOD_S,
    "evaluation_periods": 1,
    "treat_missing_data": "notBreaching",
}


def _count_alarms(function: dict, api: dict) -> dict[str, dict]:
    """The alarms on any crash, throttle or 5xx at all."""
    any_at_all = _ANY_AT_ALL
    return {
        # Lambda's Errors counts unhandled errors only: the handler's own 500s are answers,
        # counted by the API's 5xx (api-5xx) and the handler's ServerErrors.
        "function-crashes": {
            **any_at_all,
            "namespace": "AWS/Lambda",
            "metric_name": "Errors",
            "dimensions": function,
            "alarm_description": "Counts AWS/Lambda Errors of the live alias: invocations that ended "
            "without an answer from the handler (an uncaught exception, a timeout, running out of "
            "memory, a failed INIT). A 500 the handler answers is not one (see api-5xx). Read the "
            "ERROR and REPORT lines of the log group.",
        },
        "throttles": {
            **any_at_all,
            "namespace": "AWS/Lambda",
            "metric_name": "Throttles",
            "dimensions": function,
            "alarm_description": "Counts AWS/Lambda Throttles of the live alias: invocations refused "
            "for lack of concurrency. Raise reservedConcurrency (or the account's limit).",
        },
        "api-5xx": {
            **any_at_all,
            "namespace": "AWS/ApiGateway",
            "metric_name": "5xx",
            "dimensions": api,
            "alarm_description": "Counts AWS/ApiGateway 5xx of the $default stage: every 5xx answer, "
            "the 500s the handler returns for errors it handled included (Lambda's Errors misses "
            "those), as well as the function's crashes and timeouts and API Gateway's own failures.",
        },
    }


def _api_query(query_id: str, metric_name: str, dimensions: dict) -> dict:
    return {
        "id": query_id,
        "metric": {
            "namespace": "AWS/ApiGateway",
            "metric_name": metric_name,
            "dimensions": dimensions,
            "stat": "Sum",
            "period": PERIOD_S,
        },
        "return_data": False,
    }


def dashboard_body(watched: Watched, *, service: str) -> dict:
    """The CloudWatch dashboard: requests, errors, latency percentiles, cold starts,
    throttles, and each model version's share of the traffic (from the request log)."""
    api = ["ApiId", watched.api_id, "Stage", STAGE]
    function = [
        "FunctionName",
        watched.function_name,
        "Resource",
        f"{watched.function_name}:{watched.alias_name}",
    ]
    handler = f'{{{namespace_for(service)},route,service}} service="{service}"'

    def search(metric: str) -> list:
        return [
            {"expression": f"SEARCH('{handler} MetricName=\"{metric}\"', 'Sum', {PERIOD_S})", "label": ""}
        ]

    share_query = (
        f"SOURCE '{watched.log_group}' | filter message = \"request\" "
        "| stats count(*) as requests, sum(status >= 500) as server_errors by model_version"
    )
    return {
        "widgets": [
            _metric_widget(
                watched, "Requests", [["AWS/ApiGateway", "Count", *api], search("Requests")], x=0, y=0
            ),
            _metric_widget(
                watched,
                "Errors",
                [
                    ["AWS/ApiGateway", "4xx", *api],
                    ["AWS/ApiGateway", "5xx", *api],
                    ["AWS/Lambda", "Errors", *function, {"label": "function crashes (unhandled)"}],
                ],
                x=12,
                y=0,
            ),
            _metric_widget(
                watched,
                "Latency (ms)",
                [
                    ["AWS/ApiGateway", "Latency", *api, {"stat": "p50"}],
                    ["AWS/ApiGateway", "Latency", *api, {"stat": "p90"}],
                    ["AWS/ApiGateway", "Latency", *api, {"stat": "p99"}],
                    ["AWS/Lambda", "Duration", *function, {"stat": "p99", "label": "function p99"}],
                ],
                x=0,
                y=6,
                stat="p99",
            ),
            _metric_widget(
                watched,
                "Cold starts and throttles",
                [
                    search("ColdStart"),
                    ["AWS/Lambda", "Throttles", *function],
                    ["AWS/Lambda", "ConcurrentExecutions", *function, {"stat": "Maximum"}],
                ],
                x=12,
                y=6,
            ),
            _log_widget(watched, "Share of traffic and errors by model version", share_query, y=12),
        ]
    }


def _metric_widget(watched: Watched, title: str, rows: list, *, x: int, y: int, stat: str = "Sum") -> dict:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": watched.region,
            "stat": stat,
            "period": PERIOD_S,
            "view": "timeSeries",
            "metrics": rows,
        },
    }


def _log_widget(watched: Watched, title: str, query: str, *, y: int) -> dict:
    return {
        "type": "log",
        "x": 0,
        "y": y,
        "width": 24,
        "height": 6,
        "properties": {"title": title, "region": watched.region, "query": query, "view": "pie"},
    }


def dashboard_url(region: str, name: str) -> str:
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards:name={name}"
