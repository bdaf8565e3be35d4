"""Request metrics in CloudWatch's embedded metric format (EMF), with Powertools Metrics:
one JSON record per request written to the log (no API call on the request path), which
CloudWatch turns into metrics.

Dimensions are kept few, because each combination of values is a custom metric billed by
the month: `service` (Powertools adds it) and `route` (one of the routes, or "other").
A route adds its own counts with `Request.count` (in Count units):

    Requests, ClientErrors, ServerErrors   Count, per route (errors as 0/1 so rates add up)
    Latency                                Milliseconds, per route (the handler's time)
    ColdStart                              Count: the first request of an environment

The model version and how the environment started (cold, restore) are properties of
the record, not dimensions: a dimension per model would add metrics at every release;
as properties they are searchable in the log (Logs Insights) at no metric cost.
"""

from __future__ import annotations

import os
import re

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

OTHER_ROUTE = "other"  # any path or method the route table does not serve


def namespace_for(service: str) -> str:
    """The CloudWatch namespace of a service's metrics: "my-service" -> "MyService"."""
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", service) if part)


class RequestMetrics:
    """The metrics of the request being answered, flushed as one EMF record at its end."""

    def __init__(self, *, service: str, namespace: str | None = None, enabled: bool | None = None):
        if enabled is None:  # Powertools' own switch, honoured
            enabled = os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() not in ("1", "true")
        self.enabled = enabled
        namespace = namespace or namespace_for(service)
        self._metrics = Metrics(namespace=namespace, service=service) if enabled else None
        self._first = True

    def count(self, name: str, value: float) -> None:
        """A route's own count on this request's record (a metric in Count units)."""
        if self._metrics:
            self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def request(self, *, route: str, status: int, latency_ms: float, model_version: str, start: str) -> None:
        """Record one answered request and write its record. `start` is how the environment
        serving it started (cold, restore, provisioned); it counts once, at its first request."""
        metrics = self._metrics
        if metrics is None:
            return
        metrics.add_dimension(name="route", value=route)
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=int(400 <= status < 500))
        metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=int(status >= 500))
        metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=latency_ms)
        if self._first and start != "provisioned-concurrency":  # a user waited for this start
            metrics.add_metric(name="ColdStart", unit=MetricUnit.Count, value=1)
        metrics.add_metadata(key="model_version", value=model_version)
        metrics.add_metadata(key="start", value=start if self._first else "warm")
        self._first = False
        metrics.flush_metrics()

    def discard(self) -> None:
        """Drop what was recorded without writing it (warm-up queries are not requests)."""
        if self._metrics:
            self._metrics.clear_metrics()
