"""The model phase of a full build, run by the build's engine and by real dbt (issue 19, the runner step).

Both build the models of ``sql/`` over the lake of the bundled sample world (landed and run once by
``socialrank run`` into ``--workdir``) into a new file, with the same run parameters (the published build's
``meta.run_parameters``), both in this process: the engine's loop (:mod:`pipeline.sql_project`: hooks,
models, hooks), and dbt as ``socialrank build`` runs it (:func:`pipeline.dbt_build.run_models`: ``dbt parse``
then ``dbt run`` on its manifest, dbt's state kept in ``--workdir`` between runs as the build keeps it in the
data root). The two alternate, ``--repeats`` times; the report keeps the medians and the ratio dbt / engine.
The tables are the same (tests/test_dbt_project.py checks it); this measures what the runner costs.

Run: ``.venv/bin/python bench/bench_dbt_runner.py``; results: ``bench/results/dbt_runner.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline import dbt_build, referrals, sql_project
from pipeline.config import Settings
from pipeline.dbt_invoke import Connection
from pipeline.run_variables import build_vars, set_run_variables
from tests.conftest import demo_world_settings
from tests.pipeline_runs import PROJECT_DIR, World, new_world, run_ok

RESULTS = Path(__file__).resolve().parent / "results" / "dbt_runner.json"
DEFAULT_WORKDIR = Path(os.environ.get("TMPDIR", "/tmp")) / "socialrank-bench-dbt-runner"


def _new_build(path: Path, settings: Settings) -> None:
    """An empty build file with what the build's Python writes before the models."""
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA staging")
    referrals.write_reference(con, dict(settings.traffic.social_hosts))
    con.close()


def engine_seconds(world: World, build: Path, run_vars: dict[str, object]) -> float:
    _new_build(build, demo_world_settings(world.root))
    project = sql_project.load(PROJECT_DIR / "sql")
    project.run_vars.update(run_vars)
    con = duckdb.connect(str(build), config={"file_search_path": str(world.home)})
    started = time.perf_counter()
    for schema in ("core", "mart", "meta"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for hook in project.hooks("on-run-start", incremental=False):
        con.execute(hook)
    set_run_variables(con)
    for model in project.models:
        model.run(con, incremental=False)
        set_run_variables(con)
    for hook in project.hooks("on-run-end", incremental=False):
        con.execute(hook)
    con.execute("CHECKPOINT")
    con.close()
    return time.perf_counter() - started


def dbt_seconds(world: World, build: Path, run_vars: dict[str, object]) -> float:
    _new_build(build, demo_world_settings(world.root))
    started = time.perf_counter()
    connection = Connection(build, world.home)
    dbt_build.run_models(connection, build.parent / "dbt", run_vars, full_refresh=True, on_model=ignored)
    return time.perf_counter() - started


def ignored(model: dbt_build.ModelRun) -> None:
    """The build's progress bar and log, left out of the measure."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    world = World(args.workdir / "world")
    if not world.warehouse.exists():
        print(f"running the sample world once into {world.root} ...", flush=True)
        run_ok(new_world(world.root))
    run_vars = build_vars(world.warehouse)
    seconds: dict[str, list[float]] = {"engine": [], "dbt": []}
    for repeat in range(args.repeats):
        seconds["engine"].append(engine_seconds(world, args.workdir / "engine.duckdb", run_vars))
        seconds["dbt"].append(dbt_seconds(world, args.workdir / "dbt.duckdb", run_vars))
        print(
            f"run {repeat + 1}: engine {seconds['engine'][-1]:.2f} s, dbt {seconds['dbt'][-1]:.2f} s",
            flush=True,
        )
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    result = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
        "models": len(sql_project.load(PROJECT_DIR / "sql").models),
        "seconds": seconds,
        "median_seconds": medians,
        "dbt_over_engine": medians["dbt"] / medians["engine"],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"medians: engine {medians['engine']:.2f} s, dbt {medians['dbt']:.2f} s "
          f"({result['dbt_over_engine']:.1f}x) -> {RESULTS}")  # fmt: skip


if __name__ == "__main__":
    main()
