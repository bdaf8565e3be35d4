"""The components in process, under Pulumi's public mocks API (`pulumi.runtime.set_mocks`
and `@pulumi.runtime.test`): each one given settings, its resources and their inputs."""

from __future__ import annotations

import json

import pulumi
import pytest

import chipotle_model
from chipotle_model import SERVICE_NAME
from infra.components import HttpApi, ImageRepository, ImageRetention, Monitoring, ServingFunction
from infra.config import parse_settings
from infra.policies import lifecycle_policy
from serving.api import cors_policy
from tests.infra.mocks import RecordingMonitor, StackMocks

IMAGE_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo@sha256:" + "a" * 64


def start(**mocks) -> RecordingMonitor:
    stack_mocks = StackMocks(**mocks)
    monitor = RecordingMonitor(stack_mocks)
    pulumi.runtime.set_mocks(stack_mocks, project="chipotle", stack="test", preview=False, monitor=monitor)
    return monitor


@pytest.fixture
def monitor() -> RecordingMonitor:
    return start()


def one(monitor: RecordingMonitor, type_: str) -> dict:
    (found,) = [r for r in monitor.records() if r["type"] == type_]
    return found


def all_of(monitor: RecordingMonitor, type_: str) -> list[dict]:
    return [r for r in monitor.records() if r["type"] == type_]


def deploy_function(**config: str) -> None:
    settings = parse_settings(config)

    @pulumi.runtime.test
    def build():
        return ServingFunction("fn", image_uri=IMAGE_URI, package=chipotle_model, settings=settings).alias.arn

    build()


# --- ServingFunction: versions, the live alias, least privilege ---------------------------


def test_every_deploy_publishes_a_version_and_live_routes_to_it(monitor):
    deploy_function()
    function = one(monitor, "aws:lambda/function:Function")
    assert function["inputs"]["publish"] is True
    assert function["inputs"]["imageUri"] == IMAGE_URI
    # The model path comes from the image (its MODEL_PATH), CORS from the HTTP API.
    assert function["inputs"]["environment"] == {
        "variables": {"POWERTOOLS_SERVICE_NAME": SERVICE_NAME, "LOG_LEVEL": "INFO"}
    }
    alias = one(monitor, "aws:lambda/alias:Alias")
    assert alias["inputs"]["name"] == "live"
    assert alias["inputs"]["functionVersion"] == function["outputs"]["version"]
    assert "routingConfig" not in alias["inputs"]


def test_a_canary_sends_its_weight_to_the_new_version_and_the_rest_to_stable(monitor):
    deploy_function(stableVersion="4", canaryWeight="0.1")
    published = one(monitor, "aws:lambda/function:Function")["outputs"]["version"]
    alias = one(monitor, "aws:lambda/alias:Alias")["inputs"]
    assert alias["functionVersion"] == "4"
    assert alias["routingConfig"] == {"additionalVersionWeights": {published: 0.1}}


def test_a_pin_sends_everything_to_that_version(monitor):
    deploy_function(pinVersion="3")
    alias = one(monitor, "aws:lambda/alias:Alias")["inputs"]
    assert alias["functionVersion"] == "3"
    assert "routingConfig" not in alias


def test_the_role_may_only_write_to_the_functions_own_log_group(monitor):
    deploy_function(logRetentionDays="30")
    group = one(monitor, "aws:cloudwatch/logGroup:LogGroup")
    assert group["inputs"]["namePrefix"] == "/aws/lambda/fn-"
    assert group["inputs"]["retentionInDays"] == 30
    function = one(monitor, "aws:lambda/function:Function")
    assert function["inputs"]["loggingConfig"] == {"logFormat": "Text", "logGroup": group["outputs"]["name"]}
    (statement,) = json.loads(one(monitor, "aws:iam/rolePolicy:RolePolicy")["inputs"]["policy"])["Statement"]
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == f"{group['outputs']['arn']}:log-stream:*"
    assert not all_of(monitor, "aws:iam/rolePolicyAttachment:RolePolicyAttachment"), "no managed policy on *"
    assert one(monitor, "aws:iam/rolePolicy:RolePolicy")["urn"] in function["dependencies"]


