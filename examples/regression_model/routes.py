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
from serving.inputs import ClientError, body_text, describe, json_document, show

if TYPE_CHECKING:  # the training image has no HTTP stack (serving.api needs Powertools)
    from serving.api import Request

MAX_ROWS = 1000
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
    if not math.isfinite(number):
        raise ClientError(400, f"{where} must be a finite number, got {show(str(value))}")
    return number


def _number(value: object, where: str) -> float:
    """A JSON number (not a string, not a boolean), finite."""
    if isinstance(value, str):
        raise ClientError(400, f"{where} must be a JSON number, got the string {show(value)}")
    return _finite(value, where)


def predict(model, request: Request) -> dict:
    params = request.event.query_string_parameters or {}
    missing = [name for name in ("x1", "x2") if name not in params]
    if missing:
        raise ClientError(
            400, f"missing query parameter {' and '.join(missing)}; usage: GET /predict?x1=..&x2=.."
        )
    point = [_finite(params[name], f"query parameter '{name}'") for name in ("x1", "x2")]
    request.log(query={"x1": point[0], "x2": point[1]})
    return {"prediction": float(model.predict(np.array([point]))[0])}


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
    return {"predictions": [float(y) for y in model.predict(x)]}


ROUTES = {("GET", "/predict"): predict, ("POST", "/predict"): predict_batch}


def warm_up_requests(model) -> list[dict]:
    return [
        http_event("GET", "/predict", query={"x1": "1", "x2": "2"}),
        http_event("POST", "/predict", body={"rows": [[1, 2], [3, 4]]}),
    ]
