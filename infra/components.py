"""The program's pieces as ComponentResources, in the order data flows through them:

ImageRepository -> ModelImages -> ServingFunction -> ImageRetention, HttpApi

Each one creates its children with `parent=self` and calls `register_outputs` last.
Physical names are Pulumi's auto-names (the logical name plus a random suffix), so two
stacks of the same name in one account, or a stack created again after `pulumi stack rm
--force`, never collide.
"""

from __future__ import annotations

import json
import re
from types import ModuleType

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from infra import build_spec, manifest, monitoring, policies
from infra.config import Settings
from serving.api import cors_policy

TYPE_PREFIX = "chipotle:infra"
# One catch-all route: every path and method reaches the function, whose route table
# (the model package's ROUTES, serving.api) is the only one; it answers 404/405 itself.
CATCH_ALL_ROUTE = "$default"
LIVE_ALIAS = "live"  # the API invokes this alias, never $LATEST
# How long the provider may wait for a published version (and provisioned environments) to
# become Active; its defaults are 10 minutes (function) and 15 (provisioned concurrency).
# A SnapStart publish runs INIT (up to 15 minutes with SnapStart: here ~400 MB of image and
# a model to load) and then snapshots it, all inside that wait (docs/deploy.md).
PUBLISH_TIMEOUT = "30m"
COLD_START_TAG = "cold-start"  # the function's tag: the coldStart mode it was deployed with
PUBLISH_TIMEOUTS = pulumi.CustomTimeouts(create=PUBLISH_TIMEOUT, update=PUBLISH_TIMEOUT)
_MAX_PREFIX = 48  # Lambda's 64-character function names, less the 8 of the random suffix


def resource_prefix(project: str, stack: str) -> str:
    """`<project>-<stack>`, lowercase, usable in Lambda, ECR and log group names."""
    prefix = re.sub(r"[^a-z0-9]+", "-", f"{project}-{stack}".lower()).strip("-")
    return prefix[:_MAX_PREFIX].rstrip("-")


def docker_build(spec: build_spec.ImageBuild) -> docker.DockerBuildArgs:
    """The pulumi-docker build of an `infra.build_spec.ImageBuild`, nothing re-typed.

    BuildKit through the Docker engine's build API: one platform, and no provenance or
    SBOM attestations (those are added by the `docker buildx` client, which is not
    involved), so the pushed image should be a single manifest, not the image index Lambda
    rejects; Docker's containerd image store can still push an index, which
    `ModelImages` refuses before the function is given it (infra/manifest.py).
    Paths stay relative to the project directory, where Pulumi runs the program.
    """
    return docker.DockerBuildArgs(
        context=spec.context,
        dockerfile=spec.dockerfile,
        target=spec.target,
        platform=spec.platform,
        args=dict(spec.args),
        builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
    )


