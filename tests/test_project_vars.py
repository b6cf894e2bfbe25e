"""The project's shared constants (the vars of sql/dbt_project.yml): read as dbt's ``var()`` reads them, and
the places that must agree with them (the warehouse's columns, the referral classification, the parsers, the
report's labels, the expectation suites, the SQL helpers) do."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

import pipeline.sources
from pipeline import gate, project, referrals, sql_project
from pipeline.config import DataRoot, Settings
from pipeline.impact import wording
from pipeline.warehouse import define_macros
from socialrank_demo import rank_worlds, sample
from tests.conftest import PROJECT_DIR, demo_world_settings

PLATFORMS = project.var("platforms")
PANEL_PLATFORMS = project.var("panel_platforms")
CHANNELS = project.var("channels")
# The names parser modules give the platforms they read (the Instagram export holds Threads posts too).
PARSER_PLATFORM_NAMES = ("PLATFORM", "INSTAGRAM", "THREADS")


def _project_with_vars(root: Path, text: str) -> Path:
    (root / "sql" / "macros").mkdir(parents=True)
    (root / "sql" / project.VARS_FILE).write_text(
        f"name: socialrank\nmodel-paths: [models]\nmacro-paths: [macros]\n{text}", encoding="utf-8"
    )
    return root


def _render(root: Path, sql: str) -> str:
    """``sql`` rendered as a model of the project at ``root`` is."""
    return sql_project.load(root / "sql").render(sql, sql_project.Recorder(), "core", "t", incremental=False)


# --- var() as dbt's ---------------------------------------------------------------------------------


def test_var_reads_the_vars_block_of_the_projects_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project_with_vars(tmp_path, "vars:\n  platforms: [x, reddit]\n  first_event_week: -2\n")
    monkeypatch.setenv("SOCIALRANK_PROJECT_DIR", str(root))
    assert project.var("platforms") == ["x", "reddit"]
    assert project.var("first_event_week") == -2
    # A model renders the same values (the engine's var is this one).
    assert _render(root, "SELECT {{ var('platforms') | length }}") == "SELECT 2"


def test_an_unknown_var_is_an_error_naming_it_unless_a_default_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _project_with_vars(tmp_path, "vars:\n  platforms: [x]\n")
    monkeypatch.setenv("SOCIALRANK_PROJECT_DIR", str(root))
    with pytest.raises(project.UnknownVar, match=r"'platform' not found in .*dbt_project\.yml"):
        project.var("platform")
    assert project.var("platform", "x") == "x"
    with pytest.raises(project.UnknownVar, match="'window'"):
        _render(root, "SELECT '{{ var('window') }}'")


def test_a_callers_change_to_a_value_stays_its_own() -> None:
    platforms = project.var("platforms")
    platforms.append("myspace")
    assert "myspace" not in project.var("platforms")


def test_a_vars_file_without_a_vars_block_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALRANK_PROJECT_DIR", str(_project_with_vars(tmp_path, "platforms: [x]\n")))
    with pytest.raises(ValueError, match="under a top-level 'vars:' key"):
        project.var("platforms")


# --- the expectation suites -------------------------------------------------------------------------


def test_suite_values_that_are_one_expression_are_replaced_by_their_value() -> None:
    spec = {
        "value_set": "{{ var('panel_platforms') + ['any'] }}",
        "min_value": "{{ var('first_event_week') }}",
        "nested": [{"max_value": "{{ var('last_event_week') }}"}],
        "unexpected_rows_query": "SELECT * FROM {batch} WHERE platform = 'x'",
        "description": "the {{ var('platforms') }} of a sentence are text",
    }
    assert gate.with_vars(spec) == {
        "value_set": [*PANEL_PLATFORMS, "any"],
        "min_value": -4,
        "nested": [{"max_value": 8}],
        "unexpected_rows_query": "SELECT * FROM {batch} WHERE platform = 'x'",
        "description": "the {{ var('platforms') }} of a sentence are text",
    }


def test_a_suite_naming_an_unknown_var_is_refused_naming_the_file_and_the_var(tmp_path: Path) -> None:
    suite = {"name": "core.t", "expectations": [{"kwargs": {"value_set": "{{ var('platfroms') }}"}}]}
    (tmp_path / "core.t.json").write_text(json.dumps(suite), encoding="utf-8")
    with pytest.raises(ValueError, match=r"core\.t\.json: Required var 'platfroms' not found"):
        gate.load_suites(tmp_path)


def _value_sets() -> dict[tuple[str, str], list[object]]:
    """(suite, column) -> value set, of every in-set expectation of the suites as the gate loads them."""
    return {
        (suite.table, expectation["kwargs"]["column"]): expectation["kwargs"]["value_set"]
        for suite in gate.load_suites(PROJECT_DIR / "expectations")
        for expectation in suite.spec["expectations"]
        if expectation["type"] == "expect_column_values_to_be_in_set"
    }


def test_the_platform_dependent_suites_check_the_vars_platforms() -> None:
    value_sets = _value_sets()
    # Posts come from every platform; first links (the estimates' treatments) too; the ranking factors are
    # the panel's columns; a traffic channel is a platform's or one of the other channels.
    assert value_sets["core.engagement_daily", "platform"] == PLATFORMS
    assert value_sets["mart.impact_estimates", "platform"] == [*PLATFORMS, "any"]
    assert value_sets["mart.factor_correlations", "platform"] == [*PANEL_PLATFORMS, "any"]
    assert value_sets["core.traffic_daily", "channel"] == [*PLATFORMS, *CHANNELS]
    platform_sets = {key for key, values in value_sets.items() if set(PLATFORMS) & set(map(str, values))}
    assert platform_sets == {
        ("core.engagement_daily", "platform"),
        ("mart.impact_estimates", "platform"),
        ("mart.factor_correlations", "platform"),
        ("core.traffic_daily", "channel"),
    }


def test_no_suite_writes_out_a_platform_or_event_week_of_its_own() -> None:
    """Suites name the vars: a platform written out in a suite's JSON is a list that can fall behind."""
    for path in sorted((PROJECT_DIR / "expectations").glob("*.json")):
        written = set(re.findall(r'"([a-z_]+)"', path.read_text(encoding="utf-8")))
        assert not written & set(PLATFORMS), f"{path.name} lists platforms itself: {written & set(PLATFORMS)}"
        for expectation in json.loads(path.read_text(encoding="utf-8"))["expectations"]:
            if expectation["kwargs"].get("column") == "event_week" and "min_value" in expectation["kwargs"]:
                assert expectation["kwargs"]["min_value"] == "{{ var('first_event_week') }}"
                assert expectation["kwargs"]["max_value"] == "{{ var('last_event_week') }}"


