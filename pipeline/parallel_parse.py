"""Parse a big delivery's independent blocks in worker processes, one per core.

A :class:`~pipeline.sources.base.ParallelSection` (an X archive's tweet files) is cut into blocks by
the reading process; workers parse blocks into records and return them as Arrow tables, ready for
the lake, with their counts and rejections. Results come back in block order, so the lake files are
the same as an inline parse would write. At most ``IN_FLIGHT_PER_WORKER`` blocks per worker are
outstanding, which bounds memory.

Workers are forked from the process that reads the blocks, the bulkhead's parse worker
(:mod:`pipeline.bulkhead`): it was itself forked from the ingesting process with the parsers imported,
and it has no other thread when it forks them (no lake writes happen there), so a fork copies no lock
mid-use and the workers start with everything imported, at no cost in time or memory (pages are shared
until written).
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field

import pyarrow as pa

from pipeline import lake
from pipeline.schemas import RECORD_DATASETS
from pipeline.sources.base import (
    SKIPPED,
    BlockParser,
    ColumnarBlockParser,
    Columns,
    MalformedInput,
    ParallelSection,
    Record,
    RecordKind,
    Rejected,
    Skipped,
)
from pipeline.sources.jsonstream import ItemBlock

IN_FLIGHT_PER_WORKER = 2


def worker_count() -> int:
    return len(os.sched_getaffinity(0))


@dataclass(frozen=True)
class RowStamp:
    """What every row of a delivery carries besides what its parser found."""

    delivery_id: str
    source_file: str

    def values(self, kind: str) -> dict[str, str]:
        if kind == "post":
            return {"delivery_id": self.delivery_id, "source_file": self.source_file}
        return {"delivery_id": self.delivery_id}

    def apply(self, record: Record) -> dict[str, object]:
        record.row.update(self.values(record.kind))
        return record.row

    def apply_columns(self, kind: str, columns: Columns) -> pa.Table:
        values = {**columns.values, **self.values(kind)}
        return lake.columns_to_table(RECORD_DATASETS[kind], columns.rows, values)


def columns_to_tables(columns: dict[RecordKind, Columns], stamp: RowStamp) -> dict[str, pa.Table]:
    """A block's columns of each kind as stamped tables, with the columns kinds share copied."""
    tables: dict[str, pa.Table] = {}
    for kind, batch in columns.items():
        values = batch.values
        if batch.shared_from is not None:
            source, names = batch.shared_from
            owners = values["owner"]
            values = {name: value for name, value in values.items() if name != "owner"}
            for name in names:
                value = columns[source].values[name]
                values[name] = value.take(owners) if isinstance(value, pa.Array) else value
        tables[kind] = stamp.apply_columns(kind, Columns(batch.rows, values))
    return tables


@dataclass
class BlockOutput:
    """What parsing a block gave. Records parsed one by one come as stamped ``tables``; a block decoded
    whole comes as ``columns``, which travel between processes in a fraction of the tables' bytes
    (no repeated, shared or NULL values) and become tables where they are written
    (:meth:`stamped_tables`)."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    columns: dict[RecordKind, Columns] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    rejected: list[Rejected] = field(default_factory=list)
    items: int = 0
    lines: int = 0  # line breaks in the block's bytes
    # The block's bytes were not whole JSON items: it is read again, validated (ArrayBlocks.rewind).
    not_whole: bool = False

    def stamped_tables(self, stamp: RowStamp) -> dict[str, pa.Table]:
        return {**self.tables, **columns_to_tables(self.columns, stamp)}


_installed: BlockParser | None = None


def _install(parser: BlockParser) -> None:
    global _installed
    _installed = parser


def _parse_installed(block: ItemBlock, stamp: RowStamp) -> BlockOutput:
    assert _installed is not None, "worker started without a parser"
    return parse_block(_installed, block, stamp)


def parse_block(parser: BlockParser, block: ItemBlock, stamp: RowStamp) -> BlockOutput:
    """One block's records as Arrow tables: decoded whole when the parser can, else item by item."""
    if block.unread:
        return BlockOutput(not_whole=True)
    output = None
    if isinstance(parser, ColumnarBlockParser):
        columns = parser.block_columns(block)
        if columns is not None:
            output = BlockOutput(
                columns=columns,
                counts=Counter({kind: batch.rows for kind, batch in columns.items()}),
                items=len(block),
            )
    if output is None:
        if not block.is_whole():
            return BlockOutput(not_whole=True)
        output = parse_block_by_records(parser, block, stamp)
    output.lines = block.newlines()
    return output


def parse_block_by_records(parser: BlockParser, block: ItemBlock, stamp: RowStamp) -> BlockOutput:
    """One block's records, item by item, as Arrow tables."""
    output = BlockOutput()
    buffers: dict[str, lake.RowBuffer] = {}
    for item in parser.parse_block(block):
        if isinstance(item, Rejected):
            output.rejected.append(item)
            continue
        if isinstance(item, Skipped):
            output.counts[SKIPPED] += 1
            continue
        output.counts[item.kind] += 1
        buffer = buffers.get(item.kind)
        if buffer is None:
            buffer = buffers[item.kind] = lake.RowBuffer(RECORD_DATASETS[item.kind])
        buffer.append(stamp.apply(item))
    output.tables = {kind: buffer.to_table() for kind, buffer in buffers.items()}
    output.items = len(block)
    return output


def parse_in_process(section: ParallelSection, stamp: RowStamp) -> Iterator[BlockOutput]:
    """Every block of ``section``, parsed in this process, in order."""
    for block in section.blocks.checked():
        yield parse_block(section.parser, block, stamp)


def parse_in_workers(section: ParallelSection, stamp: RowStamp, workers: int) -> Iterator[BlockOutput]:
    """Every block of ``section``, parsed by ``workers`` processes, in order.

    Blocks are sent before the items and lines of the ones before them are counted, so their items'
    numbers and lines may be guesses: a block with rejections (whose places name item numbers and
    lines) and a wrong guess is parsed again here, numbered right. A block found not whole is read
    again from its start (the outputs of blocks read after it are dropped). Damage the reader finds
    (:class:`MalformedInput`) is raised after the blocks before it.
    """
    blocks = section.blocks
    # Arrow's first conversion of Python values imports pandas when it is installed (a fifth of a second
    # of CPU): once here, where the ingesting process has mostly done it already, not in every worker.
    importlib.import_module("pandas")
    with ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_install,
        initargs=(section.parser,),
    ) as pool:
        pending: deque[tuple[ItemBlock, Future[BlockOutput]]] = deque()
        damage: MalformedInput | None = None
        exhausted = False
        next_index, next_line = 0, 1
        while True:
            if not exhausted and damage is None and len(pending) < workers * IN_FLIGHT_PER_WORKER:
                try:
                    block = next(blocks)
                except StopIteration:
                    exhausted = True
                except MalformedInput as exc:
                    damage = exc
                else:
                    pending.append((block, pool.submit(_parse_installed, block, stamp)))
                continue
            if not pending:
                if damage is not None:
                    raise damage
                return
            block, future = pending.popleft()
            output = future.result()
            guessed = (block.first_index, block.line)
            block.first_index = next_index
            block.correct_line(next_line)
            if output.not_whole:
                for _, later in pending:
                    later.cancel()
                pending.clear()
                damage, exhausted = None, False
                blocks.rewind(block)
                continue
            if output.rejected and guessed != (block.first_index, block.line):
                output = parse_block(section.parser, block, stamp)
            next_index += output.items
            next_line = block.next_line(output.lines)
            yield output
