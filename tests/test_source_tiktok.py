from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipeline.sources.base import ParseContext
from tests.conftest import of_kind, parse_all, write_zip


def user_data(videos_at: tuple[str, ...]) -> dict[str, object]:
    videos = [
        {
            "Date": "2026-01-05 10:00:00",
            "Link": "https://www.tiktokv.com/share/video/7321000000000000001/",
            "Likes": "1,204",
            "Sound": "",
            "Location": "",
            "Title": "Guide https://www.example.com/guide?utm_source=tiktok",
        },
        {
            "Date": "2026-01-06 10:00:00",
            "Link": "https://www.tiktokv.com/share/video/7321000000000000002/",
            "Likes": "0",
        },
        {"Date": "2026-01-07 10:00:00", "Link": "https://www.tiktokv.com/share/video/nope/", "Likes": "3"},
        {
            "Date": "2026-01-08 10:00:00",
            "Link": "https://www.tiktokv.com/share/video/7321000000000000004/",
            "Likes": "many",
        },
    ]
    document: dict[str, object] = {
        "Activity": {
            "Video Browsing History": {
                "VideoList": [
                    {
                        "Date": "2026-01-01 09:00:00",
                        "Link": "https://www.tiktokv.com/share/video/7000000000000000009/",
                    }
                ]
            },
            "Login History": {"LoginHistoryList": [{"Date": "2026-01-01 09:00:00", "IP": "203.0.113.7"}]},
        },
        "Direct Messages": {
            "Chat History": {"ChatHistory": {"Chat History with paul:": [{"Content": "secret"}]}}
        },
        "Profile": {
            "Profile Information": {
                "ProfileMap": {
                    "userName": "dana.demo",
                    "emailAddress": "dana@example.org",
                    "telephoneNumber": "+1 555 0100",
                }
            }
        },
    }
    section: dict[str, object] = document
    for key in videos_at[:-1]:
        section = section.setdefault(key, {})  # type: ignore[assignment]
    section[videos_at[-1]] = {"VideoList": videos}
    return document


@pytest.mark.parametrize(
    ("file_name", "place"),
    [("user_data.json", ("Video", "Videos")), ("user_data_tiktok.json", ("Post", "Posts"))],
)
def test_video_list_found_wherever_the_version_put_it(
    tmp_path: Path, context: ParseContext, file_name: str, place: tuple[str, ...]
) -> None:
    archive = write_zip(tmp_path / "tiktok.zip", {file_name: json.dumps(user_data(place), indent=2)})
    name, records, rejected = parse_all(archive, context)
    assert name == "tiktok_export"
    posts = of_kind(records, "post")
    assert [row["post_id"] for row in posts] == ["7321000000000000001", "7321000000000000002"]
    assert posts[0]["permalink"] == "https://tiktok.com/@dana.demo/video/7321000000000000001"
    assert posts[0]["posted_at"] == dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC)
    assert [row["canonical_url"] for row in of_kind(records, "link")] == ["https://example.com/guide"]
    engagement = of_kind(records, "engagement")
    assert [(row["post_id"], row["likes"], row["snapshot_date"]) for row in engagement] == [
        ("7321000000000000001", 1204, context.landed_on),
        ("7321000000000000002", 0, context.landed_on),
    ]
    assert [item.location.rsplit(" ", 2)[-2:] for item in rejected] == [["item", "2"], ["item", "3"]]
    kept = json.dumps([r.row for r in records], default=str) + repr(rejected)
    for private in ("203.0.113.7", "dana@example.org", "555 0100", "secret", "7000000000000000009"):
        assert private not in kept
