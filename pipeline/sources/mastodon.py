"""Mastodon account archive: ``outbox.json``, an ActivityStreams ``OrderedCollection``.

``orderedItems[]`` holds ``Create`` activities (``object.id``, ``object.url``, ``object.published``,
HTML ``object.content`` with links as ``<a href>``) and ``Announce`` activities (boosts of someone
else's post: kept apart as reposts, with no text and no links of their own). Known bug: the key
``orderedItems`` can appear twice; the last one holds the items (JSON decoding keeps the last).

Links come from the HTML through a real parser (selectolax/lexbor); hashtag and mention links
(``class="mention"``/``"hashtag"``, ``rel="tag"``) point into the fediverse and are not outbound.
Direct messages (addressed to neither the public nor the followers) are never read into records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from selectolax.lexbor import LexborHTMLParser

from pipeline.delivery import Delivery
from pipeline.sources.base import Extracted, ParseContext, Record, Rejected, post_links, post_record
from pipeline.sources.jsonfiles import load_json_member, text_of

PLATFORM = "mastodon"
OUTBOX = "outbox.json"
PUBLIC = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})
NOT_OUTBOUND_CLASSES = frozenset({"mention", "hashtag", "u-url"})


def _addressees(activity: dict[str, Any], note: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for source in (activity, note):
        for key in ("to", "cc"):
            value = source.get(key)
            values = value if isinstance(value, list) else [value]
            found.update(v for v in values if isinstance(v, str))
    return found


def is_direct(activity: dict[str, Any], note: dict[str, Any]) -> bool:
    """A direct message reaches only the accounts it mentions: no public, no followers collection."""
    addressees = _addressees(activity, note)
    return not (addressees & PUBLIC) and not any(a.endswith("/followers") for a in addressees)


def html_text_and_links(content: str) -> tuple[str, list[str]]:
    """Plain text of a post's HTML (paragraphs and line breaks kept) and its outbound link targets."""
    tree = LexborHTMLParser(content)
    links = []
    for anchor in tree.css("a[href]"):
        classes = set((anchor.attributes.get("class") or "").split())
        rel = set((anchor.attributes.get("rel") or "").split())
        href = anchor.attributes.get("href")
        if href and not classes & NOT_OUTBOUND_CLASSES and "tag" not in rel:
            links.append(href)
    for line_break in tree.css("br"):
        line_break.replace_with("\n")
    for paragraph in tree.css("p"):
        paragraph.insert_after("\n\n")
    body = tree.body
    return (body.text(separator="") if body is not None else "").strip(), links


def _published(value: Any) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


class MastodonOutbox:
    name = "mastodon_outbox"

    def _members(self, delivery: Delivery) -> list[str]:
        return [
            m
            for m in delivery.find(OUTBOX)
            if m.rsplit("/", 1)[-1] == OUTBOX and b"OrderedCollection" in delivery.head(m, 4096)
        ]

    def detect(self, delivery: Delivery) -> bool:
        return bool(self._members(delivery))

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for member in self._members(delivery):
            outbox = load_json_member(delivery, member)
            items = outbox.get("orderedItems") if isinstance(outbox, dict) else None
            if not isinstance(items, list):
                yield Rejected(member, "orderedItems", "no list of orderedItems")
                continue
            for index, activity in enumerate(items):
                yield from self._activity(activity, member, f"orderedItems[{index}]", context)

    def _activity(
        self, activity: Any, member: str, location: str, context: ParseContext
    ) -> Iterator[Extracted]:
        if not isinstance(activity, dict):
            yield Rejected(member, location, "activity is not a JSON object")
            return
        kind = activity.get("type")
        if kind == "Announce":
            yield from self._boost(activity, member, location, context)
        elif kind == "Create":
            yield from self._create(activity, member, location, context)

    def _boost(
        self, activity: dict[str, Any], member: str, location: str, context: ParseContext
    ) -> Iterator[Extracted]:
        activity_id = text_of(activity.get("id"))
        published = _published(activity.get("published"))
        if not activity_id or published is None:
            yield Rejected(member, location, "boost without id or published time")
            return
        boosted = activity.get("object")
        permalink = text_of(boosted) or (text_of(boosted.get("id")) if isinstance(boosted, dict) else None)
        yield Record(
            "post", post_record(PLATFORM, activity_id, permalink, published, None, True, context.www_policy)
        )

    def _create(
        self, activity: dict[str, Any], member: str, location: str, context: ParseContext
    ) -> Iterator[Extracted]:
        note = activity.get("object")
        if not isinstance(note, dict):
            yield Rejected(member, location, "Create without an object")
            return
        if is_direct(activity, note):
            return
        note_id = text_of(note.get("id"))
        published = _published(note.get("published") or activity.get("published"))
        if not note_id or published is None:
            yield Rejected(member, location, "post without id or published time")
            return
        content = text_of(note.get("content")) or ""
        text, hrefs = html_text_and_links(content) if content else ("", [])
        post = post_record(
            PLATFORM,
            note_id,
            text_of(note.get("url")) or note_id,
            published,
            text or None,
            False,
            context.www_policy,
        )
        yield Record("post", post)
        yield from post_links(post, [(href, "html") for href in hrefs], context.www_policy)
