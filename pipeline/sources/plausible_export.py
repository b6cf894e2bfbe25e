"""Plausible Analytics' CSV export (Site settings > Imports & Exports > Export to CSV): a zip of
``imported_<table>_<YYYYMMDD>_<YYYYMMDD>.csv`` files, the same tables Plausible's CSV import reads.

Two of its tables are traffic, each at its own grain (docs/decisions.md): ``imported_sources``
(``date,source,referrer,utm_source,utm_medium,...,visits,visit_duration,bounces``): a day's sessions
from a source over the whole site, landing page unknown; ``imported_entry_pages``
(``date,entry_page,visitors,entrances,visit_duration,bounces,pageviews``): a day's sessions that
began on a page, source unknown. No table has both, so nothing here is a page's sessions from one
source, and none is made up. ``visit_duration`` is the total in seconds (averaged here per visit);
Plausible has no engaged sessions (left unknown). The other tables (visitors, pages, devices...) are
not traffic by page or source and are not read. Tables are recognised by their headers, not names.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.delivery import Delivery
from pipeline.sources.base import Extracted, HeaderLayout, ParseContext, Rejected, redacted_excerpt
from pipeline.sources.tabular import (
    AliasTable,
    Table,
    TableRow,
    has_table,
    parse_count,
    parse_day,
    table_rows,
)
from pipeline.sources.traffic_common import TrafficRow, traffic_record

FORMAT = "plausible_export"
TOOL = "plausible"
SOURCES = AliasTable(
    {
        "date": ("date",),
        "source": ("source",),
        "referrer": ("referrer",),
        "utm_source": ("utm_source",),
        "utm_medium": ("utm_medium",),
        "visits": ("visits",),
        "visit_duration": ("visit_duration",),
        "bounces": ("bounces",),
    },
    required=("date", "source", "visits", "visit_duration", "bounces"),
)
ENTRY_PAGES = AliasTable(
    {
        "date": ("date",),
        "entry_page": ("entry_page",),
        "visits": ("entrances",),
        "visit_duration": ("visit_duration",),
        "bounces": ("bounces",),
    },
    required=("date", "entry_page", "visits", "visit_duration", "bounces"),
)


class PlausibleExport:
    name = FORMAT

    def detect(self, delivery: Delivery) -> bool:
        return has_table(delivery, SOURCES) or has_table(delivery, ENTRY_PAGES)

    def header_layouts(self) -> tuple[HeaderLayout, ...]:
        return (SOURCES.layout("imported_sources"), ENTRY_PAGES.layout("imported_entry_pages"))

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for columns in (SOURCES, ENTRY_PAGES):
            for found in table_rows(delivery, columns):
                if isinstance(found, Rejected):
                    yield found
                else:
                    yield _row(*found, context)


def _row(table: Table, row: TableRow, context: ParseContext) -> Extracted:
    columns = table.columns
    try:
        day = parse_day(row.get(columns, "date"))
        visits = parse_count(row.get(columns, "visits"))
        duration = parse_count(row.get(columns, "visit_duration"))
        bounces = parse_count(row.get(columns, "bounces"))
        if day is None or visits is None:
            raise ValueError("no date" if day is None else "no visits")
        if bounces is not None and not 0 <= bounces <= visits:
            raise ValueError(f"bounces {bounces} outside 0..{visits} visits")
        per_visit = visits > 0
        if "entry_page" in columns:
            page, source, medium = row.text(columns, "entry_page") or None, None, None
            if page is None:
                raise ValueError("no entry page")
        else:
            page = None
            referrer = row.text(columns, "referrer").split("/", 1)[0]
            source = referrer or row.text(columns, "utm_source") or row.text(columns, "source") or None
            medium = row.text(columns, "utm_medium") or None
        return traffic_record(
            FORMAT,
            TOOL,
            None,
            TrafficRow(
                day=day,
                landing_page=page,
                sessions=visits,
                source=source,
                medium=medium,
                average_session_duration=duration / visits if per_visit and duration is not None else None,
                bounce_rate=bounces / visits if per_visit and bounces is not None else None,
            ),
            context,
        )
    except ValueError as exc:
        return Rejected(table.member, row.location, str(exc), redacted_excerpt(",".join(map(str, row.cells))))
