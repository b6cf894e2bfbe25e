"""Screaming Frog SEO Spider "All Inlinks" / "All Outlinks" exports.

``"Type","Source","Destination",...,"Anchor","Status Code","Status","Follow","Target","Rel",...,
"Link Position",...`` (UTF-8 with BOM, CRLF; 9-, 15- and 16-column variants across versions: columns
are matched by name). Only hyperlinks are links; images, CSS, scripts and canonicals are skipped and
counted (older exporters write those rows one cell short: they are still skipped, not quarantined).
``Follow`` false or ``nofollow`` in ``Rel`` make a nofollow link; ``ugc``/``sponsored`` come from ``Rel``.
"""

from __future__ import annotations

from pipeline.sources.backlinks_common import BacklinkExport, LinkRow, parse_flag
from pipeline.sources.tabular import AliasTable, Table, TableRow

SCREAMING_FROG = AliasTable(
    {
        "type": ("Type",),
        "source": ("Source", "From"),
        "target": ("Destination", "To"),
        "anchor": ("Anchor", "Anchor Text", "Alt Text"),
        "follow": ("Follow",),
        "rel": ("Rel",),
        "status_code": ("Status Code",),
    },
    required=("type", "source", "target", "status_code"),
)
HYPERLINK_TYPES = frozenset({"hyperlink", "ahref", "href"})


class ScreamingFrogLinks(BacklinkExport):
    name = "screaming_frog_links"
    tool = "screaming_frog"
    table = SCREAMING_FROG

    def is_link_row(self, table: Table, row: TableRow) -> bool:
        """Not images, CSS, scripts, canonicals (older exporters write those rows one cell short)."""
        return row.text(table.columns, "type").lower() in HYPERLINK_TYPES

    def link(self, table: Table, row: TableRow) -> LinkRow | None:
        columns = table.columns
        rel = set(row.text(columns, "rel").lower().split())
        follow_text = row.text(columns, "follow")
        follows = parse_flag(follow_text) if follow_text else True
        return LinkRow(
            source=row.text(columns, "source"),
            target=row.text(columns, "target"),
            anchor=row.text(columns, "anchor"),
            nofollow=not follows or "nofollow" in rel,
            ugc="ugc" in rel,
            sponsored="sponsored" in rel,
        )
