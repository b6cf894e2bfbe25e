"""Incremental builds: a nightly build from the published warehouse redoes only what changed, and its
contents equal a full rebuild of the same lake."""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import math
import os
import shutil
from pathlib import Path
from typing import NamedTuple

import duckdb
import pytest

from pipeline import gate, warehouse
from pipeline.config import Settings
from pipeline.ingest import run_ingest
from pipeline.run_variables import build_vars
from pipeline.sql_quoting import sql_string
from socialrank_demo.sample import AHREFS_COLUMNS
from tests.conftest import (
    DEMO_RUN_DATE,
    PROJECT_DIR,
    demo_world_settings,
    keep_build,
    write_zip,
    x_manifest,
    x_tweet,
    x_tweets_js,
)
from tests.pipeline_runs import PYTHON_FILLED, run_dbt, table_checksums

RUN_DATE = DEMO_RUN_DATE
NEXT_DAY = RUN_DATE + dt.timedelta(days=1)
LATE_POST_DAY = RUN_DATE - dt.timedelta(days=20)


@pytest.fixture
def settings(published_demo_world: Path, tmp_path: Path) -> Settings:
    shutil.copytree(published_demo_world / "data", tmp_path / "data")
    return demo_world_settings(tmp_path)


def _pages(settings: Settings) -> list[tuple[str, str, bool]]:
    """The ranked (page, query) pairs of the last day, and whether the page has a social link yet."""
    con = warehouse.connect_read_only(settings.warehouse)
    try:
        return [
            (url, query, linked)
            for url, query, linked in con.execute(
                "SELECT canonical_url, query, canonical_url IN "
                "(SELECT canonical_url FROM core.first_social_links) "
                "FROM core.rankings_daily WHERE day = ? ORDER BY 1, 2",
                [RUN_DATE],
            ).fetchall()
        ]
    finally:
        con.close()


def _land_next_day_rankings(settings: Settings) -> list[tuple[str, str, bool]]:
    pages = _pages(settings)
    tracker = settings.data.landing / "rankings" / "tracker" / f"positions-{NEXT_DAY}.csv"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text(
        "date,keyword,url,position\n"
        + "".join(f"{NEXT_DAY},{query},{url},{1 + n % 30}\n" for n, (url, query, _) in enumerate(pages)),
        encoding="utf-8",
    )
    return pages


def _land_next_day_backlinks(settings: Settings, new_target: str) -> dict[str, dt.date]:
    """An Ahrefs export of the next day: a link from a new domain; a known link seen again with a new
    anchor, and a link from another page of its domain (neither changes a referring-domain count); a known
    link, its domain's only one to its page, reported first seen 30 days earlier. Returns that page with
    the day its domain now counts from."""
    con = warehouse.connect_read_only(settings.warehouse)
    try:
        known = con.execute(
            "SELECT source_url, target_url, first_seen FROM core.backlinks "
            "WHERE found_by = ['ahrefs'] ORDER BY source_url, target_url LIMIT 1"
        ).fetchone()
        only_link = con.execute(
            "SELECT source_url, target_url, first_seen FROM core.backlinks AS b "
            "WHERE found_by = ['ahrefs'] AND target_url NOT IN (?, ?) AND first_seen > ? AND ("
            "  SELECT count(*) FROM core.backlinks AS o"
            "  WHERE o.target_url = b.target_url AND o.source_domain = b.source_domain AND NOT o.is_social"
            ") = 1 "
            "ORDER BY source_url, target_url LIMIT 1",
            [new_target, known[1] if known else "", dt.date(2026, 1, 1)],
        ).fetchone()
    finally:
        con.close()
    assert known is not None and only_link is not None
    source, target, first_seen = known
    earlier = only_link[2] - dt.timedelta(days=30)
    export = settings.data.landing / "backlinks" / "ahrefs" / f"example-backlinks-{NEXT_DAY}.csv"
    export.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        (
            "https://fresh-trail-notes.net/blog/new-favourites/",
            new_target,
            "new favourites",
            NEXT_DAY,
            NEXT_DAY,
        ),
        (source, target, "seen again with a new anchor", first_seen, NEXT_DAY),
        (source.rstrip("/") + "-sequel/", target, "a sequel", NEXT_DAY, NEXT_DAY),
        (only_link[0], only_link[1], "seen earlier", earlier, NEXT_DAY),
    ]
    with export.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=AHREFS_COLUMNS, restval="")
        writer.writeheader()
        for referring, linked, anchor, first, last in rows:
            writer.writerow(
                {
                    "Referring page URL": referring,
                    "Target URL": linked,
                    "Anchor": anchor,
                    "First seen": f"{first} 00:00:00",
                    "Last seen": f"{last} 10:00:00",
                }
            )
    return {only_link[1]: earlier}


