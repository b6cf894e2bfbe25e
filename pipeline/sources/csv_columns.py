"""Big CSV members read in columns: blocks of whole lines parsed by Arrow's multi-threaded CSV reader.

The row reader (:func:`pipeline.sources.textfiles.csv_rows`) is exact about damage but reads about a
hundred thousand rows a second. Here a UTF-8 member is cut into blocks of whole lines, and a block is
taken in columns when Arrow reads exactly one row per line (Arrow never makes more rows than lines and
skips blank ones, so as many rows as lines means no quoted line break, no blank line, no row of another
width) and it holds no NUL byte and no field over the row reader's limit: then Arrow's cells are the
cells the row reader would read, and row ``i`` of the block is line ``first_line + i``. A block that is
not plain is read by the row reader alone when it holds no quote character (each of its lines is a row
of its own); when it does, or holds a lone ``\r`` (a line break to the row reader), the rest of the
member is read by the row reader, since only it can tell how far an open quote reaches. Members in
other encodings are read by the row reader whole. ``tests/test_csv_columns.py`` compares both readers
on hostile files cut into tiny blocks.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipeline.delivery import Delivery
from pipeline.sources.base import ColumnBatch, Columns, Extracted, RecordKind, Rejected
from pipeline.sources.textfiles import (
    MAX_FIELD_CHARS,
    csv_dict_rows,
    detect_encoding,
    dict_rows,
    head_text,
    rows_of_lines,
    sniff_delimiter,
)

BLOCK_BYTES = 16 * 1024 * 1024
# Arrow parses a block in pieces of this size, side by side on every core.
ARROW_BLOCK_BYTES = 1024 * 1024
UTF8_ENCODINGS = ("utf-8", "utf-8-sig")
# Distinct cell values remembered per column while a member is read; cleared when full.
MEMO_LIMIT = 1_000_000


@dataclass(frozen=True)
class StringBlock:
    """Rows of a member as text columns named after the header: row ``i`` is line ``first_line + i``."""

    first_line: int
    table: pa.Table

    def location(self, row: int) -> str:
        return f"line {self.first_line + row}"

    def row(self, row: int) -> dict[str, str]:
        values: dict[str, str] = self.table.slice(row, 1).to_pylist()[0]
        return values


Row = tuple[str, dict[str, str]]


def csv_blocks(
    delivery: Delivery, member: str, header: list[str], block_bytes: int = BLOCK_BYTES
) -> Iterator[StringBlock | Row | Rejected]:
    """The rows after the header of a CSV member, as :class:`StringBlock` where its lines are plain and as
    :func:`~pipeline.sources.textfiles.csv_dict_rows` gives them elsewhere (the same rows, places and
    damage the row reader alone would give)."""
    encoding = detect_encoding(delivery, member)
    if encoding not in UTF8_ENCODINGS or len(set(header)) != len(header):
        with csv_dict_rows(delivery, member, header) as rows:
            yield from rows
        return
    delimiter = sniff_delimiter(head_text(delivery, member))
    reader = _BlockReader(header, delimiter, member)
    with delivery.open(member) as raw:
        start = raw.read(block_bytes).removeprefix(b"\xef\xbb\xbf")
        header_end = start.find(b"\n") + 1
        if not header_end or not _one_line_header(start[:header_end], delimiter):
            yield from reader.rest_as_rows(start, raw, first_line=1, skip_header=True)
            return
        carry, line = start[header_end:], 2
        while True:
            chunk = raw.read(block_bytes)
            cut = chunk.rfind(b"\n") + 1 if chunk else len(carry)
            if chunk and not cut:  # no line ends in this chunk
                carry += chunk
                if len(carry) > 4 * block_bytes:  # a line of over four blocks: the row reader decides
                    yield from reader.rest_as_rows(carry, raw, first_line=line)
                    return
                continue
            block, carry = (carry + chunk[:cut], chunk[cut:]) if chunk else (carry, b"")
            if not block:
                return
            lines = block.count(b"\n")
            if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
                # A lone CR, a line break to the row reader: it reads on from here.
                yield from reader.rest_as_rows(block + carry, raw, first_line=line)
                return
            table = reader.columns(block, lines + (not block.endswith(b"\n")))
            if table is not None:
                yield StringBlock(line, table)
            elif b'"' in block:  # a quote may open a row over several lines, beyond this block too
                yield from reader.rest_as_rows(block + carry, raw, first_line=line)
                return
            else:  # every line a row of its own, some of them damaged
                yield from reader.rows(block, line)
            line += lines


def _one_line_header(line: bytes, delimiter: str) -> bool:
    """Whether the header is this line alone: each of its cells unquoted, or quoted whole."""
    cells = line.rstrip(b"\r\n").split(delimiter.encode())
    return all(
        b'"' not in cell or (len(cell) >= 2 and cell[:1] == cell[-1:] == b'"' and b'"' not in cell[1:-1])
        for cell in cells
    ) and b"\r" not in line.rstrip(b"\r\n")


class _BlockReader:
    def __init__(self, header: list[str], delimiter: str, member: str) -> None:
        self.header = header
        self.member = member
        self.delimiter = delimiter
        self._read_options = pacsv.ReadOptions(
            column_names=header, use_threads=True, block_size=ARROW_BLOCK_BYTES
        )
        self._convert_options = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )

    def columns(self, block: bytes, lines: int) -> pa.Table | None:
        """A block of ``lines`` whole lines as text columns, or ``None`` unless each line is one plain row
        (Arrow never makes more rows than lines and skips blank ones, so as many rows as lines means no
        row spans lines and no line is blank)."""
        if b"\x00" in block:
            return None
        invalid: list[pacsv.InvalidRow] = []

        def skip(row: pacsv.InvalidRow) -> str:
            invalid.append(row)
            return "skip"

        parse_options = pacsv.ParseOptions(
            delimiter=self.delimiter,
            newlines_in_values=False,
            invalid_row_handler=skip,
        )
        try:
            table = pacsv.read_csv(
                pa.py_buffer(block),
                read_options=self._read_options,
                parse_options=parse_options,
                convert_options=self._convert_options,
            )
        except pa.ArrowInvalid:  # not UTF-8 after all (a BOM promised it), say
            return None
        if (
            invalid
            or table.num_rows != lines
            or any(
                (longest := pc.max(pc.binary_length(column)).as_py()) is not None
                and longest > MAX_FIELD_CHARS
                for column in table.columns
            )
        ):
            return None
        return table

    def rows(self, block: bytes, first_line: int) -> Iterator[Row | Rejected]:
        """A block of whole lines, each a row of its own, by the row reader."""
        text = io.StringIO(block.decode("utf-8", errors="replace"), newline="")
        rows = rows_of_lines(text, self.member, self.delimiter, width=len(self.header), first_line=first_line)
        yield from dict_rows(rows, self.member, self.header)

    def rest_as_rows(
        self, start: bytes, raw: IO[bytes], *, first_line: int, skip_header: bool = False
    ) -> Iterator[Row | Rejected]:
        """The rest of the member (``start`` and what ``raw`` still holds) by the row reader."""
        text = io.TextIOWrapper(
            io.BufferedReader(_Prefixed(start, raw)), encoding="utf-8", errors="replace", newline=""
        )
        rows = rows_of_lines(
            text,
            self.member,
            self.delimiter,
            skip_header=skip_header,
            width=None if skip_header else len(self.header),
            first_line=first_line,
        )
        yield from dict_rows(rows, self.member, self.header)


class _Prefixed(io.RawIOBase):
    """``prefix`` followed by what ``rest`` still holds, as one stream."""

    def __init__(self, prefix: bytes, rest: IO[bytes]) -> None:
        self._prefix = memoryview(prefix)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._prefix:
            size = min(len(buffer), len(self._prefix))
            buffer[:size] = self._prefix[:size]
            self._prefix = self._prefix[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class Invalid:
    """A cell value the format's row function rejects."""


