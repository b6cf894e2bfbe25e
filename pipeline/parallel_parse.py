"""Parse a big delivery's independent blocks in worker processes, one per core.

A :class:`~pipeline.sources.base.ParallelSection` (an X archive's tweet files) is cut into blocks by
the reading process; workers parse blocks into records and return them as Arrow tables, ready for
the lake, with their counts and rejections. Results come back in block order, so the lake files are
the same as an inline parse would write. At most ``IN_FLIGHT_PER_WORKER`` blocks per worker are
outstanding, which bounds memory.

Workers are forked from a fork server (a fresh process that imported the parsers once), never from
the ingesting process itself, whose lake-writer thread may hold locks at the moment of a fork.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa

from pipeline import lake
from pipeline.schemas import RECORD_DATASETS
from pipeline.sources.base import BlockParser, MalformedInput, ParallelSection, Record, Rejected
from pipeline.sources.jsonstream import ItemBlock

IN_FLIGHT_PER_WORKER = 2
_PRELOADED = ["pipeline.parallel_parse", "pipeline.sources"]


def worker_count() -> int:
    return len(os.sched_getaffinity(0))


@dataclass(frozen=True)
class RowStamp:
    """What every row of a delivery carries besides what its parser found."""

    delivery_id: str
    source_file: str

    def apply(self, record: Record) -> dict[str, object]:
        row = record.row
        row["delivery_id"] = self.delivery_id
        if record.kind == "post":
            row["source_file"] = self.source_file
        return row


@dataclass
class BlockOutput:
    tables: dict[str, pa.Table] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    rejected: list[Rejected] = field(default_factory=list)


_installed: BlockParser | None = None


def _install(parser: BlockParser) -> None:
    global _installed
    _installed = parser


def _parse_block(block: ItemBlock, stamp: RowStamp) -> BlockOutput:
    assert _installed is not None, "worker started without a parser"
    output = BlockOutput()
    buffers: dict[str, lake.RowBuffer] = {}
    for item in _installed.parse_block(block):
        if isinstance(item, Rejected):
            output.rejected.append(item)
            continue
        output.counts[item.kind] += 1
        buffer = buffers.get(item.kind)
        if buffer is None:
            buffer = buffers[item.kind] = lake.RowBuffer(RECORD_DATASETS[item.kind])
        buffer.append(stamp.apply(item))
    output.tables = {kind: buffer.to_table() for kind, buffer in buffers.items()}
    return output


def parse_in_workers(section: ParallelSection, stamp: RowStamp, workers: int) -> Iterator[BlockOutput]:
    """Every block of ``section``, parsed by ``workers`` processes, in order.

    Damage the reader finds (:class:`MalformedInput`) is raised after the blocks before it.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOADED)
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_install, initargs=(section.parser,)
    ) as pool:
        pending: deque[Future[BlockOutput]] = deque()
        try:
            for block in section.blocks:
                pending.append(pool.submit(_parse_block, block, stamp))
                if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                    yield pending.popleft().result()
        except MalformedInput:
            while pending:
                yield pending.popleft().result()
            raise
        while pending:
            yield pending.popleft().result()