X_ANALYTICS_COLUMNS = (
    "Post id,Date,Post text,Post Link,Impressions,Likes,Engagements,Bookmarks,Shares,New follows,Replies,"
    "Reposts,Profile visits,Detail Expands,URL Clicks,Hashtag Clicks,Permalink Clicks"
)


def _land_next_day_engagement(settings: Settings, skip_page: str) -> dict[str, dt.date]:
    """An X post analytics export landed the next day, with new counts for two old posts linking owned
    pages: one named by its id, one by another system's id and its permalink (mapped to the post by the
    permalink). Returns their pages with the days they were posted."""
    con = warehouse.connect_read_only(settings.warehouse)
    try:
        posts = con.execute(
            "SELECT p.post_id, p.permalink, l.canonical_url, l.post_day "
            "FROM core.social_posts AS p JOIN core.social_links AS l USING (platform, post_id) "
            "WHERE p.platform = 'x' AND l.is_owned AND p.permalink IS NOT NULL AND l.canonical_url <> ? "
            "QUALIFY count(*) OVER (PARTITION BY p.post_id) = 1 "
            "ORDER BY l.post_day, p.post_id",
            [skip_page],
        ).fetchall()
    finally:
        con.close()
    by_id = posts[0]
    by_permalink = next(post for post in posts if post[2] != by_id[2])
    export = settings.data.landing / "social" / "x" / f"account_analytics_content_{NEXT_DAY}_{NEXT_DAY}.csv"
    export.write_text(
        X_ANALYTICS_COLUMNS
        + f"\n{by_id[0]},{NEXT_DAY},A guide,{by_id[1]},5000,500,0,0,0,0,40,30,0,0,12,0,0"
        + f"\npromo-7,{NEXT_DAY},A guide,{by_permalink[1]},4000,400,0,0,0,0,20,10,0,0,9,0,0\n",
        encoding="utf-8",
    )
    landed = dt.datetime.combine(NEXT_DAY, dt.time(12), tzinfo=dt.UTC).timestamp()
    os.utime(export, (landed, landed))
    return {by_id[2]: by_id[3], by_permalink[2]: by_permalink[3]}


class NextDay(NamedTuple):
    today_page: str  # linked by a post of the next day
    late_page: str  # linked for the first time, by a post dated 20 days back
    engaged_pages: dict[str, dt.date]  # with new engagement for an old post, and that post's day
    linked_earlier: dict[str, dt.date]  # a referring domain counts from an earlier day


def _land_next_day(settings: Settings) -> NextDay:
    """The next day's rank-tracker file, a post of that day, a late post dated 20 days back, new
    engagement for old posts, and backlinks: a new one to an unlinked page and a known one seen again."""
    pages = _land_next_day_rankings(settings)
    today_page = next(url for url, _, linked in pages if linked)
    late_page = next(url for url, _, linked in pages if not linked)
    linked_earlier = _land_next_day_backlinks(settings, late_page)
    tweets: list[object] = [
        {
            "tweet": x_tweet(
                "9100000001", f"{NEXT_DAY:%a %b %d} 16:00:00 +0000 2026", "new", [("t", today_page)]
            )
        },
        {
            "tweet": x_tweet(
                "9100000002", f"{LATE_POST_DAY:%a %b %d} 16:00:00 +0000 2026", "old", [("t", late_page)]
            )
        },
    ]
    write_zip(
        settings.data.landing / "social" / "x" / "late-archive.zip",
        {
            "data/manifest.js": x_manifest(generated=f"{NEXT_DAY}T20:00:00.000Z"),
            "data/tweets.js": x_tweets_js(tweets),
        },
    )
    return NextDay(today_page, late_page, _land_next_day_engagement(settings, today_page), linked_earlier)


