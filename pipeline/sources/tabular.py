"""Tables from business exports: CSV or spreadsheet rows, headers matched through alias tables.

Marketers' exports rename and translate their columns, put a description line above the header,
add a ``Total`` row, write ``1,240`` or ``1.240`` for a count and ``3,5 %`` for a rate. Columns are
therefore found by name (normalised, case-insensitive, through per-format alias tables), never by
position, and numbers and dates are read leniently but never guessed from nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from dateutil import parser as date_parser
from python_calamine import CalamineError, CalamineWorkbook

from pipeline.delivery import Delivery, LimitExceeded, UnreadableDelivery
from pipeline.sources.base import HeaderLayout, MalformedInput, Rejected
from pipeline.sources.textfiles import csv_rows

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls")
MAX_HEADER_SEARCH_ROWS = 10
MAX_SPREADSHEET_BYTES = 100 * 1024**2
# Cells a sheet may span from A1 to its last cell (rows x columns): a real analytics export holds a
# few thousand; one cell written at the far corner (XFD1048576) would span 17 billion.
MAX_SHEET_CELLS = 20_000_000
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
# First cells that mark a summary row, in the languages the exports come in.
TOTAL_LABELS = frozenset({"total", "totals", "gesamt", "insgesamt", "summe", "totale", "totaal", "totalt"})
MAX_COUNT = 2**63 - 1  # the lake's int64
MISSING = frozenset({"", "-", "–", "—", "--", "n/a", "na", "null", "none"})

Cell = str | int | float | bool | dt.date | dt.datetime | dt.time | dt.timedelta | None

_GROUPED_COUNT = re.compile(r"[+-]?\d{1,3}(?:([,.\u00a0\u202f' ])\d{3})(?:\1\d{3})*")
_PLAIN_INTEGER = re.compile(r"[+-]?\d+")
_PLAIN_DECIMAL = re.compile(r"[+-]?\d*[.,]\d+")
_HAS_YEAR = re.compile(r"\d{4}|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2}\b")


def normalise_name(name: object) -> str:
    """A header cell as compared: NFKC, no BOM or quotes, single spaces, case-folded."""
    text = unicodedata.normalize("NFKC", str(name or "")).replace("\ufeff", "")
    return " ".join(text.strip().strip('"').split()).casefold()


class HeaderMatcher(Protocol):
    def match(self, header: Sequence[Cell]) -> dict[str, int] | None: ...


class AliasTable:
    """The names each field goes by across versions and languages; ``required`` fields identify the export."""

    def __init__(self, aliases: Mapping[str, Sequence[str]], required: Sequence[str]) -> None:
        self.spellings = {field: tuple(names) for field, names in aliases.items()}
        self.aliases = {
            field: tuple(normalise_name(name) for name in names) for field, names in aliases.items()
        }
        self.required = tuple(required)

    def layout(self, table: str | None = None) -> HeaderLayout:
        """The required fields as a :class:`HeaderLayout`, each with its names as exports spell them."""
        return HeaderLayout(tuple(self.spellings[field] for field in self.required), normalise_name, table)

    def match(self, header: Sequence[Cell]) -> dict[str, int] | None:
        """Column position of each known field (the first alias present wins), or ``None`` when a required
        field is missing."""
        positions: dict[str, int] = {}
        for position, cell in enumerate(header):
            positions.setdefault(normalise_name(cell), position)
        columns: dict[str, int] = {}
        for field, aliases in self.aliases.items():
            found = next((positions[alias] for alias in aliases if alias in positions), None)
            if found is not None:
                columns[field] = found
        return columns if all(field in columns for field in self.required) else None


@dataclass(frozen=True)
class TableRow:
    location: str
    cells: list[Cell]

    def get(self, columns: Mapping[str, int], field: str) -> Cell:
        position = columns.get(field)
        if position is None or position >= len(self.cells):
            return None
        return self.cells[position]

    def text(self, columns: Mapping[str, int], field: str) -> str:
        value = self.get(columns, field)
        return "" if value is None else str(value).strip()


@dataclass(frozen=True)
class Table:
    """One CSV member or one sheet, its header located through an alias table."""

    member: str
    sheet: str | None
    columns: dict[str, int]
    header: list[str]
    rows: Iterator[TableRow | Rejected]  # damage found while reading comes as Rejected, in its place


def is_table_member(delivery: Delivery, member: str) -> bool:
    return delivery.kind == "file" or member.lower().endswith(TABLE_SUFFIXES)


def spreadsheet_kind(delivery: Delivery, member: str) -> str | None:
    head = delivery.head(member, 8)
    if head.startswith(XLSX_MAGIC):
        return "xlsx"
    if head.startswith(XLS_MAGIC):
        return "xls"
    return None


SheetRows = Iterator[tuple[str, list[Cell]] | Rejected]


def _csv_sheet(rows: Iterator[tuple[int, list[str]] | Rejected]) -> SheetRows:
    for row in rows:
        yield row if isinstance(row, Rejected) else (f"line {row[0]}", list(row[1]))


def _sheets(delivery: Delivery, member: str) -> Iterator[tuple[str | None, SheetRows]]:
    """(sheet name, rows with their location) for each sheet; a CSV is one unnamed sheet."""
    if spreadsheet_kind(delivery, member) is None:
        with csv_rows(delivery, member, skip_header=False) as rows:
            yield None, _csv_sheet(rows)
        return
    size = delivery.size_of(member)
    if size > MAX_SPREADSHEET_BYTES:
        raise MalformedInput(member, "whole file", f"{size} bytes exceed the spreadsheet limit")
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(delivery.read(member)))
    except (CalamineError, ValueError, OSError) as exc:
        raise MalformedInput(member, "whole file", f"unreadable spreadsheet ({exc})") from exc
    with workbook:
        for name in workbook.sheet_names:
            try:
                sheet = workbook.get_sheet_by_name(name)
                last_row, last_column = sheet.end or (0, 0)
                if (last_row + 1) * (last_column + 1) > MAX_SHEET_CELLS:
                    raise LimitExceeded(
                        f"{member}: sheet {name!r} spans {last_row + 1:,} rows x {last_column + 1:,} "
                        f"columns from A1, over the limit of {MAX_SHEET_CELLS:,} cells: not read"
                    )
                values = sheet.to_python(skip_empty_area=False)
            except (CalamineError, ValueError) as exc:
                raise MalformedInput(member, f"sheet {name!r}", f"unreadable sheet ({exc})") from exc
            yield name, ((f"sheet {name!r} row {number}", list(row)) for number, row in enumerate(values, 1))


def tables(delivery: Delivery, member: str, table: HeaderMatcher) -> Iterator[Table]:
    """Each sheet of ``member`` whose header (within its first rows) matches ``table``."""
    for sheet, rows in _sheets(delivery, member):
        for searched, row in enumerate(rows):
            if searched == MAX_HEADER_SEARCH_ROWS:
                break
            if isinstance(row, Rejected):
                continue  # damage above the header: not a table row
            columns = table.match(row[1])
            if columns is not None:
                header = [normalise_name(cell) for cell in row[1]]
                yield Table(member, sheet, columns, header, _table_rows(rows))
                break


def leading_rows(delivery: Delivery, member: str) -> Iterator[tuple[str | None, list[Cell]]]:
    """(sheet, cells) of the rows a header is looked for in: the first rows of each sheet."""
    for sheet, rows in _sheets(delivery, member):
        for searched, row in enumerate(rows):
            if searched == MAX_HEADER_SEARCH_ROWS:
                break
            if not isinstance(row, Rejected):
                yield sheet, row[1]


def _table_rows(rows: SheetRows) -> Iterator[TableRow | Rejected]:
    for row in rows:
        yield row if isinstance(row, Rejected) else TableRow(*row)


def has_table(delivery: Delivery, table: HeaderMatcher, members: Sequence[str] | None = None) -> bool:
    """Whether any table member (or one of ``members``) holds a table with ``table``'s header."""
    candidates = members if members is not None else delivery.members()
    for member in candidates:
        if not is_table_member(delivery, member):
            continue
        try:
            if next(tables(delivery, member, table), None) is not None:
                return True
        except LimitExceeded:
            raise
        except (MalformedInput, UnreadableDelivery):
            continue
    return False


