"""The API with its log lines captured, for tests and benchmarks."""

from __future__ import annotations

import io
import json
import uuid

from chipotle_model.api import NearestStoreApi, create_api, make_logger


class LogCapture(io.StringIO):
    """The API's log stream: one JSON object per line."""

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.getvalue().splitlines() if line.strip()]

    def clear(self) -> None:
        self.seek(0)
        self.truncate()


def make_api(model, **kwargs) -> tuple[NearestStoreApi, LogCapture]:
    """A warmed-up API whose logs go to a fresh LogCapture (Powertools keys loggers by
    service, so each gets a service name of its own)."""
    logs = LogCapture()
    logger = make_logger(service=f"nearest-store-test-{uuid.uuid4().hex[:8]}", stream=logs)
    return create_api(model, logger=logger, **kwargs), logs
