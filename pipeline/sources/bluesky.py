"""Bluesky repository export: the account's CAR file (``repo.car``, from Settings > Export my data).

The CAR holds DAG-CBOR blocks, decoded by libipld (the maintained Rust decoder atproto's SDK uses).
The root commit names the repository's DID and the root of a Merkle search tree whose keys are
``collection/rkey``; walking it gives each record its key, hence the post's URI and permalink.

``app.bsky.feed.post`` records: ``text``, ``createdAt``, ``facets[].features[]`` of type
``app.bsky.richtext.facet#link`` (``uri``; the facet's ``index.byteStart``/``byteEnd`` are UTF-8 byte
offsets into the text, which usually shows a shortened form of the link), and ``embed.external.uri``
(a link card, also inside ``recordWithMedia``). ``app.bsky.feed.repost`` records are kept as reposts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import libipld

from pipeline.delivery import Delivery
from pipeline.sources.base import (
    Extracted,
    MalformedInput,
    ParseContext,
    Record,
    Rejected,
    post_links,
    post_record,
    urls_in_text,
)
from pipeline.sources.jsonfiles import text_of

PLATFORM = "bluesky"
POST = "app.bsky.feed.post"
REPOST = "app.bsky.feed.repost"
LINK_FEATURE = "app.bsky.richtext.facet#link"
MAX_CAR_BYTES = 512 * 1024**2
MAX_TREE_DEPTH = 64
# Far above the largest accounts' repositories (posts, likes, follows: a few hundred thousand).
MAX_RECORDS = 5_000_000


def _looks_like_car(head: bytes) -> bool:
    """A CAR v1 starts with a varint length and a DAG-CBOR map holding ``roots`` and ``version``."""
    return b"roots" in head[:64] and b"version" in head[:96]


def at_uri_permalink(uri: str) -> str | None:
    """``at://did/app.bsky.feed.post/rkey`` -> ``https://bsky.app/profile/did/post/rkey``."""
    parts = uri.removeprefix("at://").split("/")
    if len(parts) == 3 and parts[1] == POST:
        return f"https://bsky.app/profile/{parts[0]}/post/{parts[2]}"
    return None


def _created(value: Any) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


@dataclass
class _TreeWalk:
    """A walk of the record tree that reads each node once: a node reached again (the tree shares a
    subtree, which a valid tree never does) is counted, not expanded again, so a 13 KB file whose
    nodes each point twice at the one below cannot unfold into billions of records."""

    blocks: dict[bytes, Any]
    visited: set[bytes] = field(default_factory=set)
    revisits: int = 0

    def entries(self, cid: Any, depth: int = 0) -> Iterator[tuple[str, Any]]:
        """(key, record CID) in key order: left subtree, then each entry and the subtree to its right."""
        if not isinstance(cid, bytes) or depth > MAX_TREE_DEPTH:
            return
        if cid in self.visited:
            self.revisits += 1
            return
        node = self.blocks.get(cid)
        if not isinstance(node, dict):
            return
        self.visited.add(cid)
        yield from self.entries(node.get("l"), depth + 1)
        previous = b""
        entries = node.get("e")
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("k"), bytes):
                continue
            prefix = entry.get("p") if isinstance(entry.get("p"), int) else 0
            key = previous[:prefix] + entry["k"]
            previous = key
            yield key.decode("utf-8", errors="replace"), entry.get("v")
            yield from self.entries(entry.get("t"), depth + 1)


def _facet_links(record: dict[str, Any]) -> tuple[list[str], list[tuple[int, int]]]:
    """Link targets from the facets, and the byte ranges of the text they cover."""
    uris, ranges = [], []
    facets = record.get("facets")
    for facet in facets if isinstance(facets, list) else []:
        if not isinstance(facet, dict):
            continue
        features = facet.get("features")
        links = [
            feature["uri"]
            for feature in (features if isinstance(features, list) else [])
            if isinstance(feature, dict)
            and feature.get("$type") == LINK_FEATURE
            and isinstance(feature.get("uri"), str)
        ]
        index = facet.get("index")
        if links and isinstance(index, dict):
            start, end = index.get("byteStart"), index.get("byteEnd")
            if isinstance(start, int) and isinstance(end, int) and 0 <= start < end:
                ranges.append((start, end))
        uris.extend(links)
    return uris, ranges


