"""The pipeline's stages as plain functions: what a DAG task or a CLI command calls.

Each returns a small JSON-able summary (for XCom, asset event metadata and the run log).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pipeline import gate, locks, report, sentinels, warehouse
from pipeline.config import Settings
from pipeline.ingest import IngestReport, ingested_delivery_ids, run_ingest
from pipeline.schemas import INGEST_LEDGER, QUARANTINED_RECORDS, RECORD_DATASETS

log = logging.getLogger(__name__)


def partition_date(
    logical_date: dt.datetime | None,
    data_interval_start: dt.datetime | None,
    run_date: str | None,
    timezone: ZoneInfo,
) -> dt.date:
    """The one date partition a run processes, derived the same way for every kind of run.

    A ``run_date`` param wins; otherwise it is the day of the run's logical date in the site's time
    zone: the nightly run for day D (logical date D, run after D ends), a backfill of D and a manual
    run triggered with logical date D all process D. A manual run without a logical date processes
    the day its inferred data interval starts: the last complete day, as the nightly run would.
    """
    if run_date:
        return dt.date.fromisoformat(run_date)
    moment = logical_date or data_interval_start
    if moment is None:
        raise ValueError("a run needs a run_date, a logical date or a data interval")
    return moment.astimezone(timezone).date()


class NothingKept(Exception):
    """The ingest kept no record of a delivery it read (every record quarantined), or nothing was ever
    landed: the run stops before building, so no empty answer is published (exit 1, not retried; the
    failure note is written). ``summary`` is the ingest's summary."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.summary = summary


def nothing_kept(settings: Settings, report: IngestReport) -> str | None:
    """Why the ingest's result must not be built on, or None: deliveries read whose every record was
    quarantined (the quarantine's first reasons and how to look at the file), or an empty ledger."""
    emptied = [
        r
        for r in report.by_status("ingested")
        if r.quarantined and not any(r.counts[kind] for kind in RECORD_DATASETS)
    ]
    if emptied:
        return "; ".join(
            f"kept no record of landing/{r.landing_path} ({r.format}): all {r.quarantined} records "
            f"quarantined, e.g. {'; '.join(r.reasons[:2])}. Look at it with 'socialrank inspect "
            f"{settings.data.landing / r.landing_path}'"
            for r in emptied
        )
    if not ingested_delivery_ids(settings.data.lake):
        unread = " (only files it does not read: see the warnings above)"
        return (
            f"nothing to ingest: the landing zone {settings.data.landing} holds no delivery"
            f"{unread if report.results or report.misplaced else ''}. Land exports in "
            "landing/<family>/<source>/ (e.g. landing/rankings/tracker/positions.csv), "
            "or write the sample data with 'socialrank demo-data'"
        )
    return None


def ingest(settings: Settings) -> dict[str, Any]:
    """Ingest what landed; one ingest at a time per data root (CLI runs, nightly and event-driven DAGs).
    Raises :class:`NothingKept` (after recording a failure note) when a run must not go on to build."""
    with locks.held(settings.data.root / ".ingest.lock", "ingest", settings.lock_wait_seconds):
        # Sentinels there before the sweep announce deliveries that had landed: this ingest records them.
        announced = sentinels.present(settings.data.landing)
        result = run_ingest(settings)
        consumed = sentinels.consume(settings.data.landing, announced)
    why = nothing_kept(settings, result)
    summary = result.as_dict()
    records = summary["records"]
    rows_by_dataset = {dataset.name: records.get(kind, 0) for kind, dataset in RECORD_DATASETS.items()}
    rows_by_dataset[QUARANTINED_RECORDS.name] = records.get("quarantined_records", 0)
    rows_by_dataset[INGEST_LEDGER.name] = sum(
        count for status, count in summary["by_status"].items() if status in ("ingested", "quarantined")
    )
    ingested: dict[str, Any] = {
        **{key: summary[key] for key in ("deliveries", "by_status", "records", "misplaced")},
        "rows_by_dataset": rows_by_dataset,
        "sentinels": consumed,
    }
    if why is not None:
        record_failure(settings, "ingest", why, ingested)
        raise NothingKept(why, ingested)
    return ingested


