"""What the engagement exports share: one row per post, counts as of the day the export was landed.

Every analytics export reports lifetime counts up to the moment it was downloaded, so a row becomes
an ``engagement`` snapshot dated on the delivery's landing day. Posts are identified by the
platform's id where the export has one and by the canonical permalink always (the warehouse joins
on either). Blank lines and ``Total`` rows are skipped; a row whose counts cannot be read is
quarantined with its place.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.canonical import try_canonicalize
from pipeline.delivery import Delivery
from pipeline.sources.base import Extracted, HeaderLayout, ParseContext, Record, Rejected, redacted_excerpt
from pipeline.sources.tabular import (
    AliasTable,
    Table,
    TableRow,
    has_table,
    is_total_row,
    parse_count,
    table_rows,
)

METRICS = ("likes", "reposts", "replies", "impressions", "clicks", "views", "shares")


class EngagementExport:
    """An analytics export read through an alias table; subclasses say whose posts a row is about."""

    name: str
    table: AliasTable

    def detect(self, delivery: Delivery) -> bool:
        return has_table(delivery, self.table)

    def header_layouts(self) -> tuple[HeaderLayout, ...]:
        return (self.table.layout(),)

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for found in table_rows(delivery, self.table):
            if isinstance(found, Rejected):
                yield found
                continue
            table, row = found
            if not is_total_row(row):
                yield self._row(table, row, context)

    def identify(self, table: Table, row: TableRow) -> tuple[str, str | None, str | None]:
        """(platform, post id or ``None``, permalink or ``None``) of the post a row is about."""
        raise NotImplementedError

    def _row(self, table: Table, row: TableRow, context: ParseContext) -> Extracted:
        platform, post_id, permalink = self.identify(table, row)
        canonical = try_canonicalize(permalink, context.www_policy) if permalink else None
        if not post_id and canonical is None:
            return Rejected(
                table.member,
                row.location,
                "no post id and no permalink",
                redacted_excerpt(",".join(str(c) for c in row.cells)),
            )
        try:
            counts = {metric: parse_count(row.get(table.columns, metric)) for metric in METRICS}
        except ValueError as exc:
            return Rejected(table.member, row.location, f"unreadable count ({exc})")
        if any(value is not None and value < 0 for value in counts.values()):
            return Rejected(table.member, row.location, "negative count")
        return Record(
            "engagement",
            {
                "platform": platform,
                "post_id": post_id or None,
                "permalink": canonical,
                "snapshot_date": context.landed_on,
                **counts,
            },
        )
