"""Nearest-store model on AWS Lambda.

config + data CSV -> training image (local) -> serving image (ECR)
                  -> Lambda function -> API Gateway HTTP API -> url
"""

import pulumi

from chipotle_model import DataError
from chipotle_model.fetch import DatasetUnavailable
from infra.components import HttpApi, ImageRepository, ModelImages, ServingFunction, resource_prefix
from infra.config import NAMESPACE, ConfigError, read_settings
from infra.dataset import load_dataset

# Config and data in, validated before any resource is touched (preview fails too).
try:
    settings = read_settings(pulumi.Config(NAMESPACE).get)
    dataset = load_dataset(settings)
except (ConfigError, DataError, DatasetUnavailable) as error:
    raise pulumi.RunError(str(error)) from error
prefix = resource_prefix(pulumi.get_project(), pulumi.get_stack())

# Images: train in a local image, build the serving image from it, push that to ECR.
repository = ImageRepository("serving", repository_name=f"{prefix}/serving", keep_images=settings.keep_images)
archive = (
    ImageRepository("training", repository_name=f"{prefix}/training", keep_images=None)
    if settings.archive_training_image
    else None
)
images = ModelImages(
    "model",
    settings=settings,
    dataset=dataset,
    local_name=f"{prefix}-training",
    repository=repository,
    archive=archive,
)

# Serving: the Lambda function, and the HTTP API in front of it.
function = ServingFunction(
    "function",
    function_name=prefix,
    image_uri=images.image_uri,
    settings=settings,
)
api = HttpApi("http", function=function.function, settings=settings)

pulumi.export("url", api.url)
pulumi.export("function_name", function.function.name)
pulumi.export("repository_url", repository.url)
pulumi.export("image_uri", images.image_uri)
pulumi.export("training_image", images.training_image)
pulumi.export("model", dataset.summary())
