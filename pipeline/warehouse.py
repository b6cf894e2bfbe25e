"""The warehouse: built from ``sql/`` into a new DuckDB file, gated, then swapped into place.

``sql/`` is a dbt project, and dbt runs it (:mod:`pipeline.dbt_build`, in process): the models are the
``.sql`` files under ``sql/models/{staging,core,marts,meta}``, one per table or view, run in the order of
their ``ref()``s, after the ``on-run-start`` hooks of ``sql/dbt_project.yml`` (the run's parameters, the
DuckDB macros of ``sql/macros/``) and before its ``on-run-end`` ones. ``{{ var('platforms') }}`` is a value
of the project's shared constants (the ``vars:`` of ``sql/dbt_project.yml``, :mod:`pipeline.project`).
After dbt, the build's Python fills the tables of the estimators and stores the catalog's comments.
Run parameters (``as_of``, ``site_timezone``, ``owned_url_pattern``) are dbt vars, which the first hook
writes into ``meta.run_parameters`` and every connection reads as DuckDB variables
(:mod:`pipeline.run_variables`), so no SQL is ever assembled from data. Every core and mart table and
column is described in ``sql/models/{core,marts}/schema.yml`` (dbt's format); the build stores the
descriptions as the catalog's comments (:mod:`pipeline.schema_docs`).

Builds are incremental when they can be (dbt's pattern): the new file starts as a copy of the
published warehouse, the day-keyed models (``{% if is_incremental() %}`` in their SQL) redo only the days
and pages that changed (``meta.changed_days``, ``meta.changed_pages``), and the rest are rebuilt. A
full build (``socialrank build --full``, or whenever the base cannot be trusted: other SQL, other
settings, a delivery purged from the lake) builds every model from the lake into an empty file.

Publishing is an atomic rename of the gated build file over ``warehouse.duckdb``: an analyst's
read-only connection keeps reading the version it opened, and new connections see the new one. It
is a compare-and-swap: a build records the version published when it began (``started_from``), and
publish, under the writer lock, refuses a build when another version has been published since, so
the published warehouse never goes back. Builds left by earlier runs (failed, killed, half-written)
are removed when the next build starts; ``socialrank check`` and ``publish`` act on the build the
last ``socialrank build`` made (``builds/current.json``), never on a leftover.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipeline import dbt_build, impact, lake, locks, referrals, schema_docs, sql_project
from pipeline.config import Settings
from pipeline.dbt_build import ModelRun
from pipeline.dbt_invoke import Connection
from pipeline.faults import fault_point
from pipeline.freshness import Freshness, last_ranking_day
from pipeline.hosts import owned_url_pattern
from pipeline.ingest import ingested_delivery_ids
from pipeline.progress import progress_bar
from pipeline.project import resource_dir
from pipeline.run_variables import set_run_variables
from pipeline.schemas import ALL_DATASETS, QUARANTINED_RECORDS, RECORD_DATASETS
from pipeline.sql_quoting import quoted_identifier

log = logging.getLogger(__name__)

PUBLISHED_MANIFEST = "published.json"
CURRENT_BUILD = "current.json"
# Lake datasets whose files are named after their delivery (staging views take delivery_id from the name).
DELIVERED_DATASETS = frozenset(
    {dataset.name for dataset in RECORD_DATASETS.values()} | {QUARANTINED_RECORDS.name}
)


class BuildError(RuntimeError):
    """A model failed to build; names the SQL file."""


class NotPublishable(Exception):
    """A build that must not be checked or published: half-written, or stale (exit 1)."""


def load_models(sql_dir: Path) -> list[sql_project.Model]:
    """All models of the dbt project in ``sql_dir``, dependencies first."""
    return sql_project.load(sql_dir).models


@dataclass
class BuildResult:
    path: Path
    version: str
    run_date: dt.date
    as_of: dt.date
    row_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    mode: str = "full"
    base_version: str | None = None
    started_from: str | None = None
    """The version published when the build began (None: nothing was)."""
    data_through: dt.date | None = None
    """The newest ranking day it holds: the as-of date is the day the run covers, not the data's."""

    def freshness(self, settings: Settings) -> Freshness:
        return Freshness(self.data_through, self.as_of, settings.stale_after_days)


