"""Parquet writes into the lake: explicit schemas, date partitions, temporary name then rename.

A file is named after the delivery that produced it, so writing the same delivery again replaces
its files instead of adding to them, and readers (``**/*.parquet`` globs) never match the
temporary ``.inprogress`` name: they see a whole file or none.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.schemas import ALL_DATASETS, LakeDataset

SCHEMA_FILE = "_schema.parquet"


def _write_synced(table: pa.Table, path: Path) -> None:
    """Write ``table`` through a temporary sibling, fsynced, then renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.inprogress")
    try:
        pq.write_table(table, temporary, compression="zstd")
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def atomic_write_table(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` through a temporary sibling and an atomic rename, durably."""
    _write_synced(table, path)
    _fsync_directory(path.parent)


def dataset_dir(lake: Path, dataset: LakeDataset) -> Path:
    return lake / dataset.name


def ensure_datasets(lake: Path) -> None:
    """Give every dataset its current schema file, so SQL over an empty dataset (or over files written
    before a column was added, read with ``union_by_name``) still binds with all columns."""
    for dataset in ALL_DATASETS:
        schema_path = dataset_dir(lake, dataset) / SCHEMA_FILE
        if not schema_path.exists() or not pq.read_schema(schema_path).equals(dataset.schema):
            atomic_write_table(dataset.schema.empty_table(), schema_path)


def partition_label(dataset: LakeDataset, day: dt.date) -> str:
    if dataset.partition_by == "month":
        return f"{dataset.partition_column}_month={day:%Y-%m}"
    return f"{dataset.partition_column}={day.isoformat()}"


def partition_path(lake: Path, dataset: LakeDataset, day: dt.date, file_stem: str) -> Path:
    return dataset_dir(lake, dataset) / partition_label(dataset, day) / f"{file_stem}.parquet"


def write_partitioned(
    lake: Path, dataset: LakeDataset, rows: Sequence[Mapping[str, Any]], file_stem: str
) -> dict[str, int]:
    """Write rows into one file per partition, each named ``file_stem``; return rows per partition label.

    Rows become one Arrow table, split by partition in Arrow; every file is fsynced before its rename
    and each directory once after, so a chunk costs one conversion and one sync per file.
    """
    if not rows:
        return {}
    table = pa.Table.from_pylist(list(rows), schema=dataset.schema)
    days = table.column(dataset.partition_column)
    if dataset.partition_by == "month":
        keys = pc.strftime(days, format="%Y-%m")
    else:
        keys = pc.strftime(days, format="%Y-%m-%d")
    written: dict[str, int] = {}
    directories: set[Path] = set()
    for key in sorted(pc.unique(keys).to_pylist()):
        part = table.filter(pc.equal(keys, key))
        first_day = part.column(dataset.partition_column)[0].as_py()
        path = partition_path(lake, dataset, first_day, file_stem)
        _write_synced(part, path)
        directories.add(path.parent)
        written[partition_label(dataset, first_day)] = part.num_rows
    for directory in sorted(directories):
        _fsync_directory(directory)
    return written


def delete_files(lake: Path, dataset: LakeDataset, file_stem: str) -> int:
    """Remove every partition file a delivery wrote (used by purge and re-ingest)."""
    removed = 0
    for path in dataset_dir(lake, dataset).glob(f"*/{file_stem}.parquet"):
        path.unlink()
        removed += 1
    return removed
