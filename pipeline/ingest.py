"""Ingest: sweep the landing zone, detect each delivery's format, write its records to the lake.

Order of writes, for crash safety: the delivery's data files (named after its content hash, so a
rerun replaces rather than adds), then its quarantined records, then its ledger entry last. A
delivery with a ledger entry is never ingested again; one without is (re)ingested whole.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import lake
from pipeline.config import Settings
from pipeline.delivery import Delivery, UnreadableDelivery
from pipeline.progress import progress_bar
from pipeline.schemas import INGEST_LEDGER, QUARANTINED_RECORDS, RECORD_DATASETS
from pipeline.sources import detect_format
from pipeline.sources.base import MalformedInput, ParseContext, Record, Rejected

log = logging.getLogger(__name__)

IGNORED_SUFFIXES = (".ready", ".inprogress", ".part", ".tmp", ".crdownload")
PRIMARY_KINDS = ("post", "backlink", "ranking")
CHUNK_ROWS = 250_000
REASONS_KEPT = 5


@dataclass
class DeliveryResult:
    landing_path: str
    delivery_id: str | None
    status: str
    format: str | None = None
    counts: Counter[str] = field(default_factory=Counter)
    quarantined: int = 0
    reasons: list[str] = field(default_factory=list)
    message: str | None = None

    @property
    def read(self) -> int:
        return sum(self.counts[kind] for kind in PRIMARY_KINDS) + self.quarantined

    @property
    def kept(self) -> int:
        return sum(self.counts[kind] for kind in PRIMARY_KINDS)


@dataclass
class IngestReport:
    results: list[DeliveryResult] = field(default_factory=list)

    def by_status(self, status: str) -> list[DeliveryResult]:
        return [r for r in self.results if r.status == status]

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for result in self.results:
            total.update(result.counts)
            total["quarantined_records"] += result.quarantined
        return total

    def as_dict(self) -> dict[str, Any]:
        return {
            "deliveries": len(self.results),
            "by_status": dict(Counter(r.status for r in self.results)),
            "records": dict(self.totals()),
            "results": [
                {
                    "landing_path": r.landing_path,
                    "delivery_id": r.delivery_id,
                    "status": r.status,
                    "format": r.format,
                    "counts": dict(r.counts),
                    "quarantined": r.quarantined,
                    "reasons": r.reasons,
                    "message": r.message,
                }
                for r in self.results
            ],
        }


def discover_deliveries(landing: Path) -> list[Path]:
    """Deliveries are the files and folders at ``landing/<family>/<source>/<delivery>``."""
    found = []
    for path in sorted(landing.glob("*/*/*")):
        if path.name.startswith(".") or path.name.endswith(IGNORED_SUFFIXES):
            continue
        if path.is_file() or path.is_dir():
            found.append(path)
    return found


def ingested_delivery_ids(lake_root: Path) -> set[str]:
    """Ledger entries are one file per delivery, named after its content hash."""
    return {path.stem for path in (lake_root / INGEST_LEDGER.name).glob("*/*.parquet")}


class _RecordSink:
    """Buffers records per dataset and flushes them in bounded chunks of date-partitioned files."""

    def __init__(self, lake_root: Path, delivery_id: str, source_file: str) -> None:
        self.lake_root = lake_root
        self.delivery_id = delivery_id
        self.source_file = source_file
        self.buffers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.chunks: Counter[str] = Counter()

    def add(self, record: Record) -> None:
        row = record.row
        row["delivery_id"] = self.delivery_id
        if record.kind == "post":
            row["source_file"] = self.source_file
        buffer = self.buffers[record.kind]
        buffer.append(row)
        if len(buffer) >= CHUNK_ROWS:
            self.flush(record.kind)

    def flush(self, kind: str) -> None:
        rows = self.buffers.pop(kind, [])
        if rows:
            stem = f"{self.delivery_id}-{self.chunks[kind]:04d}"
            lake.write_partitioned(self.lake_root, RECORD_DATASETS[kind], rows, stem)
            self.chunks[kind] += 1

    def flush_all(self) -> None:
        for kind in list(self.buffers):
            self.flush(kind)


def _quarantine_file(settings: Settings, path: Path, delivery_id: str, reason: str) -> None:
    """Keep the bad delivery under ``quarantine/files/<id>/`` with its reason; the landing copy stays."""
    target = settings.data.quarantine / "files" / delivery_id
    target.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        shutil.copytree(path, target / path.name, dirs_exist_ok=True)
    else:
        shutil.copy2(path, target / path.name)
    (target / "reason.json").write_text(
        json.dumps({"landing_path": str(path), "reason": reason, "delivery_id": delivery_id}, indent=2)
        + "\n",
        encoding="utf-8",
    )


def _landed_on(path: Path) -> dt.date:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC).date()


def _write_ledger(settings: Settings, result: DeliveryResult, size: int, now: dt.datetime) -> None:
    assert result.delivery_id is not None
    row = {
        "delivery_id": result.delivery_id,
        "landing_path": result.landing_path,
        "format": result.format,
        "size_bytes": size,
        "status": result.status,
        "message": result.message,
        "records_read": result.read,
        "records_kept": result.kept,
        "records_quarantined": result.quarantined,
        "ingested_at": now,
        "ingest_date": now.date(),
    }
    lake.write_partitioned(settings.data.lake, INGEST_LEDGER, [row], result.delivery_id)


def _write_rejections(
    settings: Settings, result: DeliveryResult, rejected: list[Rejected], now: dt.datetime
) -> None:
    assert result.delivery_id is not None
    rows = [
        {
            "delivery_id": result.delivery_id,
            "landing_path": result.landing_path,
            "member": item.member,
            "location": item.location,
            "reason": item.reason,
            "excerpt": item.excerpt,
            "quarantined_at": now,
            "ingest_date": now.date(),
        }
        for item in rejected
    ]
    lake.write_partitioned(settings.data.lake, QUARANTINED_RECORDS, rows, result.delivery_id)


def _delete_derived(settings: Settings, delivery_id: str) -> None:
    for dataset in (*RECORD_DATASETS.values(), QUARANTINED_RECORDS):
        lake.delete_files(settings.data.lake, dataset, f"{delivery_id}*")


def ingest_delivery(settings: Settings, path: Path, known: set[str], now: dt.datetime) -> DeliveryResult:
    relative = path.relative_to(settings.data.landing).as_posix()
    delivery = Delivery(path)
    try:
        delivery_id = delivery.content_hash()
        size = (
            sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
            if path.is_dir()
            else path.stat().st_size
        )
    except UnreadableDelivery as exc:
        # An I/O fault may pass: no ledger entry, so the next run tries again.
        return DeliveryResult(relative, None, "unreadable", message=str(exc))
    if delivery_id in known:
        return DeliveryResult(
            relative, delivery_id, "duplicate", message="already ingested (same content hash)"
        )

    _delete_derived(settings, delivery_id)  # leftovers of an attempt that died before its ledger entry
    result = DeliveryResult(relative, delivery_id, "ingested")
    rejected: list[Rejected] = []
    sink = _RecordSink(settings.data.lake, delivery_id, relative)
    try:
        source_format = detect_format(delivery)
        if source_format is None:
            raise UnreadableDelivery(f"{relative}: not a known export format")
        result.format = source_format.name
        context = ParseContext(www_policy=settings.www_policy, landed_on=_landed_on(path))
        try:
            for item in source_format.parse(delivery, context):
                if isinstance(item, Rejected):
                    rejected.append(item)
                else:
                    result.counts[item.kind] += 1
                    sink.add(item)
        except MalformedInput as exc:
            rejected.append(
                Rejected(exc.member, exc.location, f"{exc.reason}; the rest of the member was skipped")
            )
        sink.flush_all()
    except UnreadableDelivery as exc:
        result.status, result.message = "quarantined", str(exc)
    except Exception as exc:  # a parser bug must not stop the run: quarantine the file, keep the traceback
        log.error("parser failed on %s:\n%s", relative, traceback.format_exc())
        result.status, result.message = "quarantined", f"{relative}: parser error {type(exc).__name__}: {exc}"
    finally:
        delivery.close()

    if result.status == "quarantined":
        assert result.message is not None
        result.counts.clear()
        _delete_derived(settings, delivery_id)
        _quarantine_file(settings, path, delivery_id, result.message)
    result.quarantined = len(rejected)
    result.reasons = [f"{item.member} {item.location}: {item.reason}" for item in rejected[:REASONS_KEPT]]
    if rejected:
        _write_rejections(settings, result, rejected, now)
    _write_ledger(settings, result, size, now)
    return result


def run_ingest(settings: Settings, now: dt.datetime | None = None) -> IngestReport:
    """Ingest every delivery in the landing zone that the ledger does not hold yet."""
    settings.data.ensure()
    lake.ensure_datasets(settings.data.lake)
    now = now or dt.datetime.now(dt.UTC)
    known = ingested_delivery_ids(settings.data.lake)
    deliveries = discover_deliveries(settings.data.landing)
    report = IngestReport()
    log.info(
        "ingest: %d deliveries in %s, %d already in the ledger",
        len(deliveries),
        settings.data.landing,
        len(known),
    )
    with progress_bar("ingest", total=len(deliveries)) as advance:
        for path in deliveries:
            started = time.perf_counter()
            result = ingest_delivery(settings, path, known, now)
            if result.delivery_id:
                known.add(result.delivery_id)
            report.results.append(result)
            _log_result(result, time.perf_counter() - started)
            advance()
    totals = report.totals()
    log.info(
        "ingest done: %d ingested, %d duplicates, %d quarantined files, %d unreadable; records %s",
        len(report.by_status("ingested")),
        len(report.by_status("duplicate")),
        len(report.by_status("quarantined")),
        len(report.by_status("unreadable")),
        ", ".join(f"{kind} {count}" for kind, count in sorted(totals.items())) or "none",
    )
    return report


def _log_result(result: DeliveryResult, seconds: float) -> None:
    if result.status == "ingested":
        log.info(
            "%s [%s]: read %d, kept %d, quarantined %d (%s) in %.2fs",
            result.landing_path,
            result.format,
            result.read,
            result.kept,
            result.quarantined,
            ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())),
            seconds,
        )
        for reason in result.reasons:
            log.warning("  quarantined record: %s", reason)
    elif result.status == "duplicate":
        log.info("%s: skipped, %s", result.landing_path, result.message)
    else:
        log.warning("%s: %s: %s", result.landing_path, result.status, result.message)
