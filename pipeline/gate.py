"""The quality gate: Great Expectations suites (``expectations/<schema>.<table>.json``) run in-database
against a built warehouse file before it may be published.

Validation runs through GX's SQL datasource on DuckDB (see :mod:`pipeline.gx_duckdb`), so metrics
are computed by DuckDB and memory stays bounded whatever the table size. Run-dependent bounds (the
run's date window, row counts in the lake) are suite parameters (``{"$PARAMETER": ...}``) filled
here, so the suites stay static JSON. The project's shared constants (``sql/dbt_project.yml``: the
platforms, the event weeks) are named as the SQL models name them, in a JSON string that is one Jinja
expression (``"{{ var('platforms') + ['any'] }}"``), replaced by its value when the suite is loaded, as
dbt renders its tests' arguments. Results are rendered as Data Docs under the data root.

An incremental build rewrites only some rows of its big tables; the rest were validated when the build
it started from was gated. The build says which: the suite of ``core.<name>`` or ``mart.<name>`` has the
view ``meta.rewritten_<name>`` (a model of ``sql/models/meta/``, selecting the slice the table's pre_hook
redid with the same macro), if the table is built incrementally. An incremental build's gate copies those
rows into a side file its connections attach (once, instead of every metric query selecting them from the
whole table again) and checks the row-level expectations on the copy, and the table-level ones
(``expect_table_*``) on the whole table, as two validations of the same suite.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import StrictUndefined
from jinja2.nativetypes import NativeEnvironment

from pipeline.config import Settings
from pipeline.faults import fault_point
from pipeline.project import UnknownVar, resource_dir, var

log = logging.getLogger(__name__)

SITE_NAME = "socialrank"
DATASOURCE_NAME = "warehouse_build"
PROJECT_LOCK = ".gate.lock"
GX_LOG = "gate-great-expectations.log"
_TABLE_NAME = re.compile(r"^(core|mart)\.[a-z_][a-z0-9_]*$")
MAX_POSITION = 100
CHANGED_ROWS = "changed_rows"
# The naming rule from a suite to the build's view of its rewritten rows: meta.rewritten_<table's name>.
REWRITTEN_SCHEMA = "meta"
REWRITTEN_PREFIX = "rewritten_"
# Beyond this many rewritten rows (a backfill, a late bulk delivery) the whole table is validated:
# checking most of a table costs about what checking all of it does.
MAX_CHANGED_ROWS = 500_000
REWRITTEN_CATALOG = "rewritten_rows"
# A suite value that is one Jinja expression: replaced by the expression's value (a list, a number).
_VARS_EXPRESSION = re.compile(r"^\{\{.*\}\}$", re.DOTALL)
_SUITE_VALUES = NativeEnvironment(undefined=StrictUndefined)
_SUITE_VALUES.globals["var"] = var


class GateFailed(RuntimeError):
    """A suite failed: the build must not be published. Not worth retrying: the data is wrong.

    The message names the failed tables and, for expectations whose suite says what to do about them
    (``meta.fix``: an empty warehouse, no owned page), what to fix."""

    def __init__(self, summary: dict[str, Any]) -> None:
        failed = [name for name, suite in summary["suites"].items() if not suite["success"]]
        fixes = [
            f"{name}: {failure['fix']}"
            for name in failed
            for failure in summary["suites"][name]["failed"]
            if failure.get("fix")
        ]
        what = f" ({'; '.join(fixes)})" if fixes else ""
        super().__init__(f"quality gate failed for {', '.join(failed)}{what}; see {summary['data_docs']}")
        self.summary = summary


@dataclass(frozen=True)
class Suite:
    table: str
    path: Path
    spec: dict[str, Any] = field(repr=False)

    @property
    def rewritten_model(self) -> str:
        """The build's view of the rows an incremental build rewrote (if the table is built incrementally)."""
        return f"{REWRITTEN_SCHEMA}.{REWRITTEN_PREFIX}{self.table.split('.')[1]}"

    def split(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The suite's table-level and row-level expectations, as two suites."""
        expectations = self.spec["expectations"]
        table_level = [e for e in expectations if e["type"].startswith("expect_table_")]
        row_level = [e for e in expectations if not e["type"].startswith("expect_table_")]
        return (
            self.spec | {"expectations": table_level},
            self.spec | {"name": f"{self.table}.{CHANGED_ROWS}", "expectations": row_level},
        )


def load_suites(directory: Path) -> list[Suite]:
    suites = []
    for path in sorted(directory.glob("*.json")):
        table = path.stem
        if not _TABLE_NAME.match(table):
            raise ValueError(f"{path}: suite files are named <core|mart>.<table>.json")
        try:
            spec = with_vars(json.loads(path.read_text(encoding="utf-8")))
        except UnknownVar as exc:
            raise ValueError(f"{path}: {exc}") from exc
        if spec.get("name") != table:
            raise ValueError(f"{path}: suite name {spec.get('name')!r} must match the file name {table!r}")
        suites.append(Suite(table, path, spec))
    return suites


def with_vars(value: Any) -> Any:
    """A suite's JSON with every string that is one Jinja expression (``"{{ var('platforms') }}"``)
    replaced by its value, at any depth."""
    if isinstance(value, dict):
        return {key: with_vars(item) for key, item in value.items()}
    if isinstance(value, list):
        return [with_vars(item) for item in value]
    if isinstance(value, str) and _VARS_EXPRESSION.match(value):
        return _SUITE_VALUES.from_string(value).render()
    return value


def suite_parameters(build_path: Path, settings: Settings) -> dict[str, Any]:
    """Bounds that depend on the run: its date window and what the lake held when it was built."""
    con = duckdb.connect(str(build_path), read_only=True)
    try:
        info = con.execute("SELECT as_of, lake_rows FROM meta.build_info").fetchone()
        if info is None:
            raise RuntimeError(f"{build_path}: meta.build_info is empty; not a finished build")
        as_of, lake_rows = info
        counts = {entry["dataset"]: entry["row_count"] for entry in lake_rows}
        core_rankings = con.sql("SELECT count(*) FROM core.rankings_daily").fetchone()
    finally:
        con.close()
    return {
        "as_of": as_of.isoformat(),
        "history_start": settings.history_start,
        "max_position": MAX_POSITION,
        "lake_rankings_rows": counts.get("rankings", 0),
        "core_rankings_rows": int(core_rankings[0]) if core_rankings else 0,
    }


def is_incremental(build_path: Path) -> bool:
    con = duckdb.connect(str(build_path), read_only=True)
    try:
        mode = con.execute("SELECT mode FROM meta.build_info").fetchone()
    finally:
        con.close()
    return mode is not None and mode[0] == "incremental"


def rewritten_table(suite: Suite) -> str:
    """The table of the rewritten-rows file that holds an incremental build's rewritten rows of ``suite``."""
    return suite.table.replace(".", "_")


def rewritten_models(con: duckdb.DuckDBPyConnection, suites: list[Suite]) -> dict[str, str]:
    """Suite's table -> the build's view of its rewritten rows, for the suites whose table has one. A view
    of that name with no suite is an error: the naming rule or a suite's file name is wrong."""
    views = {
        f"{REWRITTEN_SCHEMA}.{name}"
        for (name,) in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE schema_name = ? AND starts_with(view_name, ?)",
            [REWRITTEN_SCHEMA, REWRITTEN_PREFIX],
        ).fetchall()
    }
    found = {suite.table: suite.rewritten_model for suite in suites if suite.rewritten_model in views}
    orphans = sorted(views - set(found.values()))
    if orphans:
        raise ValueError(f"{', '.join(orphans)}: no suite in expectations/ for the table of that name")
    return found


