"""Lambda entry point (the image's CMD names `handler.handler`).

Everything runs once, at init: load the model from $MODEL_PATH (the serving image sets
it to where it put the artifact, and MODEL_VERSION to the build's model version) and
answer one warm-up query of each kind, so the first request pays nothing extra. The
request logic is chipotle_model.api.
"""

import os

from chipotle_model import ModelLoadError, load_model
from chipotle_model.api import create_api

MODEL_PATH = os.environ.get("MODEL_PATH")
if not MODEL_PATH:
    raise ModelLoadError("MODEL_PATH is not set: it names the model artifact (the serving image sets it)")
api = create_api(load_model(MODEL_PATH), model_version=os.environ.get("MODEL_VERSION"))
handler = api.handler
