"""docker-compose.yml has no engine to run on here: check its structure against the production shape."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT_DIR

FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
AIRFLOW_SERVICES = (
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "airflow-init",
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text())
    return loaded


def test_services_of_the_official_layout(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "redis", *AIRFLOW_SERVICES}


@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_every_airflow_service_shares_the_production_settings(compose: dict[str, Any], service: str) -> None:
    env = compose["services"][service]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "${AIRFLOW_JWT_SECRET:?set AIRFLOW_JWT_SECRET in .env}"
    assert env["AIRFLOW__API_AUTH__JWT_ISSUER"]
    # `${VAR:?message}`: compose refuses to start without a Fernet key (connection secrets encrypted).
    assert env["AIRFLOW__CORE__FERNET_KEY"].startswith("${AIRFLOW_FERNET_KEY:?")
    # Users log in through an auth manager meant for production (tests/test_airflow_celery.py runs it).
    assert env["AIRFLOW__CORE__AUTH_MANAGER"] == FAB_AUTH_MANAGER
    assert not any(name.startswith("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER") for name in env)
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].endswith("/execution/")
    assert env["SOCIALRANK_HOME"] == "/opt/socialrank/data"


@pytest.mark.parametrize("service", ["airflow-worker", "airflow-triggerer", "airflow-scheduler"])
def test_data_root_is_a_shared_volume(compose: dict[str, Any], service: str) -> None:
    assert "socialrank-data:/opt/socialrank/data" in compose["services"][service]["volumes"]
    assert "socialrank-data" in compose["volumes"]


def test_image_installs_the_project_with_the_constraints_file() -> None:
    dockerfile = (PROJECT_DIR / "Dockerfile").read_text()
    assert "--constraint constraints.txt" in dockerfile
    assert "apache/airflow:3.3.2-python3.12" in dockerfile


def test_init_job_runs_the_shared_init_script_and_the_ui_listens_on_loopback(compose: dict[str, Any]) -> None:
    """The init job runs airflow/init.sh (which the native production-shape test runs too), and compose
    refuses to start without the first admin's password."""
    init = compose["services"]["airflow-init"]
    assert init["command"] == ["/opt/socialrank/airflow/init.sh"]
    assert init["environment"]["AIRFLOW_ADMIN_PASSWORD"].startswith("${AIRFLOW_ADMIN_PASSWORD:?")
    script = (PROJECT_DIR / "airflow" / "init.sh").read_text()
    assert "set -euo pipefail" in script
    for step in (
        "airflow db migrate",
        "airflow pools import",
        "airflow connections import",
        "airflow users create",
    ):
        assert step in script
    assert compose["services"]["airflow-apiserver"]["ports"] == ["${AIRFLOW_BIND:-127.0.0.1}:8080:8080"]


def test_make_airflow_binds_loopback_unless_told_otherwise() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert "AIRFLOW_HOST ?= 127.0.0.1" in makefile
    assert "AIRFLOW__API__HOST=$(AIRFLOW_HOST)" in makefile


@pytest.mark.parametrize("service", AIRFLOW_SERVICES)
def test_every_airflow_service_reads_the_users_own_configuration(
    compose: dict[str, Any], service: str
) -> None:
    """The user's socialrank.toml (`socialrank init`) is mounted, never baked in; compose does not start
    without it (no folder created in its place)."""
    definition = compose["services"][service]
    assert definition["environment"]["SOCIALRANK_CONFIG"] == "/opt/socialrank/socialrank.toml"
    assert {
        "type": "bind",
        "source": "./socialrank.toml",
        "target": "/opt/socialrank/socialrank.toml",
        "read_only": True,
        "bind": {"create_host_path": False},
    } in definition["volumes"]
    assert "COPY --chown=airflow:root socialrank.toml" not in (PROJECT_DIR / "Dockerfile").read_text()


def test_make_run_names_the_sample_configuration_and_nothing_else_does() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text()
    assert "SAMPLE_CONFIG := $(CURDIR)/sample/socialrank.toml" in makefile
    assert "run: export SOCIALRANK_CONFIG := $(SAMPLE_CONFIG)" in makefile
    assert makefile.count("SOCIALRANK_CONFIG :=") + makefile.count("SOCIALRANK_CONFIG ?=") == 1
