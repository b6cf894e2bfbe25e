from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline.sources.base import ParseContext
from tests.conftest import of_kind, parse_all


def test_generic_rank_tracker_csv(tmp_path: Path, context: ParseContext) -> None:
    path = tmp_path / "positions.csv"
    path.write_text(
        "date,keyword,url,position,search_engine,device,country,search_volume\n"
        "2026-01-01,Garden Tools,https://www.example.com/tools?utm_source=tracker,3,google,desktop,us,1200\n"
        "2026-01-01,garden tools,https://example.com/guide,,google,desktop,us,1200\n"
        "2026-01-02,garden tools,https://example.com/tools,2.5,google,mobile,us,\n"
        "2026-01-03,garden tools,https://example.com/tools,0,google,mobile,us,\n"
        "2026-13-01,garden tools,https://example.com/tools,4,google,mobile,us,\n"
        "2026-01-04,garden tools,https://example.com/tools\n",
        encoding="utf-8",
    )
    name, records, rejected = parse_all(path, context)
    assert name == "rank_tracker_csv"
    rankings = of_kind(records, "ranking")
    assert [
        (row["ranking_date"], row["query"], row["canonical_url"], row["position"]) for row in rankings
    ] == [
        (dt.date(2026, 1, 1), "Garden Tools", "https://example.com/tools", 3.0),
        (dt.date(2026, 1, 1), "garden tools", "https://example.com/guide", None),
        (dt.date(2026, 1, 2), "garden tools", "https://example.com/tools", 2.5),
    ]
    assert rankings[0]["search_volume"] == 1200 and rankings[2]["search_volume"] is None
    # An empty position means "not ranked": kept without a position (the query was tracked that day, the
    # page outside the tracked depth), not an error.
    assert [item.location for item in rejected] == ["line 5", "line 6", "line 7"]
    assert "outside 1..1000" in rejected[0].reason


def test_header_aliases_and_case(tmp_path: Path, context: ParseContext) -> None:
    path = tmp_path / "tracker.csv"
    path.write_text(
        "Date;Query;Landing Page;Rank\n2026-02-01;shoes;https://example.com/s;7\n", encoding="utf-8"
    )
    name, records, rejected = parse_all(path, context)
    assert name == "rank_tracker_csv" and rejected == []
    assert [row["position"] for row in of_kind(records, "ranking")] == [7.0]


def test_a_count_beyond_int64_quarantines_only_its_row(tmp_path: Path, context: ParseContext) -> None:
    path = tmp_path / "positions.csv"
    path.write_text(
        "date,keyword,url,position,search_volume\n"
        "2026-01-01,shoes,https://example.com/s,3,99999999999999999999999\n"
        "2026-01-02,shoes,https://example.com/s,4,1200\n",
        encoding="utf-8",
    )
    _, records, rejected = parse_all(path, context)
    assert [row["position"] for row in of_kind(records, "ranking")] == [4.0]
    assert [item.location for item in rejected] == ["line 2"]


def test_not_ranked_rows_are_kept_without_a_position(tmp_path: Path, context: ParseContext) -> None:
    """Whatever the tracker writes for "not ranked", with or without the page: the day the query was
    tracked, no position (the impact estimate counts it as censored, docs/impact.md)."""
    path = tmp_path / "positions.csv"
    path.write_text(
        "date,keyword,url,position\n"
        "2026-01-01,shoes,https://example.com/s,-\n"
        "2026-01-02,shoes,,>100\n"
        "2026-01-03,shoes,https://example.com/s,Not in top 100\n"
        "2026-01-04,,https://example.com/s,-\n",
        encoding="utf-8",
    )
    _, records, rejected = parse_all(path, context)
    rankings = of_kind(records, "ranking")
    assert [(str(row["ranking_date"]), row["canonical_url"], row["position"]) for row in rankings] == [
        ("2026-01-01", "https://example.com/s", None),
        ("2026-01-02", None, None),
        ("2026-01-03", "https://example.com/s", None),
    ]
    assert [item.location for item in rejected] == ["line 5"]  # no keyword: nothing was tracked
