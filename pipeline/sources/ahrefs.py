"""Ahrefs backlinks export: UTF-16 LE with BOM, tab-separated, quoted; a UTF-8 comma variant exists too.

Columns are matched by name (case-insensitive), never by position: ``Referring page URL``,
``Target URL``, ``Anchor``, ``Nofollow``/``UGC``/``Sponsored`` (``true``/``false``),
``Domain rating``, ``First seen``, ``Last seen``, ``Lost``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from pipeline.canonical import host_of, registrable_domain, try_canonicalize
from pipeline.delivery import Delivery
from pipeline.sources.base import Extracted, HeaderLayout, ParseContext, Record, Rejected, redacted_excerpt
from pipeline.sources.textfiles import csv_rows, header_of

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


class AhrefsBacklinks:
    name = "ahrefs_backlinks"

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
        for member in self._members(delivery):
            header = [column.lower() for column in header_of(delivery, member)]
            with csv_rows(delivery, member) as rows:
                for row in rows:
                    if isinstance(row, Rejected):
                        yield row
                        continue
                    line, cells = row
                    yield from self._row(
                        dict(zip(header, cells, strict=False)),
                        member,
                        f"line {line}",
                        len(cells) == len(header),
                        context,
                    )

    def _row(
        self, row: dict[str, str], member: str, location: str, full_width: bool, context: ParseContext
    ) -> Iterator[Extracted]:
        if not full_width:
            yield Rejected(
                member,
                location,
                "row width differs from the header",
                redacted_excerpt("\t".join(row.values())),
            )
            return
        source, target = row.get(SOURCE_COLUMN, "").strip(), row.get(TARGET_COLUMN, "").strip()
        source_canonical = try_canonicalize(source, context.www_policy)
        target_canonical = try_canonicalize(target, context.www_policy)
        if source_canonical is None or target_canonical is None:
            yield Rejected(member, location, f"not a web URL: source {source!r}, target {target!r}")
            return
        flags = {name: parse_bool(row.get(name)) for name in ("nofollow", "ugc", "sponsored")}
        bad_flags = [name for name, value in flags.items() if value is None]
        if bad_flags:
            yield Rejected(member, location, f"unreadable boolean in {', '.join(bad_flags)}")
            return
        try:
            first_seen, last_seen = parse_day(row.get("first seen")), parse_day(row.get("last seen"))
            rating = parse_float(row.get("domain rating"))
        except ValueError as exc:
            yield Rejected(member, location, f"unreadable date or number ({exc})")
            return
        lost_text = row.get("lost", "").strip()
        yield Record(
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
                "lost": parse_bool(lost_text) if lost_text.lower() in ("true", "false") else bool(lost_text),
                "source_domain_rating": rating,
                "snapshot_date": context.landed_on,
            },
        )
