"""Run the pipeline as an operator does (the ``socialrank`` CLI in its own process) and fingerprint
what it leaves behind: the lake, the ledger and the published warehouse.

Used by the crash-safety, idempotence and resource-fault tests. A *world* is a folder holding a
``socialrank.toml`` and a data root (``data/``) whose landing zone has the bundled sample world.
Runs go through a real subprocess so a fault (``SOCIALRANK_FAULT``) can SIGKILL it, and so two runs
never share process state (hash seeds, caches) that could hide nondeterminism.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from pipeline.dbt_invoke import Connection, invoke, project_arguments
from pipeline.faults import FAULT_ENV
from pipeline.schemas import INGEST_LEDGER, QUARANTINED_RECORDS
from socialrank_demo.sample import write_demo_landing

PROJECT_DIR = Path(__file__).resolve().parents[1]
RUN_DATE = dt.date(2026, 11, 1)
CONFIG = '[site]\nowned_sites = ["example.com"]\ntimezone = "America/Los_Angeles"\n'
RUN_TIMEOUT = 600.0
# Columns that say when something happened, not what: they differ between two correct runs.
VOLATILE_COLUMNS = {"core.deliveries": {"ingested_at"}, "core.quarantined_records": {"quarantined_at"}}
# What analysts read. ``meta`` describes the build itself (its version, mode, base, changed days),
# which legitimately differs between a full build and an incremental one of the same contents.
FINGERPRINTED_SCHEMAS = ("core", "mart")
# Partitions named after the day of the ingest run rather than a day in the data.
RUN_DAY_PARTITIONS = {INGEST_LEDGER.partition_column, QUARANTINED_RECORDS.partition_column}
FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL"}
# Significant digits kept when floats are compared "up to rounding noise". Summation order leaves
# differences of up to ~1e-14 (relative) in the mart; at 6 digits the chance that such noise crosses
# a rounding boundary is ~1e-8 per value, while lost or doubled data moves far more than that.
FLOAT_DIGITS = 6
# A second rank-tracker export (another keyword for three sample pages): a delivery a later run ingests.
EXTRA_KEYWORD = "tent buying checklist"
EXTRA_RANKINGS = (
    "date,keyword,url,position\n"
    f"2026-10-30,{EXTRA_KEYWORD},https://example.com/guides/backpacking-tents-for-beginners/,4\n"
    f"2026-10-30,{EXTRA_KEYWORD},https://example.com/guides/camp-chairs-care-and-repair/,9\n"
    f"2026-10-30,{EXTRA_KEYWORD},https://example.com/reviews/budget-hiking-boots/,15\n"
)
EXTRA_RANKINGS_PATH = "rankings/rank_tracker/positions-tents.csv"

Checksums = dict[str, tuple[int, int | None]]
LakeListing = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class World:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "socialrank.toml"

    @property
    def home(self) -> Path:
        return self.root / "data"

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse" / "warehouse.duckdb"

    @property
    def manifest(self) -> Path:
        return self.warehouse.with_name("published.json")

    @property
    def builds(self) -> Path:
        return self.warehouse.parent / "builds"


def new_world(root: Path) -> World:
    """A config file and a landing zone holding the bundled sample world; nothing ingested yet."""
    world = World(root)
    root.mkdir(parents=True, exist_ok=True)
    world.config.write_text(CONFIG, encoding="utf-8")
    write_demo_landing(world.landing)
    return world


def copy_world(source: World, root: Path) -> World:
    """Another world in the same state: landing, lake, warehouse and run notes.

    The GX project and reports are left behind: GX keeps absolute paths (its Data Docs folder) in
    its config, and a copy must not write into the source's folders. A run recreates both. The lineage
    docs (``reports/dbt_docs``, no paths of the world in them) are copied: a run of the copy keeps them
    while the warehouse's schema is the same, and does not spend seconds of dbt regenerating them.
    """
    world = World(root)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source.config, world.config)
    shutil.copytree(source.home, world.home, ignore=shutil.ignore_patterns("gx", "reports"), symlinks=True)
    lineage = source.home / "reports" / "dbt_docs"
    if lineage.is_dir():
        shutil.copytree(lineage, world.home / "reports" / "dbt_docs")
    return world


def land_extra_rankings(world: World) -> Path:
    path = world.landing / EXTRA_RANKINGS_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(EXTRA_RANKINGS, encoding="utf-8")
    return path


def cli_env(world: World, fault: str | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in (FAULT_ENV, "SOCIALRANK_CONFIG")}
    env.update(
        SOCIALRANK_HOME=str(world.home),
        SOCIALRANK_PROJECT_DIR=str(PROJECT_DIR),
        GX_ANALYTICS_ENABLED="False",
    )
    if fault:
        env[FAULT_ENV] = fault
    return env


def cli_command(world: World, *args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", "--config", str(world.config), *args]


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def summary(self) -> dict[str, Any]:
        """The JSON a ``--json`` command prints first (``run`` prints a status table after it)."""
        value, _ = json.JSONDecoder().raw_decode(self.stdout.lstrip())
        assert isinstance(value, dict)
        return value

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.stderr.splitlines()[-lines:])


def run_cli(world: World, *args: str, fault: str | None = None) -> CliRun:
    started = time.perf_counter()
    done = subprocess.run(
        cli_command(world, *args),
        cwd=world.root,
        env=cli_env(world, fault),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    return CliRun(done.returncode, done.stdout, done.stderr, time.perf_counter() - started)


def run_pipeline(world: World, day: dt.date = RUN_DATE, fault: str | None = None) -> CliRun:
    """``socialrank run --date <day> --json``: every stage, as the nightly or a backfill runs it."""
    return run_cli(world, "run", "--date", day.isoformat(), "--json", fault=fault)


def run_ok(world: World, day: dt.date = RUN_DATE) -> CliRun:
    result = run_pipeline(world, day)
    assert result.returncode == 0, f"run --date {day} failed ({result.returncode}):\n{result.tail()}"
    return result


def run_killed_after(world: World, day: dt.date, delay: float) -> int:
    """Start a run and SIGKILL its process group after ``delay`` seconds; the run's exit code."""
    with subprocess.Popen(
        cli_command(world, "run", "--date", day.isoformat()),
        cwd=world.root,
        env=cli_env(world),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    ) as process:
        try:
            return process.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            return process.wait(timeout=60)


