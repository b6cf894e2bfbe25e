"""Assets, pools and callbacks shared by the DAG files."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from airflow.sdk import Asset

from pipeline.config import load_settings

log = logging.getLogger(__name__)

LAKE_WRITER_POOL = "socialrank_lake_writer"
WAREHOUSE_WRITER_POOL = "socialrank_warehouse_writer"

LAKE_ASSET = Asset(name="socialrank_lake", uri="socialrank://lake")
WAREHOUSE_ASSET = Asset(name="socialrank_warehouse", uri="socialrank://warehouse/published")

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "socialrank",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=20),
}


def on_task_failure(context: Any) -> None:
    """Leave a clear note in the task log and under the data root's ``runs/`` folder."""
    from pipeline.stages import record_failure

    task_instance = context.get("ti") or context.get("task_instance")
    task_id = getattr(task_instance, "task_id", "unknown-task")
    dag_id = getattr(task_instance, "dag_id", "unknown-dag")
    run_id = getattr(task_instance, "run_id", None)
    exception = context.get("exception")
    message = f"{dag_id}.{task_id} (run {run_id}) failed: {type(exception).__name__}: {exception}"
    log.error("%s", message)
    record_failure(load_settings(), task_id, message, {"dag_id": dag_id, "run_id": run_id})
