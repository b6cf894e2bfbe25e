"""The lineage docs (``dbt docs generate --static``) beside the report: written from the published warehouse,
read-only, while an analyst holds it open; linked from the report; the real tables and columns with the
schema.yml descriptions; nothing fetched from the network; a failure said in the report and the log.

Real dbt on the sample world's published DuckDB file (``published_demo_world``, whose run wrote the page);
the tests that regenerate it work on a copy of that world.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from pipeline import dbt_docs, report, sql_project
from pipeline.config import Settings
from tests.conftest import PROJECT_DIR, demo_world_settings
from tests.pipeline_runs import World, copy_world

SQL_DIR = PROJECT_DIR / "sql"
LINK = f'href="{dbt_docs.DOCS_DIR}/{dbt_docs.PAGE}"'
# Where a page makes a browser fetch: an element's src (scripts, images, frames) or srcset, a <link>'s href
# (style sheets, icons, preloads), CSS url() and @import, and scripts setting a src, fetching or posting.
_FETCHED = (
    re.compile(r"""\b(?:src|srcset|poster|data)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]+)""", re.IGNORECASE),
    re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]+)""", re.IGNORECASE),
    re.compile(r"""url\(\s*["']?\s*((?:https?:)?//[^"')\s]+)""", re.IGNORECASE),
    re.compile(r"""@import\s+(?:url\()?\s*["']?\s*((?:https?:)?//[^"')\s;]+)""", re.IGNORECASE),
    re.compile(r"""\.src\s*=\s*["']((?:https?:)?//[^"']+)""", re.IGNORECASE),
    re.compile(r"""\b(?:fetch|open|get|post|sendBeacon)\(\s*["']((?:https?:)?//[^"']+)""", re.IGNORECASE),
)


def _inlined(html: str, name: str) -> dict[str, Any]:
    """The manifest or catalog the static page holds (``{manifest:{...},catalog:{...}}`` in its script)."""
    start = html.index(f"{name}:" + '{"metadata"') + len(name) + 1
    value, _ = json.JSONDecoder().raw_decode(html, start)
    assert isinstance(value, dict)
    return value


def _fetched_urls(html: str) -> list[str]:
    return [url for pattern in _FETCHED for url in pattern.findall(html)]


def _models(schemas: tuple[str, ...]) -> dict[str, str]:
    return {m.name: m.relation for m in sql_project.load(SQL_DIR).models if m.schema in schemas}


def test_the_url_check_finds_what_a_browser_fetches() -> None:
    fetched = (
        '<script src="https://cdn.example/x.js"></script><link rel="stylesheet" href="//cdn.example/s.css">'
        '<style>@import "https://fonts.example/f.css"; b { background: url(http://img.example/i.png) }'
        "</style>"
        'i.src="//d1fc8wv8zag5ca.cloudfront.net/2.9.0/sp.js";navigator.sendBeacon("https://collect.example")'
    )
    assert set(_fetched_urls(fetched)) == {
        "https://cdn.example/x.js", "//cdn.example/s.css", "https://fonts.example/f.css",
        "http://img.example/i.png", "//d1fc8wv8zag5ca.cloudfront.net/2.9.0/sp.js", "https://collect.example",
    }  # fmt: skip
    clicked = '<a href="https://docs.getdbt.com/">docs</a> <svg xmlns="http://www.w3.org/2000/svg"></svg>'
    assert _fetched_urls(clicked) == []


def test_the_report_links_the_lineage_docs_of_the_published_warehouse(published_demo_world: Path) -> None:
    settings = demo_world_settings(published_demo_world)
    page = dbt_docs.docs_page(settings)
    assert page.parent == settings.data.reports / "dbt_docs" and page.is_file()
    assert LINK in (settings.data.reports / report.REPORT_NAME).read_text(encoding="utf-8")
    html = page.read_text(encoding="utf-8")
    manifest, catalog = _inlined(html, "manifest"), _inlined(html, "catalog")
    assert manifest["metadata"]["send_anonymous_usage_stats"] is False
    assert "socialrank's warehouse" in manifest["docs"]["doc.socialrank.__overview__"]["block_contents"]
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        columns: dict[str, list[str]] = {}
        for relation, column in con.execute(
            "SELECT schema_name || '.' || table_name, column_name FROM duckdb_columns() "
            "WHERE schema_name IN ('core', 'mart') ORDER BY schema_name, table_name, column_index"
        ).fetchall():
            columns.setdefault(relation, []).append(column)
    finally:
        con.close()
    # Every core and mart model, the tables the build's Python fills too, with the warehouse's real columns.
    models = _models(("core", "mart"))
    assert {"impact_estimates", "factor_correlations", "deliveries"} <= models.keys()
    for name, relation in models.items():
        node = catalog["nodes"][f"model.socialrank.{name}"]
        assert f"{node['metadata']['schema']}.{node['metadata']['name']}" == relation
        assert list(node["columns"]) == columns[relation], name
    # The descriptions of schema.yml, on the model and its columns.
    documented = yaml.safe_load((SQL_DIR / "models" / "core" / "schema.yml").read_text(encoding="utf-8"))
    deliveries = next(model for model in documented["models"] if model["name"] == "deliveries")
    message = next(column for column in deliveries["columns"] if column["name"] == "message")
    node = manifest["nodes"]["model.socialrank.deliveries"]
    assert node["description"] == deliveries["description"]
    assert node["columns"]["message"]["description"] == message["description"]
    assert catalog["nodes"]["model.socialrank.deliveries"]["metadata"]["comment"] == deliveries["description"]
    # Offline: no script, style, font or image from elsewhere; dbt-docs' tracker cut out.
    assert _fetched_urls(html) == []
    assert "cloudfront.net" not in html and "sinter-collect" not in html
    assert not (SQL_DIR / "target").exists() and not (SQL_DIR / "logs").exists()


