"""What backlink-tool exports share: a link row becomes a ``backlink`` record, or a reason why not.

Each tool export is a table matched through an alias table. Flags a tool does not report (Majestic
has no UGC/sponsored flags) are ``False``: the tool did not flag the link. Each tool's own authority
score of the linking page or domain goes to ``source_domain_rating``; scales differ by tool.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.canonical import host_of, registrable_domain, try_canonicalize
from pipeline.delivery import Delivery
from pipeline.sources.base import (
    Extracted,
    HeaderLayout,
    ParseContext,
    Record,
    Rejected,
    Skipped,
    redacted_excerpt,
)
from pipeline.sources.tabular import (
    AliasTable,
    Cell,
    Table,
    TableRow,
    has_table,
    parse_day,
    parse_decimal,
    table_rows,
)

TRUE_TEXT = frozenset({"true", "1", "yes", "y", "+", "x"})
FALSE_TEXT = frozenset({"false", "0", "no", "n", "-", ""})


def parse_flag(value: Cell) -> bool:
    """``true``/``false`` and the other spellings tools use; anything else is an error."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in TRUE_TEXT:
        return True
    if text in FALSE_TEXT:
        return False
    raise ValueError(f"not a yes/no flag: {text[:20]!r}")


def parse_lost(value: Cell) -> bool | None:
    """A lost flag, or a lost date (lost when set); blank is unknown."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return parse_flag(value)
    except ValueError:
        return parse_day(value) is not None


@dataclass(frozen=True)
class LinkRow:
    source: str
    target: str | None
    anchor: str | None = None
    nofollow: bool = False
    ugc: bool = False
    sponsored: bool = False
    first_seen: dt.date | None = None
    last_seen: dt.date | None = None
    lost: bool | None = None
    rating: float | None = None


def backlink_record(tool: str, link: LinkRow, member: str, location: str, context: ParseContext) -> Extracted:
    """A ``backlink`` record; the target may be unknown (``None``) where a tool does not say it."""
    source_canonical = try_canonicalize(link.source, context.www_policy)
    target_canonical = try_canonicalize(link.target, context.www_policy) if link.target else None
    if source_canonical is None or (link.target is not None and target_canonical is None):
        return Rejected(
            member,
            location,
            f"not a web URL: source {link.source[:100]!r}, target {str(link.target)[:100]!r}",
        )
    return Record(
        "backlink",
        {
            "tool": tool,
            "source_url": link.source,
            "source_canonical": source_canonical,
            "source_domain": registrable_domain(host_of(source_canonical)),
            "target_url": link.target,
            "target_canonical": target_canonical,
            "anchor": link.anchor or None,
            "nofollow": link.nofollow,
            "ugc": link.ugc,
            "sponsored": link.sponsored,
            "first_seen": link.first_seen,
            "last_seen": link.last_seen,
            "lost": link.lost,
            "source_domain_rating": link.rating,
            "snapshot_date": context.landed_on,
        },
    )


class BacklinkExport:
    """A tool's backlink table; subclasses turn one row into a :class:`LinkRow` (or ``None``: not a link)."""

    name: str
    tool: str
    table: AliasTable
    # Rows must have the header's width (Majestic writes some that do not).
    check_width: bool = True

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
            if not self.is_link_row(table, row):
                yield Skipped()
                continue
            if self.check_width and table.sheet is None and len(row.cells) != len(table.header):
                yield Rejected(
                    table.member,
                    row.location,
                    f"{len(row.cells)} columns where the header has {len(table.header)}",
                    redacted_excerpt(",".join(str(c) for c in row.cells)),
                )
                continue
            try:
                link = self.link(table, row)
            except ValueError as exc:
                yield Rejected(table.member, row.location, f"unreadable value ({exc})")
                continue
            if link is not None:
                yield backlink_record(self.tool, link, table.member, row.location, context)

    def is_link_row(self, table: Table, row: TableRow) -> bool:
        """Whether a row is meant to be a link at all; the others are skipped and counted, whatever
        their width."""
        return True

    def link(self, table: Table, row: TableRow) -> LinkRow | None:
        raise NotImplementedError


def rating(row: TableRow, table: Table, field: str) -> float | None:
    return parse_decimal(row.get(table.columns, field))
