"""sql/ is a dbt project that dbt itself parses, and dbt sees the models the build runs as the build does.

One rule in one place: the engine (pipeline/sql_project.py, which the tests' SQL checks still use) takes a
model's dependencies from the ref() calls of its parse, as dbt does; this checks dbt's manifest against it,
model for model. Real dbt, in process as the build runs it (pipeline/dbt_invoke.py), offline (no package hub,
no usage statistics), with the committed profile and a build file under tmp_path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline import gate, referrals, sql_project, warehouse
from pipeline.config import Settings
from pipeline.dbt_invoke import Connection, invoke, project_arguments
from pipeline.run_variables import build_vars
from tests.conftest import PROJECT_DIR, demo_world_settings
from tests.pipeline_runs import (
    PYTHON_FILLED,
    RUN_TIMEOUT,
    Reference,
    cli_command,
    cli_env,
    copy_world,
    run_dbt,
    table_checksums,
)

SQL_DIR = PROJECT_DIR / "sql"


def _dbt(target: Path, *args: str) -> Any:
    result = invoke(
        [
            *args, *project_arguments(),
            "--target-path", str(target / "target"), "--log-path", str(target / "logs"), "--quiet",
        ],
        Connection(target / "warehouse.duckdb", target / "data"),
    )  # fmt: skip
    failures = [
        f"{outcome.node.name}: {outcome.message}"
        for outcome in getattr(result.result, "results", [])
        if outcome.status in ("error", "fail")
    ]
    assert result.success, f"dbt {' '.join(args)} failed: {result.exception or failures}"
    return result.result


@pytest.fixture(scope="module")
def dbt_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("dbt")
    _dbt(target, "parse")
    listed = _dbt(target, "ls", "--resource-type", "model", "--output", "name")
    _dbt(target, "compile", "--select", "path:models/staging")
    (target / "listed.json").write_text(json.dumps(sorted(listed)), encoding="utf-8")
    return target


def test_dbt_parses_and_lists_exactly_the_models_the_build_runs(dbt_dir: Path) -> None:
    listed = json.loads((dbt_dir / "listed.json").read_text(encoding="utf-8"))
    engine = sql_project.load(SQL_DIR)
    assert listed == sorted(model.name for model in engine.models)
    assert not (SQL_DIR / "target").exists() and not (SQL_DIR / "logs").exists()  # dbt wrote under tmp only


def test_dbts_manifest_has_the_engines_relations_and_dependencies(dbt_dir: Path) -> None:
    manifest = json.loads((dbt_dir / "target" / "manifest.json").read_text(encoding="utf-8"))
    dbt_models = {
        node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"
    }
    engine = {model.name: model for model in sql_project.load(SQL_DIR).models}
    assert dbt_models.keys() == engine.keys()
    for name, node in dbt_models.items():
        model = engine[name]
        upstream = [unique_id.split(".") for unique_id in node["depends_on"]["nodes"]]
        assert {parts[-1] for parts in upstream if parts[0] == "model"} == model.depends_on, name
        assert {tuple(parts[-2:]) for parts in upstream if parts[0] == "source"} == model.sources, name
        assert f"{node['schema']}.{node['alias']}" == model.relation, name
    # Every built relation keeps its name: staging views too (stg_<name> models, aliased).
    assert engine["stg_social_links"].relation == "staging.social_links"
    assert engine["social_links"].relation == "core.social_links"
    assert {model.schema for model in engine.values()} == {"staging", "core", "mart", "meta"}


def test_every_incremental_table_with_a_suite_has_a_documented_rewritten_rows_view(dbt_dir: Path) -> None:
    """The gate's naming rule (pipeline/gate.py): the suite of core.<name> or mart.<name> checks an
    incremental build's rows in the view meta.rewritten_<name>. dbt's parse says which tables are incremental,
    and that each such view is a view, documented in sql/models/meta/schema.yml; no view without a suite."""
    manifest = json.loads((dbt_dir / "target" / "manifest.json").read_text(encoding="utf-8"))
    models = {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    incremental = {
        suite.rewritten_model: suite.table
        for suite in gate.load_suites(PROJECT_DIR / "expectations")
        if models[suite.table.split(".")[1]]["config"]["materialized"] == "incremental"
    }
    rewritten = {
        f"meta.{name}": node for name, node in models.items() if name.startswith(gate.REWRITTEN_PREFIX)
    }
    # mart.impact_panel (one row per owned page and day, small) is checked whole after every build.
    assert sorted(rewritten) == sorted(set(incremental) - {"meta.rewritten_impact_panel"})
    assert len(rewritten) == 5
    for name, node in rewritten.items():
        assert node["schema"] == "meta" and node["config"]["materialized"] == "view", name
        assert node["description"].startswith(f"The rows of {incremental[name]} the last build rewrote"), name
        assert node["patch_path"] == "socialrank://models/meta/schema.yml", name


def test_the_gate_finds_a_suites_rewritten_rows_by_name_and_refuses_a_view_with_no_suite() -> None:
    suites = gate.load_suites(PROJECT_DIR / "expectations")
    con = duckdb.connect()
    try:
        con.execute("CREATE SCHEMA meta")
        con.execute("CREATE VIEW meta.rewritten_rankings_daily AS SELECT 1 AS day")
        con.execute("CREATE VIEW meta.changed_days AS SELECT 1 AS day")
        assert gate.rewritten_models(con, suites) == {"core.rankings_daily": "meta.rewritten_rankings_daily"}
        con.execute("CREATE VIEW meta.rewritten_ranking_daily AS SELECT 1 AS day")  # a misnamed model
        with pytest.raises(ValueError, match=r"meta\.rewritten_ranking_daily: no suite"):
            gate.rewritten_models(con, suites)
    finally:
        con.close()


def test_dbt_duckdb_renders_the_lake_sources_as_the_engine_does(dbt_dir: Path) -> None:
    compiled = dbt_dir / "target" / "compiled" / "socialrank" / "models" / "staging"
    staging = [model for model in sql_project.load(SQL_DIR).models if model.schema == "staging"]
    assert len(staging) == len(list(compiled.glob("*.sql"))) == 10
    for model in staging:
        ((source, table),) = model.sources
        location = sql_project.load(SQL_DIR).sources[source, table]
        assert location.startswith(f"read_parquet('lake/{table}/")
        assert location in (compiled / f"{model.name}.sql").read_text(encoding="utf-8"), model.name


def _one_folder_project(tmp_path: Path) -> Path:
    """A dbt project of one folder, ``models/core`` (schema core, tables), with no model yet."""
    sql = tmp_path / "sql"
    (sql / "models" / "core").mkdir(parents=True)
    (sql / "macros").mkdir()
    (sql / "dbt_project.yml").write_text(
        "name: socialrank\nmodel-paths: [models]\nmacro-paths: [macros]\n"
        "models:\n  socialrank:\n    core:\n      +schema: core\n      +materialized: table\n",
        encoding="utf-8",
    )
    return sql


def test_a_ref_only_the_incremental_branch_makes_must_be_declared(tmp_path: Path) -> None:
    sql = _one_folder_project(tmp_path)
    (sql / "models" / "core" / "a.sql").write_text("SELECT 1 AS x", encoding="utf-8")
    reader = sql / "models" / "core" / "b.sql"
    reader.write_text(
        "{{ config(materialized='incremental') }}\n"
        "SELECT 1 AS x{% if is_incremental() %} FROM {{ ref('a') }}{% endif %}",
        encoding="utf-8",
    )
    model = sql_project.load(sql).model("b")
    assert model.depends_on == frozenset()  # as dbt's parse: is_incremental() is false
    with pytest.raises(sql_project.ProjectError, match="depends_on"):
        model.statements(incremental=True)
    reader.write_text(
        "-- depends_on: {{ ref('a') }}\n" + reader.read_text(encoding="utf-8"), encoding="utf-8"
    )
    declared = sql_project.load(sql).model("b")
    assert declared.depends_on == {"a"}
    [appended] = declared.statements(incremental=True)
    assert appended.startswith("INSERT INTO core.b BY NAME") and "SELECT 1 AS x FROM core.a" in appended


def test_models_run_as_dbts_materializations_run_them(tmp_path: Path) -> None:
    """A view, a table, and an incremental model: a table in a full build; in an incremental one its
    pre-hook (deleting what it redoes) and its rows appended. Run on DuckDB, as the build runs them."""
    sql = _one_folder_project(tmp_path)
    models = sql / "models" / "core"
    (models / "days.sql").write_text("SELECT * FROM range(getvariable('days')) AS t(day)", encoding="utf-8")
    (models / "days_view.sql").write_text(
        "{{ config(materialized='view') }}\nSELECT day FROM {{ ref('days') }}", encoding="utf-8"
    )
    (models / "daily.sql").write_text(
        "{{ config(materialized='incremental', pre_hook=\"{% if is_incremental() %}"
        "DELETE FROM {{ this }} WHERE day >= getvariable('days') - 2{% endif %}\") }}\n"
        "SELECT day, getvariable('days') AS built_with FROM {{ ref('days_view') }}\n"
        "{% if is_incremental() %}WHERE day >= getvariable('days') - 2{% endif %}",
        encoding="utf-8",
    )
    project = sql_project.load(sql)
    assert [model.name for model in project.models] == ["days", "days_view", "daily"]
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core")

    def build(days: int, incremental: bool) -> list[tuple[int, int]]:
        con.execute("SET VARIABLE days = ?", [days])
        for model in project.models:
            model.run(con, incremental)
        return con.execute("SELECT day, built_with FROM core.daily ORDER BY day").fetchall()

    assert build(2, incremental=False) == [(0, 2), (1, 2)]
    # Incremental: day 1 redone (deleted by the pre-hook, appended again), day 2 new, day 0 kept as it was.
    assert build(3, incremental=True) == [(0, 2), (1, 3), (2, 3)]
    views = con.execute("SELECT view_name FROM duckdb_views() WHERE schema_name = 'core'").fetchall()
    assert views == [("days_view",)]
    assert build(3, incremental=False) == [(0, 3), (1, 3), (2, 3)]


def test_the_build_fingerprint_follows_the_projects_files_not_what_dbt_writes_beside_them(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(SQL_DIR, tmp_path / "project" / "sql", ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setenv("SOCIALRANK_PROJECT_DIR", str(tmp_path / "project"))
    before = warehouse.build_fingerprint(settings)
    compiled = tmp_path / "project" / "sql" / "target" / "compiled" / "socialrank" / "models"
    compiled.mkdir(parents=True)
    (compiled / "social_links.sql").write_text("SELECT 1", encoding="utf-8")  # `dbt compile` run from sql/
    assert warehouse.build_fingerprint(settings) == before
    model = tmp_path / "project" / "sql" / "models" / "core" / "social_links.sql"
    model.write_text(model.read_text(encoding="utf-8") + "\n-- edited\n", encoding="utf-8")
    assert warehouse.build_fingerprint(settings) != before


def test_dbt_run_builds_the_tables_the_build_builds(sample_run: Reference, tmp_path: Path) -> None:
    """Real `dbt run` (the committed profile, its plugin, the project's hooks and the `ddl` materialization)
    of the published sample world's lake, with the vars that build ran with (its meta.run_parameters): every
    core and mart table a model builds equals the published one."""
    world = sample_run.world
    run_vars = build_vars(world.warehouse)
    build_path = tmp_path / "warehouse-dbt-build.duckdb"
    con = duckdb.connect(str(build_path))
    con.execute("CREATE SCHEMA staging")
    referrals.write_reference(con, dict(demo_world_settings(world.root).traffic.social_hosts))
    con.close()
    run_dbt(build_path, world.home, run_vars)
    built = table_checksums(build_path)
    published = table_checksums(world.warehouse)
    assert built.keys() == published.keys()
    differing_tables = [
        name for name in built if name not in PYTHON_FILLED and built[name] != published[name]
    ]
    assert not differing_tables
    assert all(built[name][0] == 0 for name in PYTHON_FILLED)
    # A run of one model: the hooks run again, and the end of run drops only what exists.
    run_dbt(build_path, world.home, run_vars, select="stg_rankings")
    # Published under another name, its views still read its own tables (no database name stored in them).
    published_copy = tmp_path / "published" / "warehouse.duckdb"
    published_copy.parent.mkdir()
    shutil.copyfile(build_path, published_copy)
    con = duckdb.connect(str(published_copy), read_only=True, config={"file_search_path": str(world.home)})
    try:
        views = con.execute(
            "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal ORDER BY ALL"
        ).fetchall()
        assert ("mart", "claims") in views and ("staging", "social_links") in views
        for schema, view in views:  # names from the catalog
            con.execute(f'SELECT count(*) FROM "{schema}"."{view}"').fetchone()
    finally:
        con.close()


def test_a_model_that_fails_fails_the_build_naming_its_file(sample_run: Reference, tmp_path: Path) -> None:
    """`socialrank build` over a project whose core model refers to a column that is not there: exit 1, one
    ERROR line naming the model's file and DuckDB's error (dbt's, not a traceback), nothing published, and
    no build file left."""
    world = copy_world(sample_run.world, tmp_path / "world")
    project = tmp_path / "project"
    shutil.copytree(SQL_DIR, project / "sql", ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(PROJECT_DIR / "expectations", project / "expectations")
    broken = project / "sql" / "models" / "core" / "rankings_daily.sql"
    broken.write_text(
        broken.read_text(encoding="utf-8").replace("ranking_date", "ranking_dat", 1), encoding="utf-8"
    )
    published_before = world.warehouse.read_bytes()
    done = subprocess.run(
        cli_command(world, "build", "--full"),
        cwd=world.root,
        env={**cli_env(world), "SOCIALRANK_PROJECT_DIR": str(project)},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and f"build failed: {broken}: " in errors[0], done.stderr[-3000:]
    assert "ranking_dat" in errors[0] and "dbt's log" in errors[0]
    assert "Traceback" not in done.stderr
    assert world.warehouse.read_bytes() == published_before
    assert not list(world.builds.glob("warehouse-*")), "the failed build left its file"


def test_the_profiles_memory_limit_default_is_the_settings_default() -> None:
    """sql/profiles.yml's DuckDB memory limit, when socialrank does not set it (a plain `dbt run`), is the
    default of socialrank.toml's [warehouse] memory_limit."""
    profile = (SQL_DIR / "profiles.yml").read_text(encoding="utf-8")
    assert f"env_var('SOCIALRANK_MEMORY_LIMIT', '{Settings.warehouse_memory_limit}')" in profile
