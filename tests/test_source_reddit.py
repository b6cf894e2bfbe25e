from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from pipeline.sources.base import ParseContext
from tests.conftest import of_kind, parse_all

POSTS = ["id", "permalink", "date", "ip", "subreddit", "gildings", "title", "url", "body"]
COMMENTS = ["id", "permalink", "date", "ip", "subreddit", "gildings", "link", "parent", "body", "media"]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_link_posts_self_posts_and_no_ip(tmp_path: Path, context: ParseContext) -> None:
    path = write_csv(
        tmp_path / "posts.csv",
        POSTS,
        [
            [
                "abc1",
                "https://www.reddit.com/r/gardening/comments/abc1/tips/",
                "2024-01-01 10:00:00 UTC",
                "203.0.113.9",
                "gardening",
                "0",
                "Tips",
                "https://www.example.com/tips?utm_source=reddit",
                "",
            ],
            [
                "abc2",
                "/r/gardening/comments/abc2/question/",
                "2024-01-02 11:30:00 UTC",
                "203.0.113.9",
                "gardening",
                "0",
                "Question",
                "https://www.reddit.com/r/gardening/comments/abc2/question/",
                "see https://example.com/faq.",
            ],
            ["abc3", "/r/x/comments/abc3/", "someday", "203.0.113.9", "x", "0", "t", "", ""],
        ],
    )
    name, records, rejected = parse_all(path, context)
    assert name == "reddit"
    posts = of_kind(records, "post")
    assert [row["post_id"] for row in posts] == ["t3_abc1", "t3_abc2"]
    assert posts[0]["posted_at"] == dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)
    assert posts[1]["permalink"] == "https://reddit.com/r/gardening/comments/abc2/question/"
    links = [(row["post_id"], row["canonical_url"], row["link_kind"]) for row in of_kind(records, "link")]
    assert links == [
        ("t3_abc1", "https://example.com/tips", "link_post"),
        ("t3_abc2", "https://example.com/faq", "text"),
    ]
    assert [item.location for item in rejected] == ["line 4"]
    assert "203.0.113.9" not in json.dumps([record.row for record in records], default=str)


def test_comments(tmp_path: Path, context: ParseContext) -> None:
    path = write_csv(
        tmp_path / "comments.csv",
        COMMENTS,
        [
            [
                "c1",
                "/r/a/comments/p/x/c1/",
                "2024-02-01 00:00:00 UTC",
                "198.51.100.1",
                "a",
                "0",
                "/r/a/comments/p/",
                "t3_p",
                "I wrote about it: https://example.com/post",
                "",
            ]
        ],
    )
    name, records, rejected = parse_all(path, context)
    assert name == "reddit" and rejected == []
    assert [row["post_id"] for row in of_kind(records, "post")] == ["t1_c1"]
    assert [row["canonical_url"] for row in of_kind(records, "link")] == ["https://example.com/post"]


def test_a_data_request_opens_only_posts_and_comments(
    tmp_path: Path, context: ParseContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.delivery import Delivery
    from tests.conftest import write_zip

    posts = write_csv(
        tmp_path / "posts.csv",
        POSTS,
        [
            [
                "p1",
                "/r/a/comments/p1/",
                "2024-01-01 00:00:00 UTC",
                "203.0.113.9",
                "a",
                "0",
                "t",
                "https://example.com/x",
                "",
            ]
        ],
    )
    # A messages file with a posts-like header must still never be opened.
    messages = write_csv(
        tmp_path / "messages.csv",
        POSTS,
        [["m1", "/message/m1", "2024-01-01 00:00:00 UTC", "203.0.113.9", "", "0", "secret", "", "private"]],
    )
    archive = write_zip(
        tmp_path / "reddit-export.zip",
        {"posts.csv": posts.read_bytes(), "messages.csv": messages.read_bytes()},
    )
    opened: list[str] = []
    original_open = Delivery.open

    def recording_open(self: Delivery, member: str):
        opened.append(member)
        return original_open(self, member)

    monkeypatch.setattr(Delivery, "open", recording_open)
    _, records, _ = parse_all(archive, context)
    assert [row["post_id"] for row in of_kind(records, "post")] == ["t3_p1"]
    assert "messages.csv" not in opened
