"""Facebook "download your information" JSON export: profile posts and page posts.

Where the posts are, by export generation:
- ``posts/your_posts_1.json`` (also below ``your_activity_across_facebook/``);
- 2024+: ``your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json``;
- pages: ``this_profile's_activity_across_facebook/posts/profile_posts_1.json``.
Each is an array of posts (a few versions wrap it in an object): ``timestamp`` (unix seconds),
``data[].post`` (the text), ``attachments[].data[].external_context.url`` (the shared link), ``title``
("… shared a link."). Posts have no id: the key is the timestamp plus a hash of the text. Every string
is mojibake (UTF-8 bytes written as ``\\u00XX``) and is repaired before use. Arrays are streamed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from pipeline.delivery import Delivery
from pipeline.sources.base import (
    Extracted,
    ParseContext,
    Record,
    Rejected,
    post_links,
    post_record,
    redacted_excerpt,
)
from pipeline.sources.jsonfiles import fix_mojibake, load_json_member, text_of
from pipeline.sources.jsonstream import iter_array_items

PLATFORM = "facebook"
POSTS_FILE = re.compile(
    r"(?:^|/)posts/(?:your_posts(?:__check_ins__photos_and_videos)?|profile_posts)(?:_\d+)?\.json$"
)
# "Jane shared a post." / "… shared Paul's video." re-share someone's content; "shared a link" is her own.
_RESHARE_TITLE = re.compile(r"\bshared\b.*\b(?:post|video|photo|reel|memory|album)\b", re.IGNORECASE)
MAX_TIMESTAMP = 4_102_444_800  # 2100-01-01: later values are damage


def post_key(timestamp: int, text: str) -> str:
    """The id of a Facebook or Instagram post, which exports do not give: timestamp + text hash."""
    return f"{timestamp}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def unix_time(value: Any) -> dt.datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < MAX_TIMESTAMP:
        return None
    return dt.datetime.fromtimestamp(int(value), dt.UTC)


def _is_posts_member(delivery: Delivery, member: str) -> bool:
    if not POSTS_FILE.search(member):
        return False
    head = delivery.head(member, 4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head[:1] in (b"[", b"{") and (b'"timestamp"' in head or head.rstrip() in (b"[]", b"[ ]", b"{}"))


def json_items(delivery: Delivery, member: str) -> Iterator[tuple[str, Any]]:
    """(location, decoded item) for each post in an array member (streamed) or an object wrapping one."""
    head = delivery.head(member, 64).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):
        with delivery.open(member) as handle:
            for item in iter_array_items(handle, member):
                try:
                    yield (
                        item.location,
                        json.loads(bytes(item.raw).decode("utf-8", "replace")),
                    )
                except (ValueError, RecursionError):
                    yield item.location, None
        return
    document = load_json_member(delivery, member)
    lists = (
        [value for value in document.values() if isinstance(value, list)]
        if isinstance(document, dict)
        else []
    )
    for index, item in enumerate(lists[0] if len(lists) == 1 else []):
        yield f"item {index}", item


class FacebookPosts:
    name = "facebook_posts"

    def _members(self, delivery: Delivery) -> list[str]:
        return [m for m in delivery.find(".json") if _is_posts_member(delivery, m)]

    def detect(self, delivery: Delivery) -> bool:
        return bool(self._members(delivery))

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for member in self._members(delivery):
            for location, item in json_items(delivery, member):
                yield from self._post(item, member, location, context)

    def _post(self, item: Any, member: str, location: str, context: ParseContext) -> Iterator[Extracted]:
        if not isinstance(item, dict):
            yield Rejected(member, location, "post is not a JSON object", redacted_excerpt(repr(item)))
            return
        posted_at = unix_time(item.get("timestamp"))
        if posted_at is None:
            yield Rejected(
                member,
                location,
                f"missing or invalid timestamp {str(item.get('timestamp'))[:40]!r}",
                redacted_excerpt(fix_mojibake(json.dumps(item, ensure_ascii=False))),
            )
            return
        data = item.get("data")
        texts = (
            [text_of(entry.get("post")) for entry in data if isinstance(entry, dict)]
            if isinstance(data, list)
            else []
        )
        text = fix_mojibake("\n".join(t for t in texts if t))
        title = fix_mojibake(text_of(item.get("title")) or "")
        post = post_record(
            PLATFORM,
            post_key(int(posted_at.timestamp()), text),
            None,
            posted_at,
            text or None,
            bool(_RESHARE_TITLE.search(title)),
            context.www_policy,
        )
        yield Record("post", post)
        yield from post_links(
            post, [(url, "attachment") for url in _attachment_urls(item)], context.www_policy
        )


def _attachment_urls(item: dict[str, Any]) -> list[str]:
    urls = []
    attachments = item.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        data = attachment.get("data") if isinstance(attachment, dict) else None
        for entry in data if isinstance(data, list) else []:
            context = entry.get("external_context") if isinstance(entry, dict) else None
            url = text_of(context.get("url")) if isinstance(context, dict) else None
            if url:
                urls.append(fix_mojibake(url))
    return urls
