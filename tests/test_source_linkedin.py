from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from pipeline.sources.base import ParseContext
from pipeline.sources.linkedin import unwrap_commentary
from tests.conftest import REFERENCE_EXPORTS, of_kind, parse_all, write_zip

HEADER = ["Date", "ShareLink", "ShareCommentary", "SharedUrl", "MediaUrl", "Visibility"]


def quoted_lines(*lines: str) -> str:
    """LinkedIn's quirk: after CSV decoding, lines but the first open with '"'; lines but the last close."""
    return '"\n"'.join(lines)


def write_shares(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_quoted_line_quirk_is_unwrapped_and_text_normalised() -> None:
    raw = quoted_lines("𝗪𝗛𝗔𝗧? A guide https://lnkd.in/abc", "", "Second line.")
    assert unwrap_commentary(raw) == "WHAT? A guide https://lnkd.in/abc\n\nSecond line."


def test_shares_posts_and_links(tmp_path: Path, context: ParseContext) -> None:
    path = write_shares(
        tmp_path / "Shares.csv",
        [
            [
                "2025-07-01 14:33:22",
                "https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A7345821826846990338",
                quoted_lines("New 𝗴𝘂𝗶𝗱𝗲: https://lnkd.in/gXyZ", "Read it."),
                "https://www.example.com/guide?utm_source=li",
                "",
                "MEMBER_NETWORK",
            ],
            [
                "2025-06-01 08:00:00",
                "https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A7000000000000000001",
                "Plain text, no link",
                "",
                "",
                "MEMBER_NETWORK",
            ],
            [
                "not a date",
                "https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A1",
                "x",
                "",
                "",
                "MEMBER_NETWORK",
            ],
        ],
    )
    name, records, rejected = parse_all(path, context)
    assert name == "linkedin_shares"
    posts = of_kind(records, "post")
    assert [row["post_id"] for row in posts] == ["7345821826846990338", "7000000000000000001"]
    assert posts[0]["posted_at"] == dt.datetime(2025, 7, 1, 14, 33, 22, tzinfo=dt.UTC)
    assert posts[0]["text"] == "New guide: https://lnkd.in/gXyZ\nRead it."
    links = of_kind(records, "link")
    assert [(row["canonical_url"], row["link_kind"], row["is_shortener"]) for row in links] == [
        ("https://example.com/guide", "shared_url", False),
        ("https://lnkd.in/gXyZ", "text", True),
    ]
    # The first share spans lines 2-3: places are physical lines of the file.
    assert [(item.location, item.reason) for item in rejected] == [
        ("line 5", "unparseable Date 'not a date' (expected YYYY-MM-DD HH:MM:SS)")
    ]


def test_older_export_without_media_and_visibility(tmp_path: Path, context: ParseContext) -> None:
    path = write_shares(
        tmp_path / "Shares.csv",
        [
            [
                "2016-01-02 10:00:00",
                "https://www.linkedin.com/feed/update/urn:li:share:6000",
                "hello https://example.com/a",
                "",
            ]
        ],
        header=HEADER[:4],
    )
    name, records, rejected = parse_all(path, context)
    assert name == "linkedin_shares" and rejected == []
    assert [row["canonical_url"] for row in of_kind(records, "link")] == ["https://example.com/a"]


def test_shares_inside_a_linkedin_zip(tmp_path: Path, context: ParseContext) -> None:
    shares = write_shares(
        tmp_path / "Shares.csv", [["2025-01-01 00:00:00", "", "hi", "", "", "MEMBER_NETWORK"]]
    )
    archive = write_zip(
        tmp_path / "Basic_LinkedInDataExport.zip",
        {"Shares.csv": shares.read_bytes(), "Connections.csv": "First Name,Last Name,Email\n"},
    )
    name, records, _ = parse_all(archive, context)
    assert name == "linkedin_shares"
    assert len(of_kind(records, "post")) == 1


@pytest.mark.skipif(
    not (REFERENCE_EXPORTS / "linkedin").exists(), reason="../shared/reference-exports is not present"
)
def test_real_shares_ingest_completely(context: ParseContext) -> None:
    path = REFERENCE_EXPORTS / "linkedin" / "Shares.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    name, records, rejected = parse_all(path, context)
    assert name == "linkedin_shares" and rejected == []
    assert len(of_kind(records, "post")) == len(rows) == 202
    links = of_kind(records, "link")
    shared = {row["SharedUrl"] for row in rows if row["SharedUrl"]}
    assert shared <= {row["url"] for row in links}
    assert sum(1 for row in links if "lnkd.in" in str(row["canonical_url"])) > 100
    assert not any(str(row["url"]).endswith('"') for row in links)
