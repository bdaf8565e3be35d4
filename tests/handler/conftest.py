"""Fixtures for the HTTP API tests: the API around the real model, with its logs captured."""

from __future__ import annotations

import pytest

from serving.api import ServingApi
from tests.support.logs import LogCapture, make_api


@pytest.fixture(scope="session")
def api_and_logs(real_loaded):
    return make_api(real_loaded)


@pytest.fixture
def api(api_and_logs) -> ServingApi:
    return api_and_logs[0]


@pytest.fixture
def logs(api_and_logs) -> LogCapture:
    api_and_logs[1].clear()
    return api_and_logs[1]
