"""A real Airflow for tests: api-server, scheduler, dag-processor, triggerer (and Celery workers).

Metadata on SQLite with the LocalExecutor (the embedded default) or on the local PostgreSQL with the
CeleryExecutor and the local Redis as broker (the production shape of ``docker-compose.yml``).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.conftest import PROJECT_DIR, SAMPLE_CONFIG

BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
TERMINAL_STATES = {"success", "failed"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class AirflowCluster:
    home: Path
    data_root: Path
    executor: str = "LocalExecutor"
    database_url: str | None = None
    broker_url: str | None = None
    workers: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)
    admin: tuple[str, str] | None = None
    """A user and password ``airflow/init.sh`` creates and the API client logs in with (an auth manager with
    users, set in ``extra_env``); None: the simple auth manager, everyone an admin."""
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _token: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "SOCIALRANK_HOME": str(self.data_root),
            "SOCIALRANK_PROJECT_DIR": str(PROJECT_DIR),
            "SOCIALRANK_CONFIG": str(SAMPLE_CONFIG),
            "GX_ANALYTICS_ENABLED": "False",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_DIR / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": self.executor,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self._log_port),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self._trigger_log_port),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__PARALLELISM": "4",
        }
        if self.database_url:
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = self.database_url
        if self.broker_url:
            env["AIRFLOW__CELERY__BROKER_URL"] = self.broker_url
            env["AIRFLOW__CELERY__RESULT_BACKEND"] = "db+" + str(self.database_url)
            env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] = "2"
        if self.admin:
            env["AIRFLOW_ADMIN_USERNAME"], env["AIRFLOW_ADMIN_PASSWORD"] = self.admin
        env.update(self.extra_env)
        return env

    def __post_init__(self) -> None:
        self._jwt_secret = secrets.token_urlsafe(32)
        self._log_port = free_port()
        self._trigger_log_port = free_port()
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs = self.home / "process-logs"
        self.logs.mkdir(exist_ok=True)

    def cli(self, *args: str, timeout: float = 300) -> str:
        result = subprocess.run(
            [AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def _start(self, name: str, *args: str) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self.processes.append(
            subprocess.Popen(
                [AIRFLOW, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        )

    def start(self) -> None:
        # The compose file's init job: schema, pools, connections (and the admin user).
        init = subprocess.run(
            ["bash", str(PROJECT_DIR / "airflow" / "init.sh")],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if init.returncode != 0:
            raise RuntimeError(f"airflow/init.sh failed:\n{init.stdout[-3000:]}\n{init.stderr[-3000:]}")
        self._start("api-server", "api-server", "--port", str(self.port))
        self._start("scheduler", "scheduler")
        self._start("dag-processor", "dag-processor")
        self._start("triggerer", "triggerer")
        for number in range(self.workers):
            self._start(
                f"worker-{number}",
                "celery",
                "worker",
                "--concurrency",
                "2",
                "--celery-hostname",
                f"socialrank-worker-{number}@%h",
            )
        self._wait_for_api()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def _wait_for_api(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if requests.get(f"{self.base_url}/api/v2/version", timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(1)
        raise TimeoutError(f"the API server did not answer within {timeout}s; logs in {self.logs}")

    def _check_alive(self) -> None:
        for process in self.processes:
            if process.poll() is not None:
                raise RuntimeError(f"{process.args!r} exited with {process.returncode}; logs in {self.logs}")

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            if self.admin:
                username, password = self.admin
                response = requests.post(
                    f"{self.base_url}/auth/token",
                    json={"username": username, "password": password},
                    timeout=10,
                )
            else:
                response = requests.get(f"{self.base_url}/auth/token", timeout=10)
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(
            method, f"{self.base_url}/api/v2{path}", headers=self._headers(), timeout=30, **kwargs
        )
        if not response.ok:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:2000]}")
        return response.json() if response.content else None

    def asset_events(self, uri: str, dag_id: str) -> list[dict[str, Any]]:
        """Every event of one asset that ``dag_id`` produced, by time (filtered by the asset's id:
        a page of all the DAG's events fills up with those of its other assets)."""
        assets = self.api("GET", "/assets", params={"uri_pattern": uri, "limit": 100})["assets"]
        (asset_id,) = [asset["id"] for asset in assets if asset["uri"] == uri]
        events: list[dict[str, Any]] = self.api(
            "GET",
            "/assets/events",
            params={"asset_id": asset_id, "source_dag_id": dag_id, "limit": 100},
        )["asset_events"]
        return events

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                self.api("GET", f"/dags/{dag_id}")
                return
            except RuntimeError:
                time.sleep(2)
        raise TimeoutError(f"{dag_id} was not parsed within {timeout}s")

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})[
            "dag_runs"
        ]
        return runs

    def wait_for_runs(
        self, dag_id: str, count: int, run_type: str | None = None, timeout: float = 900
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` runs (of ``run_type``) have finished; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            runs = [r for r in self.dag_runs(dag_id) if run_type is None or r["run_type"] == run_type]
            if len(runs) >= count and all(r["state"] in TERMINAL_STATES for r in runs):
                return runs
            time.sleep(3)
        raise TimeoutError(
            f"{dag_id}: {count} {run_type or ''} runs did not finish within {timeout}s: "
            f"{[(r['dag_run_id'], r['state']) for r in self.dag_runs(dag_id)]}"
        )

    def backfill(self, body: dict[str, Any], timeout: float = 900) -> dict[str, Any]:
        """Create a backfill and wait until Airflow marks it completed."""
        created: dict[str, Any] = self.api("POST", "/backfills", json=body)
        return self.wait_for_backfill(created["id"], timeout)

    def wait_for_backfill(self, backfill_id: int, timeout: float = 900) -> dict[str, Any]:
        """Wait until Airflow marks the backfill completed (a DAG takes no new backfill before that)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            current: dict[str, Any] = self.api("GET", f"/backfills/{backfill_id}")
            if current["completed_at"]:
                return current
            time.sleep(3)
        raise TimeoutError(f"backfill {backfill_id} did not complete within {timeout}s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")[
            "task_instances"
        ]
        return found


POSTGRES_ADMIN_URL = os.environ.get(
    "SOCIALRANK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("SOCIALRANK_TEST_REDIS", "redis://127.0.0.1:6379")


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the local PostgreSQL, dropped afterwards; yields its SQLAlchemy URL."""
    import psycopg2

    name = f"socialrank_airflow_{secrets.token_hex(4)}"
    admin = psycopg2.connect(POSTGRES_ADMIN_URL)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')  # a generated identifier, not data
        yield (
            POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://")
            + f"/{name}"
        )
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


@contextmanager
def running_cluster(cluster: AirflowCluster) -> Iterator[AirflowCluster]:
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
