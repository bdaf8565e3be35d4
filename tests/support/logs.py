"""The API with its log lines captured, for tests and benchmarks."""

from __future__ import annotations

import io
import json
import uuid
from types import ModuleType

import chipotle_model
from serving.api import ServingApi, create_api, make_logger
from serving.artifact import Artifact


class LogCapture(io.StringIO):
    """The API's log stream: one JSON object per line."""

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.getvalue().splitlines() if line.strip()]

    def clear(self) -> None:
        self.seek(0)
        self.truncate()


def make_api(
    loaded: Artifact, package: ModuleType = chipotle_model, **kwargs
) -> tuple[ServingApi, LogCapture]:
    """The warmed-up API of `package` around a loaded artifact, its logs going to a fresh
    LogCapture (Powertools keys loggers by service, so each gets a service name of its own)."""
    logs = LogCapture()
    logger = make_logger(f"{package.SERVICE_NAME}-test-{uuid.uuid4().hex[:8]}", stream=logs)
    return create_api(package, loaded, logger=logger, **kwargs), logs
