"""Semrush exports: backlinks, and organic positions mapped onto the rank-tracker contract.

Backlinks: ``Page ascore,Source title,Source url,Target url,Anchor,External links,Internal links,
Nofollow,Sponsored,Ugc,...,First seen,Last seen,New link,Lost link`` (UTF-8, often with a BOM).

Positions (Organic Research > Positions): ``Keyword,Position,Previous position,Search Volume,
Keyword Difficulty,CPC,URL,Traffic,...,Timestamp,...``; each row becomes a ranking of ``URL`` for
``Keyword`` on ``Timestamp``'s day (the landing day when absent), like the generic rank-tracker CSV.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.canonical import try_canonicalize
from pipeline.delivery import Delivery
from pipeline.sources.backlinks_common import BacklinkExport, LinkRow, parse_flag, parse_lost, rating
from pipeline.sources.base import Extracted, HeaderLayout, ParseContext, Record, Rejected
from pipeline.sources.tabular import (
    AliasTable,
    Table,
    TableRow,
    has_table,
    parse_count,
    parse_day,
    parse_decimal,
    table_rows,
)

SEMRUSH_BACKLINKS = AliasTable(
    {
        "rating": ("Page ascore", "Page AS"),
        "source": ("Source url", "Source URL"),
        "target": ("Target url", "Target URL"),
        "anchor": ("Anchor",),
        "nofollow": ("Nofollow",),
        "sponsored": ("Sponsored",),
        "ugc": ("Ugc", "UGC"),
        "first_seen": ("First seen",),
        "last_seen": ("Last seen",),
        "lost": ("Lost link",),
    },
    required=("source", "target", "nofollow", "rating"),
)
SEMRUSH_POSITIONS = AliasTable(
    {
        "keyword": ("Keyword",),
        "position": ("Position",),
        "url": ("URL",),
        "date": ("Timestamp", "Date"),
        "search_volume": ("Search Volume",),
        "traffic": ("Traffic",),
        "previous": ("Previous position",),
    },
    required=("keyword", "position", "url", "previous"),
)
POSITIONS_SOURCE = "semrush"
MAX_POSITION = 1000.0


class SemrushBacklinks(BacklinkExport):
    name = "semrush_backlinks"
    tool = "semrush"
    table = SEMRUSH_BACKLINKS

    def link(self, table: Table, row: TableRow) -> LinkRow | None:
        columns = table.columns
        return LinkRow(
            source=row.text(columns, "source"),
            target=row.text(columns, "target"),
            anchor=row.text(columns, "anchor"),
            nofollow=parse_flag(row.get(columns, "nofollow")),
            ugc=parse_flag(row.get(columns, "ugc")),
            sponsored=parse_flag(row.get(columns, "sponsored")),
            first_seen=parse_day(row.get(columns, "first_seen")),
            last_seen=parse_day(row.get(columns, "last_seen")),
            lost=parse_lost(row.get(columns, "lost")),
            rating=rating(row, table, "rating"),
        )


class SemrushPositions:
    name = "semrush_positions"

    def detect(self, delivery: Delivery) -> bool:
        return has_table(delivery, SEMRUSH_POSITIONS)

    def header_layouts(self) -> tuple[HeaderLayout, ...]:
        return (SEMRUSH_POSITIONS.layout(),)

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for found in table_rows(delivery, SEMRUSH_POSITIONS):
            yield found if isinstance(found, Rejected) else self._row(*found, context)

    def _row(self, table: Table, row: TableRow, context: ParseContext) -> Extracted:
        columns = table.columns
        keyword, url = row.text(columns, "keyword"), row.text(columns, "url")
        canonical = try_canonicalize(url, context.www_policy)
        if not keyword or canonical is None:
            return Rejected(table.member, row.location, f"empty keyword or not a web URL ({url[:100]!r})")
        try:
            day = parse_day(row.get(columns, "date")) or context.landed_on
            position = parse_decimal(row.get(columns, "position"))
            volume = parse_count(row.get(columns, "search_volume"))
        except ValueError as exc:
            return Rejected(table.member, row.location, f"unreadable value ({exc})")
        if position is None or not 1.0 <= position <= MAX_POSITION:
            return Rejected(table.member, row.location, f"position {position} outside 1..{MAX_POSITION:.0f}")
        return Record(
            "ranking",
            {
                "source": POSITIONS_SOURCE,
                "ranking_date": day,
                "query": keyword,
                "url": url,
                "canonical_url": canonical,
                "position": position,
                "clicks": None,
                "impressions": None,
                "search_engine": "google",
                "device": None,
                "country": None,
                "search_volume": volume,
            },
        )
