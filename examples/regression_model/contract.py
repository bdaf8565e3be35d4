"""The contract checks `python -m examples.regression_model smoke URL [--data DATA]` runs
before the platform's: predictions agree with the formula the example data was generated
from, and, with `--data`, with the y of rows of that data (deterministic, every
SAMPLE_STEP-th row), within the data's noise."""

from __future__ import annotations

import json
from pathlib import Path

from serving.contract import Check, Contract, error_answer, expect, json_answer, shown

from .data import read_rows, true_y
from .routes import MAX_ROWS

TOLERANCE = 0.05  # the data's noise is 0.01: a fitted model is well within this
POINTS = [(0.0, 0.0), (1.5, -2.0), (-7.25, 4.0)]
SAMPLE_STEP = 50  # with --data: rows 0, 50, 100, ... of the file


def _close(got: object, x1: float, x2: float, want: float) -> None:
    number = isinstance(got, (int, float)) and not isinstance(got, bool)
    expect(number and abs(got - want) <= TOLERANCE, f"y({x1}, {x2}) = {shown(got)}, expected {want}")


class RegressionContract:
    def __init__(self, expected: list[tuple[float, float, float]]):
        self.expected = expected  # (x1, x2, y)

    def prediction(self, contract: Contract) -> None:
        for x1, x2, want in self.expected:
            answer = json_answer(contract.request("GET", f"predict?x1={x1}&x2={x2}"), 200)
            _close(answer.get("prediction"), x1, x2, want)

    def batch(self, contract: Contract) -> None:
        body = json.dumps({"rows": [[x1, x2] for x1, x2, _ in self.expected]}).encode()
        answer = contract.request("POST", "predict", body, {"Content-Type": "application/json"})
        predictions = json_answer(answer, 200).get("predictions")
        expect(
            isinstance(predictions, list) and len(predictions) == len(self.expected),
            f"predictions: {shown(predictions)}, expected {len(self.expected)}",
        )
        for got, (x1, x2, want) in zip(predictions, self.expected):
            _close(got, x1, x2, want)

    @staticmethod
    def documented_errors(contract: Contract) -> None:
        error_answer(contract, "GET", "predict?x1=1", None, 400, "x2")
        error_answer(contract, "GET", "predict?x1=one&x2=2", None, 400, "'x1'")
        error_answer(contract, "POST", "predict", b'{"rows": [[1, "nan"]]}', 400, "rows[0][1]")
        error_answer(
            contract,
            "POST",
            "predict",
            json.dumps({"rows": [[0, 0]] * (MAX_ROWS + 1)}).encode(),
            413,
            "too many",
        )


def contract_checks(data: Path | None = None) -> list[Check]:
    """The checks: against the generating formula, and the rows of `data` when given
    (DataError when it cannot be read)."""
    expected = [(x1, x2, true_y(x1, x2)) for x1, x2 in POINTS]
    if data is not None:
        rows = read_rows(Path(data))
        expected += [
            (float(x1), float(x2), float(y))
            for (x1, x2), y in zip(rows.x[::SAMPLE_STEP], rows.y[::SAMPLE_STEP])
        ]
    checks = RegressionContract(expected)
    return [checks.prediction, checks.batch, checks.documented_errors]
