"""X (Twitter) "download your data" archive: ``data/manifest.js`` and ``data/tweets.js``.

Files are JavaScript assignments (``window.YTD.tweets.part0 = [...]``); the manifest
(``window.__THAR_CONFIG = {...}``) names the tweet files and the archive's generation date, which
dates the like and repost counts (a snapshot, stored as engagement). Counts are strings.
Before 2020 the items lack the ``{"tweet": ...}`` wrapper.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Iterator
from typing import Any

from pipeline.delivery import Delivery
from pipeline.sources.base import (
    Extracted,
    MalformedInput,
    ParseContext,
    Record,
    Rejected,
    post_links,
    post_record,
    redacted_excerpt,
)

PLATFORM = "x"
CREATED_AT_FORMAT = "%a %b %d %H:%M:%S %z %Y"
MANIFEST_SUFFIX = "data/manifest.js"
TWEET_GLOBAL = b"window.YTD.tweets."
TWEET_GLOBAL_OLD = b"window.YTD.tweet."


def _js_payload(raw: bytes, member: str) -> Any:
    """The JSON value assigned in ``window.X = <json>``."""
    text = raw.decode("utf-8-sig", errors="replace")
    _, sep, payload = text.partition("=")
    if not sep:
        raise MalformedInput(member, "line 1", "no 'window.… =' assignment")
    try:
        return json.loads(payload)
    except json.JSONDecodeError as exc:
        # The assignment and the payload start on line 1, so JSON line numbers are file line numbers.
        raise MalformedInput(member, f"line {exc.lineno}", f"invalid JSON ({exc.msg})") from exc


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class XArchive:
    name = "x_archive"

    def _tweet_members(self, delivery: Delivery) -> list[str]:
        members = delivery.members()
        manifests = [m for m in members if m.endswith(MANIFEST_SUFFIX)]
        if manifests:
            prefix = manifests[0][: -len(MANIFEST_SUFFIX)]
            manifest = self._manifest(delivery)
            listed = [
                prefix + entry["fileName"]
                for key in ("tweets", "tweet")
                for entry in manifest.get("dataTypes", {}).get(key, {}).get("files", [])
                if isinstance(entry, dict) and "fileName" in entry
            ]
            return [m for m in listed if m in members]
        return [
            m
            for m in members
            if m.endswith(".js") and delivery.head(m, 64).startswith((TWEET_GLOBAL, TWEET_GLOBAL_OLD))
        ]

    def _manifest(self, delivery: Delivery) -> dict[str, Any]:
        manifests = delivery.find(MANIFEST_SUFFIX)
        if not manifests:
            return {}
        payload = _js_payload(delivery.read(manifests[0]), manifests[0])
        return payload if isinstance(payload, dict) else {}

    def detect(self, delivery: Delivery) -> bool:
        if delivery.find(MANIFEST_SUFFIX):
            return b"__THAR_CONFIG" in delivery.head(delivery.find(MANIFEST_SUFFIX)[0], 256)
        return any(
            delivery.head(m, 64).lstrip(b"\xef\xbb\xbf").startswith((TWEET_GLOBAL, TWEET_GLOBAL_OLD))
            for m in delivery.find(".js")
        )

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        manifest = self._manifest(delivery)
        user = manifest.get("userInfo", {}).get("userName") or "i/web"
        generated = manifest.get("archiveInfo", {}).get("generationDate")
        snapshot_date = (
            dt.datetime.fromisoformat(generated.replace("Z", "+00:00")).date()
            if generated
            else context.landed_on
        )
        for member in self._tweet_members(delivery):
            items = _js_payload(delivery.read(member), member)
            if not isinstance(items, list):
                raise MalformedInput(member, "top level", "expected a JSON array of tweets")
            for index, item in enumerate(items):
                tweet = item.get("tweet", item) if isinstance(item, dict) else None
                yield from self._tweet(tweet, member, index, user, snapshot_date, context)

    def _tweet(
        self, tweet: Any, member: str, index: int, user: str, snapshot_date: dt.date, context: ParseContext
    ) -> Iterator[Extracted]:
        location = f"item {index}"
        if not isinstance(tweet, dict):
            yield Rejected(member, location, "item is not a JSON object", redacted_excerpt(repr(tweet)))
            return
        tweet_id = tweet.get("id_str") or tweet.get("id")
        if not tweet_id or not str(tweet_id).isdigit():
            yield Rejected(
                member, location, "missing or non-numeric id_str", redacted_excerpt(json.dumps(tweet))
            )
            return
        try:
            posted_at = dt.datetime.strptime(str(tweet.get("created_at")), CREATED_AT_FORMAT)
        except ValueError:
            yield Rejected(
                member, f"{location} (id {tweet_id})", f"unparseable created_at {tweet.get('created_at')!r}"
            )
            return
        text = html.unescape(str(tweet.get("full_text") or tweet.get("text") or ""))
        post = post_record(
            PLATFORM,
            str(tweet_id),
            f"https://x.com/{user}/status/{tweet_id}",
            posted_at,
            text,
            text.startswith("RT @"),
            context.www_policy,
        )
        yield Record("post", post)
        entities = tweet.get("entities")
        url_entries = entities.get("urls", []) if isinstance(entities, dict) else []
        explicit = [
            (str(entry.get("expanded_url") or entry.get("url")), "entity")
            for entry in url_entries
            if isinstance(entry, dict) and (entry.get("expanded_url") or entry.get("url"))
        ]
        # Every t.co link in the text is listed in entities.urls, expanded: the text adds nothing.
        yield from post_links(post, explicit, context.www_policy, scan_text=False)
        yield Record(
            "engagement",
            {
                "platform": PLATFORM,
                "post_id": str(tweet_id),
                "permalink": post["permalink"],
                "snapshot_date": snapshot_date,
                "likes": _int_or_none(tweet.get("favorite_count")),
                "reposts": _int_or_none(tweet.get("retweet_count")),
                "replies": None,
                "impressions": None,
                "clicks": None,
            },
        )
