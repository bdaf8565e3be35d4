"""The Lambda side of the platform: the API built from what the serving image sets.

    MODEL_PACKAGE   the model package to serve (its routes and warm-up requests)
    MODEL_PATH      the model artifact (serving.artifact)
    MODEL_VERSION   names the model in every answer and log line
    TRACING         "true": X-Ray subsegments (the image then carries the tracing library)

The image's handler module (lambda_image/handler.py) calls `api_from_environment()` once,
at init (with SnapStart: before the snapshot): the model is loaded and the warm-up
requests answered there, so the first request pays nothing extra.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from . import model_package
from .api import ServingApi, api_from_artifact
from .artifact import ModelLoadError


def api_from_environment(environ: Mapping[str, str] = os.environ) -> ServingApi:
    """The warmed-up API of $MODEL_PACKAGE around the artifact at $MODEL_PATH; ModelLoadError
    (the INIT error Lambda reports) when it is absent, damaged or fails its warm-up."""
    missing = [name for name in ("MODEL_PACKAGE", "MODEL_PATH") if not environ.get(name)]
    if missing:
        raise ModelLoadError(
            f"{' and '.join(missing)} not set: the serving image sets MODEL_PACKAGE (the model "
            "package) and MODEL_PATH (its artifact)"
        )
    return api_from_artifact(
        model_package(environ["MODEL_PACKAGE"]),
        environ["MODEL_PATH"],
        model_version=environ.get("MODEL_VERSION"),
        tracing=environ.get("TRACING") == "true",
    )
