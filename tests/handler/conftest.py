"""Fixtures for the HTTP API tests: the API around the real model, with its logs captured."""

from __future__ import annotations

import io
import json
import uuid

import pytest

from chipotle_model.api import NearestStoreApi, create_api, make_logger


class LogCapture(io.StringIO):
    """The API's log stream: one JSON object per line."""

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.getvalue().splitlines() if line.strip()]

    def clear(self) -> None:
        self.seek(0)
        self.truncate()


def make_api(model, **kwargs) -> tuple[NearestStoreApi, LogCapture]:
    """A warmed-up API whose logs go to a fresh LogCapture (Powertools keys loggers by service)."""
    logs = LogCapture()
    logger = make_logger(service=f"nearest-store-test-{uuid.uuid4().hex[:8]}", stream=logs)
    return create_api(model, logger=logger, **kwargs), logs


@pytest.fixture(scope="session")
def api_and_logs(real_model):
    return make_api(real_model, allow_origins=["*"])


@pytest.fixture
def api(api_and_logs) -> NearestStoreApi:
    return api_and_logs[0]


@pytest.fixture
def logs(api_and_logs) -> LogCapture:
    api_and_logs[1].clear()
    return api_and_logs[1]
