"""Known answers on data shaped like a real site's, through ``socialrank run``: worlds from
:mod:`socialrank_demo.rank_worlds` (several queries per page, queries crossing the top-100 line, whole-number
tracker positions, Search Console rows only with impressions, an effect that starts a week early, a fifth
of query-weeks missing, violated parallel trends, a confounded null) are landed in the export formats,
run through the command line, and the published estimates are held to the world's truth on the observed
scale (``RankWorld.truth``).

One world per kind, seed 0 each. A 95% interval misses one time in twenty, so the checks are an estimate
within a position of the truth and the simultaneous band (every event week at once) covering it; the
coverage over a hundred worlds per kind is measured by ``bench/bench_impact.py`` (docs/impact.md).
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipeline import warehouse
from pipeline.cli import EXIT_OK, main
from pipeline.config import DataRoot, Settings, load_settings
from socialrank_demo.rank_worlds import RankWorld, RankWorldSpec, generate, write_landing

RUN_DATE = dt.date(2026, 11, 1)
HEADLINE = "treatment = 'first_link' AND control_group = 'never_treated' AND platform = 'x'"
TOLERANCE = 1.0
PLANTED = ("tracker_churn", "search_console", "anticipation", "unbalanced")


def _run(root: Path, world: RankWorld, monkeypatch: pytest.MonkeyPatch, anticipation: int = 0) -> Path:
    """Land ``world`` under ``root`` and run ``socialrank run``; return the configuration file."""
    config = root / "socialrank.toml"
    config.write_text(
        '[site]\nowned_sites = ["example.com"]\ntimezone = "America/Los_Angeles"\n'
        f"[impact]\nanticipation_weeks = {anticipation}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("SOCIALRANK_HOME", str(root / "data"))
    monkeypatch.setenv("SOCIALRANK_CONFIG", str(config))
    write_landing(world, root / "data" / "landing")
    assert main(["run", "--date", RUN_DATE.isoformat()]) == EXIT_OK
    return config


def _rows(path: Path, sql: str) -> list[dict[str, Any]]:
    con = warehouse.connect_read_only(path)
    try:
        cursor = con.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[RankWorld, Settings]]:
    """Every kind's world through ``socialrank run``: the world and the settings it ran with."""
    out = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for kind in (*PLANTED, "violated_trends", "confounded_null"):
            world = generate(RankWorldSpec(kind, seed=0))
            root = tmp_path_factory.mktemp(kind)
            config = _run(root, world, monkeypatch, anticipation=1 if kind == "anticipation" else 0)
            out[kind] = (world, load_settings(config))
    return out


def _headline(path: Path, horizon: str = "weeks_4_8", outcome: str = "position") -> dict[str, Any]:
    (row,) = _rows(
        path,
        f"SELECT * FROM mart.impact_estimates WHERE {HEADLINE} "
        f"AND outcome = '{outcome}' AND horizon = '{horizon}'",
    )
    return row


@pytest.mark.parametrize("kind", PLANTED)
def test_the_planted_effect_is_recovered(published: dict[str, tuple[RankWorld, Settings]], kind: str) -> None:
    world, settings = published[kind]
    path = settings.warehouse
    anticipation = 1 if kind == "anticipation" else 0
    for horizon, first, last in (("weeks_0_3", 0, 3), ("weeks_4_8", 4, 8)):
        row, truth = _headline(path, horizon), world.truth(first, last, anticipation=anticipation)
        assert abs(row["estimate"] - truth) <= TOLERANCE, (horizon, truth, row)
        assert row["ci_high"] < 0 and row["anticipation_weeks"] == anticipation
    # Right after the link the effect holds even allowing trends to drift as much as before it.
    assert _headline(path, "weeks_0_3")["finding"] == "improves"
    by_week = world.truth_by_week(anticipation=anticipation)
    weeks = _rows(
        path,
        f"SELECT * FROM mart.impact_event_time WHERE {HEADLINE} AND outcome = 'position' "
        "AND NOT is_reference",
    )
    assert len(weeks) == 12
    for week in weeks:
        assert week["band_low"] <= by_week[week["event_week"]] <= week["band_high"], (week, by_week)


def test_search_console_worlds_also_estimate_clicks_impressions_and_ctr(
    published: dict[str, tuple[RankWorld, Settings]],
) -> None:
    _, settings = published["search_console"]
    path = settings.warehouse
    for outcome in ("clicks", "impressions", "ctr"):
        row = _headline(path, outcome=outcome)
        assert row["estimate"] is not None and row["estimate"] > 0, row  # pages moved up: more of each


def test_unbalanced_worlds_keep_every_page_and_say_what_was_missing(
    published: dict[str, tuple[RankWorld, Settings]],
) -> None:
    _, settings = published["unbalanced"]
    path = settings.warehouse
    row = _headline(path)
    assert "cell-weeks unobserved" in row["note"], row["note"]
    complete_world_row = _headline(published["tracker_churn"][1].warehouse)
    assert row["treated_units"] >= complete_world_row["treated_units"] - 2  # no page dropped for a gap


def test_ignoring_anticipation_misses_an_effect_that_starts_early(
    published: dict[str, tuple[RankWorld, Settings]], tmp_path: Path
) -> None:
    """The same lake built with anticipation_weeks = 0: the week before the link is already treated, so
    the comparison differences most of the effect away and the interval excludes the truth."""
    world, settings = published["anticipation"]
    naive = tmp_path / "naive"
    shutil.copytree(settings.data.lake, naive / "data" / "lake")
    data = DataRoot(naive / "data")
    data.ensure()
    ignoring = replace(settings, data=data, impact=replace(settings.impact, anticipation_weeks=0))
    built = warehouse.build(ignoring, RUN_DATE, full=True)
    row = _headline(built.path)
    truth = world.truth(4, 8, anticipation=1)
    assert not row["ci_low"] <= truth <= row["ci_high"], (row, truth)
    assert abs(row["estimate"]) < abs(truth) / 2


def test_violated_trends_are_flagged_and_not_reported_as_a_finding(
    published: dict[str, tuple[RankWorld, Settings]],
) -> None:
    world, settings = published["violated_trends"]
    path = settings.warehouse
    assert world.truth(4, 8) == 0.0
    row = _headline(path)
    assert row["ci_high"] < 0  # the conventional interval is fooled by the drift...
    assert row["pretrend_passed"] is False  # ...the pre-trend test is not...
    assert row["robust_ci_low"] <= 0 <= row["robust_ci_high"] and row["finding"] == "inconclusive"


def test_a_confounded_null_fools_the_correlation_table_not_the_estimate(
    published: dict[str, tuple[RankWorld, Settings]],
) -> None:
    _, settings = published["confounded_null"]
    path = settings.warehouse
    (links,) = _rows(path, "SELECT * FROM mart.factor_correlations WHERE factor = 'social_links_any'")
    assert links["ci_high"] < 0  # linked pages rank better...
    for horizon in ("weeks_0_3", "weeks_4_8"):
        row = _headline(path, horizon)
        assert row["finding"] == "inconclusive" and abs(row["estimate"]) <= TOLERANCE, (
            row
        )  # ...links do nothing
