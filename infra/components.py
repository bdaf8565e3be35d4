"""The program's pieces as ComponentResources, in the order data flows through them:

ImageRepository -> ModelImages -> ServingFunction -> HttpApi

Each one creates its children with `parent=self` and calls `register_outputs` last.
"""

from __future__ import annotations

import json
import re

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from chipotle_model.api import SERVICE_NAME, cors_policy
from infra import build_spec
from infra.config import Settings
from infra.dataset import Dataset

TYPE_PREFIX = "chipotle:infra"
# One catch-all route: every path and method reaches the function, whose route table
# (chipotle_model.api.ROUTES) is the only one; it answers 404/405 itself.
CATCH_ALL_ROUTE = "$default"
LAMBDA_ASSUME_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
_MAX_PREFIX = 56  # leaves room in Lambda's 64-character function names


def resource_prefix(project: str, stack: str) -> str:
    """`<project>-<stack>`, lowercase, usable in Lambda, ECR and Docker names."""
    prefix = re.sub(r"[^a-z0-9]+", "-", f"{project}-{stack}".lower()).strip("-")
    return prefix[:_MAX_PREFIX].rstrip("-")


def lifecycle_policy(keep_images: int) -> dict:
    """An ECR lifecycle policy that expires all but the newest `keep_images` images."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"keep the last {keep_images} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": keep_images,
                },
                "action": {"type": "expire"},
            }
        ]
    }


def docker_build(spec: pulumi.Input[build_spec.ImageBuild]) -> docker.DockerBuildArgs:
    """The pulumi-docker build of an `infra.build_spec.ImageBuild`, nothing re-typed.

    BuildKit through the Docker engine's build API: one platform, and no provenance or
    SBOM attestations (those are added by the `docker buildx` client, which is not
    involved), so the pushed image is a single manifest, not the image index Lambda rejects.
    """
    spec = pulumi.Output.from_input(spec)
    return docker.DockerBuildArgs(
        context=spec.apply(lambda s: str(s.context)),
        dockerfile=spec.apply(lambda s: str(s.dockerfile)),
        platform=spec.apply(lambda s: s.platform),
        args=spec.apply(lambda s: dict(s.args)),
        builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
    )


def image_id_hex(repo_digest: str) -> str:
    """The hex of an image's identity: `sha256:<hex>` (local image ID) or `repo@sha256:<hex>`."""
    return repo_digest.rsplit("sha256:", 1)[-1]


class ImageRepository(pulumi.ComponentResource):
    """An ECR repository: scanned on push, emptied by `pulumi destroy` (force_delete),
    optionally expiring all but the last `keep_images` images; with push credentials."""

    def __init__(
        self,
        name: str,
        *,
        repository_name: str,
        keep_images: int | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:ImageRepository", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repository = aws.ecr.Repository(
            name,
            name=repository_name,
            force_delete=True,
            image_tag_mutability="MUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            opts=child,
        )
        self.lifecycle_policy = None
        if keep_images is not None:
            self.lifecycle_policy = aws.ecr.LifecyclePolicy(
                f"{name}-lifecycle",
                repository=self.repository.name,
                policy=json.dumps(lifecycle_policy(keep_images)),
                opts=child,
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
    """The training image (built locally, pushed only to `archive`), then the serving
    image built from it and pushed to `repository`.

    The serving build's TRAINING_IMAGE arg is a local tag made from the training image's
    identity (`<local_name>:<image id hex>`): BuildKit cannot resolve a bare image ID in
    `FROM`, and a name that changes with every retrained model (new data, training code or
    base image) changes the serving build, and so the Lambda's image digest.
    """

    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        dataset: Dataset,
        local_name: str,
        repository: ImageRepository,
        archive: ImageRepository | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:ModelImages", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        training_spec = build_spec.training_build(
            data_path=dataset.path, architecture=settings.architecture, base_image=settings.base_image
        )
        archived = archive is not None  # else the training image stays on this machine
        self.training = docker.Image(
            f"{name}-training",
            build=docker_build(training_spec),
            image_name=(
                archive.url.apply(lambda url: f"{url}:data-{dataset.sha256[:16]}")
                if archived
                else f"{local_name}:latest"
            ),
            registry=archive.registry if archived else None,
            skip_push=not archived,
            opts=child,
        )

        # Name the training image by its identity, so the serving build can `FROM` it.
        self.training_tag = docker.Tag(
            f"{name}-training-identity",
            source_image=self.training.image_name,
            target_image=self.training.repo_digest.apply(
                lambda digest: f"{local_name}:{image_id_hex(digest)}"
            ),
            tag_triggers=[self.training.repo_digest],
            opts=child,
        )
        serving_spec = self.training_tag.target_image.apply(
            lambda training_image: build_spec.serving_build(
                training_image=training_image,
                data_sha256=dataset.sha256,
                architecture=settings.architecture,
                base_image=settings.base_image,
            )
        )
        self.serving = docker.Image(
            f"{name}-serving",
            build=docker_build(serving_spec),
            image_name=repository.url.apply(lambda url: f"{url}:latest"),
            registry=repository.registry,
            skip_push=False,
            opts=child,
        )

        # By digest (`repo@sha256:...`): every new image is a new value, so Lambda redeploys.
        self.image_uri: pulumi.Output[str] = self.serving.repo_digest
        self.training_image: pulumi.Output[str] = (
            self.training.repo_digest if archived else self.training_tag.target_image
        )
        self.register_outputs({"image_uri": self.image_uri, "training_image": self.training_image})


