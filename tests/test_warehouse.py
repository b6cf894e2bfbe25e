"""The whole path on the demo world: build, gate, publish, read-only analysts, a gate that blocks."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import shutil
import threading
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from pipeline import gate, lake, stages, warehouse
from pipeline.config import Settings
from pipeline.gate import GateFailed
from pipeline.schemas import RANKINGS
from tests.conftest import DEMO_RUN_DATE, demo_world_settings, write_delivery_rows

RUN_DATE = DEMO_RUN_DATE
REQUIRED_TABLES = {
    "core.backlinks",
    "core.engagement_daily",
    "core.rankings_daily",
    "mart.ranking_impact",
    "mart.impact_estimates",
    "mart.factor_correlations",
}


@pytest.fixture(scope="module")
def published(published_demo_world: Path) -> Settings:
    """The shared demo world, run through every stage; tests that change anything use ``_copy_of`` it."""
    return demo_world_settings(published_demo_world)


def _copy_of(published: Settings, root: Path) -> Settings:
    """A second data root holding the same lake and published warehouse."""
    settings = demo_world_settings(root)
    shutil.copytree(published.data.lake, settings.data.lake, dirs_exist_ok=True)
    shutil.copytree(published.data.warehouse_dir, settings.data.warehouse_dir, dirs_exist_ok=True)
    return settings


def _tables(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
            "WHERE schema_name IN ('core', 'mart')"
        ).fetchall()
        return {name: con.sql(f"SELECT count(*) FROM {name}").fetchone()[0] for (name,) in names}  # type: ignore[index]
    finally:
        con.close()


def test_published_warehouse_holds_every_mart_table_with_rows(published: Settings) -> None:
    counts = _tables(published.warehouse)
    assert counts.keys() >= REQUIRED_TABLES
    assert all(counts[name] > 0 for name in REQUIRED_TABLES), counts
    manifest = json.loads((published.warehouse.parent / "published.json").read_text())
    assert manifest["as_of"] == RUN_DATE.isoformat() and manifest["gate"]["success"] is True
    assert (published.data.data_docs / "index.html").exists()
    assert (published.data.reports / "socialrank-report.html").exists()
    assert not list((published.data.warehouse_dir / "builds").glob("*.duckdb"))


def test_mart_panel_matches_core_and_links_show_up(published: Settings) -> None:
    con = warehouse.connect_read_only(published.warehouse)
    try:
        core_rows = con.sql("SELECT count(*) FROM core.rankings_daily").fetchone()
        mart_rows = con.sql("SELECT count(*) FROM mart.ranking_impact").fetchone()
        assert core_rows == mart_rows
        before_after = con.sql(
            "SELECT min(social_links_any) FILTER (WHERE day < first_social_link_date), "
            "       min(social_links_any) FILTER (WHERE day >= first_social_link_date) "
            "FROM mart.ranking_impact WHERE first_social_link_date IS NOT NULL"
        ).fetchone()
        assert before_after == (0, 1)
        # Social links from posts and tool backlinks both reach core.backlinks, on canonical URLs.
        kinds = dict(con.sql("SELECT is_social, count(*) FROM core.backlinks GROUP BY ALL").fetchall())
        assert kinds[True] > 0 and kinds[False] > 0
        assert con.sql("SELECT count(*) FROM core.backlinks WHERE target_url LIKE '%utm_%'").fetchone() == (
            0,
        )
    finally:
        con.close()


def test_first_estimates_find_the_planted_platform(published: Settings) -> None:
    con = warehouse.connect_read_only(published.warehouse)
    try:
        rows = {
            platform: (estimate, low, high)
            for platform, estimate, low, high in con.sql(
                "SELECT platform, estimate, ci_low, ci_high FROM mart.impact_estimates "
                "WHERE outcome = 'position' AND treatment = 'first_link' AND control_group = 'never_treated' "
                "AND horizon = 'weeks_4_8' AND estimate IS NOT NULL"
            ).fetchall()
        }
    finally:
        con.close()
    # Planted: -3 positions from 14 days on, fully there four to eight weeks after the link.
    x_estimate, _, x_high = rows["x"]
    assert x_high < 0 and x_estimate < -1.5
    _, linkedin_low, linkedin_high = rows["linkedin"]
    assert linkedin_low <= 0 <= linkedin_high  # no effect planted


def test_gate_failure_blocks_publication_and_keeps_the_previous_warehouse(
    published: Settings, tmp_path: Path
) -> None:
    settings = _copy_of(published, tmp_path)
    before = json.loads((settings.warehouse.parent / "published.json").read_text())["version"]
    bad = {name: None for name in RANKINGS.schema.names} | {
        "source": "rank_tracker",
        "ranking_date": dt.date(2026, 10, 30),
        "query": "garden shoes",
        "url": "https://example.com/impossible",
        "canonical_url": "https://example.com/impossible",
        "position": 250.0,
        "delivery_id": "bad-delivery",
    }
    write_delivery_rows(settings, RANKINGS, [bad], "bad-delivery")
    with pytest.raises(GateFailed) as failed:
        stages.run_all(settings, RUN_DATE)
    failing = failed.value.summary["suites"]["core.rankings_daily"]["failed"]
    assert {f["expectation"] for f in failing} >= {"expect_column_values_to_be_between"}
    assert json.loads((settings.warehouse.parent / "published.json").read_text())["version"] == before
    con = warehouse.connect_read_only(settings.warehouse)
    try:
        assert con.sql("SELECT max(position) FROM core.rankings_daily").fetchone()[0] <= 100  # type: ignore[index]
    finally:
        con.close()
    notes = list(settings.data.run_log.glob("failure-*-gate.json"))
    assert len(notes) == 1 and "core.rankings_daily" in notes[0].read_text()


def test_analyst_connection_survives_a_publish(published: Settings, tmp_path: Path) -> None:
    settings = _copy_of(published, tmp_path)
    analyst = warehouse.connect_read_only(settings.warehouse)
    try:
        version_before = analyst.sql("SELECT version FROM meta.build_info").fetchone()
        stages.run_all(settings, RUN_DATE + dt.timedelta(days=1))
        # The open connection keeps its complete version; a new one sees the new version.
        assert analyst.sql("SELECT version FROM meta.build_info").fetchone() == version_before
        assert analyst.sql("SELECT count(*) FROM mart.ranking_impact").fetchone()[0] > 0  # type: ignore[index]
    finally:
        analyst.close()
    fresh = warehouse.connect_read_only(settings.warehouse)
    try:
        assert fresh.sql("SELECT version FROM meta.build_info").fetchone() != version_before
    finally:
        fresh.close()
    assert settings.warehouse.with_name("warehouse.previous.duckdb").exists()


def test_a_backfill_never_publishes_an_older_view(published: Settings, tmp_path: Path) -> None:
    settings = _copy_of(published, tmp_path)
    stages.run_all(settings, RUN_DATE - dt.timedelta(days=30))
    manifest = json.loads((settings.warehouse.parent / "published.json").read_text())
    assert manifest["run_date"] == (RUN_DATE - dt.timedelta(days=30)).isoformat()
    assert manifest["as_of"] == RUN_DATE.isoformat()


def test_schema_file_lets_sql_bind_an_empty_dataset(tmp_path: Path) -> None:
    lake.ensure_datasets(tmp_path)
    table = duckdb.sql(f"SELECT * FROM read_parquet('{tmp_path}/rankings/**/*.parquet')").arrow()
    assert isinstance(table, pa.Table | pa.RecordBatchReader)
    assert duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{tmp_path}/rankings/**/*.parquet')"
    ).fetchone() == (0,)


def test_gates_take_turns_with_the_gx_project(
    published: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Backfill runs gate side by side, and GX's file-backed project (stores, Data Docs) is rewritten by
    every gate: a gate waits while another holds it, then runs."""
    settings = _copy_of(published, tmp_path / "root")
    build = tmp_path / "build.duckdb"
    shutil.copy(settings.warehouse, build)
    settings.data.gx_project.mkdir(parents=True, exist_ok=True)
    outcome: dict[str, Any] = {}
    with (settings.data.gx_project / gate.PROJECT_LOCK).open("a") as other_gate:
        fcntl.flock(other_gate, fcntl.LOCK_EX)
        waiting = threading.Thread(target=lambda: outcome.update(gate.run_gate(settings, build)))
        with caplog.at_level(logging.INFO, logger="pipeline.gate"):
            waiting.start()
            waiting.join(timeout=3)
        assert waiting.is_alive() and not outcome
        assert "waiting for another gate" in caplog.text
        fcntl.flock(other_gate, fcntl.LOCK_UN)
    waiting.join(timeout=300)
    assert outcome["success"] is True


