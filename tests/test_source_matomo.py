"""Matomo's entry-page reports as its exports write them, and their rows in core.traffic_daily.

The fixtures' shape is Matomo's own (matomo-org/matomo, read 2026-12): the columns of
``Actions.getEntryPageUrls`` in their order from ``tests/PHPUnit/System/expected/
test_OneVisitorTwoVisits__Actions.getEntryPageUrls_day.xml`` and, flattened, ``test_FlattenReports__
Actions.getPageUrls_week.xml``; the CSV layout (``date`` first with several periods, ``metadata_*``
columns, ``idsubdatatable`` on folders, UTF-16LE with a BOM, ``\\n`` line ends, ``100%`` rates) from
``core/DataTable/Renderer/Csv.php`` and ``test_csvExport_multi__Contents.getContentNames_week.csv``; the
Export button's translated names (``Label``/``Bezeichnung``, ``Entrances``/``Eingänge``, ``Metadata: url``,
``66,67 %``) from ``core/Metrics.php``, ``lang/en.json``, ``lang/de.json`` and
``test_csvExport_xp1_inner1_trans-de__Contents.getContentNames_day.csv``.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import duckdb
import pytest

from pipeline import warehouse
from pipeline.config import Settings
from pipeline.ingest import run_ingest
from pipeline.inspect_export import inspect_path
from pipeline.sources.base import ParseContext
from tests.conftest import csv_bytes, of_kind, parse_all

# Actions.getEntryPageUrls&flat=1&period=day&date=2026-11-01,2026-11-02&format=CSV (hideColumns left out the
# page-speed columns, as exports commonly do; the rest in Matomo's order).
API_HEADER = [
    "date",
    "label",
    "nb_visits",
    "nb_uniq_visitors",
    "nb_hits",
    "sum_time_spent",
    "entry_nb_uniq_visitors",
    "entry_nb_visits",
    "entry_nb_actions",
    "entry_sum_visit_length",
    "entry_bounce_count",
    "avg_time_on_page",
    "bounce_rate",
    "exit_rate",
    "metadata_url",
    "metadata_segment",
]
BOOTS = "https://example.com/blog/boots/"
SEGMENT = "entryPageUrl==https%253A%252F%252Fexample.com%252Fblog%252Fboots%252F"


def api_row(day: str, label: str, counts: str, rates: str, url: str, *more: str) -> list[str]:
    """A row of API_HEADER: ``counts`` are nb_visits to entry_bounce_count, ``rates`` the three processed
    metrics, space-separated."""
    return [day, label, *counts.split(), *rates.split(), url, *more]


API_ROWS = [
    api_row("2026-11-01", "/blog/boots/", "41 38 52 2100 28 30 75 3600 12", "40 40% 50%", BOOTS, SEGMENT),
    api_row("2026-11-01", "/", "9 9 9 90 5 5 6 70 4", "10 80% 90%", "https://example.com/", ""),
    # Matomo's summary row when the report is truncated: visits on no one page.
    api_row("2026-11-01", "Others", "3 3 3 0 3 3 3 0 3", "0 100% 100%", "", ""),
    api_row("2026-11-02", "/blog/boots/", "5 5 5 10 2 2 2 10 3", "2 150% 100%", BOOTS, SEGMENT),
    api_row(
        "2026-11-02",
        "/index.htm?parameter=Should display",
        "4 4 4 0 4 4 4 0 0",
        "0 0% 0%",
        "https://example.com/index.htm?parameter=Should display",
        "",
    ),
]


def matomo_export(
    rows: list[list[str]], header: list[str] | None = None, delimiter: str = ",", utf16: bool = True
) -> bytes:
    """An export as Matomo writes it: UTF-16LE with a byte-order mark by default, UTF-8 with
    ``convertToUnicode=0``."""
    table = [header or API_HEADER, *rows]
    if utf16:
        return csv_bytes(table, delimiter=delimiter, bom=True, encoding="utf-16-le")
    return csv_bytes(table, delimiter=delimiter)


def context(*sites: str) -> ParseContext:
    return ParseContext("strip", dt.date(2026, 11, 5), owned_sites=sites or ("example.com",))


def test_api_export_rows_per_day_and_page_over_all_sources(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(matomo_export(API_ROWS))
    name, records, rejected = parse_all(path, context())
    assert name == "matomo_export"
    rows = of_kind(records, "traffic")
    assert [
        (r["traffic_date"], r["landing_page"], r["canonical_url"], r["sessions"], r["bounce_rate"])
        for r in rows
    ] == [
        (dt.date(2026, 11, 1), BOOTS, BOOTS, 30, 0.4),
        (dt.date(2026, 11, 1), "https://example.com/", "https://example.com/", 5, 0.8),
        (dt.date(2026, 11, 1), "Others", None, 3, 1.0),
        (
            dt.date(2026, 11, 2),
            "https://example.com/index.htm?parameter=Should display",
            "https://example.com/index.htm?parameter=Should+display",
            4,
            0.0,
        ),
    ]
    boots = rows[0]
    # Entrances, not nb_visits (visits that saw the page anywhere); total seconds of those visits averaged.
    assert (boots["average_session_duration"], boots["engaged_sessions"], boots["tool"], boots["format"]) == (
        120.0,
        None,
        "matomo",
        "matomo_export",
    )
    dimensions = {(r["session_source"], r["session_medium"], r["channel_group"]) for r in rows}
    assert dimensions == {(None, None, None)}
    assert [(item.member, item.location, item.reason) for item in rejected] == [
        ("export.csv", "line 5", "bounces 3 outside 0..2 entrances")
    ]


def test_export_button_tsv_in_german_with_translated_names_and_decimal_comma(tmp_path: Path) -> None:
    """The Export button asks for translated names in the interface's language; this one hid the bounce
    count, so the rate is read as written."""
    header = ["Datum", "Bezeichnung", "Besuche", "Eingänge", "Absprungsrate", "Metadaten: url"]
    path = tmp_path / "Export _ Einstiegsseiten _ November 2026.tsv"
    path.write_bytes(
        matomo_export(
            [
                ["2026-11-01", "/blog/boots/", "7", "3", "66,67 %", BOOTS],
                ["2026-11-01", "/kontakt/", "1", "1", "100 %", "https://example.com/kontakt/"],
                ["2026-11-01", "/jobs/", "1", "1", "viel", "https://example.com/jobs/"],
            ],
            header,
            delimiter="\t",
        )
    )
    name, records, rejected = parse_all(path, context())
    assert name == "matomo_export"
    assert [(r["canonical_url"], r["sessions"], r["bounce_rate"]) for r in of_kind(records, "traffic")] == [
        (BOOTS, 3, pytest.approx(0.6667)),
        ("https://example.com/kontakt/", 1, 1.0),
    ]
    assert [(item.location, item.reason) for item in rejected] == [("line 4", "not a number: 'viel'")]


def test_one_period_without_the_date_column_is_quarantined_whole(tmp_path: Path) -> None:
    """period=day&date=2026-11-01 writes no date column and nothing else says which day: not guessed."""
    path = tmp_path / "export.csv"
    path.write_bytes(matomo_export([row[1:] for row in API_ROWS[:2]], API_HEADER[1:]))
    name, records, rejected = parse_all(path, context())
    assert (name, records) == ("matomo_export", [])
    assert [(item.location, item.reason.split(" (")[0]) for item in rejected] == [
        ("whole file", "a Matomo report without the date column is not daily traffic")
    ]


# Actions.getEntryPageTitles: titles, and no URL.
TITLES_HEADER = [
    "date",
    "label",
    "nb_visits",
    "entry_nb_visits",
    "entry_bounce_count",
    "bounce_rate",
    "metadata_segment",
]
HOME, CONTACT = "https://example.com/", "https://example.com/contact"
FLATTEN = "export the report flattened (Make it flat, or flat=1)"


def test_weeks_folders_and_pages_without_entrances(tmp_path: Path) -> None:
    """A report not flattened has folder rows (with their subtable id): quarantined saying to flatten it, the
    pages beside them kept. A week's row is not a day's. Actions.getPageUrls lists pages no visit began on:
    no entrances, not traffic."""
    header = [*API_HEADER, "idsubdatatable"]
    path = tmp_path / "export.csv"
    path.write_bytes(
        matomo_export(
            [
                api_row("2026-11-01", "blog", "50 45 61 2110 33 35 81 3670 16", "40 46% 51%", "", "", "7"),
                # No entry columns: a page no visit began on.
                ["2026-11-01", "/contact", "2", "2", "2", "0", *[""] * 5, "0", "", "100%", CONTACT, "", ""],
                api_row("2026-11-01", "/", "9 9 9 90 5 5 6 70 4", "10 80% 90%", HOME, "", ""),
                api_row("2026-11-02,2026-11-08", "/", "9 9 9 90 5 5 6 70 4", "10 80% 90%", HOME, "", ""),
            ],
            header,
        )
    )
    _, records, rejected = parse_all(path, context())
    assert [(r["canonical_url"], r["sessions"]) for r in of_kind(records, "traffic")] == [
        ("https://example.com/", 5)
    ]
    assert [(item.location, item.reason) for item in rejected] == [
        ("line 2", f"'blog' is a folder of pages, not one page: {FLATTEN}"),
        ("line 5", "period '2026-11-02,2026-11-08' is not one day: export with period=day"),
    ]


def test_detected_from_content_not_names(tmp_path: Path) -> None:
    """A Matomo export under another tool's name is Matomo's (here UTF-8, convertToUnicode=0); a page-titles
    report (titles, no URL) is not a page's traffic and is not taken for one."""
    renamed = tmp_path / "imported_entry_pages_20261101_20261102.csv"
    renamed.write_bytes(matomo_export(API_ROWS[:1], utf16=False))
    titles = tmp_path / "Export _ Entry pages.csv"
    titles.write_bytes(
        matomo_export(
            [["2026-11-01", "Boots", "41", "30", "12", "40%", "entryPageTitle==Boots"]],
            TITLES_HEADER,
        )
    )
    name, records, _ = parse_all(renamed, context())
    assert (name, [r["canonical_url"] for r in of_kind(records, "traffic")]) == ("matomo_export", [BOOTS])
    assert parse_all(titles, context())[0] is None


