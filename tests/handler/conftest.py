"""Fixtures for the HTTP API tests: the API around the real model, with its logs captured."""

from __future__ import annotations

import pytest

from chipotle_model.api import NearestStoreApi
from tests.support.logs import LogCapture, make_api


@pytest.fixture(scope="session")
def api_and_logs(real_model):
    return make_api(real_model)


@pytest.fixture
def api(api_and_logs) -> NearestStoreApi:
    return api_and_logs[0]


@pytest.fixture
def logs(api_and_logs) -> LogCapture:
    api_and_logs[1].clear()
    return api_and_logs[1]
