"""Event-driven ingestion: a ``*.ready`` sentinel in the landing zone runs the ingest at once. Wiring only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import Asset, AssetWatcher, dag, task

from pipeline.config import load_settings
from pipeline.orchestration.airflow_support import (
    DEFAULT_ARGS,
    INGESTED_DATASETS,
    LAKE_ASSETS,
    LAKE_WRITER_POOL,
    ingest_landed,
    on_task_failure,
    record_lake_events,
)
from pipeline.orchestration.triggers import ReadySentinelTrigger

SETTINGS = load_settings(require_sites=True)

LANDING_ASSET = Asset(
    name="socialrank_landing",
    uri="socialrank://landing",
    watchers=[AssetWatcher(name="ready_sentinel", trigger=ReadySentinelTrigger(str(SETTINGS.data.landing)))],
)

DOC = """
### socialrank event-driven ingest

Runs when a delivery's sentinel (`landing/<anything>.ready`) appears: the trigger marks it announced
(renames it to the hidden `.<name>.ready.announced`) and fires an asset event; this DAG ingests every
delivery the ledger does not hold yet (by content hash, so nothing is ingested twice), then records and
removes every sentinel and marker that was there when it began. A sentinel whose event reached no run
(merged into another run's events, a triggerer that died) is thus still recorded, by this DAG's next run or
the nightly ingest. Each lake dataset's asset event carries the rows it added, `sentinels` (recorded by this
ingest) and `announced` (the events that started it). The nightly DAG builds and publishes the warehouse.
An ingest that kept no record of a delivery it read (every record quarantined) fails its task, not retried.
"""


@dag(
    dag_id="socialrank_ingest_events",
    schedule=[LANDING_ASSET],
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "on_failure_callback": on_task_failure},
    tags=["socialrank", "ingest", "event-driven"],
    doc_md=DOC,
)
def socialrank_ingest_events() -> None:
    @task(pool=LAKE_WRITER_POOL, outlets=[LAKE_ASSETS[name] for name in INGESTED_DATASETS])
    def ingest(outlet_events: Any = None, triggering_asset_events: Any = None) -> dict[str, Any]:
        summary = ingest_landed(SETTINGS)
        # The sentinels this ingest recorded (and removed): those announced by the events that started it,
        # and any other that was there, whose event went to no run or to this one.
        announced = [
            (event.extra or {}).get("payload", {}).get("sentinel")
            for events in (triggering_asset_events or {}).values()
            for event in events
        ]
        record_lake_events(
            outlet_events,
            INGESTED_DATASETS,
            summary["rows_by_dataset"],
            {"sentinels": summary["sentinels"], "announced": announced, "by_status": summary["by_status"]},
        )
        return summary

    ingest()


socialrank_ingest_events()
