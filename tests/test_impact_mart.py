"""The impact mart on the sample world: its tables, the engagement treatment and its setting, the gate
over them, the CLI agreeing with the mart, and the analysts' guide's queries."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipeline import gate, warehouse
from pipeline.config import ConfigError, DataRoot, ImpactSettings, Settings, load_settings
from pipeline.impact import mart
from pipeline.impact.estimator import estimate

RUN_DATE = dt.date(2026, 11, 1)
PROJECT_DIR = Path(__file__).resolve().parents[1]
DESIGN = ["platform", "outcome", "treatment", "control_group", "method"]


def _settings(root: Path, impact: ImpactSettings | None = None) -> Settings:
    data = DataRoot(root / "data")
    data.ensure()
    return Settings(
        data=data,
        owned_sites=("example.com",),
        timezone=ZoneInfo("America/Los_Angeles"),
        impact=impact or ImpactSettings(),
    )


@pytest.fixture(scope="module")
def published(published_demo_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the session's published sample world: the gate test below runs a gate in this data root."""
    root = tmp_path_factory.mktemp("mart")
    ignored = shutil.ignore_patterns("gx", "reports")  # GX's project keeps absolute paths (copy_world)
    shutil.copytree(published_demo_world / "data", root / "data", ignore=ignored)
    return _settings(root)


def _query(path: Path, sql: str, parameters: list[Any] | None = None) -> list[dict[str, Any]]:
    con = warehouse.connect_read_only(path)
    try:
        cursor = con.execute(sql, parameters or [])
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def test_every_design_has_three_horizons_and_an_event_study(published: Settings) -> None:
    estimates = _query(published.warehouse, "SELECT * FROM mart.impact_estimates")
    designs = {tuple(row[key] for key in DESIGN) for row in estimates}
    # The sample world: position, non-social referring domains and GA4 sessions with engaged sessions (no
    # clicks), X/LinkedIn/Reddit links, engagement counts only on X.
    expected = {
        (platform, outcome, treatment, control, "callaway_santanna_2021")
        for outcome in (
            "position",
            "referring_domains",
            "social_referral_sessions",
            "organic_sessions",
            "page_engagement_rate",
        )
        for platform, treatment in [
            ("x", "first_link"),
            ("linkedin", "first_link"),
            ("reddit", "first_link"),
            ("any", "first_link"),
            ("x", "engagement"),
            ("any", "engagement"),
        ]
        for control in ("never_treated", "not_yet_treated")
    }
    assert designs == expected
    assert len(estimates) == 3 * len(expected)
    reddit = [row for row in estimates if row["platform"] == "reddit"]
    assert all(row["estimate"] is None and "too few treated pages" in row["note"] for row in reddit)
    events = _query(
        published.warehouse,
        "SELECT platform, outcome, treatment, control_group, count(*) AS weeks, min(event_week) AS first, "
        "max(event_week) AS last, count(*) FILTER (WHERE is_reference) AS references "
        "FROM mart.impact_event_time GROUP BY ALL",
    )
    assert {(row["platform"], row["outcome"], row["treatment"], row["control_group"]) for row in events} == {
        (platform, outcome, treatment, control)
        for platform, outcome, treatment, control, _ in expected
        if platform != "reddit"
    }
    assert all(
        (row["weeks"], row["first"], row["last"], row["references"]) == (13, -4, 8, 1) for row in events
    )


def test_horizons_average_their_event_weeks(published: Settings) -> None:
    design = "outcome = 'position' AND treatment = 'first_link' AND control_group = 'never_treated'"
    weeks = {
        row["event_week"]: row["estimate"]
        for row in _query(
            published.warehouse, f"SELECT * FROM mart.impact_event_time WHERE {design} AND platform = 'any'"
        )
    }
    horizons = {
        row["horizon"]: row
        for row in _query(
            published.warehouse, f"SELECT * FROM mart.impact_estimates WHERE {design} AND platform = 'any'"
        )
    }
    for name, first, last in (("weeks_0_3", 0, 3), ("weeks_4_8", 4, 8), ("weeks_0_8", 0, 8)):
        row = horizons[name]
        assert (row["first_week"], row["last_week"]) == (first, last)
        assert row["estimate"] == pytest.approx(
            sum(weeks[w] for w in range(first, last + 1)) / (last - first + 1)
        )
        assert row["ci_low"] < row["estimate"] < row["ci_high"] and 0 <= row["p_value"] <= 1
        assert row["treated_units"] == 36 and row["control_units"] == 44
        assert row["treated_cells"] > row["treated_units"]  # position is estimated on page x query cells
        # The robust interval allows trends to diverge after the link: it holds the 95% interval.
        assert row["robust_ci_low"] < row["ci_low"] and row["ci_high"] < row["robust_ci_high"]
        assert row["p_value"] <= row["p_value_adjusted"] <= 1 and row["anticipation_weeks"] == 0
        assert row["finding"] in ("improves", "worsens", "inconclusive")
    assert horizons["weeks_4_8"]["pretrend_passed"] is True
    assert horizons["weeks_4_8"]["pretrend_weeks"] > 3  # every estimated pre-period with enough pages


