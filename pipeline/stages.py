"""The pipeline's stages as plain functions: what a DAG task or a CLI command calls.

Each returns a small JSON-able summary (for XCom, asset event metadata and the run log).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pipeline import gate, report, warehouse
from pipeline.config import Settings
from pipeline.ingest import run_ingest

log = logging.getLogger(__name__)


def partition_date(
    data_interval_start: dt.datetime | None, run_date: str | None, timezone: ZoneInfo
) -> dt.date:
    """The one date partition a run processes, derived the same way for every kind of run.

    A ``run_date`` param (manual runs) wins; otherwise it is the day, in the site's time zone, on which
    the run's data interval starts: the nightly run after day D and a backfill of day D both get D.
    """
    if run_date:
        return dt.date.fromisoformat(run_date)
    if data_interval_start is None:
        raise ValueError("a run needs either a run_date or a data interval")
    return data_interval_start.astimezone(timezone).date()


def ingest(settings: Settings) -> dict[str, Any]:
    result = run_ingest(settings)
    summary = result.as_dict()
    return {key: summary[key] for key in ("deliveries", "by_status", "records")}


def build(settings: Settings, run_date: dt.date) -> dict[str, Any]:
    result = warehouse.build(settings, run_date)
    return {
        "build_path": str(result.path),
        "version": result.version,
        "run_date": result.run_date.isoformat(),
        "as_of": result.as_of.isoformat(),
        "row_counts": result.row_counts,
        "seconds": round(result.seconds, 2),
    }


def gate_result_path(build_path: Path) -> Path:
    """Where a passed gate's summary is kept beside its build, for a later ``publish``."""
    return build_path.with_name(build_path.stem + ".gate.json")


def check(settings: Settings, build_path: Path) -> dict[str, Any]:
    """Run the gate; on failure record why next to the data and raise :class:`pipeline.gate.GateFailed`."""
    try:
        summary = gate.run_gate(settings, build_path)
    except gate.GateFailed as failure:
        record_failure(settings, "gate", str(failure), failure.summary)
        raise
    gate_result_path(build_path).write_text(
        json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8"
    )
    return summary


def publish_build(settings: Settings, build_path: Path, gate_summary: dict[str, Any]) -> dict[str, Any]:
    """Publish a build that passed the gate; its version and dates come from its own ``meta.build_info``."""
    if not gate_summary.get("success"):
        raise gate.GateFailed(gate_summary)
    result = warehouse.read_build(build_path)
    target = warehouse.publish(settings, result, gate_summary)
    gate_result_path(build_path).unlink(missing_ok=True)
    return {"warehouse": str(target), "version": result.version, "as_of": result.as_of.isoformat()}


def write_report(settings: Settings) -> dict[str, Any]:
    return {"report": str(report.write_report(settings))}


def record_failure(
    settings: Settings, stage: str, message: str, details: dict[str, Any] | None = None
) -> Path:
    """Leave a clear, dated failure note under ``runs/`` in the data root (also for failure callbacks)."""
    settings.data.run_log.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    path = settings.data.run_log / f"failure-{now.strftime('%Y%m%dT%H%M%S%f')}-{stage}.json"
    path.write_text(
        json.dumps(
            {"stage": stage, "at": now.isoformat(), "message": message, "details": details},
            indent=2,
            default=str,
        )
        + "\n",
        encoding="utf-8",
    )
    log.error("%s failed: %s (details in %s)", stage, message, path)
    return path


def run_all(settings: Settings, run_date: dt.date) -> dict[str, Any]:
    """Every stage in order, without Airflow: ingest, build, gate, publish, report."""
    ingested = ingest(settings)
    with warehouse.writer_lock(settings):
        built = build(settings, run_date)
        checked = check(settings, Path(built["build_path"]))
        published = publish_build(settings, Path(built["build_path"]), checked)
    reported = write_report(settings)
    return {"ingest": ingested, "build": built, "gate": checked, "publish": published, "report": reported}
