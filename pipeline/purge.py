"""``socialrank purge``: delete landed deliveries once ingested, per the configured retention, and on
request what was derived from them (SPEC section 10). The rules and the reasons: ``docs/retention.md``.

A landed delivery is purged when the ingest ledger holds its content hash (computed now, so a file
replaced by new bytes under the same name is never taken for the old one) and that ledger entry is
older than the retention. Deletions run in an order that a kill at any point leaves consistent:
per delivery its ``.ready`` sentinel, then its landed copies (a folder is renamed to a hidden name,
which ingest never sees, before it is removed), then with ``--derived`` its lake files, its
quarantine copy and, last, its ledger entry. A derived purge first records its intent under
``state/purge/``; any later purge run finishes an intent that a kill interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from pipeline import lake, warehouse
from pipeline.cli_support import AddCommand, json_output
from pipeline.config import Settings
from pipeline.delivery import Delivery, UnreadableDelivery, tree_size
from pipeline.faults import fault_point
from pipeline.ingest import discover_deliveries
from pipeline.schemas import INGEST_LEDGER, QUARANTINED_RECORDS, RECORD_DATASETS

log = logging.getLogger(__name__)
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

SENTINEL_SUFFIX = ".ready"
PURGING_SUFFIX = ".purging"
DERIVED_DATASETS = (*RECORD_DATASETS.values(), QUARANTINED_RECORDS)

# Why a landed delivery stays in the landing zone.
NOT_INGESTED = "not_ingested"
CHANGED = "changed_since_ingest"
TOO_RECENT = "too_recent"
UNREADABLE = "unreadable"
NOT_SELECTED = "not_selected"

# One entry per file of a landed copy: (path inside the delivery, size, mtime_ns, inode).
Fingerprint = tuple[tuple[str, int, int, int], ...]


class PurgeError(Exception):
    """The purge cannot run as asked (a ``--delivery`` that matches nothing, a negative age)."""


class PurgeBusy(PurgeError):
    """Another purge holds the lock."""


@dataclass(frozen=True)
class LedgerEntry:
    delivery_id: str
    landing_path: str
    status: str
    ingested_at: dt.datetime
    files: tuple[Path, ...]


@dataclass(frozen=True)
class LandedCopy:
    """A delivery in the landing zone whose content hash the ledger holds."""

    path: Path
    relative: str
    fingerprint: Fingerprint

    @property
    def size(self) -> int:
        return sum(size for _, size, _, _ in self.fingerprint)


@dataclass(frozen=True)
class KeptDelivery:
    relative: str
    reason: str
    delivery_id: str | None = None


@dataclass
class PurgeItem:
    """Everything one delivery's purge deletes, listed before anything is deleted."""

    entry: LedgerEntry
    derived: bool
    resumed: bool = False
    copies: list[LandedCopy] = field(default_factory=list)
    sentinels: list[Path] = field(default_factory=list)
    lake_files: list[Path] = field(default_factory=list)
    quarantine_copy: Path | None = None
    ledger_files: list[Path] = field(default_factory=list)
    sizes: Counter[str] = field(default_factory=Counter)

    def name(self) -> str:
        if self.copies:
            return ", ".join(copy.relative for copy in self.copies)
        return f"{self.entry.landing_path} (landed copy already gone)"

    def as_dict(self, root: Path) -> dict[str, Any]:
        def rel(path: Path) -> str:
            return path.relative_to(root).as_posix()

        return {
            "delivery_id": self.entry.delivery_id,
            "ledger_status": self.entry.status,
            "ledger_landing_path": self.entry.landing_path,
            "ingested_at": self.entry.ingested_at.isoformat(),
            "derived": self.derived,
            "resumed": self.resumed,
            "landing": [rel(copy.path) for copy in self.copies],
            "sentinels": [rel(path) for path in self.sentinels],
            "lake_files": [rel(path) for path in self.lake_files],
            "quarantine_copy": rel(self.quarantine_copy) if self.quarantine_copy else None,
            "ledger_files": [rel(path) for path in self.ledger_files],
            "bytes": dict(self.sizes),
        }


