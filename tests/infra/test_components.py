"""The components in process, under Pulumi's public mocks API (`pulumi.runtime.set_mocks`
and `@pulumi.runtime.test`): each one given settings, its resources and their inputs."""

from __future__ import annotations

import json

import pulumi
import pytest

from chipotle_model.api import SERVICE_NAME, cors_policy
from infra.components import HttpApi, ImageRepository, ServingFunction
from infra.config import parse_settings
from tests.infra.mocks import RecordingMonitor, StackMocks


@pytest.fixture
def monitor() -> RecordingMonitor:
    mocks = StackMocks()
    recording = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="chipotle", stack="test", preview=False, monitor=recording)
    return recording


def resources(monitor: RecordingMonitor, type_: str) -> list[dict]:
    return [r for r in monitor.records() if r["type"] == type_]


def test_http_api_is_the_cors_layer_with_one_catch_all_route(monitor):
    settings = parse_settings({"corsAllowOrigins": "https://a.example,https://b.example"})

    @pulumi.runtime.test
    def build():
        function = ServingFunction("fn", function_name="fn", image_uri="repo@sha256:abc", settings=settings)
        api = HttpApi("http", function=function.function, settings=settings)
        return api.url

    build()
    (api,) = resources(monitor, "aws:apigatewayv2/api:Api")
    policy = cors_policy(("https://a.example", "https://b.example"))
    assert api["inputs"]["corsConfiguration"] == {
        "allowOrigins": ["https://a.example", "https://b.example"],
        "allowMethods": list(policy.allow_methods),
        "allowHeaders": list(policy.allow_headers),
        "maxAge": policy.max_age,
    }
    (route,) = resources(monitor, "aws:apigatewayv2/route:Route")
    assert route["inputs"]["routeKey"] == "$default"
    (integration,) = resources(monitor, "aws:apigatewayv2/integration:Integration")
    assert integration["inputs"]["payloadFormatVersion"] == "2.0"
    (component,) = resources(monitor, "chipotle:infra:HttpApi")
    assert component["registered_outputs"] == {
        "url": "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/"
    }


def test_serving_function_environment_names_the_service_and_level_only(monitor):
    settings = parse_settings({"logLevel": "warning"})

    @pulumi.runtime.test
    def build():
        return ServingFunction(
            "fn", function_name="fn", image_uri="repo@sha256:abc", settings=settings
        ).function.arn

    build()
    (function,) = resources(monitor, "aws:lambda/function:Function")
    # The model path comes from the image (its MODEL_PATH), CORS from the HTTP API.
    assert function["inputs"]["environment"] == {
        "variables": {"POWERTOOLS_SERVICE_NAME": SERVICE_NAME, "LOG_LEVEL": "WARNING"}
    }


@pytest.mark.parametrize("keep_images", [None, 3])
def test_image_repository_lifecycle_only_when_asked(monitor, keep_images):
    @pulumi.runtime.test
    def build():
        return ImageRepository("repo", repository_name="x/serving", keep_images=keep_images).url

    build()
    policies = resources(monitor, "aws:ecr/lifecyclePolicy:LifecyclePolicy")
    if keep_images is None:
        assert policies == []
    else:
        (rule,) = json.loads(policies[0]["inputs"]["policy"])["rules"]
        assert rule["selection"]["countNumber"] == keep_images