class ImageRepository(pulumi.ComponentResource):
    """An ECR repository, scanned on push, with push credentials, its tags IMMUTABLE.

    A tag names everything its image's build received (infra/build_spec.py: every admitted
    file, the Dockerfiles, the build args), so a build whose bytes could differ gets a new
    tag and no tag is pushed twice with other content; if it ever were (a base image tag
    that moved under the same name, say), ECR refuses the push and the `up` stops before
    the function changes, instead of the tag silently naming another image.

    `retain=False` (serving images): `pulumi destroy` deletes it with its images.
    `retain=True` (the training archive, the model's history): it outlives the stack and
    must be deleted by hand, and is never emptied by a destroy.
    """

    def __init__(
        self, name: str, *, retain: bool = False, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:ImageRepository", name, None, opts)
        self.repository = aws.ecr.Repository(
            name,
            force_delete=not retain,
            # one tag, one digest: a tag names its build's inputs (see the docstring)
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=retain),
        )
        token = aws.ecr.get_authorization_token_output(
            registry_id=self.repository.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.url: pulumi.Output[str] = self.repository.repository_url
        self.registry = docker.RegistryArgs(
            server=self.url,
            username=token.user_name,
            password=pulumi.Output.secret(token.password),
        )
        self.register_outputs({"repository_url": self.url})


class ModelImages(pulumi.ComponentResource):
    """The serving image pushed to `repository` (its build trains or reuses the training
    stage), and, with an `archive`, the training image pushed there as the model's history.

    Tags come from the build spec: each is the model version and a hash of everything its
    build receives, so a new image never takes an old image's tag (the repositories are
    IMMUTABLE) and the Lambda is redeployed by digest.
    """

    def __init__(
        self,
        name: str,
        *,
        build: build_spec.ModelBuild,
        repository: ImageRepository,
        archive: ImageRepository | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:ModelImages", name, None, opts)
        self.training = None
        if archive is not None:
            self.training = self._pushed(f"{name}-training", build.training, archive, build.training_tag)
        # built after the training image, when there is one: the serving build reuses its stage
        self.serving = self._pushed(
            f"{name}-serving", build.serving, repository, build.serving_tag, after=self.training
        )
        self.serving_tag = build.serving_tag
        self.model_version = build.model_version
        # By digest (`repo@sha256:...`): every new image is a new value, so Lambda redeploys;
        # its manifest checked first (infra/manifest.py), so an image Lambda refuses stops the
        # up before the function changes.
        self.image_uri: pulumi.Output[str] = self.serving.repo_digest.apply(
            lambda uri: manifest.checked_image_uri(uri, aws.config.profile)
        )
        self.training_image = self.training.repo_digest if self.training else None
        self.register_outputs({"image_uri": self.image_uri, "training_image": self.training_image})

    def _pushed(
        self, name: str, spec: build_spec.ImageBuild, to: ImageRepository, tag: str, after=None
    ) -> docker.Image:
        """`spec` built and pushed to `to` as `tag`."""
        return docker.Image(
            name,
            build=docker_build(spec),
            image_name=to.url.apply(lambda url: f"{url}:{tag}"),
            registry=to.registry,
            skip_push=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[after] if after else []),
        )


class ServingFunction(pulumi.ComponentResource):
    """The Lambda function (package type Image) with its role and log group, a version
    published for every new image or setting, and the alias `live` that the API invokes,
    routed as `settings.release` says (the new version, a canary, or a pinned version).

    The log group is the stack's own (Lambda writes to it through `logging_config`), so
    Lambda never creates an unowned group that `pulumi destroy` would leave behind, and
    the role may write there and nowhere else.
    """

    def __init__(
        self,
        name: str,
        *,
        image_uri: pulumi.Input[str],
        package: ModuleType,
        settings: Settings,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:ServingFunction", name, None, opts)
        self.service = package.SERVICE_NAME  # its name in logs and metrics
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(policies.LAMBDA_ASSUME_ROLE_POLICY),
            description=f"Lambda execution role of {name}: its own log group only",
            opts=child,
        )
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name_prefix=f"/aws/lambda/{name}-",
            retention_in_days=settings.log_retention_days,
            opts=child,
        )
        self.logging = aws.iam.RolePolicy(
            f"{name}-logging",
            role=self.role.id,
            policy=self.log_group.arn.apply(lambda arn: json.dumps(policies.logging_policy(arn))),
            opts=child,
        )
        depends_on = [self.logging, self.log_group, *self._tracing_permission(name, settings)]
        self.function = self._function(name, image_uri, settings, depends_on)
        self.published_version: pulumi.Output[str] = self.function.version
        self.alias = self._live_alias(name, settings)
        self.provisioned = self._provisioned_concurrency(name, settings)
        # The version most requests go to (a canary's new version gets canaryWeight of them).
        self.live_version: pulumi.Output[str] = self.alias.function_version
        self.register_outputs(
            {
                "function_name": self.function.name,
                "published_version": self.published_version,
                "live_version": self.live_version,
                "alias_arn": self.alias.arn,
            }
        )

    def _function(
        self, name: str, image_uri: pulumi.Input[str], settings: Settings, depends_on: list
    ) -> aws.lambda_.Function:
        """The function (package type Image), publishing a version for every change."""
        return aws.lambda_.Function(
            name,
            package_type="Image",
            image_uri=image_uri,
            role=self.role.arn,
            publish=True,  # a new version for every new image or setting: what `live` routes to
            architectures=[settings.architecture],
            memory_size=settings.memory_size,
            timeout=settings.timeout,
            reserved_concurrent_executions=settings.reserved_concurrency,
            environment={"variables": _environment(self.service, settings)},
            logging_config={"log_format": "Text", "log_group": self.log_group.name},
            # SnapStart: INIT once per published version, then restored from its snapshot. Off,
            # the block is left out: the provider reads SnapStart "None" back as no block, and
            # an absent block is sent as ApplyOn None (a stated "None" would differ every up).
            snap_start={"apply_on": "PublishedVersions"} if settings.cold_start == "snapstart" else None,
            # Always stated: the provider's tracing_config is Optional + Computed, so an absent
            # block is "no change" and tracing once on would stay Active after it is turned off.
            tracing_config={"mode": "Active" if settings.operations.tracing else "PassThrough"},
            # what the next preview reads to know the mode it switches from (start_mode_switch)
            tags={COLD_START_TAG: settings.cold_start},
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on, custom_timeouts=PUBLISH_TIMEOUTS),
        )

    def _live_alias(self, name: str, settings: Settings) -> aws.lambda_.Alias:
        """`live`, routed as `settings.release` says, once the start-mode switch is allowed."""
        # The mode the deployed function has, read at preview (an existing function's name is
        # known then); the alias waits for the check, so a refused switch stops the preview.
        deployed = aws.lambda_.get_function_output(
            function_name=self.function.name, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        checked = deployed.tags.apply(
            lambda tags: start_mode_switch((tags or {}).get(COLD_START_TAG), settings.cold_start)
        )
        return aws.lambda_.Alias(
            f"{name}-{LIVE_ALIAS}",
            name=LIVE_ALIAS,
            function_name=self.function.name,
            description=checked.apply(lambda mode: f"what the API invokes; cold starts: {mode}"),
            **_alias_routing(settings, self.published_version),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _tracing_permission(self, name: str, settings: Settings) -> list:
        """X-Ray's write actions have no resource-level permissions: AWS's managed policy
        (Resource "*") is the stack's one wildcard, and only while tracing is on."""
        if not settings.operations.tracing:
            return []
        return [
            aws.iam.RolePolicyAttachment(
                f"{name}-tracing",
                role=self.role.name,
                policy_arn=aws.iam.ManagedPolicy.AWSX_RAY_DAEMON_WRITE_ACCESS,
                opts=pulumi.ResourceOptions(parent=self),
            )
        ]

    def _provisioned_concurrency(self, name: str, settings: Settings):
        """With coldStart provisioned: environments of `live` kept initialised."""
        if settings.cold_start != "provisioned":
            return None
        return aws.lambda_.ProvisionedConcurrencyConfig(
            f"{name}-provisioned",
            function_name=self.function.name,
            qualifier=self.alias.name,
            provisioned_concurrent_executions=settings.provisioned_concurrency,
            opts=pulumi.ResourceOptions(parent=self, custom_timeouts=PUBLISH_TIMEOUTS),
        )


def start_mode_switch(deployed: str | None, wanted: str) -> str:
    """`wanted`, or RunError when AWS refuses the switch from the `deployed` mode in one `up`.

    Pulumi deletes what a program no longer declares last, after every update: from
    provisioned to snapstart, the function would get SnapStart and a new version while
    provisioned concurrency is still on `live`, which SnapStart refuses. Every other pair
    works in one `up`: the function changes first, then the alias, then a new provisioned
    concurrency (it depends on the alias), and a removed one goes last. `deployed` None:
    nothing deployed yet, or by a program that did not tag the mode.
    """
    through = _TWO_STEP_SWITCHES.get((deployed, wanted))
    if through is None:
        return wanted
    key = "chipotle:coldStart"
    raise pulumi.RunError(
        f"{key}: the function has {deployed} and cannot switch to {wanted} in one `pulumi up` "
        f"(SnapStart does not support provisioned concurrency, and Pulumi removes the provisioned "
        f"concurrency only after the function has changed). Take two steps: "
        f"`pulumi config set {key} {through} && pulumi config rm chipotle:provisionedConcurrency "
        f"&& pulumi up`, then `pulumi config set {key} {wanted} && pulumi up`."
    )


# (deployed, wanted) -> the mode to go through first, for the switches AWS refuses in one up.
_TWO_STEP_SWITCHES = {("provisioned", "snapstart"): "on-demand"}


def _environment(service: str, settings: Settings) -> dict[str, str]:
    variables = {"POWERTOOLS_SERVICE_NAME": service, "LOG_LEVEL": settings.log_level}
    if not settings.operations.metrics:
        variables["POWERTOOLS_METRICS_DISABLED"] = "true"  # serving.metrics honours it
    return variables


def _alias_routing(settings: Settings, published: pulumi.Output[str]) -> dict:
    """The alias's `function_version` and `routing_config` for the release settings."""
    release = settings.release
    if release.kind == "pin":
        return {"function_version": str(release.pin_version)}
    if release.kind == "canary":
        weight = release.canary_weight
        return {
            "function_version": str(release.stable_version),
            "routing_config": {
                "additional_version_weights": published.apply(lambda version: {version: weight})
            },
        }
    return {"function_version": published}


class ImageRetention(pulumi.ComponentResource):
    """The serving repository's lifecycle policy: the newest `keepImages` images stay, and
    so do the images of the versions the alias routes to (looked up in Lambda and ECR).

    A pinned or stable version whose image is gone cannot be routed to (Lambda could not
    start it): the lookup refuses it at preview, naming the images that are still there.
    """

    def __init__(
        self,
        name: str,
        *,
        repository: ImageRepository,
        function: ServingFunction,
        current_tag: str,
        settings: Settings,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:ImageRetention", name, None, opts)
        release = settings.release
        routed = [v for v in (release.pin_version, release.stable_version) if v is not None]
        tags = [
            routed_image_tag(self, function.function.name, repository.repository.name, version)
            for version in routed
        ]
        protected = pulumi.Output.all(current_tag, *tags)
        self.policy = aws.ecr.LifecyclePolicy(
            name,
            repository=repository.repository.name,
            policy=protected.apply(
                lambda tags: json.dumps(policies.lifecycle_policy(settings.keep_images, tags))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.protected_tags = protected
        self.register_outputs({"protected_tags": protected})


def routed_image_tag(
    parent: pulumi.Resource,
    function_name: pulumi.Input[str],
    repository_name: pulumi.Input[str],
    version: int,
) -> pulumi.Output[str]:
    """The serving tag of the image that published `version` runs; refuses a version whose
    image is no longer in the repository."""
    invoke = pulumi.InvokeOutputOptions(parent=parent)
    image_uri = aws.lambda_.get_function_output(
        function_name=function_name, qualifier=str(version), opts=invoke
    )
    images = aws.ecr.get_images_output(repository_name=repository_name, opts=invoke)
    return pulumi.Output.all(image_uri.image_uri, images.image_ids).apply(
        lambda found: _tag_of(version, found[0], found[1])
    )


def _tag_of(version: int, image_uri: str, image_ids: list) -> str:
    digest = image_uri.rsplit("@", 1)[-1]
    tags = {_field(image, "image_digest"): _field(image, "image_tag") for image in image_ids}
    if tags.get(digest):
        return tags[digest]
    present = sorted(tag for tag in tags.values() if tag)
    raise pulumi.RunError(
        f"version {version} runs the image {digest}, which is no longer in the ECR repository "
        f"(expired by its lifecycle policy), so it cannot be restored. The images still there are "
        f"{', '.join(present) or 'none'}: choose a version that runs one of them "
        f"(`aws lambda list-versions-by-function` lists each version's image)."
    )


def _field(item, name: str):
    """A field of an invoke's result item: a typed result, or a plain dict (camelCase or not)."""
    if isinstance(item, dict):
        camel = name.split("_")[0] + "".join(part.title() for part in name.split("_")[1:])
        return item.get(name, item.get(camel))
    return getattr(item, name)


class HttpApi(pulumi.ComponentResource):
    """An API Gateway HTTP API in front of the `live` alias: the API's CORS policy (in
    force here, not in the function), a Lambda proxy integration (payload format 2.0)
    behind one catch-all route, and a throttled, auto-deployed `$default` stage; plus the
    permission for API Gateway to invoke the alias (never $LATEST)."""

    def __init__(
        self,
        name: str,
        *,
        alias: aws.lambda_.Alias,
        package: ModuleType,
        settings: Settings,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:HttpApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.api = aws.apigatewayv2.Api(
            name,
            protocol_type="HTTP",
            cors_configuration=cors_policy(
                package.ROUTES, settings.cors_allow_origins
            ).gateway_configuration(),
            opts=child,
        )
        self.integration = aws.apigatewayv2.Integration(
            f"{name}-lambda",
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=alias.invoke_arn,
            payload_format_version="2.0",
            opts=child,
        )
        target = self.integration.id.apply(lambda integration_id: f"integrations/{integration_id}")
        self.route = aws.apigatewayv2.Route(
            f"{name}-route", api_id=self.api.id, route_key=CATCH_ALL_ROUTE, target=target, opts=child
        )
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-default",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            # Both limits, always: a missing one would be sent as 0 (every request a 429).
            default_route_settings={
                "throttling_rate_limit": settings.throttle_rate_limit,
                "throttling_burst_limit": settings.throttle_burst_limit,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.route]),
        )
        self.permission = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=alias.function_name,
            qualifier=alias.name,
            principal="apigateway.amazonaws.com",
            source_arn=self.api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
            opts=child,
        )
        self.url: pulumi.Output[str] = self.stage.invoke_url
        self.register_outputs({"url": self.url})


class Monitoring(pulumi.ComponentResource):
    """The alarms (when `settings.operations.alarms`), their SNS topic and email subscription
    (when an email is set), and the dashboard, whose URL is `dashboard_url`."""

    def __init__(
        self,
        name: str,
        *,
        function: ServingFunction,
        api: HttpApi,
        package: ModuleType,
        settings: Settings,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ops = settings.operations
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        watched = pulumi.Output.all(
            region, function.function.name, function.alias.name, api.api.id, function.log_group.name
        ).apply(lambda names: monitoring.Watched(*names))
        actions: list = []
        self.topic = None
        if ops.alarm_email:
            self.topic = aws.sns.Topic(f"{name}-alarms", opts=child)
            self.subscription = aws.sns.TopicSubscription(
                f"{name}-email", topic=self.topic.arn, protocol="email", endpoint=ops.alarm_email, opts=child
            )
            actions = [self.topic.arn]
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        if ops.alarms:
            specs = watched.apply(
                lambda w: monitoring.alarm_specs(
                    w, latency_p99_ms=ops.latency_p99_ms, client_error_percent=ops.client_error_percent
                )
            )
            for suffix, keys in _ALARM_ARGUMENTS.items():
                arguments = {key: specs.apply(lambda all_, s=suffix, k=key: all_[s][k]) for key in keys}
                self.alarms[suffix] = aws.cloudwatch.MetricAlarm(
                    f"{name}-{suffix}", alarm_actions=actions, ok_actions=actions, **arguments, opts=child
                )
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=function.function.name,  # auto-named, so unique in the account
            dashboard_body=watched.apply(
                lambda w: json.dumps(monitoring.dashboard_body(w, service=package.SERVICE_NAME))
            ),
            opts=child,
        )
        self.dashboard_url: pulumi.Output[str] = pulumi.Output.all(
            region, self.dashboard.dashboard_name
        ).apply(lambda found: monitoring.dashboard_url(*found))
        self.register_outputs({"dashboard_url": self.dashboard_url, "alarms": sorted(self.alarms)})


# Each alarm's argument names (its specification with placeholder names), so that each
# resource gets only its own arguments, each an Output of the names AWS gives.
_ALARM_ARGUMENTS = {
    suffix: tuple(spec)
    for suffix, spec in monitoring.alarm_specs(
        monitoring.Watched("", "", "", "", ""), latency_p99_ms=1, client_error_percent=1
    ).items()
}