def _without_ranges(text: str, ranges: list[tuple[int, int]]) -> str:
    """The text with the given UTF-8 byte ranges blanked (offsets count bytes, not characters)."""
    encoded = bytearray(text.encode())
    for start, end in ranges:
        encoded[start:end] = b" " * len(encoded[start:end])
    return encoded.decode("utf-8", errors="ignore")


def _embed_links(record: dict[str, Any]) -> list[str]:
    embed = record.get("embed")
    candidates = [embed, embed.get("media")] if isinstance(embed, dict) else []
    found = []
    for candidate in candidates:
        external = candidate.get("external") if isinstance(candidate, dict) else None
        uri = external.get("uri") if isinstance(external, dict) else None
        if isinstance(uri, str):
            found.append(uri)
    return found


class BlueskyRepository:
    name = "bluesky_car"

    def _members(self, delivery: Delivery) -> list[str]:
        return [
            m
            for m in delivery.members()
            if (m.lower().endswith(".car") or delivery.kind == "file")
            and _looks_like_car(delivery.head(m, 128))
        ]

    def detect(self, delivery: Delivery) -> bool:
        return bool(self._members(delivery))

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for member in self._members(delivery):
            size = delivery.size_of(member)
            if size > MAX_CAR_BYTES:
                raise MalformedInput(
                    member, "whole file", f"{size} bytes exceed the {MAX_CAR_BYTES}-byte limit"
                )
            try:
                header, blocks = libipld.decode_car(delivery.read(member))
            except (ValueError, RecursionError) as exc:
                raise MalformedInput(member, "whole file", f"unreadable CAR file ({exc})") from exc
            roots = header.get("roots")
            commit = (
                blocks.get(roots[0])
                if isinstance(roots, list) and roots and isinstance(roots[0], bytes)
                else None
            )
            if not isinstance(commit, dict) or not isinstance(commit.get("did"), str):
                raise MalformedInput(member, "root commit", "no commit block with a DID at the root")
            walk = _TreeWalk(blocks)
            for number, (key, record_cid) in enumerate(walk.entries(commit.get("data")), 1):
                if number > MAX_RECORDS:
                    raise MalformedInput(
                        member, f"record {key}", f"more than {MAX_RECORDS:,} records: the rest was not read"
                    )
                collection = key.partition("/")[0]
                if collection in (POST, REPOST):
                    record = blocks.get(record_cid) if isinstance(record_cid, bytes) else None
                    uri = f"at://{commit['did']}/{key}"
                    yield from self._record(collection, uri, record, member, f"record {key}", context)
            if walk.revisits:
                yield Rejected(
                    member,
                    "record tree",
                    f"{walk.revisits} references to tree nodes already read (a shared subtree): "
                    "each node was read once",
                )

    def _record(
        self, collection: str, uri: str, record: Any, member: str, location: str, context: ParseContext
    ) -> Iterator[Extracted]:
        if not isinstance(record, dict):
            yield Rejected(member, location, "record block missing from the CAR file")
            return
        created = _created(record.get("createdAt"))
        if created is None:
            yield Rejected(member, location, f"unparseable createdAt {str(record.get('createdAt'))[:40]!r}")
            return
        if collection == REPOST:
            subject = record.get("subject")
            subject_uri = text_of(subject.get("uri")) if isinstance(subject, dict) else None
            permalink = at_uri_permalink(subject_uri) if subject_uri else None
            yield Record(
                "post", post_record(PLATFORM, uri, permalink, created, None, True, context.www_policy)
            )
            return
        text = text_of(record.get("text")) or ""
        post = post_record(
            PLATFORM, uri, at_uri_permalink(uri), created, text or None, False, context.www_policy
        )
        yield Record("post", post)
        facet_uris, ranges = _facet_links(record)
        explicit = [
            *((link, "facet") for link in facet_uris),
            *((link, "embed") for link in _embed_links(record)),
            *((url, "text") for url in urls_in_text(_without_ranges(text, ranges))),
        ]
        yield from post_links(post, explicit, context.www_policy, scan_text=False)
