"""The gate's log is socialrank's own lines: Great Expectations' chatter goes to a file whose path is logged.

Airflow's task log takes every INFO record of the process; the gate runs here in its own process with
the root logger at INFO, as a task does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT_DIR

GATE_IN_A_PROCESS = """
import logging, sys
from pathlib import Path
from zoneinfo import ZoneInfo
logging.basicConfig(level=logging.INFO, format="%(name)s|%(message)s")
from pipeline import stages
from pipeline.config import DataRoot, Settings
data = DataRoot(Path(sys.argv[1]))
settings = Settings(data=data, owned_sites=("example.com",), timezone=ZoneInfo("America/Los_Angeles"))
stages.check(settings, Path(sys.argv[2]))
"""


def test_the_gate_logs_its_own_lines_and_puts_great_expectations_in_a_file(
    published_demo_world: Path, tmp_path: Path
) -> None:
    home = tmp_path / "data"
    shutil.copytree(published_demo_world / "data", home, ignore=shutil.ignore_patterns("gx", "reports"))
    build = home / "warehouse" / "builds" / "warehouse-gated.duckdb"
    build.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(home / "warehouse" / "warehouse.duckdb", build)

    gated = subprocess.run(
        [sys.executable, "-c", GATE_IN_A_PROCESS, str(home), str(build)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert gated.returncode == 0, gated.stderr[-3000:]
    lines = gated.stderr.splitlines()
    foreign = [line for line in lines if not line.startswith("pipeline.")]
    assert foreign == [], f"{len(foreign)} of {len(lines)} lines are not socialrank's: {foreign[:5]}"
    assert len(lines) < 20, lines
    library_log = home / "runs" / "gate-great-expectations.log"
    assert f"pipeline.gate|gate: Great Expectations' own log in {library_log}" in lines
    assert "great_expectations" in library_log.read_text(encoding="utf-8")
