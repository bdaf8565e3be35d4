"""The store table, columnar: coordinates as float64 arrays, strings as one UTF-8 blob each.

A million stores are a few large arrays, not millions of Python objects, so the artifact
loads in a few large reads and its memory is the data's own size. Numpy only: the
serving side (and a handler without scikit-learn) can read it.
"""

from __future__ import annotations

import codecs
import itertools
import operator
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

STRING_COLUMNS = ("state", "city", "address")
NUMBER_COLUMNS = ("latitude", "longitude")
_CHUNK = 1 << 24  # check_utf8 decodes this many bytes at a time
_FEW = 8  # up to this many strings, StringColumn.take reads offsets one by one (measured)


class StringColumn(Sequence[str]):
    """n strings as one UTF-8 blob and n + 1 offsets: string i is blob[offsets[i]:offsets[i + 1]].

    Chosen by measurement over numpy fixed-width bytes, numpy's variable-width StringDType
    and a Python list (`python -m bench.scale --strings`): by far the fastest to load,
    about the data's own size on disk and in memory, and reading k strings costs O(k)
    whatever n is.
    """

    __slots__ = ("_blob", "_offsets")

    def __init__(self, blob: bytes, offsets: np.ndarray):
        blob = bytes(blob)  # the same object when it is bytes already; a buffer (numpy) is copied
        offsets = np.asarray(offsets)
        if offsets.ndim != 1 or len(offsets) < 1 or offsets.dtype.kind not in "iu":
            raise ValueError("offsets must be a 1-D integer array of n + 1 positions")
        if offsets[0] != 0 or offsets[-1] != len(blob) or np.any(np.diff(offsets) < 0):
            raise ValueError(f"offsets must rise from 0 to the blob's length ({len(blob)})")
        self._blob = blob
        self._offsets = offsets.astype(np.int64, copy=False)

    @classmethod
    def from_strings(cls, strings: Iterable[str]) -> StringColumn:
        encoded = [s.encode("utf-8") for s in strings]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
        return cls(b"".join(encoded), offsets)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.take(np.arange(len(self))[index])
        i = operator.index(index)
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"string index {i} out of range for {n} strings")
        start, stop = self._offsets[i % n : i % n + 2].tolist()
        return self._blob[start:stop].decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        blob, bounds = self._blob, self._offsets.tolist()
        return (blob[a:b].decode("utf-8") for a, b in itertools.pairwise(bounds))

    def take(self, indices) -> list[str]:
        """The strings at `indices` (a 1-D integer array), in that order: O(len(indices))."""
        indices = np.asarray(indices, dtype=np.intp)
        blob, offsets = self._blob, self._offsets
        if len(indices) <= _FEW:  # one answer's stores: scalar reads beat fancy indexing
            return [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in indices.tolist()]
        starts, stops = offsets[indices].tolist(), offsets[indices + 1].tolist()
        return [blob[a:b].decode("utf-8") for a, b in zip(starts, stops)]

    def __eq__(self, other) -> bool:
        if isinstance(other, StringColumn):
            return self._blob == other._blob and np.array_equal(self._offsets, other._offsets)
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # mutable-looking sequence semantics: not hashable, like a list

    def __repr__(self) -> str:
        head = ", ".join(repr(s) for s in self.take(np.arange(min(3, len(self)))))
        return f"StringColumn([{head}{', ...' if len(self) > 3 else ''}], n={len(self)})"

    def check_utf8(self) -> None:
        """ValueError unless every string is valid UTF-8: the blob is, and no offset falls
        inside a character (on a continuation byte, 0b10xxxxxx)."""
        decoder = codecs.getincrementaldecoder("utf-8")()
        view = memoryview(self._blob)
        for start in range(0, len(view), _CHUNK):  # in chunks: no copy of the whole blob
            decoder.decode(view[start : start + _CHUNK], final=start + _CHUNK >= len(view))
        starts = self._offsets[:-1][self._offsets[:-1] < len(self._blob)]
        inside = np.flatnonzero(np.frombuffer(self._blob, dtype=np.uint8)[starts] & 0xC0 == 0x80)
        if len(inside):
            raise ValueError(f"string {int(inside[0])} starts inside a UTF-8 character")

    @property
    def blob(self) -> bytes:
        """Every string, UTF-8 encoded, one after the other."""
        return self._blob

    @property
    def offsets(self) -> np.ndarray:
        """int64, n + 1: string i is blob[offsets[i]:offsets[i + 1]]."""
        return self._offsets

    @property
    def nbytes(self) -> int:
        return len(self._blob) + self._offsets.nbytes


@dataclass(frozen=True, eq=False)
class StoreTable:
    """The stores, one row per store, stored by column. Built from any sequences (lists
    from the CSV reader, say); the fields are then StringColumns and float64 arrays."""

    state: StringColumn
    city: StringColumn  # the CSV's `location` column
    address: StringColumn
    latitude: np.ndarray
    longitude: np.ndarray

    def __post_init__(self) -> None:
        for name in STRING_COLUMNS:
            value = getattr(self, name)
            if not isinstance(value, StringColumn):
                object.__setattr__(self, name, StringColumn.from_strings(value))
        for name in NUMBER_COLUMNS:
            object.__setattr__(self, name, np.ascontiguousarray(getattr(self, name), dtype=np.float64))
        lengths = {name: len(getattr(self, name)) for name in STRING_COLUMNS + NUMBER_COLUMNS}
        if len(set(lengths.values())) != 1 or self.latitude.ndim != 1 or self.longitude.ndim != 1:
            raise ValueError(f"the store table's columns must be 1-D and of one length, got {lengths}")

    def __len__(self) -> int:
        return len(self.latitude)

    def __eq__(self, other) -> bool:
        if not isinstance(other, StoreTable):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in STRING_COLUMNS) and all(
            np.array_equal(getattr(self, name), getattr(other, name)) for name in NUMBER_COLUMNS
        )

    __hash__ = None

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in STRING_COLUMNS + NUMBER_COLUMNS)

    def to_arrays(self) -> dict[str, np.ndarray | bytes]:
        """Every column as a few large plain values, what the artifact stores: `<name>` (float64
        array) for the coordinates; `<name>_utf8` (bytes: pickled and read back in one piece,
        no copy) and `<name>_offsets` (int64 array) for the strings."""
        arrays: dict[str, np.ndarray | bytes] = {name: getattr(self, name) for name in NUMBER_COLUMNS}
        for name in STRING_COLUMNS:
            column = getattr(self, name)
            arrays[f"{name}_utf8"], arrays[f"{name}_offsets"] = column.blob, column.offsets
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray | bytes]) -> StoreTable:
        """The inverse of `to_arrays` (a blob may also come as a uint8 array, as from np.load);
        KeyError or ValueError when a column is missing or malformed."""
        strings = {
            name: StringColumn(arrays[f"{name}_utf8"], arrays[f"{name}_offsets"]) for name in STRING_COLUMNS
        }
        return cls(**strings, **{name: arrays[name] for name in NUMBER_COLUMNS})