def copy_rewritten_rows(settings: Settings, build_path: Path, suites: list[Suite]) -> dict[str, int]:
    """Copy an incremental build's rewritten rows (each ``meta.rewritten_<name>`` view's rows) into the
    rewritten-rows file, one table per suite; return their row counts. Every row-level metric then
    reads the copy instead of selecting the rows from the whole table again."""
    from pipeline.sql_quoting import sql_string

    target = rewritten_rows_path(settings)
    counts = {}
    con = duckdb.connect(
        str(build_path), read_only=True, config={"memory_limit": settings.warehouse_memory_limit}
    )
    try:
        con.execute(f"ATTACH {sql_string(str(target))} AS {REWRITTEN_CATALOG} (READ_WRITE)")
        models = rewritten_models(con, suites)
        for suite in suites:
            if suite.table not in models:
                continue
            # Names made from a suite file's name (checked against _TABLE_NAME) and found in the catalog.
            table = f"{REWRITTEN_CATALOG}.{rewritten_table(suite)}"
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM {models[suite.table]}")
            counted = con.sql(f"SELECT count(*) FROM {table}").fetchone()
            counts[suite.table] = int(counted[0]) if counted else 0
            fault_point("gate.rewritten_copied")
    finally:
        con.close()
    return counts


def rewritten_rows_path(settings: Settings) -> Path:
    # In the GX project, which one gate at a time holds (_project_lock).
    return settings.data.gx_project / "rewritten_rows.duckdb"


