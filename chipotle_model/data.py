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

import numpy as np

from .geo import LATITUDE_RANGE, LONGITUDE_RANGE
from .numbers import DECIMAL as DECIMAL_NUMBER  # the API's number grammar, declared once
from .table import StoreTable

COLUMNS = ("state", "location", "address", "latitude", "longitude")
# Coordinates look swapped when most stores lie beyond this latitude (the polar regions,
# home to a fraction of a percent of people) and all would lie within it if exchanged.
POLAR_LATITUDE = 60.0


class DataError(ValueError):
    """The data set cannot be trained on; the message names the file, line and column."""


@dataclass(frozen=True)
class LoadedData:
    stores: StoreTable
    sha256: str
    rows_read: int
    duplicates_dropped: int
    warnings: tuple[str, ...] = ()  # the data loads, but looks wrong (see coordinate_warnings)


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
    warnings = tuple(coordinate_warnings(stores, source=str(path)))
    return LoadedData(stores, hashlib.sha256(raw).hexdigest(), rows_read, duplicates, warnings)


def coordinate_warnings(stores: StoreTable, *, source: str = "<data>") -> list[str]:
    """A warning when the latitude and longitude columns look swapped: more than half of
    the stores lie beyond POLAR_LATITUDE (north or south), and every store would lie within
    it if the two were exchanged (a US data set swapped lands in Antarctica)."""
    latitude = np.abs(np.asarray(stores.latitude, dtype=np.float64))
    longitude = np.abs(np.asarray(stores.longitude, dtype=np.float64))
    polar = latitude > POLAR_LATITUDE
    if polar.sum() * 2 <= len(latitude) or not np.all(longitude <= POLAR_LATITUDE):
        return []
    first = int(np.argmax(polar))
    return [
        f"{source}: {int(polar.sum()):,} of {len(latitude):,} stores lie beyond {POLAR_LATITUDE:g} "
        f"degrees of latitude (e.g. {stores.address[first]!r} at latitude "
        f"{stores.latitude[first]:g}, longitude {stores.longitude[first]:g}); are the latitude "
        "and longitude columns swapped?"
    ]


def parse_stores(text: str, *, source: str = "<data>") -> tuple[StoreTable, int, int]:
    """Validate CSV text; return (stores, data rows read, exact duplicates dropped)."""
    # strict: a quote left open is an error, not a field swallowing the rest of the file
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
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
        raise DataError(f"{source}, line 1: {_csv_problem(exc)}") from exc
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        positions = "; ".join(
            f"'{name}' is columns {', '.join(str(i + 1) for i, n in enumerate(header) if n == name)}"
            for name in repeated
        )
        raise DataError(f"{source}, line 1: duplicate column names ({positions}); each must appear once")
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
            raise DataError(f"{source}, line {start}: {_csv_problem(exc)}") from exc
        line = reader.line_num
        if row and any(field.strip() for field in row):  # blank lines carry no store
            yield start, row


def _csv_problem(error: csv.Error) -> str:
    if "unexpected end of data" in str(error):
        return "unterminated quote: a quoted field that starts in this record is never closed"
    return f"malformed CSV ({error})"


def _validate_record(row: list[str], position: dict[str, int], source: str, line: int) -> tuple:
    def fail(column: str, problem: str) -> DataError:
        return DataError(f"{source}, line {line}, column '{column}': {problem}")

    state, city, address = (row[position[name]].strip() for name in ("state", "location", "address"))
    if not address:
        raise fail("address", "empty address")
    coordinates = []
    for column, (low, high) in (("latitude", LATITUDE_RANGE), ("longitude", LONGITUDE_RANGE)):
        raw = row[position[column]].strip()
        if not DECIMAL_NUMBER.fullmatch(raw):
            raise fail(column, f"not a number: {_show(raw)} (expected decimal degrees such as -77.066176)")
        value = float(raw)
        if not math.isfinite(value):
            raise fail(column, f"not a finite number: {_show(raw)}")
        if not low <= value <= high:
            raise fail(column, f"{value:g} is outside [{low:g}, {high:g}]{_swap_hint(row, position)}")
        coordinates.append(value)
    return (state, city, address, coordinates[0], coordinates[1])


def _show(raw: str, limit: int = 40) -> str:
    return repr(raw if len(raw) <= limit else raw[:limit] + "...")


def _swap_hint(row: list[str], position: dict[str, int]) -> str:
    """A hint when exchanging this row's latitude and longitude would put both in range."""
    try:
        latitude, longitude = (float(row[position[name]]) for name in ("latitude", "longitude"))
    except ValueError:
        return ""
    if abs(longitude) <= 90 and abs(latitude) <= 180:
        return " (are the latitude and longitude columns swapped?)"
    return ""
