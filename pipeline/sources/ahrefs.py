"""Ahrefs backlinks export: UTF-16 LE with BOM, tab-separated, quoted; a UTF-8 comma variant exists too.

Columns are matched by name (case-insensitive), never by position: ``Referring page URL``,
``Target URL``, ``Anchor``, ``Nofollow``/``UGC``/``Sponsored`` (``true``/``false``),
``Domain rating``, ``First seen``, ``Last seen``, ``Lost``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from functools import partial

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.canonical import host_of, registrable_domain, try_canonicalize
from pipeline.delivery import Delivery
from pipeline.sources.base import (
    ColumnBatch,
    Extracted,
    HeaderLayout,
    ParseContext,
    Record,
    Rejected,
    parse_inline,
)
from pipeline.sources.csv_columns import (
    BLOCK_BYTES,
    INVALID,
    BlockDecoder,
    Invalid,
    StringBlock,
    csv_blocks,
    invalid_on_error,
)
from pipeline.sources.textfiles import header_of

TOOL = "ahrefs"
SOURCE_COLUMN = "referring page url"
TARGET_COLUMN = "target url"


def parse_bool(value: str | None) -> bool | None:
    text = (value or "").strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    return None


def parse_day(value: str | None) -> dt.date | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError as exc:
        raise ValueError(f"not a date: {text[:40]!r} (expected YYYY-MM-DD)") from exc


def parse_float(value: str | None) -> float | None:
    text = (value or "").strip().replace(",", "")
    return float(text) if text else None


def _lost(value: str) -> bool | None:
    text = value.strip()
    return parse_bool(text) if text.lower() in ("true", "false") else bool(text)


def _canonical_or_invalid(www_policy: str, url: str) -> str | Invalid:
    return try_canonicalize(url.strip(), www_policy) or INVALID


def _domain(canonical_url: str) -> str:
    return registrable_domain(host_of(canonical_url))


def _flag_or_invalid(value: str) -> bool | Invalid:
    flag = parse_bool(value)
    return INVALID if flag is None else flag


_day_or_invalid = invalid_on_error(parse_day)
_rating_or_invalid = invalid_on_error(parse_float)


class AhrefsBacklinks:
    name = "ahrefs_backlinks"

    def __init__(self, block_bytes: int = BLOCK_BYTES) -> None:
        self.block_bytes = block_bytes  # the size of the blocks read in columns

    def _is_export(self, delivery: Delivery, member: str) -> bool:
        header = {column.lower() for column in header_of(delivery, member)}
        return SOURCE_COLUMN in header and TARGET_COLUMN in header

    def _members(self, delivery: Delivery) -> list[str]:
        return [m for m in delivery.find(".csv", ".tsv", ".txt") if self._is_export(delivery, m)]

    def detect(self, delivery: Delivery) -> bool:
        return bool(self._members(delivery))

    def header_layouts(self) -> tuple[HeaderLayout, ...]:
        return (HeaderLayout(((SOURCE_COLUMN,), (TARGET_COLUMN,)), str.lower),)

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        yield from parse_inline(self.parse_sections(delivery, context))

    def parse_sections(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted | ColumnBatch]:
        for member in self._members(delivery):
            header = [column.lower() for column in header_of(delivery, member)]
            memos: dict[str, dict[str, object]] = {}
            for item in csv_blocks(delivery, member, header, self.block_bytes):
                if isinstance(item, StringBlock):
                    yield from self._block(item, member, context, memos)
                elif isinstance(item, Rejected):
                    yield item
                else:
                    location, row = item
                    yield self.row(row, member, location, context)

    def _block(
        self, block: StringBlock, member: str, context: ParseContext, memos: dict[str, dict[str, object]]
    ) -> Iterator[Extracted | ColumnBatch]:
        """A block decoded column by column, with exactly the values and rejections of :meth:`row`."""
        columns, policy, present = BlockDecoder(block, memos), context.www_policy, block.table.column_names
        values: dict[str, pa.Array | object] = {"tool": TOOL, "snapshot_date": context.landed_on}
        # Referring pages rarely repeat: not remembered from block to block. Arrow's whitespace is
        # str.strip's, character for character.
        values["source_url"] = pc.utf8_trim_whitespace(block.table.column(SOURCE_COLUMN)).combine_chunks()
        source_canonical = columns.decoded(
            "source_canonical",
            SOURCE_COLUMN,
            partial(_canonical_or_invalid, policy),
            pa.string(),
            remember=False,
        )
        values["source_canonical"] = source_canonical
        values["source_domain"] = columns.decoded(
            "source_domain", source_canonical, _domain, pa.string(), remember=False
        )
        values["target_url"] = columns.decoded("target", TARGET_COLUMN, str.strip, pa.string())
        values["target_canonical"] = columns.decoded(
            "target_canonical", TARGET_COLUMN, partial(_canonical_or_invalid, policy), pa.string()
        )
        values["anchor"] = block.table.column("anchor").combine_chunks() if "anchor" in present else None
        for name in ("nofollow", "ugc", "sponsored"):
            values[name] = (
                columns.decoded(name, name, _flag_or_invalid, pa.bool_()) if name in present else False
            )
        for name, column in (("first_seen", "first seen"), ("last_seen", "last seen")):
            if column in present:
                # parse_day reads the first ten characters of the stripped text: days, not timestamps.
                days = pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(block.table.column(column)), 0, 10)
                values[name] = columns.decoded(name, days.combine_chunks(), _day_or_invalid, pa.date32())
            else:
                values[name] = None
        values["source_domain_rating"] = (
            columns.decoded("rating", "domain rating", _rating_or_invalid, pa.float64())
            if "domain rating" in present
            else None
        )
        values["lost"] = columns.decoded("lost", "lost", _lost, pa.bool_()) if "lost" in present else False
        yield from columns.batch(
            "backlink", values, lambda row, location: self.row(row, member, location, context)
        )

    def row(self, row: dict[str, str], member: str, location: str, context: ParseContext) -> Extracted:
        source, target = row.get(SOURCE_COLUMN, "").strip(), row.get(TARGET_COLUMN, "").strip()
        source_canonical = try_canonicalize(source, context.www_policy)
        target_canonical = try_canonicalize(target, context.www_policy)
        if source_canonical is None or target_canonical is None:
            return Rejected(member, location, f"not a web URL: source {source!r}, target {target!r}")
        flags = {name: parse_bool(row.get(name)) for name in ("nofollow", "ugc", "sponsored")}
        bad_flags = [name for name, value in flags.items() if value is None]
        if bad_flags:
            return Rejected(member, location, f"unreadable boolean in {', '.join(bad_flags)}")
        try:
            first_seen, last_seen = parse_day(row.get("first seen")), parse_day(row.get("last seen"))
            rating = parse_float(row.get("domain rating"))
        except ValueError as exc:
            return Rejected(member, location, f"unreadable date or number ({exc})")
        return Record(
            "backlink",
            {
                "tool": TOOL,
                "source_url": source,
                "source_canonical": source_canonical,
                "source_domain": registrable_domain(host_of(source_canonical)),
                "target_url": target,
                "target_canonical": target_canonical,
                "anchor": row.get("anchor"),
                "nofollow": flags["nofollow"],
                "ugc": flags["ugc"],
                "sponsored": flags["sponsored"],
                "first_seen": first_seen,
                "last_seen": last_seen,
                "lost": _lost(row.get("lost", "")),
                "source_domain_rating": rating,
                "snapshot_date": context.landed_on,
            },
        )
