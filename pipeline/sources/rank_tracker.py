"""The generic rank-tracker CSV: ``date,keyword,url,position`` required;
``search_engine,device,country,search_volume`` (and ``clicks,impressions``) optional.

A row whose position says "not ranked" (empty, ``-``, ``>100`` ...) is kept with no position: it records
that the query was tracked that day and the page (or, with no URL, any page) was outside the tracked
depth. The impact estimate counts such days as censored, not missing (docs/impact.md).

Named tracker formats map their headers onto this contract through :data:`HEADER_ALIASES`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.canonical import try_canonicalize
from pipeline.delivery import Delivery
from pipeline.sources.base import (
    ColumnBatch,
    Extracted,
    HeaderLayout,
    ParseContext,
    Record,
    Rejected,
    parse_inline,
)
from pipeline.sources.csv_columns import (
    BLOCK_BYTES,
    INVALID,
    BlockDecoder,
    Invalid,
    StringBlock,
    csv_blocks,
    invalid_on_error,
)
from pipeline.sources.textfiles import header_of

SOURCE = "rank_tracker"
REQUIRED = ("date", "keyword", "url", "position")
OPTIONAL_INTEGERS = ("search_volume", "clicks", "impressions")
OPTIONAL_TEXT = ("search_engine", "device", "country")
HEADER_ALIASES = {
    "query": "keyword",
    "landing page": "url",
    "rank": "position",
    "engine": "search_engine",
    "volume": "search_volume",
}
MAX_POSITION = 1000.0
# Trackers write these when the page is outside the tracked depth: no ranking, not an error.
NOT_RANKED = frozenset({"", "-", "n/a", "not in top 100", ">100"})


def normalise_header(header: list[str]) -> list[str]:
    names = [column.strip().lower() for column in header]
    return [HEADER_ALIASES.get(name, name) for name in names]


INT64_MAX = 2**63 - 1


def _optional_int(value: str | None) -> int | None:
    text = (value or "").strip().replace(",", "")
    if not text:
        return None
    number = float(text)
    if not 0 <= number <= INT64_MAX:  # also NaN and infinity
        raise ValueError(f"{text} is not a count")
    return int(number)


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None


def _is_ranked(position: str) -> bool:
    return position.strip().lower() not in NOT_RANKED


def _position(text: str) -> float | None:
    """The position, ``None`` when not ranked; ``ValueError`` when unreadable."""
    return float(text.strip().replace(",", ".")) if _is_ranked(text) else None


def _valid_position(text: str) -> float | None:
    """:func:`_position`, and ``ValueError`` for a position outside 1..MAX_POSITION too."""
    position = _position(text)
    if position is not None and not 1.0 <= position <= MAX_POSITION:
        raise ValueError(f"position {position} outside 1..{MAX_POSITION:.0f}")
    return position


class RankTrackerCsv:
    name = "rank_tracker_csv"

    def __init__(self, block_bytes: int = BLOCK_BYTES) -> None:
        self.block_bytes = block_bytes  # the size of the blocks read in columns

    def _members(self, delivery: Delivery) -> list[str]:
        return [
            m for m in delivery.find(".csv") if set(REQUIRED) <= set(normalise_header(header_of(delivery, m)))
        ]

    def detect(self, delivery: Delivery) -> bool:
        return bool(self._members(delivery))

    def header_layouts(self) -> tuple[HeaderLayout, ...]:
        """The contract's required columns, each with the names trackers give it."""
        columns = tuple(
            (name, *(alias for alias, target in HEADER_ALIASES.items() if target == name))
            for name in REQUIRED
        )
        return (HeaderLayout(columns, lambda cell: cell.strip().lower()),)

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        yield from parse_inline(self.parse_sections(delivery, context))

    def parse_sections(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted | ColumnBatch]:
        for member in self._members(delivery):
            header = normalise_header(header_of(delivery, member))
            columns = _BlockColumns(self, member, context)
            for item in csv_blocks(delivery, member, header, self.block_bytes):
                if isinstance(item, StringBlock):
                    yield from columns.of(item)
                elif isinstance(item, Rejected):
                    yield item
                else:
                    location, row = item
                    yield self.row(row, member, location, context)

    def row(self, row: dict[str, str], member: str, location: str, context: ParseContext) -> Extracted:
        day = _day(row["date"])
        if day is None:
            return Rejected(member, location, f"unparseable date {row['date']!r} (expected YYYY-MM-DD)")
        keyword = row["keyword"].strip()
        ranked = _is_ranked(row["position"])
        canonical = try_canonicalize(row["url"], context.www_policy)
        if not keyword or (canonical is None and (ranked or row["url"].strip())):
            return Rejected(member, location, f"empty keyword or not a web URL ({row['url']!r})")
        try:
            position = _position(row["position"])
            extras = {name: _optional_int(row.get(name)) for name in OPTIONAL_INTEGERS}
        except ValueError:
            return Rejected(member, location, f"unreadable position or number in {row!r}"[:200])
        if position is not None and not 1.0 <= position <= MAX_POSITION:
            return Rejected(member, location, f"position {position} outside 1..{MAX_POSITION:.0f}")
        return Record(
            "ranking",
            {
                "source": SOURCE,
                "ranking_date": day,
                "query": keyword,
                "url": row["url"].strip() or None,
                "canonical_url": canonical,
                "position": position,
                "clicks": extras["clicks"],
                "impressions": extras["impressions"],
                "search_engine": row.get("search_engine") or None,
                "device": row.get("device") or None,
                "country": row.get("country") or None,
                "search_volume": extras["search_volume"],
            },
        )


