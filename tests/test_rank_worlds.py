"""Rank-data worlds with a planted truth: their shapes, their truth, their landing files ingested."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from pipeline.canonical import canonicalize
from pipeline.config import Settings
from pipeline.ingest import run_ingest
from socialrank_demo.rank_worlds import (
    FIRST_LINKS_SCHEMA,
    RANKINGS_SCHEMA,
    WORLD_KINDS,
    RankWorld,
    RankWorldSpec,
    generate,
    weekly_outcomes,
    write_landing,
)

TRACKER_KINDS = [kind for kind in WORLD_KINDS if kind != "search_console"]
NULL_KINDS = ("violated_trends", "confounded_null", "null")
EFFECT = -5.0


@pytest.fixture(scope="module")
def worlds() -> dict[str, RankWorld]:
    return {kind: generate(RankWorldSpec(kind, seed=3)) for kind in WORLD_KINDS}


def _cells(table: pa.Table) -> list[tuple[str, str]]:
    return list(zip(table["canonical_url"].to_pylist(), table["query"].to_pylist(), strict=True))


def _weekly_means(world: RankWorld, treated: bool) -> np.ndarray:
    """Mean ranked position per window week over the cells of treated (or never-treated) pages."""
    linked = set(world.first_links["canonical_url"].to_pylist())
    urls = np.array(world.rankings["canonical_url"].to_pylist())
    keep = np.isin(urls, list(linked)) == treated
    days = np.array([(d - world.spec.start_date).days for d in world.rankings["day"].to_pylist()])[keep]
    positions = world.rankings["position"].to_numpy()[keep]
    return np.array([positions[days // 7 == week].mean() for week in range(world.spec.weeks)])


@pytest.mark.parametrize("kind", WORLD_KINDS)
def test_tables_have_the_contract_shape(worlds: dict[str, RankWorld], kind: str) -> None:
    world = worlds[kind]
    spec = world.spec
    assert world.rankings.schema == RANKINGS_SCHEMA
    assert world.twin_rankings.schema == RANKINGS_SCHEMA
    assert world.first_links.schema == FIRST_LINKS_SCHEMA
    assert spec.start_date.weekday() == 0 and (spec.end_date - spec.start_date).days + 1 == 7 * spec.weeks
    days = world.rankings["day"].to_pylist()
    assert spec.start_date <= min(days) and max(days) <= spec.end_date
    # One row per page, query and day, as in core.rankings_daily.
    keys = list(zip(*(world.rankings[c].to_pylist() for c in ("canonical_url", "query", "day")), strict=True))
    assert len(set(keys)) == len(keys)
    positions = world.rankings["position"].to_numpy()
    assert positions.min() >= 1.0 and positions.max() <= 100.0
    tracker = kind != "search_console"
    assert (world.rankings["impressions"].null_count == world.rankings.num_rows) is tracker
    assert (world.rankings["clicks"].null_count == world.rankings.num_rows) is tracker
    if tracker:
        assert np.array_equal(positions, np.round(positions))
    # Staggered first links, one per treated page, on the spec's platform, in weeks 6..weeks-10.
    links = world.first_links
    assert links.num_rows == round(0.4 * spec.pages) >= 50
    assert len(set(links["canonical_url"].to_pylist())) == links.num_rows
    assert set(links["platform"].to_pylist()) == {"x"}
    link_weeks = {(day - spec.start_date).days // 7 for day in links["first_day"].to_pylist()}
    assert min(link_weeks) >= 6 and max(link_weeks) <= spec.weeks - 10 and len(link_weeks) >= 10
    # A few shared pages never reach the top 100 for any query (as on a real site); most do.
    assert (
        len(set(links["canonical_url"].to_pylist()) & set(world.rankings["canonical_url"].to_pylist())) >= 50
    )


def test_pages_rank_for_several_queries_and_most_queries_for_one_page(worlds: dict[str, RankWorld]) -> None:
    site = worlds["tracker_churn"].site
    per_query = [len(pages) for pages in site.keyword_pages]
    assert max(per_query) <= 3 and 0.8 <= per_query.count(1) / len(per_query) < 1
    per_page = np.bincount([page for pages in site.keyword_pages for page in pages])
    assert per_page.min() >= 1 and per_page.max() <= 6
    assert np.mean(per_page <= 3) >= 0.7 and np.mean(per_page >= 2) >= 0.5


def test_same_seed_same_world_and_another_seed_another(tmp_path: Path) -> None:
    spec = RankWorldSpec("tracker_churn", seed=11)
    first, second = generate(spec), generate(spec)
    for name in ("rankings", "twin_rankings", "first_links", "untracked"):
        assert getattr(first, name).equals(getattr(second, name)), name
    assert first.site == second.site and first.shares == second.shares
    files = write_landing(first, tmp_path / "a")
    assert write_landing(second, tmp_path / "b") == files
    for relative in files:
        assert (tmp_path / "a" / relative).read_bytes() == (tmp_path / "b" / relative).read_bytes()
    other = generate(dataclasses.replace(spec, seed=12))
    assert not other.rankings.equals(first.rankings)


def test_tracker_churn_truth_is_the_effect_from_the_link_week_and_zero_before(
    worlds: dict[str, RankWorld],
) -> None:
    by_week = worlds["tracker_churn"].truth_by_week()
    assert all(by_week[e] == 0.0 for e in range(-6, 0))
    # Censoring takes a share: positions clipped at 1, queries climbing out of the unranked 101.
    assert all(EFFECT <= by_week[e] <= 0.75 * EFFECT for e in range(0, 9))
    assert worlds["tracker_churn"].truth(4, 8) == pytest.approx(np.mean([by_week[e] for e in range(4, 9)]))


def test_search_console_truth_is_the_effect_after_the_link(worlds: dict[str, RankWorld]) -> None:
    by_week = worlds["search_console"].truth_by_week()
    assert all(by_week[e] == 0.0 for e in range(-6, 0))
    assert all(EFFECT <= by_week[e] <= 0.8 * EFFECT for e in range(0, 9))


@pytest.mark.parametrize("kind", NULL_KINDS)
def test_worlds_without_an_effect_have_zero_truth(worlds: dict[str, RankWorld], kind: str) -> None:
    world = worlds[kind]
    assert world.twin_rankings.equals(world.rankings)
    by_week = world.truth_by_week()
    assert set(by_week) >= set(range(-6, 9)) and set(by_week.values()) == {0.0}
    assert world.truth(4, 8) == 0.0


def test_anticipation_moves_positions_a_week_before_the_recorded_link(worlds: dict[str, RankWorld]) -> None:
    world = worlds["anticipation"]
    allowing = world.truth_by_week(anticipation=1)
    assert all(allowing[e] == 0.0 for e in range(-6, -1))
    assert EFFECT <= allowing[-1] <= 0.75 * EFFECT
    assert all(EFFECT <= allowing[e] <= 0.75 * EFFECT for e in range(0, 9))
    # The same world read without anticipation: the base week is already treated, the level truth the same.
    assert world.truth_by_week()[-1] == pytest.approx(allowing[-1])
    assert worlds["tracker_churn"].truth_by_week(anticipation=1)[-1] == 0.0


def test_unbalanced_world_misses_a_fifth_of_its_query_weeks(worlds: dict[str, RankWorld]) -> None:
    world, full = worlds["unbalanced"], worlds["tracker_churn"]
    assert full.untracked.num_rows == 0
    assert 0.17 <= world.untracked.num_rows / (len(world.site.keywords) * world.spec.weeks) <= 0.23
    skipped = set(zip(*(world.untracked[c].to_pylist() for c in ("query", "week")), strict=True))

    def weeks_with_rows(table: pa.Table) -> set[tuple[str, dt.date]]:
        days = table["day"].to_pylist()
        return {
            (query, day - dt.timedelta(days=day.weekday()))
            for (_, query), day in zip(_cells(table), days, strict=True)
        }

    assert not skipped & weeks_with_rows(world.rankings)
    # The same seed's balanced world has rows in most of them: only the tracker's gaps removed them.
    assert len(skipped & weeks_with_rows(full.rankings)) >= 0.7 * len(skipped)
    # A skipped week is missing, not unranked: the truth stays near the effect.
    assert world.truth(0, 8) < 0.5 * EFFECT


def test_queries_cross_the_top_100_line(worlds: dict[str, RankWorld]) -> None:
    world = worlds["tracker_churn"]
    days_ranked: dict[tuple[str, str], int] = {}
    for cell in _cells(world.rankings):
        days_ranked[cell] = days_ranked.get(cell, 0) + 1
    window = 7 * world.spec.weeks
    crossing = [cell for cell, count in days_ranked.items() if count < window]
    assert len(crossing) >= 0.15 * len(days_ranked)
    # And some of the site's page-query pairs are never in the top 100 at all.
    assert sum(len(pages) for pages in world.site.keyword_pages) > len(days_ranked)


def test_search_console_rows_have_impressions_and_impression_weighted_positions(
    worlds: dict[str, RankWorld],
) -> None:
    rankings = worlds["search_console"].rankings
    impressions = rankings["impressions"].to_numpy()
    clicks = rankings["clicks"].to_numpy()
    positions = rankings["position"].to_numpy()
    assert impressions.min() > 0 and (clicks <= impressions).all() and clicks.sum() > 0
    assert np.mean(positions != np.round(positions)) > 0.3
    # The mean of whole-number positions: position x impressions is a whole number.
    assert np.allclose(positions * impressions, np.round(positions * impressions))
    # Deeper positions get far fewer impressions.
    assert impressions[positions <= 5].mean() > 20 * impressions[positions > 50].mean()


def test_violated_trends_treated_pages_drift_up_against_the_others(worlds: dict[str, RankWorld]) -> None:
    def slope_gap(world: RankWorld) -> float:
        """Weekly outcome trend of treated minus never-treated cells (cells with an outcome every week)."""
        outcomes = weekly_outcomes(world.rankings, world.spec, world.untracked)
        linked = set(world.first_links["canonical_url"].to_pylist())
        treated = np.array([url in linked for url, _ in outcomes.cells])
        complete = np.isfinite(outcomes.values).all(axis=1)
        weeks = np.arange(world.spec.weeks)
        return float(
            np.polyfit(weeks, outcomes.values[treated & complete].mean(axis=0), 1)[0]
            - np.polyfit(weeks, outcomes.values[~treated & complete].mean(axis=0), 1)[0]
        )

    assert slope_gap(worlds["violated_trends"]) < -0.25
    assert abs(slope_gap(worlds["null"])) < 0.15
    assert worlds["violated_trends"].truth(-4, 8) == 0.0


def test_confounded_null_shares_the_pages_that_already_rank_well(worlds: dict[str, RankWorld]) -> None:
    confounded, null = worlds["confounded_null"], worlds["null"]
    # Before any link (weeks 0-5): treated pages rank far better only where sharing follows rank.
    gap = _weekly_means(confounded, True)[:6].mean() - _weekly_means(confounded, False)[:6].mean()
    random_gap = _weekly_means(null, True)[:6].mean() - _weekly_means(null, False)[:6].mean()
    assert gap < -15 and abs(random_gap) < 8


def test_the_spec_is_checked() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        generate(RankWorldSpec("tidy"))
    with pytest.raises(ValueError, match="end_date must be a Sunday"):
        generate(RankWorldSpec("null", end_date=dt.date(2026, 11, 2)))
    with pytest.raises(ValueError, match="weeks must be at least"):
        generate(RankWorldSpec("null", weeks=12))


def _lake(settings: Settings, dataset: str, sql: str) -> pa.Table:
    """``sql`` over a lake dataset, read as ``lake`` (its parquet files, as the warehouse reads them)."""
    with duckdb.connect() as con:
        files = (settings.data.lake / dataset / "**" / "*.parquet").as_posix()
        con.execute("CREATE TABLE lake AS SELECT * FROM read_parquet(?, union_by_name = true)", [files])
        return con.sql(sql).to_arrow_table()


@pytest.mark.parametrize(
    ("kind", "platform"),
    [("tracker_churn", "x"), ("search_console", "x"), ("anticipation", "linkedin"), ("unbalanced", "reddit")],
)
def test_landing_files_ingest_to_the_world_row_for_row(
    worlds: dict[str, RankWorld], settings: Settings, kind: str, platform: str
) -> None:
    world = worlds[kind]
    if platform != "x":
        world = generate(dataclasses.replace(world.spec, platform=platform))
    files = write_landing(world, settings.data.landing)
    assert all((settings.data.landing / relative).is_file() for relative in files)
    report = run_ingest(settings)
    assert report.results and {result.status for result in report.results} == {"ingested"}
    assert report.totals()["quarantined_records"] == 0
    expected_source = "search_console_api" if kind == "search_console" else "rank_tracker"
    ingested = _lake(settings, "rankings", "SELECT DISTINCT source FROM lake")
    assert ingested["source"].to_pylist() == [expected_source]
    # The warehouse's staging view lower-cases and trims queries: the world's queries already are.
    rankings = _lake(
        settings,
        "rankings",
        "SELECT canonical_url, lower(trim(query)) AS query, ranking_date AS day, position, clicks, "
        "impressions FROM lake WHERE position IS NOT NULL ORDER BY canonical_url, query, day",
    )
    assert rankings.cast(RANKINGS_SCHEMA).equals(world.rankings)
    # The tracker's "not ranked" rows land without a position: the days their query was tracked.
    (unranked,) = _lake(settings, "rankings", "SELECT count(*) AS n FROM lake WHERE position IS NULL")[0]
    assert (unranked.as_py() > 0) == (kind != "search_console")
    first_links = _lake(
        settings,
        "social_links",
        "SELECT canonical_url, platform, min(post_date) AS first_day FROM lake "
        "WHERE canonical_url LIKE 'https://example.com/%' GROUP BY ALL ORDER BY first_day, canonical_url",
    )
    assert first_links.cast(FIRST_LINKS_SCHEMA).equals(world.first_links)


def test_canonical_urls_are_the_canonicaliser_s_output_for_every_url_written(
    worlds: dict[str, RankWorld],
) -> None:
    world = worlds["tracker_churn"]
    written = {
        world.site.url(page) + world.site.pages[page].tracker_suffix for page in range(world.spec.pages)
    }
    assert any("utm_source" in url for url in written)
    assert (
        {canonicalize(url) for url in written}
        == {canonicalize(world.site.url(page)) for page in range(world.spec.pages)}
        >= set(world.rankings["canonical_url"].to_pylist())
    )


def _cell_did(world: RankWorld, first: int, last: int, anticipation: int = 0) -> float:
    """A plain difference in differences on the cell-week outcomes: per event week, each treated cell's
    change from its base week against the mean change of never-treated cells over the same weeks; the
    mean over event weeks ``first..last``."""
    outcomes = weekly_outcomes(world.rankings, world.spec, world.untracked)
    linked = dict(
        zip(
            world.first_links["canonical_url"].to_pylist(),
            world.first_links["first_day"].to_pylist(),
            strict=True,
        )
    )
    cohort = np.array(
        [
            (linked[url] - world.spec.start_date).days // 7 if url in linked else -1
            for url, _ in outcomes.cells
        ]
    )
    values, never = outcomes.values, cohort < 0
    by_week = []
    for event in range(first, last + 1):
        differences = []
        for group in np.unique(cohort[~never]):
            week, base = group + event, group - 1 - anticipation
            change = values[:, week] - values[:, base]
            controls = change[never & np.isfinite(change)]
            treated = change[(cohort == group) & np.isfinite(change)]
            differences += (treated - controls.mean()).tolist()
        by_week.append(np.mean(differences))
    return float(np.mean(by_week))


def test_a_plain_comparison_of_cells_recovers_the_truth_and_is_fooled_by_violated_trends(
    worlds: dict[str, RankWorld],
) -> None:
    # Over 40 seeds this comparison's error against the truth averaged -0.003 (sd 0.36) in tracker worlds.
    for kind, anticipation in (("tracker_churn", 0), ("search_console", 0), ("anticipation", 1), ("null", 0)):
        world = worlds[kind]
        assert _cell_did(world, 4, 8, anticipation) == pytest.approx(world.truth(4, 8, anticipation), abs=1.2)
    assert _cell_did(worlds["violated_trends"], 4, 8) < -1.5
    assert worlds["violated_trends"].truth(4, 8) == 0.0
