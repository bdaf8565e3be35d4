"""Loading the store CSV: every rejection names the line and the column."""

import pytest

from chipotle_model.data import DataError, coordinate_warnings, load_stores, parse_stores

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
        ("S,C,A,nan,-77", "latitude", "not a number: 'nan'"),
        ("S,C,A,39,inf", "longitude", "not a number: 'inf'"),
        ("S,C,A,1e999,-77", "latitude", "not a finite number: '1e999'"),
        # the API's number grammar: what it refuses in a query, training refuses in the data
        ("S,C,A,3_9.1,-77", "latitude", "not a number: '3_9.1'"),
        ("S,C,A,\uff13\uff19,-77", "latitude", "not a number: '\uff13\uff19'"),
        ("S,C,A,0x1p5,-77", "latitude", "not a number: '0x1p5'"),
        ("S,C,A,39,-77 W", "longitude", "not a number: '-77 W'"),
        ("S,C,A," + "9" * 5000 + ",-77", "latitude", "not a finite number: '9999999999"),
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


@pytest.mark.parametrize("number", ["39", "+39.5", "39.", ".5", "-0.25e1", "3.9E+1"])
def test_decimal_numbers_in_every_form_the_api_accepts_are_read(number):
    stores, _, _ = parse(HEADER, f"S,C,A,{number},-77")
    assert stores.latitude == [float(number)]


def test_a_huge_number_is_refused_without_the_interpreters_digit_limit_message():
    with pytest.raises(DataError) as err:
        parse(HEADER, "S,C,A,39," + "1" * 5000)
    assert "digits" not in str(err.value) and len(str(err.value)) < 200


def test_a_duplicated_column_is_refused_with_its_positions():
    with pytest.raises(DataError, match=r"line 1: duplicate column names \('latitude' is columns 4, 6\)"):
        parse(HEADER + ",latitude", "S,C,A,39,-77,10")


def test_an_unterminated_quote_is_named_as_such_at_the_line_it_opens():
    with pytest.raises(DataError, match=r"stores.csv, line 3: unterminated quote"):
        parse(HEADER, GOOD, 'S,C,"1 Main St,39,-77', "S,C,B,40,-78")


def test_a_latitude_out_of_range_that_would_fit_as_a_longitude_hints_at_swapped_columns():
    with pytest.raises(DataError, match=r"-122.4 is outside \[-90, 90\] \(are the latitude and longitude"):
        parse(HEADER, "S,C,A,-122.4,37.8")


def test_swapped_coordinates_are_a_warning_not_an_error(real_csv, tmp_path):
    """The real (US) data with its coordinate columns exchanged, keeping the stores east
    of 90 W, whose longitudes are valid latitudes: they land in Antarctica."""
    lines = real_csv.read_text().splitlines()
    header = lines[0].split(",")
    swapped = lines[0].replace("latitude", "LAT").replace("longitude", "latitude").replace("LAT", "longitude")
    east = [line for line in lines[1:] if -90 <= float(line.rsplit(",", 1)[1]) <= 0]
    assert len(east) > 1000 and header[-2:] == ["latitude", "longitude"]
    path = tmp_path / "swapped.csv"
    path.write_text("\n".join([swapped, *east]) + "\n")
    loaded = load_stores(path)
    assert len(loaded.stores) == len(east)
    [warning] = loaded.warnings
    assert f"{len(east):,} of {len(east):,} stores lie beyond 60 degrees of latitude" in warning
    assert "swapped" in warning and str(path) in warning
    assert load_stores(real_csv).warnings == ()


def test_stores_mostly_near_the_poles_but_not_swappable_raise_no_warning():
    stores, _, _ = parse(HEADER, "S,C,A,78.2,15.6", "S,C,B,-77.8,166.7", "S,C,D,69.6,18.9")
    assert coordinate_warnings(stores) == []  # Svalbard, McMurdo, Tromso: 166.7 is no latitude


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
