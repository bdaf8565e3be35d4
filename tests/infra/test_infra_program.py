"""The real `__main__.py` under Pulumi's mocks with the dev stack's config: every resource
and property the deployment depends on, the exports, and what changes when data changes."""

from __future__ import annotations

import json
import re

import pytest

from chipotle_model import load_stores
from chipotle_model.api import SERVICE_NAME, cors_policy
from infra import build_spec
from infra.config import DEFAULTS
from tests.infra.program import REPO_ROOT, ProgramRun, run_program

ECR_REPO = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
IMAGE = "docker:index/image:Image"
TAG = "docker:index/tag:Tag"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
API = "aws:apigatewayv2/api:Api"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
ROUTE = "aws:apigatewayv2/route:Route"
STAGE = "aws:apigatewayv2/stage:Stage"
TOKEN_CALL = "aws:ecr/getAuthorizationToken:getAuthorizationToken"
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
DIGEST_REF = re.compile(
    r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9/_.-]+@sha256:[0-9a-f]{64}$"
)


def build_of(spec: build_spec.ImageBuild) -> dict:
    """The pulumi-docker `build` inputs an ImageBuild must become."""
    return {
        "context": spec.context,
        "dockerfile": spec.dockerfile,
        "platform": spec.platform,
        "args": spec.args,
        "builderVersion": "BuilderBuildKit",
    }


# --- the resource graph --------------------------------------------------------------


def test_resource_inventory(dev_run: ProgramRun):
    counts: dict[str, int] = {}
    for resource in dev_run.resources:
        counts[resource["type"]] = counts.get(resource["type"], 0) + 1
    assert counts == {
        "chipotle:infra:ImageRepository": 1,
        "chipotle:infra:ModelImages": 1,
        "chipotle:infra:ServingFunction": 1,
        "chipotle:infra:HttpApi": 1,
        ECR_REPO: 1,
        LIFECYCLE: 1,
        IMAGE: 2,
        TAG: 1,
        ROLE: 1,
        ATTACHMENT: 1,
        LOG_GROUP: 1,
        FUNCTION: 1,
        API: 1,
        INTEGRATION: 1,
        ROUTE: 1,
        STAGE: 1,
        PERMISSION: 1,
    }


def test_every_resource_belongs_to_a_component(dev_run: ProgramRun):
    components = {r["urn"] for r in dev_run.resources if not r["custom"]}
    assert all(r["type"].startswith("chipotle:infra:") for r in dev_run.resources if not r["custom"])
    for resource in dev_run.resources:
        if resource["custom"]:
            assert resource["parent"] in components, f"{resource['name']} is not a component's child"
        else:
            assert resource["parent"].endswith("::pulumi:pulumi:Stack::chipotle-dev")


def test_every_component_registers_its_outputs(dev_run: ProgramRun):
    registered = {r["name"]: r["registered_outputs"] for r in dev_run.resources if not r["custom"]}
    assert registered == {
        "serving": {"repository_url": dev_run.exports["repository_url"]},
        "model": {
            "image_uri": dev_run.exports["image_uri"],
            "training_image": dev_run.exports["training_image"],
        },
        "function": {
            "function_name": "chipotle-dev",
            "arn": dev_run.one(FUNCTION)["outputs"]["arn"],
        },
        "http": {"url": dev_run.exports["url"]},
    }


