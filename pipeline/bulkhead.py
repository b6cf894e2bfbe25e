"""Bulkheads: each delivery is detected and parsed in a worker process with limits (SPEC section 10).

A crash, an abort inside a native library (a spreadsheet reader asked for 512 GB), a hang or a breached
limit ends that worker only: the ingesting process sees the worker gone, quarantines the delivery with a
reason naming the file and the limit, and goes on with the next one.

The worker is forked from the ingesting process when no lake write is under way (the previous
delivery's writer thread has been joined), so it shares the parsers already imported and nothing needs
pickling on the way in. It sends what it parsed back over a pipe, in order: records as Arrow tables,
blocks of a parallel section as they come from the block workers (which it forks, inside the same
limits), rejections, and how it ended. The ingesting process writes the lake,
so the crash-safety guarantees of :mod:`pipeline.ingest` do not change.

Limits: address space (``RLIMIT_AS``) of the worker's own image plus ``memory_mb``; CPU time
(``RLIMIT_CPU``, SIGXCPU); wall time, enforced by the ingesting process, which kills the worker's
process group (its block workers too). The worker dies with the ingesting process (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import re
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import IO

import pyarrow as pa

from pipeline import lake
from pipeline.config import IngestLimits
from pipeline.delivery import Delivery, UnreadableDelivery
from pipeline.parallel_parse import (
    BlockOutput,
    RowStamp,
    parse_in_process,
    parse_in_workers,
)
from pipeline.schemas import RECORD_DATASETS
from pipeline.sources import detect_format
from pipeline.sources.base import (
    SKIPPED,
    ColumnBatch,
    Extracted,
    MalformedInput,
    ParallelSection,
    ParseContext,
    Record,
    Rejected,
    SectionedFormat,
    Skipped,
)
from pipeline.sources.diagnosis import why_unrecognised

# Records travel in tables of this many rows: big enough that pickling costs little per row.
BATCH_ROWS = 50_000
REJECTED_BATCH = 1_000
# The end of the worker's stderr kept for the reason (a native library's last words).
STDERR_TAIL_BYTES = 4096
_PR_SET_PDEATHSIG = 1
_ALLOCATION_FAILED = re.compile(r"memory allocation of (\d+) bytes failed")


@dataclass(frozen=True)
class ParseJob:
    path: Path
    relative: str  # the delivery's path below the landing zone, as reasons name it
    workers: int  # block workers for a parallel section; 1 parses it in the worker itself
    # Only say which format the delivery is (a file outside the delivery folders): no Go is awaited.
    detect_only: bool = False


@dataclass(frozen=True)
class Go:
    """What the worker waits for once started: the delivery's row stamp (its content hash, known
    once the ingesting process has hashed it) and the parse context."""

    stamp: RowStamp
    context: ParseContext


@dataclass(frozen=True)
class FormatFound:
    name: str


@dataclass(frozen=True)
class RecordBatch:
    tables: dict[str, pa.Table]
    counts: Counter[str]


@dataclass(frozen=True)
class RejectedBatch:
    items: list[Rejected]


@dataclass(frozen=True)
class Failed:
    """The delivery cannot be used: the reason, and a traceback for the log when a parser had a bug."""

    reason: str
    detail: str | None = None


@dataclass(frozen=True)
class Finished:
    pass


Message = FormatFound | RecordBatch | BlockOutput | RejectedBatch | Failed | Finished


class IsolatedParse:
    """One delivery parsed in a worker process: started at once (a big delivery's block workers get
    ready while the ingesting process hashes the content), told to go with :meth:`start` (a
    ``detect_only`` job is not); iterate :meth:`messages` inside ``with``. Leaving the ``with`` ends the
    worker, whatever it was doing."""

    def __init__(self, job: ParseJob, limits: IngestLimits) -> None:
        self.job = job
        self.limits = limits
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        context = multiprocessing.get_context("fork")
        self._connection, worker_end = context.Pipe()
        with _children_allowed():
            self._process = context.Process(
                target=_worker_main,
                args=(job, limits, worker_end, self._stderr.fileno()),
                name="parse-worker",
            )
            self._process.start()
        worker_end.close()
        self._deadline = time.monotonic() + limits.wall_seconds
        # Also set by the worker itself: whichever runs first, a kill reaches the whole group.
        with contextlib.suppress(OSError):
            os.setpgid(self._pid, self._pid)

    @property
    def _pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    def __enter__(self) -> IsolatedParse:
        return self

    def start(self, stamp: RowStamp, context: ParseContext) -> None:
        self._deadline = time.monotonic() + self.limits.wall_seconds
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # gone: messages() says why
            self._connection.send(Go(stamp, context))

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._kill()
        self._process.join()
        self._process.close()
        self._connection.close()
        self._stderr.seek(0)
        if written := self._stderr.read():
            sys.stderr.write(written.decode(errors="replace"))  # the worker's log lines, in their place
        self._stderr.close()

    def messages(self) -> Iterator[Message]:
        """What the worker sends, ending with :class:`Finished` or :class:`Failed`."""
        while True:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                self._kill()
                yield Failed(
                    f"{self.job.relative}: parsing took longer than the wall-time limit of "
                    f"{self.limits.wall_seconds} s ([ingest] wall_limit_seconds); the worker was stopped"
                )
                return
            if not self._connection.poll(min(remaining, 1.0)):
                continue
            try:
                message: Message = self._connection.recv()
            except EOFError:
                yield Failed(self._death_reason())
                return
            yield message
            if isinstance(message, Finished | Failed):
                return

    def _kill(self) -> None:
        if self._process.exitcode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._pid, signal.SIGKILL)

    def _stderr_tail(self) -> str:
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - STDERR_TAIL_BYTES))
        lines = [line.strip() for line in self._stderr.read().decode(errors="replace").splitlines()]
        return next((line for line in reversed(lines) if line), "")

    def _death_reason(self) -> str:
        """Why the worker ended without saying how: a signal, an exit code, a breached limit."""
        self._process.join()
        code = self._process.exitcode
        limits, where = self.limits, self.job.relative
        last_words = self._stderr_tail()
        allocation = _ALLOCATION_FAILED.search(last_words)
        if allocation:
            asked = f" (it asked for {int(allocation.group(1)):,} bytes at once)"
            return (
                f"{where}: the parser breached the memory limit of {limits.memory_mb} MiB"
                f"{asked} ([ingest] memory_limit_mb); the worker aborted"
            )
        if code == -signal.SIGXCPU:
            return (
                f"{where}: the parser used more than the CPU limit of {limits.cpu_seconds} s "
                "([ingest] cpu_limit_seconds); the worker was stopped"
            )
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            said = f": {last_words[:200]}" if last_words else ""
            outside = " from outside (the system's out-of-memory killer?)" if code == -signal.SIGKILL else ""
            return (
                f"{where}: the parser worker was killed by {name}{outside}{said} (limits: memory "
                f"{limits.memory_mb} MiB, CPU {limits.cpu_seconds} s, wall {limits.wall_seconds} s)"
            )
        return f"{where}: the parser worker exited with code {code} before it finished"


@contextlib.contextmanager
def _children_allowed() -> Iterator[None]:
    """Let a daemonic process start the worker. Celery's prefork workers are daemonic, and Airflow's
    Celery tasks inherit the flag, so multiprocessing would refuse ("daemonic processes are not allowed
    to have children"), and a worker created under the flag would refuse its own block workers. This
    process reaps and kills its worker itself, and the worker dies with it (``PR_SET_PDEATHSIG``), which
    is what the refusal protects against; the flag is lifted while the worker is created."""
    config: dict[str, object] = multiprocessing.current_process()._config  # type: ignore[attr-defined]
    daemonic = bool(config.get("daemon"))
    config["daemon"] = False
    try:
        yield
    finally:
        if daemonic:
            config["daemon"] = True


def _worker_main(job: ParseJob, limits: IngestLimits, sender: Connection, stderr_fd: int) -> None:
    os.setpgid(0, 0)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the ingesting process died before the line above
        os._exit(1)
    os.dup2(stderr_fd, 2)
    _apply_limits(limits)
    go: Go | None = None
    if not job.detect_only:
        try:
            go = sender.recv()
        except EOFError:
            return  # not needed (a duplicate, an unreadable delivery)
    try:
        try:
            _parse(job, go, sender)
        except MemoryError:
            sender.send(
                Failed(
                    f"{job.relative}: the parser breached the memory limit of {limits.memory_mb} MiB "
                    "([ingest] memory_limit_mb)"
                )
            )
        except UnreadableDelivery as exc:
            sender.send(Failed(str(exc)))
        except BaseException as exc:  # a parser bug (a native library's panic too): quarantine, log
            sender.send(
                Failed(f"{job.relative}: parser error {type(exc).__name__}: {exc}", traceback.format_exc())
            )
    except (BrokenPipeError, ConnectionResetError):
        pass  # the ingesting process is gone: nobody to tell
    finally:
        sender.close()


def _apply_limits(limits: IngestLimits) -> None:
    image = _address_space_bytes()
    memory = image + limits.memory_mb * 1024**2
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    used = int(
        resource.getrusage(resource.RUSAGE_SELF).ru_utime + resource.getrusage(resource.RUSAGE_SELF).ru_stime
    )
    cpu = used + limits.cpu_seconds
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))


def _address_space_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


@dataclass
class _Batches:
    """Records and rejections gathered and sent in batches, in the order they were found."""

    sender: Connection
    stamp: RowStamp
    rows: dict[str, lake.RowBuffer] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    rejected: list[Rejected] = field(default_factory=list)

    def add(self, record: Record) -> None:
        buffer = self.rows.get(record.kind)
        if buffer is None:
            buffer = self.rows[record.kind] = lake.RowBuffer(RECORD_DATASETS[record.kind])
        buffer.append(self.stamp.apply(record))
        self.counts[record.kind] += 1
        if sum(self.counts.values()) >= BATCH_ROWS:
            self.flush()

    def reject(self, item: Rejected) -> None:
        self.rejected.append(item)
        if len(self.rejected) >= REJECTED_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.counts:
            tables = {kind: buffer.to_table() for kind, buffer in self.rows.items()}
            self.sender.send(RecordBatch(tables, self.counts))
            self.rows, self.counts = {}, Counter()
        if self.rejected:
            self.sender.send(RejectedBatch(self.rejected))
            self.rejected = []


def _parse(job: ParseJob, go: Go | None, sender: Connection) -> None:
    """Detect the delivery's format and parse it; with no ``go`` (``detect_only``), detect only."""
    delivery = Delivery(job.path)
    try:
        source_format = detect_format(delivery)
        if source_format is None:
            raise UnreadableDelivery(f"{job.relative}: {why_unrecognised(delivery)}")
        sender.send(FormatFound(source_format.name))
        if go is None:
            sender.send(Finished())
            return
        batches = _Batches(sender, go.stamp)
        for link in delivery.links:
            batches.reject(Rejected(link, "whole file", "a symbolic link: never followed"))
        for name in dict.fromkeys(delivery.duplicates):
            copies = delivery.duplicates.count(name) + 1
            batches.reject(
                Rejected(
                    name,
                    "whole file",
                    f"the archive holds {copies} entries of this name: the last one was read",
                )
            )
        parts: Iterator[Extracted | ParallelSection | ColumnBatch] = (
            source_format.parse_sections(delivery, go.context)
            if isinstance(source_format, SectionedFormat)
            else source_format.parse(delivery, go.context)
        )
        try:
            for part in parts:
                if isinstance(part, ParallelSection):
                    batches.flush()  # records found before the section stay before it
                    outputs = (
                        parse_in_workers(part, go.stamp, job.workers)
                        if job.workers > 1
                        else parse_in_process(part, go.stamp)
                    )
                    for output in outputs:
                        sender.send(output)
                elif isinstance(part, ColumnBatch):
                    batches.flush()  # records found before the batch stay before it
                    rows = part.columns.rows
                    sender.send(
                        BlockOutput(columns={part.kind: part.columns}, counts=Counter({part.kind: rows}))
                    )
                elif isinstance(part, Rejected):
                    batches.reject(part)
                elif isinstance(part, Skipped):
                    batches.counts[SKIPPED] += 1
                else:
                    batches.add(part)
        except MalformedInput as exc:
            batches.reject(
                Rejected(exc.member, exc.location, f"{exc.reason}; the rest of the member was skipped")
            )
        batches.flush()
        sender.send(Finished())
    finally:
        delivery.close()
