"""Nightly socialrank run: wiring only; the work is in ``pipeline.stages``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, Param, TriggerRule, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from pipeline.config import load_settings
from pipeline.orchestration.airflow_support import (
    CRAWLED_DATASETS,
    CRAWLER_POOL,
    DEFAULT_ARGS,
    INGESTED_DATASETS,
    LAKE_ASSETS,
    LAKE_WRITER_POOL,
    WAREHOUSE_ASSET,
    WAREHOUSE_WRITER_POOL,
    FailureRecorded,
    failed_tasks,
    ingest_landed,
    on_task_failure,
    record_lake_events,
)

SETTINGS = load_settings(require_sites=True)
FETCHERS = ("fetch_search_console", "fetch_ga4", "crawl")

DOC = """
### socialrank nightly

Pulls Search Console and GA4 data -> ingests what landed -> crawls new social links -> builds a new DuckDB
warehouse from the lake, runs the Great Expectations gate and publishes the build atomically (one task,
`build_gate_publish`) -> writes the HTML report. Scheduled at 03:30 in the site's time zone
(`[site] timezone`), for the day that just ended.

**Fetchers.** `fetch_search_console` lands the days that became final since the last run (a backfill or a
run with a `run_date` param: exactly its date); `fetch_ga4` lands GA4 Data API reports of the run's day and
the days before it GA4 may still revise (`[ga4] refetch_days`; a backfill: exactly its date); `crawl`
fetches the social links not fetched recently. All run in the one-slot pool `socialrank_crawler`. Each is
*skipped* (not failed) when its source is not configured: no `[search_console] properties` / `[ga4]
properties` or no credentials (Airflow connection `google_search_console` / `google_analytics` or the
environment), or `[crawler] enabled = false`. A fetcher that *fails* (an
HTTP 403, an unreachable API) is a failed task with a note under `runs/`; ingest, build, gate, publish and
report still run, and the last task, `sources_succeeded`, fails the run to say a source is missing.

**Partition date.** Each run processes one day D, the same way for every kind of run: the `run_date` param
when given, else the day of the run's *logical date* in the site's time zone. The nightly run for D (logical
date D 03:30, run once D is over), a backfill of D (*Trigger -> Backfill* in the UI) and a manual run
triggered with logical date D all process D. A manual run without a logical date processes the last
complete day, as the nightly run would.

**One writer at a time.** `build_gate_publish` builds, gates and publishes as one unit under the warehouse
writer lock (a file lock in the data root, also taken by `socialrank` commands) and in the one-slot pool
`socialrank_warehouse_writer`. Backfill runs ignore `max_active_runs`, so overlapping runs take turns
there: each build starts from the version published when it begins, and publish is a compare-and-swap on
it, so a later publish never replaces a newer version with an older one. Ingest takes the ingest lock.
Waiting for a lock is logged; after `[locks] wait_seconds` the task fails (and retries).

**Assets.** `ingest` and `crawl` update one asset per lake dataset (`socialrank://lake/<dataset>`) with the
partition and the rows they added; `build_gate_publish` updates `socialrank://warehouse/published` with
the partition, version, the version it started from, as-of date, gate result and row counts.