# --- fingerprints ---------------------------------------------------------------------------------


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_checksums(path: Path, float_digits: int | None = None) -> Checksums:
    """Per core and mart table: row count and an order-independent sum of row hashes.

    Volatile columns (timestamps of the run) are left out. With ``float_digits``, floating-point
    columns are compared at that many significant digits: equal up to rounding noise.
    """
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for schema, table, column, data_type in con.execute(
            "SELECT c.schema_name, c.table_name, c.column_name, c.data_type "
            "FROM duckdb_columns() AS c JOIN duckdb_tables() AS t USING (schema_name, table_name) "
            "WHERE c.schema_name IN (SELECT unnest(?)) "
            "ORDER BY c.schema_name, c.table_name, c.column_index",
            [list(FINGERPRINTED_SCHEMAS)],
        ).fetchall():
            columns[f"{schema}.{table}"].append((column, data_type))
        checksums: Checksums = {}
        for name, typed in columns.items():
            kept = [(column, kind) for column, kind in typed if column not in VOLATILE_COLUMNS.get(name, ())]
            values = [
                f"printf('%.{float_digits}g', {_quoted(column)})"
                if float_digits is not None and kind in FLOAT_TYPES
                else _quoted(column)
                for column, kind in kept
            ]
            schema, table = name.split(".")
            # Identifiers come from the catalog and are quoted; nothing here comes from data.
            row = con.execute(
                f"SELECT count(*), sum(hash({', '.join(values)})) FROM {_quoted(schema)}.{_quoted(table)}"
            ).fetchone()
            assert row is not None
            checksums[name] = (int(row[0]), None if row[1] is None else int(row[1]))
        return checksums
    finally:
        con.close()


def warehouse_schema(path: Path) -> list[tuple[str, str, str, str]]:
    """Every core and mart column with its type, in order."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [
            (str(schema), str(table), str(column), str(kind))
            for schema, table, column, kind in con.execute(
                "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
                "WHERE schema_name IN (SELECT unnest(?)) ORDER BY ALL",
                [list(FINGERPRINTED_SCHEMAS)],
            ).fetchall()
        ]
    finally:
        con.close()


def build_version(path: Path) -> tuple[str, dt.date]:
    """The version and run date in a warehouse file's ``meta.build_info`` (exactly one row)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("SELECT version, run_date FROM meta.build_info").fetchall()
    finally:
        con.close()
    assert len(rows) == 1, f"{path}: meta.build_info holds {len(rows)} rows, not one: not a finished build"
    return str(rows[0][0]), rows[0][1]


def manifest_field(world: World, key: str) -> str | None:
    """A field of ``published.json`` (``version``, ``as_of``...); None when nothing is published."""
    if not world.manifest.exists():
        return None
    value = json.loads(world.manifest.read_text(encoding="utf-8"))[key]
    assert isinstance(value, str)
    return value


def manifest_version(world: World) -> str | None:
    return manifest_field(world, "version")


def _listing_key(relative: Path) -> str:
    parts = list(relative.parts)
    for index, part in enumerate(parts[:-1]):
        column, equals, _ = part.partition("=")
        if equals and column in RUN_DAY_PARTITIONS:
            parts[index] = f"{column}=*"
    return "/".join(parts)