def _crawl_batch(settings: Settings, stem: str, fetched_at: dt.datetime) -> None:
    """One crawler batch in the lake, as the crawler writes it: a linking page's fetch and its outlink."""
    from pipeline.crawl.crawler import result_rows
    from pipeline.crawl.fetcher import FetchResult
    from pipeline.crawl.frontier import Entry
    from pipeline.crawl.page import Outlink
    from pipeline.schemas import CRAWL_FETCHES, CRAWL_LINKS

    page = "https://blog.example.org/a-post"
    fetch, links = result_rows(
        stem,
        Entry(page, page, "linking_page", True),
        FetchResult(
            page,
            fetched_at,
            final_url=page,
            status=200,
            links=(Outlink("https://example.com/a-page", "a page", ()),),
            links_extracted=True,
        ),
        "strip",
    )
    lake.write_partitioned(settings.data.lake, CRAWL_FETCHES, [fetch], stem)
    lake.write_partitioned(settings.data.lake, CRAWL_LINKS, links, stem)


def _staging_counts(settings: Settings) -> dict[str, int]:
    """Rows of every staging view of the published file, read as an analyst reads them (lake paths from the
    data root)."""
    con = _analyst_connection(settings)
    try:
        views = con.execute(
            "SELECT view_name FROM duckdb_views() WHERE schema_name = 'staging' ORDER BY view_name"
        ).fetchall()
        return {name: con.sql(f"SELECT count(*) FROM staging.{name}").fetchone()[0] for (name,) in views}  # type: ignore[index]
    finally:
        con.close()


