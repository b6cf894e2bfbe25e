"""Ingest: sweep the landing zone, detect each delivery's format, write its records to the lake.

Deliveries are the files and folders at ``landing/<family>/<source>/<delivery>``. A file above that
level (directly in ``landing/``, or in a family folder) is not ingested: it is reported by path with
the folder its format lands in (docs/decisions.md). An empty delivery is reported and not ledgered,
so that it is named again until it is replaced.

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
from collections import Counter, defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline import lake
from pipeline.bulkhead import (
    Failed,
    FormatFound,
    IsolatedParse,
    ParseJob,
    RecordBatch,
    RejectedBatch,
)
from pipeline.config import Settings
from pipeline.delivery import Delivery, UnreadableDelivery, tree_size
from pipeline.faults import fault_point
from pipeline.parallel_parse import BlockOutput, RowStamp, worker_count
from pipeline.progress import progress_bar
from pipeline.schemas import INGEST_LEDGER, QUARANTINED_RECORDS, RECORD_DATASETS
from pipeline.sources import registration_of
from pipeline.sources.base import (
    ParseContext,
    Rejected,
    mask_personal_data,
)
from pipeline.sources.diagnosis import empty_reason

log = logging.getLogger(__name__)

IGNORED_SUFFIXES = (".ready", ".inprogress", ".part", ".tmp", ".crdownload")
# landing/<family>/<source>/<delivery>
DELIVERY_DEPTH = 3
PRIMARY_KINDS = ("post", "backlink", "ranking", "traffic")
CHUNK_ROWS = 250_000
# Below this a delivery parses inline: starting worker processes costs more than it saves.
PARALLEL_MIN_BYTES = 64 * 1024 * 1024
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


@dataclass(frozen=True)
class Misplaced:
    """A file in the landing zone above the delivery level: not ingested, reported."""

    landing_path: str
    format: str | None
    move_to: str | None  # "<family>/<source>" of its format, when its format is known
    message: str


@dataclass
class IngestReport:
    results: list[DeliveryResult] = field(default_factory=list)
    misplaced: list[Misplaced] = field(default_factory=list)

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
            "misplaced": [asdict(misplaced) for misplaced in self.misplaced],
        }


def _ignored(path: Path) -> bool:
    """Hidden names (sentinel markers, the large world's record) and files still being written."""
    return path.name.startswith(".") or path.name.endswith(IGNORED_SUFFIXES)


def discover_deliveries(landing: Path) -> list[Path]:
    """Deliveries are the files and folders at ``landing/<family>/<source>/<delivery>``."""
    found = []
    for path in sorted(landing.glob("/".join("*" * DELIVERY_DEPTH))):
        if _ignored(path):
            continue
        # A link to nothing is kept: it is reported unreadable and retried, not silently passed over.
        if path.is_file() or path.is_dir() or path.is_symlink():
            found.append(path)
        else:
            log.warning("%s: neither a file nor a folder (a pipe, a socket?): not read", path)
    return found


def is_misplaced(landing: Path, path: Path) -> bool:
    """Whether ``path`` is a file in the landing zone above the delivery level (directly in ``landing/``
    or in a family folder), which the ingest does not read. Folders there are family and source
    folders, whatever their names."""
    where, zone = path.parent.resolve() / path.name, landing.resolve()  # the file itself not followed
    if not where.is_relative_to(zone):
        return False
    parts = where.relative_to(zone).parts
    return (
        0 < len(parts) < DELIVERY_DEPTH
        and not any(part.startswith(".") for part in parts)
        and not _ignored(path)
        and not path.is_dir()
    )


def misplaced_files(landing: Path) -> list[Path]:
    candidates = [path for depth in range(1, DELIVERY_DEPTH) for path in landing.glob("/".join("*" * depth))]
    return sorted(path for path in candidates if is_misplaced(landing, path))


def misplaced_message(relative: str, format_name: str | None, reason: str | None) -> str:
    """What to do with a file at ``landing/<relative>`` that is above the delivery level: move it to
    its format's folder, or (``format_name`` unknown) why it reads as no export."""
    short = " (one level short)" if len(Path(relative).parts) == DELIVERY_DEPTH - 1 else ""
    where = f"landing/{relative} is not in a source folder{short}"
    if format_name is None:
        return f"{where}: {reason}; deliveries go in landing/<family>/<source>/"
    registration = registration_of(format_name)
    return f"{where}: it reads as {registration.label}; move it to landing/{registration.folder}/"


def ingested_delivery_ids(lake_root: Path) -> set[str]:
    """Ledger entries are one file per delivery, named after its content hash."""
    return {path.stem for path in (lake_root / INGEST_LEDGER.name).glob("*/*.parquet")}


class LakeWriteError(RuntimeError):
    """The lake could not be written (a full disk, say): the run fails; the delivery stays unledgered."""


class _RecordSink:
    """Collects a delivery's records per dataset and writes them in chunks of ``CHUNK_ROWS`` rows.

    Records arrive as Arrow tables from the parse worker, in order; chunks are cut at the same rows
    however the tables were batched. A full chunk is written by one background thread while parsing
    goes on (Parquet encoding, compression and fsync release the GIL); at most one chunk waits,
    which bounds memory.
    """

    def __init__(self, lake_root: Path, stamp: RowStamp) -> None:
        self.lake_root = lake_root
        self.stamp = stamp
        self.tables: dict[str, list[pa.Table]] = defaultdict(list)
        self.waiting: Counter[str] = Counter()
        self.chunks: Counter[str] = Counter()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lake-writer")
        self._pending: list[Future[dict[str, int]]] = []

    def add_table(self, kind: str, table: pa.Table) -> None:
        self._queue(kind, table)

    def close(self) -> None:
        """Write what is buffered and wait for every write."""
        for kind in list(self.tables):
            if self.waiting[kind]:
                self._write_chunk(kind, self.waiting[kind])
        self._wait()

    def abandon(self) -> None:
        """Stop the writer thread; buffered rows are dropped (after an error, nothing is kept)."""
        self.tables.clear()
        self._writer.shutdown(wait=True, cancel_futures=True)

    def _queue(self, kind: str, table: pa.Table) -> None:
        self.tables[kind].append(table)
        self.waiting[kind] += table.num_rows
        while self.waiting[kind] >= CHUNK_ROWS:
            self._write_chunk(kind, CHUNK_ROWS)

    def _write_chunk(self, kind: str, rows: int) -> None:
        waiting = pa.concat_tables(lake.conform(RECORD_DATASETS[kind], self.tables[kind]))
        chunk, rest = waiting.slice(0, rows), waiting.slice(rows)
        self.tables[kind] = [rest] if rest.num_rows else []
        self.waiting[kind] -= rows
        stem = f"{self.stamp.delivery_id}-{self.chunks[kind]:04d}"
        self.chunks[kind] += 1
        self._wait()
        self._pending.append(
            self._writer.submit(
                lake.write_table_partitioned, self.lake_root, RECORD_DATASETS[kind], chunk, stem
            )
        )

    def _wait(self) -> None:
        while self._pending:
            try:
                self._pending.pop(0).result()
            except OSError as exc:
                raise LakeWriteError(f"{self.stamp.source_file}: writing to the lake failed: {exc}") from exc


def _quarantine_file(settings: Settings, path: Path, delivery_id: str, reason: str) -> None:
    """Keep the bad delivery under ``quarantine/files/<id>/`` with its reason; the landing copy stays.
    Only regular files are copied: a symbolic link (to a password file, say) is never followed."""
    target = settings.data.quarantine / "files" / delivery_id
    target.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        files = []
    elif path.is_dir():  # rglob does not descend into linked folders
        files = [file for file in sorted(path.rglob("*")) if not file.is_symlink() and file.is_file()]
    else:
        files = [path]
    for file in files:
        copy = target / path.name / file.relative_to(path) if file != path else target / path.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, copy, follow_symlinks=False)
    (target / "reason.json").write_text(
        json.dumps({"landing_path": str(path), "reason": reason, "delivery_id": delivery_id}, indent=2)
        + "\n",
        encoding="utf-8",
    )


