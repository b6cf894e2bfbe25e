"""LinkedIn member export: ``Shares.csv``
(``Date,ShareLink,ShareCommentary,SharedUrl[,MediaUrl,Visibility]``; older exports: ``Date, Share Title,
Share Description, Share Link, Share Commentary, Shared URL, Media URL, Type, Visibility``, UTF-16 LE
with tabs or UTF-8 with commas). Columns are found by name, spaces and case ignored.

Quirk: after CSV decoding every line of ``ShareCommentary`` is still wrapped in literal double
quotes. Text uses "mathematical bold" letters, so it is NFKC-normalised before links are matched.
``Date`` carries no zone; LinkedIn writes UTC.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Iterator
from urllib.parse import unquote

from pipeline.delivery import Delivery
from pipeline.sources.base import (
    Extracted,
    HeaderLayout,
    ParseContext,
    Record,
    Rejected,
    post_links,
    post_record,
    redacted_excerpt,
)
from pipeline.sources.textfiles import csv_rows, header_of

PLATFORM = "linkedin"
# Header names as compared: without spaces, case-folded ("Share Link" and "ShareLink" are one column).
REQUIRED_COLUMNS = ("date", "sharelink", "sharecommentary", "sharedurl")
_SHARE_URN = re.compile(r"urn:li:(?:share|ugcPost|activity):(\d+)")


def unwrap_commentary(raw: str) -> str:
    """Remove the literal quotes LinkedIn wraps around each line, then NFKC-normalise."""
    lines = raw.split("\n")
    unwrapped = []
    for number, line in enumerate(lines):
        if number > 0 and line.startswith('"'):
            line = line[1:]
        if number < len(lines) - 1 and line.endswith('"'):
            line = line[:-1]
        unwrapped.append(line)
    return unicodedata.normalize("NFKC", "\n".join(unwrapped)).strip()


def _column_name(name: str) -> str:
    return "".join(name.split()).casefold()


def _column_names(header: list[str]) -> list[str]:
    return [_column_name(name) for name in header]


class LinkedInShares:
    name = "linkedin_shares"

    def _members(self, delivery: Delivery) -> list[str]:
        return [
            m
            for m in delivery.find(".csv")
            if m.rsplit("/", 1)[-1].lower() == "shares.csv" or delivery.kind == "file"
        ]

    def _is_shares(self, delivery: Delivery, member: str) -> bool:
        return set(REQUIRED_COLUMNS) <= set(_column_names(header_of(delivery, member)))

    def detect(self, delivery: Delivery) -> bool:
        return any(self._is_shares(delivery, m) for m in self._members(delivery))

    def header_layouts(self) -> tuple[HeaderLayout, ...]:
        return (HeaderLayout(tuple((name,) for name in REQUIRED_COLUMNS), _column_name),)

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for member in self._members(delivery):
            if not self._is_shares(delivery, member):
                continue
            header = _column_names(header_of(delivery, member))
            with csv_rows(delivery, member) as rows:
                for row in rows:
                    if isinstance(row, Rejected):
                        yield row
                        continue
                    line, cells = row
                    yield from self._share(
                        dict(zip(header, cells, strict=False)), member, line, len(cells), len(header), context
                    )

    def _share(
        self, row: dict[str, str], member: str, line: int, width: int, expected: int, context: ParseContext
    ) -> Iterator[Extracted]:
        location = f"line {line}"
        if width != expected:
            yield Rejected(
                member,
                location,
                f"{width} columns where the header has {expected}",
                redacted_excerpt(",".join(row.values())),
            )
            return
        try:
            posted_at = dt.datetime.strptime(row["date"].strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC)
        except ValueError:
            layout = "YYYY-MM-DD HH:MM:SS"
            yield Rejected(member, location, f"unparseable Date {row['date']!r} (expected {layout})")
            return
        text = unwrap_commentary(row.get("sharecommentary", ""))
        share_link = row.get("sharelink", "").strip()
        urn = _SHARE_URN.search(unquote(share_link))
        post_id = urn.group(1) if urn else hashlib.sha256(f"{row['date']}\n{text}".encode()).hexdigest()[:20]
        post = post_record(PLATFORM, post_id, share_link or None, posted_at, text, False, context.www_policy)
        yield Record("post", post)
        shared = row.get("sharedurl", "").strip()
        yield from post_links(post, [(shared, "shared_url")] if shared else [], context.www_policy)