@dataclass(frozen=True)
class IncrementalBase:
    """The published build an incremental build starts from."""

    path: Path
    version: str
    as_of: dt.date
    lake_rows: dict[str, int] = field(default_factory=dict)
    """Rows per lake dataset of the deliveries the base build saw."""


def define_macros(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """The site's variables (its time zone, the owned-site rule) and, as temporary macros, the DuckDB macros
    of ``sql/macros/duckdb_macros.sql``: what tests of single models and the benchmarks need."""
    con.execute("SET VARIABLE site_timezone = ?", [settings.timezone.key])
    con.execute("SET VARIABLE owned_url_pattern = ?", [owned_url_pattern(settings.owned_sites)])
    con.execute(sql_project.load(resource_dir() / "sql").macro_sql("duckdb_macros", temporary=True))


def build_fingerprint(settings: Settings) -> str:
    """What a build's contents depend on besides the lake: the SQL, the settings the SQL reads and the
    DuckDB release that runs it. An incremental build only starts from a base with the same fingerprint."""
    digest = hashlib.sha256(duckdb.__version__.encode())
    # The models, macros, sources and dbt_project.yml (its vars: a new platform is a new column; its hooks).
    for path in sql_project.load(resource_dir() / "sql").files():
        digest.update(path.relative_to(resource_dir()).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update(
        json.dumps(
            [
                settings.timezone.key,
                sorted(settings.owned_sites),
                settings.www_policy,
                repr(settings.impact),
                repr(settings.traffic),
            ]
        ).encode()
    )
    return digest.hexdigest()


def read_build(path: Path) -> BuildResult:
    """A finished build's identity, from its ``meta.build_info`` row."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        info = con.execute("SELECT * FROM meta.build_info")
        columns = [column[0] for column in info.description or ()]
        values = info.fetchone()
        tables = con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
            "WHERE schema_name IN ('core', 'mart')"
        ).fetchall()
        counts = {name: _count(con, name) for (name,) in tables}
        data_through = last_ranking_day(con) if "core.rankings_daily" in counts else None
    finally:
        con.close()
    if values is None:
        raise BuildError(f"{path}: meta.build_info is empty; not a finished build")
    row = dict(zip(columns, values, strict=True))
    return BuildResult(
        path,
        row["version"],
        row["run_date"],
        row["as_of"],
        counts,
        mode=row["mode"],
        base_version=row["base_version"],
        started_from=row.get("started_from"),
        data_through=data_through,
    )


def finished_build(path: Path) -> BuildResult:
    """A build that may be gated or published: whole, with its build info; else :class:`NotPublishable`."""
    if not path.is_file():
        raise NotPublishable(f"{path}: no such build")
    try:
        return read_build(path)
    except (BuildError, duckdb.Error) as exc:
        raise NotPublishable(
            f"{path} is not a finished build ({exc}); a half-written build of a failed or killed run "
            "is removed by the next 'socialrank build' or 'socialrank run'"
        ) from exc


def published_version(settings: Settings) -> str | None:
    """The version of the published file itself (``published.json`` may lag it); None if none is."""
    return read_build(settings.warehouse).version if settings.warehouse.exists() else None


def incremental_base(settings: Settings, as_of: dt.date) -> tuple[IncrementalBase | None, str]:
    """The published warehouse, if an incremental build may start from it; else why not."""
    if published_manifest(settings) is None:
        return None, "nothing is published yet"
    try:
        con = duckdb.connect(str(settings.warehouse), read_only=True)
    except duckdb.Error as exc:
        return None, f"the published warehouse does not open ({exc})"
    try:
        info = con.execute("SELECT version, as_of, fingerprint, lake_rows FROM meta.build_info").fetchone()
        delivered = {
            row[0] for row in con.execute("SELECT delivery_id FROM meta.build_deliveries").fetchall()
        }
    except duckdb.Error as exc:
        return None, f"the published warehouse predates incremental builds ({exc})"
    finally:
        con.close()
    if info is None:
        return None, "the published warehouse has no build info"
    version, base_as_of, fingerprint, lake_rows = info
    if fingerprint != build_fingerprint(settings):
        return None, "the SQL models, the settings or the DuckDB release changed since the published build"
    if base_as_of > as_of:
        return None, f"the published build is as of {base_as_of}, later than {as_of}"
    if not delivered <= ingested_delivery_ids(settings.data.lake):
        return None, "deliveries the published build used are gone from the lake (purged)"
    counts = {entry["dataset"]: entry["row_count"] for entry in lake_rows}
    return IncrementalBase(settings.warehouse, version, base_as_of, counts), "incremental"


def published_manifest(settings: Settings) -> dict[str, Any] | None:
    path = settings.warehouse.parent / PUBLISHED_MANIFEST
    if not path.exists() or not settings.warehouse.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def effective_as_of(settings: Settings, run_date: dt.date) -> dt.date:
    """A run never publishes an older view than the one analysts have: a backfill of past days
    rebuilds through the latest published day, with whatever the lake now holds for its dates.
    The published file's own ``meta.build_info`` says which day that is (``published.json`` lags
    it when a publish died between the swap and the manifest)."""
    if not settings.warehouse.exists():
        return run_date
    return max(run_date, read_build(settings.warehouse).as_of)


def repair_manifest(settings: Settings) -> None:
    """Rewrite ``published.json`` when it does not name the published file's version: a publish
    killed between swapping the file in and writing the manifest leaves it one version behind."""
    if not settings.warehouse.exists():
        return
    published = read_build(settings.warehouse)
    manifest = published_manifest(settings)
    if manifest is not None and manifest.get("version") == published.version:
        return
    gate_file = _builds_dir(settings) / f"warehouse-{published.version}.gate.json"
    gate = json.loads(gate_file.read_text(encoding="utf-8")) if gate_file.exists() else {"success": True}
    _write_manifest(settings, published, gate)
    gate_file.unlink(missing_ok=True)
    log.warning(
        "published.json named another version than %s (an interrupted publish): rewritten", published.version
    )


@contextmanager
def writer_lock(settings: Settings) -> Iterator[None]:
    """One warehouse writer unit (build, gate, publish) at a time, in every process of the data root."""
    with locks.held(
        settings.data.warehouse_dir / ".writer.lock", "warehouse writer", settings.lock_wait_seconds
    ):
        yield


def _builds_dir(settings: Settings) -> Path:
    return settings.data.warehouse_dir / "builds"


def remove_leftover_builds(settings: Settings) -> None:
    """Delete what earlier runs left in ``builds/`` (failed, killed or half-written builds, their
    gate results, the current-build pointer): only the build starting now may be published."""
    builds = _builds_dir(settings)
    if not builds.is_dir():
        return
    for path in sorted(builds.iterdir()):
        if path.is_file():
            path.unlink()
            log.info("removed %s, left by an earlier run (never published)", path)


def mark_current_build(settings: Settings, build_path: Path) -> None:
    """Name the build ``socialrank check`` and ``publish`` act on when given no ``--build``."""
    pointer = _builds_dir(settings) / CURRENT_BUILD
    staged = pointer.with_name(pointer.name + ".inprogress")
    staged.write_text(json.dumps({"build": build_path.name}) + "\n", encoding="utf-8")
    staged.replace(pointer)


def current_build(settings: Settings) -> Path | None:
    """The build the last ``socialrank build`` made, if it is still there (not yet published)."""
    pointer = _builds_dir(settings) / CURRENT_BUILD
    if not pointer.exists():
        return None
    path = _builds_dir(settings) / str(json.loads(pointer.read_text(encoding="utf-8"))["build"])
    return path if path.exists() else None


def build(
    settings: Settings, run_date: dt.date, now: dt.datetime | None = None, full: bool = False
) -> BuildResult:
    """Build a new warehouse file from the lake (incrementally from the published one unless ``full``
    or impossible); the published warehouse is not touched."""
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    lake.ensure_datasets(settings.data.lake)
    repair_manifest(settings)
    remove_leftover_builds(settings)
    started_from = published_version(settings)
    as_of = effective_as_of(settings, run_date)
    version = f"{run_date.isoformat()}T{now.strftime('%H%M%S%f')}"
    builds = _builds_dir(settings)
    builds.mkdir(parents=True, exist_ok=True)
    path = builds / f"warehouse-{version}.duckdb"
    path.unlink(missing_ok=True)
    base, why = (None, "a full build was asked for") if full else incremental_base(settings, as_of)
    result = BuildResult(path, version, run_date, as_of, started_from=started_from)
    if base is not None:
        result.mode, result.base_version = "incremental", base.version
        log.info("build %s: incremental from %s (as of %s), as of %s -> %s", version, base.version,
                 base.as_of, as_of, path)  # fmt: skip
    else:
        log.info("build %s: full (%s), as of %s (run date %s) -> %s", version, why, as_of, run_date,
                 path)  # fmt: skip
    try:
        if base is not None:
            with _timed("copy of the published warehouse"):
                shutil.copyfile(base.path, path)
        _write_references(path, settings)
        fault_point("build.models", path.parent)
        with _timed("dbt run (hooks and models)"):
            _run_models(settings, result, base)
    except BaseException:
        _remove_build(path)
        raise
    con = duckdb.connect(
        str(path),
        config={"file_search_path": str(settings.data.root), "memory_limit": settings.warehouse_memory_limit},
    )
    try:
        set_run_variables(con)
        result.data_through = last_ranking_day(con)
        with _timed("impact estimates"):
            result.row_counts.update(impact.write_estimates(con, settings.impact))
        with _timed("factor correlations"):
            result.row_counts.update(impact.write_correlations(con))
        with _timed("engagement comparison"):
            result.row_counts.update(impact.write_engagement(con))
        _drop_build_macros(con)
        with _timed("table and column comments (schema.yml)"):
            schema_docs.persist(con, resource_dir() / "sql")
        with _timed("build info"):
            _write_build_info(con, settings, result, now, base)
        with _timed("checkpoint"):
            con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        _remove_build(path)
        raise
    con.close()
    fault_point("build.done")
    result.seconds = time.perf_counter() - started
    log.info("build %s done in %.1fs", version, result.seconds)
    return result


@contextmanager
def _timed(step: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    log.info("  %-44s %.2fs", step, time.perf_counter() - started)


def _write_references(path: Path, settings: Settings) -> None:
    """What the models read besides the lake: the referrer hosts of each platform (a dbt source)."""
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS staging")
        referrals.write_reference(con, dict(settings.traffic.social_hosts))
    finally:
        con.close()


def _run_models(settings: Settings, result: BuildResult, base: IncrementalBase | None) -> None:
    """dbt's run of the project into the build file, with the progress bar, a log line and a row count per
    model (counted after the run: dbt-duckdb reports none)."""
    run_vars = {
        "as_of": result.as_of.isoformat(),
        "base_as_of": base.as_of.isoformat() if base else None,
        "site_timezone": settings.timezone.key,
        "owned_url_pattern": owned_url_pattern(settings.owned_sites),
        "impact_window_weeks": settings.impact.window_weeks,
        "incremental_build": base is not None,
    }
    connection = Connection(result.path, settings.data.root, settings.warehouse_memory_limit)
    with ExitStack() as stack:
        advance: list[Callable[[], None]] = []

        def parsed(models: int) -> None:
            advance.append(stack.enter_context(progress_bar("build", total=models)))

        def model_done(model: ModelRun) -> None:
            log.debug("  %-34s %.2fs", model.relation, model.seconds)
            fault_point("build.model")
            advance[0]()

        try:
            models = dbt_build.run_models(
                connection, settings.data.warehouse_dir / "dbt", run_vars, base is None, model_done, parsed
            )
        except dbt_build.DbtRunError as exc:
            raise BuildError(str(exc)) from exc
    con = duckdb.connect(str(result.path), read_only=True)
    try:
        for model in models:
            if not model.relation.startswith("staging.") and _exists(con, model.relation):
                result.row_counts[model.relation] = _count(con, model.relation)
    finally:
        con.close()


def _exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    schema, name = relation.split(".")
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(found and found[0])


def _count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    counted = con.sql(f"SELECT count(*) FROM {relation}").fetchone()  # a model name: fixed identifiers
    return int(counted[0]) if counted else 0


def _remove_build(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


def _drop_build_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the build-time macros (``sql/macros/duckdb_macros.sql``, stored in ``main`` so that every cursor
    of the build sees them): they read the run's variables, which an analyst's connection does not have."""
    macros = con.execute(
        "SELECT DISTINCT function_name FROM duckdb_functions() "
        "WHERE function_type = 'macro' AND schema_name = 'main' AND database_name = current_database() "
        "AND NOT internal"
    ).fetchall()
    for (name,) in macros:  # names from the catalog, quoted
        con.execute(f"DROP MACRO main.{quoted_identifier(name)}")


# Which rows a dataset's lake count counts: a rank tracker's "not ranked" rows only mark the days a query was
# tracked, so the rankings count is of ranked observations (the gate bounds core.rankings_daily by it).
COUNTED_ROWS = {"rankings": "position IS NOT NULL"}


def _write_build_info(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    result: BuildResult,
    now: dt.datetime,
    base: IncrementalBase | None,
) -> None:
    lake_rows = []
    for dataset in ALL_DATASETS:
        # Fixed identifiers. Datasets of delivered records grow by deliveries only (a base build whose
        # deliveries are gone is not used): an incremental build counts the new ones' files alone.
        query, rows = (
            f"SELECT count(*) FROM staging.{dataset.name} WHERE {COUNTED_ROWS.get(dataset.name, 'true')}",
            0,
        )
        if base is not None and dataset.name in DELIVERED_DATASETS:
            query += " AND delivery_id IN getvariable('new_deliveries')"
            rows = base.lake_rows.get(dataset.name, 0)
        counted = con.sql(query).fetchone()
        lake_rows.append({"dataset": dataset.name, "row_count": rows + (int(counted[0]) if counted else 0)})
    con.execute(
        "INSERT INTO meta.build_info VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.version,
            result.run_date,
            result.as_of,
            now,
            settings.timezone.key,
            list(settings.owned_sites),
            lake_rows,
            result.mode,
            result.base_version,
            build_fingerprint(settings),
            result.started_from,
        ],
    )


