"""A wheel built from the repository runs the whole pipeline from a plain (non-editable) install: SQL models,
expectation suites, Data Docs assets and the sample-data generator travel as package data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_DIR, SAMPLE_CONFIG, SAMPLE_DELIVERIES

UV = Path(sys.executable).with_name("uv")


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_wheel_runs_the_pipeline_from_a_fresh_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(dist), str(PROJECT_DIR)],
        check=True, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = dist.glob("socialrank-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([UV, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    subprocess.run(
        [UV, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
         "--constraint", str(PROJECT_DIR / "constraints.txt"), str(wheel)],
        check=True,
    )  # fmt: skip
    user = tmp_path / "user"
    user.mkdir()
    shutil.copy(SAMPLE_CONFIG, user / "socialrank.toml")
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SOCIALRANK_", "PYTHON", "VIRTUAL_ENV"))
    } | {"SOCIALRANK_HOME": str(user / "data"), "GX_ANALYTICS_ENABLED": "False"}

    def socialrank(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "socialrank"), *arguments],
            cwd=user, env=environment, capture_output=True, text=True, check=False,
        )  # fmt: skip

    version = socialrank("--version")
    assert version.returncode == 0 and version.stdout.startswith("socialrank 0."), version
    demo = socialrank("demo-data", "--json")
    assert demo.returncode == 0, demo.stderr
    assert len(json.loads(demo.stdout)["files"]) == SAMPLE_DELIVERIES
    run = socialrank("run", "--date", "2026-11-01", "--json")
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)  # the one JSON document, no tables mixed in
    assert summary["gate"]["success"] is True
    installed = next((venv / "lib").glob("python*/site-packages/pipeline"))
    assert not (installed / "sql").is_symlink() and (installed / "sql" / "dbt_project.yml").is_file()
    assert (installed / "sql" / "macros" / "duckdb_macros.sql").is_file()
    assert (installed / "sql" / "macros" / "materializations" / "ddl.sql").is_file()  # the whole dbt project
    assert (installed / "sql" / "models" / "staging" / "sources.yml").is_file()
    assert (installed / "sql" / "models" / "core" / "schema.yml").is_file()  # the build comments with it
    assert (user / "data" / "warehouse" / "warehouse.duckdb").is_file()
    # The report's lineage docs: dbt run on the installed project, nothing written beside it.
    assert (installed / "sql" / "models" / "overview.md").is_file()
    assert (user / "data" / "reports" / "dbt_docs" / "index.html").is_file()
    assert not (installed / "sql" / "target").exists() and not (installed / "sql" / "logs").exists()