INVALID = Invalid()
RowFunction = Callable[[dict[str, str], str], Extracted]


def invalid_on_error[T](parse: Callable[[str], T]) -> Callable[[str], T | Invalid]:
    """``parse`` for :meth:`BlockDecoder.decoded`: a cell it refuses (``ValueError``) rejects its row."""

    def decode(cell: str) -> T | Invalid:
        try:
            return parse(cell)
        except ValueError:
            return INVALID

    return decode


class BlockDecoder:
    """A :class:`StringBlock`'s columns decoded one at a time, each distinct cell value once (exports repeat
    their days, pages and flags), remembered across the blocks of a member in ``memos``; and the rows some
    column rejected, which :meth:`batch` sends through the format's row function for their reasons."""

    def __init__(self, block: StringBlock, memos: dict[str, dict[str, object]]) -> None:
        self.block = block
        self.table = block.table
        self.rejected = np.zeros(block.table.num_rows, dtype=bool)
        self._memos = memos
        self._encoded: dict[str, pa.DictionaryArray] = {}

    def decoded(
        self,
        name: str,
        column: str | pa.Array,
        decode: Callable[[str], object],
        kind: pa.DataType,
        *,
        remember: bool = True,
    ) -> pa.Array:
        """``decode`` of each cell of ``column`` (a column's name, or text derived from the block's cells
        row by row: a dictionary array keeps its dictionary) (INVALID rejects the row), as an array of
        ``kind``; text as a dictionary (each distinct value once, as far as the lake writer). ``name`` keys
        the memo; ``remember=False`` for values that rarely repeat across blocks."""
        if isinstance(column, pa.DictionaryArray):
            encoded = column
        elif isinstance(column, pa.Array):
            encoded = column.dictionary_encode()
        elif (encoded := self._encoded.get(column)) is None:
            encoded = self._encoded[column] = self.table.column(column).combine_chunks().dictionary_encode()
        memo = self._memos.setdefault(name, {}) if remember else {}
        if len(memo) > MEMO_LIMIT:
            memo.clear()
        values = []
        for cell in encoded.dictionary.to_pylist():
            found = memo.get(cell, memo)
            if found is memo:
                found = memo[cell] = None if cell is None else decode(cell)  # NULL: decoded already
            values.append(found)
        invalid = np.array([value is INVALID for value in values], dtype=bool)
        distinct = pa.array([None if value is INVALID else value for value in values], type=kind)
        indices = encoded.indices
        np.logical_or(self.rejected, invalid[indices.to_numpy(zero_copy_only=False)], out=self.rejected)
        if pa.types.is_string(kind):
            return pa.DictionaryArray.from_arrays(indices, distinct)
        return distinct.take(indices)

    def reject(self, rows: pa.Array) -> None:
        """Reject the rows where ``rows`` (booleans, one per row) is true."""
        np.logical_or(self.rejected, rows.to_numpy(zero_copy_only=False), out=self.rejected)

    def batch(
        self, kind: RecordKind, values: dict[str, pa.Array | object], row: RowFunction
    ) -> Iterator[Extracted | ColumnBatch]:
        """The rejected rows through ``row`` (row values, place), then the others as one column batch."""
        keep = ~self.rejected
        if self.rejected.any():
            for number in np.flatnonzero(self.rejected).tolist():
                yield row(self.block.row(number), self.block.location(number))
            mask = pa.array(keep)
            values = {
                name: value.filter(mask) if isinstance(value, pa.Array) else value
                for name, value in values.items()
            }
        rows = int(keep.sum())
        if rows:
            yield ColumnBatch(kind, Columns(rows, values))
