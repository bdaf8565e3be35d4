"""serving: a generic platform that serves one scikit-learn model from AWS Lambda.

It knows nothing of the model it serves. A model package exports the names of SEAM
(docs/own-model.md says what each is), and the platform does the rest: the artifact (serving.artifact), the
training command (serving.training), the HTTP API with its errors, logs and metrics
(serving.api), the Lambda entry (serving.lambda_handler), the local server
(serving.server), the contract check (serving.contract) and the command line
(serving.cli).
"""

from __future__ import annotations

import importlib
from types import ModuleType

# What a model package exports: the platform calls these and nothing else of it.
SEAM = (
    "SERVICE_NAME",
    "DEFAULT_DATA_PATH",
    "check_data",
    "train_model",
    "ROUTES",
    "warm_up_requests",
    "contract_checks",
)


class NotAModelPackage(ImportError):
    """The named package cannot be imported or does not export the seam."""


def model_package(name: str) -> ModuleType:
    """The model package `name`, imported and checked to export every name of SEAM."""
    try:
        package = importlib.import_module(name)
    except (ImportError, ValueError) as exc:  # ValueError: an empty or relative name
        raise NotAModelPackage(f"model package {name!r} cannot be imported: {exc}") from exc
    missing = [seam_name for seam_name in SEAM if not hasattr(package, seam_name)]
    if missing:
        raise NotAModelPackage(
            f"{name!r} is not a model package: it does not export {', '.join(missing)} "
            "(docs/own-model.md lists what a model package exports)"
        )
    return package
