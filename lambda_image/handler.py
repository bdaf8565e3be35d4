"""Lambda entry point (the image's CMD names `handler.handler`).

Everything runs once, at init: load the model from $MODEL_PATH (default: the
artifact the serving image carries under $LAMBDA_TASK_ROOT) and answer one warm-up
query, so the first request pays nothing extra. The request logic is chipotle_model.api.
"""

from chipotle_model import load_model
from chipotle_model.api import create_api, model_path

MODEL_PATH = model_path()
api = create_api(load_model(MODEL_PATH))
handler = api.handler