# --- Python and SQL that must agree -----------------------------------------------------------------


def test_the_vars_are_consistent_with_each_other() -> None:
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in [*PLATFORMS, *CHANNELS])  # column names
    assert len(set(PLATFORMS)) == len(PLATFORMS) and not set(PLATFORMS) & {*CHANNELS, "any"}
    # The panel's platforms are platforms, in the same order (the columns' order).
    assert [platform for platform in PLATFORMS if platform in PANEL_PLATFORMS] == PANEL_PLATFORMS
    assert list(project.var("platform_labels")) == PLATFORMS
    assert project.var("first_event_week") < 0 <= project.var("last_event_week")


def test_the_referral_classification_maps_to_exactly_the_vars_platforms_and_channels() -> None:
    assert set(referrals.HOSTS.values()) == set(PLATFORMS)
    assert set(referrals.NAMES.values()) == set(PLATFORMS)
    rows = referrals.reference_rows({})
    assert {channel for _, _, channel in rows} <= {*PLATFORMS, *CHANNELS}


def test_every_platform_has_a_parser_and_every_parser_a_known_platform() -> None:
    declared = set()
    for module_info in pkgutil.iter_modules(pipeline.sources.__path__):
        module = importlib.import_module(f"pipeline.sources.{module_info.name}")
        declared |= {getattr(module, name) for name in PARSER_PLATFORM_NAMES if hasattr(module, name)}
    assert declared == set(PLATFORMS)
    # The demo worlds post on known platforms.
    assert set(sample.PLATFORMS) <= set(PLATFORMS) and set(rank_worlds.PLATFORMS) <= set(PLATFORMS)


def test_the_report_names_every_platform_by_its_label() -> None:
    labels = project.var("platform_labels")
    assert [wording.label(platform) for platform in PLATFORMS] == [labels[p] for p in PLATFORMS]
    assert wording.label("tiktok") == "TikTok" and wording.label("any") == "Any platform"


def test_the_social_channel_macro_agrees_with_the_vars_channels() -> None:
    con = duckdb.connect()
    define_macros(con, Settings(data=DataRoot(Path("unused")), owned_sites=(), timezone=ZoneInfo("UTC")))
    social = {*PLATFORMS, "social_other"}
    for channel in [*PLATFORMS, *CHANNELS]:
        is_social = con.execute("SELECT is_social_channel(?)", [channel]).fetchone()
        assert is_social == (channel in social,), channel


def test_the_sample_warehouse_has_a_column_pair_per_panel_platform(published_demo_world: Path) -> None:
    con = duckdb.connect(str(demo_world_settings(published_demo_world).warehouse), read_only=True)
    try:

        def columns(table: str, prefix: str) -> list[str]:
            schema, name = table.split(".")
            return [
                str(column)
                for (column,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                    "AND starts_with(column_name, ?) ORDER BY column_index",
                    [schema, name, prefix],
                ).fetchall()
            ]

        expected = [f"{kind}_{p}" for kind in ("links", "engagement") for p in ["any", *PANEL_PLATFORMS]]
        assert columns("mart.ranking_impact", "social_") == [f"social_{name}" for name in expected]
        assert columns("core.page_social_daily", "cum_") == [f"cum_{name}" for name in expected]
        posted = con.execute("SELECT DISTINCT platform FROM core.engagement_daily").fetchall()
        assert posted and {platform for (platform,) in posted} <= set(PLATFORMS)
        weeks = con.execute("SELECT min(event_week), max(event_week) FROM mart.impact_event_time").fetchone()
        assert weeks == (project.var("first_event_week"), project.var("last_event_week"))
    finally:
        con.close()