**Failures.** Transient faults retry with exponential backoff. A failed gate fails the run at once (no retry)
and the previous warehouse stays published; Data Docs under `reports/data_docs/` show why, and a note is
written under `runs/` in the data root. The gate fails a warehouse without a ranking row or without an owned
page that ranks. An ingest that kept no record of a delivery it read (every record quarantined), or that
finds nothing ever landed, fails `ingest` at once (no retry) with the quarantine's reasons: nothing is built
or published.
"""


@dag(
    dag_id="socialrank_nightly",
    description=f"Nightly at 03:30 {SETTINGS.timezone.key}: ingest, crawl, build, gate, publish, report",
    schedule=CronDataIntervalTimetable("30 3 * * *", timezone=SETTINGS.timezone.key),
    start_date=dt.datetime(2026, 1, 1, tzinfo=SETTINGS.timezone),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "on_failure_callback": on_task_failure},
    params={
        "run_date": Param(
            None,
            type=["null", "string"],
            format="date",
            description="Process this day (YYYY-MM-DD) instead of the run's own date",
        ),
        "full_rebuild": Param(
            False,
            type="boolean",
            description="Rebuild every warehouse table from the lake instead of updating the published one",
        ),
    },
    tags=["socialrank", "nightly"],
    doc_md=DOC,
)
def socialrank_nightly() -> None:
    @task
    def partition(dag_run: Any = None, params: dict[str, Any] | None = None) -> str:
        from pipeline.stages import partition_date

        run_date = (params or {}).get("run_date")
        logical_date = getattr(dag_run, "logical_date", None)
        interval_start = getattr(dag_run, "data_interval_start", None)
        return partition_date(logical_date, interval_start, run_date, SETTINGS.timezone).isoformat()

    @task(pool=CRAWLER_POOL)
    def fetch_search_console(
        run_date: str, dag_run: Any = None, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        from pipeline.stages import fetch_search_console as fetch_stage

        backfill = bool((params or {}).get("run_date")) or getattr(dag_run, "run_type", None) == "backfill"
        summary = fetch_stage(SETTINGS, dt.date.fromisoformat(run_date), backfill=backfill, in_airflow=True)
        if summary.get("skipped"):
            raise AirflowSkipException(summary["reason"])
        return summary

    @task(pool=CRAWLER_POOL)
    def fetch_ga4(run_date: str, dag_run: Any = None, params: dict[str, Any] | None = None) -> dict[str, Any]:
        from pipeline.stages import fetch_ga4 as fetch_stage

        backfill = bool((params or {}).get("run_date")) or getattr(dag_run, "run_type", None) == "backfill"
        summary = fetch_stage(SETTINGS, dt.date.fromisoformat(run_date), backfill=backfill, in_airflow=True)
        if summary.get("skipped"):
            raise AirflowSkipException(summary["reason"])
        return summary

    # A fetcher that failed (a Search Console 403, say) is a failed task with its failure note; the
    # stages after it still run (ALL_DONE), and the last task fails the run to say so.
    @task(
        pool=LAKE_WRITER_POOL,
        outlets=[LAKE_ASSETS[name] for name in INGESTED_DATASETS],
        trigger_rule=TriggerRule.ALL_DONE,
    )
    def ingest(run_date: str, outlet_events: Any = None) -> dict[str, Any]:
        summary = ingest_landed(SETTINGS)
        record_lake_events(
            outlet_events,
            INGESTED_DATASETS,
            summary["rows_by_dataset"],
            {"partition": run_date, "by_status": summary["by_status"]},
        )
        return summary

    @task(
        pool=CRAWLER_POOL,
        outlets=[LAKE_ASSETS[name] for name in CRAWLED_DATASETS],
        trigger_rule=TriggerRule.ALL_DONE,
    )
    def crawl(run_date: str, outlet_events: Any = None) -> dict[str, Any]:
        from pipeline.stages import crawl as crawl_stage

        summary = crawl_stage(SETTINGS, dt.date.fromisoformat(run_date))
        if summary.get("skipped"):
            raise AirflowSkipException(summary["reason"])
        rows = {"crawl_fetches": summary["fetch_rows_written"], "crawl_links": summary["link_rows_written"]}
        record_lake_events(
            outlet_events, CRAWLED_DATASETS, rows, {"partition": run_date, "crawl_id": summary["crawl_id"]}
        )
        return summary

    @task(pool=WAREHOUSE_WRITER_POOL, outlets=[WAREHOUSE_ASSET], trigger_rule=TriggerRule.ALL_DONE)
    def build_gate_publish(
        run_date: str,
        ingested: dict[str, Any] | None,
        params: dict[str, Any] | None = None,
        outlet_events: Any = None,
        ti: Any = None,
        dag_run: Any = None,
    ) -> dict[str, Any]:
        from pipeline.gate import GateFailed
        from pipeline.stages import build_check_publish

        if not ingested:
            raise AirflowFailException("ingest did not succeed: nothing is built or published")
        full = bool((params or {}).get("full_rebuild"))
        try:
            unit = build_check_publish(SETTINGS, dt.date.fromisoformat(run_date), full=full)
        except GateFailed as failure:
            raise FailureRecorded(str(failure)) from failure  # the gate wrote its note
        outlet_events[WAREHOUSE_ASSET].extra = {
            "partition": run_date,
            "version": unit["publish"]["version"],
            "as_of": unit["publish"]["as_of"],
            "data_through": unit["publish"]["data_through"],
            "started_from": unit["build"]["started_from"],
            "gate": "passed",
            "row_counts": unit["build"]["row_counts"],
            # Published without these sources' new data (their failure notes are under runs/).
            "failed_sources": failed_tasks(ti, dag_run, FETCHERS),
        }
        return unit

    @task
    def report(unit: dict[str, Any]) -> str:
        from pipeline.stages import write_report

        return str(write_report(SETTINGS)["report"])

    @task(trigger_rule=TriggerRule.ALL_DONE, retries=0)
    def sources_succeeded(ti: Any = None, dag_run: Any = None) -> None:
        """Fail the run when a fetcher failed, although the rest went on: the run says so."""
        failed = failed_tasks(ti, dag_run, FETCHERS)
        if failed:
            raise FailureRecorded(f"{', '.join(failed)} failed (failure notes under runs/); the rest ran")

    run_date = partition()
    fetched = [fetch_search_console(run_date), fetch_ga4(run_date)]
    ingested = ingest(run_date)
    crawled = crawl(run_date)
    fetched >> ingested >> crawled
    unit = build_gate_publish(run_date, ingested)
    crawled >> unit
    report(unit)
    unit >> sources_succeeded()  # beside report: each leaf that fails fails the run


socialrank_nightly()
