"""The training CSV (x1,x2,y): read with the csv module, errors naming line and column;
and the example data set, generated deterministically when the default file is absent."""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

COLUMNS = ("x1", "x2", "y")
DEFAULT_DATA_PATH = Path("data/regression.csv")
GENERATED_ROWS = 500
GENERATED_SEED = 20240101
NOISE = 0.01


def true_y(x1: float, x2: float) -> float:
    """The formula the example data is generated from (the contract checks against it)."""
    return 3.0 * x1 - 2.0 * x2 + 1.0


class DataError(ValueError):
    """The data cannot be trained on; the message names the file, line and column."""


@dataclass(frozen=True)
class Rows:
    x: np.ndarray  # (n, 2)
    y: np.ndarray  # (n,)
    sha256: str


def generate_csv(path: Path, rows: int = GENERATED_ROWS, seed: int = GENERATED_SEED) -> Path:
    """Write `rows` rows of y = 3 x1 - 2 x2 + 1 + noise: the same bytes every time."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-10, 10, (rows, 2))
    y = true_y(x[:, 0], x[:, 1]) + rng.normal(0, NOISE, rows)
    lines = [",".join(COLUMNS)] + [f"{a:.6f},{b:.6f},{c:.6f}" for (a, b), c in zip(x, y)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def ensure_data(path: Path, say=print) -> Path:
    """`path`, generated first when it is absent and is the default data file
    (DEFAULT_DATA_PATH, relative to the project directory or under it)."""
    path = Path(path)
    if path.parts[-2:] == DEFAULT_DATA_PATH.parts and not path.is_file():
        say(f"generating the example data set ({GENERATED_ROWS} rows, y = 3 x1 - 2 x2 + 1 + noise) at {path}")
        generate_csv(path)
    return path


def read_rows(path: Path) -> Rows:
    """The CSV's rows as arrays; DataError naming the line and column of the first bad value."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    reader = csv.reader(raw.decode("utf-8", errors="replace").splitlines())
    header = next(reader, None)
    if header is None or [name.strip() for name in header] != list(COLUMNS):
        raise DataError(f"{path} line 1: the header is {header}, expected {','.join(COLUMNS)}")
    values = []
    for line, row in enumerate(reader, start=2):
        if len(row) != len(COLUMNS):
            raise DataError(f"{path} line {line}: {len(row)} columns, expected {len(COLUMNS)}")
        values.append([_number(path, line, column, text) for column, text in zip(COLUMNS, row)])
    if len(values) < 10:
        raise DataError(f"{path}: {len(values)} data rows, at least 10 are needed")
    array = np.array(values)
    return Rows(array[:, :2], array[:, 2], hashlib.sha256(raw).hexdigest())


def _number(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise DataError(f"{path} line {line} column {column}: {text!r} is not a finite number")
    return value