def test_no_iam_policy_of_the_stack_has_a_wildcard_resource(monitor):
    deploy_function()
    for policy in all_of(monitor, "aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy["inputs"]["policy"])["Statement"]:
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            assert all(resource != "*" and resource.startswith("arn:aws:") for resource in resources)


# --- HttpApi: the CORS layer, one catch-all route, the alias, throttling -------------------


@pytest.mark.parametrize(
    ("rate", "burst", "expected"),
    [("-1", "-1", (10000, 5000)), ("-1", "100", (10000, 100)), ("50", "-1", (50, 5000))],
)
def test_stage_throttling_always_sends_both_limits(monitor, rate, burst, expected):
    """-1 is "no stage limit": the service maximum, never a missing value (sent as 0)."""
    settings = parse_settings({"throttleRateLimit": rate, "throttleBurstLimit": burst})

    @pulumi.runtime.test
    def build():
        function = ServingFunction("fn", image_uri=IMAGE_URI, package=chipotle_model, settings=settings)
        return HttpApi("http", alias=function.alias, package=chipotle_model, settings=settings).url

    build()
    stage = one(monitor, "aws:apigatewayv2/stage:Stage")["inputs"]
    assert stage["defaultRouteSettings"] == {
        "throttlingRateLimit": expected[0],
        "throttlingBurstLimit": expected[1],
    }


def test_http_api_is_the_cors_layer_and_invokes_the_alias(monitor):
    settings = parse_settings({"corsAllowOrigins": "https://a.example,https://b.example"})

    @pulumi.runtime.test
    def build():
        function = ServingFunction("fn", image_uri=IMAGE_URI, package=chipotle_model, settings=settings)
        return HttpApi("http", alias=function.alias, package=chipotle_model, settings=settings).url

    build()
    policy = cors_policy(chipotle_model.ROUTES, ("https://a.example", "https://b.example"))
    cors = one(monitor, "aws:apigatewayv2/api:Api")["inputs"]["corsConfiguration"]
    assert cors["allowOrigins"] == ["https://a.example", "https://b.example"]
    assert cors["allowMethods"] == list(policy.allow_methods) == ["GET", "POST"]
    assert cors["allowHeaders"] == list(policy.allow_headers)
    assert cors["exposeHeaders"] == ["x-model-version"], "browsers may read which model answered"
    assert cors["maxAge"] == policy.max_age
    assert one(monitor, "aws:apigatewayv2/route:Route")["inputs"]["routeKey"] == "$default"
    alias = one(monitor, "aws:lambda/alias:Alias")
    integration = one(monitor, "aws:apigatewayv2/integration:Integration")["inputs"]
    assert integration["integrationUri"] == alias["outputs"]["invokeArn"]
    assert integration["payloadFormatVersion"] == "2.0"
    permission = one(monitor, "aws:lambda/permission:Permission")["inputs"]
    assert (permission["qualifier"], permission["principal"]) == ("live", "apigateway.amazonaws.com")
    (component,) = [r for r in monitor.records() if r["type"] == "chipotle:infra:HttpApi"]
    assert component["registered_outputs"]["url"].startswith("https://")


# --- ImageRetention: restorable history -----------------------------------------------------------


def retain(settings_config: dict[str, str], current_tag: str = "m-new-1") -> None:
    settings = parse_settings({"keepImages": "5", **settings_config})

    @pulumi.runtime.test
    def build():
        repository = ImageRepository("repo")
        function = ServingFunction("fn", image_uri=IMAGE_URI, package=chipotle_model, settings=settings)
        retention = ImageRetention(
            "retention", repository=repository, function=function, current_tag=current_tag, settings=settings
        )
        return retention.protected_tags

    build()


def test_the_lifecycle_keeps_the_newest_images_and_the_routed_ones():
    monitor = start(versions={"3": "sha256:old"}, images={"sha256:old": "m-old-1", "sha256:new": "m-new-1"})
    retain({"pinVersion": "3"})
    policy = json.loads(one(monitor, "aws:ecr/lifecyclePolicy:LifecyclePolicy")["inputs"]["policy"])
    assert policy == lifecycle_policy(5, ["m-new-1", "m-old-1"])
    protected = [rule["selection"]["tagPrefixList"] for rule in policy["rules"][:-1]]
    assert protected == [["m-new-1"], ["m-old-1"]], "one rule per tag: several in one rule would AND them"
    assert policy["rules"][-1]["selection"]["countNumber"] == 5
    assert [r["rulePriority"] for r in policy["rules"]] == [1, 2, 3]


# The refusals (a version or its image gone) are tested on whole program runs, each in a
# fresh interpreter: a failed lookup must not leak into other tests (test_infra_program.py).


def test_the_serving_repository_is_emptied_by_destroy_and_the_archive_retained(monitor):
    @pulumi.runtime.test
    def build():
        return pulumi.Output.all(ImageRepository("serving").url, ImageRepository("archive", retain=True).url)

    build()
    repos = {r["name"]: r for r in all_of(monitor, "aws:ecr/repository:Repository")}
    assert repos["serving"]["inputs"]["forceDelete"] is True and repos["serving"]["retain_on_delete"] is False
    assert repos["archive"]["inputs"]["forceDelete"] is False and repos["archive"]["retain_on_delete"] is True
    assert all(r["inputs"]["imageScanningConfiguration"] == {"scanOnPush": True} for r in repos.values())
    # one tag, one digest: a tag names its whole build (tests/infra/test_build_tags.py)
    assert {r["inputs"]["imageTagMutability"] for r in repos.values()} == {"IMMUTABLE"}


# --- cold start: SnapStart on published versions, or provisioned concurrency on live ------------


@pytest.mark.parametrize("mode", ["on-demand", "snapstart", "provisioned"])
def test_each_cold_start_mode_and_nothing_more(monitor, mode):
    config = {"coldStart": mode}
    if mode == "provisioned":
        config["provisionedConcurrency"] = "2"
    deploy_function(**config)
    function = one(monitor, "aws:lambda/function:Function")["inputs"]
    provisioned = all_of(monitor, "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    if mode == "snapstart":
        assert function["snapStart"] == {"applyOn": "PublishedVersions"}
    else:
        assert "snapStart" not in function
    if mode == "provisioned":
        (config_resource,) = provisioned
        assert config_resource["inputs"]["qualifier"] == "live"
        assert config_resource["inputs"]["provisionedConcurrentExecutions"] == 2
        assert (
            config_resource["inputs"]["functionName"]
            == one(monitor, "aws:lambda/function:Function")["outputs"]["name"]
        )
    else:
        assert provisioned == []


# --- operations: alarms, notification, dashboard, tracing --------------------------------------------


def operate(**config: str) -> None:
    settings = parse_settings(config)

    @pulumi.runtime.test
    def build():
        function = ServingFunction("fn", image_uri=IMAGE_URI, package=chipotle_model, settings=settings)
        api = HttpApi("http", alias=function.alias, package=chipotle_model, settings=settings)
        return Monitoring(
            "ops", function=function, api=api, package=chipotle_model, settings=settings
        ).dashboard_url

    build()


def test_the_alarms_watch_this_function_and_api(monitor):
    operate(alarmLatencyP99Ms="1500", alarm4xxRatePercent="10")
    function = one(monitor, "aws:lambda/function:Function")["outputs"]["name"]
    api_id = one(monitor, "aws:apigatewayv2/api:Api")["id"]
    alarms = {
        r["name"].removeprefix("ops-"): r["inputs"]
        for r in all_of(monitor, "aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    assert set(alarms) == {"function-crashes", "throttles", "api-5xx", "latency-p99", "client-error-rate"}
    for name in ("function-crashes", "throttles"):
        assert alarms[name]["namespace"] == "AWS/Lambda"
        assert alarms[name]["dimensions"] == {"FunctionName": function, "Resource": f"{function}:live"}
        assert (alarms[name]["statistic"], alarms[name]["threshold"]) == ("Sum", 0)
    assert alarms["function-crashes"]["metricName"] == "Errors"
    assert alarms["throttles"]["metricName"] == "Throttles"
    assert alarms["api-5xx"]["metricName"] == "5xx"
    assert alarms["api-5xx"]["dimensions"] == {"ApiId": api_id, "Stage": "$default"}
    latency = alarms["latency-p99"]
    assert (latency["extendedStatistic"], latency["threshold"], latency["period"]) == ("p99", 1500, 300)
    assert (latency["evaluationPeriods"], latency["datapointsToAlarm"]) == (3, 2)
    rate = alarms["client-error-rate"]
    assert rate["threshold"] == 10
    expression = next(q for q in rate["metricQueries"] if q.get("returnData"))
    assert expression["expression"] == "IF(requests >= 20, 100 * errors / requests, 0)"
    assert {q["metric"]["metricName"] for q in rate["metricQueries"] if "metric" in q} == {"4xx", "Count"}
    assert all(not alarm.get("alarmActions") for alarm in alarms.values()), "no email: no notification"
    assert not all_of(monitor, "aws:sns/topic:Topic")


def test_an_alarm_counts_the_500s_the_handler_answers_and_each_says_what_it_counts(monitor):
    """Lambda's Errors counts unhandled errors only; a 500 the handler returns is an answer,
    which the API's 5xx on the stage counts. Each description names the metric it counts."""
    operate()
    alarms = {
        r["name"].removeprefix("ops-"): r["inputs"]
        for r in all_of(monitor, "aws:cloudwatch/metricAlarm:MetricAlarm")
    }
    handled = [
        name
        for name, alarm in alarms.items()
        if (alarm.get("namespace"), alarm.get("metricName")) == ("AWS/ApiGateway", "5xx")
        and alarm["dimensions"]["Stage"] == "$default"
        and (alarm["statistic"], alarm["threshold"]) == ("Sum", 0)
    ]
    assert handled == ["api-5xx"]
    assert "the 500s the handler returns" in alarms["api-5xx"]["alarmDescription"]
    crashes = alarms["function-crashes"]["alarmDescription"]
    assert "AWS/Lambda Errors" in crashes and "5xx or a crash" not in crashes
    assert "A 500 the handler answers is not one" in crashes
    for name, alarm in alarms.items():
        if "metricName" in alarm:
            assert f"{alarm['namespace']} {alarm['metricName']}" in alarm["alarmDescription"], name
        else:
            metrics = [q["metric"]["metricName"] for q in alarm["metricQueries"] if "metric" in q]
            assert all(metric in alarm["alarmDescription"] for metric in metrics), name


def test_an_alarm_email_gets_a_topic_and_a_subscription(monitor):
    operate(alarmEmail="ops@example.com")
    topic = one(monitor, "aws:sns/topic:Topic")
    subscription = one(monitor, "aws:sns/topicSubscription:TopicSubscription")["inputs"]
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "ops@example.com")
    for alarm in all_of(monitor, "aws:cloudwatch/metricAlarm:MetricAlarm"):
        assert alarm["inputs"]["alarmActions"] == alarm["inputs"]["okActions"] == [topic["outputs"]["arn"]]


def test_alarms_can_be_switched_off_and_the_dashboard_stays(monitor):
    operate(alarms="false")
    assert not all_of(monitor, "aws:cloudwatch/metricAlarm:MetricAlarm")
    assert one(monitor, "aws:cloudwatch/dashboard:Dashboard")


def test_the_dashboard_shows_this_stacks_function_and_api(monitor):
    operate()
    function = one(monitor, "aws:lambda/function:Function")["outputs"]["name"]
    api_id = one(monitor, "aws:apigatewayv2/api:Api")["id"]
    log_group = one(monitor, "aws:cloudwatch/logGroup:LogGroup")["outputs"]["name"]
    dashboard = one(monitor, "aws:cloudwatch/dashboard:Dashboard")["inputs"]
    body = json.loads(dashboard["dashboardBody"])
    titles = [widget["properties"]["title"] for widget in body["widgets"]]
    assert titles == [
        "Requests", "Errors", "Latency (ms)", "Cold starts and throttles",
        "Share of traffic and errors by model version",
    ]  # fmt: skip
    text = dashboard["dashboardBody"]
    assert function in text and api_id in text and log_group in text
    assert dashboard["dashboardName"] == function
    (component,) = [r for r in monitor.records() if r["type"] == "chipotle:infra:Monitoring"]
    assert component["registered_outputs"]["dashboard_url"].endswith(f"#dashboards:name={function}")


def test_metrics_can_be_switched_off(monitor):
    deploy_function(metrics="false")
    variables = one(monitor, "aws:lambda/function:Function")["inputs"]["environment"]["variables"]
    assert variables["POWERTOOLS_METRICS_DISABLED"] == "true"


@pytest.mark.parametrize("tracing", [False, True])
def test_tracing_on_demand(monitor, tracing):
    deploy_function(tracing=str(tracing).lower())
    function = one(monitor, "aws:lambda/function:Function")["inputs"]
    attachments = all_of(monitor, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    if tracing:
        assert function["tracingConfig"] == {"mode": "Active"}
        (attachment,) = attachments
        assert attachment["inputs"]["policyArn"].endswith(":policy/AWSXRayDaemonWriteAccess")
    else:
        # stated, not left out: an absent block is no change to the provider (Optional +
        # Computed), so tracing on -> off would keep the function Active
        assert function["tracingConfig"] == {"mode": "PassThrough"}
        assert attachments == []


@pytest.mark.parametrize("mode", ["on-demand", "snapstart", "provisioned"])
def test_publishes_may_take_as_long_as_a_snapstart_init(monitor, mode):
    """The provider waits for a published version inside the function's create/update
    timeout (10 minutes by default); a SnapStart INIT alone may take up to 15."""
    deploy_function(coldStart=mode)
    waits = [one(monitor, "aws:lambda/function:Function")]
    waits += all_of(monitor, "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig")
    assert len(waits) == (2 if mode == "provisioned" else 1)
    for resource in waits:
        assert resource["custom_timeouts"] == {"create": "30m", "update": "30m"}, resource["type"]
