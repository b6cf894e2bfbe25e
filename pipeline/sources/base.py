"""What every source parser shares: the records it yields and the context it parses in."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from pipeline.canonical import host_of, is_loopback, try_canonicalize
from pipeline.delivery import Delivery

if TYPE_CHECKING:
    from pipeline.sources.jsonstream import ArrayBlocks, ItemBlock

RecordKind = Literal["post", "link", "engagement", "backlink", "ranking", "traffic"]

EXCERPT_LIMIT = 300
# Oversized fields are bounded: no platform allows longer posts (X notes: 25,000 characters) or
# URLs (browsers stop near 8 KB); anything beyond is damage, not content.
MAX_TEXT_CHARS = 100_000
MAX_URL_CHARS = 8_192
SHORTENER_HOSTS = frozenset(
    {
        "t.co",
        "lnkd.in",
        "bit.ly",
        "buff.ly",
        "ow.ly",
        "tinyurl.com",
        "goo.gl",
        "dlvr.it",
        "ift.tt",
        "fb.me",
        "trib.al",
        "spr.ly",
        "rebrand.ly",
        "shorturl.at",
        "l.facebook.com",
        "lm.facebook.com",
        "l.instagram.com",
        "out.reddit.com",
    }
)
# URLs inside free text: stop at whitespace, quotes and angle brackets; trailing punctuation is trimmed.
_URL_IN_TEXT = re.compile(r"""(?:https?://|www\.)[^\s"'<>\u00a0]+""", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?)]}…"
# Candidates for personal data in quarantine text; addresses are confirmed by ``ipaddress``, phone
# numbers by their digit count (8 to 15, E.164) and by not being a date.
_PERSONAL = re.compile(
    r"(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<ip>(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|\d{1,3}(?:\.\d{1,3}){3})(?![\w:.])"
    r"|(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.]))"
    r"|(?P<phone>(?<![\w+])\+?\(?\d[\d ().-]{6,}\d(?!\w))"
)
# Half a UTF-16 surrogate pair (a JSON escape of an emoji cut in two): no Parquet file can hold it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")


@dataclass(frozen=True)
class Record:
    kind: RecordKind
    row: dict[str, Any]


@dataclass(frozen=True)
class Rejected:
    """A record that could not be used: where it is and why. ``excerpt`` is bounded; personal data in
    the reason and the excerpt is masked here, whoever wrote them."""

    member: str
    location: str
    reason: str
    excerpt: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", mask_personal_data(self.reason))
        if self.excerpt is not None:
            object.__setattr__(self, "excerpt", mask_personal_data(self.excerpt))


@dataclass(frozen=True)
class Skipped:
    """A row that is by design not a record of its export (an image or script row in a link export):
    counted, never quarantined."""


Extracted = Record | Rejected | Skipped
# The count that skipped rows add to, beside the counts of each record kind.
SKIPPED = "skipped"


@dataclass(frozen=True)
class Columns:
    """Records of one kind as columns: each value an Arrow array of ``rows`` values, or one value that
    every row has. Columns a record kind has but ``values`` lacks are NULL."""

    rows: int
    values: dict[str, Any]
    # Columns another kind of the same block has, row by row (a post's columns on each of its links):
    # that kind and the column names; ``values["owner"]`` holds each row's position there. Copied by
    # the process that writes, so a column shared by several kinds crosses between processes once.
    shared_from: tuple[RecordKind, tuple[str, ...]] | None = None


@dataclass(frozen=True)
class ColumnBatch:
    """Records of one kind decoded together as columns (a block of a big CSV): they travel to the lake
    as they are, never as one object per row."""

    kind: RecordKind
    columns: Columns

    def records(self) -> Iterator[Record]:
        """The same records one by one (for callers that count or show records)."""
        from pipeline.lake import columns_to_table
        from pipeline.schemas import RECORD_DATASETS

        table = columns_to_table(RECORD_DATASETS[self.kind], self.columns.rows, self.columns.values)
        stamped = [name for name in ("delivery_id", "source_file") if name in table.column_names]
        for row in table.drop_columns(stamped).to_pylist():
            yield Record(self.kind, row)


@dataclass(frozen=True)
class ParseContext:
    """Everything a parser needs besides the bytes."""

    www_policy: str
    landed_on: dt.date
    # The owned sites' canonical hosts: an analytics export names landing pages by path alone.
    owned_sites: tuple[str, ...] = ()


class SourceFormat(Protocol):
    """One input format: recognised from content, parsed into records."""

    name: str

    def detect(self, delivery: Delivery) -> bool: ...

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]: ...


@dataclass(frozen=True)
class HeaderLayout:
    """A table header a format recognises: each required column with the names it goes by (the first
    is the one a message names), and how the format compares a header cell with them."""

    columns: tuple[tuple[str, ...], ...]
    normalise: Callable[[str], str]
    table: str | None = None  # which of the format's tables, when it has several ("posts.csv")


@runtime_checkable
class TableFormat(SourceFormat, Protocol):
    """A format recognised by a table's header. Optional: its layouts let a table that no format
    recognises be told which format it nearly is and which columns it lacks."""

    def header_layouts(self) -> tuple[HeaderLayout, ...]: ...


class BlockParser(Protocol):
    """Parses one block of independent items. Picklable, so that a block can be parsed in a worker."""

    def parse_block(self, block: ItemBlock) -> Iterator[Extracted]: ...


