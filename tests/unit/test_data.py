"""Loading the store CSV: every rejection names the line and the column."""

import pytest

from chipotle_model.data import DataError, load_stores, parse_stores

HEADER = "state,location,address,latitude,longitude"
GOOD = 'Maryland,Bethesda,"7600 Old Georgetown Rd Bethesda, MD 20814 US",38.98,-77.09'


def parse(*lines):
    return parse_stores("\n".join(lines) + "\n", source="stores.csv")


def test_the_real_csv_loads_whole(real_csv, real_store_count):
    loaded = load_stores(real_csv)
    assert len(loaded.stores) == loaded.rows_read == real_store_count
    assert loaded.duplicates_dropped == 0
    assert len(loaded.sha256) == 64


def test_a_valid_row_becomes_a_store():
    stores, rows, dropped = parse(HEADER, GOOD)
    assert (rows, dropped) == (1, 0)
    assert stores.city == ["Bethesda"]
    assert stores.address == ["7600 Old Georgetown Rd Bethesda, MD 20814 US"]
    assert (stores.latitude, stores.longitude) == ([38.98], [-77.09])


def test_columns_may_come_in_any_order_and_with_extras():
    stores, _, _ = parse("longitude,address,extra,latitude,location,state", "-77,A,x,39,C,S")
    assert (stores.address, stores.latitude, stores.longitude, stores.state) == (
        ["A"],
        [39.0],
        [-77.0],
        ["S"],
    )


@pytest.mark.parametrize(
    ("row", "column", "problem"),
    [
        ("S,C,,39,-77", "address", "empty address"),
        ("S,C,   ,39,-77", "address", "empty address"),
        ("S,C,A,north,-77", "latitude", "not a number: 'north'"),
        ("S,C,A,,-77", "latitude", "not a number: ''"),
        ("S,C,A,39,west", "longitude", "not a number: 'west'"),
        ("S,C,A,nan,-77", "latitude", "not a finite number"),
        ("S,C,A,39,inf", "longitude", "not a finite number"),
        ("S,C,A,90.5,-77", "latitude", "outside [-90, 90]"),
        ("S,C,A,-91,-77", "latitude", "outside [-90, 90]"),
        ("S,C,A,39,180.01", "longitude", "outside [-180, 180]"),
        ("S,C,A,39,-200", "longitude", "outside [-180, 180]"),
    ],
)
def test_bad_values_name_the_line_and_column(row, column, problem):
    with pytest.raises(DataError) as err:
        parse(HEADER, GOOD, GOOD.replace("7600", "7601"), row)
    message = str(err.value)
    assert f"stores.csv, line 4, column '{column}'" in message
    assert problem in message


def test_missing_columns_are_named():
    with pytest.raises(DataError, match=r"line 1: missing column\(s\) latitude, longitude"):
        parse("state,location,address", "S,C,A")


def test_a_row_with_the_wrong_number_of_fields_is_rejected():
    with pytest.raises(DataError, match="line 3: expected 5 fields"):
        parse(HEADER, GOOD, "S,C,A,39")


def test_line_numbers_count_physical_lines_of_multiline_quoted_fields():
    multiline = 'S,C,"1 Main St\nSuite 2",39,-77'
    with pytest.raises(DataError, match="line 4, column 'latitude'"):
        parse(HEADER, multiline, "S,C,B,x,-77")


@pytest.mark.parametrize("text", ["", HEADER + "\n", HEADER + "\n\n  \n"])
def test_an_empty_data_set_is_an_error(text):
    with pytest.raises(DataError, match=r"empty|no stores"):
        parse_stores(text, source="stores.csv")


def test_exact_duplicates_are_dropped_and_counted_but_same_place_other_address_is_kept():
    stores, rows, dropped = parse(HEADER, GOOD, GOOD, GOOD.replace("7600", "7602"))
    assert (len(stores), rows, dropped) == (2, 3, 1)


def test_a_byte_order_mark_and_crlf_line_ends_are_accepted(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(("\ufeff" + HEADER + "\r\n" + GOOD + "\r\n").encode())
    assert len(load_stores(path).stores) == 1


def test_unreadable_and_non_utf8_files_are_data_errors(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        load_stores(tmp_path / "absent.csv")
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "\n" + "S,Caf\xe9,A,39,-77\n").encode("latin-1"))
    with pytest.raises(DataError, match="line 2: not valid UTF-8"):
        load_stores(path)
