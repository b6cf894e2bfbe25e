"""Airflow: one build task or a task per model (astronomer-cosmos)? The figures behind docs/decisions.md,
"Airflow: one build task or cosmos (issue 19, item 6)".

On the bundled sample world's lake (published by ``socialrank run``; ``--world`` reuses one), each
``--repeats`` times, into a fresh build file:
- the engine: ``warehouse.build(full=True)`` in a process of its own, its model phase (the models' loop) and
  the whole build;
- ``dbt run`` of ``sql/`` with the vars that build ran with (``tests.pipeline_runs.run_dbt``: the ``dbt``
  command, the committed profile);
- a cosmos ``DbtDag`` over ``sql/`` (``bench/cosmos_dag.py``: one task per model, ``ExecutionMode.LOCAL``,
  ``dbtRunner``) run by ``airflow dags test`` on SQLite metadata; per-task durations from Airflow's metadata.
Then the import time of the cosmos DAG file, as ``bench/bench_dags.py`` measures the project's DAG files.

cosmos is not a dependency of socialrank: install it by hand in a scratch environment (this was measured with
``astronomer-cosmos==1.15.1``). Without it, the script says so and exits 0 having measured nothing; it is not
part of ``make test`` nor ``make bench``. Offline: cosmos's telemetry is off
(``AIRFLOW__COSMOS__ENABLE_TELEMETRY=False``) and ``DO_NOT_TRACK=1``.

Run: ``.venv/bin/python bench/bench_cosmos.py [--world DIR] [--repeats 3]``; results:
``bench/results/cosmos.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb

from pipeline import referrals
from pipeline.run_variables import build_vars
from tests.pipeline_runs import (
    PROJECT_DIR,
    PYTHON_FILLED,
    World,
    new_world,
    run_dbt,
    run_ok,
    table_checksums,
)

RESULTS = Path(__file__).resolve().parent / "results" / "cosmos.json"
DAG_FILE = Path(__file__).resolve().with_name("cosmos_dag.py")
OFFLINE = {"DO_NOT_TRACK": "1", "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False", "GX_ANALYTICS_ENABLED": "False"}
# The engine's build in a process of its own; the model phase is the loop over the models (its progress bar).
ENGINE_BUILD = """
import contextlib, json, sys, time
from pathlib import Path
from zoneinfo import ZoneInfo
from pipeline import warehouse
from pipeline.config import DataRoot, Settings
import datetime as dt
phase = {}
real_bar = warehouse.progress_bar
@contextlib.contextmanager
def timed_bar(*args, **kwargs):
    started = time.perf_counter()
    with real_bar(*args, **kwargs) as advance:
        yield advance
    phase["models"] = time.perf_counter() - started
warehouse.progress_bar = timed_bar
settings = Settings(data=DataRoot(Path(sys.argv[1])), owned_sites=("example.com",),
                    timezone=ZoneInfo("America/Los_Angeles"))
started = time.perf_counter()
result = warehouse.build(settings, dt.date.fromisoformat(sys.argv[2]), full=True)
total = time.perf_counter() - started
result.path.unlink()
print(json.dumps({"model_phase_seconds": phase["models"], "build_seconds": total}))
"""
IMPORT_TIME = """
import runpy, sys, time
import airflow.sdk  # loaded before the clock starts, as in the dag-processor (bench/bench_dags.py)
started = time.perf_counter()
runpy.run_path(sys.argv[1])
print(time.perf_counter() - started)
"""


def fresh_build_file(path: Path) -> Path:
    """A new build file holding what the build's Python writes before the models: staging.referral_sources
    (no configured hosts: the dbt and cosmos builds are compared with each other, not with the published)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA staging")
        referrals.write_reference(con, {})
    finally:
        con.close()
    return path


def median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def measure_engine(world: World, run_date: str, repeats: int) -> dict[str, Any]:
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", ENGINE_BUILD, str(world.home), run_date],
            cwd=PROJECT_DIR, env={**os.environ, **OFFLINE}, capture_output=True, text=True, check=True,
        )  # fmt: skip
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        figures["process_seconds"] = time.perf_counter() - started
        runs.append(figures)
        print(f"engine: models {figures['model_phase_seconds']:.2f}s, build {figures['build_seconds']:.2f}s, "
              f"process {figures['process_seconds']:.2f}s", flush=True)  # fmt: skip
    return {key: median([run[key] for run in runs]) for key in runs[0]} | {"runs": runs}


