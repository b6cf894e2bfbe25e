"""Instagram "download your information" JSON export, with the Threads posts it carries.

Instagram posts, by export generation: ``your_instagram_activity/media/posts_1.json`` (2024:
``your_instagram_activity/content/posts_1.json``; older ``content/posts_1.json``), reels in
``content/reels.json`` (``ig_reels_media``), and the 2019-2020 ``media.json`` (``photos``/``videos``
with ``caption`` and ``taken_at``). A post is ``media[]`` of ``uri``, ``creation_timestamp`` and
``title`` (the caption); a post of several media repeats caption and timestamp at the top.
Captions hold no clickable links, but a URL in a caption still counts, as a ``caption_mention``.

Threads (inside the Instagram export, or its own): ``threads/threads_and_replies.json``, key
``text_post_app_text_posts``, the same post shape; links in a Threads post are clickable (``text``).

No ids: the key is the timestamp plus a hash of the text (as for Facebook). Strings are mojibake,
repaired. Media metadata (camera, location) is never read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from pipeline.delivery import Delivery
from pipeline.sources.base import Extracted, ParseContext, Record, Rejected, post_links, post_record
from pipeline.sources.facebook import json_items, post_key, unix_time
from pipeline.sources.jsonfiles import fix_mojibake, load_json_member, text_of
from pipeline.sources.tabular import parse_datetime

INSTAGRAM = "instagram"
THREADS = "threads"
POSTS_FILE = re.compile(r"(?:^|/)(?:media|content)/posts_\d+\.json$")
REELS_FILE = re.compile(r"(?:^|/)content/reels\.json$")
OLD_MEDIA_FILE = re.compile(r"(?:^|/)media\.json$")
THREADS_FILE = re.compile(r"(?:^|/)threads/threads_and_replies\.json$")
REELS_KEY = "ig_reels_media"
THREADS_KEY = "text_post_app_text_posts"


def _head(delivery: Delivery, member: str) -> bytes:
    return delivery.head(member, 4096).lstrip(b"\xef\xbb\xbf \t\r\n")


class InstagramExport:
    name = "instagram_export"

    def _members(self, delivery: Delivery) -> list[tuple[str, str]]:
        """(member, kind) for every member holding posts, reels, old media or Threads posts."""
        found = []
        for member in delivery.find(".json"):
            if POSTS_FILE.search(member) and b'"creation_timestamp"' in _head(delivery, member):
                found.append((member, "posts"))
            elif REELS_FILE.search(member) and REELS_KEY.encode() in _head(delivery, member):
                found.append((member, "reels"))
            elif OLD_MEDIA_FILE.search(member) and b'"taken_at"' in _head(delivery, member):
                found.append((member, "old_media"))
            elif THREADS_FILE.search(member) and THREADS_KEY.encode() in _head(delivery, member):
                found.append((member, "threads"))
        return found

    def detect(self, delivery: Delivery) -> bool:
        return bool(self._members(delivery))

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for member, kind in self._members(delivery):
            if kind == "posts":
                for location, item in json_items(delivery, member):
                    yield from self._post(INSTAGRAM, item, member, location, context)
            elif kind == "old_media":
                yield from self._old_media(delivery, member, context)
            else:
                platform, key = (THREADS, THREADS_KEY) if kind == "threads" else (INSTAGRAM, REELS_KEY)
                document = load_json_member(delivery, member)
                items = document.get(key) if isinstance(document, dict) else None
                for index, item in enumerate(items if isinstance(items, list) else []):
                    yield from self._post(platform, item, member, f"{key} item {index}", context)

    def _post(
        self, platform: str, item: Any, member: str, location: str, context: ParseContext
    ) -> Iterator[Extracted]:
        if not isinstance(item, dict):
            yield Rejected(member, location, "post is not a JSON object")
            return
        media = item.get("media")
        first = media[0] if isinstance(media, list) and media and isinstance(media[0], dict) else {}
        posted_at = unix_time(item.get("creation_timestamp", first.get("creation_timestamp")))
        if posted_at is None:
            yield Rejected(member, location, "missing or invalid creation_timestamp")
            return
        text = fix_mojibake(text_of(item.get("title")) or text_of(first.get("title")) or "")
        yield from self._emit(platform, posted_at, text, context)

    def _emit(
        self, platform: str, posted_at: dt.datetime, text: str, context: ParseContext
    ) -> Iterator[Record]:
        post = post_record(
            platform,
            post_key(int(posted_at.timestamp()), text),
            None,
            posted_at,
            text or None,
            False,
            context.www_policy,
        )
        yield Record("post", post)
        if platform == THREADS:
            yield from post_links(post, [], context.www_policy)
        else:
            for record in post_links(post, [], context.www_policy):
                yield Record("link", {**record.row, "link_kind": "caption_mention"})

    def _old_media(self, delivery: Delivery, member: str, context: ParseContext) -> Iterator[Extracted]:
        """2019-2020 ``media.json``: ``{"photos": [{"caption", "taken_at", "path"}], "videos": [...]}``."""
        document = load_json_member(delivery, member)
        for key in ("photos", "videos"):
            items = document.get(key) if isinstance(document, dict) else None
            for index, item in enumerate(items if isinstance(items, list) else []):
                location = f"{key} item {index}"
                if not isinstance(item, dict):
                    yield Rejected(member, location, "item is not a JSON object")
                    continue
                try:
                    posted_at = parse_datetime(text_of(item.get("taken_at")))
                except ValueError:
                    posted_at = None
                if posted_at is None:
                    yield Rejected(member, location, "missing or invalid taken_at")
                    continue
                yield from self._emit(
                    INSTAGRAM, posted_at, fix_mojibake(text_of(item.get("caption")) or ""), context
                )
