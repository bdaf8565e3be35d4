"""The routes (the platform adds GET /health):

GET  /predict?x1=<number>&x2=<number>     {"prediction": y}
POST /predict  {"rows": [[x1, x2], ...]}  {"predictions": [y, ...]}, in order
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

import numpy as np

from serving.events import http_event
from serving.inputs import MAX_BODY_BYTES, ClientError, body_text, describe, json_document, show
from serving.operations import described

if TYPE_CHECKING:  # the training image has no HTTP stack (serving.api needs Powertools)
    from serving.api import Request

MAX_ROWS = 1000
# Inputs beyond this are refused: near the float limit a linear prediction overflows to
# infinity, which JSON cannot carry (Schemathesis found `{"prediction": Infinity}`).
MAX_ABS_INPUT = 1e12
ROWS_SHAPE = '{"rows": [[x1, x2], ...]}'
_DECIMAL = re.compile(r"[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?")


def _finite(value: object, where: str) -> float:
    """A query parameter's text or a JSON number as a finite float, else ClientError 400."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ClientError(400, f"{where} must be a number, got {describe(value)}")
    if isinstance(value, str) and not _DECIMAL.fullmatch(value.strip()):
        raise ClientError(400, f"{where} must be a decimal number, got {show(value)}")
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        raise ClientError(400, f"{where} is too large") from None
    if not math.isfinite(number) or abs(number) > MAX_ABS_INPUT:
        raise ClientError(
            400,
            f"{where} must be a finite number from {-MAX_ABS_INPUT:g} to {MAX_ABS_INPUT:g}, "
            f"got {show(str(value))}",
        )
    return number


def _number(value: object, where: str) -> float:
    """A JSON number (not a string, not a boolean), finite."""
    if isinstance(value, str):
        raise ClientError(400, f"{where} must be a JSON number, got the string {show(value)}")
    return _finite(value, where)


_PREDICTION = {"type": "number", "description": "the predicted y"}
_INPUT = {"type": "number", "minimum": -MAX_ABS_INPUT, "maximum": MAX_ABS_INPUT}


def _predictions(model, x: np.ndarray) -> list[float]:
    y = model.predict(x)
    if not np.all(np.isfinite(y)):  # a model fault, not the client's: a logged 500
        raise ArithmeticError(f"the model predicted a non-finite value for inputs within +-{MAX_ABS_INPUT:g}")
    return [float(v) for v in y]


def describe_predict(model) -> dict:
    """GET /predict in the OpenAPI document."""
    return {
        "summary": "the prediction for one (x1, x2)",
        "operationId": "predict",
        "parameters": [
            {"name": name, "in": "query", "required": True, "schema": _INPUT} for name in ("x1", "x2")
        ],
        "responses": {
            "200": {
                "description": "the prediction",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["prediction"],
                            "properties": {"prediction": _PREDICTION},
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "400": "x1 or x2 missing, not a decimal number or not finite",
        },
    }


def describe_predict_batch(model) -> dict:
    """POST /predict in the OpenAPI document."""
    row = {"type": "array", "items": _INPUT, "minItems": 2, "maxItems": 2}
    body = {
        "type": "object",
        "required": ["rows"],
        "properties": {"rows": {"type": "array", "items": row, "minItems": 1, "maxItems": MAX_ROWS}},
    }
    predictions = {"type": "array", "items": _PREDICTION, "minItems": 1, "maxItems": MAX_ROWS}
    return {
        "summary": "the prediction for each row, in order",
        "operationId": "predict_batch",
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "200": {
                "description": "predictions[i] is the prediction for rows[i]",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["predictions"],
                            "properties": {"predictions": predictions},
                            "additionalProperties": False,
                        }
                    }
                },
            },
            "400": f"the body empty, not JSON or not {ROWS_SHAPE}",
            "413": f"more than {MAX_ROWS} rows, or a body over {MAX_BODY_BYTES:,} bytes",
        },
    }


@described(describe_predict)
def predict(model, request: Request) -> dict:
    params = request.event.query_string_parameters or {}
    missing = [name for name in ("x1", "x2") if name not in params]
    if missing:
        raise ClientError(
            400, f"missing query parameter {' and '.join(missing)}; usage: GET /predict?x1=..&x2=.."
        )
    point = [_finite(params[name], f"query parameter '{name}'") for name in ("x1", "x2")]
    request.log(query={"x1": point[0], "x2": point[1]})
    return {"prediction": _predictions(model, np.array([point]))[0]}


@described(describe_predict_batch)
def predict_batch(model, request: Request) -> dict:
    event = request.event
    text = body_text(event.body, base64_encoded=event.is_base64_encoded, expected=ROWS_SHAPE)
    document = json_document(text, expected=ROWS_SHAPE)
    rows = document.get("rows") if isinstance(document, dict) else None
    if not isinstance(rows, list) or not rows:
        raise ClientError(400, f"the body must be {ROWS_SHAPE} with at least one row")
    if len(rows) > MAX_ROWS:
        raise ClientError(413, f"too many rows: {len(rows)}, at most {MAX_ROWS} per request")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != 2:
            raise ClientError(400, f"rows[{i}] must be [x1, x2]")
    x = np.array([[_number(v, f"rows[{i}][{j}]") for j, v in enumerate(row)] for i, row in enumerate(rows)])
    request.log(query={"rows": len(rows)})
    request.count("BatchRows", len(rows))
    return {"predictions": _predictions(model, x)}


ROUTES = {("GET", "/predict"): predict, ("POST", "/predict"): predict_batch}


def warm_up_requests(model) -> list[dict]:
    return [
        http_event("GET", "/predict", query={"x1": "1", "x2": "2"}),
        http_event("POST", "/predict", body={"rows": [[1, 2], [3, 4]]}),
    ]
