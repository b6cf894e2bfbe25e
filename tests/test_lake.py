"""Partitioned lake writes: one file per partition, rows in their order within it, whatever the order of
the partitions in the table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline import lake
from pipeline.schemas import ALL_DATASETS, RANKINGS, SOCIAL_POSTS, LakeDataset


def _post(number: int, day: dt.date) -> dict[str, object]:
    return {
        "platform": "x",
        "post_id": str(number),
        "posted_at": dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC),
        "post_date": day,
        "is_repost": False,
        "delivery_id": "d",
        "source_file": "f",
    }


def _files(root: Path, dataset_name: str) -> dict[str, list[str]]:
    return {
        path.parent.name: pq.read_table(path).column("post_id").to_pylist()
        for path in sorted((root / dataset_name).glob("*/*.parquet"))
    }


@pytest.mark.parametrize(
    "months",
    [
        [3, 3, 2, 2, 2, 1],  # newest first: runs, cut as they are
        [1, 2, 3, 3],  # oldest first
        [2, 1, 2, 3, 1],  # interleaved: sorted first
    ],
)
def test_each_partition_gets_its_rows_in_their_order(tmp_path: Path, months: list[int]) -> None:
    rows = [_post(number, dt.date(2026, month, 1 + number)) for number, month in enumerate(months)]
    written = lake.write_partitioned(tmp_path, SOCIAL_POSTS, rows, "delivery-0000")
    expected: dict[str, list[str]] = {}
    for number, month in enumerate(months):
        expected.setdefault(f"post_date_month=2026-{month:02d}", []).append(str(number))
    assert _files(tmp_path, "social_posts") == expected
    assert written == {label: len(ids) for label, ids in sorted(expected.items())}
    assert list(written) == sorted(written)


def test_rankings_are_partitioned_by_month_in_their_order(tmp_path: Path) -> None:
    rows = [
        {
            "source": "rank_tracker",
            "ranking_date": day,
            "query": "k",
            "url": "https://example.com/",
            "canonical_url": "https://example.com/",
            "position": float(day.day),
            "delivery_id": "d",
        }
        for day in (dt.date(2026, 2, 2), dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 1, 3))
    ]
    lake.write_partitioned(tmp_path, RANKINGS, rows, "delivery-0000")
    folders = sorted(path.parent.name for path in (tmp_path / RANKINGS.name).glob("*/*.parquet"))
    assert folders == ["ranking_date_month=2026-01", "ranking_date_month=2026-02"]
    february = pq.read_table(
        tmp_path / RANKINGS.name / "ranking_date_month=2026-02" / "delivery-0000.parquet"
    )
    assert february.column("position").to_pylist() == [2.0, 1.0]


@pytest.mark.parametrize("dataset", ALL_DATASETS, ids=lambda dataset: dataset.name)
def test_mostly_distinct_columns_are_columns_of_the_dataset(dataset: LakeDataset) -> None:
    assert set(dataset.mostly_distinct) <= set(dataset.schema.names)


def test_repeating_columns_are_dictionary_encoded_and_distinct_ones_are_not(tmp_path: Path) -> None:
    rows = [_post(number, dt.date(2026, 3, 1)) for number in range(50)]
    lake.write_partitioned(tmp_path, SOCIAL_POSTS, rows, "d-0000")
    (path,) = (tmp_path / SOCIAL_POSTS.name).glob("*/*.parquet")
    row_group = pq.ParquetFile(path).metadata.row_group(0)
    encodings = {
        row_group.column(index).path_in_schema: row_group.column(index).encodings
        for index in range(row_group.num_columns)
    }
    assert "RLE_DICTIONARY" in encodings["platform"]
    assert "RLE_DICTIONARY" in encodings["delivery_id"]
    assert "RLE_DICTIONARY" not in encodings["post_id"]
    assert pq.read_table(path).column("post_id").to_pylist() == [str(number) for number in range(50)]