def measure_dbt_run(world: World, run_vars: dict[str, Any], scratch: Path, repeats: int) -> dict[str, Any]:
    times = []
    for index in range(repeats):
        build = fresh_build_file(scratch / f"dbt-run-{index}" / "warehouse-build.duckdb")
        started = time.perf_counter()
        run_dbt(build, world.home, run_vars)
        times.append(time.perf_counter() - started)
        print(f"dbt run: {times[-1]:.2f}s", flush=True)
    return {"median_seconds": median(times), "runs": times, "last_build": build}


def airflow_env(
    scratch: Path, world: World, project: Path, run_vars: dict[str, Any], build: Path
) -> dict[str, str]:
    return {
        **os.environ,
        **OFFLINE,
        "AIRFLOW_HOME": str(scratch / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(scratch / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(scratch / "cosmos-cache"),
        "COSMOS_BENCH_PROJECT": str(project),
        "COSMOS_BENCH_VARS": json.dumps(run_vars),
        "COSMOS_BENCH_LOAD": "manifest",
        "COSMOS_BENCH_MANIFEST": str(scratch / f"target-{project.name}" / "manifest.json"),
        "SOCIALRANK_BUILD_PATH": str(build),
        "SOCIALRANK_HOME": str(world.home),
        "PYTHONPATH": str(PROJECT_DIR),
    }


def task_durations(airflow_home: Path) -> list[tuple[str, str, float]]:
    con = sqlite3.connect(airflow_home / "airflow.db")
    try:
        rows = con.execute(
            "SELECT task_id, state, duration FROM task_instance WHERE dag_id = 'socialrank_cosmos' "
            "AND run_id = (SELECT run_id FROM dag_run WHERE dag_id = 'socialrank_cosmos' "
            "ORDER BY id DESC LIMIT 1)"
        ).fetchall()
    finally:
        con.close()
    return [(task, state, float(duration or 0.0)) for task, state, duration in rows]


def run_cosmos_dag(env: dict[str, str], build: Path) -> dict[str, Any]:
    fresh_build_file(build)
    started = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "dags", "test", "socialrank_cosmos"],
        env=env, capture_output=True, text=True, check=False, timeout=1800,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    tasks = task_durations(Path(env["AIRFLOW_HOME"]))
    states: dict[str, int] = {}
    for _, state, _ in tasks:
        states[state] = states.get(state, 0) + 1
    failed = [task for task, state, _ in tasks if state == "failed"]
    errors = [line.strip() for line in (done.stdout + done.stderr).splitlines() if "Error:" in line]
    return {
        "returncode": done.returncode,
        "seconds": seconds,
        "tasks": len(tasks),
        "states": states,
        "task_seconds_sum": sum(duration for *_, duration in tasks),
        "task_seconds_median": statistics.median([duration for *_, duration in tasks]) if tasks else None,
        "failed": failed[:5],
        "first_error": errors[0] if errors else None,
    }


def hookless_project(scratch: Path) -> Path:
    """A copy of ``sql/`` without on-run-end hooks: with a task per model, dbt runs both hook lists in every
    task, and ``drop_build_scratch`` (DROP TABLE of the build's scratch models) fails in the first task."""
    project = scratch / "sql-per-task"
    shutil.copytree(PROJECT_DIR / "sql", project, ignore=shutil.ignore_patterns("target", "logs"))
    settings = project / "dbt_project.yml"
    text = settings.read_text(encoding="utf-8")
    start, end = text.index("on-run-end:"), text.index("\nmodels:")
    settings.write_text(text[:start] + "on-run-end: []\n" + text[end:], encoding="utf-8")
    return project


def parse(project: Path, env: dict[str, str]) -> None:
    """The manifest the DAG file renders its tasks from, written outside the project (as a deployment would
    ship it); ``dbt parse``."""
    target = Path(env["COSMOS_BENCH_MANIFEST"]).parent
    subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "parse", "--project-dir", str(project), "--profiles-dir",
         str(project), "--vars", env["COSMOS_BENCH_VARS"], "--target-path", str(target), "--log-path",
         str(target / "logs")],
        env=env, cwd=project, check=True, capture_output=True, text=True,
    )  # fmt: skip


def import_seconds(env: dict[str, str], repeats: int) -> list[float]:
    command = [sys.executable, "-c", IMPORT_TIME, str(DAG_FILE)]
    return [
        float(subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout.split()[-1])
        for _ in range(repeats)
    ]


