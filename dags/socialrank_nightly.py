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
    on_task_failure,
    record_lake_events,
)

SETTINGS = load_settings()

DOC = """
### socialrank nightly

Pulls Search Console data -> ingests what landed -> crawls new social links -> builds a new DuckDB
warehouse from the lake -> runs the Great Expectations gate -> publishes the build atomically -> writes the
HTML report.

**Fetchers.** `fetch_search_console` lands the days that became final since the last run (a backfill or a
run with a `run_date` param: exactly its date); `crawl` fetches the social links not fetched recently. Both
run in the one-slot pool `socialrank_crawler`. Either is *skipped* (not failed) when its source is not
configured: no `[search_console] properties` or no credentials (Airflow connection
`google_search_console` or the environment), or `[crawler] enabled = false`.

**Partition date.** Each run processes one day, derived the same way for every kind of run: the `run_date`
param when given (manual runs), else the day its data interval starts, in the site's time zone. The nightly
run after day D and a backfill of day D both process D. Backfills: *Trigger -> Backfill* in the UI.

**Assets.** `ingest` and `crawl` update one asset per lake dataset (`socialrank://lake/<dataset>`) with the
partition and the rows they added; `publish` updates `socialrank://warehouse/published` with the partition,
version, as-of date, gate result and row counts.

**Failures.** Transient faults retry with exponential backoff. A failed gate fails the run at once (no retry)
and the previous warehouse stays published; Data Docs under `reports/data_docs/` show why, and a note is
written under `runs/` in the data root.
"""


@dag(
    dag_id="socialrank_nightly",
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
    def partition(
        data_interval_start: dt.datetime | None = None, params: dict[str, Any] | None = None
    ) -> str:
        from pipeline.stages import partition_date

        run_date = (params or {}).get("run_date")
        return partition_date(data_interval_start, run_date, SETTINGS.timezone).isoformat()

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

    @task(
        pool=LAKE_WRITER_POOL,
        outlets=[LAKE_ASSETS[name] for name in INGESTED_DATASETS],
        trigger_rule=TriggerRule.NONE_FAILED,
    )
    def ingest(run_date: str, outlet_events: Any = None) -> dict[str, Any]:
        from pipeline.stages import ingest as ingest_stage

        summary = ingest_stage(SETTINGS)
        record_lake_events(
            outlet_events,
            INGESTED_DATASETS,
            summary["rows_by_dataset"],
            {"partition": run_date, "by_status": summary["by_status"]},
        )
        return summary

    @task(pool=CRAWLER_POOL, outlets=[LAKE_ASSETS[name] for name in CRAWLED_DATASETS])
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

    @task(pool=WAREHOUSE_WRITER_POOL, trigger_rule=TriggerRule.NONE_FAILED)
    def build(
        run_date: str, ingested: dict[str, Any], params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        from pipeline.stages import build as build_stage

        full = bool((params or {}).get("full_rebuild"))
        return build_stage(SETTINGS, dt.date.fromisoformat(run_date), full=full)

    @task(retries=0)
    def gate(built: dict[str, Any]) -> dict[str, Any]:
        from pathlib import Path

        from pipeline.gate import GateFailed
        from pipeline.stages import check

        try:
            return check(SETTINGS, Path(built["build_path"]))
        except GateFailed as failure:
            raise AirflowFailException(str(failure)) from failure

    @task(pool=WAREHOUSE_WRITER_POOL, outlets=[WAREHOUSE_ASSET])
    def publish(built: dict[str, Any], checked: dict[str, Any], outlet_events: Any = None) -> dict[str, Any]:
        from pathlib import Path

        from pipeline.stages import publish_build

        published = publish_build(SETTINGS, Path(built["build_path"]), checked)
        outlet_events[WAREHOUSE_ASSET].extra = {
            "partition": built["run_date"],
            "version": published["version"],
            "as_of": published["as_of"],
            "gate": "passed",
            "row_counts": built["row_counts"],
        }
        return published

    @task
    def report(published: dict[str, Any]) -> str:
        from pipeline.stages import write_report

        return str(write_report(SETTINGS)["report"])

    run_date = partition()
    ingested = ingest(run_date)
    crawled = crawl(run_date)
    fetch_search_console(run_date) >> ingested >> crawled
    built = build(run_date, ingested)
    crawled >> built
    report(publish(built, gate(built)))


socialrank_nightly()