class ServingFunction(pulumi.ComponentResource):
    """The Lambda function (package type Image) with its role and its log group.

    The log group `/aws/lambda/<function_name>` is created (with retention) before the
    function, which writes to it through `logging_config`, so Lambda never creates an
    unowned group that `pulumi destroy` would leave behind.
    """

    def __init__(
        self,
        name: str,
        *,
        function_name: str,
        image_uri: pulumi.Input[str],
        settings: Settings,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:ServingFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(LAMBDA_ASSUME_ROLE_POLICY),
            description=f"Lambda execution role of {function_name}: CloudWatch Logs only",
            opts=child,
        )
        self.basic_execution = aws.iam.RolePolicyAttachment(
            f"{name}-basic-execution",
            role=self.role.name,
            policy_arn=aws.iam.ManagedPolicy.AWS_LAMBDA_BASIC_EXECUTION_ROLE,
            opts=child,
        )
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=settings.log_retention_days,
            opts=child,
        )
        self.function = aws.lambda_.Function(
            name,
            name=function_name,
            package_type="Image",
            image_uri=image_uri,
            role=self.role.arn,
            architectures=[settings.architecture],
            memory_size=settings.memory_size,
            timeout=settings.timeout,
            reserved_concurrent_executions=settings.reserved_concurrency,
            environment={
                "variables": {
                    "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                    "LOG_LEVEL": settings.log_level,
                }
            },
            logging_config={"log_format": "Text", "log_group": self.log_group.name},
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.basic_execution, self.log_group],
                # the name is fixed (the log group is named after it): a replacement
                # must delete the old function first
                delete_before_replace=True,
            ),
        )
        self.register_outputs({"function_name": self.function.name, "arn": self.function.arn})


class HttpApi(pulumi.ComponentResource):
    """An API Gateway HTTP API in front of `function`: the API's CORS policy (in force here,
    not in the function), a Lambda proxy integration (payload format 2.0) behind one
    catch-all route, and a throttled, auto-deployed `$default` stage; plus the permission
    for API Gateway to invoke the function."""

    def __init__(
        self,
        name: str,
        *,
        function: aws.lambda_.Function,
        settings: Settings,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:HttpApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.api = aws.apigatewayv2.Api(
            name,
            protocol_type="HTTP",
            cors_configuration=cors_policy(settings.cors_allow_origins).gateway_configuration(),
            opts=child,
        )
        self.integration = aws.apigatewayv2.Integration(
            f"{name}-lambda",
            api_id=self.api.id,
            integration_type="AWS_PROXY",
            integration_method="POST",
            integration_uri=function.invoke_arn,
            payload_format_version="2.0",
            opts=child,
        )
        target = self.integration.id.apply(lambda integration_id: f"integrations/{integration_id}")
        self.route = aws.apigatewayv2.Route(
            f"{name}-route", api_id=self.api.id, route_key=CATCH_ALL_ROUTE, target=target, opts=child
        )
        throttling = {
            key: value
            for key, value in (
                ("throttling_rate_limit", settings.throttle_rate_limit),
                ("throttling_burst_limit", settings.throttle_burst_limit),
            )
            if value is not None
        }
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-default",
            api_id=self.api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings=throttling or None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.route]),
        )
        self.permission = aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="apigateway.amazonaws.com",
            source_arn=self.api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
            opts=child,
        )
        self.url: pulumi.Output[str] = self.stage.invoke_url
        self.register_outputs({"url": self.url})
