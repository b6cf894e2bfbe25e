"""socialrank operated like production, against a running Airflow (api-server, scheduler, dag-processor,
triggerer as processes): backfills through the REST API, event-driven ingest, a failing gate.

Metadata is on the local PostgreSQL: Airflow 3.3 refuses concurrent backfill creation on SQLite
("Backfill creation is not supported on SQLite under concurrent access").
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest

from socialrank_demo.sample import write_demo_landing
from tests.airflow_cluster import AirflowCluster, postgres_database, running_cluster
from tests.conftest import PROJECT_DIR

pytestmark = pytest.mark.airflow
NIGHTLY = "socialrank_nightly"
INGEST_EVENTS = "socialrank_ingest_events"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowCluster]:
    root = tmp_path_factory.mktemp("airflow-operations")
    write_demo_landing(root / "data" / "landing")
    with (
        postgres_database() as database_url,
        running_cluster(
            AirflowCluster(home=root / "airflow", data_root=root / "data", database_url=database_url)
        ) as started,
    ):
        started.wait_for_dag(NIGHTLY)
        started.wait_for_dag(INGEST_EVENTS)
        yield started


def _published(cluster: AirflowCluster) -> dict[str, object]:
    manifest: dict[str, object] = json.loads((cluster.data_root / "warehouse" / "published.json").read_text())
    return manifest


def _warehouse_facts(cluster: AirflowCluster) -> tuple[object, ...]:
    con = duckdb.connect(str(cluster.data_root / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        row = con.sql(
            "SELECT count(*), count(DISTINCT (canonical_url, query, day)), max(day), "
            "       sum(hash(canonical_url, query, day, position, social_links_any)) "
            "FROM mart.ranking_impact"
        ).fetchone()
        assert row is not None
        return tuple(row)
    finally:
        con.close()


@contextmanager
def analyst_in_a_loop(warehouse: Path, workdir: Path) -> Iterator[Callable[[], dict[str, Any]]]:
    """A separate process querying the published warehouse read-only until told to stop."""
    stop, result = workdir / "analyst.stop", workdir / "analyst.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.analyst_probe", str(warehouse), str(stop), str(result)], cwd=PROJECT_DIR
    )

    def finish() -> dict[str, Any]:
        stop.write_text("")
        process.wait(timeout=60)
        seen: dict[str, Any] = json.loads(result.read_text())
        return seen

    try:
        yield finish
    finally:
        if process.poll() is None:
            process.kill()


def test_backfill_of_three_days_through_the_rest_api(cluster: AirflowCluster, tmp_path: Path) -> None:
    warehouse = cluster.data_root / "warehouse" / "warehouse.duckdb"
    with analyst_in_a_loop(warehouse, tmp_path) as analyst_results:
        _backfill_twice(cluster)
        seen = analyst_results()
    # The analyst queried all along, never met an error, and saw several complete versions go by.
    assert seen["errors"] == []
    assert seen["queries"] > 10 and len(seen["versions"]) >= 3


def _backfill_twice(cluster: AirflowCluster) -> None:
    # Unpaused, the nightly DAG first makes its one scheduled run (no catch-up): let it publish.
    cluster.unpause(NIGHTLY)
    scheduled = cluster.wait_for_runs(NIGHTLY, 1, run_type="scheduled")
    assert [r["state"] for r in scheduled] == ["success"]
    backfill = {
        "dag_id": NIGHTLY,
        "from_date": "2026-10-29T00:00:00Z",
        "to_date": "2026-10-31T12:00:00Z",
        "reprocess_behavior": "failed",
        "max_active_runs": 3,
        "run_backwards": False,
        "dag_run_conf": {},
    }
    cluster.backfill(backfill)
    runs = cluster.wait_for_runs(NIGHTLY, 3, run_type="backfill")
    assert sorted(r["state"] for r in runs) == ["success"] * 3
    starts = sorted(r["data_interval_start"][:10] for r in runs)
    assert starts == ["2026-10-29", "2026-10-30", "2026-10-31"]
    rows, distinct_rows, last_day, checksum = _warehouse_facts(cluster)
    # Backfills rebuild through the latest published day: the demo data ends on 2026-11-01.
    assert rows == distinct_rows and str(last_day) == "2026-11-01"
    assert _published(cluster)["run_date"] in starts

    # The same range again, reprocessing everything: the warehouse holds the same data, once.
    cluster.backfill({**backfill, "reprocess_behavior": "completed"})
    # Reprocessing clears and reruns the same three runs.
    again = cluster.wait_for_runs(NIGHTLY, 3, run_type="backfill")
    assert sorted(r["state"] for r in again) == ["success"] * 3
    assert sorted(r["dag_run_id"] for r in again) == sorted(r["dag_run_id"] for r in runs)
    assert _warehouse_facts(cluster) == (rows, distinct_rows, last_day, checksum)


def test_a_sentinel_runs_the_ingest_dag_and_its_asset_event_carries_row_counts(
    cluster: AirflowCluster,
) -> None:
    cluster.unpause(INGEST_EVENTS)
    delivery = cluster.data_root / "landing" / "rankings" / "tracker" / "late.csv"
    delivery.parent.mkdir(parents=True, exist_ok=True)
    delivery.write_text("date,keyword,url,position\n2026-10-31,late keyword,https://example.com/late,12\n")
    (delivery.parent / "late.csv.ready").write_text("")
    runs = cluster.wait_for_runs(INGEST_EVENTS, 1, timeout=300)
    assert [r["state"] for r in runs] == ["success"]
    assert not (delivery.parent / "late.csv.ready").exists()
    events = cluster.api("GET", "/assets/events", params={"source_dag_id": INGEST_EVENTS})["asset_events"]
    by_uri = {event["uri"]: event["extra"] for event in events}
    extra = by_uri["socialrank://lake/rankings"]
    assert extra["rows"] == 1
    assert by_uri["socialrank://lake/social_posts"]["rows"] == 0
    assert by_uri["socialrank://lake/ingest_ledger"]["rows"] == 1
    assert extra["by_status"]["ingested"] == 1
    assert extra["sentinels"] == ["rankings/tracker/late.csv.ready"]


def test_a_burst_of_sentinels_is_recorded_once_each(cluster: AirflowCluster) -> None:
    """Three deliveries land with their sentinels at once. The event-driven DAG (max_active_runs=1) may take
    several events in one run, or run once per event: either way every sentinel is recorded by exactly one
    ingest, every delivery is ingested and no sentinel or marker is left behind."""
    cluster.unpause(INGEST_EVENTS)
    before_runs = {run["dag_run_id"] for run in cluster.dag_runs(INGEST_EVENTS)}
    before_events = {event["id"] for event in _ledger_events(cluster)}
    folder = cluster.data_root / "landing" / "rankings" / "burst"
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"burst-{number}.csv" for number in range(3)]
    for number, name in enumerate(names):
        row = f"2026-10-31,burst {number},https://example.com/burst/{number},{number + 2}"
        (folder / name).write_text(f"date,keyword,url,position\n{row}\n")
    for name in names:
        (folder / f"{name}.ready").write_text("")
    deadline = time.monotonic() + 600
    while True:
        runs = [run for run in cluster.dag_runs(INGEST_EVENTS) if run["dag_run_id"] not in before_runs]
        left = sorted(path.name for path in folder.iterdir() if path.name not in names)
        if runs and not left and all(run["state"] in ("success", "failed") for run in runs):
            break
        assert time.monotonic() < deadline, (left, [(run["dag_run_id"], run["state"]) for run in runs])
        time.sleep(3)
    time.sleep(10)  # a late event would start one more run: let it show
    runs = [run for run in cluster.dag_runs(INGEST_EVENTS) if run["dag_run_id"] not in before_runs]
    assert all(run["state"] == "success" for run in runs), runs
    events = [event for event in _ledger_events(cluster) if event["id"] not in before_events]
    recorded = sorted(sentinel for event in events for sentinel in event["extra"]["sentinels"])
    assert recorded == [f"rankings/burst/{name}.ready" for name in names]
    assert sum(event["extra"]["rows"] for event in events) == 3  # three ledger entries, one per delivery
    print(f"a burst of 3 sentinels: {len(runs)} ingest runs, {len(events)} ledger events")


def _ledger_events(cluster: AirflowCluster) -> list[dict[str, Any]]:
    return cluster.asset_events("socialrank://lake/ingest_ledger", INGEST_EVENTS)


def _land_rankings(cluster: AirflowCluster, keyword: str) -> None:
    delivery = cluster.data_root / "landing" / "rankings" / "tracker" / f"{keyword.replace(' ', '-')}.csv"
    delivery.parent.mkdir(parents=True, exist_ok=True)
    delivery.write_text(f"date,keyword,url,position\n2026-10-20,{keyword},https://example.com/overlap,7\n")


def _queries_published(cluster: AirflowCluster, keywords: list[str]) -> set[str]:
    con = duckdb.connect(str(cluster.data_root / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT DISTINCT query FROM core.rankings_daily WHERE query IN (SELECT unnest(?))", [keywords]
        ).fetchall()
    finally:
        con.close()
    return {str(query) for (query,) in rows}


def test_an_overlapping_backfill_and_manual_runs_keep_every_delivery(cluster: AirflowCluster) -> None:
    """A backfill's runs ignore the DAG's max_active_runs (three at once here) and overlap the manual runs;
    deliveries land while they start. (Airflow 3.3 refuses a second backfill of a DAG while one runs: HTTP
    409.) Build -> gate -> publish is one unit under the writer lock, so every run succeeds, each publish
    starts from the version before it (never going back), every delivery ends up published, and a manual
    run with logical date D processes D like a backfill of D."""
    before = {event["id"] for event in _warehouse_events(cluster)}
    published_before = _published(cluster)["version"]
    keywords = ["overlap first", "overlap second", "overlap third"]
    started = time.monotonic()
    _land_rankings(cluster, keywords[0])
    backfill = cluster.api(
        "POST",
        "/backfills",
        json={
            "dag_id": NIGHTLY,
            "from_date": "2026-10-20T00:00:00Z",
            "to_date": "2026-10-22T12:00:00Z",
            "reprocess_behavior": "none",
            "max_active_runs": 3,
            "run_backwards": False,
            "dag_run_conf": {},
        },
    )
    _land_rankings(cluster, keywords[1])
    manual_ids = []
    for logical_date in ("2026-10-18T19:00:00Z", "2026-10-19T19:00:00Z"):
        manual = cluster.api(
            "POST", f"/dags/{NIGHTLY}/dagRuns", json={"logical_date": logical_date, "conf": {}}
        )
        manual_ids.append(manual["dag_run_id"])
        _land_rankings(cluster, keywords[2])
    deadline = time.monotonic() + 1500
    while True:
        runs = [
            run
            for run in cluster.dag_runs(NIGHTLY)
            if run["dag_run_id"] in manual_ids
            or (run["run_type"] == "backfill" and "2026-10-20" <= run["logical_date"][:10] <= "2026-10-22")
        ]
        if len(runs) == 5 and all(run["state"] in ("success", "failed") for run in runs):
            break
        assert time.monotonic() < deadline, [(run["dag_run_id"], run["state"]) for run in runs]
        time.sleep(5)
    seconds = time.monotonic() - started
    # The DAG takes no other backfill (the UI test's) until Airflow has marked this one completed.
    cluster.wait_for_backfill(backfill["id"])
    assert all(run["state"] == "success" for run in runs), runs
    # A manual run's partition is the day of its logical date in the site's zone (12:00 in Los Angeles).
    for run_id, day in zip(manual_ids, ("2026-10-18", "2026-10-19"), strict=True):
        partition = cluster.api(
            "GET", f"/dags/{NIGHTLY}/dagRuns/{run_id}/taskInstances/partition/xcomEntries/return_value"
        )["value"]
        assert str(partition).strip('"') == day

    events = sorted(
        (event for event in _warehouse_events(cluster) if event["id"] not in before), key=lambda e: e["id"]
    )
    assert len(events) == 5
    assert events[0]["extra"]["started_from"] == published_before
    for previous, event in itertools.pairwise(events):
        assert event["extra"]["started_from"] == previous["extra"]["version"], "a publish went backwards"
    assert _published(cluster)["version"] == events[-1]["extra"]["version"]
    assert _queries_published(cluster, keywords) == set(keywords)
    print(f"a backfill of three runs and two manual runs, overlapping, finished in {seconds:.0f}s")


def _warehouse_events(cluster: AirflowCluster) -> list[dict[str, Any]]:
    return cluster.asset_events("socialrank://warehouse/published", NIGHTLY)


def test_backfill_started_from_the_ui_dialog(cluster: AirflowCluster, tmp_path: Path) -> None:
    """Drive the Airflow UI in headless Chromium (Debian's package, through Playwright) like an operator."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{cluster.base_url}/dags/{NIGHTLY}", wait_until="load")
            page.get_by_role("button", name="Trigger").click()
            dialog = page.get_by_role("dialog").first
            dialog.get_by_text("Run this Dag for a range of dates").click()
            for picker, (day, at) in zip(
                page.get_by_test_id("datetime-input").all(),
                [("2026/10/25", "00:00"), ("2026/10/27", "12:00")],
                strict=True,
            ):
                picker.click()
                # Each picker's fields live in its own popover; the previous one may still be in the DOM
                # while it animates closed, so look only inside this picker's popover.
                popover = page.locator(f'[id="popover:{picker.get_attribute("data-ownedby")}:content"]')
                popover.get_by_placeholder("YYYY/MM/DD").fill(day)
                popover.get_by_placeholder("HH:mm").fill(at)
                page.keyboard.press("Escape")
            dialog.get_by_text("All Runs").click()
            page.screenshot(path=str(tmp_path / "backfill-dialog.png"))
            dialog.get_by_role("button", name="Run Backfill").click()
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                ui_runs = [
                    r
                    for r in cluster.wait_for_runs(NIGHTLY, 1, run_type="backfill")
                    if r["data_interval_start"][:10] in ("2026-10-25", "2026-10-26", "2026-10-27")
                ]
                if len(ui_runs) == 3 and all(r["state"] == "success" for r in ui_runs):
                    break
                time.sleep(5)
            assert sorted(r["data_interval_start"][:10] for r in ui_runs) == [
                "2026-10-25",
                "2026-10-26",
                "2026-10-27",
            ]
            assert all(r["state"] == "success" for r in ui_runs)
            page.goto(f"{cluster.base_url}/dags/{NIGHTLY}/runs", wait_until="networkidle")
            listed = page.get_by_role("table").inner_text()
            for run in ui_runs:
                assert run["dag_run_id"] in listed
            page.screenshot(path=str(tmp_path / "backfill-runs.png"))
        finally:
            browser.close()


def test_a_failing_gate_fails_the_run_once_and_keeps_the_published_warehouse(cluster: AirflowCluster) -> None:
    """Last in this module: the bad delivery stays in the lake, so every later build would fail too."""
    before = _published(cluster)
    notes_before = set((cluster.data_root / "runs").glob("failure-*"))
    bad = cluster.data_root / "landing" / "rankings" / "tracker" / "broken-positions.csv"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("date,keyword,url,position\n2026-10-30,shoes,https://example.com/s,150\n")
    run = cluster.api(
        "POST", f"/dags/{NIGHTLY}/dagRuns", json={"logical_date": None, "conf": {"run_date": "2026-10-31"}}
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        state = cluster.api("GET", f"/dags/{NIGHTLY}/dagRuns/{run['dag_run_id']}")["state"]
        if state in ("success", "failed"):
            break
        time.sleep(3)
    assert state == "failed"
    tasks = {t["task_id"]: t for t in cluster.task_instances(NIGHTLY, run["dag_run_id"])}
    unit = tasks["build_gate_publish"]
    assert unit["state"] == "failed" and unit["try_number"] == 1
    assert tasks["report"]["state"] == "upstream_failed"
    assert _published(cluster)["version"] == before["version"]
    notes = sorted(set((cluster.data_root / "runs").glob("failure-*")) - notes_before)
    assert len(notes) == 1 and notes[0].name.endswith("-gate.json"), notes  # one note per failure