def _contents(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every core and mart table's rows, sorted, floats rounded (summation order is not fixed)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [
            name
            for (name,) in con.execute(
                "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
                "WHERE schema_name IN ('core', 'mart') ORDER BY 1"
            ).fetchall()
        ]
        return {
            name: sorted(
                (tuple(_comparable(value) for value in row) for row in con.sql(f"FROM {name}").fetchall()),
                key=repr,
            )
            for name in names
        }
    finally:
        con.close()


def _lake_rows(path: Path) -> object:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("SELECT lake_rows FROM meta.build_info").fetchone()
    finally:
        con.close()
    assert row is not None
    return row[0]


def _comparable(value: object) -> object:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    if isinstance(value, list):
        return tuple(_comparable(item) for item in value)
    return value


def test_incremental_build_equals_a_full_build(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    today_page, late_page, engaged_pages, linked_earlier = _land_next_day(settings)
    run_ingest(settings)
    with caplog.at_level(logging.INFO, logger="pipeline.impact.mart"):
        incremental = keep_build(warehouse.build(settings, NEXT_DAY))
    # The late post gave a page its first link: the estimator's inputs changed, it ran again.
    assert "estimates are kept" not in caplog.text
    full = warehouse.build(settings, NEXT_DAY, full=True)
    assert (incremental.mode, full.mode) == ("incremental", "full")

    con = duckdb.connect(str(incremental.path), read_only=True)
    try:
        assert con.execute("SELECT day FROM meta.changed_days").fetchall() == [(NEXT_DAY,)]
        changed_pages = dict(con.execute("SELECT canonical_url, from_day FROM meta.changed_pages").fetchall())
        assert con.execute("SELECT mode, base_version FROM meta.build_info").fetchone() == (
            "incremental",
            incremental.base_version,
        )
        # The next day's backlinks are in: the new link, and the known one with its new anchor.
        assert con.execute(
            "SELECT target_url, anchor, first_seen FROM core.backlinks "
            "WHERE source_url LIKE 'https://fresh-trail-notes.net/%'"
        ).fetchall() == [(late_page, "new favourites", NEXT_DAY)]
        assert con.execute(
            "SELECT count(*) FROM core.backlinks WHERE anchor = 'seen again with a new anchor'"
        ).fetchone() == (1,)
    finally:
        con.close()
    # The late post gave its page its first social link, a date every row of that page carries; the new
    # engagement changed the running totals of the old posts' pages from the days they were posted; a
    # referring domain counts from an earlier day.
    expected: dict[str, dt.date] = {}
    for page, day in [
        (today_page, NEXT_DAY),
        (late_page, dt.date.min),
        *engaged_pages.items(),
        *linked_earlier.items(),
    ]:
        expected[page] = min(expected.get(page, day), day)
    assert changed_pages == expected

    # The incremental build counted only the new deliveries' lake rows, on top of the base build's.
    assert _lake_rows(incremental.path) == _lake_rows(full.path)

    incremental_contents, full_contents = _contents(incremental.path), _contents(full.path)
    assert incremental_contents.keys() == full_contents.keys()
    for table in full_contents:
        assert incremental_contents[table] == full_contents[table], table
    assert len(full_contents["core.rankings_daily"]) > len(
        _contents(settings.warehouse)["core.rankings_daily"]
    )


def test_dbt_run_makes_the_incremental_build_too(settings: Settings, tmp_path: Path) -> None:
    """Real incremental `dbt run` on a copy of the published warehouse, with the vars the build's incremental
    build ran with: dbt's is_incremental(), the models' pre-hooks and its append build every core and mart
    table a model builds as the build did (the Python-filled ones are the build's Python's)."""
    _land_next_day(settings)
    run_ingest(settings)
    incremental = keep_build(warehouse.build(settings, NEXT_DAY))
    base_copy = tmp_path / "dbt" / "warehouse.duckdb"
    base_copy.parent.mkdir()
    shutil.copyfile(settings.warehouse, base_copy)
    run_dbt(base_copy, settings.data.root, build_vars(incremental.path) | {"incremental_build": True})
    by_dbt, by_build = table_checksums(base_copy), table_checksums(incremental.path)
    assert by_dbt.keys() == by_build.keys()
    assert [name for name in by_build if name not in PYTHON_FILLED and by_dbt[name] != by_build[name]] == []
    con = duckdb.connect(str(base_copy), read_only=True)
    try:  # it was incremental: the slices are those of the build's incremental build
        assert con.execute("SELECT day FROM meta.changed_days").fetchall() == [(NEXT_DAY,)]
    finally:
        con.close()


def test_the_gate_of_an_incremental_build_checks_the_rewritten_rows(settings: Settings) -> None:
    _land_next_day(settings)
    run_ingest(settings)
    built = warehouse.build(settings, NEXT_DAY)
    assert built.mode == "incremental"
    con = duckdb.connect(str(built.path), read_only=True)
    try:
        next_day_rankings = con.execute(
            "SELECT count(*) FROM core.rankings_daily WHERE day = ?", [NEXT_DAY]
        ).fetchone()
    finally:
        con.close()
    assert next_day_rankings is not None
    _assert_the_rewritten_rows_are_what_changed(settings.warehouse, built.path)

    summary = gate.run_gate(settings, built.path)
    suites = summary["suites"]
    assert suites["core.rankings_daily"]["rows"] == f"{next_day_rankings[0]} rewritten"
    assert suites["core.backlinks"]["rows"].endswith(" rewritten")
    assert suites["mart.ranking_impact"]["rows"].endswith(" rewritten")
    assert suites["core.engagement_daily"]["rows"].endswith(" rewritten")
    assert suites["mart.impact_weekly_panel"]["rows"].endswith(" rewritten")
    assert suites["mart.impact_estimates"]["rows"] == "all"
    # Every expectation ran: the table-level ones on the whole table, the others on the rewritten rows.
    expected = json.loads((PROJECT_DIR / "expectations" / "core.rankings_daily.json").read_text())
    assert suites["core.rankings_daily"]["evaluated"] == len(expected["expectations"])

    con = duckdb.connect(str(built.path))
    try:
        con.execute(
            "UPDATE core.rankings_daily SET position = 250 WHERE day = ? AND canonical_url = "
            "(SELECT min(canonical_url) FROM core.rankings_daily WHERE day = ?)",
            [NEXT_DAY, NEXT_DAY],
        )
        _duplicate_a_ranking_row(con, NEXT_DAY)
    finally:
        con.close()
    with pytest.raises(gate.GateFailed) as failed:
        gate.run_gate(settings, built.path)
    failing = failed.value.summary["suites"]["core.rankings_daily"]["failed"]
    # Row checks on the rewritten rows: the position and the duplicate; the row count on the whole table.
    assert sorted(f["expectation"] for f in failing) == [
        "expect_column_values_to_be_between",
        "expect_table_row_count_to_be_between",
        "unexpected_rows_expectation",
    ]
    (duplicates,) = [f for f in failing if f["expectation"] == "unexpected_rows_expectation"]
    assert duplicates["description"] == "one row per canonical URL, query and day"
    assert duplicates["observed"] == 1

    # A full build's gate after it validates whole tables again, and finds a duplicate key anywhere.
    full_build = warehouse.build(settings, NEXT_DAY, full=True).path
    full = gate.run_gate(settings, full_build)
    assert {suite["rows"] for suite in full["suites"].values()} == {"all"}
    con = duckdb.connect(str(full_build))
    try:
        _duplicate_a_ranking_row(con, RUN_DATE)
    finally:
        con.close()
    with pytest.raises(gate.GateFailed) as failed:
        gate.run_gate(settings, full_build)
    failing = failed.value.summary["suites"]["core.rankings_daily"]["failed"]
    assert [f["description"] for f in failing if f["expectation"] == "unexpected_rows_expectation"] == [
        "one row per canonical URL, query and day"
    ]


GATED_INCREMENTAL_TABLES = [
    "core.rankings_daily",
    "core.engagement_daily",
    "core.backlinks",
    "mart.ranking_impact",
    "mart.impact_weekly_panel",
]


def _assert_the_rewritten_rows_are_what_changed(base: Path, built: Path) -> None:
    """The gate checks the rows of meta.rewritten_<table>: every row of the incremental build that is new or
    differs from the base build's must be among them (else the gate would pass it unchecked), and for
    core.rankings_daily, whose only changed day is a new one, they are exactly those rows."""
    con = duckdb.connect(str(built), read_only=True)
    try:
        con.execute(f"ATTACH {sql_string(str(base))} AS base (READ_ONLY)")
        views = {
            name
            for (name,) in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
                "AND schema_name = 'meta' AND view_name LIKE 'rewritten_%'"
            ).fetchall()
        }
        assert views == {f"rewritten_{table.split('.')[1]}" for table in GATED_INCREMENTAL_TABLES}
        for table in GATED_INCREMENTAL_TABLES:
            rewritten = f"meta.rewritten_{table.split('.')[1]}"
            changed = f"(FROM {table} EXCEPT ALL FROM base.{table})"
            missed = con.sql(f"SELECT count(*) FROM ({changed} EXCEPT ALL FROM {rewritten})").fetchone()
            assert missed == (0,), f"{table}: rows new or changed since the base build that the gate skips"
            not_in_table = con.sql(
                f"SELECT count(*) FROM (FROM {rewritten} EXCEPT ALL FROM {table})"
            ).fetchone()
            assert not_in_table == (0,), table
        counts = con.sql(
            "SELECT (SELECT count(*) FROM meta.rewritten_rankings_daily), "
            "(SELECT count(*) FROM (FROM core.rankings_daily EXCEPT ALL FROM base.core.rankings_daily)), "
            "(SELECT count(*) FROM (FROM meta.rewritten_rankings_daily "
            "EXCEPT ALL (FROM core.rankings_daily EXCEPT ALL FROM base.core.rankings_daily)))"
        ).fetchone()
        assert counts is not None and counts[0] > 0
        assert counts[0] == counts[1] and counts[2] == 0  # exactly the new rows: one new day
        # More than the changed day's rows for the mart: pages changed from earlier days, redone from then on.
        extra = con.sql(
            "SELECT count(*) FILTER (WHERE day < ?) FROM meta.rewritten_ranking_impact", params=[NEXT_DAY]
        ).fetchone()
        assert extra is not None and extra[0] > 0
    finally:
        con.close()


