"""DAG file import time (SPEC section 9: every DAG file imports in under 0.5 s).

What the dag-processor pays per parse: Airflow itself is already loaded, then the DAG file is executed.
Each file is measured in a fresh process (so no module of the file's own imports is cached from an
earlier run), ``--repeats`` times; the report keeps the median and the slowest. Baseline, run side by
side: an empty DAG file (``airflow.sdk`` import and one ``@dag`` with one task), so the figure also
reads as a ratio over the least any DAG file costs.

Run: ``.venv/bin/python bench/bench_dags.py`` (part of ``make bench``); results: ``bench/results/dags.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results" / "dags.json"
TARGET_SECONDS = 0.5
EMPTY_DAG = """
from airflow.sdk import dag, task


@dag(schedule=None)
def empty() -> None:
    @task
    def nothing() -> None:
        pass

    nothing()


empty()
"""
MEASURE = """
import runpy, sys, time
import airflow.sdk  # loaded before the clock starts, as in the dag-processor
started = time.perf_counter()
runpy.run_path(sys.argv[1])
print(time.perf_counter() - started)
"""


def import_seconds(path: Path, env: dict[str, str]) -> float:
    completed = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], check=True, capture_output=True, text=True, env=env
    )
    return float(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **os.environ,
            "AIRFLOW_HOME": scratch,
            "SOCIALRANK_HOME": str(Path(scratch) / "data"),
            "SOCIALRANK_PROJECT_DIR": str(PROJECT),
            "PYTHONPATH": str(PROJECT),
        }
        empty = Path(scratch) / "empty_dag.py"
        empty.write_text(EMPTY_DAG, encoding="utf-8")
        files = {"baseline: empty DAG": empty} | {
            path.name: path for path in sorted((PROJECT / "dags").glob("*.py"))
        }
        figures = {}
        for name, path in files.items():
            times = [import_seconds(path, env) for _ in range(args.repeats)]
            figures[name] = {"median_seconds": statistics.median(times), "max_seconds": max(times)}
            print(
                f"{name}: median {figures[name]['median_seconds']:.3f} s, max {max(times):.3f} s", flush=True
            )
    baseline = figures["baseline: empty DAG"]["median_seconds"]
    dag_files = {name: f for name, f in figures.items() if not name.startswith("baseline")}
    for figure in dag_files.values():
        figure["ratio_to_empty_dag"] = figure["median_seconds"] / baseline
    slowest = max(figure["max_seconds"] for figure in dag_files.values())
    report = {
        "benchmark": "DAG file import time",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "repeats": args.repeats,
        "files": figures,
        "checks": {
            "slowest_import": {
                "value": slowest,
                "target_below": TARGET_SECONDS,
                "met": slowest < TARGET_SECONDS,
            }
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"slowest DAG file import {slowest:.3f} s (target < {TARGET_SECONDS} s); written to {RESULTS}")


if __name__ == "__main__":
    main()
