"""The benchmark report: every figure of ``make bench`` in one JSON file and one Markdown table.

Reads what the benchmarks wrote (``bench/results/{ingest,ingest_csv,ingest_ga4_bigquery,ingest_world,crawl,
dags,build,estimates}.json``), writes
``bench/results/report.json`` and ``bench/results/report.md`` (the table the README shows), and prints
the table. A benchmark that has not been run is listed as missing, not left out.

Run: ``.venv/bin/python bench/report.py`` (the last step of ``make bench``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
SOURCES = (
    "ingest",
    "ingest_csv",
    "ingest_ga4_bigquery",
    "ingest_world",
    "crawl",
    "dags",
    "build",
    "estimates",
)
Row = tuple[str, str, str, bool | None]


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _gb(value: float) -> str:
    return f"{value / 1024**3:.2f} GB"


def _run_by_run(check: dict[str, Any]) -> str:
    """The range of the run-by-run ratios behind a ratio of medians."""
    ratios = check.get("run_by_run") or []
    if len(ratios) < 2:
        return ""
    return f" (medians of {len(ratios)} runs each; run by run {min(ratios):.2f}x-{max(ratios):.2f}x)"


def ingest_rows(data: dict[str, Any]) -> list[Row]:
    figures, checks = data["contenders"], data["checks"]
    ours, duckdb = figures["socialrank"], figures["duckdb"]
    posts = f"{data['posts']:,} posts ({data['tweets_js_bytes'] / 1e6:,.0f} MB `tweets.js`)"
    rows: list[Row] = [
        (
            f"ingest of an X archive, {posts}",
            f"{ours['seconds']:.1f} s vs DuckDB `read_json` (columns declared, insertion order not kept) "
            f"-> Parquet {duckdb['seconds']:.1f} s, whole processes: "
            f"{checks['vs_duckdb']['ratio']:.2f}x{_run_by_run(checks['vs_duckdb'])}",
            ">= 0.6x DuckDB",
            checks["vs_duckdb"]["met"],
        ),
    ]
    if "vs_duckdb_inferred" in checks:
        rows.append(
            (
                "ingest vs DuckDB `read_json` with the schema inferred (the earlier baseline)",
                f"DuckDB {figures['duckdb_inferred']['seconds']:.1f} s: "
                f"{checks['vs_duckdb_inferred']['ratio']:.2f}x",
                "(reported)",
                None,
            )
        )
    rows += [
        ("ingest, peak memory", _gb(ours["peak_rss_bytes"]), "< 1.5 GB", checks["peak_memory_gb"]["met"]),
    ]
    if "vs_pandas" in checks:
        pandas = figures["pandas"]
        rows.append(
            (
                "ingest vs `json.load` + `pandas.json_normalize`",
                f"pandas {pandas['seconds']:.1f} s ({_gb(pandas['peak_rss_bytes'])}): "
                f"{checks['vs_pandas']['ratio']:.2f}x",
                ">= 5x pandas",
                checks["vs_pandas"]["met"],
            )
        )
    return rows


def ingest_csv_rows(data: dict[str, Any]) -> list[Row]:
    figures, check = data["contenders"], data["checks"]["vs_duckdb"]
    ours, duckdb = figures["socialrank"], figures["duckdb"]
    return [
        (
            f"ingest of a rank-tracker CSV, {data['rows']:,} rows ({data['csv_bytes'] / 1e6:,.0f} MB)",
            f"{ours['seconds']:.1f} s vs DuckDB `read_csv` (columns declared) -> Parquet partitioned "
            f"by month as the lake is {duckdb['seconds']:.1f} s, whole processes: {check['ratio']:.2f}x"
            f"{_run_by_run(check)}; by day (365 folders) {figures['duckdb_daily']['seconds']:.1f} s: "
            f"{check['vs_daily_partitions']:.2f}x",
            ">= 0.5x DuckDB",
            check["met"],
        )
    ]


def ingest_ga4_bigquery_rows(data: dict[str, Any]) -> list[Row]:
    figures, checks = data["contenders"], data["checks"]
    ours, duckdb = figures["socialrank"], figures["duckdb"]
    memory = checks["peak_memory_share_of_file"]
    return [
        (
            f"ingest of a GA4 BigQuery event export, {data['events']:,} events "
            f"({data['export_bytes'] / 1e6:,.0f} MB NDJSON)",
            f"{ours['seconds']:.1f} s vs one DuckDB `read_json` (columns declared) sessionising query "
            f"-> Parquet {duckdb['seconds']:.1f} s, whole processes: {checks['vs_duckdb']['ratio']:.2f}x"
            f"{_run_by_run(checks['vs_duckdb'])}",
            "(reported)",
            None,
        ),
        (
            "GA4 BigQuery export ingest, peak memory of the process tree (PSS)",
            f"{_gb(ours['peak_tree_pss_bytes_max'])} = {memory['value']:.0%} of the file "
            f"(DuckDB {_gb(duckdb['peak_tree_pss_bytes_max'])})",
            f"< {memory['target']:.0%} of the file",
            memory["met"],
        ),
    ]


def ingest_world_rows(data: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for name, size in data["sizes"].items():
        world, ingest = size["world"], size["ingest"]
        rows.append(
            (
                f"ingest of the {name} world ({world['posts']:,} posts, {world['backlinks']:,} backlinks, "
                f"{world['rankings']:,} ranking rows)",
                f"{ingest['seconds']:.0f} s, peak {_gb(ingest['peak_rss_bytes'])}",
                "(reported)",
                None,
            )
        )
    return rows


def crawl_rows(data: dict[str, Any]) -> list[Row]:
    many, one = data["many_hosts"], data["one_host"]
    return [
        (
            f"crawler, {many['hosts']} hosts on loopback",
            f"{many['fetches_per_second']:.0f} fetches/s ({many['ratio_to_baseline']:.2f}x plain requests)",
            ">= 300 fetches/s",
            many["passed"],
        ),
        (
            f"crawler, 1 host, {one['per_host_delay']} s delay",
            f"{one['requests_per_second']:.2f} requests/s ({one['share_of_limit']:.1%} of the limit), "
            f"at most {one['busiest_one_second_window']} in a second",
            ">= 95% of the limit, never above",
            one["passed"],
        ),
    ]


def dags_rows(data: dict[str, Any]) -> list[Row]:
    check = data["checks"]["slowest_import"]
    files = ", ".join(
        f"{name} {figure['median_seconds']:.3f} s"
        for name, figure in data["files"].items()
        if not name.startswith("baseline")
    )
    return [("DAG file import (median of runs)", files, "< 0.5 s each", check["met"])]


def _stages(cycle: dict[str, Any]) -> str:
    return ", ".join(f"{stage} {cycle[stage]['seconds']:.0f} s" for stage in ("build", "gate", "publish"))


def build_rows(data: dict[str, Any]) -> list[Row]:
    checks, sizes, increment = data["checks"], data["sizes"], data["increment"]
    largest = sizes["4x"]
    world = largest["world"]
    full = largest["full"]
    described = (
        f"{world.get('posts', 0):,} posts, {world.get('backlinks', 0):,} backlinks, "
        f"{world.get('rankings', 0):,} ranking rows"
    )
    stages = _stages(full)
    ratios = data.get("growth_vs_1x", {})
    growth = ", ".join(
        f"{name} {size['full']['total_seconds']:.0f} s"
        + (f" ({ratios[name]:.2f}x the 1x)" if name in ratios else "")
        for name, size in sizes.items()
    )
    return [
        (
            f"full build + gate + publish ({described})",
            f"{full['total_seconds']:.0f} s ({stages}); "
            f"ingest of that world {largest['ingest']['seconds']:.0f} s",
            "< 600 s",
            checks["full_build_gate_publish_seconds"]["met"],
        ),
        (
            "full build, peak memory",
            _gb(full["peak_rss_bytes"]),
            "< 8 GB",
            checks["full_peak_memory_gb"]["met"],
        ),
        (
            "gate's share of the build",
            f"{checks['gate_share_of_build']['value']:.0%}, gate peak "
            f"{checks['gate_share_of_build']['gate_peak_memory_gb']:.2f} GB",
            "< 25%, bounded memory",
            checks["gate_share_of_build"]["met"],
        ),
        (
            "one-day increment (incremental build + gate + publish)",
            f"{increment['total_seconds']:.0f} s ({_stages(increment)}) = "
            f"{checks['increment_share_of_full']['value']:.1%} of the full; "
            f"ingest of that day {increment['ingest']['seconds']:.0f} s",
            "< 10% of the full",
            checks["increment_share_of_full"]["met"],
        ),
        ("growth: full build + gate + publish at 1x, 2x, 4x", growth, "(reported)", None),
    ]


def _machine_load(data: dict[str, Any]) -> str:
    """The machine's median 1-minute load average over the runs, where they recorded it."""
    loads = [
        run["load_average_1min"]
        for runs in data["runs"].values()
        for run in runs
        if "load_average_1min" in run
    ]
    return (
        f"; machine load {statistics.median(loads):.1f} on {data['machine']['cores']} cores" if loads else ""
    )