def _duplicate_a_ranking_row(con: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    con.execute(
        "INSERT INTO core.rankings_daily SELECT * FROM core.rankings_daily WHERE day = ? AND position <= 100 "
        "ORDER BY canonical_url DESC, query LIMIT 1",
        [day],
    )


def test_a_build_with_nothing_new_changes_nothing(settings: Settings) -> None:
    before = _contents(settings.warehouse)
    rebuilt = warehouse.build(settings, RUN_DATE)
    assert rebuilt.mode == "incremental"
    con = duckdb.connect(str(rebuilt.path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM meta.changed_days").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM meta.changed_pages").fetchone() == (0,)
    finally:
        con.close()
    assert _contents(rebuilt.path) == before


def test_changed_sql_or_settings_fall_back_to_a_full_build(settings: Settings) -> None:
    other = Settings(
        data=settings.data, owned_sites=("example.com", "example.org"), timezone=settings.timezone
    )
    base, why = warehouse.incremental_base(other, RUN_DATE)
    assert base is None and "the settings" in why
    assert warehouse.build(other, RUN_DATE).mode == "full"
    base, why = warehouse.incremental_base(settings, RUN_DATE)
    assert base is not None and why == "incremental"


def test_a_night_that_completes_no_week_keeps_the_estimates(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    assert NEXT_DAY.weekday() == 0  # Monday: the week it starts is not complete
    pages = _land_next_day_rankings(settings)
    # A first link that night: it belongs to a week the estimates do not cover yet.
    unlinked = next(url for url, _, linked in pages if not linked)
    post = x_tweet("9100000003", f"{NEXT_DAY:%a %b %d} 16:00:00 +0000 2026", "new", [("t", unlinked)])
    write_zip(
        settings.data.landing / "social" / "x" / "next-day-archive.zip",
        {
            "data/manifest.js": x_manifest(generated=f"{NEXT_DAY}T20:00:00.000Z"),
            "data/tweets.js": x_tweets_js([{"tweet": post}]),
        },
    )
    run_ingest(settings)
    with caplog.at_level(logging.INFO, logger="pipeline.impact.mart"):
        incremental = keep_build(warehouse.build(settings, NEXT_DAY))
    assert "estimates are kept" in caplog.text
    con = duckdb.connect(str(incremental.path), read_only=True)
    try:
        assert con.execute(
            "SELECT first_day FROM core.first_social_links WHERE canonical_url = ? AND platform = 'any'",
            [unlinked],
        ).fetchone() == (NEXT_DAY,)
    finally:
        con.close()
    full = warehouse.build(settings, NEXT_DAY, full=True)
    assert _contents(incremental.path) == _contents(full.path)
