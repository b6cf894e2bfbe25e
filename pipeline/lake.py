"""Parquet writes into the lake: explicit schemas, date partitions, temporary name then rename.

A file is named after the delivery that produced it, so writing the same delivery again replaces
its files instead of adding to them, and readers (``**/*.parquet`` globs) never match the
temporary ``.inprogress`` name: they see a whole file or none.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.schemas import ALL_DATASETS, LakeDataset

SCHEMA_FILE = "_schema.parquet"


def atomic_write_table(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` through a temporary sibling and an atomic rename, fsynced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.inprogress")
    try:
        pq.write_table(table, temporary, compression="zstd")
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def dataset_dir(lake: Path, dataset: LakeDataset) -> Path:
    return lake / dataset.name


def ensure_datasets(lake: Path) -> None:
    """Give every dataset its current schema file, so SQL over an empty dataset (or over files written
    before a column was added, read with ``union_by_name``) still binds with all columns."""
    for dataset in ALL_DATASETS:
        schema_path = dataset_dir(lake, dataset) / SCHEMA_FILE
        if not schema_path.exists() or not pq.read_schema(schema_path).equals(dataset.schema):
            atomic_write_table(dataset.schema.empty_table(), schema_path)


def partition_path(lake: Path, dataset: LakeDataset, day: dt.date, file_stem: str) -> Path:
    return (
        dataset_dir(lake, dataset) / f"{dataset.partition_column}={day.isoformat()}" / f"{file_stem}.parquet"
    )


def write_partitioned(
    lake: Path, dataset: LakeDataset, rows: Iterable[Mapping[str, Any]], file_stem: str
) -> dict[dt.date, int]:
    """Write rows into one file per date partition named ``file_stem``; return rows per partition."""
    by_day: dict[dt.date, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        by_day[row[dataset.partition_column]].append(row)
    for day, day_rows in sorted(by_day.items()):
        table = pa.Table.from_pylist(day_rows, schema=dataset.schema)
        atomic_write_table(table, partition_path(lake, dataset, day, file_stem))
    return {day: len(day_rows) for day, day_rows in by_day.items()}


def delete_files(lake: Path, dataset: LakeDataset, file_stem: str) -> int:
    """Remove every partition file a delivery wrote (used by purge and re-ingest)."""
    removed = 0
    for path in dataset_dir(lake, dataset).glob(f"*/{file_stem}.parquet"):
        path.unlink()
        removed += 1
    return removed