def test_inspect_counts_traffic(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(matomo_export(API_ROWS))
    result = inspect_path(settings, path)
    assert (result["format"], result["traffic"], result["skipped"], result["quarantined"]) == (
        "matomo_export",
        4,
        0,
        1,
    )


def test_ingested_and_built_into_traffic_daily_as_all_sources(settings: Settings) -> None:
    landed = dt.datetime(2026, 11, 4, tzinfo=dt.UTC)
    path = settings.data.landing / "traffic/matomo/export.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(matomo_export(API_ROWS))
    os.utime(path, (landed.timestamp(), landed.timestamp()))
    report = run_ingest(settings, now=landed)
    assert [r.format for r in report.results] == ["matomo_export"]
    built = warehouse.build(settings, dt.date(2026, 11, 5))
    con = duckdb.connect(str(built.path), read_only=True)
    try:
        daily = con.sql(
            "SELECT canonical_url, day, channel, tool, sessions, average_session_duration, bounce_rate "
            "FROM core.traffic_daily ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    assert daily == [
        ("https://example.com/", dt.date(2026, 11, 1), "all_sources", "matomo", 5, 14.0, 0.8),
        (BOOTS, dt.date(2026, 11, 1), "all_sources", "matomo", 30, 120.0, 0.4),
        (
            "https://example.com/index.htm?parameter=Should+display",
            dt.date(2026, 11, 2),
            "all_sources",
            "matomo",
            4,
            0.0,
            0.0,
        ),
    ]