@dataclass
class PurgeReport:
    dry_run: bool
    derived: bool
    older_than_days: int
    cutoff: dt.datetime
    purged: list[PurgeItem] = field(default_factory=list)
    kept: list[KeptDelivery] = field(default_factory=list)
    swept: int = 0

    def counts(self) -> dict[str, Any]:
        return {
            "deliveries": len(self.purged),
            "by_ledger_status": dict(Counter(item.entry.status for item in self.purged)),
            "landed_copies": sum(len(item.copies) for item in self.purged),
            "sentinels": sum(len(item.sentinels) for item in self.purged),
            "lake_files": sum(len(item.lake_files) for item in self.purged),
            "quarantine_copies": sum(item.quarantine_copy is not None for item in self.purged),
            "ledger_entries": sum(bool(item.ledger_files) for item in self.purged),
            "kept": dict(Counter(kept.reason for kept in self.kept)),
        }

    def bytes_freed(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for item in self.purged:
            total.update(item.sizes)
        return {
            "landing": total["landing"],
            "lake": total["lake"],
            "quarantine": total["quarantine"],
            "total": sum(total.values()),
        }

    def as_dict(self, root: Path) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "derived": self.derived,
            "older_than_days": self.older_than_days,
            "cutoff": self.cutoff.isoformat(),
            "counts": self.counts(),
            "bytes_freed": self.bytes_freed(),
            "swept_leftovers": self.swept,
            "purged": [item.as_dict(root) for item in self.purged],
            "kept": [
                {"landing_path": kept.relative, "reason": kept.reason, "delivery_id": kept.delivery_id}
                for kept in self.kept
            ],
        }


def read_ledger(lake_root: Path) -> dict[str, LedgerEntry]:
    """Every ledger entry by delivery id, with the files that hold it (one per delivery, by design)."""
    files: dict[str, list[Path]] = {}
    for path in sorted((lake_root / INGEST_LEDGER.name).glob("*/*.parquet")):
        files.setdefault(path.stem, []).append(path)
    if not files:
        return {}
    table = ds.dataset(
        [str(path) for paths in files.values() for path in paths],
        format="parquet",
        schema=INGEST_LEDGER.schema,
    ).to_table(columns=["delivery_id", "landing_path", "status", "ingested_at"])
    entries: dict[str, LedgerEntry] = {}
    for row in table.to_pylist():
        delivery_id = row["delivery_id"]
        known = entries.get(delivery_id)
        if known is None or row["ingested_at"] > known.ingested_at:
            entries[delivery_id] = LedgerEntry(
                delivery_id,
                row["landing_path"],
                row["status"],
                row["ingested_at"],
                tuple(files.get(delivery_id, ())),
            )
    return entries


def _fingerprint(path: Path) -> Fingerprint:
    """What changes when a landed copy is rewritten, renamed over or added to: checked before deleting."""
    if path.is_dir():
        stats = sorted((p.relative_to(path).as_posix(), p.stat()) for p in path.rglob("*") if p.is_file())
    else:
        stats = [("", path.stat())]
    return tuple((name, stat.st_size, stat.st_mtime_ns, stat.st_ino) for name, stat in stats)


def _content_hash(path: Path) -> str:
    delivery = Delivery(path)
    try:
        return delivery.content_hash()
    finally:
        delivery.close()


def _scan_landing(
    settings: Settings, ledger: dict[str, LedgerEntry], report: PurgeReport
) -> dict[str, list[LandedCopy]]:
    """Hash every landed delivery; those the ledger holds by id, the rest kept with their reason."""
    landing = settings.data.landing
    ledger_paths = {entry.landing_path for entry in ledger.values()}
    copies: dict[str, list[LandedCopy]] = {}
    for path in discover_deliveries(landing):
        relative = path.relative_to(landing).as_posix()
        try:
            fingerprint = _fingerprint(path)
            delivery_id = _content_hash(path)
        except (OSError, UnreadableDelivery) as exc:
            log.warning("purge: %s kept: cannot read it (%s)", relative, exc)
            report.kept.append(KeptDelivery(relative, UNREADABLE))
            continue
        if delivery_id in ledger:
            copies.setdefault(delivery_id, []).append(LandedCopy(path, relative, fingerprint))
        else:
            reason = CHANGED if relative in ledger_paths else NOT_INGESTED
            report.kept.append(KeptDelivery(relative, reason, delivery_id))
    return copies


