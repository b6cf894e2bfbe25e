"""The traffic panel's engagement rate (``page_engagement_rate``, mart.impact_traffic_weekly_panel) on known
answers: hand-made analytics rows through the panel's own SQL, and a simulated site with a planted change in
engagement after a link through the mart's design sample and estimator call."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from pipeline import sql_project
from pipeline.config import DataRoot, ImpactSettings, Settings
from pipeline.impact.mart import Design, design_sample, estimate_sample
from pipeline.warehouse import define_macros

PROJECT_DIR = Path(__file__).resolve().parents[1]
PERIOD_ORIGIN = dt.date(1970, 1, 5)
TRAFFIC_COLUMNS = ("canonical_url", "day", "channel", "tool", "sessions", "engaged_sessions")
PAGE_A, PAGE_B = "https://example.com/a", "https://example.com/b"


def _period(week: dt.date) -> int:
    return (week - PERIOD_ORIGIN).days // 7


def _traffic_panel(traffic: pa.Table, pages: list[str], weeks: list[dt.date]) -> duckdb.DuckDBPyConnection:
    """``core.traffic_daily`` as given and a position panel of ``pages`` x ``weeks`` (it sets the window and
    the pages), then the warehouse's own SQL: the tool choice and the traffic panel."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core; CREATE SCHEMA mart")
    con.execute("SET VARIABLE as_of = ?", [weeks[-1] + dt.timedelta(days=6)])
    con.execute("SET VARIABLE impact_window_weeks = ?", [ImpactSettings().window_weeks])
    define_macros(
        con,
        Settings(
            data=DataRoot(Path("unused")),
            owned_sites=("example.com",),
            timezone=ZoneInfo("America/Los_Angeles"),
        ),
    )
    con.register("traffic", traffic)
    con.execute(
        "CREATE TABLE core.traffic_daily AS SELECT canonical_url, day, channel, tool, "
        "sessions::HUGEINT AS sessions, engaged_sessions::HUGEINT AS engaged_sessions FROM traffic"
    )
    con.unregister("traffic")
    con.execute(
        "CREATE TABLE mart.impact_weekly_panel (canonical_url VARCHAR, outcome VARCHAR, week DATE, "
        "period INTEGER, value DOUBLE, days_observed BIGINT)"
    )
    con.executemany(
        "INSERT INTO mart.impact_weekly_panel VALUES (?, 'position', ?, ?, 10.0, 7)",
        [(page, week, _period(week)) for page in pages for week in weeks],
    )
    models = sql_project.load(PROJECT_DIR / "sql")
    for model in ("impact_traffic_sites", "impact_traffic_weekly_panel"):
        models.model(model).run(con, incremental=False)
    return con


def _values(con: duckdb.DuckDBPyConnection, outcome: str) -> dict[tuple[str, dt.date], float]:
    rows = con.execute(
        "SELECT canonical_url, week, value FROM mart.impact_traffic_weekly_panel WHERE outcome = ?", [outcome]
    ).fetchall()
    return {(url, week): value for url, week, value in rows}


def test_the_weekly_engagement_rate_weighs_sessions_and_leaves_out_weeks_without_any() -> None:
    week_1, week_2, week_3 = dt.date(2026, 9, 7), dt.date(2026, 9, 14), dt.date(2026, 9, 21)
    rows = [
        # Week 1, page A: 10 organic sessions of which 9 engaged, 90 from X of which 9: 18 of 100 engaged, 18%
        # (the mean of the days' or channels' rates, 90% and 10%, would be 50%).
        (PAGE_A, week_1, "organic", "ga4", 10, 9),
        (PAGE_A, week_1 + dt.timedelta(days=1), "x", "ga4", 90, 9),
        # The page's sessions without their sources (counted again here) are not part of it...
        (PAGE_A, week_1 + dt.timedelta(days=1), "all_sources", "ga4", 1000, 1000),
        # ... nor are sessions whose engagement the tool did not give.
        (PAGE_A, week_1 + dt.timedelta(days=2), "direct", "ga4", 50, None),
        # Week 2: page A has no GA4 rows (another tool's do not count: GA4 reports the site on more days);
        # page B 1 of 4.
        (PAGE_A, week_2, "organic", "plausible", 10, 10),
        (PAGE_B, week_2 + dt.timedelta(days=1), "organic", "ga4", 4, 1),
        # Week 3: page A only sessions without engagement, page B a row of no sessions: neither has a rate.
        (PAGE_A, week_3, "reddit", "ga4", 20, None),
        (PAGE_B, week_3 + dt.timedelta(days=1), "organic", "ga4", 0, 0),
    ]
    traffic = pa.table({column: [row[index] for row in rows] for index, column in enumerate(TRAFFIC_COLUMNS)})
    con = _traffic_panel(traffic, [PAGE_A, PAGE_B], [week_1, week_2, week_3])
    chosen = con.execute("SELECT site, tool FROM mart.impact_traffic_sites").fetchall()
    assert chosen == [("example.com", "ga4")]
    # Missing weeks have no row, not a rate of zero.
    assert _values(con, "page_engagement_rate") == {(PAGE_A, week_1): 18.0, (PAGE_B, week_2): 25.0}
    # Sessions, by contrast, are 0 on the weeks the tool reported the site without the page.
    organic = _values(con, "organic_sessions")
    assert organic[(PAGE_A, week_2)] == 0.0 and organic[(PAGE_A, week_1)] == pytest.approx(10 / 3)
    assert _values(con, "social_referral_sessions")[(PAGE_A, week_3)] == pytest.approx(20 / 2)


