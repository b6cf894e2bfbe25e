"""``airflow dags test DAG`` for a person at a terminal: socialrank's own lines, Airflow's in a file.

Airflow's test run prints every task's scaffolding (state updates, XCom pushes, rendered fields, return
values of a thousand characters, import warnings) beside socialrank's own log lines. This runs it with
all of that written to ``LOG`` and shows, one line each, when a task starts and how it ended, socialrank's
own log lines (its loggers are ``pipeline.*``), and every warning or error, whoever wrote it. The exit
code is Airflow's. Used by ``make run``.

Run: ``python tools/dag_test.py DAG_ID --log FILE``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Airflow 3's console lines: "<time> [<level>] <message> [<logger>] key=value ...".
_LINE = re.compile(r"^\S+ \[(?P<level>\w+)\s*\] (?P<message>.*?)\s+\[(?P<logger>[\w.]+)\](?P<fields>.*)$")
_TASK = re.compile(r"\[DAG TEST\] (?P<what>starting|end task) task_id=(?P<task>\w+)")
_STATE = re.compile(r"new_state=(?P<state>\w+)")


def shown(line: str) -> str | None:
    """What a person sees of one line of Airflow's output, or ``None``."""
    match = _LINE.match(line)
    if match is None:
        return None
    level, message, logger = match["level"], match["message"], match["logger"]
    task = _TASK.search(message)
    if task:
        return f"task {task['task']}: started" if task["what"] == "starting" else None
    state = _STATE.search(match["fields"])
    if message == "Task instance state updated" and state and state["state"] != "running":
        return f"  -> {state['state']}"
    if logger.startswith("pipeline."):
        return f"  {message}" if level == "info" else f"  {level.upper()}: {message}"
    if level in ("error", "critical"):
        return f"  {level.upper()} ({logger}): {message}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dag_id")
    parser.add_argument("--log", type=Path, required=True, help="where Airflow's whole output goes")
    args = parser.parse_args()
    airflow = shutil.which("airflow", path=str(Path(sys.executable).parent)) or "airflow"
    args.log.parent.mkdir(parents=True, exist_ok=True)
    print(f"airflow dags test {args.dag_id} (Airflow's whole output: {args.log})", flush=True)
    with args.log.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [airflow, "dags", "test", args.dag_id],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            if (text := shown(line.rstrip("\n"))) is not None:
                print(text, flush=True)
        code = process.wait()
    if code:
        print(f"the DAG run failed (exit {code}); Airflow's whole output: {args.log}", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