def estimates_rows(data: dict[str, Any]) -> list[Row]:
    medians = data["median_seconds"]
    return [
        (
            f"impact estimation step of a sample build, against {data['baseline']}",
            f"{medians['current']:.1f} s vs {medians['baseline']:.1f} s: {data['ratio']:.2f}x the time"
            f"{_run_by_run(data)}; rows identical: {'yes' if data['identical_rows'] else 'no'}"
            f"{_machine_load(data)}",
            "(reported)",
            None,
        )
    ]


RENDERERS = {
    "ingest": ingest_rows,
    "ingest_csv": ingest_csv_rows,
    "ingest_ga4_bigquery": ingest_ga4_bigquery_rows,
    "ingest_world": ingest_world_rows,
    "crawl": crawl_rows,
    "dags": dags_rows,
    "build": build_rows,
    "estimates": estimates_rows,
}


def main() -> None:
    rows: list[Row] = []
    measured: dict[str, str | None] = {}
    for name in SOURCES:
        data = _load(name)
        measured[name] = (data or {}).get("measured_at") or (data or {}).get("at")
        if data is None:
            rows.append((f"{name} benchmark", "not run yet", "", None))
            continue
        rows += RENDERERS[name](data)
    verdict = {True: "met", False: "**not met**", None: ""}
    lines = ["| benchmark | figure | target | |", "|---|---|---|---|"]
    lines += [f"| {what} | {figure} | {target} | {verdict[met]} |" for what, figure, target, met in rows]
    table = "\n".join(lines) + "\n"
    machine = f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    (RESULTS / "report.md").write_text(f"Machine: {machine}\n\n{table}", encoding="utf-8")
    report = {
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "measured_at": measured,
        "rows": [{"benchmark": r[0], "figure": r[1], "target": r[2], "met": r[3]} for r in rows],
    }
    (RESULTS / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"Machine: {machine}\n\n{table}")


if __name__ == "__main__":
    main()
