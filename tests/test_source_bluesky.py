from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline.sources.base import ParseContext
from tests.conftest import bluesky_car, of_kind, parse_all, parse_safely, write_zip

DID = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
# "☕ " is 4 bytes in UTF-8 but 2 characters: facet offsets count bytes.
TEXT = "☕ New guide example.com/guide-to-c… and www.example.com/bare"
FACET_START = len("☕ New guide ".encode())
FACET_END = FACET_START + len("example.com/guide-to-c…".encode())


def records() -> dict[str, dict[str, object]]:
    return {
        "app.bsky.feed.post/3kabc": {
            "$type": "app.bsky.feed.post",
            "text": TEXT,
            "createdAt": "2026-01-05T10:00:00.000Z",
            "langs": ["en"],
            "facets": [
                {
                    "index": {"byteStart": FACET_START, "byteEnd": FACET_END},
                    "features": [
                        {
                            "$type": "app.bsky.richtext.facet#link",
                            "uri": "https://www.example.com/guide-to-coffee",
                        }
                    ],
                },
                {
                    "index": {"byteStart": 0, "byteEnd": 3},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "coffee"}],
                },
            ],
        },
        "app.bsky.feed.post/3kdef": {
            "$type": "app.bsky.feed.post",
            "text": "Card only",
            "createdAt": "2026-01-06T10:00:00+00:00",
            "embed": {
                "$type": "app.bsky.embed.external",
                "external": {
                    "uri": "https://example.com/card?utm_medium=social",
                    "title": "Card",
                    "description": "",
                },
            },
        },
        "app.bsky.feed.post/3kghi": {
            "$type": "app.bsky.feed.post",
            "text": "no date",
            "createdAt": "someday",
        },
        "app.bsky.feed.repost/3kjkl": {
            "$type": "app.bsky.feed.repost",
            "subject": {"uri": "at://did:plc:other/app.bsky.feed.post/3zzz", "cid": "bafy"},
            "createdAt": "2026-01-07T10:00:00Z",
        },
        "app.bsky.actor.profile/self": {"$type": "app.bsky.actor.profile", "displayName": "Dana"},
        "app.bsky.graph.follow/3kmno": {
            "$type": "app.bsky.graph.follow",
            "subject": "did:plc:x",
            "createdAt": "2026-01-01T00:00:00Z",
        },
    }


def test_car_repository_posts_facets_embeds_and_reposts(tmp_path: Path, context: ParseContext) -> None:
    car = tmp_path / "repo.car"
    car.write_bytes(bluesky_car(DID, records()))
    name, found, rejected = parse_all(car, context)
    assert name == "bluesky_car"
    posts = {row["post_id"]: row for row in of_kind(found, "post")}
    first = posts[f"at://{DID}/app.bsky.feed.post/3kabc"]
    assert first["permalink"] == f"https://bsky.app/profile/{DID}/post/3kabc"
    assert first["posted_at"] == dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC)
    assert first["text"] == TEXT
    repost = posts[f"at://{DID}/app.bsky.feed.repost/3kjkl"]
    assert (repost["is_repost"], repost["permalink"]) == (
        True,
        "https://bsky.app/profile/did:plc:other/post/3zzz",
    )
    links = sorted(
        (str(row["post_id"])[-5:], row["canonical_url"], row["link_kind"]) for row in of_kind(found, "link")
    )
    # The facet's full URI, not its shortened text (cut out by its byte range); the bare URL outside it.
    assert links == [
        ("3kabc", "https://example.com/bare", "text"),
        ("3kabc", "https://example.com/guide-to-coffee", "facet"),
        ("3kdef", "https://example.com/card", "embed"),
    ]
    assert [(item.member, item.location) for item in rejected] == [
        ("repo.car", "record app.bsky.feed.post/3kghi")
    ]


def test_car_inside_a_zip_and_a_damaged_car(tmp_path: Path, context: ParseContext) -> None:
    data = bluesky_car(DID, records())
    archive = write_zip(tmp_path / "bluesky-export.zip", {"repo.car": data})
    assert len(of_kind(parse_all(archive, context)[1], "post")) == 3
    damaged = tmp_path / "damaged.car"
    damaged.write_bytes(data[: len(data) // 2])
    name, found, rejected = parse_safely(damaged, context)
    assert name == "bluesky_car" and found == []
    assert [(item.member, item.location) for item in rejected] == [("damaged.car", "whole file")]
    assert rejected[0].reason.startswith("unreadable CAR file")
