"""Reading a rank-tracker CSV or an Ahrefs export in columns gives exactly what reading it row by row gives.

The row reader (``csv_dict_rows`` + ``RankTrackerCsv.row``) is the reference: every record, value for value,
and every rejection, with its line, reason and excerpt, in order. Files are generated with hostile cells
(bad dates, blank keywords, URLs that are not, unreadable positions and counts) and hostile line structure
(blank lines, short rows, CRLF, lone CRs, quoted line breaks, unclosed quotes, NUL bytes, a BOM), read in
blocks small enough that every file is cut many times.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest.mock import patch

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config import Settings
from pipeline.delivery import Delivery
from pipeline.ingest import run_ingest
from pipeline.sources import csv_columns
from pipeline.sources.ahrefs import AhrefsBacklinks
from pipeline.sources.base import ColumnBatch, ParseContext, Record, Rejected
from pipeline.sources.csv_columns import StringBlock, csv_blocks
from pipeline.sources.rank_tracker import RankTrackerCsv, normalise_header
from pipeline.sources.textfiles import csv_dict_rows, header_of

CONTEXT = ParseContext(www_policy="strip", landed_on=dt.date(2026, 3, 1))
HEADER = ["date", "keyword", "url", "position", "search_volume", "device"]

DATES = ["2026-01-05", "2026-02-28", " 2026-01-06 ", "2026-01-07T10:00:00", "20/11/2026", "", "2026-02-30"]
KEYWORDS = ["garden tools", " spaced ", "", "with,comma", 'say "hi"', "café", "\x1ctrim\x1f", "  "]
URLS = [
    "https://www.example.com/tools?utm_source=tracker",
    "https://example.com/guide",
    " https://example.com/guide ",
    "",
    "not a url",
    "http://local host/",
    "HTTPS://EXAMPLE.COM/A",
]
POSITIONS = ["3", "1", "100", "2.5", "", "-", ">100", "n/a", "0", "1001", "1,5", " 7 ", "abc", "nan", "1e2"]
VOLUMES = ["1200", "", "0", "1,200", "-5", "1e3", "x", "99999999999999999999999", "12.7", "00042"]
DEVICES = ["desktop", "", "mobile"]

cells = st.tuples(
    st.sampled_from(DATES),
    st.sampled_from(KEYWORDS),
    st.sampled_from(URLS),
    st.sampled_from(POSITIONS),
    st.sampled_from(VOLUMES),
    st.sampled_from(DEVICES),
)
# Damage to the line structure, inserted between rows.
DAMAGE = [
    "\n",  # a blank line
    "2026-01-01,short row\n",
    "2026-01-01,a,https://example.com/,3,1,desktop,extra\n",
    '2026-01-01,"two\nlines",https://example.com/,3,1,desktop\n',
    '2026-01-01,"never closed,https://example.com/,3,1,desktop\n',
    "2026-01-01,nul\x00byte,https://example.com/,3,1,desktop\n",
    "2026-01-01,lone,https://example.com/,3,1,desktop\r",
]


def _file(
    rows: Sequence[tuple[str, ...]],
    damage: list[tuple[int, str]],
    crlf: bool,
    bom: bool,
    header: Sequence[str] = HEADER,
    quote_all: bool = False,
) -> bytes:
    """A CSV of ``header`` and ``rows`` with each damaged line of ``damage`` inserted before its row."""
    out = io.StringIO()
    writer = csv.writer(
        out,
        lineterminator="\r\n" if crlf else "\n",
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )
    inserted = dict(damage)
    writer.writerow(header)
    for number, row in enumerate(rows):
        out.write(inserted.get(number, ""))
        writer.writerow(row)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


Parser = RankTrackerCsv | AhrefsBacklinks


def _header(parser: Parser, delivery: Delivery, member: str) -> list[str]:
    """The header as the format reads it."""
    header = header_of(delivery, member)
    return (
        normalise_header(header) if isinstance(parser, RankTrackerCsv) else [name.lower() for name in header]
    )


def _by_rows(path: Path, parser: Parser) -> tuple[list[dict[str, Any]], list[Rejected]]:
    """The reference: the row reader alone, through the format's row function."""
    delivery = Delivery(path)
    member = delivery.members()[0]
    records: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    with csv_dict_rows(delivery, member, _header(parser, delivery, member)) as rows:
        for item in rows:
            found = item if isinstance(item, Rejected) else parser.row(item[1], member, item[0], CONTEXT)
            if isinstance(found, Rejected):
                rejected.append(found)
            else:
                assert isinstance(found, Record)
                records.append(found.row)
    delivery.close()
    return records, rejected


