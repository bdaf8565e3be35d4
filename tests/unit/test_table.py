"""The columnar store table: strings as one UTF-8 blob plus offsets, coordinates as arrays."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chipotle_model.table import StoreTable, StringColumn

VALUES = ["7600 Old Georgetown Rd", "", "Straße des 17. Juni", "東京都", "", "🌮 Taco Ave", "x"]


def test_a_string_column_gives_back_every_string_by_index_and_in_order():
    column = StringColumn.from_strings(VALUES)
    assert len(column) == len(VALUES)
    assert [column[i] for i in range(len(VALUES))] == VALUES
    assert [column[-i] for i in range(1, len(VALUES) + 1)] == VALUES[::-1]
    assert list(column) == VALUES
    assert column[1:4] == VALUES[1:4]
    assert column.take(np.array([5, 0, 5, 3])) == [VALUES[5], VALUES[0], VALUES[5], VALUES[3]]
    assert column == VALUES and column != VALUES[:-1] and column != [*VALUES[:-1], "y"]


def test_a_string_column_is_one_utf8_blob_and_n_plus_1_offsets():
    column = StringColumn.from_strings(VALUES)
    assert column.blob == "".join(VALUES).encode("utf-8")
    assert column.offsets.dtype == np.int64
    assert column.offsets.tolist() == np.cumsum([0] + [len(v.encode()) for v in VALUES]).tolist()
    assert column.nbytes == len(column.blob) + column.offsets.nbytes


@given(st.lists(st.text(), max_size=30))
def test_any_strings_round_trip_through_the_blob_and_offsets(strings):
    column = StringColumn.from_strings(strings)
    again = StringColumn(column.blob, column.offsets)
    assert again._blob is column.blob  # bytes are taken as they are, not copied
    assert list(again) == strings and again == column
    from_numpy = StringColumn(np.frombuffer(column.blob, dtype=np.uint8), column.offsets)
    assert list(from_numpy) == strings


def test_out_of_range_indices_and_malformed_offsets_are_refused():
    column = StringColumn.from_strings(["a", "b"])
    for i in (2, -3):
        with pytest.raises(IndexError, match="out of range for 2 strings"):
            column[i]
    for offsets in ([0, 1], [1, 2], [0, 2, 1], [0, 1, 3]):
        with pytest.raises(ValueError, match="offsets must rise from 0"):
            StringColumn(b"ab", np.array(offsets))
    with pytest.raises(ValueError, match="1-D integer array"):
        StringColumn(b"ab", np.array([0.0, 2.0]))


def test_a_table_made_from_lists_is_columnar_and_round_trips_through_arrays():
    table = StoreTable(
        state=["", "Bayern", "Tōkyō"],
        city=["Bethesda", "", "東京"],
        address=["1 a st", "Straße 2", "3 丁目"],
        latitude=[38.98, 48.1, 35.7],
        longitude=[-77.09, 11.6, 139.7],
    )
    assert isinstance(table.address, StringColumn)
    assert table.latitude.dtype == np.float64 and table.longitude.flags.c_contiguous
    again = StoreTable.from_arrays(table.to_arrays())
    assert again == table
    assert list(again.state) == ["", "Bayern", "Tōkyō"] and list(again.city) == ["Bethesda", "", "東京"]
    assert again.latitude.tolist() == [38.98, 48.1, 35.7]


def test_a_table_with_columns_of_different_lengths_is_refused():
    with pytest.raises(ValueError, match="one length"):
        StoreTable(state=["a"], city=["b"], address=["c", "d"], latitude=[1.0], longitude=[2.0])
    arrays = StoreTable(state=["a"], city=["b"], address=["c"], latitude=[1.0], longitude=[2.0]).to_arrays()
    with pytest.raises(KeyError):
        StoreTable.from_arrays({k: v for k, v in arrays.items() if k != "city_offsets"})