def _outside_landing(settings: Settings, path: Path) -> str | None:
    """Why a delivery is not read where it lies: a symbolic link, or a path leading out of the zone."""
    if path.is_symlink():
        return f"a symbolic link to {path.readlink()}"
    if not path.resolve().is_relative_to(settings.data.landing.resolve()):
        return f"inside a linked folder, outside the landing zone ({path.resolve()})"
    return None


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


def _size_of(path: Path) -> int:
    """Bytes in a delivery; 0 when it cannot be listed (its hash then reports why)."""
    try:
        return tree_size(path)
    except OSError:
        return 0


def _write_parsed(
    settings: Settings, worker: IsolatedParse, result: DeliveryResult, stamp: RowStamp
) -> tuple[DeliveryResult, list[Rejected]]:
    """Write what the worker parses to the lake; its rejections, to be written after the data."""
    rejected: list[Rejected] = []
    sink = _RecordSink(settings.data.lake, stamp)
    try:
        for message in worker.messages():
            if isinstance(message, FormatFound):
                result.format = message.name
            elif isinstance(message, RecordBatch):
                result.counts.update(message.counts)
                for kind, table in message.tables.items():
                    sink.add_table(kind, table)
            elif isinstance(message, BlockOutput):
                rejected.extend(message.rejected)
                result.counts.update(message.counts)
                for kind, table in message.stamped_tables(stamp).items():
                    sink.add_table(kind, table)
            elif isinstance(message, RejectedBatch):
                rejected.extend(message.items)
            elif isinstance(message, Failed):
                if message.detail:  # a parser bug: its traceback is for developers (DEBUG logging)
                    log.debug("parser failed on %s:\n%s", result.landing_path, message.detail)
                result.status, result.message = "quarantined", mask_personal_data(message.reason)
        if result.status != "quarantined":
            sink.close()
    except LakeWriteError:
        _delete_derived(settings, stamp.delivery_id)
        raise
    finally:
        sink.abandon()
    return result, rejected