def _site_with_an_engagement_change(
    rng: np.random.Generator, change: float, pages: int, weeks: list[dt.date]
) -> tuple[pa.Table, pa.Table]:
    """Daily GA4 rows of ``pages`` pages and their first links: half of them linked from X on a Monday of
    weeks 9-14 of the window, after which each of their visits engages with a probability ``change``
    higher (their sessions from X included). Pages differ in traffic (0.2 to 20 sessions a day, so small
    pages have weeks without sessions) and in how engaging they are (40-70%); every page follows the same
    weekly ups and downs (parallel trends)."""
    days = [weeks[0] + dt.timedelta(days=offset) for offset in range(7 * len(weeks))]
    season = rng.normal(0.0, 0.03, size=len(weeks))
    traffic: dict[str, list[object]] = {column: [] for column in TRAFFIC_COLUMNS}
    linked_urls: list[str] = []
    link_days: list[dt.date] = []
    for page in range(pages):
        url = f"https://example.com/page-{page}"
        daily_sessions = rng.uniform(0.2, 20.0)
        engaging = rng.uniform(0.40, 0.70)
        link_day = weeks[int(rng.integers(8, 14))] if page % 2 == 0 else None
        if link_day is not None:
            linked_urls.append(url)
            link_days.append(link_day)
        for day in days:
            linked = link_day is not None and day >= link_day
            rate = engaging + season[(day - weeks[0]).days // 7] + (change if linked else 0.0)
            for channel in ("organic", "direct", "x") if linked else ("organic", "direct"):
                sessions = int(rng.poisson(daily_sessions / 2))
                if sessions:
                    for column, value in zip(
                        TRAFFIC_COLUMNS,
                        (url, day, channel, "ga4", sessions, int(rng.binomial(sessions, rate))),
                        strict=True,
                    ):
                        traffic[column].append(value)
    links = pa.table({"canonical_url": linked_urls, "first_day": pa.array(link_days, pa.date32())})
    return pa.table(traffic), links


def test_a_planted_change_in_engagement_after_a_link_is_recovered() -> None:
    """+10 percentage points on every visit to a linked page from its link day: the mart's estimate of the
    page's engagement rate (any platform, first link, never-linked controls, weeks 0-8) recovers it, on an
    unbalanced panel (small pages' weeks without sessions have no rate)."""
    change = 0.10
    weeks = [dt.date(2026, 5, 4) + dt.timedelta(weeks=offset) for offset in range(24)]
    traffic, links = _site_with_an_engagement_change(np.random.default_rng(20), change, 80, weeks)
    pages = [f"https://example.com/page-{page}" for page in range(80)]
    con = _traffic_panel(traffic, pages, weeks)
    con.execute(
        "CREATE TABLE mart.impact_link_weekly_panel (canonical_url VARCHAR, outcome VARCHAR, week DATE, "
        "period INTEGER, value DOUBLE)"
    )
    con.register("links", links)
    con.execute(
        "CREATE TEMP TABLE window_first_links AS SELECT canonical_url, 'x' AS platform, first_day FROM links "
        "UNION ALL SELECT canonical_url, 'any', first_day FROM links"
    )
    con.execute(
        "CREATE TEMP TABLE treatment_days AS SELECT canonical_url, platform, 'first_link' AS treatment, "
        "first_day AS treatment_day FROM window_first_links"
    )
    settings = ImpactSettings()
    design = Design("page_engagement_rate", "any", "first_link", "never_treated")
    sample = design_sample(con, design, settings)
    con.close()
    result = estimate_sample(sample, design, settings)
    assert result.panel.unit_periods_missing > 0  # the small pages' weeks without sessions
    assert result.panel.treated_clusters == 40 and result.panel.never_treated_units == 40
    effect, treated_pages, _ = result.window(0, 8)
    assert effect.estimate is not None and effect.ci_low is not None and effect.ci_high is not None
    assert treated_pages == 40
    # 30 other seeds: mean 9.4, standard deviation 1.6, the interval covering +10 in 27.
    assert effect.estimate == pytest.approx(100 * change, abs=3.0)
    assert effect.ci_low < 100 * change < effect.ci_high and effect.ci_low > 0
    assert result.pretrend.passed
