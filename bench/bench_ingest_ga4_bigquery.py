"""GA4 BigQuery event export ingest benchmark: about 1 GB of newline-delimited JSON events, against DuckDB.

One generated ``events_YYYYMMDD`` export as BigQuery's JSON extract writes it (one event a line, INT64
values as strings, ``event_params`` records, ``traffic_source``, ``session_traffic_source_last_click``,
device, geo, privacy and collected-traffic-source records as the real export has them; about 1.3 KB an
event, 6 events a session, sessions over three days in no particular order) is sessionised by two
contenders, each a whole process launched in turn and timed from launch to exit, ``--repeats`` times:

1. ``socialrank``: ``socialrank ingest`` (``python -m pipeline.cli ingest``) on the landed file: content
   hash, format detection, the streamed parse in its isolated worker, session aggregation, the shared
   traffic checks, Parquet writes of ``traffic_sessions``, ledger.
2. ``duckdb`` (the strongest fair baseline): one fixed query that reads the same file with
   ``read_json`` (the needed columns declared, ``preserve_insertion_order = false``, all cores),
   rebuilds the sessions the same way (user, ``ga_session_id``, day; first ``page_view``; earliest
   last-click source; ``session_engaged``) and writes the day/page/source rows to Parquet.

Peak memory is the process tree's: the largest sum of its processes' proportional set sizes (PSS: pages
a forked worker shares with its parent count once), sampled from ``/proc`` every 50 ms (socialrank parses
in a forked worker).
Both contenders must find the same sessions. Target: memory bounded well under the file's size
(socialrank's tree under half of it; most of its peak is the fixed cost of two Python processes, the rest
grows with the sessions, not the bytes). Run: ``.venv/bin/python bench/bench_ingest_ga4_bigquery.py``
(``make bench-ingest``; ``--events N`` for a smaller run).
Results: ``bench/results/ingest_ga4_bigquery.json``.
The export is cached in ``--workdir`` ($TMPDIR) between runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results" / "ingest_ga4_bigquery.json"
DEFAULT_WORKDIR = Path(os.environ.get("TMPDIR", "/tmp")) / "socialrank-bench-ingest-ga4-bigquery"
EXPORT_NAME = "events_20261101-000000000000.json"
TARGET_PEAK_SHARE = 0.5
FIRST_DAY = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
DAYS = 3
EVENTS_PER_SESSION = 6
PAGES = 2_000
SOURCES = [
    ("google", "organic", "Organic Search"),
    ("t.co", "referral", "Organic Social"),
    ("(direct)", "(none)", "Direct"),
    ("l.facebook.com", "referral", "Organic Social"),
    ("newsletter", "email", "Email"),
    ("bing", "organic", "Organic Search"),
    ("lnkd.in", "referral", "Organic Social"),
    ("google", "cpc", "Paid Search"),
]
NAMES = ["session_start", "page_view", "scroll", "user_engagement", "page_view", "click"]
# One event line: the real export's records, INT64 values as strings, as BigQuery's JSON extract writes.
TEMPLATE = (
    '{{"event_date":"{day}","event_timestamp":"{at}","event_name":"{name}","event_params":['
    '{{"key":"ga_session_id","value":{{"int_value":"{session}"}}}},'
    '{{"key":"ga_session_number","value":{{"int_value":"{number}"}}}},'
    '{{"key":"page_location","value":{{"string_value":"https://www.example.com/guides/page-{page}/?ref=bench"}}}},'
    '{{"key":"page_title","value":{{"string_value":"Guide number {page}: how to choose, brew and store"}}}},'
    '{{"key":"page_referrer","value":{{"string_value":"https://{source}/"}}}},'
    '{{"key":"session_engaged","value":{{"string_value":"{engaged}"}}}},'
    '{{"key":"engagement_time_msec","value":{{"int_value":"{msec}"}}}},'
    '{{"key":"percent_scrolled","value":{{"int_value":"90"}}}},'
    '{{"key":"batch_ordering_id","value":{{"int_value":"3"}}}},'
    '{{"key":"batch_page_id","value":{{"int_value":"1762000000000"}}}}],'
    '"event_previous_timestamp":"{at}","event_bundle_sequence_id":"{number}",'
    '"event_server_timestamp_offset":"512","user_pseudo_id":"{user}.1762000000",'
    '"privacy_info":{{"analytics_storage":"Yes","ads_storage":"No","uses_transient_token":"No"}},'
    '"user_first_touch_timestamp":"1750000000000000",'
    '"device":{{"category":"mobile","mobile_brand_name":"Apple","mobile_model_name":"iPhone",'
    '"operating_system":"iOS","operating_system_version":"iOS 18.1","language":"en-us",'
    '"is_limited_ad_tracking":"No","web_info":{{"browser":"Safari","browser_version":"18.1",'
    '"hostname":"www.example.com"}}}},'
    '"geo":{{"city":"Berlin","country":"Germany","continent":"Europe","region":"Berlin",'
    '"sub_continent":"Western Europe","metro":"(not set)"}},'
    '"traffic_source":{{"name":"(organic)","medium":"organic","source":"google"}},'
    '"stream_id":"4567890123","platform":"WEB","items":[],'
    '"collected_traffic_source":{{"manual_source":"{source}","manual_medium":"{medium}"}},'
    '"is_active_user":true,'
    '"session_traffic_source_last_click":{{"manual_campaign":{{"campaign_name":"(referral)",'
    '"source":"{source}","medium":"{medium}"}},"cross_channel_campaign":{{"campaign_id":"(referral)",'
    '"campaign_name":"(referral)","source":"{source}","medium":"{medium}",'
    '"source_platform":"Manual","default_channel_group":"{channel}",'
    '"primary_channel_group":"{channel}"}}}}}}\n'
)
SQL = """
COPY (
    WITH events AS (
        SELECT event_date, event_timestamp, event_name, user_pseudo_id,
               list_filter(event_params, p -> p.key = 'ga_session_id')[1].value.int_value AS session_id,
               list_filter(event_params, p -> p.key = 'page_location')[1].value.string_value AS page,
               list_filter(event_params, p -> p.key = 'session_engaged')[1].value.string_value AS engaged,
               session_traffic_source_last_click.cross_channel_campaign AS campaign
        FROM read_json($export, format = 'newline_delimited', columns = {
            'event_date': 'VARCHAR', 'event_timestamp': 'BIGINT', 'event_name': 'VARCHAR',
            'user_pseudo_id': 'VARCHAR',
            'event_params': 'STRUCT(key VARCHAR, value STRUCT(string_value VARCHAR, int_value BIGINT))[]',
            'session_traffic_source_last_click': 'STRUCT(cross_channel_campaign '
                'STRUCT(source VARCHAR, medium VARCHAR, default_channel_group VARCHAR))'
        })
    ),
    sessions AS (
        SELECT event_date, user_pseudo_id, session_id,
               coalesce(arg_min(page, event_timestamp) FILTER (WHERE event_name = 'page_view'), '(not set)')
                   AS landing_page,
               arg_min(campaign, event_timestamp) AS campaign,
               bool_or(engaged = '1') AS engaged,
               max(event_timestamp) - min(event_timestamp) AS duration
        FROM events
        WHERE session_id IS NOT NULL AND user_pseudo_id IS NOT NULL
        GROUP BY ALL
    )
    SELECT strptime(event_date, '%Y%m%d')::DATE AS traffic_date, landing_page,
           campaign.source AS session_source, campaign.medium AS session_medium,
           campaign.default_channel_group AS channel_group,
           count(*) AS sessions, count(*) FILTER (WHERE engaged) AS engaged_sessions,
           avg(duration) / 1e6 AS average_session_duration,
           1 - count(*) FILTER (WHERE engaged) / count(*) AS bounce_rate
    FROM sessions
    GROUP BY ALL
) TO $target (FORMAT parquet, COMPRESSION zstd)
"""


def generate(path: Path, events: int, seed: int = 5) -> None:
    """The export, a block of interleaved sessions at a time (an export is in no particular order)."""
    marker = path.with_suffix(f".{events}-{seed}.done")
    if marker.exists():
        return
    shutil.rmtree(path.parent, ignore_errors=True)
    path.parent.mkdir(parents=True)
    rng = random.Random(seed)
    sessions = events // EVENTS_PER_SESSION
    block_sessions = 20_000
    with path.open("w", encoding="utf-8") as out:
        for first in range(0, sessions, block_sessions):
            lines = []
            for number in range(first, min(first + block_sessions, sessions)):
                user = rng.randrange(sessions // 2)
                start = FIRST_DAY + dt.timedelta(seconds=rng.randrange(DAYS * 86_400 - 3_600))
                source, medium, channel = SOURCES[number % len(SOURCES)]
                engaged = number % 3 != 0
                page = rng.randrange(PAGES)
                for step, name in enumerate(NAMES):
                    at = start + dt.timedelta(seconds=step * rng.randrange(5, 60))
                    lines.append(
                        TEMPLATE.format(
                            day=at.strftime("%Y%m%d"),
                            at=int(at.timestamp()) * 1_000_000 + step,
                            name=name,
                            session=1_762_000_000 + number,
                            number=step + 1,
                            page=page if step < 2 else (page + step) % PAGES,
                            source=source,
                            medium=medium,
                            channel=channel,
                            engaged="1" if engaged and step else "0",
                            msec=rng.randrange(0, 20_000),
                            user=user,
                        )
                    )
            rng.shuffle(lines)
            out.writelines(lines)
    marker.write_text(json.dumps({"events": events, "seed": seed}))


def run_socialrank(workdir: Path) -> dict[str, Any]:
    """``socialrank ingest`` on the landed export, as a person runs it."""
    home = workdir / "socialrank-data"
    shutil.rmtree(home, ignore_errors=True)
    landing = home / "landing" / "traffic" / "ga4_bigquery"
    landing.mkdir(parents=True)
    os.link(workdir / "export" / EXPORT_NAME, landing / EXPORT_NAME)  # landed without a copy
    config = workdir / "socialrank.toml"
    config.write_text('[site]\nowned_sites = ["example.com"]\n', encoding="utf-8")
    env = {**os.environ, "SOCIALRANK_HOME": str(home)}
    command = [sys.executable, "-m", "pipeline.cli", "--config", str(config), "ingest", "--json"]
    measured = _measure(command, env)
    summary, _ = json.JSONDecoder().raw_decode(measured.pop("stdout").lstrip())
    if summary["by_status"] != {"ingested": 1}:
        raise RuntimeError(f"ingest failed: {summary}")
    import duckdb

    totals = duckdb.sql(
        "SELECT count(*), sum(sessions) FROM read_parquet(?)",
        params=[str(home / "lake" / "traffic_sessions" / "**" / "*.parquet")],
    ).fetchone()
    assert totals is not None
    return {**measured, "rows": int(totals[0]), "sessions": int(totals[1])}


def run_duckdb(workdir: Path) -> dict[str, Any]:
    target = workdir / "duckdb-sessions.parquet"
    target.unlink(missing_ok=True)
    script = (
        "import duckdb, sys\n"
        "con = duckdb.connect()\n"
        "con.execute('SET preserve_insertion_order = false')\n"
        "con.execute(sys.argv[1], {'export': sys.argv[2], 'target': sys.argv[3]})\n"
    )
    command = [sys.executable, "-c", script, SQL, str(workdir / "export" / EXPORT_NAME), str(target)]
    measured = _measure(command, dict(os.environ))
    measured.pop("stdout")
    import duckdb

    totals = duckdb.sql(
        "SELECT count(*), sum(sessions) FROM read_parquet(?)", params=[str(target)]
    ).fetchone()
    assert totals is not None
    return {**measured, "rows": int(totals[0]), "sessions": int(totals[1])}


def _tree_pss(pid: int) -> int:
    """Proportional resident bytes of a process and all its descendants, from /proc: a forked worker's
    pages shared with its parent count once, not twice (0 for a process that has ended)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            total += 1024 * int(
                next(line.split()[1] for line in rollup.splitlines() if line.startswith("Pss:"))
            )
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, StopIteration, ValueError):
            continue
    return total


