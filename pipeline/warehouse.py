"""The warehouse: built from ``sql/`` into a new DuckDB file, gated, then swapped into place.

Models are the ``.sql`` files under ``sql/{staging,core,mart,meta}``, one per table or view, each
named after what it builds; their order comes from the ``schema.table`` names they mention.
Run parameters (``as_of``, ``site_timezone``, ``owned_sites``) are DuckDB variables set with bound
parameters, so no SQL is ever assembled from data.

Publishing is an atomic rename of the gated build file over ``warehouse.duckdb``: an analyst's
read-only connection keeps reading the version it opened, and new connections see the new one.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import graphlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipeline import impact, lake
from pipeline.config import Settings
from pipeline.progress import progress_bar
from pipeline.schemas import ALL_DATASETS

log = logging.getLogger(__name__)

LAYERS = ("staging", "core", "mart", "meta")
_REFERENCE = re.compile(r"\b(staging|core|mart|meta)\.([a-z_][a-z0-9_]*)\b")
PUBLISHED_MANIFEST = "published.json"
BUILDS_KEPT = 3


class BuildError(RuntimeError):
    """A model failed to build; names the SQL file."""


def project_dir() -> Path:
    """Where ``sql/`` and ``expectations/`` live: ``SOCIALRANK_PROJECT_DIR`` or the package's parent."""
    configured = os.environ.get("SOCIALRANK_PROJECT_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    sql: str

    @property
    def depends_on(self) -> set[str]:
        return {f"{schema}.{table}" for schema, table in _REFERENCE.findall(self.sql)} - {self.name}


def load_models(sql_dir: Path) -> list[Model]:
    """All models, dependencies first."""
    models = {}
    for layer in LAYERS:
        for path in sorted((sql_dir / layer).glob("*.sql")):
            name = f"{layer}.{path.stem}"
            models[name] = Model(name, path, path.read_text(encoding="utf-8"))
    graph = {name: model.depends_on & models.keys() for name, model in models.items()}
    return [models[name] for name in graphlib.TopologicalSorter(graph).static_order()]


@dataclass
class BuildResult:
    path: Path
    version: str
    run_date: dt.date
    as_of: dt.date
    row_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def read_build(path: Path) -> BuildResult:
    """A finished build's identity, from its ``meta.build_info`` row."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("SELECT version, run_date, as_of FROM meta.build_info").fetchone()
        tables = con.execute(
            "SELECT schema_name || '.' || table_name FROM duckdb_tables() "
            "WHERE schema_name IN ('core', 'mart')"
        ).fetchall()
        counts = {name: _count(con, name) for (name,) in tables}
    finally:
        con.close()
    if row is None:
        raise BuildError(f"{path}: meta.build_info is empty; not a finished build")
    return BuildResult(path, row[0], row[1], row[2], counts)


def published_manifest(settings: Settings) -> dict[str, Any] | None:
    path = settings.warehouse.parent / PUBLISHED_MANIFEST
    if not path.exists() or not settings.warehouse.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def effective_as_of(settings: Settings, run_date: dt.date) -> dt.date:
    """A run never publishes an older view than the one analysts have: a backfill of past days
    rebuilds through the latest published day, with whatever the lake now holds for its dates."""
    manifest = published_manifest(settings)
    if manifest is None:
        return run_date
    return max(run_date, dt.date.fromisoformat(manifest["as_of"]))


@contextmanager
def writer_lock(settings: Settings) -> Iterator[None]:
    """One warehouse writer at a time, also outside Airflow's pool (CLI runs)."""
    settings.data.warehouse_dir.mkdir(parents=True, exist_ok=True)
    with (settings.data.warehouse_dir / ".writer.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _builds_dir(settings: Settings) -> Path:
    return settings.data.warehouse_dir / "builds"


def build(settings: Settings, run_date: dt.date, now: dt.datetime | None = None) -> BuildResult:
    """Build a new warehouse file from the lake; the published warehouse is not touched."""
    started = time.perf_counter()
    now = now or dt.datetime.now(dt.UTC)
    lake.ensure_datasets(settings.data.lake)
    as_of = effective_as_of(settings, run_date)
    version = f"{run_date.isoformat()}T{now.strftime('%H%M%S%f')}"
    builds = _builds_dir(settings)
    builds.mkdir(parents=True, exist_ok=True)
    path = builds / f"warehouse-{version}.duckdb"
    path.unlink(missing_ok=True)
    models = load_models(project_dir() / "sql")
    log.info("build %s: %d models, as of %s (run date %s) -> %s", version, len(models), as_of, run_date, path)
    result = BuildResult(path, version, run_date, as_of)
    con = duckdb.connect(str(path), config={"file_search_path": str(settings.data.root)})
    try:
        for layer in LAYERS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
        con.execute("SET VARIABLE as_of = ?", [as_of])
        con.execute("SET VARIABLE site_timezone = ?", [settings.timezone.key])
        con.execute("SET VARIABLE owned_sites = ?", [list(settings.owned_sites)])
        con.execute((project_dir() / "sql" / "macros.sql").read_text(encoding="utf-8"))
        with progress_bar("build", total=len(models)) as advance:
            for model in models:
                _run_model(con, model, result)
                advance()
        result.row_counts.update(impact.write_estimates(con, settings.impact))
        _write_build_info(con, settings, result, now)
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        path.unlink(missing_ok=True)
        raise
    con.close()
    result.seconds = time.perf_counter() - started
    log.info("build %s done in %.1fs", version, result.seconds)
    return result


def _count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    counted = con.sql(f"SELECT count(*) FROM {relation}").fetchone()  # a model name: fixed identifiers
    return int(counted[0]) if counted else 0


def _run_model(con: duckdb.DuckDBPyConnection, model: Model, result: BuildResult) -> None:
    started = time.perf_counter()
    try:
        con.execute(model.sql)
    except duckdb.Error as exc:
        raise BuildError(f"{model.path}: {exc}") from exc
    if model.name.startswith("staging."):
        log.info("  %-34s view    %.2fs", model.name, time.perf_counter() - started)
        return
    rows = _count(con, model.name)
    result.row_counts[model.name] = rows
    log.info("  %-34s %9d rows  %.2fs", model.name, rows, time.perf_counter() - started)


def _write_build_info(
    con: duckdb.DuckDBPyConnection, settings: Settings, result: BuildResult, now: dt.datetime
) -> None:
    lake_rows = []
    for dataset in ALL_DATASETS:
        counted = con.sql(f"SELECT count(*) FROM staging.{dataset.name}").fetchone()  # fixed identifiers
        lake_rows.append({"dataset": dataset.name, "row_count": int(counted[0]) if counted else 0})
    con.execute(
        "INSERT INTO meta.build_info VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            result.version,
            result.run_date,
            result.as_of,
            now,
            settings.timezone.key,
            list(settings.owned_sites),
            lake_rows,
        ],
    )


def publish(settings: Settings, build_result: BuildResult, gate_summary: dict[str, Any]) -> Path:
    """Swap a gated build into ``warehouse.duckdb``; the replaced version is kept as ``previous``."""
    target = settings.warehouse
    target.parent.mkdir(parents=True, exist_ok=True)
    previous = target.with_name("warehouse.previous.duckdb")
    if target.exists():
        staged_previous = previous.with_name(previous.name + ".inprogress")
        staged_previous.unlink(missing_ok=True)
        os.link(target, staged_previous)
        staged_previous.replace(previous)
    build_result.path.replace(target)
    manifest = {
        "version": build_result.version,
        "run_date": build_result.run_date.isoformat(),
        "as_of": build_result.as_of.isoformat(),
        "published_at": dt.datetime.now(dt.UTC).isoformat(),
        "row_counts": build_result.row_counts,
        "gate": gate_summary,
    }
    manifest_path = target.parent / PUBLISHED_MANIFEST
    staged = manifest_path.with_name(manifest_path.name + ".inprogress")
    staged.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    staged.replace(manifest_path)
    _fsync_dir(target.parent)
    _prune_builds(settings)
    log.info("published %s (as of %s) at %s", build_result.version, build_result.as_of, target)
    return target


def _fsync_dir(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _prune_builds(settings: Settings) -> None:
    """Keep the last few unpublished (failed) builds for inspection."""
    leftovers = sorted(_builds_dir(settings).glob("warehouse-*.duckdb"), key=lambda p: p.stat().st_mtime)
    for path in leftovers[:-BUILDS_KEPT]:
        path.unlink(missing_ok=True)
        path.with_name(path.name + ".wal").unlink(missing_ok=True)


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """How analysts (and the report) open the published warehouse."""
    return duckdb.connect(str(path), read_only=True)