def skipped(stage: str, reason: str) -> dict[str, Any]:
    """A stage whose source is not configured: skipped with a clear message, never failed."""
    log.info("%s skipped: %s", stage, reason)
    return {"skipped": True, "reason": reason}


def fetch_search_console(
    settings: Settings, run_date: dt.date, *, backfill: bool = False, in_airflow: bool = False
) -> dict[str, Any]:
    """Land Search Console API responses: the days final since the last run, or exactly ``run_date``."""
    configured = settings.search_console
    if not configured.properties:
        return skipped("search_console", "no properties configured ([search_console] properties)")
    from pipeline.crawl import google_credentials, search_console

    found = search_console.find_credentials(configured, os.environ, in_airflow)
    if found is None:
        return skipped(
            "search_console",
            f"no credentials (Airflow connection {configured.connection_id!r}, "
            f"${search_console.ENV_ACCESS_TOKEN}, ${search_console.ENV_CREDENTIALS_FILE} "
            f"or ${google_credentials.ENV_GOOGLE_CREDENTIALS})",
        )
    log.info("search_console: credentials from %s", found.source)
    client = search_console.api_client(settings, found.credentials)
    results = search_console.fetch_properties(settings, client, run_date, backfill=backfill)
    summary = {
        "run_date": run_date.isoformat(),
        "backfill": backfill,
        "requests": client.api.requests,
        "properties": {site: vars(result) for site, result in results.items()},
    }
    failed = {site: result.error for site, result in results.items() if result.error}
    if failed:
        log.error("search_console: %s", json.dumps(summary, default=str))
        raise search_console.SearchConsoleError("; ".join(str(error) for error in failed.values()))
    return summary


def fetch_ga4(
    settings: Settings, run_date: dt.date, *, backfill: bool = False, in_airflow: bool = False
) -> dict[str, Any]:
    """Land GA4 Data API reports: the run's day and the days GA4 may still revise, or exactly ``run_date``."""
    configured = settings.ga4
    if not configured.properties:
        return skipped("ga4", "no properties configured ([ga4] properties)")
    from pipeline.crawl import ga4, google_credentials

    found = ga4.find_credentials(configured, os.environ, in_airflow)
    if found is None:
        return skipped(
            "ga4",
            f"no credentials (Airflow connection {configured.connection_id!r}, ${ga4.ENV_ACCESS_TOKEN}, "
            f"${ga4.ENV_CREDENTIALS_FILE} or ${google_credentials.ENV_GOOGLE_CREDENTIALS})",
        )
    log.info("ga4: credentials from %s", found.source)
    client = ga4.api_client(settings, found.credentials)
    try:
        results = ga4.fetch_properties(settings, client, run_date, backfill=backfill)
    finally:
        client.api.http.close()
    summary = {
        "run_date": run_date.isoformat(),
        "backfill": backfill,
        "requests": client.api.requests,
        "properties": {prop: vars(result) for prop, result in results.items()},
    }
    failed = {prop: result.error for prop, result in results.items() if result.error}
    if failed:
        log.error("ga4: %s", json.dumps(summary, default=str))
        raise ga4.Ga4Error("; ".join(str(error) for error in failed.values()))
    return summary


def crawl(settings: Settings, run_date: dt.date) -> dict[str, Any]:
    """Fetch the social links not fetched recently (and linking pages, when configured) into the lake."""
    if not settings.crawler.enabled:
        return skipped("crawl", "the crawler is off ([crawler] enabled = false in socialrank.toml)")
    from pipeline.crawl.crawler import run_crawl

    return run_crawl(settings, run_date).as_dict()