def _analyst_connection(settings: Settings) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(
        str(settings.warehouse), read_only=True, config={"file_search_path": str(settings.data.root)}
    )


def test_published_staging_reads_exactly_what_its_build_read(published: Settings, tmp_path: Path) -> None:
    """A delivery ingested or a crawl batch written after a build is not in that build's staging views,
    published or not; the next build reads it."""
    settings = _copy_of(published, tmp_path)
    noon = dt.datetime.combine(RUN_DATE, dt.time(12), tzinfo=dt.UTC)
    _crawl_batch(settings, "crawl-first-00001", noon)
    stages.run_all(settings, RUN_DATE)
    before = _staging_counts(settings)
    assert before["crawl_fetches"] == 1 and before["crawl_links"] == 1

    ranking = {
        "source": "test", "ranking_date": RUN_DATE, "query": "late query", "url": "https://example.com/a-page",
        "canonical_url": "https://example.com/a-page", "position": 3.0, "delivery_id": "late-delivery",
    }  # fmt: skip
    write_delivery_rows(settings, RANKINGS, [ranking], "late-delivery")
    _crawl_batch(settings, "crawl-later-00001", noon)

    assert _staging_counts(settings) == before
    con = _analyst_connection(settings)
    try:
        # Staging and core agree: every ranking row staging shows is one the build read.
        assert con.sql(
            "SELECT count(*) FROM staging.rankings WHERE delivery_id = 'late-delivery'"
        ).fetchone() == (0,)
        listed = {row[0] for row in con.sql("SELECT lake_file FROM meta.build_crawl_files").fetchall()}
        day = f"fetch_date={RUN_DATE.isoformat()}"
        assert listed == {
            f"crawl_fetches/{lake.SCHEMA_FILE}",
            f"crawl_links/{lake.SCHEMA_FILE}",
            f"crawl_fetches/{day}/crawl-first-00001.parquet",
            f"crawl_links/{day}/crawl-first-00001.parquet",
        }
    finally:
        con.close()

    stages.run_all(settings, RUN_DATE)
    after = _staging_counts(settings)
    assert after["rankings"] == before["rankings"] + 1
    assert after["ingest_ledger"] == before["ingest_ledger"] + 1
    assert after["crawl_fetches"] == 2 and after["crawl_links"] == 2
