"""Reading text members: encoding from the BOM (UTF-8, UTF-16 LE/BE) or content, delimiter sniffed."""

from __future__ import annotations

import codecs
import csv
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from pipeline.delivery import Delivery
from pipeline.sources.base import MalformedInput, Rejected, redacted_excerpt

SNIFF_BYTES = 64 * 1024
MAX_FIELD_CHARS = 1_000_000

csv.field_size_limit(min(sys.maxsize, MAX_FIELD_CHARS))


def detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4000]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return "utf-16-le"
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4:
        return "utf-16-be"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sniff window is still UTF-8.
        if exc.start < len(head) - 4:
            return "cp1252"
    return "utf-8"


def head_text(delivery: Delivery, member: str, size: int = SNIFF_BYTES) -> str:
    head = delivery.head(member, size)
    return head.decode(detect_encoding(head), errors="replace").lstrip("\ufeff")


@contextmanager
def open_text(delivery: Delivery, member: str) -> Iterator[TextIO]:
    encoding = detect_encoding(delivery.head(member, SNIFF_BYTES))
    with delivery.open(member) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        try:
            yield text
        finally:
            text.detach()


def sniff_delimiter(sample: str) -> str:
    first_line = sample.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def header_of(delivery: Delivery, member: str) -> list[str]:
    """The first CSV row of a member, stripped, for format detection."""
    sample = head_text(delivery, member)
    reader = csv.reader(io.StringIO(sample), delimiter=sniff_delimiter(sample))
    try:
        return [cell.strip().strip('"') for cell in next(reader)]
    except (StopIteration, csv.Error):
        return []


@contextmanager
def csv_rows(
    delivery: Delivery, member: str, *, skip_header: bool = True
) -> Iterator[Iterator[tuple[int, list[str]]]]:
    """(line number, cells) for each CSV row after the header (or every row, with ``skip_header=False``);
    multi-line rows report their first line."""
    delimiter = sniff_delimiter(head_text(delivery, member))
    with open_text(delivery, member) as text:
        reader = csv.reader(text, delimiter=delimiter)

        def rows() -> Iterator[tuple[int, list[str]]]:
            if skip_header:
                next(reader, None)
            while True:
                line = reader.line_num + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise MalformedInput(member, f"line {line}", f"unreadable CSV ({exc})") from exc
                if cells:
                    yield line, cells

        yield rows()


@contextmanager
def csv_dict_rows(
    delivery: Delivery, member: str, header: list[str]
) -> Iterator[Iterator[tuple[str, dict[str, str]] | Rejected]]:
    """(place, header -> cell) for each row after the header; a row of another width comes as Rejected."""
    with csv_rows(delivery, member) as rows:

        def records() -> Iterator[tuple[str, dict[str, str]] | Rejected]:
            for line, cells in rows:
                location = f"line {line}"
                if len(cells) != len(header):
                    yield Rejected(
                        member,
                        location,
                        f"{len(cells)} columns where the header has {len(header)}",
                        redacted_excerpt(",".join(cells)),
                    )
                else:
                    yield location, dict(zip(header, cells, strict=True))

        yield records()
