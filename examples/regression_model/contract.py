"""The contract checks `python -m examples.regression_model smoke URL` runs before the
platform's: predictions agree with the formula the example data was generated from."""

from __future__ import annotations

import json

from serving.contract import Check, Contract, error_answer, expect, json_answer

from .data import true_y
from .routes import MAX_ROWS

TOLERANCE = 0.05  # the data's noise is 0.01: a fitted model is well within this
POINTS = [(0.0, 0.0), (1.5, -2.0), (-7.25, 4.0)]


def _close(got: object, x1: float, x2: float) -> None:
    want = true_y(x1, x2)
    expect(
        isinstance(got, (int, float)) and abs(got - want) <= TOLERANCE,
        f"y({x1}, {x2}) = {got!r}, expected {want}",
    )


def prediction(contract: Contract) -> None:
    for x1, x2 in POINTS:
        _close(
            json_answer(contract.request("GET", f"predict?x1={x1}&x2={x2}"), 200).get("prediction"), x1, x2
        )


def batch(contract: Contract) -> None:
    body = json.dumps({"rows": [list(p) for p in POINTS]}).encode()
    answer = contract.request("POST", "predict", body, {"Content-Type": "application/json"})
    predictions = json_answer(answer, 200).get("predictions")
    expect(isinstance(predictions, list) and len(predictions) == len(POINTS), f"predictions: {predictions!r}")
    for got, (x1, x2) in zip(predictions, POINTS):
        _close(got, x1, x2)


def documented_errors(contract: Contract) -> None:
    error_answer(contract, "GET", "predict?x1=1", None, 400, "x2")
    error_answer(contract, "GET", "predict?x1=one&x2=2", None, 400, "'x1'")
    error_answer(contract, "POST", "predict", b'{"rows": [[1, "nan"]]}', 400, "rows[0][1]")
    error_answer(
        contract, "POST", "predict", json.dumps({"rows": [[0, 0]] * (MAX_ROWS + 1)}).encode(), 413, "too many"
    )


CHECKS: list[Check] = [prediction, batch, documented_errors]