def _in_columns(
    path: Path, block_bytes: int, parser_type: type[Parser] = RankTrackerCsv
) -> tuple[list[dict[str, Any]], list[Rejected], int]:
    """What the format gives, read in blocks of ``block_bytes``; and how many rows came in columns."""
    delivery = Delivery(path)
    records: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    in_columns = 0
    for part in parser_type(block_bytes).parse_sections(delivery, CONTEXT):
        if isinstance(part, ColumnBatch):
            in_columns += part.columns.rows
            records.extend(record.row for record in part.records())
        elif isinstance(part, Rejected):
            rejected.append(part)
        else:
            assert isinstance(part, Record)
            records.append(part.row)
    delivery.close()
    return records, rejected, in_columns


def _assert_same(path: Path, block_bytes: int, parser_type: type[Parser] = RankTrackerCsv) -> int:
    expected_records, expected_rejected = _by_rows(path, parser_type())
    records, rejected, in_columns = _in_columns(path, block_bytes, parser_type)
    assert records == expected_records
    assert rejected == expected_rejected
    return in_columns


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(cells, min_size=1, max_size=40),
    damage=st.lists(st.tuples(st.integers(0, 40), st.sampled_from(DAMAGE)), max_size=3),
    crlf=st.booleans(),
    bom=st.booleans(),
    block_bytes=st.sampled_from([64, 200, 1024, 1 << 20]),
)
def test_columns_and_rows_agree(
    tmp_path: Path,
    rows: list[tuple[str, ...]],
    damage: list[tuple[int, str]],
    crlf: bool,
    bom: bool,
    block_bytes: int,
) -> None:
    path = tmp_path / "positions.csv"
    path.write_bytes(_file(rows, damage, crlf, bom))
    _assert_same(path, block_bytes)


def test_a_clean_export_is_read_in_columns_and_a_bad_row_alone_by_rows(tmp_path: Path) -> None:
    rows = [
        ("2026-01-01", f"kw {n}", f"https://example.com/p{n % 7}", str(1 + n % 50), "10", "")
        for n in range(500)
    ]
    rows[250] = ("2026-13-01", "bad date", "https://example.com/", "3", "10", "")
    path = tmp_path / "positions.csv"
    path.write_bytes(_file(rows, [], crlf=False, bom=False))
    assert _assert_same(path, 4096) == 499
    _, rejected, _ = _in_columns(path, 4096)
    assert [(item.location, item.reason) for item in rejected] == [
        ("line 252", "unparseable date '2026-13-01' (expected YYYY-MM-DD)")
    ]


@pytest.mark.parametrize(
    ("damage", "fewest", "most"),
    [
        # A blank line or a short row: that block is read by rows, the ones after it in columns again.
        ("\n", 300, 399),
        ("2026-01-01,short row\n", 300, 399),
        # A quote left open: the rest of the member is read by rows (only they can tell where it ends).
        ('2026-01-01,"never closed,https://example.com/,3,1,\n', 50, 100),
    ],
)
def test_damage_sends_only_what_it_touches_to_the_row_reader(
    tmp_path: Path, damage: str, fewest: int, most: int
) -> None:
    """Row 100 of 400 damaged, blocks of about 45 rows: how many rows were still read in columns."""
    rows = [("2026-01-01", f"kw {n}", "https://example.com/p", "3", "10", "") for n in range(400)]
    path = tmp_path / "positions.csv"
    path.write_bytes(_file(rows, [(100, damage)], crlf=False, bom=False))
    assert fewest <= _assert_same(path, 2048) <= most