def _resolve_selection(
    selectors: Sequence[str],
    settings: Settings,
    ledger: dict[str, LedgerEntry],
    copies: dict[str, list[LandedCopy]],
) -> set[str]:
    """Delivery ids named by content hash, by path below ``landing/`` or by the ledger's landing path."""
    landing = settings.data.landing.resolve()
    by_path: dict[str, set[str]] = {}
    for delivery_id, entry in ledger.items():
        by_path.setdefault(entry.landing_path, set()).add(delivery_id)
    for delivery_id, landed in copies.items():
        for copy in landed:
            by_path.setdefault(copy.relative, set()).add(delivery_id)
    selected: set[str] = set()
    for selector in selectors:
        candidate = Path(selector)
        if candidate.is_absolute() and candidate.resolve().is_relative_to(landing):
            selector = candidate.resolve().relative_to(landing).as_posix()
        matched = ({selector} & ledger.keys()) | by_path.get(selector.removeprefix("landing/"), set())
        if not matched:
            raise PurgeError(f"--delivery {selector!r} matches no delivery the ledger holds")
        selected |= matched
    return selected


def _plan(settings: Settings, item: PurgeItem) -> None:
    """List (and size) what the purge of one delivery deletes."""
    for copy in item.copies:
        item.sizes["landing"] += copy.size
        sentinel = copy.path.with_name(copy.path.name + SENTINEL_SUFFIX)
        if sentinel.is_file():
            item.sentinels.append(sentinel)
            item.sizes["landing"] += sentinel.stat().st_size
    if not item.derived:
        return
    delivery_id = item.entry.delivery_id
    for dataset in DERIVED_DATASETS:
        # Record files are <id>-<chunk>.parquet, quarantined records <id>.parquet; ids have one length.
        item.lake_files.extend(
            sorted(lake.dataset_dir(settings.data.lake, dataset).glob(f"*/{delivery_id}*.parquet"))
        )
    item.ledger_files = list(item.entry.files)
    item.sizes["lake"] = sum(path.stat().st_size for path in (*item.lake_files, *item.ledger_files))
    quarantine_copy = settings.data.quarantine / "files" / delivery_id
    if quarantine_copy.is_dir():
        item.quarantine_copy = quarantine_copy
        item.sizes["quarantine"] = tree_size(quarantine_copy)


def _remove(path: Path) -> None:
    """Delete a file, or a folder after renaming it to a hidden name: never seen half-deleted."""
    if path.is_dir():
        hidden = path.with_name(f".{path.name}.{uuid.uuid4().hex}{PURGING_SUFFIX}")
        path.rename(hidden)
        shutil.rmtree(hidden)
    else:
        path.unlink(missing_ok=True)


def _fsync_directories(paths: Sequence[Path]) -> None:
    """Make the deletions durable before the ledger entry goes, so a power cut cannot undo them."""
    for directory in sorted({path.parent for path in paths}):
        if directory.exists():
            lake.fsync_directory(directory)


def _intents_dir(settings: Settings) -> Path:
    return settings.data.state / "purge"


