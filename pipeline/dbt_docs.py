"""The warehouse's lineage docs for analysts: ``dbt docs generate --static`` run on the published warehouse
at report time, written as one self-contained page, ``reports/dbt_docs/index.html``, that the report links to.

- Read only. The published ``warehouse.duckdb`` is opened by dbt-duckdb with DuckDB's ``access_mode =
  READ_ONLY`` (``sql/profiles.yml``, target ``published``), so analysts' read-only connections and this run
  share the file at any hour; dbt never opens it read-write.
- Nothing written into ``sql/``: dbt's target folder is a temporary folder (only the static page is kept), its
  log file is ``runs/dbt-docs/dbt.log`` in the data root, its console output is off, and no usage statistics
  are sent (``--no-send-anonymous-usage-stats`` and ``DO_NOT_TRACK``).
- Offline: the static page inlines the manifest and catalog and its scripts, but its tracking code would load
  Snowplow's script from a CDN if a manifest ever said ``send_anonymous_usage_stats: true``; that code is cut
  out (:func:`make_offline`), and a page still naming the CDN is refused.
- Only when something it shows changed: the page shows the dbt project (models, SQL, schema.yml descriptions,
  lineage) and the warehouse's relations and columns (names, types, comments), no row counts. A run whose
  project and warehouse schema are those of the page already written (the nightly run, mostly) keeps it and
  does not start dbt (about 4 seconds, docs/decisions.md).
- A failure does not fail the report: :func:`write_docs` returns why the page is missing, the log says it, and
  the report says the lineage docs are missing; an older page is removed rather than left describing another
  warehouse.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline import sql_project
from pipeline.config import Settings
from pipeline.dbt_invoke import Connection, invoke, project_arguments
from pipeline.project import resource_dir
from pipeline.run_variables import build_vars
from pipeline.warehouse import connect_read_only

log = logging.getLogger(__name__)

DOCS_DIR = "dbt_docs"
PAGE = "index.html"
KEY_FILE = ".key"
PROFILE_TARGET = "published"
# dbt-docs' tracker (dbt-core 1.12's static page): loads Snowplow from this CDN when the manifest says
# send_anonymous_usage_stats is true, and posts to the collector.
TRACKER_SWITCH = "!0===e.track&&r.turn_on_tracking()"
TRACKER_SCRIPT = '"//d1fc8wv8zag5ca.cloudfront.net/2.9.0/sp.js"'
TRACKER_COLLECTOR = '"fishtownanalytics.sinter-collect.com"'


class DocsError(Exception):
    """The lineage docs could not be written; the message says why and what to do."""


@dataclass(frozen=True)
class DocsResult:
    path: Path | None
    """The page, or None when it is missing."""
    problem: str | None = None
    """Why the page is missing (None when it was written or kept)."""
    seconds: float = 0.0
    regenerated: bool = False


def docs_page(settings: Settings) -> Path:
    return settings.data.reports / DOCS_DIR / PAGE


def dbt_log_dir(settings: Settings) -> Path:
    return settings.data.run_log / "dbt-docs"


def write_docs(settings: Settings) -> DocsResult:
    """Write (or keep) the lineage docs page of the published warehouse; never raises on a dbt failure."""
    page = docs_page(settings)
    started = time.perf_counter()
    try:
        key = _key(settings)
        key_file = page.parent / KEY_FILE
        if page.is_file() and key_file.is_file() and key_file.read_text(encoding="utf-8") == key:
            log.info("lineage docs unchanged (same dbt project and warehouse schema): %s", page)
            return DocsResult(page)
        html = make_offline(_generate(settings))
        page.parent.mkdir(parents=True, exist_ok=True)
        staged = page.with_name(page.name + ".inprogress")
        staged.write_text(html, encoding="utf-8")
        staged.replace(page)
        key_file.write_text(key, encoding="utf-8")
    except (DocsError, OSError, ImportError, duckdb.Error, sql_project.ProjectError) as exc:
        problem = str(exc)
        for stale in (page, page.parent / KEY_FILE):
            stale.unlink(missing_ok=True)
        log.warning("lineage docs not written: %s", problem)
        return DocsResult(None, problem, time.perf_counter() - started)
    seconds = time.perf_counter() - started
    log.info("lineage docs written to %s (%d KB, %.1fs of dbt)", page, len(html) // 1024, seconds)
    return DocsResult(page, None, seconds, regenerated=True)


def _key(settings: Settings) -> str:
    """What the page shows: the dbt project's files, dbt's release, the warehouse's relations and columns."""
    from dbt.version import __version__ as dbt_version

    digest = hashlib.sha256(f"{dbt_version}\0{duckdb.__version__}\0".encode())
    sql_dir = resource_dir() / "sql"
    docs_blocks = sorted((sql_dir / "models").rglob("*.md"))  # the overview; a build reads none
    for path in [*sql_project.load(sql_dir).files(), *docs_blocks]:
        digest.update(path.relative_to(resource_dir()).as_posix().encode() + b"\0" + path.read_bytes())
    con = connect_read_only(settings.warehouse)
    try:
        relations = con.execute(
            "SELECT schema_name, table_name, comment FROM duckdb_tables() "
            "UNION ALL SELECT schema_name, view_name, comment FROM duckdb_views() WHERE NOT internal "
            "ORDER BY ALL"
        ).fetchall()
        columns = con.execute(
            "SELECT schema_name, table_name, column_index, column_name, data_type, comment "
            "FROM duckdb_columns() WHERE NOT internal ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    digest.update(json.dumps([relations, columns], default=str).encode())
    return digest.hexdigest()


def _generate(settings: Settings) -> str:
    """``dbt docs generate --static`` on the published warehouse, read-only; the static page's HTML."""
    if not settings.warehouse.is_file():
        raise DocsError(f"no published warehouse at {settings.warehouse}: run 'socialrank run' first")
    logs = dbt_log_dir(settings)
    logs.mkdir(parents=True, exist_ok=True)
    try:  # the hooks compile with the vars the published build ran with
        run_vars = build_vars(settings.warehouse)
    except (duckdb.Error, ValueError) as exc:
        raise DocsError(
            f"the published warehouse has no run parameters ({exc}): run 'socialrank run' again"
        ) from exc
    with tempfile.TemporaryDirectory(prefix="socialrank-dbt-docs-") as scratch:
        target = Path(scratch) / "target"
        args = [
            "docs", "generate", "--static",
            *project_arguments(),
            "--target", PROFILE_TARGET,
            "--target-path", str(target),
            "--log-path", str(logs),
            "--log-level", "none",
            "--log-level-file", "info",
            "--no-use-colors-file",
            "--no-send-anonymous-usage-stats",
            "--no-partial-parse",
            "--vars", json.dumps(run_vars),
        ]  # fmt: skip
        try:
            result = invoke(args, Connection(settings.warehouse, settings.data.root))
        except Exception as exc:  # dbt's own bug or a broken install: said, not raised at the analyst
            raise DocsError(f"dbt docs generate crashed: {type(exc).__name__}: {exc}") from exc
        if not result.success:
            reason = result.exception or "see the log"
            raise DocsError(f"dbt docs generate failed: {reason} (dbt's log: {logs / 'dbt.log'})")
        static = target / "static_index.html"
        if not static.is_file():
            raise DocsError(f"dbt docs generate wrote no {static.name} (dbt's log: {logs / 'dbt.log'})")
        return static.read_text(encoding="utf-8")


def make_offline(html: str) -> str:
    """The static page without dbt-docs' tracker: its switch is off and its CDN script and collector gone."""
    for snippet, replacement in (
        (TRACKER_SWITCH, "!1"),
        (TRACKER_SCRIPT, '""'),
        (TRACKER_COLLECTOR, '""'),
    ):
        if html.count(snippet) != 1:
            raise DocsError(
                f"dbt's docs page no longer holds its tracker as pipeline/dbt_docs.py knows it ({snippet!r} "
                f"found {html.count(snippet)} times): a dbt upgrade changed the page; update make_offline"
            )
        html = html.replace(snippet, replacement)
    return html
