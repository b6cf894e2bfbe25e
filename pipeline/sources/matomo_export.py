"""Matomo's entry-page reports as its exports write them: ``Actions.getEntryPageUrls`` (or
``Actions.getPageUrls``, which carries the same entry columns) in ``format=CSV`` or ``TSV``, from the API or a
report's Export button.

Shape (read in Matomo's source, matomo-org/matomo ``core/DataTable/Renderer/Csv.php`` and the system tests'
expected exports): a header of the row's columns, then each row's metadata as ``metadata_<name>`` columns
(``metadata_url``: the page's full URL), ``idsubdatatable`` on a row that is a folder of pages (a report not
flattened). UTF-16LE with a BOM unless ``convertToUnicode=0`` (then UTF-8); ``,`` (CSV) or tab (TSV). With
several periods (``period=day&date=2026-11-01,2026-11-30``) the first column is ``date``, a day as
``YYYY-MM-DD`` (a week or range as ``start,end``, a month as ``YYYY-MM``); with one period there is no date
column and nothing in the file says which day. The Export button asks for translated column names
(``translateColumnNames=1`` in the interface's language: ``Label``, ``Entrances``, ``Metadata: url``...;
English, German and French below, from Matomo's ``lang/*.json``) and percentages as ``45%`` (``66,67 %`` in
German).

A row is a page's visits that began on it in a day, over all referrers (``entry_nb_visits``, bounces
``entry_bounce_count``, total seconds ``entry_sum_visit_length``): Matomo's reports do not cross entry page
and referrer, so source, medium and channel group are NULL and ``core.traffic_daily`` counts the row as
``all_sources`` (docs/decisions.md). A row with no entrances (a page of ``getPageUrls`` that began no visit)
is not traffic (skipped). A row without a URL is kept with no canonical URL (Matomo's ``Others`` row,
``Page URL not defined``), unless it is a folder, which is quarantined saying to flatten the report. A table
without the date column is quarantined whole: its day is unknown.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

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
    is_blank,
    is_table_member,
    parse_count,
    parse_decimal,
    tables,
)
from pipeline.sources.traffic_common import TrafficRow, traffic_record

FORMAT = "matomo_export"
TOOL = "matomo"
# The API's column names first, then the translations the Export button writes (en, de, fr).
ENTRY_PAGES = AliasTable(
    {
        "date": ("date", "Datum"),
        "label": ("label", "Label", "Bezeichnung", "Nom"),
        "url": ("metadata_url", "Metadata: url", "Metadaten: url", "Méta-données: url"),
        "entrances": ("entry_nb_visits", "Entrances", "Eingänge", "Entrées"),
        "bounces": ("entry_bounce_count", "Bounces", "Absprünge", "Rebonds"),
        "visit_length": (
            "entry_sum_visit_length",
            "Total time spent by visitors (in seconds) after entering here",
            "Von Besuchern verbrachte Gesamtzeit (in Sekunden) nach Eintritt",
            "Temps total passé par les visiteurs (en secondes) après être entré ici",
        ),
        "bounce_rate": ("bounce_rate", "Bounce Rate", "Absprungsrate", "Taux de rebond"),
        "subtable": ("idsubdatatable",),
    },
    required=("label", "entrances", "url"),
)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class MatomoExport:
    name = FORMAT

    def detect(self, delivery: Delivery) -> bool:
        return has_table(delivery, ENTRY_PAGES)

    def header_layouts(self) -> tuple[HeaderLayout, ...]:
        return (ENTRY_PAGES.layout("Actions.getEntryPageUrls"),)

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for member in delivery.members():
            if not is_table_member(delivery, member):
                continue
            for table in tables(delivery, member, ENTRY_PAGES):
                if "date" not in table.columns:
                    yield Rejected(
                        member,
                        "whole file",
                        "a Matomo report without the date column is not daily traffic (one period's "
                        "export does not say which): export with period=day and a range of dates "
                        "(date=2026-11-01,2026-11-30), which adds the date column",
                    )
                    continue
                for row in table.rows:
                    if isinstance(row, Rejected):
                        yield row
                    elif not is_blank(row):
                        yield _row(table, row, context)


def _row(table: Table, row: TableRow, context: ParseContext) -> Extracted:
    columns = table.columns
    try:
        day = _day(row.get(columns, "date"))
        entrances = parse_count(row.get(columns, "entrances"))
        if entrances is None:
            return Skipped()  # a page no visit began on (the Page URLs report lists every page)
        url, label = row.text(columns, "url"), row.text(columns, "label")
        if not url and row.text(columns, "subtable"):
            raise ValueError(
                f"{label[:80]!r} is a folder of pages, not one page: export the report flattened "
                "(Make it flat, or flat=1)"
            )
        bounces = parse_count(row.get(columns, "bounces"))
        if bounces is not None and not 0 <= bounces <= entrances:
            raise ValueError(f"bounces {bounces} outside 0..{entrances} entrances")
        visit_length = parse_count(row.get(columns, "visit_length"))
        per_visit = entrances > 0
        if bounces is not None:
            bounce_rate = bounces / entrances if per_visit else None
        else:
            bounce_rate = _percent(row.get(columns, "bounce_rate"))
        record = traffic_record(
            FORMAT,
            TOOL,
            None,
            TrafficRow(
                day=day,
                landing_page=url or None,
                sessions=entrances,
                average_session_duration=(
                    visit_length / entrances if per_visit and visit_length is not None else None
                ),
                bounce_rate=bounce_rate,
            ),
            context,
        )
    except ValueError as exc:
        return Rejected(table.member, row.location, str(exc), redacted_excerpt(",".join(map(str, row.cells))))
    if url:
        return record
    # Visits on no one page (Others, Page URL not defined): kept as Matomo names them, with no URL.
    return Record(record.kind, {**record.row, "landing_page": label or None})


def _day(value: Cell) -> dt.date:
    """A ``date`` cell of a day (``2026-11-01``); a week, month or range is not one."""
    text = "" if value is None else str(value).strip()
    if not _DAY.fullmatch(text):
        problem = f"period {text[:40]!r} is not one day: export with period=day" if text else "no date"
        raise ValueError(problem)
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"not a date: {text!r}") from exc


def _percent(value: Cell) -> float | None:
    """Matomo's rate: ``45%``, ``66.67%`` or, in German, ``66,67 %`` (a share below 100 has no grouping)."""
    text = "" if value is None else str(value).strip()
    number = parse_decimal(value, decimal_comma="," in text)
    if number is None:
        return None
    return number / 100 if text.endswith("%") else number