def _remove_rewritten_rows(settings: Settings) -> None:
    """The rewritten-rows file and its write-ahead log (a gate killed while copying leaves one, which
    DuckDB would replay into the next gate's new file)."""
    path = rewritten_rows_path(settings)
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


def _context(settings: Settings) -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx  # heavy: imported only when the gate runs

    context = gx.get_context(mode="file", project_root_dir=str(settings.data.gx_project))
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    context.variables.save()
    if SITE_NAME not in context.get_site_names():
        context.add_data_docs_site(
            site_name=SITE_NAME,
            site_config={
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(settings.data.data_docs),
                },
            },
        )
    return context


def _forget_stored_definitions(project: Path) -> None:
    """Validation definitions and the checkpoint are made anew each run from ``expectations/``; those an
    earlier run stored can name assets this run does not define, and GX refuses to load them."""
    for folder in ("validation_definitions", "checkpoints"):
        for path in (project / "gx" / folder).glob("*.json"):
            path.unlink()


@contextmanager
def _project_lock(project: Path) -> Iterator[None]:
    """Hold the GX project for one gate. Its stores and Data Docs are files every gate rewrites (a gate
    discards the definitions another is running), and backfill runs gate side by side."""
    project.mkdir(parents=True, exist_ok=True)
    with (project / PROJECT_LOCK).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("gate: waiting for another gate to finish with %s", project)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_gate(settings: Settings, build_path: Path) -> dict[str, Any]:
    """Validate every suite against ``build_path``; return a summary, or raise :class:`GateFailed`."""
    with _project_lock(settings.data.gx_project), _library_log_in_file(settings):
        return _run_gate(settings, build_path)


@contextmanager
def _library_log_in_file(settings: Settings) -> Iterator[None]:
    """Great Expectations logs hundreds of INFO lines a gate (its decorators, each expectation): they
    go to a file under ``runs/`` whose path is logged, so the run's log holds socialrank's own lines."""
    settings.data.run_log.mkdir(parents=True, exist_ok=True)
    path = settings.data.run_log / GX_LOG
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    saved: list[tuple[logging.Logger, int, bool]] = []

    def divert(library: logging.Logger) -> None:
        saved.append((library, library.level, library.propagate))
        library.addHandler(handler)
        library.setLevel(logging.INFO)
        library.propagate = False

    divert(logging.getLogger("great_expectations"))
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations  # noqa: F401  (heavy; its import logs too)

    # The few modules that name their logger after their file path.
    for name in list(logging.root.manager.loggerDict):
        if "/great_expectations/" in name:
            divert(logging.getLogger(name))
    log.info("gate: Great Expectations' own log in %s", path)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="great_expectations")
            yield
    finally:
        for library, level, propagate in saved:
            library.removeHandler(handler)
            library.setLevel(level)
            library.propagate = propagate
        handler.close()


def _run_gate(settings: Settings, build_path: Path) -> dict[str, Any]:
    from pipeline import gx_duckdb

    started = time.perf_counter()
    gx_duckdb.register()
    suites = load_suites(resource_dir() / "expectations")
    parameters = suite_parameters(build_path, settings)
    context = _context(settings)
    _remove_rewritten_rows(settings)
    try:
        changed = copy_rewritten_rows(settings, build_path, suites) if is_incremental(build_path) else {}
        result = _validate(context, build_path, settings, suites, parameters, changed)
    finally:
        _remove_rewritten_rows(settings)
    fault_point("gate.validated")
    _build_data_docs(context, settings, list(result.run_results))
    summary = _summarise(result, settings, parameters, changed, time.perf_counter() - started)
    _log_summary(summary)
    if not summary["success"]:
        raise GateFailed(summary)
    return summary


