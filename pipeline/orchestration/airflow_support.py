"""Assets, pools and callbacks shared by the DAG files."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from airflow.sdk import Asset
from airflow.sdk.exceptions import AirflowFailException

from pipeline.config import Settings, load_settings

log = logging.getLogger(__name__)

LAKE_WRITER_POOL = "socialrank_lake_writer"
WAREHOUSE_WRITER_POOL = "socialrank_warehouse_writer"
CRAWLER_POOL = "socialrank_crawler"

# One asset per lake dataset. The names mirror pipeline.schemas.ALL_DATASETS (a test holds them equal);
# importing the schemas here would load pyarrow at DAG parse time.
INGESTED_DATASETS = (
    "social_posts",
    "social_links",
    "engagement_snapshots",
    "backlinks",
    "rankings",
    "traffic_sessions",
    "ingest_ledger",
    "quarantined_records",
)
CRAWLED_DATASETS = ("crawl_fetches", "crawl_links")
LAKE_ASSETS = {
    name: Asset(name=f"socialrank_lake_{name}", uri=f"socialrank://lake/{name}")
    for name in (*INGESTED_DATASETS, *CRAWLED_DATASETS)
}
WAREHOUSE_ASSET = Asset(name="socialrank_warehouse", uri="socialrank://warehouse/published")

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "socialrank",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=20),
}


def record_lake_events(
    outlet_events: Any, datasets: tuple[str, ...], rows: dict[str, int], extra: dict[str, Any]
) -> None:
    """Attach each dataset's new row count, and the run's details, to its asset event."""
    for name in datasets:
        outlet_events[LAKE_ASSETS[name]].extra = {"rows": rows.get(name, 0), **extra}


def failed_tasks(ti: Any, dag_run: Any, task_ids: tuple[str, ...]) -> list[str]:
    """Which of ``task_ids`` failed in this run (asked of the API server: tasks have no database)."""
    states = ti.get_task_states(dag_id=dag_run.dag_id, run_ids=[dag_run.run_id], task_ids=list(task_ids))
    return sorted(task_id for task_id, state in states.get(dag_run.run_id, {}).items() if state == "failed")


class FailureRecorded(AirflowFailException):
    """A failure not worth retrying whose note under ``runs/`` is already written (a failed gate)."""


def ingest_landed(settings: Settings) -> dict[str, Any]:
    """The ingest stage as a task runs it: one that kept nothing of a delivery it read, or found nothing
    ever landed, fails its task at once (a retry would see the delivery as ingested and go on) and the
    run publishes nothing; the stage wrote its failure note."""
    from pipeline.stages import NothingKept, ingest

    try:
        return ingest(settings)
    except NothingKept as failure:
        raise FailureRecorded(str(failure)) from failure


def on_task_failure(context: Any) -> None:
    """Leave a clear note in the task log and, unless one was written already, under ``runs/``."""
    from pipeline.stages import record_failure

    task_instance = context.get("ti") or context.get("task_instance")
    task_id = getattr(task_instance, "task_id", "unknown-task")
    dag_id = getattr(task_instance, "dag_id", "unknown-dag")
    run_id = getattr(task_instance, "run_id", None)
    exception = context.get("exception")
    message = f"{dag_id}.{task_id} (run {run_id}) failed: {type(exception).__name__}: {exception}"
    log.error("%s", message)
    if isinstance(exception, FailureRecorded):
        return
    record_failure(load_settings(), task_id, message, {"dag_id": dag_id, "run_id": run_id})
