"""An analyst in a loop: opens the published warehouse read-only, checks it is one complete version, closes.

Run as ``python -m tests.analyst_probe WAREHOUSE STOP_FILE RESULT_JSON``; it stops when STOP_FILE exists and
writes what it saw: versions, queries made, and every error.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb


def probe(warehouse: Path, stop_file: Path) -> dict[str, object]:
    versions: list[str] = []
    errors: list[str] = []
    queries = 0
    while not stop_file.exists():
        if not warehouse.exists():
            time.sleep(0.05)
            continue
        try:
            con = duckdb.connect(str(warehouse), read_only=True)
            try:
                version = con.sql("SELECT version FROM meta.build_info").fetchone()
                mart, core = con.sql(
                    "SELECT (SELECT count(*) FROM mart.ranking_impact), "
                    "(SELECT count(*) FROM core.rankings_daily)"
                ).fetchone() or (None, None)
                queries += 1
                if version is None or mart != core or not mart:
                    errors.append(f"incomplete version {version}: mart {mart} rows, core {core} rows")
                elif not versions or versions[-1] != version[0]:
                    versions.append(str(version[0]))
            finally:
                con.close()
        except duckdb.Error as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.02)
    return {"versions": versions, "errors": errors, "queries": queries}


if __name__ == "__main__":
    warehouse_path, stop_path, result_path = (Path(arg) for arg in sys.argv[1:4])
    result_path.write_text(json.dumps(probe(warehouse_path, stop_path)))