@pytest.fixture(scope="module")
def copied(published_demo_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A copy of the published sample world, its report and lineage docs not copied."""
    world = copy_world(World(published_demo_world), tmp_path_factory.mktemp("docs") / "world")
    shutil.rmtree(world.home / "reports", ignore_errors=True)
    yield demo_world_settings(world.root)


def _analyst(path: Path) -> subprocess.Popen[str]:
    """Another process holding a read-only connection to the published warehouse, as an analyst's does."""
    script = (
        "import duckdb, sys\n"
        f"con = duckdb.connect({str(path)!r}, read_only=True)\n"
        "print(con.execute('SELECT count(*) FROM core.deliveries').fetchone()[0], flush=True)\n"
        "sys.stdin.readline()\n"
        "print(con.execute('SELECT count(*) FROM mart.impact_estimates').fetchone()[0], flush=True)\n"
    )
    analyst = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert analyst.stdout is not None and int(analyst.stdout.readline()) > 0
    return analyst


def test_docs_are_written_read_only_beside_an_analyst_and_kept_while_nothing_changes(
    copied: Settings, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    analyst = _analyst(copied.warehouse)
    try:
        # A read-write open is refused while the analyst holds the file: dbt must not try one.
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(copied.warehouse)).close()
        with caplog.at_level(logging.INFO):
            path = report.write_report(copied)
        assert analyst.stdin is not None and analyst.stdout is not None
        analyst.stdin.write("\n")
        analyst.stdin.flush()
        assert int(analyst.stdout.readline()) > 0  # the analyst's connection still reads
    finally:
        analyst.communicate(timeout=30)
    assert analyst.returncode == 0
    assert LINK in path.read_text(encoding="utf-8")
    page = dbt_docs.docs_page(copied)
    assert _inlined(page.read_text(encoding="utf-8"), "catalog")["nodes"]
    assert any(r.name == "pipeline.dbt_docs" and "lineage docs written" in r.message for r in caplog.records)
    # dbt's own lines go to its log file, not to the pipeline's log or the console.
    dbt_log = dbt_docs.dbt_log_dir(copied) / "dbt.log"
    assert "Building catalog" in dbt_log.read_text(encoding="utf-8")
    assert not any("Building catalog" in r.getMessage() for r in caplog.records)
    out, err = capfd.readouterr()
    assert "Building catalog" not in out + err and "Running with dbt" not in out + err
    # The same project and warehouse schema: the page is kept, dbt is not started.
    written = page.stat().st_mtime_ns
    caplog.clear()
    with caplog.at_level(logging.INFO):
        report.write_report(copied)
    assert page.stat().st_mtime_ns == written
    assert any("lineage docs unchanged" in r.message for r in caplog.records)
    assert not (SQL_DIR / "target").exists() and not (SQL_DIR / "logs").exists()


def test_a_failed_generation_is_said_in_the_report_and_the_log(
    copied: Settings, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """An open connection of this process with other settings stops dbt-duckdb from opening the file (DuckDB
    refuses two configurations of one file in a process): the report is still written, without the link."""
    page = dbt_docs.docs_page(copied)
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text("<!doctype html><p>an older warehouse's docs</p>", encoding="utf-8")
    (page.parent / dbt_docs.KEY_FILE).write_text("an older key", encoding="utf-8")
    held = duckdb.connect(str(copied.warehouse), read_only=True)
    try:
        with caplog.at_level(logging.INFO):
            path = report.write_report(copied)
    finally:
        held.close()
    html = path.read_text(encoding="utf-8")
    assert LINK not in html
    missing = 'id="lineage-docs" class="fail">Lineage docs missing: dbt docs generate failed: '
    assert missing in html
    assert not page.exists()  # no page left describing another warehouse
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "pipeline.dbt_docs"]
    assert "lineage docs not written: dbt docs generate failed" in warning.getMessage()
    assert "different configuration" in warning.getMessage() and "dbt.log" in warning.getMessage()
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and not any(r.exc_info for r in caplog.records)