def test_text_in_another_encoding_is_read_by_rows(tmp_path: Path) -> None:
    path = tmp_path / "positions.csv"
    path.write_bytes("date,keyword,url,position\n2026-01-01,café,https://example.com/,3\n".encode("cp1252"))
    records, rejected, in_columns = _in_columns(path, 1 << 20)
    assert in_columns == 0 and rejected == []
    assert [row["query"] for row in records] == ["café"]


def test_blocks_number_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "positions.csv"
    path.write_bytes(
        b"date,keyword,url,position\n" + b"".join(b"2026-01-01,k%d,https://e.com/,1\n" % n for n in range(50))
    )
    delivery = Delivery(path)
    blocks = [
        item
        for item in csv_blocks(delivery, delivery.members()[0], ["date", "keyword", "url", "position"], 256)
    ]
    delivery.close()
    assert all(isinstance(block, StringBlock) for block in blocks) and len(blocks) > 3
    firsts = [block.first_line for block in blocks if isinstance(block, StringBlock)]
    sizes = [block.table.num_rows for block in blocks if isinstance(block, StringBlock)]
    assert firsts == [2 + sum(sizes[:n]) for n in range(len(sizes))] and sum(sizes) == 50


def test_an_ingest_writes_rows_read_both_ways_as_plain_text(settings: Settings) -> None:
    """Blocks read in columns (text as Arrow dictionaries) and a damaged block read by rows (plain text)
    reach one lake chunk together: every row arrives once, in order, and the files hold plain text."""
    rows = [("2026-01-01", f"kw {n}", f"https://example.com/p{n % 5}", "3", "10", "") for n in range(3000)]
    landed = settings.data.landing / "rankings" / "tracker" / "positions.csv"
    landed.parent.mkdir(parents=True)
    landed.write_bytes(_file(rows, [(1500, "2026-01-01,short row\n")], crlf=False, bom=False))
    with patch.object(csv_columns, "BLOCK_BYTES", 8192):
        (result,) = run_ingest(replace(settings)).results
    assert (result.status, result.counts["ranking"], result.quarantined) == ("ingested", 3000, 1)
    files = sorted((settings.data.lake / "rankings").glob("*/*.parquet"))
    assert all(pq.read_schema(path).field("query").type == pa.string() for path in files)
    queries = duckdb.execute(
        "SELECT query FROM read_parquet(?) ORDER BY filename, file_row_number",
        [[str(path) for path in files]],
    ).fetchall()
    assert [query for (query,) in queries] == [f"kw {n}" for n in range(3000)]


AHREFS_HEADER = [
    "Referring page URL",
    "Target URL",
    "Anchor",
    "Nofollow",
    "UGC",
    "Domain rating",
    "First seen",
    "Last seen",
    "Lost",
]
ahrefs_cells = st.tuples(
    st.sampled_from([*URLS, "https://blog.example.co.uk/post?id=3", "https://www.other.org/a"]),
    st.sampled_from(URLS[:3]),
    st.sampled_from(["", "read this", " spaced ", "café"]),
    st.sampled_from(["true", "false", "", "TRUE", "maybe", "1"]),
    st.sampled_from(["false", "", "yes", "x"]),
    st.sampled_from(["", "45", "1,234.5", "abc", "7.5"]),
    st.sampled_from(DATES),
    st.sampled_from(DATES),
    st.sampled_from(["", "true", "false", "2026-01-03", " "]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(ahrefs_cells, min_size=1, max_size=30),
    damage=st.lists(st.tuples(st.integers(0, 30), st.sampled_from(DAMAGE)), max_size=2),
    block_bytes=st.sampled_from([64, 300, 1 << 20]),
)
def test_ahrefs_columns_and_rows_agree(
    tmp_path: Path, rows: list[tuple[str, ...]], damage: list[tuple[int, str]], block_bytes: int
) -> None:
    path = tmp_path / "backlinks.csv"
    path.write_bytes(_file(rows, damage, crlf=False, bom=True, header=AHREFS_HEADER, quote_all=True))
    _assert_same(path, block_bytes, AhrefsBacklinks)
