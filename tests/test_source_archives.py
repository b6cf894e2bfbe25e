"""Deliveries as the platforms ship them: nested zips, spreadsheets, limits; and which members are read."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pytest

from pipeline.delivery import ArchiveLimits, Delivery, UnreadableDelivery
from pipeline.sources import detect_format
from pipeline.sources.base import ParseContext, Rejected
from tests.conftest import (
    csv_bytes,
    facebook_post,
    instagram_post,
    mastodon_create,
    mastodon_outbox,
    meta_json,
    of_kind,
    parse_all,
    write_zip,
    x_manifest,
    x_tweet,
    x_tweets_js,
    xlsx_bytes,
)


def _zip_bytes(members: dict[str, bytes | str], stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


X_MEMBERS: dict[str, bytes | str] = {
    "data/manifest.js": x_manifest(),
    "data/tweets.js": x_tweets_js(
        [
            {
                "tweet": x_tweet(
                    "1",
                    "Fri Feb 20 09:10:58 +0000 2026",
                    "hi https://t.co/a",
                    [("https://t.co/a", "https://example.com/a")],
                )
            }
        ]
    ),
}


@pytest.mark.parametrize("stored", [True, False])
def test_a_zip_inside_a_zip_is_read_in_place(tmp_path: Path, context: ParseContext, stored: bool) -> None:
    inner = _zip_bytes(X_MEMBERS)
    outer = tmp_path / "download.zip"
    outer.write_bytes(_zip_bytes({"twitter-2026-03-06-abc.zip": inner, "README.txt": "hello"}, stored=stored))
    delivery = Delivery(outer)
    try:
        assert delivery.members() == [
            "twitter-2026-03-06-abc.zip/data/manifest.js",
            "twitter-2026-03-06-abc.zip/data/tweets.js",
            "README.txt",
        ]
    finally:
        delivery.close()
    name, records, rejected = parse_all(outer, context)
    assert name == "x_archive" and rejected == []
    assert [row["canonical_url"] for row in of_kind(records, "link")] == ["https://example.com/a"]


def test_multi_part_exports_in_a_folder_of_zips(tmp_path: Path, context: ParseContext) -> None:
    folder = tmp_path / "facebook-dana"
    folder.mkdir()
    (folder / "facebook-dana-part1.zip").write_bytes(
        _zip_bytes(
            {
                "your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json": meta_json(
                    [facebook_post(1767225600, "one https://example.com/1")]
                )
            }
        )
    )
    (folder / "facebook-dana-part2.zip").write_bytes(
        _zip_bytes(
            {
                "your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_2.json": meta_json(
                    [facebook_post(1767312000, "two")]
                )
            }
        )
    )
    name, records, _ = parse_all(folder, context)
    assert name == "facebook_posts"
    assert len(of_kind(records, "post")) == 2


def test_limits_count_across_nested_archives(tmp_path: Path) -> None:
    inner = _zip_bytes({f"file{n}.txt": "x" for n in range(30)})
    outer = tmp_path / "nested.zip"
    outer.write_bytes(_zip_bytes({"a.zip": inner, "b.zip": inner}))
    delivery = Delivery(outer, ArchiveLimits(max_entries=50))
    try:
        with pytest.raises(UnreadableDelivery, match="entries exceed the limit"):
            delivery.members()
    finally:
        delivery.close()
    bomb = _zip_bytes({"zeros.txt": b"\0" * 5_000_000})
    outer.write_bytes(_zip_bytes({"inner.zip": bomb}, stored=True))
    delivery = Delivery(outer)
    try:
        with pytest.raises(UnreadableDelivery, match=r"inner\.zip.*zip bomb"):
            delivery.members()
    finally:
        delivery.close()


def test_zip_slip_inside_a_nested_archive_is_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../etc/evil.txt", "x")
    outer = tmp_path / "outer.zip"
    outer.write_bytes(_zip_bytes({"inner.zip": buffer.getvalue()}))
    delivery = Delivery(outer)
    try:
        with pytest.raises(UnreadableDelivery, match="zip-slip"):
            delivery.members()
    finally:
        delivery.close()


def test_a_spreadsheet_is_one_file_not_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "content.xlsx"
    path.write_bytes(xlsx_bytes({"All posts": [["x"]]}))
    delivery = Delivery(path)
    try:
        assert (delivery.kind, delivery.members()) == ("file", ["content.xlsx"])
    finally:
        delivery.close()


class RecordingDelivery(Delivery):
    """A real delivery that notes every member it opens."""

    opened: set[str]

    @contextmanager
    def open(self, member: str) -> Iterator[IO[bytes]]:
        self.opened.add(member)
        with super().open(member) as handle:
            yield handle


DM = '{"messages": [{"content": "secret"}]}'
EMAILS = '{"emails": ["dana@example.org"]}'
PRIVATE_MEMBERS: dict[str, dict[str, str | bytes]] = {
    "x": {
        **X_MEMBERS,
        "data/direct-messages.js": 'window.YTD.direct_messages.part0 = [{"text": "secret dana@example.org"}]',
        "data/ip-audit.js": 'window.YTD.ip_audit.part0 = [{"ipAudit": {"loginIp": "203.0.113.9"}}]',
        "data/account.js": 'window.YTD.account.part0 = [{"account": {"email": "dana@example.org"}}]',
    },
    "facebook": {
        "your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json": meta_json(
            [facebook_post(1767225600, "hello")]
        ),
        "your_facebook_activity/messages/inbox/paul_1/message_1.json": DM,
        "security_and_login_information/ip_address_activity.json": '{"ip": "203.0.113.9"}',
        "personal_information/profile_information/profile_information.json": EMAILS,
    },
    "instagram": {
        "your_instagram_activity/content/posts_1.json": meta_json([instagram_post(1767225600, "hello")]),
        "your_instagram_activity/messages/inbox/paul_1/message_1.json": DM,
        "personal_information/personal_information/personal_information.json": EMAILS,
    },
    "mastodon": {
        "outbox.json": mastodon_outbox([mastodon_create(1, "2026-01-05T10:00:00Z", "<p>hello</p>")]),
        "actor.json": '{"type": "Person", "email": "dana@example.org"}',
        "bookmarks.json": '{"orderedItems": ["secret"]}',
    },
    "youtube": {
        "Takeout/YouTube and YouTube Music/video metadata/videos.csv": csv_bytes(
            [
                ["Video ID", "Video Title (Original)", "Video Publish Timestamp"],
                ["dQw4w9WgXcQ", "t", "2026-01-05T17:03:11+00:00"],
            ]
        ),
        "Takeout/YouTube and YouTube Music/history/watch-history.json": '[{"title": "secret"}]',
        "Takeout/YouTube and YouTube Music/subscriptions/subscriptions.csv": "Channel Id,Title\n1,secret\n",
        "Takeout/Profile/Profile.json": '{"emails": [{"value": "dana@example.org"}]}',
    },
}
NEEDED = {
    "x": {"data/manifest.js", "data/tweets.js"},
    "facebook": {"your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json"},
    "instagram": {"your_instagram_activity/content/posts_1.json"},
    "mastodon": {"outbox.json"},
    "youtube": {"Takeout/YouTube and YouTube Music/video metadata/videos.csv"},
}


@pytest.mark.parametrize("platform", sorted(PRIVATE_MEMBERS))
def test_only_the_members_a_parser_needs_are_opened(
    tmp_path: Path, context: ParseContext, platform: str
) -> None:
    archive = write_zip(tmp_path / f"{platform}.zip", PRIVATE_MEMBERS[platform])
    delivery = RecordingDelivery(archive)
    delivery.opened = set()
    try:
        source_format = detect_format(delivery)
        assert source_format is not None
        items = list(source_format.parse(delivery, context))
    finally:
        delivery.close()
    assert items and not any(isinstance(item, Rejected) for item in items)
    assert delivery.opened == NEEDED[platform]
    kept = json.dumps([getattr(item, "row", None) for item in items], default=str)
    for private in ("secret", "dana@example.org", "203.0.113.9"):
        assert private not in kept
