"""Moz links, best effort: built from the field names of Moz's Links API v2 (``links`` endpoint), as
a JSON response (``{"results": [{"source": {"page", "domain_authority"}, "target": {"page"},
"anchor_text", "nofollow", "date_first_seen", "date_last_seen", "date_disappeared"}]}``) or a CSV of
the same fields flattened (``source_page`` or ``source.page``, ...). Link Explorer's own CSV names
(``URL``, ``Target URL``, ``Anchor Text``, ``Domain Authority``, ``Link Type``, ...) are mapped too. No
real Moz export was available to check against; the format is documented as best effort.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipeline.delivery import Delivery
from pipeline.sources.backlinks_common import (
    BacklinkExport,
    LinkRow,
    backlink_record,
    parse_flag,
    parse_lost,
    rating,
)
from pipeline.sources.base import Extracted, ParseContext, Rejected
from pipeline.sources.jsonfiles import load_json_member, text_of
from pipeline.sources.tabular import AliasTable, Table, TableRow, parse_day, parse_decimal

MOZ = AliasTable(
    {
        "source": ("source_page", "source.page", "source_url", "URL"),
        "target": ("target_page", "target.page", "target_url", "Target URL"),
        "anchor": ("anchor_text", "Anchor Text"),
        "nofollow": ("nofollow",),
        "link_type": ("Link Type",),
        "first_seen": ("date_first_seen", "Date First Seen", "First Seen"),
        "last_seen": ("date_last_seen", "Date Last Seen", "Last Seen"),
        "lost": ("date_disappeared", "Date Lost", "Lost"),
        "rating": ("source_domain_authority", "source.domain_authority", "Domain Authority"),
        "spam_or_page_authority": (
            "Spam Score",
            "source_spam_score",
            "source.spam_score",
            "Page Authority",
            "source_page_authority",
            "source.page_authority",
        ),
    },
    required=("source", "target", "spam_or_page_authority"),
)


class MozLinks(BacklinkExport):
    name = "moz_links"
    tool = "moz"
    table = MOZ

    def detect(self, delivery: Delivery) -> bool:
        return super().detect(delivery) or bool(self._json_members(delivery))

    def _json_members(self, delivery: Delivery) -> list[str]:
        return [
            m
            for m in delivery.find(".json")
            if b'"results"' in (head := delivery.head(m, 4096))
            and b'"target"' in head
            and b'"source"' in head
        ]

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        yield from super().parse(delivery, context)
        for member in self._json_members(delivery):
            document = load_json_member(delivery, member)
            results = document.get("results") if isinstance(document, dict) else None
            for index, item in enumerate(results if isinstance(results, list) else []):
                location = f"results[{index}]"
                try:
                    link = _api_link(item)
                except ValueError as exc:
                    yield Rejected(member, location, f"unreadable value ({exc})")
                    continue
                if link is None:
                    yield Rejected(member, location, "no source.page or target.page")
                    continue
                yield backlink_record(self.tool, link, member, location, context)

    def link(self, table: Table, row: TableRow) -> LinkRow | None:
        columns = table.columns
        link_type = row.text(columns, "link_type").lower()
        return LinkRow(
            source=row.text(columns, "source"),
            target=row.text(columns, "target"),
            anchor=row.text(columns, "anchor"),
            nofollow=parse_flag(row.get(columns, "nofollow")) or "nofollow" in link_type,
            first_seen=parse_day(row.get(columns, "first_seen")),
            last_seen=parse_day(row.get(columns, "last_seen")),
            lost=parse_lost(row.get(columns, "lost")),
            rating=rating(row, table, "rating"),
        )


def _api_link(item: Any) -> LinkRow | None:
    if not isinstance(item, dict):
        return None
    source, target = item.get("source"), item.get("target")
    source_page = text_of(source.get("page")) if isinstance(source, dict) else None
    target_page = text_of(target.get("page")) if isinstance(target, dict) else None
    if not source_page or not target_page:
        return None
    return LinkRow(
        source=source_page,
        target=target_page,
        anchor=text_of(item.get("anchor_text")),
        nofollow=parse_flag(item.get("nofollow")),
        first_seen=parse_day(text_of(item.get("date_first_seen"))),
        last_seen=parse_day(text_of(item.get("date_last_seen"))),
        lost=parse_lost(text_of(item.get("date_disappeared"))),
        rating=parse_decimal(source.get("domain_authority")) if isinstance(source, dict) else None,
    )