def measure_cosmos(
    world: World, run_vars: dict[str, Any], scratch: Path, repeats: int, reference: Path
) -> dict[str, Any]:
    (scratch / "dags").mkdir(parents=True, exist_ok=True)
    shutil.copy2(DAG_FILE, scratch / "dags" / DAG_FILE.name)
    figures: dict[str, Any] = {}
    build = scratch / "cosmos" / "warehouse-build.duckdb"
    build.parent.mkdir(parents=True, exist_ok=True)
    env = airflow_env(scratch, world, PROJECT_DIR / "sql", run_vars, build)
    subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    # The project as it is: the hooks run in every task.
    parse(PROJECT_DIR / "sql", env)
    as_is = run_cosmos_dag(env, build)
    print(f"cosmos, sql/ as it is: rc {as_is['returncode']}, {as_is['states']}, {as_is['first_error']}")
    figures["project_as_is"] = as_is
    # A copy without on-run-end hooks (the scratch models are not dropped): the full build's timing.
    project = hookless_project(scratch)
    env = airflow_env(scratch, world, project, run_vars, build)
    parse(project, env)
    runs = []
    for _ in range(repeats):
        run = run_cosmos_dag(env, build)
        print(
            f"cosmos DAG: rc {run['returncode']} {run['seconds']:.2f}s,",
            f"{run['tasks']} tasks {run['states']},",
            f"task median {run['task_seconds_median']:.2f}s, sum {run['task_seconds_sum']:.2f}s",
        )
        runs.append(run)
    figures["per_task"] = {
        "median_seconds": median([run["seconds"] for run in runs]),
        "median_task_seconds": median([run["task_seconds_median"] for run in runs]),
        "runs": runs,
    }
    if all(run["returncode"] == 0 for run in runs):
        built, expected = table_checksums(build), table_checksums(reference)
        figures["per_task"]["tables_differing_from_dbt_run"] = [
            name for name in expected if name not in PYTHON_FILLED and built.get(name) != expected[name]
        ]
    # Import time of the DAG file: from a manifest, and with dbt ls (cold cache, then cached).
    figures["import_seconds"] = {"manifest": import_seconds(env, repeats)}
    shutil.rmtree(scratch / "cosmos-cache", ignore_errors=True)
    ls_env = {**env, "COSMOS_BENCH_LOAD": "dbt_ls"}
    figures["import_seconds"]["dbt_ls_cold"] = import_seconds(ls_env, 1)
    figures["import_seconds"]["dbt_ls_cached"] = import_seconds(ls_env, repeats)
    print(f"DAG file import: {figures['import_seconds']}", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", type=Path, help="a published sample world (tests.pipeline_runs.new_world)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if importlib.util.find_spec("cosmos") is None:
        print(
            "astronomer-cosmos is not installed (it is no dependency of socialrank): install it in a scratch "
            "environment (pip install astronomer-cosmos==1.15.1) to run this benchmark. Nothing measured."
        )
        return
    with tempfile.TemporaryDirectory(prefix="bench-cosmos-") as folder:
        scratch = Path(folder)
        world = World(args.world) if args.world else new_world(scratch / "world")
        if not args.world:
            run_ok(world)
        run_vars = build_vars(world.warehouse)
        run_date = str(run_vars["as_of"])
        figures: dict[str, Any] = {
            "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "cosmos": importlib.metadata.version("astronomer-cosmos"),
            "airflow": importlib.metadata.version("apache-airflow"),
            "dbt_core": importlib.metadata.version("dbt-core"),
            "models": None,
        }
        figures["engine"] = measure_engine(world, run_date, args.repeats)
        figures["dbt_run"] = measure_dbt_run(world, run_vars, scratch, args.repeats)
        reference = Path(figures["dbt_run"].pop("last_build"))  # a scratch file: not in the results
        figures["cosmos"] = measure_cosmos(world, run_vars, scratch, args.repeats, reference)
        per_task = figures["cosmos"]["per_task"]
        tasks = per_task["runs"][0]["tasks"] or 1
        figures["models"] = tasks
        figures["overhead_per_task_seconds"] = round(
            (per_task["median_seconds"] - figures["dbt_run"]["median_seconds"]) / tasks, 3
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"results: {RESULTS}")


if __name__ == "__main__":
    main()