def ingest_delivery(settings: Settings, path: Path, known: set[str], now: dt.datetime) -> DeliveryResult:
    relative = path.relative_to(settings.data.landing).as_posix()
    if outside := _outside_landing(settings, path):
        # Not ledgered: once the file itself is landed in its place, the next run ingests it.
        return DeliveryResult(
            relative,
            None,
            "unreadable",
            message=f"{relative} is {outside}; links are never followed: land the file or folder itself",
        )
    size = _size_of(path)
    workers = worker_count() if size >= PARALLEL_MIN_BYTES else 1
    with IsolatedParse(ParseJob(path, relative, workers), settings.ingest) as worker:
        delivery = Delivery(path)
        try:
            delivery_id = delivery.content_hash()
            # A zip is opened by the parse worker only (the bulkhead), which finds it empty itself.
            empty = None if delivery.kind == "zip" else empty_reason(delivery)
        except UnreadableDelivery as exc:
            # An I/O fault may pass: no ledger entry, so the next run tries again.
            return DeliveryResult(relative, None, "unreadable", message=str(exc))
        finally:
            delivery.close()
        if empty is not None:
            # Not ledgered: every empty file has the same hash, and this one is named again until replaced.
            return DeliveryResult(relative, None, "empty", message=empty)
        if delivery_id in known:
            return DeliveryResult(
                relative, delivery_id, "duplicate", message="already ingested (same content hash)"
            )
        _delete_derived(settings, delivery_id)  # leftovers of an attempt that died before its ledger entry
        stamp = RowStamp(delivery_id, relative)
        worker.start(
            stamp,
            ParseContext(settings.www_policy, _landed_on(path), owned_sites=settings.owned_sites),
        )
        result, rejected = _write_parsed(
            settings, worker, DeliveryResult(relative, delivery_id, "ingested"), stamp
        )

    if result.status == "quarantined":
        assert result.message is not None
        result.counts.clear()
        _delete_derived(settings, delivery_id)
        _quarantine_file(settings, path, delivery_id, result.message)
    fault_point("ingest.data_written")
    result.quarantined = len(rejected)
    result.reasons = [f"{item.member} {item.location}: {item.reason}" for item in rejected[:REASONS_KEPT]]
    if rejected:
        _write_rejections(settings, result, rejected, now)
    _write_ledger(settings, result, size, now)
    fault_point("ingest.ledger_written")
    return result


def describe_misplaced(settings: Settings, path: Path) -> Misplaced:
    """A misplaced file with its format, detected in a parse worker as a delivery's is, and where it goes."""
    relative = path.relative_to(settings.data.landing).as_posix()
    if path.is_symlink() or not path.is_file():
        what = "a symbolic link, never followed" if path.is_symlink() else "neither a file nor a folder"
        return Misplaced(relative, None, None, misplaced_message(relative, None, what))
    format_name: str | None = None
    reason: str | None = None
    with IsolatedParse(ParseJob(path, relative, 1, detect_only=True), settings.ingest) as worker:
        for message in worker.messages():
            if isinstance(message, FormatFound):
                format_name = message.name
            elif isinstance(message, Failed):
                if message.detail:
                    log.debug("detecting the format of %s failed:\n%s", relative, message.detail)
                reason = mask_personal_data(message.reason).removeprefix(f"{relative}: ")
    move_to = registration_of(format_name).folder if format_name else None
    return Misplaced(relative, format_name, move_to, misplaced_message(relative, format_name, reason))


def run_ingest(settings: Settings, now: dt.datetime | None = None) -> IngestReport:
    """Ingest every delivery in the landing zone that the ledger does not hold yet."""
    settings.data.ensure()
    lake.ensure_datasets(settings.data.lake)
    if swept := lake.sweep_abandoned_writes(settings.data.lake):
        log.warning("ingest: removed %d temporary files left by an earlier run that died", swept)
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
    for path in misplaced_files(settings.data.landing):
        misplaced = describe_misplaced(settings, path)
        report.misplaced.append(misplaced)
        log.warning("not ingested: %s", misplaced.message)
    totals = report.totals()
    log.info(
        "ingest done: %d ingested, %d duplicates, %d quarantined files, %d unreadable, %d empty, "
        "%d misplaced files not ingested; records %s",
        len(report.by_status("ingested")),
        len(report.by_status("duplicate")),
        len(report.by_status("quarantined")),
        len(report.by_status("unreadable")),
        len(report.by_status("empty")),
        len(report.misplaced),
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
    elif result.status == "empty":
        log.warning("%s: %s", result.landing_path, result.message)
    else:
        log.warning("%s: %s: %s", result.landing_path, result.status, result.message)