def _record_intent(settings: Settings, delivery_id: str, now: dt.datetime) -> Path:
    directory = _intents_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{delivery_id}.json"
    temporary = directory / f".{path.name}.{uuid.uuid4().hex}.inprogress"
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump({"delivery_id": delivery_id, "started_at": now.isoformat()}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    _fsync_directories([path])
    return path


def _pending_intents(settings: Settings) -> dict[str, dt.datetime]:
    intents = {}
    for path in sorted(_intents_dir(settings).glob("*.json")):
        intent = json.loads(path.read_text(encoding="utf-8"))
        intents[intent["delivery_id"]] = dt.datetime.fromisoformat(intent["started_at"])
    return intents


def _execute(settings: Settings, item: PurgeItem, report: PurgeReport, now: dt.datetime) -> None:
    intent = _record_intent(settings, item.entry.delivery_id, now) if item.derived else None
    # The sentinel first: a kill after it leaves a delivery the next purge finds, never a stray sentinel.
    for sentinel in item.sentinels:
        sentinel.unlink(missing_ok=True)
    for copy in list(item.copies):
        try:
            unchanged = _fingerprint(copy.path) == copy.fingerprint
        except FileNotFoundError:
            unchanged = None  # gone meanwhile: nothing to delete, nothing freed
        if not unchanged:
            item.copies.remove(copy)
            item.sizes["landing"] -= copy.size
            if unchanged is False:
                log.warning("purge: %s changed since it was hashed: kept", copy.relative)
                report.kept.append(KeptDelivery(copy.relative, CHANGED))
            continue
        _remove(copy.path)
    fault_point("purge.landing_deleted")
    if intent is None:
        return
    for path in item.lake_files:
        path.unlink(missing_ok=True)
    if item.quarantine_copy is not None:
        _remove(item.quarantine_copy)
    _fsync_directories([*item.lake_files, *([item.quarantine_copy] if item.quarantine_copy else [])])
    fault_point("purge.derived_deleted")
    for path in item.ledger_files:
        path.unlink(missing_ok=True)
    _fsync_directories(item.ledger_files)
    intent.unlink()


def _sweep_leftovers(settings: Settings) -> int:
    """Folders a killed purge renamed but did not finish removing (ingest never sees hidden names)."""
    swept = 0
    for pattern_root, pattern in (
        (settings.data.landing, f"*/*/.*{PURGING_SUFFIX}"),
        (settings.data.quarantine / "files", f".*{PURGING_SUFFIX}"),
    ):
        for path in pattern_root.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            swept += 1
    return swept


@contextlib.contextmanager
def _purge_lock(settings: Settings) -> Iterator[None]:
    """One purge at a time: a second one could sweep the first one's folders mid-removal."""
    directory = _intents_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    with (directory.parent / "purge.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise PurgeBusy("another 'socialrank purge' is running; try again when it has finished") from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_purge(
    settings: Settings,
    *,
    older_than_days: int | None = None,
    derived: bool = False,
    dry_run: bool = False,
    deliveries: Sequence[str] = (),
    now: dt.datetime | None = None,
) -> PurgeReport:
    """Purge the landed deliveries whose ledger entries are older than the retention (see module doc)."""
    started = time.perf_counter()
    days = settings.retention.landing_days if older_than_days is None else older_than_days
    if days < 0:
        raise PurgeError(f"the age must be 0 days or more, got {days}")
    now = now or dt.datetime.now(dt.UTC)
    report = PurgeReport(dry_run, derived, days, now - dt.timedelta(days=days))
    with contextlib.nullcontext() if dry_run else _purge_lock(settings):
        if not dry_run and (swept := _sweep_leftovers(settings)):
            report.swept = swept
            log.warning("purge: removed %d leftovers of a purge that died mid-way", swept)
        ledger = read_ledger(settings.data.lake)
        copies = _scan_landing(settings, ledger, report)
        items = _collect(settings, ledger, copies, deliveries, report)
        # Lake files vanishing under a running build would fail it: wait for the CLI's warehouse writer.
        deletes_lake = not dry_run and any(item.derived for item in items)
        with warehouse.writer_lock(settings) if deletes_lake else contextlib.nullcontext():
            for item in items:
                _log_item(item, dry_run)
                if not dry_run:
                    _execute(settings, item, report, now)
                report.purged.append(item)
    _log_summary(report, time.perf_counter() - started)
    return report


def _collect(
    settings: Settings,
    ledger: dict[str, LedgerEntry],
    copies: dict[str, list[LandedCopy]],
    selectors: Sequence[str],
    report: PurgeReport,
) -> list[PurgeItem]:
    """Which deliveries this run purges, and how: due ones per the retention, interrupted ones to finish."""
    selected = _resolve_selection(selectors, settings, ledger, copies) if selectors else None
    items: dict[str, PurgeItem] = {}
    for delivery_id, started_at in _pending_intents(settings).items():
        entry = ledger.get(delivery_id)
        # No entry: the interrupted purge got to its last step. A newer one: the bytes were ingested again.
        if entry is None or entry.ingested_at > started_at:
            if not report.dry_run:
                (_intents_dir(settings) / f"{delivery_id}.json").unlink()
            continue
        items[delivery_id] = PurgeItem(entry, derived=True, resumed=True)
    due = {
        delivery_id
        for delivery_id, entry in ledger.items()
        if entry.ingested_at <= report.cutoff and (report.derived or delivery_id in copies)
    }
    for delivery_id, landed in copies.items():
        if delivery_id not in due and delivery_id not in items:
            report.kept.extend(KeptDelivery(copy.relative, TOO_RECENT, delivery_id) for copy in landed)
    for delivery_id in sorted(due - items.keys()):
        if selected is not None and delivery_id not in selected:
            report.kept.extend(
                KeptDelivery(copy.relative, NOT_SELECTED, delivery_id) for copy in copies.get(delivery_id, [])
            )
            continue
        items[delivery_id] = PurgeItem(ledger[delivery_id], derived=report.derived)
    for delivery_id, item in items.items():
        item.copies = list(copies.get(delivery_id, []))
        _plan(settings, item)
    return sorted(items.values(), key=lambda item: (item.name(), item.entry.delivery_id))


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _log_item(item: PurgeItem, dry_run: bool) -> None:
    what = [_plural(len(item.copies), "landed copy", "landed copies")] if item.copies else []
    if item.sentinels:
        what.append(_plural(len(item.sentinels), "sentinel"))
    if item.derived:
        what.append(f"{_plural(len(item.lake_files), 'lake file')} ({_size(item.sizes['lake'])})")
        if item.quarantine_copy:
            what.append(f"the quarantine copy ({_size(item.sizes['quarantine'])})")
        what.append("the ledger entry")
    log.info(
        "purge: %s %s [%s, ledger: %s on %s%s]: %s",
        "would delete" if dry_run else "deleting",
        item.name(),
        item.entry.delivery_id[:12],
        item.entry.status,
        item.entry.ingested_at.date().isoformat(),
        "; finishing an interrupted purge" if item.resumed else "",
        ", ".join(what),
    )


def _log_summary(report: PurgeReport, seconds: float) -> None:
    counts = report.counts()
    freed = report.bytes_freed()
    kept = ", ".join(
        f"{count} {reason.replace('_', ' ')}" for reason, count in sorted(counts["kept"].items())
    )
    log.info(
        "purge %s (ledger entries older than %d days, before %s): %d deliveries (%s), %d landed copies, "
        "%d sentinels, %d lake files, %d quarantine copies, %d ledger entries; %s %s "
        "(landing %s, lake %s, quarantine %s); kept in landing: %s; %.2fs",
        "dry run" if report.dry_run else "done",
        report.older_than_days,
        report.cutoff.isoformat(timespec="seconds"),
        counts["deliveries"],
        ", ".join(f"{status} {n}" for status, n in sorted(counts["by_ledger_status"].items())) or "none",
        counts["landed_copies"],
        counts["sentinels"],
        counts["lake_files"],
        counts["quarantine_copies"],
        counts["ledger_entries"],
        "would free" if report.dry_run else "freed",
        _size(freed["total"]),
        _size(freed["landing"]),
        _size(freed["lake"]),
        _size(freed["quarantine"]),
        kept or "nothing",
        seconds,
    )
    if counts["lake_files"] and not report.dry_run:
        log.info(
            "purge: the published warehouse keeps the purged rows until the next build and publish "
            "('socialrank run' or the nightly DAG)"
        )


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = -1
    if days < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, 0 or more, got {text!r}")
    return days


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    try:
        report = run_purge(
            settings,
            older_than_days=args.older_than,
            derived=args.derived,
            dry_run=args.dry_run,
            deliveries=args.delivery,
        )
    except PurgeBusy as exc:
        log.error("%s", exc)
        return EXIT_FAILED
    except PurgeError as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    if args.json:
        json_output.print(report.as_dict(settings.data.root))
    return EXIT_OK


def add_purge_parser(add: AddCommand) -> None:
    """Register ``purge`` through the CLI's ``add(name, handler, help)``."""
    command = add(
        "purge",
        cmd_purge,
        "delete ingested deliveries from the landing zone once the retention has passed "
        "([retention] landing_days); with --derived also what was derived from them",
    )
    command.add_argument(
        "--older-than",
        type=_days,
        metavar="DAYS",
        help="purge what the ledger has held for at least DAYS days (default: [retention] landing_days)",
    )
    command.add_argument(
        "--derived",
        action="store_true",
        help="also delete their lake rows, quarantined records and quarantine copies, and their ledger "
        "entries (the same bytes landed again are then ingested again)",
    )
    command.add_argument(
        "--delivery",
        action="append",
        default=[],
        metavar="ID_OR_PATH",
        help="only this delivery: its content hash or its path below landing/ (repeatable)",
    )
    command.add_argument("--dry-run", action="store_true", help="list what would be deleted; delete nothing")
