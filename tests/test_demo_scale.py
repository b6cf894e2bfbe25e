"""The large-world generator at a tiny scale: deterministic, parsed cleanly by the real ingest with the
counts it promises, proportional to the scale, with nightly increments of exactly one day."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from pipeline import stages
from pipeline.config import DataRoot, Settings
from pipeline.ingest import IngestReport, run_ingest
from socialrank_demo.large import (
    BASE_BACKLINKS,
    BASE_POSTS,
    BASE_RANKINGS,
    LargeWorld,
    WorldSize,
    load_large_world,
    write_large_world,
    write_next_day,
)

TINY = 0.0002


def _settings(root: Path, world: LargeWorld) -> Settings:
    data = DataRoot(root)
    data.ensure()
    return Settings(data=data, owned_sites=world.owned_sites, timezone=ZoneInfo(world.timezone))


def _files(landing: Path) -> dict[str, bytes]:
    return {
        path.relative_to(landing).as_posix(): path.read_bytes()
        for path in sorted(landing.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def world_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("large") / "data"


@pytest.fixture(scope="module")
def world(world_root: Path) -> LargeWorld:
    return write_large_world(world_root / "landing", scale=TINY, seed=7, workers=1)


@pytest.fixture(scope="module")
def ingested(world_root: Path, world: LargeWorld) -> IngestReport:
    return run_ingest(_settings(world_root, world))


def test_same_seed_and_scale_give_the_same_bytes_whatever_the_workers(
    world_root: Path, world: LargeWorld, tmp_path: Path
) -> None:
    again = write_large_world(tmp_path / "landing", scale=TINY, seed=7, workers=2)
    assert again == world
    first, second = _files(world_root / "landing"), _files(tmp_path / "landing")
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []
    other = write_large_world(tmp_path / "other", scale=TINY, seed=8, workers=1)
    assert _files(tmp_path / "other")[world.files[0]] != first[world.files[0]]
    assert other.counts["posts"] == world.counts["posts"]


def test_counts_are_the_scaled_targets_and_the_world_is_recorded(world_root: Path, world: LargeWorld) -> None:
    assert world.counts["posts"] == round(BASE_POSTS * TINY)
    assert world.counts["posts"] == sum(world.counts[f"posts_{p}"] for p in ("x", "linkedin", "reddit"))
    assert world.counts["backlinks"] == round(BASE_BACKLINKS * TINY)
    assert world.counts["rankings"] == round(BASE_RANKINGS * TINY)
    assert 0 < world.counts["owned_link_posts"] < world.counts["posts"]
    assert world.owned_sites[0] == "cafe-demo.example"
    assert (world.first_day, world.last_day) == (dt.date(2022, 1, 1), dt.date(2025, 12, 31))
    assert load_large_world(world_root / "landing") == world
    # Every delivery is a uniquely named file or folder at landing/<family>/<source>/<delivery>.
    assert len(set(world.files)) == len(world.files)
    assert all(len(Path(name).parts) == 3 for name in world.files)
    x_archive = next(name for name in world.files if name.startswith("social/x/"))
    assert (world_root / "landing" / x_archive / "data" / "manifest.js").is_file()


def test_the_real_ingest_reads_every_record_and_quarantines_none(
    world: LargeWorld, ingested: IngestReport
) -> None:
    assert {result.status for result in ingested.results} == {"ingested"}
    assert len(ingested.results) == len(world.files)
    formats = {result.landing_path.split("/")[1]: result.format for result in ingested.results}
    assert formats == {
        "x": "x_archive",
        "linkedin": "linkedin_shares",
        "reddit": "reddit",
        "ahrefs": "ahrefs_backlinks",
        "rank_tracker": "rank_tracker_csv",
    }
    totals = ingested.totals()
    assert totals["quarantined_records"] == 0
    assert totals["post"] == world.counts["posts"]
    assert totals["backlink"] == world.counts["backlinks"]
    assert totals["ranking"] == world.counts["rankings"]
    assert totals["engagement"] == world.counts["posts_x"]


def test_counts_scale_with_the_factor(world: LargeWorld, tmp_path: Path) -> None:
    double = write_large_world(tmp_path / "landing", scale=2 * TINY, seed=7, workers=1)
    for kind in ("posts", "posts_x", "posts_linkedin", "posts_reddit", "backlinks", "rankings"):
        assert double.counts[kind] == 2 * world.counts[kind], kind
    assert WorldSize.at(0.02).pages == 2 * WorldSize.at(0.01).pages == 400
    large = WorldSize.at(1.0)
    assert (sum(large.posts.values()), large.backlinks, large.rankings) == (5_000_000, 20_000_000, 30_000_000)
    half = WorldSize.at(0.5)
    assert (sum(half.posts.values()), half.backlinks, half.rankings, half.pages) == (
        2_500_000,
        10_000_000,
        15_000_000,
        10_000,
    )
    with pytest.raises(ValueError, match="scale"):
        WorldSize.at(0.0)


def _new_rows(lake: Path, dataset: str, day_column: str, ids: list[str | None]) -> tuple[object, ...]:
    """Rows of ``dataset`` from the deliveries ``ids``: their count and first and last day."""
    with duckdb.connect() as con:
        found = con.execute(
            f"SELECT count(*), min({day_column}), max({day_column}) FROM read_parquet(?) "
            "WHERE delivery_id IN (SELECT unnest(?))",
            [str(lake / dataset / "**" / "*.parquet"), ids],
        ).fetchone()
    assert found is not None
    return tuple(found)


def test_each_night_adds_exactly_that_days_rows(
    world_root: Path, world: LargeWorld, ingested: IngestReport
) -> None:
    landing, lake = world_root / "landing", world_root / "lake"
    with pytest.raises(ValueError, match="inside the history"):
        write_next_day(landing, world, world.last_day)
    landed = 0
    arrived: Counter[str] = Counter()
    nights = [world.last_day + dt.timedelta(days=n) for n in (1, 2, 3)]
    for day in nights:
        written = write_next_day(landing, world, day)
        assert written["rankings"] == world.tracked_pairs  # every tracked pair, once
        report = run_ingest(_settings(world_root, world))
        new = report.by_status("ingested")
        assert len(new) == written["files"]
        assert len(report.by_status("duplicate")) == len(world.files) + landed
        landed += written["files"]
        arrived.update(written)
        totals = report.totals()
        assert totals["quarantined_records"] == 0
        assert (totals["post"], totals["backlink"], totals["ranking"]) == (
            written["posts"],
            written["backlinks"],
            written["rankings"],
        )
        ids = [result.delivery_id for result in new]
        assert _new_rows(lake, "rankings", "ranking_date", ids) == (written["rankings"], day, day)
        if written["backlinks"]:
            assert _new_rows(lake, "backlinks", "first_seen", ids) == (written["backlinks"], day, day)
        if written["posts"]:
            assert _new_rows(lake, "social_posts", "post_date", ids) == (written["posts"], day, day)
    assert arrived["posts"] > 0 and arrived["backlinks"] > 0
    # A night written again is the same bytes: nothing new to ingest.
    assert write_next_day(landing, world, nights[0])["files"] > 0
    assert run_ingest(_settings(world_root, world)).by_status("ingested") == []


def test_the_pipeline_builds_and_publishes_the_warehouse(
    world_root: Path, world: LargeWorld, ingested: IngestReport
) -> None:
    summary = stages.run_all(_settings(world_root, world), world.last_day)
    assert summary["gate"]["success"]
    counts = summary["build"]["row_counts"]
    # One row per tracked query and page a day: the history's rows (a nightly day, if landed, is later).
    assert counts["core.rankings_daily"] == world.counts["rankings"]
    assert counts["mart.ranking_impact"] > 0