def _build_data_docs(context: Any, settings: Settings, run_results: list[Any]) -> None:
    """Data Docs once for the run's results (an UpdateDataDocsAction rebuilds the site per suite) and the
    suites' pages the index links to, then rewritten to open offline."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    from pipeline import data_docs

    suites = [ExpectationSuiteIdentifier(name=suite.name) for suite in context.suites.all()]
    context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=[*run_results, *suites])
    data_docs.make_offline(settings.data.data_docs)


def _validate(
    context: Any,
    build_path: Path,
    settings: Settings,
    suites: list[Suite],
    parameters: dict[str, Any],
    changed: dict[str, int],
) -> Any:
    """Run every suite in one checkpoint: whole tables, and an incremental build's rewritten rows from
    the rewritten-rows file where there are not too many."""
    import great_expectations as gx

    from pipeline import gx_duckdb

    _forget_stored_definitions(settings.data.gx_project)
    datasource = context.data_sources.add_or_update_sql(
        name=DATASOURCE_NAME,
        connection_string=f"{gx_duckdb.DIALECT_NAME}:///{build_path}",
        kwargs={
            "connect_args": {
                "read_only": True,
                "config": {"memory_limit": settings.warehouse_memory_limit},
                "attach": {REWRITTEN_CATALOG: str(rewritten_rows_path(settings))} if changed else {},
            }
        },
    )
    definitions = []
    for suite in suites:
        # A table asset, not a query asset: GX runs a query asset's whole query to learn its columns,
        # which fetches every row of the table; for a table it asks for one row.
        schema, table = suite.table.split(".")
        whole_table = datasource.add_table_asset(name=suite.table, table_name=table, schema_name=schema)
        validations = [(whole_table, suite.spec)]
        if changed.get(suite.table, MAX_CHANGED_ROWS + 1) <= MAX_CHANGED_ROWS:
            table_level, row_level = suite.split()
            rewritten = datasource.add_table_asset(name=row_level["name"], table_name=rewritten_table(suite))
            validations = [(whole_table, table_level), (rewritten, row_level)]
            log.info("gate %s: row checks on the %d rewritten rows", suite.table, changed[suite.table])
        for asset, spec in validations:
            if not spec["expectations"]:
                continue
            batch = asset.add_batch_definition_whole_table("whole table")
            expectation_suite = context.suites.add_or_update(gx.ExpectationSuite(**spec))
            definitions.append(
                context.validation_definitions.add_or_update(
                    gx.ValidationDefinition(name=spec["name"], data=batch, suite=expectation_suite)
                )
            )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name="socialrank_gate",
            validation_definitions=definitions,
            result_format={"result_format": "SUMMARY"},
        )
    )
    try:
        return checkpoint.run(
            expectation_parameters=parameters, run_id=gx.RunIdentifier(run_name=build_path.stem)
        )
    finally:
        # DuckDB allows one configuration per file in a process: release GX's read-only connections.
        for used in (datasource, context.data_sources.get(DATASOURCE_NAME)):
            used.get_engine().dispose()
            used.get_execution_engine().engine.dispose()


def _summarise(
    result: Any, settings: Settings, parameters: dict[str, Any], changed: dict[str, int], seconds: float
) -> dict[str, Any]:
    """One entry per table: a table validated in two parts (whole table, rewritten rows) is one entry."""
    suites: dict[str, Any] = {}
    for validation in result.run_results.values():
        name = validation.suite_name.removesuffix(f".{CHANGED_ROWS}")
        failures = []
        for item in validation.results:
            if item.success:
                continue
            config = item.expectation_config
            exception = (item.exception_info or {}).get("exception_message")
            failures.append(
                {
                    "expectation": config.type,
                    "column": config.kwargs.get("column") or config.kwargs.get("column_list"),
                    "description": config.kwargs.get("description") or config.meta.get("why"),
                    "fix": config.meta.get("fix"),
                    "observed": item.result.get("observed_value"),
                    "unexpected_count": item.result.get("unexpected_count"),
                    "error": exception,
                }
            )
        entry = suites.setdefault(name, {"success": True, "evaluated": 0, "failed": [], "rows": "all"})
        entry["success"] = entry["success"] and bool(validation.success)
        entry["evaluated"] += len(validation.results)
        entry["failed"] += failures
        if validation.suite_name != name:
            entry["rows"] = f"{changed[name]} rewritten"
    return {
        "success": bool(result.success),
        "checked_at": dt.datetime.now(dt.UTC).isoformat(),
        "seconds": round(seconds, 2),
        "parameters": parameters,
        "suites": suites,
        "data_docs": str(settings.data.data_docs / "index.html"),
    }


def _log_summary(summary: dict[str, Any]) -> None:
    for name, suite in sorted(summary["suites"].items()):
        log.info(
            "gate %-28s %s (%d expectations, rows: %s)",
            name,
            "passed" if suite["success"] else "FAILED",
            suite["evaluated"],
            suite["rows"],
        )
        for failure in suite["failed"]:
            log.error(
                "  failed %s on %s: observed %s, unexpected %s %s",
                failure["expectation"],
                failure["column"],
                failure["observed"],
                failure["unexpected_count"],
                failure["error"] or failure["description"] or "",
            )
    log.info(
        "gate %s in %.1fs; Data Docs: %s",
        "passed" if summary["success"] else "FAILED",
        summary["seconds"],
        summary["data_docs"],
    )