def table_rows(delivery: Delivery, table: HeaderMatcher) -> Iterator[tuple[Table, TableRow] | Rejected]:
    """Every non-blank row of every table in the delivery whose header matches ``table``, and the
    damage found among them."""
    for member in delivery.members():
        if not is_table_member(delivery, member):
            continue
        for found in tables(delivery, member, table):
            for row in found.rows:
                if isinstance(row, Rejected):
                    yield row
                elif not is_blank(row):
                    yield found, row


def is_blank(row: TableRow) -> bool:
    return all(cell is None or str(cell).strip() == "" for cell in row.cells)


def is_total_row(row: TableRow) -> bool:
    first = next((str(cell) for cell in row.cells if cell is not None and str(cell).strip()), "")
    return normalise_name(first) in TOTAL_LABELS


def parse_count(value: Cell) -> int | None:
    """A count: ``1,240``, ``1.240``, ``1 240``, ``12``, ``12.0``; blank or a dash is unknown."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        count = round(value) if value == value and abs(value) != float("inf") else None
    else:
        text = str(value).strip().replace("\ufeff", "")
        if text.lower() in MISSING:
            return None
        if _PLAIN_INTEGER.fullmatch(text):
            count = int(text)
        elif _GROUPED_COUNT.fullmatch(text):
            count = int(re.sub(r"[,.\u00a0\u202f' ]", "", text))
        elif _PLAIN_DECIMAL.fullmatch(text):
            count = round(float(text.replace(",", ".")))
        else:
            raise ValueError(f"not a count: {text[:40]!r}")
    if count is None or abs(count) > MAX_COUNT:
        raise ValueError(f"not a count: {str(value)[:40]!r}")
    return count


def parse_decimal(value: Cell, decimal_comma: bool = False) -> float | None:
    """A rate or position: ``3.5%``, ``3,5 %`` (with ``decimal_comma``), ``1,234.5``, ``7.2``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace("\ufeff", "").rstrip("%").strip().replace("\u00a0", "").replace(" ", "")
    if text.lower() in MISSING:
        return None
    text = text.replace(".", "").replace(",", ".") if decimal_comma else text.replace(",", "")
    try:
        return float(text)
    except ValueError as exc:
        raise ValueError(f"not a number: {str(value)[:40]!r}") from exc


def _moment(value: Cell, day_first: bool) -> dt.datetime | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    text = str(value).strip()
    if text.lower() in MISSING:
        return None
    if not _HAS_YEAR.search(text):
        raise _not_a_date(text, day_first)
    try:
        moment: dt.datetime = date_parser.parse(text, dayfirst=day_first)
    except (ValueError, OverflowError) as exc:
        raise _not_a_date(text, day_first) from exc
    return moment


def _not_a_date(text: str, day_first: bool) -> ValueError:
    ambiguous = "20/11/2026" if day_first else "11/20/2026"
    return ValueError(
        f"not a date: {text[:40]!r} (expected a date with its year: 2026-11-20, {ambiguous}, Nov 20 2026)"
    )


def parse_datetime(value: Cell, *, day_first: bool = False) -> dt.datetime | None:
    """A timestamp from a cell (spreadsheet date or text in any common layout), UTC when no zone is given."""
    moment = _moment(value, day_first)
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def parse_day(value: Cell, *, day_first: bool = False) -> dt.date | None:
    """A calendar day as written (no time-zone shift)."""
    moment = _moment(value, day_first)
    return moment.date() if moment else None