def _measure(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Wall time from launch to exit and the process tree's peak proportional set size (sampled)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_pss(process.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"{command[:4]} exited {process.returncode}: {stderr[-2000:]}")
    return {"seconds": seconds, "peak_tree_pss_bytes": peak, "stdout": stdout}


CONTENDERS = {"socialrank": run_socialrank, "duckdb": run_duckdb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--repeats", type=int, default=2, help="runs of each contender, in turn")
    args = parser.parse_args()

    export = args.workdir / "export" / EXPORT_NAME
    print(f"generating {args.events:,} events in {export} (cached between runs) ...", flush=True)
    generate(export, args.events)
    size = export.stat().st_size
    print(f"{EXPORT_NAME}: {size / 1e6:,.0f} MB", flush=True)
    runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _ in range(args.repeats):
        for name, contender in CONTENDERS.items():
            result = contender(args.workdir)
            runs[name].append(result)
            peak = result["peak_tree_pss_bytes"] / 2**20
            print(f"  {name}: {result['seconds']:.1f} s, tree peak {peak:,.0f} MiB", flush=True)
    figures: dict[str, dict[str, Any]] = {}
    for name, measured in runs.items():
        median = sorted(measured, key=lambda run: run["seconds"])[len(measured) // 2]
        figures[name] = {
            **median,
            "runs_seconds": [round(run["seconds"], 3) for run in measured],
            "peak_tree_pss_bytes_max": max(run["peak_tree_pss_bytes"] for run in measured),
            "megabytes_per_second": size / 1e6 / median["seconds"],
        }
    ours, floor = figures["socialrank"], figures["duckdb"]
    if ours["sessions"] != floor["sessions"]:
        raise SystemExit(
            f"the contenders found different sessions: {ours['sessions']} vs {floor['sessions']}"
        )
    share = ours["peak_tree_pss_bytes_max"] / size
    import duckdb

    report = {
        "benchmark": "ingest of a GA4 BigQuery event export (newline-delimited JSON)",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "events": args.events,
        "export_bytes": size,
        "repeats": args.repeats,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "duckdb": duckdb.__version__,
            "note": "shared with other sessions' work while measured",
        },
        "contenders": figures,
        "checks": {
            "vs_duckdb": {
                "ratio": floor["seconds"] / ours["seconds"],
                "run_by_run": [
                    round(a["seconds"] / b["seconds"], 3)
                    for a, b in zip(runs["duckdb"], runs["socialrank"], strict=True)
                ],
            },
            "peak_memory_share_of_file": {
                "value": share,
                "target": TARGET_PEAK_SHARE,
                "met": share < TARGET_PEAK_SHARE,
            },
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"vs DuckDB: {report['checks']['vs_duckdb']['ratio']:.2f}x whole processes; socialrank's tree peak "
        f"{ours['peak_tree_pss_bytes_max'] / 2**20:,.0f} MiB = {share:.0%} of the file"
    )
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
