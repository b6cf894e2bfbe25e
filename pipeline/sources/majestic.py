"""Majestic backlinks export (Site Explorer): ``Target URL,Source URL,Anchor Text,Source Crawl Date,
Source First Found Date,FlagNoFollow,...,SourceCitationFlow,SourceTrustFlow,...``.

Some rows are not valid CSV for the header (an unquoted comma in an anchor): a row whose width
differs from the header's is quarantined, never shifted into the wrong columns. Flags are
``+``/``-`` or ``true``/``false``. ``SourceTrustFlow`` is kept as the source's rating.
"""

from __future__ import annotations

from pipeline.sources.backlinks_common import BacklinkExport, LinkRow, parse_flag, parse_lost, rating
from pipeline.sources.tabular import AliasTable, Table, TableRow, parse_day

MAJESTIC = AliasTable(
    {
        "source": ("Source URL", "SourceURL"),
        "target": ("Target URL", "TargetURL"),
        "anchor": ("Anchor Text", "AnchorText"),
        "last_seen": ("Source Crawl Date", "SourceCrawlDate", "Last Seen"),
        "first_seen": ("Source First Found Date", "SourceFirstFoundDate", "First Indexed", "First Seen"),
        "nofollow": ("FlagNoFollow",),
        "lost": ("FlagDeleted", "Date Lost", "Lost Date"),
        "rating": ("SourceTrustFlow", "Source Trust Flow"),
    },
    required=("source", "target", "nofollow"),
)


class MajesticBacklinks(BacklinkExport):
    name = "majestic_backlinks"
    tool = "majestic"
    table = MAJESTIC

    def link(self, table: Table, row: TableRow) -> LinkRow | None:
        columns = table.columns
        return LinkRow(
            source=row.text(columns, "source"),
            target=row.text(columns, "target"),
            anchor=row.text(columns, "anchor"),
            nofollow=parse_flag(row.get(columns, "nofollow")),
            first_seen=parse_day(row.get(columns, "first_seen")),
            last_seen=parse_day(row.get(columns, "last_seen")),
            lost=parse_lost(row.get(columns, "lost")),
            rating=rating(row, table, "rating"),
        )
