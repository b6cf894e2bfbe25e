"""Search Console Performance report export: a zip of CSVs (``Queries.csv``, ``Pages.csv``,
``Dates.csv``/``Chart.csv``, ``Countries.csv``, ``Devices.csv``, ``Filters.csv``...), at most 1,000 rows each.

Names and headers follow the interface language (English, German, French, Spanish below); localised
files may use ``;`` separators with decimal commas. CTR is text (``3.5%``, ``3,5 %``). In comparison
mode each metric has a column per period (``Last 28 days Clicks``, ``Previous 28 days Clicks`` or
``2026-01-01 - 2026-01-28 Clicks``): the first, current period is used.

A ranking needs a query, a page and a day. The export has them together only where ``Filters.csv``
pins one side: with a page filter, ``Queries.csv`` rows are that page's queries; with a query filter,
``Pages.csv`` rows are that query's pages; with both, ``Dates.csv`` rows are daily rankings. Totals
over a date range are dated on the range's last day (explicit dates in the filter, else the landing
day). Query or page totals without a pinning filter are not rankings of a page for a query: such a
file is quarantined whole, with that reason, instead of being stored as something it is not.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pipeline.canonical import try_canonicalize
from pipeline.delivery import Delivery
from pipeline.sources.base import Extracted, HeaderLayout, ParseContext, Record, Rejected
from pipeline.sources.tabular import (
    Cell,
    Table,
    TableRow,
    has_table,
    is_blank,
    is_table_member,
    normalise_name,
    parse_count,
    parse_day,
    parse_decimal,
    spreadsheet_kind,
    tables,
)
from pipeline.sources.textfiles import head_text, sniff_delimiter

SOURCE = "search_console_export"
DIMENSIONS = {
    "queries": (
        "Top queries",
        "Query",
        "Häufigste Suchanfragen",
        "Top-Suchanfragen",
        "Suchanfrage",
        "Requêtes les plus fréquentes",
        "Requête",
        "Consultas principales",
        "Consulta",
    ),
    "pages": (
        "Top pages",
        "Page",
        "Häufigste Seiten",
        "Top-Seiten",
        "Seite",
        "Pages les plus populaires",
        "Páginas principales",
        "Página",
    ),
    "dates": ("Date", "Datum", "Fecha"),
}
METRICS = {
    "clicks": ("Clicks", "Klicks", "Clics"),
    "impressions": ("Impressions", "Impressionen", "Impresiones"),
    "ctr": ("CTR",),
    "position": ("Position", "Posición"),
}
FILTER_HEADER = {"filter": ("Filter", "Filtre", "Filtro"), "value": ("Value", "Wert", "Valeur", "Valor")}
FILTER_NAMES = {
    "page": ("Page", "Seite", "Página"),
    "query": ("Query", "Suchanfrage", "Requête", "Consulta"),
    "date": ("Date", "Datum", "Fecha"),
    "device": ("Device", "Gerät", "Appareil", "Dispositivo"),
    "country": ("Country", "Land", "Pays", "País"),
}
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_POSITION = 1000.0


def _lookup(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {normalise_name(alias): key for key, aliases in table.items() for alias in aliases}


_DIMENSION_OF = _lookup(DIMENSIONS)
_METRIC_NAMES = tuple(normalise_name(alias) for aliases in METRICS.values() for alias in aliases)
_FILTER_OF = _lookup(FILTER_NAMES)


def metric_columns(header: list[str]) -> dict[str, int]:
    """Each metric's column: its plain name, or in comparison mode the first period's ``<period> <name>``."""
    found: dict[str, int] = {}
    for metric, aliases in METRICS.items():
        names = [normalise_name(alias) for alias in aliases]
        for position, cell in enumerate(header):
            if any(cell == name or cell.endswith(" " + name) for name in names):
                found[metric] = position
                break
    return found


@dataclass
class _Filters:
    page: str | None = None
    query: str | None = None
    device: str | None = None
    country: str | None = None
    range_end: dt.date | None = None


class _PerformanceTable:
    """A header whose first column is a dimension and every other column a metric (of some period)."""

    def match(self, header: Sequence[Cell]) -> dict[str, int] | None:
        names = [normalise_name(cell) for cell in header]
        if not names or names[0] not in _DIMENSION_OF:
            return None
        metrics = metric_columns(names)
        every_column_a_metric = all(
            any(name == alias or name.endswith(" " + alias) for alias in _METRIC_NAMES) for name in names[1:]
        )
        if not every_column_a_metric or not {"clicks", "impressions", "position"} <= metrics.keys():
            return None
        return {"dimension": 0, **metrics}


class _FiltersTable:
    def match(self, header: Sequence[Cell]) -> dict[str, int] | None:
        names = [normalise_name(cell) for cell in header]
        positions = {}
        for field, aliases in FILTER_HEADER.items():
            for alias in aliases:
                if normalise_name(alias) in names:
                    positions[field] = names.index(normalise_name(alias))
                    break
        return positions if len(positions) == 2 and len(names) == 2 else None


PERFORMANCE = _PerformanceTable()
FILTERS = _FiltersTable()


class SearchConsolePerformance:
    name = "search_console_performance"

    def _tables(self, delivery: Delivery) -> list[str]:
        return [
            m
            for m in delivery.members()
            if is_table_member(delivery, m) and spreadsheet_kind(delivery, m) is None
        ]

    def detect(self, delivery: Delivery) -> bool:
        return has_table(delivery, PERFORMANCE, self._tables(delivery))

    def header_layouts(self) -> tuple[HeaderLayout, ...]:
        """A dimension first, then the metrics a ranking needs (of the current period, in comparison mode)."""
        dimensions = tuple(name for names in DIMENSIONS.values() for name in names)
        metrics = tuple(METRICS[metric] for metric in ("clicks", "impressions", "position"))
        return (HeaderLayout((dimensions, *metrics), normalise_name),)

    def _filters(self, delivery: Delivery, members: list[str], context: ParseContext) -> _Filters:
        filters = _Filters()
        for member in members:
            for table in tables(delivery, member, FILTERS):
                for row in table.rows:
                    if isinstance(row, Rejected):
                        continue  # a damaged filter row: the filters stay unknown
                    name = _FILTER_OF.get(normalise_name(row.text(table.columns, "filter")))
                    value = row.text(table.columns, "value")
                    if name == "page":
                        filters.page = value if try_canonicalize(value, context.www_policy) else None
                    elif name == "query":
                        filters.query = value or None
                    elif name == "device":
                        filters.device = value.lower() or None
                    elif name == "country":
                        filters.country = value or None
                    elif name == "date":
                        days = _ISO_DAY.findall(value)
                        filters.range_end = (
                            dt.date.fromisoformat(days[1] if len(days) > 1 else days[0]) if days else None
                        )
        return filters

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        members = self._tables(delivery)
        filters = self._filters(delivery, members, context)
        for member in members:
            decimal_comma = sniff_delimiter(head_text(delivery, member)) == ";"
            for table in tables(delivery, member, PERFORMANCE):
                kind = _DIMENSION_OF[table.header[0]]
                pinned = {
                    "queries": filters.page is not None,
                    "pages": filters.query is not None,
                    "dates": filters.page is not None and filters.query is not None,
                }[kind]
                if not pinned:
                    if kind != "dates":
                        missing = "page" if kind == "queries" else "query"
                        yield Rejected(
                            member,
                            "whole file",
                            f"{kind} totals without a {missing} filter are not rankings of a page for a query"
                            " (export the report filtered to one page or query)",
                        )
                    continue
                for row in table.rows:
                    if isinstance(row, Rejected):
                        yield row
                    elif not is_blank(row):
                        yield self._row(kind, table, row, filters, decimal_comma, context)

    def _row(
        self,
        kind: str,
        table: Table,
        row: TableRow,
        filters: _Filters,
        decimal_comma: bool,
        context: ParseContext,
    ) -> Extracted:
        columns = table.columns
        dimension = row.text(columns, "dimension")
        query = dimension if kind == "queries" else filters.query
        page = dimension if kind == "pages" else filters.page
        try:
            day = parse_day(dimension) if kind == "dates" else (filters.range_end or context.landed_on)
            position = parse_decimal(row.get(columns, "position"), decimal_comma)
            clicks = parse_count(row.get(columns, "clicks"))
            impressions = parse_count(row.get(columns, "impressions"))
            parse_decimal(row.get(columns, "ctr"), decimal_comma)
        except ValueError as exc:
            return Rejected(table.member, row.location, f"unreadable value ({exc})")
        canonical = try_canonicalize(page, context.www_policy) if page else None
        if not query or canonical is None or day is None or page is None:
            return Rejected(table.member, row.location, f"no query, page or day ({dimension[:80]!r})")
        if position is None or not 1.0 <= position <= MAX_POSITION:
            return Rejected(table.member, row.location, f"position {position} outside 1..{MAX_POSITION:.0f}")
        return Record(
            "ranking",
            {
                "source": SOURCE,
                "ranking_date": day,
                "query": query,
                "url": page,
                "canonical_url": canonical,
                "position": position,
                "clicks": clicks,
                "impressions": impressions,
                "search_engine": "google",
                "device": filters.device,
                "country": filters.country,
                "search_volume": None,
            },
        )