def build(settings: Settings, run_date: dt.date, full: bool = False) -> dict[str, Any]:
    result = warehouse.build(settings, run_date, full=full)
    return {
        "build_path": str(result.path),
        "version": result.version,
        "mode": result.mode,
        "base_version": result.base_version,
        "started_from": result.started_from,
        "run_date": result.run_date.isoformat(),
        "as_of": result.as_of.isoformat(),
        "data_through": result.data_through.isoformat() if result.data_through else None,
        "row_counts": result.row_counts,
        "seconds": round(result.seconds, 2),
    }


def gate_result_path(build_path: Path) -> Path:
    """Where a passed gate's summary is kept beside its build, for a later ``publish``."""
    return build_path.with_name(build_path.stem + ".gate.json")


def check(settings: Settings, build_path: Path) -> dict[str, Any]:
    """Run the gate; on failure record why next to the data and raise :class:`pipeline.gate.GateFailed`
    (:class:`pipeline.warehouse.NotPublishable` for a half-written build)."""
    warehouse.finished_build(build_path)
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
    result = warehouse.finished_build(build_path)
    target = warehouse.publish(settings, result, gate_summary)
    gate_result_path(build_path).unlink(missing_ok=True)
    freshness = result.freshness(settings)
    if warning := freshness.warning():
        log.warning("%s", warning)
    return {
        "warehouse": str(target),
        "version": result.version,
        **freshness.as_dict(),
    }


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


class SourcesFailed(Exception):
    """The run finished, but sources it fetches from failed (each recorded): exit 3."""

    def __init__(self, result: dict[str, Any], stages: list[str]) -> None:
        super().__init__(
            f"{' and '.join(stages)} failed (failure notes under runs/); the rest of the run completed "
            "and the warehouse was published without their new data"
        )
        self.result = result
        self.stages = stages


def build_check_publish(settings: Settings, run_date: dt.date, full: bool = False) -> dict[str, Any]:
    """Build, gate and publish one partition as one unit under the warehouse writer lock, so no other
    run builds or publishes in between: the build starts from the version it then replaces."""
    with warehouse.writer_lock(settings):
        built = build(settings, run_date, full)
        checked = check(settings, Path(built["build_path"]))
        published = publish_build(settings, Path(built["build_path"]), checked)
    return {"build": built, "gate": checked, "publish": published}


def fetch_stage(settings: Settings, stage: str, fetch: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run a stage that fetches from outside (Search Console, GA4, the crawler); a source that fails (an
    HTTP 403, an unreachable API) is a failed stage, recorded, and the run goes on without its data."""
    from pipeline.crawl.ga4 import Ga4Error
    from pipeline.crawl.http import FetchFailed
    from pipeline.crawl.search_console import SearchConsoleError

    try:
        return fetch()
    except (SearchConsoleError, Ga4Error, FetchFailed) as exc:
        note = record_failure(settings, stage, str(exc))
        return {"failed": True, "error": str(exc), "failure_note": str(note)}


def run_all(settings: Settings, run_date: dt.date, full: bool = False) -> dict[str, Any]:
    """Every stage in order, without Airflow: Search Console, GA4, ingest, crawl, then build, gate and publish
    as one unit, report. Raises :class:`SourcesFailed` after the rest when a fetching stage failed."""
    search_console = fetch_stage(settings, "search_console", lambda: fetch_search_console(settings, run_date))
    ga4 = fetch_stage(settings, "ga4", lambda: fetch_ga4(settings, run_date))
    ingested = ingest(settings)
    crawled = fetch_stage(settings, "crawl", lambda: crawl(settings, run_date))
    unit = build_check_publish(settings, run_date, full)
    reported = write_report(settings)
    result = {
        "search_console": search_console,
        "ga4": ga4,
        "ingest": ingested,
        "crawl": crawled,
        **unit,
        "report": reported,
    }
    failed = [stage for stage in ("search_console", "ga4", "crawl") if result[stage].get("failed")]
    if failed:
        raise SourcesFailed(result, failed)
    return result