def publish(settings: Settings, build_result: BuildResult, gate_summary: dict[str, Any]) -> Path:
    """Swap a gated build into ``warehouse.duckdb`` if the published version is still the one it
    started from (callers hold :func:`writer_lock`); the replaced version is kept as ``previous``."""
    target = settings.warehouse
    target.parent.mkdir(parents=True, exist_ok=True)
    repair_manifest(settings)
    published = published_version(settings)
    if build_result.started_from != published:
        raise NotPublishable(
            f"{build_result.path.name} is stale: it was built from published version "
            f"{build_result.started_from or '(none)'}, but version {published} has been published since; "
            "publishing it would take the warehouse back. Build again from the published version "
            "('socialrank run', or 'socialrank build' then 'check' and 'publish')"
        )
    previous = target.with_name("warehouse.previous.duckdb")
    if target.exists():
        staged_previous = previous.with_name(previous.name + ".inprogress")
        staged_previous.unlink(missing_ok=True)
        os.link(target, staged_previous)
        staged_previous.replace(previous)
        fault_point("publish.previous_kept")
    build_result.path.replace(target)
    fault_point("publish.swapped")
    _write_manifest(settings, build_result, gate_summary)
    lake.fsync_directory(target.parent)
    if current_build(settings) is None:
        (_builds_dir(settings) / CURRENT_BUILD).unlink(missing_ok=True)
    fault_point("publish.done")
    log.info("published %s (%s) at %s", build_result.version,
             build_result.freshness(settings).headline(), target)  # fmt: skip
    return target


def _write_manifest(settings: Settings, build_result: BuildResult, gate_summary: dict[str, Any]) -> None:
    manifest = {
        "version": build_result.version,
        "run_date": build_result.run_date.isoformat(),
        "as_of": build_result.as_of.isoformat(),
        "data_through": build_result.data_through.isoformat() if build_result.data_through else None,
        "published_at": dt.datetime.now(dt.UTC).isoformat(),
        "row_counts": build_result.row_counts,
        "gate": gate_summary,
    }
    manifest_path = settings.warehouse.parent / PUBLISHED_MANIFEST
    staged = manifest_path.with_name(manifest_path.name + ".inprogress")
    staged.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    staged.replace(manifest_path)


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """How analysts (and the report) open the published warehouse."""
    return duckdb.connect(str(path), read_only=True)
