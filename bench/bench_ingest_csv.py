"""Rank-tracker CSV ingest benchmark: 5,000,000 rows (425 MB), against DuckDB's best.

One generated export in the generic rank-tracker layout (``date,keyword,url,position,search_volume``;
a year of days, about 13,700 tracked keywords a day, 3,000 distinct URLs each with a tracking
parameter, one row in twenty "not ranked" with an empty position) is ingested by three contenders,
each a whole process launched in turn and timed from launch to exit (interpreter start and imports
included), ``--repeats`` times; medians are compared:

1. ``socialrank``: the real ingest (``run_ingest``): content hash, encoding and format detection,
   parse, validation, URL canonicalisation, date-partitioned Parquet writes, ledger.
2. ``duckdb``: what an expert writes with DuckDB: ``read_csv`` with the columns given, insertion
   order not preserved, written as zstd Parquet partitioned by month as socialrank's lake is, all cores.
3. ``duckdb_daily``: the same partitioned by day (365 folders), reported beside it.

Target: socialrank's throughput at least 0.5x DuckDB's. The time inside each process's timed region
is reported too. Run: ``.venv/bin/python bench/bench_ingest_csv.py`` (part of ``make bench-ingest``;
``--rows N`` for a smaller run). Results: ``bench/results/ingest_csv.json``. The file is cached in
``--workdir`` between runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results" / "ingest_csv.json"
DEFAULT_WORKDIR = Path(os.environ.get("TMPDIR", "/tmp")) / "socialrank-bench-ingest-csv"
TARGET_VS_DUCKDB = 0.5
DAYS = 365
URLS = 3_000
FIRST_DAY = dt.date(2025, 11, 1)
WORDS = [
    "coffee",
    "grinder",
    "espresso",
    "beans",
    "roast",
    "brew",
    "filter",
    "kettle",
    "pour",
    "over",
    "french",
    "press",
    "cold",
    "brew",
    "latte",
    "decaf",
    "arabica",
    "robusta",
    "burr",
    "scale",
    "milk",
    "frother",
    "descaler",
    "capsule",
    "pod",
    "machine",
    "home",
    "best",
    "cheap",
    "review",
]


def generate(path: Path, rows: int, seed: int = 11) -> None:
    """The export, written column-wise (numpy + Arrow's CSV writer): sorted by day, as trackers append."""
    marker = path.with_suffix(f".{rows}-{seed}.done")
    if marker.exists():
        return
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    shutil.rmtree(path.parent, ignore_errors=True)
    path.parent.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    per_day = -(-rows // DAYS)
    keywords = pa.array(
        [f"{WORDS[i % len(WORDS)]} {WORDS[(i // len(WORDS)) % len(WORDS)]} {i}" for i in range(per_day)]
    )
    urls = pa.array([f"https://www.site{n % 40}.example/p/{n}?utm_source=rt" for n in range(URLS)])
    day_index = np.arange(rows) // per_day
    keyword_index = np.arange(rows) % per_day
    days = pa.array([(FIRST_DAY + dt.timedelta(days=int(d))).isoformat() for d in range(DAYS)])
    positions = rng.integers(1, 101, rows).astype(str).astype(object)
    positions[rng.random(rows) < 0.05] = ""  # not ranked that day
    table = pa.table(
        {
            "date": days.take(pa.array(day_index)),
            "keyword": keywords.take(pa.array(keyword_index)),
            # Each keyword ranks with one of a few pages of its own.
            "url": urls.take(pa.array((keyword_index * 7 + rng.integers(0, 3, rows)) % URLS)),
            "position": pa.array(positions, pa.string()),
            "search_volume": pc.cast(pa.array(rng.integers(10, 50_000, rows)), pa.string()),
        }
    )
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="none"))
    marker.write_text(json.dumps({"rows": rows, "seed": seed}))


def run_socialrank(workdir: Path) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    from pipeline.config import DataRoot, Settings
    from pipeline.ingest import run_ingest

    data = DataRoot(workdir / "socialrank-data")
    shutil.rmtree(data.root, ignore_errors=True)
    data.ensure()
    landing = data.landing / "rankings" / "tracker"
    landing.mkdir(parents=True)
    os.link(workdir / "export" / "positions.csv", landing / "positions.csv")  # landed without a copy
    settings = Settings(data=data, owned_sites=("site1.example",), timezone=ZoneInfo("UTC"))
    started = time.perf_counter()
    report = run_ingest(settings)
    seconds = time.perf_counter() - started
    (result,) = report.results
    if result.status != "ingested":
        raise RuntimeError(f"ingest failed: {result.message}")
    return {"inner_seconds": seconds, "rows": result.counts["ranking"], "quarantined": result.quarantined}