def test_the_sample_worlds_engagement_rate_did_not_change_after_links(published: Settings) -> None:
    """Every visitor of the sample world engages alike (60% of sessions, whatever brought them), so a page's
    engagement rate does not move after its first link: the headline design's intervals, for every link,
    hold zero and nothing is found. The page-level rate is a difference in differences of its own, not the
    engagement claim (a comparison of sessions): the scorecard keeps one row per claim and platform."""
    rows = _query(
        published.warehouse,
        "SELECT * FROM mart.impact_estimates WHERE outcome = 'page_engagement_rate' AND platform = 'any' "
        "AND treatment = 'first_link' AND control_group = 'never_treated' ORDER BY first_week, last_week",
    )
    assert [row["horizon"] for row in rows] == ["weeks_0_3", "weeks_0_8", "weeks_4_8"]
    for row in rows:
        assert row["treated_units"] == 36 and row["control_units"] == 44
        assert row["ci_low"] < 0 < row["ci_high"], row
        assert row["robust_ci_low"] <= row["ci_low"] and row["ci_high"] <= row["robust_ci_high"]
        assert row["finding"] == "inconclusive"
    claims = _query(
        published.warehouse,
        "SELECT count(*) AS rows, count(DISTINCT (claim, platform)) AS claims, "
        "count(*) FILTER (WHERE outcome = 'page_engagement_rate') AS page_rate_rows FROM mart.claims",
    )
    assert claims == [{"rows": 20, "claims": 20, "page_rate_rows": 0}]


def test_the_cli_on_the_marts_panel_gives_the_marts_numbers(published: Settings, tmp_path: Path) -> None:
    """``any`` platform, first link, never-linked controls: the cell panel exported to a file and
    estimated from the command line's code path (cells as units, pages as clusters) agrees with the mart."""
    panel = pl.DataFrame(
        _query(
            published.warehouse,
            "SELECT c.canonical_url || ' ' || c.query AS cell, c.canonical_url AS page, c.period, "
            "c.position AS value, coalesce((date_diff('day', DATE '1970-01-05', "
            "date_trunc('week', f.first_day)::DATE) // 7)::INTEGER, 0) AS cohort "
            "FROM mart.impact_cell_weekly_panel AS c "
            "LEFT JOIN core.first_social_links AS f "
            "ON f.canonical_url = c.canonical_url AND f.platform = 'any'",
        )
    )
    path = tmp_path / "cells.parquet"
    panel.write_parquet(path)
    from pipeline.impact_cli import read_panel

    result = estimate(
        read_panel(path),
        unit="cell",
        time_column="period",
        outcome="value",
        cohort="cohort",
        cluster="page",
        base_period="universal",
        min_event=-4,
        max_event=8,
    )
    effect, pages, _ = result.window(4, 8)
    (row,) = _query(
        published.warehouse,
        "SELECT * FROM mart.impact_estimates WHERE platform = 'any' AND treatment = 'first_link' "
        "AND control_group = 'never_treated' AND horizon = 'weeks_4_8' AND outcome = 'position'",
    )
    assert effect.estimate == pytest.approx(row["estimate"]) and effect.std_error == pytest.approx(
        row["std_error"]
    )
    assert pages == row["treated_units"] and result.treated_units_in(4, 8) == row["treated_cells"]


def test_the_cell_panel_censors_unranked_tracker_days(published: Settings) -> None:
    """A tracked cell's days without a rank, after its first ranked day, count as position 101."""
    (totals,) = _query(
        published.warehouse,
        "SELECT count(*) AS rows, sum(days_censored) AS censored, max(position) AS worst, "
        "count(*) FILTER (WHERE days_censored = days_observed) AS weeks_all_censored "
        "FROM mart.impact_cell_weekly_panel",
    )
    assert totals["censored"] > 0 and totals["worst"] <= 101
    (check,) = _query(
        published.warehouse,
        "SELECT count(*) AS wrong FROM mart.impact_cell_weekly_panel "
        "WHERE days_censored = days_observed AND position <> 101",
    )
    assert check["wrong"] == 0


