"""The nightly DAG end to end through a real Airflow: ``airflow dags test`` on SQLite metadata."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from socialrank_demo.sample import write_demo_landing
from tests.conftest import PROJECT_DIR, SAMPLE_CONFIG, SAMPLE_DELIVERIES
from tools.dag_test import shown

pytestmark = pytest.mark.airflow
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow-e2e")
    env = {
        **os.environ,
        "SOCIALRANK_HOME": str(home / "data"),
        "SOCIALRANK_PROJECT_DIR": str(PROJECT_DIR),
        "SOCIALRANK_CONFIG": str(SAMPLE_CONFIG),
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "GX_ANALYTICS_ENABLED": "False",
    }
    write_demo_landing(home / "data" / "landing")
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    subprocess.run(
        [AIRFLOW, "pools", "import", str(PROJECT_DIR / "airflow" / "pools.json")],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        [AIRFLOW, "connections", "import", "--overwrite", str(PROJECT_DIR / "airflow" / "connections.json")],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return env


def _dags_test(env: dict[str, str], dag_id: str, *extra: str) -> str:
    result = subprocess.run(
        [AIRFLOW, "dags", "test", dag_id, *extra], env=env, capture_output=True, text=True, timeout=600
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def test_nightly_dag_runs_every_stage_and_publishes(airflow_env: dict[str, str]) -> None:
    output = _dags_test(airflow_env, "socialrank_nightly", "--conf", json.dumps({"run_date": "2026-11-01"}))
    assert "state=success" in output
    for task_id in ("partition", "ingest", "build_gate_publish", "report", "sources_succeeded"):
        assert f"[DAG TEST] end task task_id={task_id}" in output
    data = Path(airflow_env["SOCIALRANK_HOME"])
    manifest = json.loads((data / "warehouse" / "published.json").read_text())
    assert manifest["run_date"] == "2026-11-01" and manifest["gate"]["success"] is True
    assert manifest["row_counts"]["mart.ranking_impact"] > 0
    assert (data / "reports" / "socialrank-report.html").exists()

    # What `make run` shows of the same output (tools/dag_test.py): a line per task, its outcome and
    # socialrank's own lines; none of Airflow's scaffolding or warnings a user cannot act on.
    view = [text for line in output.splitlines() if (text := shown(line)) is not None]
    for task_id in ("partition", "ingest", "build_gate_publish", "report", "sources_succeeded"):
        assert f"task {task_id}: started" in view
    assert view.count("  -> success") >= 5 and any(text.startswith("  gate passed") for text in view)
    assert len(view) < 80 and len(output.splitlines()) > 2 * len(view)
    assert not [text for text in view if "Returned value" in text or "graphviz" in text or "httpx" in text]


def test_the_connections_file_defines_search_console_without_secrets(airflow_env: dict[str, str]) -> None:
    listed = subprocess.run(
        [AIRFLOW, "connections", "get", "google_search_console", "-o", "json"],
        env=airflow_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    connection = json.loads(listed.stdout)[0]
    assert connection["conn_type"] == "google_cloud_platform"
    assert not connection.get("password") and json.loads(connection.get("extra") or "{}") == {}


def test_event_driven_ingest_dag_runs_and_finds_nothing_new(airflow_env: dict[str, str]) -> None:
    output = _dags_test(airflow_env, "socialrank_ingest_events")
    assert "state=success" in output
    assert f"0 ingested, {SAMPLE_DELIVERIES} duplicates" in output  # all ingested by the nightly test
