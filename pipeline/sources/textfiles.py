"""Reading text members: encoding from the BOM (UTF-8, UTF-16 LE/BE) or content, delimiter sniffed."""

from __future__ import annotations

import codecs
import csv
import io
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO

import charset_normalizer

from pipeline.delivery import Delivery
from pipeline.sources.base import MalformedInput, Rejected, redacted_excerpt

SNIFF_BYTES = 64 * 1024
READ_CHUNK_BYTES = 1024 * 1024
ENCODING_SAMPLE_BYTES = 1024 * 1024
# Where a sample decodes equally well in several code pages (é is the same byte in cp1250 and
# cp1252; è is not), the one exports most often come in wins.
PREFERRED_CODE_PAGES = (
    "cp1252",
    "iso8859_2",
    "cp1250",
    "cp932",
    "euc_jp",
    "gb18030",
    "big5",
    "cp949",
    "cp1251",
    "koi8_r",
    "cp1253",
    "cp1254",
    "cp1255",
    "cp1256",
)
MAX_FIELD_CHARS = 1_000_000

csv.field_size_limit(min(sys.maxsize, MAX_FIELD_CHARS))


def _encoding_from_head(head: bytes) -> str | None:
    """UTF-8 or UTF-16 as a BOM or the zero bytes of UTF-16 text show it; ``None`` when they do not."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4000]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return "utf-16-le"
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4:
        return "utf-16-be"
    return None


def detect_encoding(delivery: Delivery, member: str) -> str | None:
    """A member's text encoding, from the whole member: a BOM or UTF-16's zero bytes; else UTF-8 if
    every byte of the member is valid UTF-8; else what charset-normalizer finds in its lines that are
    not ASCII (up to ``ENCODING_SAMPLE_BYTES`` of them), ties broken by ``PREFERRED_CODE_PAGES``;
    ``None`` for bytes that are text in no known encoding. Remembered per delivery: every format's
    detection asks."""
    if member not in delivery.text_encodings:
        head = delivery.head(member, SNIFF_BYTES)
        found = _encoding_from_head(head) or _encoding_of_content(delivery, member)
        delivery.text_encodings[member] = found or ""
    return delivery.text_encodings[member] or None


def _encoding_of_content(delivery: Delivery, member: str) -> str | None:
    utf8 = codecs.getincrementaldecoder("utf-8")()
    valid_utf8 = True
    sample = bytearray()
    with delivery.open(member) as raw:
        while chunk := raw.read(READ_CHUNK_BYTES):
            if valid_utf8:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    valid_utf8 = False
            if len(sample) < ENCODING_SAMPLE_BYTES and not chunk.isascii():
                sample += b"\n".join(line for line in chunk.splitlines() if not line.isascii())
                sample += b"\n"
            if not valid_utf8 and len(sample) >= ENCODING_SAMPLE_BYTES:
                break
    if valid_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            valid_utf8 = False  # the member ends inside a character
    if valid_utf8:
        return "utf-8"
    matches = charset_normalizer.from_bytes(bytes(sample[:ENCODING_SAMPLE_BYTES]))
    best = matches.best()
    if best is None:
        return None
    tied = {
        name
        for match in matches
        if match.percent_chaos <= best.percent_chaos
        for name in match.could_be_from_charset
    }
    return next((name for name in PREFERRED_CODE_PAGES if name in tied), best.encoding)


def head_text(delivery: Delivery, member: str, size: int = SNIFF_BYTES) -> str:
    """The start of a member as text (binary data as UTF-8 with replacement characters: no header
    matches it)."""
    head = delivery.head(member, size)
    return head.decode(detect_encoding(delivery, member) or "utf-8", errors="replace").lstrip("\ufeff")


@contextmanager
def open_text(delivery: Delivery, member: str) -> Iterator[TextIO]:
    encoding = detect_encoding(delivery, member)
    if encoding is None:
        raise MalformedInput(
            member, "whole file", "not text in any known encoding (neither UTF-8 nor a known code page)"
        )
    with delivery.open(member) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
        try:
            yield text
        finally:
            text.detach()


def sniff_delimiter(sample: str) -> str:
    first_line = next(iter(sample.splitlines()), "")  # CR-only line endings too
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def header_of(delivery: Delivery, member: str) -> list[str]:
    """The first CSV row of a member, stripped, for format detection."""
    sample = head_text(delivery, member)
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=sniff_delimiter(sample))
    try:
        return [cell.strip().strip('"') for cell in next(reader)]
    except (StopIteration, csv.Error):
        return []


class _Lines:
    """A text's lines as the CSV reader takes them, numbered, with the lines of the row being read
    kept: a row found to be damage is quarantined alone and the lines after its first read again."""

    def __init__(self, text: Iterable[str], first_number: int = 1) -> None:
        self._text = iter(text)
        self._again: deque[tuple[int, str]] = deque()
        self._read = first_number - 1
        self.row: list[tuple[int, str]] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._again:
            number, line = self._again.popleft()
        else:
            line = next(self._text)
            self._read += 1
            number = self._read
        self.row.append((number, line))
        return line

    def next_row(self) -> None:
        self.row = []

    def read_again_after_first(self) -> None:
        self._again.extendleft(reversed(self.row[1:]))


def _span(lines: list[tuple[int, str]]) -> str:
    return f"lines {lines[0][0]}-{lines[-1][0]}"


@contextmanager
def csv_rows(
    delivery: Delivery, member: str, *, skip_header: bool = True
) -> Iterator[Iterator[tuple[int, list[str]] | Rejected]]:
    """(line number, cells) for each CSV row after the header (or every row, with ``skip_header=False``);
    multi-line rows report their first line. Damage is a :class:`Rejected` row, and reading resumes
    after it: a row the reader cannot parse (a field over ``MAX_FIELD_CHARS``), and a quote left open
    (an odd number of quote characters in a row spanning lines; with the header's width known, a row
    of another width spanning lines) are quarantined as their first line, the lines after it read again.
    """
    delimiter = sniff_delimiter(head_text(delivery, member))
    with open_text(delivery, member) as text:
        yield rows_of_lines(text, member, delimiter, skip_header=skip_header)


def rows_of_lines(
    text: Iterable[str],
    member: str,
    delimiter: str,
    *,
    skip_header: bool = False,
    width: int | None = None,
    first_line: int = 1,
) -> Iterator[tuple[int, list[str]] | Rejected]:
    """:func:`csv_rows` over lines of text (kept with their line breaks) numbered from ``first_line``:
    also a part of a member, whose rows are ``width`` cells wide."""
    lines = _Lines(text, first_line)
    reader = csv.reader(lines, delimiter=delimiter)
    if skip_header:
        width = len(next(reader, []))
    while True:
        lines.next_row()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if not lines.row:  # nothing read: nothing to resume after
                raise MalformedInput(member, "end of file", f"unreadable CSV ({exc})") from exc
            yield _damaged(member, lines, f"unreadable CSV ({exc})")
            continue
        if not cells:
            continue
        first = lines.row[0][0]
        spans = len(lines.row) > 1
        quotes = sum(line.count('"') for _, line in lines.row)
        if spans and (quotes % 2 or (width is not None and len(cells) != width)):
            yield _damaged(member, lines, "a quote opened on this line is not closed")
            continue
        yield first, cells


def _damaged(member: str, lines: _Lines, problem: str) -> Rejected:
    """The row being read, quarantined as its first line; the lines after it are read again."""
    first_number, first_line = lines.row[0]
    swallowed = f"; it swallowed {_span(lines.row[1:])}, read again as rows" if len(lines.row) > 1 else ""
    lines.read_again_after_first()
    return Rejected(member, f"line {first_number}", f"{problem}{swallowed}", redacted_excerpt(first_line))


@contextmanager
def csv_dict_rows(
    delivery: Delivery, member: str, header: list[str]
) -> Iterator[Iterator[tuple[str, dict[str, str]] | Rejected]]:
    """(place, header -> cell) for each row after the header; a row of another width comes as Rejected."""
    with csv_rows(delivery, member) as rows:
        yield dict_rows(rows, member, header)


def dict_rows(
    rows: Iterable[tuple[int, list[str]] | Rejected], member: str, header: list[str]
) -> Iterator[tuple[str, dict[str, str]] | Rejected]:
    """Rows as (place, header -> cell); a row of another width comes as Rejected."""
    for row in rows:
        if isinstance(row, Rejected):
            yield row
            continue
        line, cells = row
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
