"""DAG integrity: the files import cleanly, cheaply, and carry the settings operators rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR, SAMPLE_CONFIG

DAGS_DIR = PROJECT_DIR / "dags"
HEAVY_MODULES = ("duckdb", "pyarrow", "great_expectations", "pandas", "numpy", "sqlalchemy_utils")


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory):
    from airflow.dag_processing.dagbag import DagBag

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOCIALRANK_HOME", str(tmp_path_factory.mktemp("home")))
        patch.setenv("SOCIALRANK_CONFIG", str(SAMPLE_CONFIG))
        return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"socialrank_nightly", "socialrank_ingest_events"}


def test_tags_docs_and_retries(dagbag) -> None:
    for dag in dagbag.dags.values():
        assert "socialrank" in dag.tags
        assert dag.doc_md and len(dag.doc_md) > 100
        for task in dag.tasks:
            if task.task_id == "sources_succeeded":
                assert task.retries == 0, "it only reads the states of the run's fetchers"
            else:
                assert task.retries >= 2, f"{dag.dag_id}.{task.task_id} retries {task.retries}"
            assert task.on_failure_callback, f"{dag.dag_id}.{task.task_id} has no failure callback"


def test_nightly_pipeline_order_and_pools(dagbag) -> None:
    dag = dagbag.dags["socialrank_nightly"]
    order = {task.task_id: sorted(task.downstream_task_ids) for task in dag.tasks}
    assert order == {
        "partition": ["build_gate_publish", "crawl", "fetch_ga4", "fetch_search_console", "ingest"],
        "fetch_search_console": ["ingest"],
        "fetch_ga4": ["ingest"],
        "ingest": ["build_gate_publish", "crawl"],
        "crawl": ["build_gate_publish"],
        # Build, gate and publish are one task: one unit under the writer lock, whatever the run type.
        "build_gate_publish": ["report", "sources_succeeded"],
        "report": [],
        "sources_succeeded": [],
    }
    pools = {task.task_id: task.pool for task in dag.tasks}
    assert pools["build_gate_publish"] == "socialrank_warehouse_writer"
    assert pools["ingest"] == "socialrank_lake_writer"
    assert pools["crawl"] == pools["fetch_search_console"] == pools["fetch_ga4"] == "socialrank_crawler"
    # A skipped or failed fetcher (a source not configured, or refusing) must not stop what follows it.
    rules = {task.task_id: task.trigger_rule for task in dag.tasks}
    assert rules["ingest"] == rules["crawl"] == rules["build_gate_publish"] == "all_done"
    assert rules["sources_succeeded"] == "all_done" and rules["report"] == "all_success"
    assert "03:30 America/Los_Angeles" in (dag.description or "")
    assert "run_date" in dag.params
    declared = json.loads((PROJECT_DIR / "airflow" / "pools.json").read_text())
    assert set(declared) == {pool for pool in pools.values() if pool != "default_pool"}


def test_event_dag_is_scheduled_by_the_sentinel_watcher(dagbag) -> None:
    dag = dagbag.dags["socialrank_ingest_events"]
    assets = list(dag.timetable.asset_condition.objects)
    assert [asset.name for asset in assets] == ["socialrank_landing"]
    watcher = assets[0].watchers[0]
    assert type(watcher.trigger).__name__ == "ReadySentinelTrigger"


def _import_probe(dag_file: str) -> str:
    """A script that imports one DAG file and prints the modules that import loaded."""
    return (
        "import importlib.util, json, sys\n"
        "import airflow.sdk\n"
        "before = set(sys.modules)\n"
        f"spec = importlib.util.spec_from_file_location('dag_under_test', {str(DAGS_DIR / dag_file)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )


@pytest.mark.parametrize("dag_file", sorted(p.name for p in DAGS_DIR.glob("*.py")))
def test_dag_files_import_no_heavy_libraries(dag_file: str, tmp_path: Path) -> None:
    """Parsing a DAG file must stay cheap: the data libraries load inside tasks, not at parse time."""
    result = subprocess.run(
        [sys.executable, "-c", _import_probe(dag_file)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env={
            "SOCIALRANK_HOME": str(tmp_path),
            "SOCIALRANK_CONFIG": str(SAMPLE_CONFIG),
            "PATH": "/usr/bin:/bin",
        },
    )
    added = json.loads(result.stdout.strip().splitlines()[-1])
    heavy = sorted({name.split(".")[0] for name in added} & set(HEAVY_MODULES))
    assert heavy == [], f"{dag_file} imports {heavy} at parse time"


@pytest.mark.parametrize("dag_file", sorted(p.name for p in DAGS_DIR.glob("*.py")))
def test_dag_files_without_a_configuration_fail_to_load_naming_init(dag_file: str, tmp_path: Path) -> None:
    """No socialrank.toml anywhere: the DAG does not load (an import error in Airflow's UI) and says how
    to write one, rather than run every night for a made-up site."""
    result = subprocess.run(
        [sys.executable, "-c", _import_probe(dag_file)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={"SOCIALRANK_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    assert "ConfigError: no configuration found" in result.stderr
    assert "socialrank init --site" in result.stderr


def test_every_lake_dataset_has_an_asset_and_the_tasks_that_write_it_declare_it(dagbag) -> None:
    from pipeline.orchestration.airflow_support import CRAWLED_DATASETS, INGESTED_DATASETS, LAKE_ASSETS
    from pipeline.schemas import ALL_DATASETS

    assert set(LAKE_ASSETS) == {dataset.name for dataset in ALL_DATASETS}
    nightly = dagbag.dags["socialrank_nightly"]
    outlets = {task.task_id: {asset.uri for asset in task.outlets} for task in nightly.tasks}
    assert outlets["ingest"] == {f"socialrank://lake/{name}" for name in INGESTED_DATASETS}
    assert outlets["crawl"] == {f"socialrank://lake/{name}" for name in CRAWLED_DATASETS}
    assert outlets["build_gate_publish"] == {"socialrank://warehouse/published"}


def test_a_manual_run_a_nightly_run_and_a_backfill_of_a_day_process_that_day() -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from pipeline.stages import partition_date

    site = ZoneInfo("America/Los_Angeles")
    day = dt.date(2026, 10, 30)
    cron_start = dt.datetime(2026, 10, 30, 3, 30, tzinfo=site)
    # The nightly run for D and a backfill of D: logical date D 03:30, data interval D 03:30 .. D+1 03:30.
    assert partition_date(cron_start, cron_start, None, site) == day
    # A manual run with logical date D (any time that day): its inferred interval starts the day before.
    for hour in (0, 12, 23):
        logical = dt.datetime(2026, 10, 30, hour, tzinfo=site)
        assert partition_date(logical, cron_start - dt.timedelta(days=1), None, site) == day
    # Airflow's UTC logical dates are read in the site's zone.
    assert partition_date(dt.datetime(2026, 10, 31, 6, tzinfo=dt.UTC), None, None, site) == day
    # A manual run without a logical date: the last complete interval, like the nightly run.
    assert partition_date(None, cron_start, None, site) == day
    assert partition_date(None, None, "2026-10-30", site) == day