@runtime_checkable
class ColumnarBlockParser(BlockParser, Protocol):
    """A block parser that can also decode a whole block at once, into columns."""

    def block_columns(self, block: ItemBlock) -> dict[RecordKind, Columns] | None:
        """The block's records as columns, exactly as :meth:`parse_block` would give them, or ``None``
        when some item needs that item-by-item path (a rejection, say)."""
        ...


@dataclass(frozen=True)
class ParallelSection:
    """Blocks of items that parse independently of each other (an X archive's tweets): a caller may
    parse them in worker processes. The blocks come from an open member, so a section is consumed
    whole before the next part of its format's ``parse_sections`` is asked for."""

    parser: BlockParser
    blocks: ArrayBlocks

    def parse_inline(self) -> Iterator[Extracted]:
        for block in self.blocks.checked():
            yield from self.parser.parse_block(block)


@runtime_checkable
class SectionedFormat(SourceFormat, Protocol):
    """A format whose bulk can be parsed in parallel or in columns: ``parse`` is ``parse_sections`` run
    inline, one record at a time."""

    def parse_sections(
        self, delivery: Delivery, context: ParseContext
    ) -> Iterator[Extracted | ParallelSection | ColumnBatch]: ...


def parse_inline(parts: Iterator[Extracted | ParallelSection | ColumnBatch]) -> Iterator[Extracted]:
    for part in parts:
        if isinstance(part, ParallelSection):
            yield from part.parse_inline()
        elif isinstance(part, ColumnBatch):
            yield from part.records()
        else:
            yield part


def mask_personal_data(text: str) -> str:
    """``text`` with e-mail addresses, IPv4/IPv6 addresses and phone numbers replaced by ``<email>``,
    ``<ip>``, ``<phone>``: the one masking of everything the quarantine keeps (reasons, excerpts)."""
    return _PERSONAL.sub(_mask, text)


def _mask(match: re.Match[str]) -> str:
    found, kind = match.group(0), match.lastgroup
    if kind == "ip":
        try:
            ipaddress.ip_address(found)
        except ValueError:
            return found  # a time (10:00:00), a version (1.2.3.4567)
    elif kind == "phone":
        digits = sum(character.isdigit() for character in found)
        if not 8 <= digits <= 15 or _DATE.match(found.lstrip("+(")):
            return found
    return f"<{kind}>"


def redacted_excerpt(text: str) -> str:
    """A bounded excerpt of a bad record with personal data masked."""
    return mask_personal_data(text[:EXCERPT_LIMIT])


def urls_in_text(text: str) -> list[str]:
    found = []
    for match in _URL_IN_TEXT.finditer(text):
        url = match.group(0).rstrip(_TRAILING_PUNCTUATION)
        found.append(url)
    return found


@lru_cache(maxsize=100_000)
def is_shortener(canonical_url: str | None) -> bool:
    return canonical_url is not None and host_of(canonical_url) in SHORTENER_HOSTS


@lru_cache(maxsize=200_000)  # shared links repeat (a site's own pages above all)
def link_canonical(url: str, www_policy: str) -> str | None:
    """The canonical form of a link found in a post; ``None`` for what is not a link to a page on the
    web: not a web URL (a space in the host), over ``MAX_URL_CHARS``, or to this machine (loopback)."""
    if len(url) > MAX_URL_CHARS:
        return None
    canonical = try_canonicalize(url, www_policy)
    if canonical is None or is_loopback(host_of(canonical)):
        return None
    return canonical


def link_record(post: dict[str, Any], url: str, link_kind: str, www_policy: str) -> Record | None:
    """A ``link`` record for a URL found in ``post``; ``None`` when it is not a link to a web page."""
    canonical = link_canonical(url, www_policy)
    if canonical is None:
        return None
    return Record(
        "link",
        {
            "platform": post["platform"],
            "post_id": post["post_id"],
            "permalink": post["permalink"],
            "posted_at": post["posted_at"],
            "post_date": post["post_date"],
            "url": url,
            "canonical_url": canonical,
            "link_kind": link_kind,
            "is_shortener": is_shortener(canonical),
            "is_repost": post["is_repost"],
        },
    )


def post_links(
    post: dict[str, Any], explicit: list[tuple[str, str]], www_policy: str, scan_text: bool = True
) -> Iterator[Record]:
    """Link records for a post: the explicit links first, then URLs in the text not already found."""
    seen: set[str] = set()
    in_text = urls_in_text(post.get("text") or "") if scan_text else []
    candidates = [*explicit, *((url, "text") for url in in_text)]
    for url, kind in candidates:
        record = link_record(post, url, kind, www_policy)
        if record is not None and record.row["canonical_url"] not in seen:
            seen.add(record.row["canonical_url"])
            yield record


def post_record(
    platform: str,
    post_id: str,
    permalink: str | None,
    posted_at: dt.datetime,
    text: str | None,
    is_repost: bool,
    www_policy: str,
) -> dict[str, Any]:
    utc = posted_at.astimezone(dt.UTC)
    return {
        "platform": platform,
        "post_id": post_id,
        "permalink": try_canonicalize(permalink, www_policy) or permalink,
        "posted_at": utc,
        "post_date": utc.date(),
        "text": _LONE_SURROGATE.sub("\ufffd", text[:MAX_TEXT_CHARS]) if text else text,
        "is_repost": is_repost,
    }


class MalformedInput(Exception):
    """A member is damaged from ``location`` on: what came before is kept, the rest is quarantined."""

    def __init__(self, member: str, location: str, reason: str) -> None:
        super().__init__(f"{member} at {location}: {reason}")
        self.member = member
        self.location = location
        self.reason = reason
