"""Reading and validating the store CSV: the only place raw data enters.

The standard library's csv reader is used (not pandas) so that every error can
name the exact line of the file, and so the serving side never needs pandas.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from pathlib import Path

from .geo import LATITUDE_RANGE, LONGITUDE_RANGE
from .table import StoreTable

COLUMNS = ("state", "location", "address", "latitude", "longitude")


class DataError(ValueError):
    """The data set cannot be trained on; the message names the file, line and column."""


@dataclass(frozen=True)
class LoadedData:
    stores: StoreTable
    sha256: str
    rows_read: int
    duplicates_dropped: int


def load_stores(path: str | Path) -> LoadedData:
    """Read, validate and de-duplicate the store CSV at `path`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the data file ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}, line {line}: not valid UTF-8 ({exc.reason})") from exc
    stores, rows_read, duplicates = parse_stores(text, source=str(path))
    return LoadedData(stores, hashlib.sha256(raw).hexdigest(), rows_read, duplicates)


def parse_stores(text: str, *, source: str = "<data>") -> tuple[StoreTable, int, int]:
    """Validate CSV text; return (stores, data rows read, exact duplicates dropped)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header, position = _header(reader, source)
    columns: dict[str, list] = {name: [] for name in COLUMNS}
    seen: set[tuple] = set()
    rows_read = duplicates = 0
    for line, row in _rows(reader, source):
        rows_read += 1
        if len(row) != len(header):
            raise DataError(
                f"{source}, line {line}: expected {len(header)} fields ({','.join(header)}), got {len(row)}"
            )
        record = _validate_record(row, position, source, line)
        if record in seen:
            duplicates += 1
            continue
        seen.add(record)
        for name, value in zip(COLUMNS, record):
            columns[name].append(value)
    if not columns["address"]:
        raise DataError(f"{source}: no stores: the file has a header but no data rows")
    table = StoreTable(
        state=columns["state"],
        city=columns["location"],
        address=columns["address"],
        latitude=columns["latitude"],
        longitude=columns["longitude"],
    )
    return table, rows_read, duplicates


def _header(reader, source: str) -> tuple[list[str], dict[str, int]]:
    """The header's column names, and the position of each of COLUMNS in it."""
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise DataError(f"{source}: the file is empty; expected a header {','.join(COLUMNS)}") from None
    except csv.Error as exc:
        raise DataError(f"{source}, line 1: malformed CSV ({exc})") from exc
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise DataError(
            f"{source}, line 1: missing column(s) {', '.join(missing)}; "
            f"the header must contain {','.join(COLUMNS)} (got {','.join(header)})"
        )
    return header, {name: header.index(name) for name in COLUMNS}


def _rows(reader, source: str):
    """(line where the record starts, fields) of every non-blank record after the header
    (a quoted field may span lines)."""
    line = reader.line_num
    while True:
        start = line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise DataError(f"{source}, line {start}: malformed CSV ({exc})") from exc
        line = reader.line_num
        if row and any(field.strip() for field in row):  # blank lines carry no store
            yield start, row


def _validate_record(row: list[str], position: dict[str, int], source: str, line: int) -> tuple:
    def fail(column: str, problem: str) -> DataError:
        return DataError(f"{source}, line {line}, column '{column}': {problem}")

    state, city, address = (row[position[name]].strip() for name in ("state", "location", "address"))
    if not address:
        raise fail("address", "empty address")
    coordinates = []
    for column, (low, high) in (("latitude", LATITUDE_RANGE), ("longitude", LONGITUDE_RANGE)):
        raw = row[position[column]].strip()
        try:
            value = float(raw)
        except ValueError:
            raise fail(column, f"not a number: {raw!r}") from None
        if not math.isfinite(value):
            raise fail(column, f"not a finite number: {raw!r}")
        if not low <= value <= high:
            raise fail(column, f"{value:g} is outside [{low:g}, {high:g}]")
        coordinates.append(value)
    return (state, city, address, coordinates[0], coordinates[1])
