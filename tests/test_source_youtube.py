from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline.sources.base import ParseContext
from tests.conftest import csv_bytes, of_kind, parse_all, write_zip

HEADER = [
    "Video ID",
    "Approx Duration (ms)",
    "Video Audio Language",
    "Video Category",
    "Video Description (Original)",
    "Channel ID",
    "Video Title (Original)",
    "Privacy",
    "Video State",
    "Video Create Timestamp",
    "Video Publish Timestamp",
    "Tag 1",
    "Tag 2",
    "Tag 3",
]


def video(
    video_id: str,
    description: str,
    privacy: str = "Public",
    published: str = "2026-01-05T17:03:11+00:00",
    tags: int = 3,
) -> list[str]:
    fixed = [
        video_id,
        "61000",
        "en",
        "Education",
        description,
        "UC123",
        f"Title {video_id}",
        privacy,
        "Processed",
        "2026-01-05T16:00:00+00:00",
        published,
    ]
    return fixed + [f"tag{n}" for n in range(tags)]


def test_takeout_videos_with_varying_tag_columns(tmp_path: Path, context: ParseContext) -> None:
    rows = [
        HEADER,
        video(
            "dQw4w9WgXcQ",
            "Links:\nhttps://www.example.com/guide?utm_source=youtube\nhttps://example.com/shop",
        ),
        video("aaaaaaaaaaa", "No tags, fewer cells", tags=0),
        video("bbbbbbbbbbb", "Private https://example.com/private", privacy="Private"),
        video("ccccccccccc", "Bad time", published="soon"),
        ["", "1"],
    ]
    archive = write_zip(
        tmp_path / "takeout-20260110T000000Z-001.zip",
        {
            "Takeout/YouTube and YouTube Music/video metadata/videos.csv": csv_bytes(rows),
            "Takeout/YouTube and YouTube Music/history/watch-history.json": "[]",
        },
    )
    name, records, rejected = parse_all(archive, context)
    assert name == "youtube_takeout"
    posts = {row["post_id"]: row for row in of_kind(records, "post")}
    assert set(posts) == {"dQw4w9WgXcQ", "aaaaaaaaaaa"}
    first = posts["dQw4w9WgXcQ"]
    assert first["permalink"] == "https://youtube.com/watch?v=dQw4w9WgXcQ"
    assert first["posted_at"] == dt.datetime(2026, 1, 5, 17, 3, 11, tzinfo=dt.UTC)
    assert str(first["text"]).startswith("Title dQw4w9WgXcQ\n\nLinks:")
    assert [row["canonical_url"] for row in of_kind(records, "link")] == [
        "https://example.com/guide",
        "https://example.com/shop",
    ]
    assert [(item.location, item.reason.split(" (")[0]) for item in rejected] == [
        ("line 7", "unreadable publish time"),
        ("line 8", "2 columns, the video's fields need 11"),
    ]
