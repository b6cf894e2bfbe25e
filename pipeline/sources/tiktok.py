"""TikTok "download your data" JSON export: ``user_data.json`` / ``user_data_tiktok.json``.

The account's own videos are a ``VideoList`` whose place moved between versions (``Video > Videos``,
later ``Post > Posts``): every ``VideoList`` is searched for, except the ones under watch, browsing,
favourite or like history (also ``VideoList``s, of other people's videos). Items: ``Date``
(``2024-01-31 12:00:00``, UTC), ``Link`` (``…/video/<id>/``), ``Likes`` (a string), and a caption
where the version has one. The export also holds messages, login IPs, e-mail and phone: only the
video lists and the user name are taken from it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from pipeline.delivery import Delivery
from pipeline.sources.base import Extracted, ParseContext, Record, Rejected, post_links, post_record
from pipeline.sources.jsonfiles import find_lists, load_json_member, text_of
from pipeline.sources.tabular import parse_count

PLATFORM = "tiktok"
FILE_NAMES = ("user_data.json", "user_data_tiktok.json")
VIDEO_LIST = "VideoList"
NOT_OWN_VIDEOS = ("activity", "browsing", "watch", "history", "favorite", "favourite", "like")
CAPTION_KEYS = ("Title", "Description", "Caption", "VideoDescription")
_VIDEO_ID = re.compile(r"/video/(\d+)")


def _user_name(document: dict[str, Any]) -> str | None:
    profile = document.get("Profile")
    for key in ("Profile Info", "Profile Information"):
        section = profile.get(key) if isinstance(profile, dict) else None
        info = section.get("ProfileMap") if isinstance(section, dict) else None
        name = text_of(info.get("userName")) if isinstance(info, dict) else None
        if name:
            return name
    return None


class TikTokExport:
    name = "tiktok_export"

    def _members(self, delivery: Delivery) -> list[str]:
        return [
            m
            for m in delivery.find(".json")
            if (m.rsplit("/", 1)[-1].lower() in FILE_NAMES or delivery.kind == "file")
            and delivery.head(m, 64).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")
            and self._mentions_videos(delivery, m)
        ]

    def _mentions_videos(self, delivery: Delivery, member: str) -> bool:
        head = delivery.head(member, 1 << 20)
        return VIDEO_LIST.encode() in head or (
            (b'"Video"' in head or b'"Post"' in head) and b'"Profile"' in head
        )

    def detect(self, delivery: Delivery) -> bool:
        return bool(self._members(delivery))

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for member in self._members(delivery):
            document = load_json_member(delivery, member)
            if not isinstance(document, dict):
                yield Rejected(member, "top level", "expected a JSON object")
                continue
            user = _user_name(document)
            for path, videos in find_lists(document, VIDEO_LIST):
                if any(word in part.lower() for part in path for word in NOT_OWN_VIDEOS):
                    continue
                where = " > ".join(path)
                for index, video in enumerate(videos):
                    yield from self._video(video, user, member, f"{where} item {index}", context)

    def _video(
        self, video: Any, user: str | None, member: str, location: str, context: ParseContext
    ) -> Iterator[Extracted]:
        if not isinstance(video, dict):
            yield Rejected(member, location, "video is not a JSON object")
            return
        link = text_of(video.get("Link")) or text_of(video.get("VideoLink")) or ""
        found = _VIDEO_ID.search(link)
        if not found:
            yield Rejected(member, location, f"no video id in Link {link[:80]!r}")
            return
        video_id = found.group(1)
        try:
            posted_at = dt.datetime.strptime(str(video.get("Date")).strip(), "%Y-%m-%d %H:%M:%S").replace(
                tzinfo=dt.UTC
            )
        except ValueError:
            yield Rejected(member, location, f"unparseable Date {str(video.get('Date'))[:40]!r}")
            return
        try:
            likes = parse_count(text_of(video.get("Likes")))
        except ValueError:
            yield Rejected(member, location, f"unreadable Likes {str(video.get('Likes'))[:40]!r}")
            return
        caption = next((text for key in CAPTION_KEYS if (text := text_of(video.get(key)))), None)
        permalink = f"https://www.tiktok.com/@{user}/video/{video_id}" if user else link
        post = post_record(PLATFORM, video_id, permalink, posted_at, caption, False, context.www_policy)
        yield Record("post", post)
        yield from post_links(post, [], context.www_policy)
        yield Record(
            "engagement",
            {
                "platform": PLATFORM,
                "post_id": video_id,
                "permalink": post["permalink"],
                "snapshot_date": context.landed_on,
                "likes": likes,
            },
        )
