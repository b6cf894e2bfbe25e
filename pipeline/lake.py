"""Parquet writes into the lake: explicit schemas, date partitions, temporary name then rename.

A file is named after the delivery that produced it, so writing the same delivery again replaces
its files instead of adding to them, and readers (``**/*.parquet`` globs) never match the
temporary ``.inprogress`` name: they see a whole file or none.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.faults import fault_point
from pipeline.schemas import ALL_DATASETS, LakeDataset

SCHEMA_FILE = "_schema.parquet"
PARALLEL_FSYNCS = 8
# A chunk is written in seconds: a temporary file this old belongs to a writer that died.
ABANDONED_AFTER = dt.timedelta(hours=1)


def _write_synced(table: pa.Table, path: Path) -> None:
    """Write ``table`` through a temporary sibling, fsynced, then renamed into place."""
    _write_all_synced([(table, path)])


def _fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _write_all_synced(
    files: Sequence[tuple[pa.Table, Path]], dictionary_columns: bool | list[str] = True
) -> None:
    """Write each table through a temporary sibling, fsync them all, then rename each into place.

    The fsyncs run side by side: the file system commits them together, where one after the other
    each waits for its own commit.
    """
    temporaries = []
    try:
        for table, path in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.inprogress")
            temporaries.append(temporary)
            pq.write_table(
                table,
                temporary,
                compression="zstd",
                use_dictionary=dictionary_columns,
                # Text kept as Arrow dictionaries is written as it is; without the Arrow schema in the
                # file, readers see the plain text type the dataset's schema has.
                store_schema=not any(pa.types.is_dictionary(field.type) for field in table.schema),
            )
        with ThreadPoolExecutor(max_workers=min(PARALLEL_FSYNCS, len(temporaries))) as pool:
            list(pool.map(_fsync_file, temporaries))
        for temporary, (_, path) in zip(temporaries, files, strict=True):
            fault_point("lake.written")
            temporary.replace(path)
            fault_point("lake.renamed")
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)


def fsync_directory(directory: Path) -> None:
    """Make renames and deletions inside ``directory`` durable (a file's fsync does not cover its entry)."""
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def atomic_write_table(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` through a temporary sibling and an atomic rename, durably."""
    _write_synced(table, path)
    fsync_directory(path.parent)


def dataset_dir(lake: Path, dataset: LakeDataset) -> Path:
    return lake / dataset.name


def ensure_datasets(lake: Path) -> None:
    """Give every dataset its current schema file, so SQL over an empty dataset (or over files written
    before a column was added, read with ``union_by_name``) still binds with all columns."""
    for dataset in ALL_DATASETS:
        schema_path = dataset_dir(lake, dataset) / SCHEMA_FILE
        if not schema_path.exists() or not pq.read_schema(schema_path).equals(dataset.schema):
            atomic_write_table(dataset.schema.empty_table(), schema_path)


def sweep_abandoned_writes(lake: Path, older_than: dt.timedelta = ABANDONED_AFTER) -> int:
    """Delete temporary files left by writers that died before their rename (never visible to readers,
    but they hold disk); only old ones, so a live writer's file is never touched."""
    cutoff = dt.datetime.now().timestamp() - older_than.total_seconds()
    removed = 0
    for path in lake.glob("*/**/.*.inprogress"):
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def partition_label(dataset: LakeDataset, day: dt.date) -> str:
    if dataset.partition_by == "month":
        return f"{dataset.partition_column}_month={day:%Y-%m}"
    return f"{dataset.partition_column}={day.isoformat()}"


def partition_path(lake: Path, dataset: LakeDataset, day: dt.date, file_stem: str) -> Path:
    return dataset_dir(lake, dataset) / partition_label(dataset, day) / f"{file_stem}.parquet"


class RowBuffer:
    """Rows for one dataset, kept column by column until they become one Arrow table.

    Appending each row's values to per-column lists and converting each list once is several times
    faster than ``Table.from_pylist`` over the dicts, and no dict stays alive for the garbage
    collector to scan while a chunk fills.
    """

    def __init__(self, dataset: LakeDataset) -> None:
        self.dataset = dataset
        self._names = dataset.schema.names
        self._columns: list[list[Any]] = [[] for _ in self._names]

    def __len__(self) -> int:
        return len(self._columns[0])

    def append(self, row: Mapping[str, Any]) -> None:
        for column, name in zip(self._columns, self._names, strict=True):
            column.append(row.get(name))

    def to_table(self) -> pa.Table:
        schema = self.dataset.schema
        arrays = [
            pa.array(column, type=field.type) for column, field in zip(self._columns, schema, strict=True)
        ]
        return pa.Table.from_arrays(arrays, schema=schema)


def columns_to_table(dataset: LakeDataset, rows: int, values: Mapping[str, Any]) -> pa.Table:
    """A table of ``dataset``'s schema from column values: Arrow arrays of ``rows`` values, or one
    value every row has; columns not given are NULL. A dictionary array of the field's type stays one
    (written as it is: see :func:`conform`)."""
    arrays = []
    fields = []
    for field in dataset.schema:
        value = values.get(field.name)
        if isinstance(value, pa.Array | pa.ChunkedArray):
            if len(value) != rows:
                raise ValueError(f"{dataset.name}.{field.name}: {len(value)} values for {rows} rows")
            if pa.types.is_dictionary(value.type) and value.type.value_type == field.type:
                arrays.append(value)
                fields.append(field.with_type(value.type))
                continue
            arrays.append(value if value.type == field.type else value.cast(field.type))
        elif value is None:
            arrays.append(pa.nulls(rows, field.type))
        else:
            arrays.append(pa.repeat(pa.scalar(value, field.type), rows))
        fields.append(field)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def conform(dataset: LakeDataset, tables: Sequence[pa.Table]) -> list[pa.Table]:
    """Tables of one dataset that can be concatenated: as they are when their schemas agree (text kept
    as dictionaries in all of them, say), else each with the dataset's own schema."""
    if len({table.schema for table in tables}) <= 1:
        return list(tables)
    return [table.cast(dataset.schema) for table in tables]


def rows_to_table(dataset: LakeDataset, rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    buffer = RowBuffer(dataset)
    for row in rows:
        buffer.append(row)
    return buffer.to_table()


def write_partitioned(
    lake: Path, dataset: LakeDataset, rows: Sequence[Mapping[str, Any]], file_stem: str
) -> dict[str, int]:
    """Write rows into one file per partition, each named ``file_stem``; return rows per partition label."""
    if not rows:
        return {}
    return write_table_partitioned(lake, dataset, rows_to_table(dataset, rows), file_stem)


def write_table_partitioned(
    lake: Path, dataset: LakeDataset, table: pa.Table, file_stem: str
) -> dict[str, int]:
    """Write an Arrow table into one file per partition, each named ``file_stem``.

    Rows keep their order within a partition. A table whose partitions are runs of rows already
    (an export newest first, say) is cut as it is; otherwise it is ordered by partition first (a
    stable sort). The files are fsynced side by side before their renames and each directory once
    after.
    """
    if table.num_rows == 0:
        return {}
    keys = _partition_keys(dataset, table)
    runs = _runs(keys)
    if len({key for key, _, _ in runs}) < len(runs):
        order = pc.sort_indices(keys)
        table, keys = table.take(order), keys.take(order)
        runs = _runs(keys)
    written: dict[str, int] = {}
    files = []
    for _, start, stop in sorted(runs):
        part = table.slice(start, stop - start)
        first_day = part.column(dataset.partition_column)[0].as_py()
        files.append((part, partition_path(lake, dataset, first_day, file_stem)))
        written[partition_label(dataset, first_day)] = part.num_rows
    _write_all_synced(files, dataset.dictionary_columns)
    for directory in sorted({path.parent for _, path in files}):
        fsync_directory(directory)
    return written


def _partition_keys(dataset: LakeDataset, table: pa.Table) -> pa.ChunkedArray:
    """A number per row naming its partition (formatting a label per row would cost more than the
    rest of the write)."""
    days = table.column(dataset.partition_column)
    if dataset.partition_by == "month":
        return pc.add(pc.multiply(pc.year(days), 12), pc.month(days))
    return days.cast(pa.int32())


def _runs(keys: pa.ChunkedArray) -> list[tuple[int, int, int]]:
    """(partition key, first row, row after the last) of each run of rows in one partition."""
    values = keys.to_numpy()
    starts = [0, *(np.flatnonzero(values[1:] != values[:-1]) + 1).tolist()]
    stops = [*starts[1:], len(values)]
    return [(int(values[start]), start, stop) for start, stop in zip(starts, stops, strict=True)]


def delete_files(lake: Path, dataset: LakeDataset, file_stem: str) -> int:
    """Remove every partition file a delivery wrote (used by purge and re-ingest)."""
    removed = 0
    for path in dataset_dir(lake, dataset).glob(f"*/{file_stem}.parquet"):
        path.unlink()
        removed += 1
    return removed
