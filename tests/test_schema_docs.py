"""The analysts' reference: ``sql/models/{core,marts}/schema.yml`` describe every core and mart table and
column the build makes, nothing else, and the build stores the descriptions as the catalog's comments."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import schema_docs
from pipeline.project import var
from pipeline.sql_quoting import quoted_identifier, sql_string
from tests.conftest import PROJECT_DIR, demo_world_settings

SQL_DIR = PROJECT_DIR / "sql"


@settings(deadline=None)
@given(st.text(alphabet=st.characters(exclude_characters="\0", exclude_categories=["Cs"])))
def test_a_string_literal_reads_back_as_its_text(text: str) -> None:
    con = duckdb.connect()
    assert con.execute(f"SELECT {sql_string(text)}").fetchone() == (text,)


@pytest.mark.parametrize(
    "text",
    ["it's", "'); DROP TABLE core.pages; --", "a \\' b", "two\nlines", "$$ dollar $$", "é 中文 🙂", ""],
)
def test_a_comment_stores_its_text_as_written(text: str) -> None:
    con = duckdb.connect()
    con.execute('CREATE SCHEMA core; CREATE TABLE core.pages ("odd ""name""" INTEGER)')
    column = quoted_identifier('odd "name"')
    con.execute(f"COMMENT ON COLUMN core.pages.{column} IS {sql_string(text)}")
    stored = con.execute("SELECT comment FROM duckdb_columns() WHERE table_name = 'pages'").fetchall()
    assert stored == [(text,)]
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'pages'").fetchone() == (1,)


def test_a_nul_character_or_lone_surrogate_is_refused_not_cut() -> None:
    with pytest.raises(ValueError, match="NUL"):
        sql_string("before\0after")
    with pytest.raises(ValueError, match="lone surrogate"):
        sql_string("before\ud800after")
    with pytest.raises(ValueError, match="NUL"):
        quoted_identifier("col\0umn")


def _write_schema_files(sql_dir: Path, core: str, mart: str) -> None:
    for layer, text in (("core", core), ("mart", mart)):
        path = schema_docs.schema_files(sql_dir)[layer]
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")


def _comments(con: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    rows = con.execute(
        "SELECT schema_name || '.' || table_name, comment FROM duckdb_tables() "
        "UNION ALL SELECT schema_name || '.' || view_name, comment FROM duckdb_views() WHERE NOT internal "
        "UNION ALL SELECT schema_name || '.' || table_name || '.' || column_name, comment "
        "FROM duckdb_columns() WHERE schema_name IN ('core', 'mart')"
    ).fetchall()
    return dict(rows)


def test_persist_comments_what_is_described_clears_the_rest_and_names_both_gaps(tmp_path: Path) -> None:
    _write_schema_files(
        tmp_path,
        core="""
version: 2
models:
  - name: pages
    description: "Owned pages; it's one row each."
    columns:
      - name: url
        description: "'); DROP TABLE core.pages; --"
      - name: removed
        description: A column the table no longer has.
  - name: gone
    description: A table the build no longer makes.
    columns:
      - name: id
        description: Its id.
""",
        mart="""
version: 2
models:
  - name: claims
    description: A view.
    columns:
      - name: verdict
        description: supported, not supported or inconclusive.
""",
    )
    con = duckdb.connect()
    con.execute(
        "CREATE SCHEMA core; CREATE SCHEMA mart; CREATE TABLE core.pages (url VARCHAR, stale INTEGER);"
        "CREATE VIEW mart.claims AS SELECT 'supported' AS verdict;"
        "COMMENT ON COLUMN core.pages.stale IS 'left by a base build'"
    )

    persisted = schema_docs.persist(con, tmp_path)

    assert _comments(con) == {
        "core.pages": "Owned pages; it's one row each.",
        "core.pages.url": "'); DROP TABLE core.pages; --",
        "core.pages.stale": None,
        "mart.claims": "A view.",
        "mart.claims.verdict": "supported, not supported or inconclusive.",
    }
    assert (persisted.relations, persisted.columns) == (2, 2)
    assert persisted.undocumented == ["core.pages.stale"]
    assert persisted.missing == ["core.pages.removed", "core.gone", "core.gone.id"]
    assert schema_docs.persist(con, tmp_path).relations == 2  # again: nothing changes, nothing fails


def test_a_schema_file_outside_dbts_shape_is_refused(tmp_path: Path) -> None:
    _write_schema_files(
        tmp_path,
        core="version: 2\nmodels:\n  - name: pages\n    columns: []\n",
        mart="version: 2\nmodels: []\n",
    )
    with pytest.raises(schema_docs.SchemaDocsError, match="'pages' has no 'description'"):
        schema_docs.load(tmp_path)


def test_the_sample_warehouse_and_the_schema_files_agree_both_ways(published_demo_world: Path) -> None:
    documented = schema_docs.load(SQL_DIR)
    con = duckdb.connect(str(demo_world_settings(published_demo_world).warehouse), read_only=True)
    try:
        relations = dict(
            con.execute(
                "SELECT schema_name || '.' || table_name, comment FROM duckdb_tables() "
                "WHERE schema_name IN ('core', 'mart') "
                "UNION ALL SELECT schema_name || '.' || view_name, comment FROM duckdb_views() "
                "WHERE NOT internal AND schema_name IN ('core', 'mart')"
            ).fetchall()
        )
        columns: dict[str, list[tuple[str, str | None]]] = {}
        for relation, column, comment in con.execute(
            "SELECT schema_name || '.' || table_name, column_name, comment FROM duckdb_columns() "
            "WHERE schema_name IN ('core', 'mart') ORDER BY schema_name, table_name, column_index"
        ).fetchall():
            columns.setdefault(relation, []).append((column, comment))
    finally:
        con.close()

    assert sorted(relations) == sorted(documented)  # every table and view described, nothing more
    # A view, and a table the build's Python fills, are among them.
    assert "mart.claims" in relations and "mart.impact_estimates" in relations
    for relation, model in documented.items():
        assert [column for column, _ in columns[relation]] == list(model.columns), relation  # in table order
        assert relations[relation] == model.description, relation
        assert dict(columns[relation]) == model.columns, relation  # each comment is the file's description


def _per_platform_columns(model: schema_docs.ModelDocs) -> dict[str, list[str]]:
    """Column families with a column per platform (``<prefix>any``, ``<prefix>x``...): prefix -> suffixes."""
    prefixes = [column.removesuffix("any") for column in model.columns if column.endswith("_any")]
    return {
        prefix: [column.removeprefix(prefix) for column in model.columns if column.startswith(prefix)]
        for prefix in prefixes
    }


def test_per_platform_columns_follow_the_platform_list() -> None:
    documented = schema_docs.load(SQL_DIR)
    families = {
        (relation, prefix): suffixes
        for relation, model in documented.items()
        for prefix, suffixes in _per_platform_columns(model).items()
    }
    assert sorted(families) == [
        ("core.page_social_daily", "cum_engagement_"),
        ("core.page_social_daily", "cum_links_"),
        ("mart.ranking_impact", "social_engagement_"),
        ("mart.ranking_impact", "social_links_"),
    ]
    # The models loop over var('panel_platforms'); the yml lists the same columns one by one.
    for family, suffixes in families.items():
        assert suffixes == ["any", *var("panel_platforms")], family
