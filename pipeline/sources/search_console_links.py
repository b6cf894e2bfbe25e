"""Search Console "Links" report exports (a zip of CSVs, or each file alone).

Three files, headers in the interface language (English, German, French, Spanish below; numbers like
``"1,240"``):
- ``Top linking sites`` (``Site,Linking pages,Target pages``) and ``Top linked pages`` (``Target page,
  Incoming links,Linking sites``) are counts, not links: there is no source page and target page to
  store. Their rows are checked (a bad row is quarantined with its place) and not stored: the lake
  keeps link pairs, and these totals are the report's view of pairs the backlink tools deliver.
- ``Latest links`` (``Linking page,Last crawled``) and the sample-link exports (``Linking page``) are
  links whose target page Search Console does not say: stored as ``backlink`` records with an unknown
  (NULL) target, ``last_seen`` the crawl day. Page-level tables cannot use them (they join on the
  target); site-level questions (new referring domains per day) can.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.delivery import Delivery
from pipeline.sources.backlinks_common import LinkRow, backlink_record
from pipeline.sources.base import Extracted, HeaderLayout, ParseContext, Rejected
from pipeline.sources.tabular import (
    AliasTable,
    has_table,
    is_blank,
    is_table_member,
    parse_count,
    parse_day,
    tables,
)

TOOL = "search_console"
LINKING_PAGE = (
    "Linking page",
    "Verlinkende Seite",
    "Page d'origine du lien",
    "Página que enlaza",
    "Página de origen del enlace",
)
LATEST_LINKS = AliasTable(
    {
        "source": LINKING_PAGE,
        "last_crawled": ("Last crawled", "Zuletzt gecrawlt", "Dernière exploration", "Último rastreo"),
    },
    required=("source",),
)
TOP_LINKING_SITES = AliasTable(
    {
        "site": ("Site", "Website", "Sitio", "Sitio web"),
        "linking_pages": (
            "Linking pages",
            "Verlinkende Seiten",
            "Pages d'origine du lien",
            "Páginas que enlazan",
        ),
        "target_pages": ("Target pages", "Zielseiten", "Pages cibles", "Páginas de destino"),
    },
    required=("site", "linking_pages"),
)
TOP_LINKED_PAGES = AliasTable(
    {
        "page": ("Target page", "Zielseite", "Page cible", "Página de destino"),
        "incoming_links": ("Incoming links", "Eingehende Links", "Liens entrants", "Enlaces entrantes"),
        "linking_sites": (
            "Linking sites",
            "Verlinkende Websites",
            "Sites d'origine du lien",
            "Sitios que enlazan",
        ),
    },
    required=("page", "incoming_links"),
)
AGGREGATES = (
    (TOP_LINKING_SITES, ("linking_pages", "target_pages")),
    (TOP_LINKED_PAGES, ("incoming_links", "linking_sites")),
)


class SearchConsoleLinks:
    name = "search_console_links"

    def detect(self, delivery: Delivery) -> bool:
        return has_table(delivery, LATEST_LINKS) or any(has_table(delivery, table) for table, _ in AGGREGATES)

    def header_layouts(self) -> tuple[HeaderLayout, ...]:
        return (
            LATEST_LINKS.layout("Latest links"),
            TOP_LINKING_SITES.layout("Top linking sites"),
            TOP_LINKED_PAGES.layout("Top linked pages"),
        )

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for member in delivery.members():
            if not is_table_member(delivery, member):
                continue
            for latest in tables(delivery, member, LATEST_LINKS):
                for row in latest.rows:
                    if isinstance(row, Rejected):
                        yield row
                        continue
                    if is_blank(row):
                        continue
                    try:
                        crawled = parse_day(row.get(latest.columns, "last_crawled"))
                    except ValueError as exc:
                        yield Rejected(member, row.location, f"unreadable crawl date ({exc})")
                        continue
                    link = LinkRow(source=row.text(latest.columns, "source"), target=None, last_seen=crawled)
                    yield backlink_record(TOOL, link, member, row.location, context)
            for table, counts in AGGREGATES:
                for aggregate in tables(delivery, member, table):
                    for row in aggregate.rows:
                        if isinstance(row, Rejected):
                            yield row
                            continue
                        try:
                            for field in counts:
                                parse_count(row.get(aggregate.columns, field))
                        except ValueError as exc:
                            yield Rejected(member, row.location, f"unreadable count ({exc})")