def test_ecr_repository_is_destroyable_scanned_and_pruned(dev_run: ProgramRun):
    repo = dev_run.one(ECR_REPO)["inputs"]
    assert repo["name"] == "chipotle-dev/serving"
    assert repo["forceDelete"] is True, "pulumi destroy must delete a repository that holds images"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    policy = dev_run.one(LIFECYCLE)["inputs"]
    assert policy["repository"] == "chipotle-dev/serving"
    (rule,) = json.loads(policy["policy"])["rules"]
    assert rule["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10}
    assert rule["action"] == {"type": "expire"}


def test_registry_credentials_come_from_the_ecr_token(dev_run: ProgramRun):
    (call,) = [c for c in dev_run.invokes if c["token"] == TOKEN_CALL]
    assert call["args"]["registryId"] == dev_run.one(ECR_REPO)["outputs"]["registryId"]
    serving = dev_run.serving_image
    assert serving["inputs"]["registry"] == {
        "server": dev_run.exports["repository_url"],
        "username": "AWS",
        "password": "mock-ecr-password",
    }
    assert "registry" in serving["secret_inputs"], "the ECR password must stay a secret"


def test_training_image_is_built_locally_from_the_build_spec(dev_run: ProgramRun):
    training = dev_run.training_image["inputs"]
    assert training["skipPush"] is True
    assert "registry" not in training
    assert training["imageName"] == "chipotle-dev-training:latest"
    spec = build_spec.training_build(data_path=DEFAULTS["dataPath"], base_image=DEFAULTS["baseImage"])
    assert training["build"] == build_of(spec)


def test_training_image_is_tagged_with_its_identity(dev_run: ProgramRun):
    digest = dev_run.training_image["outputs"]["repoDigest"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), "an unpushed image's repo_digest is its ID"
    tag = dev_run.one(TAG)["inputs"]
    assert tag["sourceImage"] == "chipotle-dev-training:latest"
    assert tag["targetImage"] == f"chipotle-dev-training:{digest.removeprefix('sha256:')}"
    assert tag["tagTriggers"] == [digest]


def test_serving_image_is_built_from_the_training_image_and_the_data_hash(dev_run: ProgramRun, repo_data_csv):
    serving = dev_run.serving_image["inputs"]
    tag = dev_run.one(TAG)["inputs"]["targetImage"]
    spec = build_spec.serving_build(
        training_image=tag, data_sha256=load_stores(repo_data_csv).sha256, base_image=DEFAULTS["baseImage"]
    )
    assert serving["build"] == build_of(spec)
    assert serving["skipPush"] is False
    assert serving["imageName"] == f"{dev_run.exports['repository_url']}:latest"
    # built after the tag exists, so `FROM ${TRAINING_IMAGE}` resolves
    assert dev_run.one(TAG)["urn"] in serving_deps(dev_run)


def serving_deps(run: ProgramRun) -> list[str]:
    return run.serving_image["property_dependencies"]["build"]


def test_both_images_are_single_platform(dev_run: ProgramRun):
    for image in dev_run.all(IMAGE):
        assert image["inputs"]["build"]["platform"] == "linux/amd64"


def test_iam_role_has_only_the_basic_execution_policy(dev_run: ProgramRun):
    role = dev_run.one(ROLE)
    policy = json.loads(role["inputs"]["assumeRolePolicy"])
    (statement,) = policy["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    assert not {"inlinePolicies", "managedPolicyArns"} & set(role["inputs"])
    attachment = dev_run.one(ATTACHMENT)["inputs"]
    assert attachment == {"role": role["outputs"]["name"], "policyArn": BASIC_EXECUTION}
    assert not [
        r
        for r in dev_run.resources
        if r["type"].startswith("aws:iam/") and r["type"] not in (ROLE, ATTACHMENT)
    ]


def test_log_group_is_the_functions_and_exists_before_it(dev_run: ProgramRun):
    group = dev_run.one(LOG_GROUP)
    function = dev_run.one(FUNCTION)
    assert group["inputs"] == {"name": "/aws/lambda/chipotle-dev", "retentionInDays": 14}
    assert function["inputs"]["name"] == "chipotle-dev"
    assert group["inputs"]["name"] == f"/aws/lambda/{function['inputs']['name']}"
    assert function["inputs"]["loggingConfig"] == {"logFormat": "Text", "logGroup": group["inputs"]["name"]}
    assert group["urn"] in function["dependencies"]
    assert dev_run.one(ATTACHMENT)["urn"] in function["dependencies"], "logging allowed before the first run"


def test_lambda_function(dev_run: ProgramRun):
    function = dev_run.one(FUNCTION)
    inputs = function["inputs"]
    assert inputs["packageType"] == "Image"
    assert inputs["imageUri"] == dev_run.serving_image["outputs"]["repoDigest"]
    assert DIGEST_REF.match(inputs["imageUri"]), "by digest, so every new image redeploys"
    assert inputs["role"] == dev_run.one(ROLE)["outputs"]["arn"]
    assert inputs["memorySize"] == DEFAULTS["memorySize"]
    assert inputs["timeout"] == 15
    assert inputs["architectures"] == ["x86_64"]
    assert inputs["environment"] == {
        "variables": {
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "LOG_LEVEL": "INFO",
        }
    }
    assert "reservedConcurrentExecutions" not in inputs
    assert function["delete_before_replace"] is True, "its fixed name must be free before a replacement"


def test_http_api_with_cors(dev_run: ProgramRun):
    api = dev_run.one(API)["inputs"]
    assert api["protocolType"] == "HTTP"
    # the one CORS layer in force in AWS: the policy the local server also applies
    policy = cors_policy(("*",))
    assert api["corsConfiguration"] == {
        "allowOrigins": ["*"],
        "allowMethods": list(policy.allow_methods),
        "allowHeaders": list(policy.allow_headers),
        "maxAge": policy.max_age,
    }
    assert "CORS_ALLOW_ORIGINS" not in dev_run.one(FUNCTION)["inputs"]["environment"]["variables"]


def test_lambda_proxy_integration_payload_2(dev_run: ProgramRun):
    integration = dev_run.one(INTEGRATION)["inputs"]
    assert integration["apiId"] == dev_run.one(API)["id"]
    assert integration["integrationType"] == "AWS_PROXY"
    assert integration["payloadFormatVersion"] == "2.0"
    assert integration["integrationMethod"] == "POST"
    assert integration["integrationUri"] == dev_run.one(FUNCTION)["outputs"]["invokeArn"]


def test_one_catch_all_route_so_the_handler_route_table_is_the_only_one(dev_run: ProgramRun):
    (route,) = dev_run.all(ROUTE)
    assert route["inputs"] == {
        "apiId": dev_run.one(API)["id"],
        "routeKey": "$default",
        "target": f"integrations/{dev_run.one(INTEGRATION)['id']}",
    }


def test_default_stage_auto_deploys_with_throttling(dev_run: ProgramRun):
    stage = dev_run.one(STAGE)
    assert stage["inputs"]["name"] == "$default"
    assert stage["inputs"]["autoDeploy"] is True
    assert stage["inputs"]["apiId"] == dev_run.one(API)["id"]
    assert stage["inputs"]["defaultRouteSettings"] == {"throttlingRateLimit": 50, "throttlingBurstLimit": 100}
    assert {r["urn"] for r in dev_run.all(ROUTE)} <= set(stage["dependencies"])


def test_api_gateway_may_invoke_the_function(dev_run: ProgramRun):
    permission = dev_run.one(PERMISSION)["inputs"]
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["function"] == dev_run.one(FUNCTION)["outputs"]["name"]
    assert permission["sourceArn"] == dev_run.one(API)["outputs"]["executionArn"] + "/*/*"


def test_exports(dev_run: ProgramRun, repo_data_csv, real_store_count):
    exports = dev_run.exports
    assert set(exports) == {"url", "function_name", "repository_url", "image_uri", "training_image", "model"}
    assert exports["url"] == dev_run.one(STAGE)["outputs"]["invokeUrl"]
    assert exports["url"].startswith("https://")
    assert exports["function_name"] == "chipotle-dev"
    assert exports["repository_url"] == dev_run.one(ECR_REPO)["outputs"]["repositoryUrl"]
    assert exports["image_uri"] == dev_run.one(FUNCTION)["inputs"]["imageUri"]
    assert exports["training_image"] == dev_run.serving_image["inputs"]["build"]["args"]["TRAINING_IMAGE"]
    loaded = load_stores(repo_data_csv)
    assert exports["model"] == {
        "data_path": "data/chipotle_stores.csv",
        "data_sha256": loaded.sha256,
        "stores": real_store_count,
        "rows_read": loaded.rows_read,
        "duplicates_dropped": loaded.duplicates_dropped,
    }


# --- what makes the serving image (and so the Lambda) change -------------------------


def test_new_data_changes_the_serving_build_and_the_deployed_image(dev_run: ProgramRun, data_files):
    lines = (REPO_ROOT / "data" / "chipotle_stores.csv").read_bytes().splitlines(keepends=True)
    retrained = run_program({"dataPath": data_files.write(b"".join(lines[:-1]))}).ok()

    before = dev_run.serving_image["inputs"]["build"]["args"]
    after = retrained.serving_image["inputs"]["build"]["args"]
    assert after["DATA_SHA256"] == retrained.exports["model"]["data_sha256"] != before["DATA_SHA256"]
    assert after["TRAINING_IMAGE"] != before["TRAINING_IMAGE"], "a retrained model is a new training image"
    assert after["BASE_IMAGE"] == before["BASE_IMAGE"]
    assert retrained.exports["image_uri"] != dev_run.exports["image_uri"]
    assert retrained.one(FUNCTION)["inputs"]["imageUri"] == retrained.exports["image_uri"]
    assert retrained.exports["model"]["stores"] == dev_run.exports["model"]["stores"] - 1


def test_same_inputs_same_build(dev_run: ProgramRun):
    again = run_program().ok()
    assert again.serving_image["inputs"]["build"] == dev_run.serving_image["inputs"]["build"]
    assert again.exports == dev_run.exports


# --- other settings reach the resources ----------------------------------------------


@pytest.fixture(scope="module")
def tuned_run(repo_data_csv) -> ProgramRun:
    return run_program(
        {
            "architecture": "arm64",
            "memorySize": 512,
            "timeout": 30,
            "reservedConcurrency": 5,
            "logRetentionDays": 30,
            "logLevel": "debug",
            "throttleRateLimit": -1,
            "throttleBurstLimit": -1,
            "corsAllowOrigins": "https://a.example,https://b.example",
            "keepImages": 3,
            "baseImage": "lambda-base:local",
        }
    ).ok()


def test_architecture_drives_both_image_platforms_and_lambda(tuned_run: ProgramRun):
    assert {i["inputs"]["build"]["platform"] for i in tuned_run.all(IMAGE)} == {"linux/arm64"}
    assert tuned_run.one(FUNCTION)["inputs"]["architectures"] == ["arm64"]


def test_settings_reach_the_resources(tuned_run: ProgramRun):
    function = tuned_run.one(FUNCTION)["inputs"]
    assert function["memorySize"] == 512
    assert function["timeout"] == 30
    assert function["reservedConcurrentExecutions"] == 5
    assert function["environment"]["variables"]["LOG_LEVEL"] == "DEBUG"
    cors = tuned_run.one(API)["inputs"]["corsConfiguration"]
    assert cors["allowOrigins"] == ["https://a.example", "https://b.example"]
    assert tuned_run.one(LOG_GROUP)["inputs"]["retentionInDays"] == 30
    assert "defaultRouteSettings" not in tuned_run.one(STAGE)["inputs"], "-1: account-level throttling only"
    (rule,) = json.loads(tuned_run.one(LIFECYCLE)["inputs"]["policy"])["rules"]
    assert rule["selection"]["countNumber"] == 3
    for image in tuned_run.all(IMAGE):
        assert image["inputs"]["build"]["args"]["BASE_IMAGE"] == "lambda-base:local"


@pytest.fixture(scope="module")
def archived_run(repo_data_csv) -> ProgramRun:
    return run_program({"archiveTrainingImage": True}).ok()


def test_archived_training_image_is_pushed_to_its_own_repository(archived_run: ProgramRun):
    repos = {r["inputs"]["name"]: r for r in archived_run.all(ECR_REPO)}
    assert set(repos) == {"chipotle-dev/serving", "chipotle-dev/training"}
    archive = repos["chipotle-dev/training"]
    assert archive["inputs"]["forceDelete"] is True
    assert archive["inputs"]["imageScanningConfiguration"] == {"scanOnPush": True}
    (policy,) = archived_run.all(LIFECYCLE)
    assert policy["inputs"]["repository"] == "chipotle-dev/serving", "the archive keeps its whole history"

    training = archived_run.training_image
    url = archive["outputs"]["repositoryUrl"]
    sha = archived_run.exports["model"]["data_sha256"]
    assert training["inputs"]["skipPush"] is False
    assert training["inputs"]["imageName"] == f"{url}:data-{sha[:16]}"
    assert training["inputs"]["registry"]["server"] == url
    assert "registry" in training["secret_inputs"]
    assert archived_run.exports["training_image"] == training["outputs"]["repoDigest"]
    assert DIGEST_REF.match(archived_run.exports["training_image"])
    # the serving build still takes the model from the local, identity-named image
    digest = training["outputs"]["repoDigest"].rsplit("sha256:", 1)[1]
    args = archived_run.serving_image["inputs"]["build"]["args"]
    assert args["TRAINING_IMAGE"] == f"chipotle-dev-training:{digest}"


# --- failing early: bad config or data stops the program before any resource ----------


def test_bad_config_fails_before_any_resource(repo_data_csv):
    run = run_program({"memorySize": 64})
    assert run.error is not None and run.error["type"] == "RunError"
    assert "chipotle:memorySize" in run.error["message"]
    assert "128 to 10240" in run.error["message"]
    assert run.resources == []


def test_bad_data_fails_naming_line_and_column(data_files):
    path = data_files.write(
        "state,location,address,latitude,longitude\n"
        "Maryland,Rockville,1 Main St,39.1,-77.1\n"
        "Maryland,Bethesda,2 Main St,north,-77.0\n"
    )
    run = run_program({"dataPath": path})
    assert run.error is not None and run.error["type"] == "RunError"
    assert "line 3" in run.error["message"]
    assert "column 'latitude'" in run.error["message"]
    assert run.resources == []


def test_missing_data_offline_names_the_data_set_and_the_config_key(data_files):
    run = run_program({"dataPath": data_files.missing()}, block_kagglehub=True)
    assert run.error is not None and run.error["type"] == "RunError"
    assert "jeffreybraun/chipotle-locations" in run.error["message"]
    assert "chipotle:dataPath" in run.error["message"]
    assert run.resources == []