def lake_listing(lake: Path) -> LakeListing:
    """Every visible Parquet file (what a ``**/*.parquet`` reader sees), read whole: file count and
    rows per path, with partitions named after the ingest run's day folded together.

    A half-written file fails here, naming itself.
    """
    listing: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path in sorted(lake.rglob("*.parquet")):
        try:
            rows = pq.read_table(path).num_rows
        except Exception as exc:
            raise AssertionError(f"{path} is visible but not a whole Parquet file: {exc}") from exc
        entry = listing[_listing_key(path.relative_to(lake))]
        entry[0] += 1
        entry[1] += rows
    return {key: (files, rows) for key, (files, rows) in listing.items()}


def hidden_leftovers(lake: Path) -> list[Path]:
    """Files a reader's glob never matches: temporary files of writers that died."""
    return sorted(path for path in lake.rglob(".*") if path.is_file())


def delivery_of(key: str) -> str | None:
    """The delivery a lake file belongs to: files are named ``<delivery id>[-<chunk>].parquet``."""
    stem = key.rsplit("/", 1)[-1].removesuffix(".parquet")
    return None if stem.startswith("_") else stem.split("-", 1)[0]


def files_by_delivery(listing: LakeListing) -> dict[str, LakeListing]:
    grouped: dict[str, LakeListing] = defaultdict(dict)
    for key, entry in listing.items():
        delivery = delivery_of(key)
        if delivery is not None:
            grouped[delivery][key] = entry
    return dict(grouped)


def ledger_entries(lake: Path) -> dict[str, str]:
    """Delivery id -> status, from the ingest ledger's files."""
    entries: dict[str, str] = {}
    for path in sorted((lake / INGEST_LEDGER.name).glob("*/*.parquet")):
        for row in pq.read_table(path, columns=["delivery_id", "status"]).to_pylist():
            entries[str(row["delivery_id"])] = str(row["status"])
    return entries


@dataclass(frozen=True)
class Snapshot:
    """What a world holds after a run, for comparing a crashed-then-rerun world with a clean one."""

    version: str
    run_date: dt.date
    checksums: Checksums
    exact_checksums: Checksums
    lake: LakeListing
    ledger: dict[str, str]
    seconds: float = 0.0

    @property
    def by_delivery(self) -> dict[str, LakeListing]:
        return files_by_delivery(self.lake)


@dataclass(frozen=True)
class Reference:
    """A world after a run that never crashed, and what that run left: what a faulty run is held to."""

    world: World
    after: Snapshot


def snapshot(world: World, seconds: float = 0.0) -> Snapshot:
    version, run_date = build_version(world.warehouse)
    return Snapshot(
        version=version,
        run_date=run_date,
        checksums=table_checksums(world.warehouse, FLOAT_DIGITS),
        exact_checksums=table_checksums(world.warehouse),
        lake=lake_listing(world.lake),
        ledger=ledger_entries(world.lake),
        seconds=seconds,
    )


def differing(left: Checksums, right: Checksums) -> list[str]:
    """Tables whose fingerprints differ (or that only one side has)."""
    return sorted(name for name in left.keys() | right.keys() if left.get(name) != right.get(name))


def listing_differences(left: LakeListing, right: LakeListing, shown: int = 8) -> list[str]:
    """Readable differences between two lake listings (path: files and rows on each side)."""
    keys = sorted(key for key in left.keys() | right.keys() if left.get(key) != right.get(key))
    return [f"{key}: {left.get(key)} != {right.get(key)}" for key in keys[:shown]] + (
        [f"... and {len(keys) - shown} more"] if len(keys) > shown else []
    )


# The tables the build's Python fills after the models: dbt creates them (the `ddl` materialization), empty.
PYTHON_FILLED = frozenset(
    {
        "mart.impact_estimates",
        "mart.impact_event_time",
        "mart.factor_correlations",
        "mart.engagement_comparison",
    }
)


def run_dbt(build: Path, home: Path, run_vars: dict[str, Any], select: str | None = None) -> None:
    """``dbt run`` of ``sql/`` into ``build`` over the lake of the data root ``home``, in process as
    ``socialrank build`` runs it (:mod:`pipeline.dbt_invoke`: the committed profile, dbt-duckdb's database
    closed after the run); dbt's files beside ``build``. ``select``: that model alone. Every model and hook
    must pass."""
    ran = invoke(
        [
            "run", "--vars", json.dumps(run_vars), *(["--select", select] if select else []),
            *project_arguments(), "--log-level", "none",
            "--target-path", str(build.parent / "dbt-target"), "--log-path", str(build.parent / "dbt-logs"),
        ],
        Connection(build, home),
    )  # fmt: skip
    outcomes = list(getattr(ran.result, "results", None) or ())
    failed = [f"{each.node.name}: {each.message}" for each in outcomes if each.status != "success"]
    assert ran.success and not failed, f"dbt run failed: {ran.exception or failed}"
    models = [outcome for outcome in outcomes if outcome.node.unique_id.startswith("model.")]
    assert len(models) == (1 if select else len(list((PROJECT_DIR / "sql" / "models").rglob("*.sql"))))
