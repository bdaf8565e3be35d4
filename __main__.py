"""A scikit-learn model on AWS Lambda (by default the nearest-store model).

config + data CSV -> training stage -> serving image (ECR) -> Lambda version
                  -> alias `live` -> API Gateway HTTP API -> url
"""

import pulumi
import pulumi_aws as aws

from infra import build_spec
from infra.components import (
    HttpApi,
    ImageRepository,
    ImageRetention,
    ModelImages,
    Monitoring,
    ServingFunction,
    resource_prefix,
)
from infra.config import NAMESPACE, ConfigError, configured_keys, read_settings
from infra.dataset import load_dataset
from serving import NotAModelPackage, model_package

# Config and data in, validated before any resource is touched (preview fails too).
try:
    # Pulumi's public config API: each key's value; every key the stack sets, to refuse typos.
    settings = read_settings(pulumi.Config(NAMESPACE).get, configured_keys())
    package = model_package(settings.model_package)
    dataset = load_dataset(package, settings)
except (ConfigError, NotAModelPackage, ValueError) as error:  # ValueError: the data
    raise pulumi.RunError(str(error)) from error
project, stack = pulumi.get_project(), pulumi.get_stack()
prefix = resource_prefix(project, stack)
build = build_spec.model_build(
    data_path=settings.data_path,
    base_image=settings.base_image,
    model_package=settings.model_package,
    architecture=settings.architecture,
    snapstart=settings.cold_start == "snapstart",
    tracing=settings.operations.tracing,
)

# Every AWS resource through one provider that tags it with the project and stack.
tags = {"project": project, "stack": stack, "managed-by": "pulumi"}
provider = aws.Provider("aws", region=aws.config.region, default_tags={"tags": tags})
aws_opts = pulumi.ResourceOptions(providers=[provider])

# Images: the serving image (its build trains, or reuses, the training stage) to ECR.
repository = ImageRepository(f"{prefix}-serving", opts=aws_opts)
archive = (
    ImageRepository(f"{prefix}-training", retain=True, opts=aws_opts)
    if settings.archive_training_image
    else None
)
images = ModelImages("model", build=build, repository=repository, archive=archive)

# Serving: a Lambda version per image, the `live` alias, the HTTP API in front of it.
function = ServingFunction(
    prefix, image_uri=images.image_uri, package=package, settings=settings, opts=aws_opts
)
retention = ImageRetention(
    f"{prefix}-retention",
    repository=repository,
    function=function,
    current_tag=images.serving_tag,
    settings=settings,
    opts=aws_opts,
)
api = HttpApi(f"{prefix}-http", alias=function.alias, package=package, settings=settings, opts=aws_opts)

# Operations: alarms (optionally mailed), a dashboard.
monitoring = Monitoring(
    f"{prefix}-ops", function=function, api=api, package=package, settings=settings, opts=aws_opts
)

pulumi.export("url", api.url)
pulumi.export("function_name", function.function.name)
pulumi.export("live_version", function.live_version)
pulumi.export("published_version", function.published_version)
pulumi.export("model_version", images.model_version)
pulumi.export("repository_url", repository.url)
pulumi.export("image_uri", images.image_uri)
pulumi.export("training_image", images.training_image)
pulumi.export("log_group", function.log_group.name)
pulumi.export("dashboard_url", monitoring.dashboard_url)
pulumi.export("model", dataset.summary())