def _duckdb(workdir: Path, by_month: bool) -> dict[str, Any]:
    import duckdb

    target = workdir / "duckdb-lake"
    shutil.rmtree(target, ignore_errors=True)
    con = duckdb.connect()
    started = time.perf_counter()
    con.execute("SET preserve_insertion_order = false")
    export = con.sql(
        "SELECT * FROM read_csv(?, header = true, columns = {'date': 'DATE', 'keyword': 'VARCHAR', "
        "'url': 'VARCHAR', 'position': 'DOUBLE', 'search_volume': 'BIGINT'})",
        params=[str(workdir / "export" / "positions.csv")],
    )
    if by_month:
        export = export.select("*, strftime(date, '%Y-%m') AS month")
    export.write_parquet(str(target), compression="zstd", partition_by=["month" if by_month else "date"])
    seconds = time.perf_counter() - started
    counted = con.execute(
        "SELECT count(*) FROM read_parquet(?, hive_partitioning = true)", [str(target / "**" / "*.parquet")]
    ).fetchone()
    return {"inner_seconds": seconds, "rows": int(counted[0]) if counted else 0}


def run_duckdb(workdir: Path) -> dict[str, Any]:
    """Partitioned as socialrank's lake is (rankings by month)."""
    return _duckdb(workdir, by_month=True)


def run_duckdb_daily(workdir: Path) -> dict[str, Any]:
    """Partitioned by day (one folder per day, 365 files): reported beside the other."""
    return _duckdb(workdir, by_month=False)


CONTENDERS = {"socialrank": run_socialrank, "duckdb": run_duckdb, "duckdb_daily": run_duckdb_daily}


def measure(name: str, workdir: Path) -> dict[str, Any]:
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, __file__, "--child", name, "--workdir", str(workdir)],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return {**result, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each contender, in turn")
    parser.add_argument("--child", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = CONTENDERS[args.child](args.workdir)
        # The process's own peak, or its largest worker's (socialrank parses in a worker process).
        result["peak_rss_bytes"] = 1024 * max(
            resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        )
        print(json.dumps(result))
        return

    export = args.workdir / "export" / "positions.csv"
    print(f"generating {args.rows:,} rows in {export} (cached between runs) ...", flush=True)
    generate(export, args.rows)
    size = export.stat().st_size
    print(f"positions.csv: {size / 1e6:,.0f} MB", flush=True)
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _ in range(args.repeats):
        for name in ("duckdb", "duckdb_daily", "socialrank"):
            run = measure(name, args.workdir)
            runs[name].append(run)
            print(f"  {name}: {run['seconds']:.2f} s (inside: {run['inner_seconds']:.2f} s)", flush=True)
    figures: dict[str, dict[str, Any]] = {}
    for name, measured in runs.items():
        median = sorted(measured, key=lambda run: run["seconds"])[len(measured) // 2]
        figures[name] = {
            **median,
            "runs_seconds": [round(run["seconds"], 3) for run in measured],
            "rows_per_second": median["rows"] / median["seconds"],
            "megabytes_per_second": size / 1e6 / median["seconds"],
        }
    if figures["socialrank"]["rows"] + figures["socialrank"]["quarantined"] != figures["duckdb"]["rows"]:
        raise SystemExit(f"the contenders read different row counts: {figures}")
    ratio = figures["socialrank"]["rows_per_second"] / figures["duckdb"]["rows_per_second"]
    inner_ratio = figures["duckdb"]["inner_seconds"] / figures["socialrank"]["inner_seconds"]
    import duckdb

    report = {
        "benchmark": "ingest of a rank-tracker CSV",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "rows": args.rows,
        "csv_bytes": size,
        "repeats": args.repeats,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "duckdb": duckdb.__version__,
        },
        "contenders": figures,
        "checks": {
            "vs_duckdb": {
                "ratio": ratio,
                "target": TARGET_VS_DUCKDB,
                "met": ratio >= TARGET_VS_DUCKDB,
                "timed_regions_ratio": inner_ratio,
                "vs_daily_partitions": figures["socialrank"]["rows_per_second"]
                / figures["duckdb_daily"]["rows_per_second"],
                "run_by_run": [
                    round(floor["seconds"] / ours["seconds"], 3)
                    for floor, ours in zip(runs["duckdb"], runs["socialrank"], strict=True)
                ],
            }
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"vs_duckdb: {ratio:.2f}x whole processes (target >= {TARGET_VS_DUCKDB}x) "
        f"{'met' if ratio >= TARGET_VS_DUCKDB else 'NOT met'}; timed regions {inner_ratio:.2f}x"
    )
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
