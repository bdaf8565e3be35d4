"""Lambda entry point (the image's CMD names `handler.handler`).

Everything runs once, at init (with SnapStart: before the snapshot). First, the modules
answering never uses are deferred (chipotle_model.lean_imports: scikit-learn imports
scipy.stats and more that a nearest-store query never touches). Then the model is loaded
from $MODEL_PATH (the serving image sets it to where it put the artifact, and
MODEL_VERSION to the build's model version), one warm-up query of each kind is answered,
so the first request pays nothing extra, and the SnapStart hooks are registered
(chipotle_model.lifecycle). The request logic is chipotle_model.api.
"""

import os

from chipotle_model import lean_imports

lean_imports.defer(*lean_imports.NOT_ON_THE_QUERY_PATH)  # before scikit-learn is imported

from chipotle_model import ModelLoadError, lifecycle, load_model  # noqa: E402
from chipotle_model.api import create_api  # noqa: E402

MODEL_PATH = os.environ.get("MODEL_PATH")
if not MODEL_PATH:
    raise ModelLoadError("MODEL_PATH is not set: it names the model artifact (the serving image sets it)")
api = create_api(
    load_model(MODEL_PATH),
    model_version=os.environ.get("MODEL_VERSION"),
    tracing=os.environ.get("TRACING") == "true",  # the image installs the tracing library only then
)
if lean_imports.ran():  # the warm-up needed a deferred module: it belongs off the list
    api.logger.warning("deferred modules ran at init", extra={"modules": lean_imports.ran()})
lifecycle.register_snapstart_hooks(api.logger)
handler = api.handler