def test_anticipation_comes_from_the_settings(published: Settings, tmp_path: Path) -> None:
    settings = _settings(tmp_path, ImpactSettings(anticipation_weeks=1))
    shutil.copytree(published.data.lake, settings.data.lake, dirs_exist_ok=True)
    built = warehouse.build(settings, RUN_DATE)
    rows = _query(built.path, "SELECT DISTINCT anticipation_weeks FROM mart.impact_estimates")
    assert rows == [{"anticipation_weeks": 1}]
    references = _query(
        built.path, "SELECT DISTINCT event_week FROM mart.impact_event_time WHERE is_reference"
    )
    assert references == [{"event_week": -2}]


def test_the_engagement_threshold_comes_from_the_settings(published: Settings, tmp_path: Path) -> None:
    settings = _settings(tmp_path, ImpactSettings(engagement_threshold=10_000))
    shutil.copytree(published.data.lake, settings.data.lake, dirs_exist_ok=True)
    built = warehouse.build(settings, RUN_DATE)
    treatments = {
        row["treatment"] for row in _query(built.path, "SELECT DISTINCT treatment FROM mart.impact_estimates")
    }
    assert treatments == {"first_link"}  # no page has 10,000 likes, reposts and replies
    # First link only: 4 platforms x 2 control groups x 5 outcomes x 3 horizons.
    assert built.row_counts["mart.impact_estimates"] == 120 and built.row_counts["mart.impact_event_time"] > 0


def test_impact_section_of_the_configuration(tmp_path: Path) -> None:
    config = tmp_path / "socialrank.toml"
    config.write_text("[impact]\nengagement_threshold = 50\n")
    assert load_settings(config).impact.engagement_threshold == 50
    config.write_text("[site]\nowned_sites = ['example.com']\n")
    assert load_settings(config).impact == ImpactSettings()
    for bad in ("0", "'many'", "2.5", "true"):
        config.write_text(f"[impact]\nengagement_threshold = {bad}\n")
        with pytest.raises(ConfigError, match=r"\[impact\] engagement_threshold"):
            load_settings(config)
    config.write_text("[impact]\nanticipation_weeks = 2\n")
    assert load_settings(config).impact.anticipation_weeks == 2
    for bad in ("-1", "5", "1.5", "'one'"):
        config.write_text(f"[impact]\nanticipation_weeks = {bad}\n")
        with pytest.raises(ConfigError, match=r"\[impact\] anticipation_weeks must be a whole number"):
            load_settings(config)


def test_the_gate_blocks_broken_impact_tables(published: Settings, tmp_path: Path) -> None:
    broken = tmp_path / "broken.duckdb"
    shutil.copy(published.warehouse, broken)
    con = duckdb.connect(str(broken))
    try:
        # An interval that does not hold its estimate; a reference week with an effect; a correlation > 1.
        con.execute("UPDATE mart.impact_estimates SET ci_high = estimate - 1 WHERE platform = 'x'")
        con.execute(
            "UPDATE mart.impact_event_time SET estimate = 0.5 WHERE is_reference AND platform = 'any'"
        )
        con.execute("UPDATE mart.factor_correlations SET spearman = 1.5 WHERE factor = 'social_links_any'")
    finally:
        con.close()
    with pytest.raises(gate.GateFailed) as failed:
        gate.run_gate(published, broken)
    suites = failed.value.summary["suites"]
    assert {name for name, suite in suites.items() if not suite["success"]} == {
        "mart.impact_estimates",
        "mart.impact_event_time",
        "mart.factor_correlations",
    }


def _guide_queries() -> list[str]:
    text = (PROJECT_DIR / "docs" / "analysts.md").read_text(encoding="utf-8")
    return re.findall(r"```sql\n(.*?)```", text, flags=re.DOTALL)


def test_the_analysts_guide_has_ten_questions_that_run(published: Settings) -> None:
    queries = _guide_queries()
    assert len(queries) == 10
    for number, sql in enumerate(queries, start=1):
        rows = _query(published.warehouse, sql)
        assert rows, f"question {number} returned nothing"
    manifest = json.loads((published.warehouse.parent / "published.json").read_text())
    assert manifest["row_counts"]["mart.impact_event_time"] > 0


# statsmodels' Holm collects garbage on every call (a tenth of a second here): few examples, no deadline.
@hypothesis_settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=12))
def test_holm_adjustment_equals_statsmodels(p_values: list[float]) -> None:
    from statsmodels.stats.multitest import multipletests

    expected = multipletests(p_values, alpha=0.05, method="holm")[1]
    assert mart.holm(p_values) == pytest.approx(list(expected), abs=1e-12)