class _BlockColumns:
    """A block's rows decoded column by column (:class:`~pipeline.sources.csv_columns.BlockDecoder`), with
    exactly the values and rejections of :meth:`RankTrackerCsv.row`: a row some column rejects goes through
    that method, for its reason."""

    def __init__(self, parser: RankTrackerCsv, member: str, context: ParseContext) -> None:
        self.parser = parser
        self.member = member
        self.context = context
        self.memos: dict[str, dict[str, object]] = {}

    def of(self, block: StringBlock) -> Iterator[Extracted | ColumnBatch]:
        columns, policy = BlockDecoder(block, self.memos), self.context.www_policy
        values: dict[str, pa.Array | object] = {"source": SOURCE}
        values["ranking_date"] = columns.decoded("date", "date", _day_or_invalid, pa.date32())
        values["query"] = columns.decoded("keyword", "keyword", _keyword_or_invalid, pa.string())
        values["position"] = columns.decoded("position", "position", _position_or_invalid, pa.float64())
        ranked = columns.decoded("ranked", "position", _is_ranked, pa.bool_())
        values["url"] = url = columns.decoded("url", "url", lambda url: url.strip() or None, pa.string())
        canonical = columns.decoded(
            "canonical", "url", lambda url: try_canonicalize(url, policy), pa.string()
        )
        values["canonical_url"] = canonical
        # No page to credit: a ranked row, or a URL that is not one of the web's.
        columns.reject(pc.and_(pc.is_null(canonical), pc.or_(ranked, pc.is_valid(url))))
        table = block.table
        for name in OPTIONAL_INTEGERS:
            if name in table.column_names:
                plain = _plain_counts(table.column(name))
                values[name] = (
                    plain if plain is not None else columns.decoded(name, name, _count_or_invalid, pa.int64())
                )
        for name in OPTIONAL_TEXT:
            if name in table.column_names:
                text = table.column(name).combine_chunks()
                values[name] = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
        yield from columns.batch(
            "ranking", values, lambda row, location: self.parser.row(row, self.member, location, self.context)
        )


def _plain_counts(column: pa.ChunkedArray) -> pa.Array | None:
    """A column of counts written as plain digits (or left empty) decoded at once, as :func:`_optional_int`
    would (exactly: below 2**53, where a float holds every integer); ``None`` for any other column."""
    cells = column.combine_chunks()
    try:
        counts = pc.cast(pc.if_else(pc.equal(cells, ""), pa.scalar(None, pa.string()), cells), pa.int64())
    except pa.ArrowInvalid:
        return None
    low, high = pc.min_max(counts).values()
    if low.is_valid and not (low.as_py() >= 0 and high.as_py() < 2**53):
        return None
    return counts


def _day_or_invalid(text: str) -> dt.date | Invalid:
    day = _day(text)
    return INVALID if day is None else day


def _keyword_or_invalid(text: str) -> str | Invalid:
    return text.strip() or INVALID


_position_or_invalid = invalid_on_error(_valid_position)
_count_or_invalid = invalid_on_error(_optional_int)
