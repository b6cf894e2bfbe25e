from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipeline.sources.base import ParseContext
from tests.conftest import instagram_post, meta_json, mojibake, of_kind, parse_all, write_zip

POSTS = [
    instagram_post(1767225600, "Nouveau guide ☕ lien en bio: www.example.com/guide"),
    instagram_post(1767312000, "Carrousel: https://www.example.com/menu?utm_source=ig", media_count=3),
    {"media": [{"uri": "media/posts/x.jpg", "title": "no time"}]},
]
THREADS = {
    "text_post_app_text_posts": [
        {
            "media": [
                {
                    "uri": "",
                    "creation_timestamp": 1767398400,
                    "title": mojibake("Fil: https://example.com/fil 🧵"),
                }
            ]
        },
        {"media": [], "title": "reply without time"},
    ]
}


@pytest.mark.parametrize(
    "posts_member",
    [
        "your_instagram_activity/media/posts_1.json",
        "your_instagram_activity/content/posts_1.json",
        "content/posts_1.json",
    ],
)
def test_posts_in_every_layout_with_threads(tmp_path: Path, context: ParseContext, posts_member: str) -> None:
    archive = write_zip(
        tmp_path / "instagram-dana.zip",
        {
            posts_member: meta_json(POSTS),
            "your_instagram_activity/threads/threads_and_replies.json": meta_json(THREADS),
            "your_instagram_activity/messages/inbox/paul_1/message_1.json": '{"messages": []}',
            "personal_information/personal_information.json": '{"email": "dana@example.org"}',
        },
    )
    name, records, rejected = parse_all(archive, context)
    assert name == "instagram_export"
    posts = of_kind(records, "post")
    assert [(row["platform"], row["text"]) for row in posts] == [
        ("instagram", "Nouveau guide ☕ lien en bio: www.example.com/guide"),
        ("instagram", "Carrousel: https://www.example.com/menu?utm_source=ig"),
        ("threads", "Fil: https://example.com/fil 🧵"),
    ]
    assert posts[1]["posted_at"] == dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    links = [(row["platform"], row["canonical_url"], row["link_kind"]) for row in of_kind(records, "link")]
    # Captions are not clickable, but a URL written in one is a mention; Threads links are links.
    assert links == [
        ("instagram", "https://example.com/guide", "caption_mention"),
        ("instagram", "https://example.com/menu", "caption_mention"),
        ("threads", "https://example.com/fil", "text"),
    ]
    assert [(item.member.rsplit("/", 1)[-1], item.location.split(" at ")[0]) for item in rejected] == [
        ("posts_1.json", "item 2"),
        ("threads_and_replies.json", "text_post_app_text_posts item 1"),
    ]
    assert {item.reason for item in rejected} == {"missing or invalid creation_timestamp"}


def test_reels_and_the_old_media_json(tmp_path: Path, context: ParseContext) -> None:
    archive = write_zip(
        tmp_path / "instagram-old.zip",
        {
            "content/reels.json": meta_json(
                {"ig_reels_media": [instagram_post(1767225600, "Reel https://example.com/r")]}
            ),
            "media.json": meta_json(
                {
                    "photos": [
                        {
                            "caption": mojibake("Été https://example.com/ete"),
                            "taken_at": "2019-07-01T10:00:00",
                            "path": "photos/1.jpg",
                        }
                    ],
                    "videos": [{"caption": "", "taken_at": "not a date", "path": "videos/1.mp4"}],
                }
            ),
        },
    )
    name, records, rejected = parse_all(archive, context)
    assert name == "instagram_export"
    assert sorted(str(row["text"]) for row in of_kind(records, "post")) == [
        "Reel https://example.com/r",
        "Été https://example.com/ete",
    ]
    assert {row["canonical_url"] for row in of_kind(records, "link")} == {
        "https://example.com/r",
        "https://example.com/ete",
    }
    assert [(item.member, item.location) for item in rejected] == [("media.json", "videos item 0")]
