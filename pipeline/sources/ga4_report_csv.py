"""GA4 reports as users download them from the GA4 interface (Download file > CSV), per day, landing page
and session source / medium.

A download opens with a preamble of ``#`` lines (report name, ``# Account:``, ``# Property:``,
``# Start date: 20261101``, ``# End date: 20261130``), may hold several blocks (a chart's series, then
the table), each after a blank line and its own ``#`` lines, and often a totals row under the header
(blank first cell, or ``Grand total``). Headers follow the interface language (English, German, French
and Korean names below, as docs/formats.md cites them); a file saved with ``;`` separators has decimal
commas. Dates are ``YYYYMMDD`` in the property's time zone; rates are fractions (``0.4532``) or
percentages (``45.3%``); times are seconds.

A row is traffic of a day: the ``Date`` dimension must be in the table, or the report must cover one
day (its start and end dates). A table of totals over a longer range is not daily traffic: the file is
quarantined whole, with that reason, instead of stored as something it is not.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.delivery import Delivery, LimitExceeded, UnreadableDelivery
from pipeline.sources.base import (
    Extracted,
    HeaderLayout,
    MalformedInput,
    ParseContext,
    Rejected,
    Skipped,
    redacted_excerpt,
)
from pipeline.sources.tabular import (
    TOTAL_LABELS,
    AliasTable,
    Cell,
    TableRow,
    is_blank,
    is_table_member,
    normalise_name,
    parse_count,
    parse_day,
    parse_decimal,
    spreadsheet_kind,
)
from pipeline.sources.textfiles import head_text, open_text, rows_of_lines
from pipeline.sources.traffic_common import TrafficRow, traffic_record

FORMAT = "ga4_report_csv"
TOOL = "ga4"
COLUMNS = AliasTable(
    {
        "landing_page": (
            "Landing page + query string",
            "Landing page",
            "Landingpage + Abfragestring",
            "Zielseite",
            "Page de destination",
            "방문 페이지 + 쿼리 문자열",
            "방문 페이지",
        ),
        "sessions": ("Sessions", "Sitzungen", "세션수"),
        "date": ("Date", "Datum"),
        "hostname": ("Hostname", "Host name"),
        "source_medium": ("Session source / medium", "Session source/medium"),
        "source": ("Session source", "Sitzungsquelle", "세션 소스"),
        "medium": ("Session medium", "Sitzungsmedium"),
        "channel_group": (
            "Session default channel group",
            "Session primary channel group (Default Channel Group)",
            "Sitzung – primäre Channelgruppe (Standard-Channelgruppe)",
        ),
        "engaged_sessions": (
            "Engaged sessions",
            "Sitzungen mit Interaktionen",
            "Sessions avec engagement",
            "참여 세션수",
        ),
        "average_engagement_time": (
            "Average engagement time per session",
            "Durchschnittliche Interaktionsdauer pro Sitzung",
        ),
        "average_session_duration": ("Average session duration",),
        "bounce_rate": ("Bounce rate", "Absprungrate"),
    },
    required=("landing_page", "sessions"),
)
# Preamble keys (``# <key>: <value>``), normalised.
PREAMBLE_KEYS = {
    "start date": "start",
    "시작일": "start",
    "end date": "end",
    "종료일": "end",
    "property": "property",
    "속성": "property",
}
GRAND_TOTAL = frozenset({*TOTAL_LABELS, "grand total"})
_COMPACT_DAY = re.compile(r"\d{8}")
_CLOCK = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)")
# A download holds a few blocks; its table starts within the first rows after the chart series.
MAX_ROWS_BEFORE_TABLE = 5000


def parse_ga4_day(value: Cell) -> dt.date | None:
    """``20261101`` (GA4's own form) or any written date with its year."""
    text = "" if value is None else str(value).strip()
    if _COMPACT_DAY.fullmatch(text):
        try:
            return dt.datetime.strptime(text, "%Y%m%d").date()
        except ValueError as exc:
            raise ValueError(f"not a date: {text!r}") from exc
    return parse_day(value)


def parse_rate(value: Cell, decimal_comma: bool) -> float | None:
    """A share: ``0.4532`` or ``45.32%`` (``45,32 %`` with decimal commas) as 0.4532."""
    text = "" if value is None else str(value).strip()
    number = parse_decimal(value, decimal_comma)
    if number is None:
        return None
    return number / 100 if text.endswith("%") else number


def parse_seconds(value: Cell, decimal_comma: bool) -> float | None:
    """Seconds: ``83.5``, or a clock ``00:01:23``."""
    text = "" if value is None else str(value).strip()
    clock = _CLOCK.fullmatch(text)
    if clock:
        hours, minutes, seconds = clock.groups()
        return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    return parse_decimal(value, decimal_comma)


@dataclass
class _Preamble:
    start: dt.date | None = None
    end: dt.date | None = None
    property: str | None = None

    def read(self, line: str) -> None:
        key, _, value = line.lstrip("#").partition(":")
        found = PREAMBLE_KEYS.get(normalise_name(key))
        value = value.strip()
        if found == "property":
            self.property = value or None
        elif found in ("start", "end") and _COMPACT_DAY.fullmatch(value):
            setattr(self, found, parse_ga4_day(value))


@dataclass(frozen=True)
class _Header:
    columns: dict[str, int]
    width: int
    location: str


@dataclass
class _Blanks:
    """Lines of a text, remembering the number of the last blank one (a block ends at a blank line)."""

    lines: Iterator[str]
    number: int = 0
    last_blank: int = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.number += 1
            if not line.strip():
                self.last_blank = self.number
            yield line


def _delimiter(delivery: Delivery, member: str) -> str:
    """The separator of the first line that is neither a ``#`` line nor blank."""
    for line in head_text(delivery, member).splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            counts = {d: line.count(d) for d in (",", "\t", ";")}
            return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    return ","


def _items(
    delivery: Delivery, member: str, preamble: _Preamble, row_limit: int | None = None
) -> Iterator[_Header | TableRow | Rejected]:
    """The member's table headers and each table's rows (a table ends at a blank or ``#`` line), the
    ``#`` lines read into ``preamble`` on the way; damaged rows inside a table as :class:`Rejected`."""
    delimiter = _delimiter(delivery, member)
    with open_text(delivery, member) as text:
        lines = _Blanks(iter(text))
        header: _Header | None = None
        previous = 0
        for count, found in enumerate(rows_of_lines(lines, member, delimiter)):
            if row_limit is not None and header is None and count >= row_limit:
                return
            if isinstance(found, Rejected):
                if header is not None:
                    yield found
                continue
            number, cells = found
            if lines.last_blank > previous:
                header = None
            previous = number
            first = cells[0].lstrip("\ufeff").lstrip() if cells else ""
            if first.startswith("#"):
                header = None
                preamble.read(delimiter.join(cells).lstrip("\ufeff"))
                continue
            columns = COLUMNS.match(cells)
            if columns is not None:
                header = _Header(columns, len(cells), f"line {number}")
                yield header
            elif header is not None:
                if len(cells) != header.width:
                    yield Rejected(
                        member,
                        f"line {number}",
                        f"{len(cells)} columns where the header has {header.width}",
                        redacted_excerpt(delimiter.join(cells)),
                    )
                else:
                    yield TableRow(f"line {number}", list(cells))


class Ga4ReportCsv:
    name = FORMAT

    def _members(self, delivery: Delivery) -> list[str]:
        return [
            member
            for member in delivery.members()
            if is_table_member(delivery, member) and spreadsheet_kind(delivery, member) is None
        ]

    def detect(self, delivery: Delivery) -> bool:
        for member in self._members(delivery):
            try:
                items = _items(delivery, member, _Preamble(), MAX_ROWS_BEFORE_TABLE)
                if any(isinstance(item, _Header) for item in items):
                    return True
            except LimitExceeded:
                raise
            except (MalformedInput, UnreadableDelivery):
                continue
        return False

    def header_layouts(self) -> tuple[HeaderLayout, ...]:
        return (COLUMNS.layout(),)

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for member in self._members(delivery):
            preamble = _Preamble()
            decimal_comma = _delimiter(delivery, member) == ";"
            header: _Header | None = None
            for item in _items(delivery, member, preamble):
                if isinstance(item, _Header):
                    header = item
                    if "date" not in header.columns and not _one_day(preamble):
                        yield Rejected(
                            member,
                            header.location,
                            "a table without the Date dimension over "
                            f"{_range(preamble)} is not daily traffic: add the Date dimension to the "
                            "report (or download one day)",
                        )
                        header = None
                elif isinstance(item, Rejected):
                    yield item
                elif header is not None and not is_blank(item):
                    yield self._row(member, header, item, preamble, decimal_comma, context)

    def _row(
        self,
        member: str,
        header: _Header,
        row: TableRow,
        preamble: _Preamble,
        decimal_comma: bool,
        context: ParseContext,
    ) -> Extracted:
        columns = header.columns
        page = row.text(columns, "landing_page")
        if not page or normalise_name(page) in GRAND_TOTAL:
            return Skipped()  # the totals row
        try:
            day = parse_ga4_day(row.get(columns, "date")) if "date" in columns else preamble.start
            sessions = parse_count(row.get(columns, "sessions"))
            if day is None or sessions is None:
                raise ValueError("no day" if day is None else "no sessions")
            source, medium = _source_medium(row, columns)
            record = traffic_record(
                FORMAT,
                TOOL,
                preamble.property,
                TrafficRow(
                    day=day,
                    landing_page=page,
                    sessions=sessions,
                    source=source,
                    medium=medium,
                    channel_group=row.text(columns, "channel_group") or None,
                    engaged_sessions=parse_count(row.get(columns, "engaged_sessions")),
                    average_session_duration=parse_seconds(
                        row.get(columns, "average_session_duration"), decimal_comma
                    ),
                    average_engagement_time=parse_seconds(
                        row.get(columns, "average_engagement_time"), decimal_comma
                    ),
                    bounce_rate=parse_rate(row.get(columns, "bounce_rate"), decimal_comma),
                    hostname=row.text(columns, "hostname") or None,
                ),
                context,
            )
        except ValueError as exc:
            return Rejected(member, row.location, str(exc), redacted_excerpt(",".join(map(str, row.cells))))
        return record


def _source_medium(row: TableRow, columns: dict[str, int]) -> tuple[str | None, str | None]:
    """(source, medium): their own columns, or GA4's combined ``google / organic``."""
    source, medium = row.text(columns, "source") or None, row.text(columns, "medium") or None
    combined = row.text(columns, "source_medium")
    if combined and source is None and medium is None:
        left, separator, right = combined.rpartition(" / ")
        source, medium = (left, right) if separator else (combined, None)
    return source, medium


def _one_day(preamble: _Preamble) -> bool:
    return preamble.start is not None and preamble.start == preamble.end


def _range(preamble: _Preamble) -> str:
    if preamble.start and preamble.end:
        return f"{preamble.start} to {preamble.end}"
    return "an unstated date range"
