"""The production shape run natively: CeleryExecutor, metadata on the local PostgreSQL, broker on the local
Redis, two Celery workers, scheduler, dag-processor, triggerer and api-server as processes, with the auth
manager docker-compose.yml configures and the admin its init script creates."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import pytest
import requests
import yaml

from socialrank_demo.sample import write_demo_landing
from tests.airflow_cluster import REDIS_URL, AirflowCluster, postgres_database, running_cluster
from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.airflow
NIGHTLY = "socialrank_nightly"


def compose_auth_manager() -> str:
    compose = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())
    return str(compose["x-airflow-common"]["environment"]["AIRFLOW__CORE__AUTH_MANAGER"])


def test_nightly_dag_succeeds_on_celery_workers(tmp_path: Path) -> None:
    write_demo_landing(tmp_path / "data" / "landing")
    broker = f"{REDIS_URL}/{secrets.randbelow(8) + 8}"
    password = secrets.token_urlsafe(12)
    with postgres_database() as database_url:
        cluster = AirflowCluster(
            home=tmp_path / "airflow",
            data_root=tmp_path / "data",
            executor="CeleryExecutor",
            database_url=database_url,
            broker_url=broker,
            workers=2,
            admin=("ops-admin", password),
            extra_env={"AIRFLOW__CORE__AUTH_MANAGER": compose_auth_manager()},
        )
        with running_cluster(cluster):
            # Nobody gets in without logging in, and only with the right password.
            assert requests.get(f"{cluster.base_url}/api/v2/dags", timeout=10).status_code == 401
            wrong = {"username": "ops-admin", "password": password + "x"}
            assert requests.post(f"{cluster.base_url}/auth/token", json=wrong, timeout=10).status_code == 401
            cluster.wait_for_dag(NIGHTLY)
            cluster.unpause(NIGHTLY)
            run = cluster.api(
                "POST",
                f"/dags/{NIGHTLY}/dagRuns",
                json={"logical_date": None, "conf": {"run_date": "2026-11-01"}},
            )
            deadline = time.monotonic() + 900
            state = run["state"]
            while time.monotonic() < deadline and state not in ("success", "failed"):
                time.sleep(3)
                state = cluster.api("GET", f"/dags/{NIGHTLY}/dagRuns/{run['dag_run_id']}")["state"]
            assert state == "success"
            tasks = cluster.task_instances(NIGHTLY, run["dag_run_id"])
            ran = {t["task_id"]: t for t in tasks if t["state"] == "success"}
            assert {"ingest", "build_gate_publish", "report", "sources_succeeded"} <= ran.keys()
            assert all(t["queue"] == "default" and t["hostname"] for t in ran.values())
            worker_logs = [(cluster.logs / f"worker-{n}.log").read_text() for n in range(2)]
            assert all("ready" in log.lower() for log in worker_logs)
    manifest = json.loads((tmp_path / "data" / "warehouse" / "published.json").read_text())
    assert manifest["run_date"] == "2026-11-01" and manifest["gate"]["success"] is True
