from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline.sources.base import ParseContext
from tests.conftest import csv_bytes, of_kind, parse_all, write_zip


def test_search_console_performance_filtered_to_a_page(tmp_path: Path, context: ParseContext) -> None:
    archive = write_zip(
        tmp_path / "example.com-Performance-on-Search-2026-01-31.zip",
        {
            "Queries.csv": csv_bytes(
                [
                    ["Top queries", "Clicks", "Impressions", "CTR", "Position"],
                    ["coffee guide", "1,204", "30,100", "4%", "3.2"],
                    ["cafe guide", "12", "400", "3.5%", "8.75"],
                    ["broken", "1", "x", "1%", "2"],
                ]
            ),
            "Pages.csv": csv_bytes(
                [
                    ["Top pages", "Clicks", "Impressions", "CTR", "Position"],
                    ["https://example.com/guide", "1216", "30500", "4%", "3.3"],
                ]
            ),
            "Countries.csv": csv_bytes(
                [["Country", "Clicks", "Impressions", "CTR", "Position"], ["Germany", "3", "10", "30%", "2"]]
            ),
            "Dates.csv": csv_bytes(
                [
                    ["Date", "Clicks", "Impressions", "CTR", "Position"],
                    ["2026-01-30", "40", "1000", "4%", "3.1"],
                ]
            ),
            "Filters.csv": csv_bytes(
                [
                    ["Filter", "Value"],
                    ["Search type", "Web"],
                    ["Date", "2026-01-01 - 2026-01-31"],
                    ["Page", "https://www.example.com/guide"],
                    ["Device", "Mobile"],
                ]
            ),
        },
    )
    name, records, rejected = parse_all(archive, context)
    assert name == "search_console_performance"
    rankings = of_kind(records, "ranking")
    assert [
        (
            row["query"],
            row["canonical_url"],
            row["ranking_date"],
            row["position"],
            row["clicks"],
            row["impressions"],
            row["device"],
        )
        for row in rankings
    ] == [
        ("coffee guide", "https://example.com/guide", dt.date(2026, 1, 31), 3.2, 1204, 30100, "mobile"),
        ("cafe guide", "https://example.com/guide", dt.date(2026, 1, 31), 8.75, 12, 400, "mobile"),
    ]
    assert sorted((item.member, item.location) for item in rejected) == [
        ("Pages.csv", "whole file"),  # page totals without a query filter are not rankings
        ("Queries.csv", "line 4"),
    ]


def test_localised_export_with_semicolons_decimal_commas_and_comparison_headers(
    tmp_path: Path, context: ParseContext
) -> None:
    archive = write_zip(
        tmp_path / "Leistung-2026-01-31.zip",
        {
            "Suchanfragen.csv": csv_bytes(
                [
                    [
                        "Häufigste Suchanfragen",
                        "Letzte 28 Tage Klicks",
                        "Vorherige 28 Tage Klicks",
                        "Letzte 28 Tage Impressionen",
                        "Vorherige 28 Tage Impressionen",
                        "Letzte 28 Tage CTR",
                        "Vorherige 28 Tage CTR",
                        "Letzte 28 Tage Position",
                        "Vorherige 28 Tage Position",
                    ],
                    ["kaffee ratgeber", "1.204", "900", "30.100", "25.000", "4 %", "3,6 %", "3,2", "4,1"],
                ],
                delimiter=";",
                bom=True,
            ),
            "Filter.csv": csv_bytes(
                [
                    ["Filter", "Wert"],
                    ["Suchtyp", "Web"],
                    ["Datum", "Letzte 28 Tage im Vergleich zu den vorherigen 28 Tagen"],
                    ["Seite", "https://example.com/ratgeber"],
                ],
                delimiter=";",
                bom=True,
            ),
        },
    )
    name, records, rejected = parse_all(archive, context)
    assert name == "search_console_performance" and rejected == []
    (row,) = of_kind(records, "ranking")
    assert (
        row["query"],
        row["canonical_url"],
        row["position"],
        row["clicks"],
        row["impressions"],
        row["ranking_date"],
    ) == (
        "kaffee ratgeber",
        "https://example.com/ratgeber",
        3.2,
        1204,
        30100,
        context.landed_on,
    )


def test_daily_rows_when_page_and_query_are_both_pinned(tmp_path: Path, context: ParseContext) -> None:
    folder = tmp_path / "performance"
    folder.mkdir()
    (folder / "Chart.csv").write_bytes(
        csv_bytes(
            [
                ["Date", "Clicks", "Impressions", "CTR", "Position"],
                ["2026-01-30", "4", "100", "4%", "2.5"],
                ["2026-01-31", "5", "110", "4.5%", "2.4"],
            ]
        )
    )
    (folder / "Filters.csv").write_bytes(
        csv_bytes([["Filter", "Value"], ["Query", "coffee guide"], ["Page", "https://example.com/guide"]])
    )
    name, records, _ = parse_all(folder, context)
    assert name == "search_console_performance"
    assert [(row["ranking_date"], row["position"]) for row in of_kind(records, "ranking")] == [
        (dt.date(2026, 1, 30), 2.5),
        (dt.date(2026, 1, 31), 2.4),
    ]


def test_semrush_positions_map_onto_the_rank_tracker_contract(tmp_path: Path, context: ParseContext) -> None:
    rows = [
        [
            "Keyword",
            "Position",
            "Previous position",
            "Search Volume",
            "Keyword Difficulty",
            "CPC",
            "URL",
            "Traffic",
            "Traffic (%)",
            "Traffic Cost",
            "Competition",
            "Number of Results",
            "Trends",
            "Timestamp",
            "SERP Features by Keyword",
        ],
        [
            "coffee guide",
            "3",
            "5",
            "2,400",
            "41",
            "1.2",
            "https://www.example.com/guide",
            "120",
            "3.1",
            "144",
            "0.4",
            "1200000",
            "0.8,1.0",
            "2026-01-15",
            "Sitelinks",
        ],
        [
            "cafe",
            "0",
            "0",
            "100",
            "1",
            "0",
            "https://example.com/",
            "0",
            "0",
            "0",
            "0",
            "0",
            "",
            "2026-01-15",
            "",
        ],
    ]
    path = tmp_path / "example.com-organic.Positions-us-20260115.csv"
    path.write_bytes(csv_bytes(rows, bom=True))
    name, records, rejected = parse_all(path, context)
    assert name == "semrush_positions"
    (row,) = of_kind(records, "ranking")
    assert {
        key: row[key]
        for key in ("source", "ranking_date", "query", "canonical_url", "position", "search_volume")
    } == {
        "source": "semrush",
        "ranking_date": dt.date(2026, 1, 15),
        "query": "coffee guide",
        "canonical_url": "https://example.com/guide",
        "position": 3.0,
        "search_volume": 2400,
    }
    assert [item.location for item in rejected] == ["line 3"]
