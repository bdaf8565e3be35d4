"""The real `__main__.py` under Pulumi's mocks with the dev stack's config: the resource
graph the deployment depends on, the exports, what changes when data changes, and the
program refusing bad config or data before any resource (each run a fresh interpreter).
Component details are tested in process: tests/infra/test_components.py."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess

import pytest

from chipotle_model.data import load_stores
from infra import build_spec
from infra.config import DEFAULTS
from tests.infra.program import REPO_ROOT, ProgramRun, run_program

ECR_REPO = "aws:ecr/repository:Repository"
LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
IMAGE = "docker:index/image:Image"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
FUNCTION = "aws:lambda/function:Function"
ALIAS = "aws:lambda/alias:Alias"
PERMISSION = "aws:lambda/permission:Permission"
API = "aws:apigatewayv2/api:Api"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
ROUTE = "aws:apigatewayv2/route:Route"
STAGE = "aws:apigatewayv2/stage:Stage"
PROVIDER = "pulumi:providers:aws"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
TOKEN_CALL = "aws:ecr/getAuthorizationToken:getAuthorizationToken"
DIGEST_REF = re.compile(
    r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[a-z0-9/_.-]+@sha256:[0-9a-f]{64}$"
)
# AWS resource types that take no tags (everything else the stack creates is tagged).
UNTAGGABLE = {LIFECYCLE, ROLE_POLICY, ALIAS, PERMISSION, INTEGRATION, ROUTE, DASHBOARD}


def build_of(spec: build_spec.ImageBuild) -> dict:
    """The pulumi-docker `build` inputs an ImageBuild must become."""
    return {
        "context": spec.context,
        "dockerfile": spec.dockerfile,
        "target": spec.target,
        "platform": spec.platform,
        "args": spec.args,
        "builderVersion": "BuilderBuildKit",
    }


def dev_build() -> build_spec.ModelBuild:
    return build_spec.model_build(data_path=DEFAULTS["dataPath"], base_image=DEFAULTS["baseImage"])


# --- the resource graph --------------------------------------------------------------


def test_resource_inventory(dev_run: ProgramRun):
    counts: dict[str, int] = {}
    for resource in dev_run.resources:
        counts[resource["type"]] = counts.get(resource["type"], 0) + 1
    assert counts == {
        PROVIDER: 1,
        "chipotle:infra:ImageRepository": 1,
        "chipotle:infra:ModelImages": 1,
        "chipotle:infra:ServingFunction": 1,
        "chipotle:infra:ImageRetention": 1,
        "chipotle:infra:HttpApi": 1,
        "chipotle:infra:Monitoring": 1,
        ALARM: 5,
        DASHBOARD: 1,
        ECR_REPO: 1,
        LIFECYCLE: 1,
        IMAGE: 1,
        ROLE: 1,
        ROLE_POLICY: 1,
        LOG_GROUP: 1,
        FUNCTION: 1,
        ALIAS: 1,
        API: 1,
        INTEGRATION: 1,
        ROUTE: 1,
        STAGE: 1,
        PERMISSION: 1,
    }


def test_every_resource_belongs_to_a_component(dev_run: ProgramRun):
    components = {r["urn"] for r in dev_run.resources if not r["custom"]}
    for resource in dev_run.resources:
        if resource["type"] == PROVIDER:
            continue
        if resource["custom"]:
            assert resource["parent"] in components, f"{resource['name']} is not a component's child"
        else:
            assert resource["type"].startswith("chipotle:infra:")
            assert resource["parent"].endswith("::pulumi:pulumi:Stack::chipotle-dev")


def test_every_component_registers_its_outputs(dev_run: ProgramRun):
    registered = {
        r["type"].rsplit(":", 1)[1]: r["registered_outputs"] for r in dev_run.resources if not r["custom"]
    }
    exports = dev_run.exports
    assert registered["ImageRepository"] == {"repository_url": exports["repository_url"]}
    assert registered["ModelImages"] == {"image_uri": exports["image_uri"]}  # no archive: no training image
    assert registered["ServingFunction"]["live_version"] == exports["live_version"]
    assert registered["ImageRetention"]["protected_tags"] == [dev_build().serving_tag]
    assert registered["HttpApi"] == {"url": exports["url"]}


def test_every_aws_resource_is_tagged_through_the_stacks_provider(dev_run: ProgramRun):
    provider = dev_run.one(PROVIDER)
    # a provider's object inputs arrive JSON-encoded
    assert json.loads(provider["inputs"]["defaultTags"]) == {
        "tags": {"project": "chipotle", "stack": "dev", "managed-by": "pulumi"}
    }
    assert provider["inputs"]["region"] == "us-east-1"
    aws = [r for r in dev_run.resources if r["custom"] and r["type"].startswith("aws:")]
    assert aws and all(r["provider"].startswith(provider["urn"]) for r in aws), "every AWS resource, tagged"
    taggable = {r["type"] for r in aws} - UNTAGGABLE
    assert taggable == {ECR_REPO, ROLE, LOG_GROUP, FUNCTION, API, STAGE, ALARM}
    assert all(c["provider"].startswith(provider["urn"]) for c in dev_run.invokes), (
        "invokes in the same region"
    )


def test_physical_names_are_auto_names_so_stacks_never_collide(dev_run: ProgramRun):
    for type_ in (ECR_REPO, FUNCTION, ROLE, API):
        assert "name" not in dev_run.one(type_)["inputs"], f"{type_}: a fixed name collides across stacks"
    assert dev_run.one(LOG_GROUP)["inputs"]["namePrefix"].startswith("/aws/lambda/chipotle-dev-")
    assert dev_run.exports["function_name"].startswith("chipotle-dev-")


def test_no_resource_input_holds_an_absolute_path(dev_run: ProgramRun):
    """The same stack run from another clone path sends the very same inputs."""
    text = json.dumps([r["inputs"] for r in dev_run.resources])
    assert str(REPO_ROOT) not in text
    for image in dev_run.all(IMAGE):
        for key in ("context", "dockerfile"):
            assert not image["inputs"]["build"][key].startswith("/"), key


def test_registry_credentials_come_from_the_ecr_token(dev_run: ProgramRun):
    (call,) = [c for c in dev_run.invokes if c["token"] == TOKEN_CALL]
    assert call["args"]["registryId"] == dev_run.one(ECR_REPO)["outputs"]["registryId"]
    assert dev_run.serving_image["inputs"]["registry"] == {
        "server": dev_run.exports["repository_url"],
        "username": "AWS",
        "password": "mock-ecr-password",
    }
    assert "registry" in dev_run.serving_image["secret_inputs"], "the ECR password must stay a secret"


def test_the_serving_image_is_the_build_specs_multi_stage_build(dev_run: ProgramRun, repo_data_csv):
    """No local training image and no tag to hand over: the serving build carries its
    training stage (so it survives a pruned engine or another machine)."""
    serving = dev_run.serving_image["inputs"]
    spec = dev_build()
    assert serving["build"] == build_of(spec.serving)
    assert serving["build"]["target"] == "serving"
    assert serving["skipPush"] is False
    assert serving["imageName"] == f"{dev_run.exports['repository_url']}:{spec.serving_tag}"
    assert dev_run.exports["model_version"] == spec.model_version
    assert dev_run.exports["training_image"] is None


def test_the_function_runs_the_image_by_digest_and_the_api_calls_the_alias(dev_run: ProgramRun):
    function = dev_run.one(FUNCTION)
    assert function["inputs"]["imageUri"] == dev_run.serving_image["outputs"]["repoDigest"]
    assert DIGEST_REF.match(function["inputs"]["imageUri"]), "by digest, so every new image redeploys"
    assert function["inputs"]["publish"] is True
    alias = dev_run.one(ALIAS)
    assert alias["inputs"]["name"] == "live"
    assert (
        alias["inputs"]["functionVersion"]
        == function["outputs"]["version"]
        == dev_run.exports["live_version"]
    )
    assert dev_run.one(INTEGRATION)["inputs"]["integrationUri"] == alias["outputs"]["invokeArn"]
    assert dev_run.one(PERMISSION)["inputs"]["qualifier"] == "live"


def test_exports(dev_run: ProgramRun, repo_data_csv, real_store_count):
    exports = dev_run.exports
    assert set(exports) == {
        "url", "function_name", "live_version", "published_version", "model_version",
        "repository_url", "image_uri", "training_image", "log_group", "dashboard_url", "model",
    }  # fmt: skip
    assert exports["url"] == dev_run.one(STAGE)["outputs"]["invokeUrl"]
    assert exports["function_name"] == dev_run.one(FUNCTION)["outputs"]["name"]
    assert exports["log_group"] == dev_run.one(LOG_GROUP)["outputs"]["name"]
    loaded = load_stores(repo_data_csv)
    assert exports["model"] == {
        "data_path": "data/chipotle_stores.csv",
        "data_sha256": loaded.sha256,
        "stores": real_store_count,
        "rows_read": loaded.rows_read,
        "duplicates_dropped": loaded.duplicates_dropped,
    }


# --- what makes the serving image (and so the Lambda) change -------------------------


def test_new_data_is_a_new_model_version_and_a_new_image(dev_run: ProgramRun, data_files):
    lines = (REPO_ROOT / "data" / "chipotle_stores.csv").read_bytes().splitlines(keepends=True)
    retrained = run_program({"dataPath": data_files.write(b"".join(lines[:-1]))}).ok()
    assert retrained.exports["model_version"] != dev_run.exports["model_version"]
    before, after = dev_run.serving_image["inputs"], retrained.serving_image["inputs"]
    assert after["imageName"] != before["imageName"], "a new image never takes an old image's tag"
    assert after["build"]["args"]["DATA_PATH"] != before["build"]["args"]["DATA_PATH"]
    assert retrained.exports["image_uri"] != dev_run.exports["image_uri"]
    # a new image is a change of the function's image_uri: with publish, a new version
    assert retrained.one(FUNCTION)["inputs"]["imageUri"] != dev_run.one(FUNCTION)["inputs"]["imageUri"]
    assert retrained.exports["model"]["stores"] == dev_run.exports["model"]["stores"] - 1


def test_same_inputs_from_another_clone_path_give_the_same_build(dev_run: ProgramRun, tmp_path):
    clone = tmp_path / "another" / "clone"
    listing = ["git", "ls-files", "--cached", "--others", "--exclude-standard"]
    files = subprocess.run(listing, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    data = [str(p.relative_to(REPO_ROOT)) for p in (REPO_ROOT / "data").rglob("*") if p.is_file()]
    for name in [*files.stdout.split(), *data]:  # all of data/ (gitignored): the tags cover it
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        if (REPO_ROOT / name).is_file():
            shutil.copy2(REPO_ROOT / name, clone / name)
    again = run_program(project_dir=clone).ok()
    # nothing to rebuild, and no change to the function: no new version is published
    assert again.one(FUNCTION)["inputs"] == dev_run.one(FUNCTION)["inputs"]
    assert again.serving_image["inputs"]["build"] == dev_run.serving_image["inputs"]["build"]
    assert again.serving_image["inputs"]["imageName"] == dev_run.serving_image["inputs"]["imageName"]
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
            "baseImage": "lambda-base@sha256:" + "ab" * 32,
        }
    ).ok()


def test_architecture_drives_the_image_platform_and_lambda(tuned_run: ProgramRun):
    assert {i["inputs"]["build"]["platform"] for i in tuned_run.all(IMAGE)} == {"linux/arm64"}
    assert tuned_run.one(FUNCTION)["inputs"]["architectures"] == ["arm64"]


def test_settings_reach_the_resources(tuned_run: ProgramRun):
    function = tuned_run.one(FUNCTION)["inputs"]
    assert (function["memorySize"], function["timeout"], function["reservedConcurrentExecutions"]) == (
        512,
        30,
        5,
    )
    assert function["environment"]["variables"]["LOG_LEVEL"] == "DEBUG"
    cors = tuned_run.one(API)["inputs"]["corsConfiguration"]
    assert cors["allowOrigins"] == ["https://a.example", "https://b.example"]
    assert tuned_run.one(LOG_GROUP)["inputs"]["retentionInDays"] == 30
    # -1: no stage limit, sent as the service maxima (both, always)
    assert tuned_run.one(STAGE)["inputs"]["defaultRouteSettings"] == {
        "throttlingRateLimit": 10000,
        "throttlingBurstLimit": 5000,
    }
    rules = json.loads(tuned_run.one(LIFECYCLE)["inputs"]["policy"])["rules"]
    assert rules[-1]["selection"]["countNumber"] == 3
    assert (
        tuned_run.serving_image["inputs"]["build"]["args"]["BASE_IMAGE"] == "lambda-base@sha256:" + "ab" * 32
    )


@pytest.mark.parametrize(
    ("base", "label"),
    [("public.ecr.aws/lambda/python:3.13", ""), ("local/lambda-python:3.13", "Allow")],
)
def test_snapstart_labels_the_image_only_on_a_base_that_is_not_awss(repo_data_csv, base, label):
    run = run_program({"coldStart": "snapstart", "baseImage": base}).ok()
    assert run.serving_image["inputs"]["build"]["args"]["SNAPSTART"] == label
    assert run.one(FUNCTION)["inputs"]["snapStart"] == {"applyOn": "PublishedVersions"}
    on_demand = run_program({"baseImage": base}).ok().serving_image["inputs"]["imageName"]
    # the label is the only difference SnapStart makes to the image, and only on another base
    assert (run.serving_image["inputs"]["imageName"] != on_demand) == bool(label)


@pytest.fixture(scope="module")
def archived_run(repo_data_csv) -> ProgramRun:
    return run_program({"archiveTrainingImage": True}).ok()


def test_archived_training_image_is_pushed_to_a_retained_repository(archived_run: ProgramRun):
    repos = archived_run.all(ECR_REPO)
    archive = next(r for r in repos if "training" in r["name"])
    assert archive["inputs"]["forceDelete"] is False, "a destroy never empties the model history"
    assert archive["retain_on_delete"] is True, "the archive outlives the stack"
    (policy,) = archived_run.all(LIFECYCLE)
    assert policy["inputs"]["repository"] != archive["outputs"]["name"], "the archive keeps its whole history"
    training = archived_run.training_image["inputs"]
    spec = dev_build()
    assert training["build"] == build_of(spec.training)
    assert training["imageName"] == f"{archive['outputs']['repositoryUrl']}:{spec.training_tag}"
    assert spec.training_tag.startswith(spec.model_version + "-"), "found by its model version"
    assert "registry" in archived_run.training_image["secret_inputs"]
    assert archived_run.training_image["urn"] in archived_run.serving_image["dependencies"]
    assert DIGEST_REF.match(archived_run.exports["training_image"])


# --- failing early: bad config or data stops the program before any resource ----------


@pytest.mark.parametrize(
    ("overrides", "phrases"),
    [
        ({"memorySize": 64}, ["chipotle:memorySize", "128 to 10240"]),
        ({"memorysize": 512}, ["chipotle:memorysize is not a setting; did you mean chipotle:memorySize?"]),
        ({"pinVersion": 3, "stableVersion": 2, "canaryWeight": "0.1"}, ["cannot go with a canary"]),
        ({"stableVersion": 2, "canaryWeight": "1.5"}, ["between 0 and 1"]),
    ],
)
def test_bad_config_fails_before_any_resource(repo_data_csv, overrides, phrases):
    run = run_program(overrides)
    assert run.error is not None and run.error["type"] == "RunError"
    for phrase in phrases:
        assert phrase in run.error["message"]
    assert run.resources == []


def test_a_pinned_version_whose_image_expired_is_refused_naming_what_is_left(repo_data_csv):
    run = run_program({"pinVersion": 3}, versions={"3": "sha256:gone"}, images={"sha256:kept": "m-kept-1"})
    assert run.error is not None
    message = run.error["message"]
    assert "version 3 runs the image sha256:gone, which is no longer in the ECR repository" in message
    assert "The images still there are m-kept-1" in message
    assert not run.all(LIFECYCLE), "refused before the lifecycle policy could change"


def test_a_canary_on_a_version_that_does_not_exist_is_refused(repo_data_csv):
    run = run_program({"stableVersion": 9, "canaryWeight": "0.1"}, versions={"3": "sha256:x"})
    assert run.error is not None and "Function not found: 9" in run.error["message"]


def test_a_pin_to_an_existing_version_keeps_its_image(repo_data_csv):
    run = run_program({"pinVersion": 3}, versions={"3": "sha256:old"}, images={"sha256:old": "m-old-1"}).ok()
    assert run.exports["live_version"] == "3"
    rules = json.loads(run.one(LIFECYCLE)["inputs"]["policy"])["rules"]
    assert ["m-old-1"] in [rule["selection"].get("tagPrefixList") for rule in rules]


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


def test_tracing_on_then_off_states_pass_through_and_drops_the_permission(repo_data_csv):
    on, off = run_program({"tracing": True}).ok(), run_program({"tracing": False}).ok()
    assert on.one(FUNCTION)["inputs"]["tracingConfig"] == {"mode": "Active"}
    assert off.one(FUNCTION)["inputs"]["tracingConfig"] == {"mode": "PassThrough"}
    attachment = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    (xray,) = on.all(attachment)
    assert xray["urn"] in on.one(FUNCTION)["dependencies"], "the permission before the function traces"
    assert off.all(attachment) == [], "removed in the same up (deleted after the function is updated)"


# --- switching coldStart between deploys: every pair of modes -------------------------

MODES = ("on-demand", "snapstart", "provisioned")
PROVISIONED = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"


@pytest.mark.parametrize(("deployed", "wanted"), list(itertools.product(MODES, MODES)))
def test_every_start_mode_switch_works_in_one_up_or_is_refused_at_preview(repo_data_csv, deployed, wanted):
    """The preview reads the deployed mode from the function's tag. provisioned -> snapstart
    is refused with the two-step path (Pulumi would remove the provisioned concurrency only
    after SnapStart is set); every other switch is ordered to work in one up."""
    run = run_program({"coldStart": wanted}, deployed_tags={"cold-start": deployed})
    if (deployed, wanted) == ("provisioned", "snapstart"):
        assert run.error is not None and run.error["type"] == "RunError"
        message = run.error["message"]
        assert "cannot switch to snapstart in one `pulumi up`" in message
        assert "pulumi config set chipotle:coldStart on-demand" in message
        assert "pulumi config rm chipotle:provisionedConcurrency" in message
        assert "then `pulumi config set chipotle:coldStart snapstart && pulumi up`" in message
        assert not run.all(ALIAS) and not run.all(PROVISIONED), "stopped before live or its environments"
        return
    run.ok()
    function, alias = run.one(FUNCTION), run.one(ALIAS)
    assert function["inputs"]["tags"] == {"cold-start": wanted}, "what the next preview reads"
    # SnapStart off is an absent block (sent as ApplyOn None), never a stated "None"
    assert function["inputs"].get("snapStart") == (
        {"applyOn": "PublishedVersions"} if wanted == "snapstart" else None
    )
    assert alias["inputs"]["description"].endswith(f"cold starts: {wanted}")
    provisioned = run.all(PROVISIONED)
    if wanted == "provisioned":
        (config,) = provisioned
        # created after live has moved to the new (SnapStart-free) version
        assert alias["urn"] in config["dependencies"]
    else:
        assert provisioned == []  # removed last, after the function and the alias changed


def test_a_function_deployed_without_the_mode_tag_is_not_refused(repo_data_csv):
    run_program({"coldStart": "snapstart"}, deployed_tags={}).ok()


def test_the_pushed_images_manifest_is_checked_before_the_function(dev_run: ProgramRun):
    assert dev_run.ecr_manifest_reads == ["us-east-1"], "one read, in the repository's region"


def test_an_oci_index_from_the_builder_stops_the_up_before_the_function_changes(repo_data_csv):
    run = run_program(manifest="oci-index-attestation")
    assert run.error is not None and run.error["type"] == "RunError"
    assert "attestation manifest(s)" in run.error["message"]
    assert "--provenance=false" in run.error["message"]
    assert run.serving_image, "built and pushed, then checked"
    assert not run.all(FUNCTION) and not run.all(ALIAS), "the function is never given the image"
