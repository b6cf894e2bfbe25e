"""A cosmos DbtDag over ``sql/``: one Airflow task per model (bench/bench_cosmos.py runs it; not a DAG of the
project, and not in ``dags/``). Written for astronomer-cosmos 1.15.1 on Airflow 3.3 (``airflow.sdk``).

Local execution (``ExecutionMode.LOCAL``, dbt in the task's process through ``dbtRunner``), the committed
profile (``sql/profiles.yml``: its ``SOCIALRANK_BUILD_PATH`` and ``SOCIALRANK_HOME`` come from the
environment), no dbt tests. Set by the benchmark through the environment:

- ``COSMOS_BENCH_PROJECT``: the dbt project folder (``sql/`` or a copy of it);
- ``COSMOS_BENCH_VARS``: the run's vars, JSON (what ``dbt run --vars`` takes);
- ``COSMOS_BENCH_LOAD``: ``manifest`` (parse from ``COSMOS_BENCH_MANIFEST``, a manifest.json ``dbt parse``
  wrote) or ``dbt_ls`` (cosmos runs ``dbt ls`` when the file is parsed, cached under its cache dir);
- ``COSMOS_BENCH_MODE``: ``local`` (a ``dbt run --select <model>`` per task) or ``watcher`` (one ``dbt build``
  in a producer task, a sensor per model that reports its result).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

from cosmos import DbtDag, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

PROJECT = Path(os.environ.get("COSMOS_BENCH_PROJECT", Path(__file__).resolve().parents[1] / "sql"))
RUN_VARS = json.loads(os.environ.get("COSMOS_BENCH_VARS", "{}"))
LOAD = os.environ.get("COSMOS_BENCH_LOAD", "manifest")
MANIFEST = os.environ.get("COSMOS_BENCH_MANIFEST")
MODE = ExecutionMode.WATCHER if os.environ.get("COSMOS_BENCH_MODE") == "watcher" else ExecutionMode.LOCAL

socialrank_cosmos = DbtDag(
    dag_id="socialrank_cosmos",
    schedule=None,
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    project_config=ProjectConfig(
        dbt_project_path=PROJECT,
        manifest_path=MANIFEST if LOAD == "manifest" else None,
        install_dbt_deps=False,
        dbt_vars=RUN_VARS,
    ),
    profile_config=ProfileConfig(
        profile_name="socialrank", target_name="build", profiles_yml_filepath=PROJECT / "profiles.yml"
    ),
    execution_config=ExecutionConfig(
        execution_mode=MODE,
        invocation_mode=InvocationMode.DBT_RUNNER,
        dbt_executable_path=str(Path(sys.executable).with_name("dbt")),
    ),
    render_config=RenderConfig(
        load_method=LoadMode.DBT_MANIFEST if LOAD == "manifest" else LoadMode.DBT_LS,
        test_behavior=TestBehavior.NONE,
    ),
    default_args={"retries": 0},
)
