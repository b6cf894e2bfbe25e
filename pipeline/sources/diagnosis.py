"""Why no format recognises a delivery, said so that a person knows what to fix.

An empty file (or folder, or archive) is "empty". Otherwise the table headers in the delivery are held
against every format's header layouts (:class:`~pipeline.sources.base.TableFormat`): the nearest one
is named with its missing columns, each with the header cell that nearly spells it (``difflib``), as
in "looks like a rank-tracker CSV; missing column 'keyword' (found 'keywrod')"; a table with every
column of a format that still did not take it (a rank-tracker table saved as ``.xlsx``) is told so.
The ingest (in its parse worker) and ``socialrank inspect`` both say exactly this.
"""

from __future__ import annotations

import difflib
import re
from codecs import BOM_UTF8, BOM_UTF16_BE, BOM_UTF16_LE
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.delivery import Delivery, UnreadableDelivery
from pipeline.sources import REGISTRATIONS, Registration
from pipeline.sources.base import HeaderLayout, MalformedInput
from pipeline.sources.tabular import TABLE_SUFFIXES, leading_rows

READ_CHUNK_BYTES = 64 * 1024
# Byte-order marks at the start (UTF-8, UTF-16 LE/BE), one or more: an editor may add its own.
_BYTE_ORDER_MARKS = re.compile(
    b"^(?:" + b"|".join(map(re.escape, (BOM_UTF8, BOM_UTF16_LE, BOM_UTF16_BE))) + b")+"
)
# A NUL is whitespace's other half in UTF-16 text.
BLANK_BYTES = b" \t\r\n\x0b\x0c\x00"
# Members of an archive or folder whose headers are compared: the hint is for a person, not a census.
MAX_MEMBERS_COMPARED = 50
# How alike a header cell and a column name must be (difflib's ratio, spaces, case and punctuation
# ignored) for the cell to be taken for a misspelling of the name.
SPELLING_CUTOFF = 0.7
# A layout is near when at least this share of its required columns is there, exactly or misspelled.
NEAR_SHARE = 0.5
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")


def why_unrecognised(delivery: Delivery) -> str:
    """What to tell about a delivery no format recognised."""
    if (empty := empty_reason(delivery)) is not None:
        return empty
    nearest = _nearest_layout(delivery)
    if nearest is not None:
        return f"not a known export format: {nearest.describe(single_file=delivery.kind == 'file')}"
    return (
        f"not a known export format: its content matches none of the {len(REGISTRATIONS)} formats "
        "socialrank reads (docs/formats.md)"
    )


def empty_reason(delivery: Delivery) -> str | None:
    """``"empty ..."`` when the delivery holds nothing to read: no bytes, only whitespace and a
    byte-order mark, or (an archive or folder) no file, or only such files; else ``None``."""
    members = delivery.members()
    if delivery.kind == "file":
        if delivery.size_of(members[0]) == 0:
            return "empty (0 bytes): nothing to read; export or copy it again"
        if _is_blank(delivery, members[0]):
            return "empty (only whitespace): nothing to read; export or copy it again"
        return None
    container = "zip archive" if delivery.kind == "zip" else "folder"
    if not members:
        return f"empty {container} (no file in it): nothing to read"
    if all(_is_blank(delivery, member) for member in members):
        return f"empty {container}: every file in it is empty ({', '.join(members[:3])}): nothing to read"
    return None


def _is_blank(delivery: Delivery, member: str) -> bool:
    with delivery.open(member) as handle:
        chunk = _BYTE_ORDER_MARKS.sub(b"", handle.read(READ_CHUNK_BYTES), count=1)
        while chunk:
            if chunk.translate(None, BLANK_BYTES):
                return False
            chunk = handle.read(READ_CHUNK_BYTES)
    return True


@dataclass(frozen=True)
class _Fit:
    """How a header row compares with one layout of one format."""

    registration: Registration
    layout: HeaderLayout
    member: str
    present: int  # required columns found as the format spells them
    absent: tuple[tuple[str, str | None], ...]  # (column, the header cell that nearly spells it)

    @property
    def share(self) -> float:
        misspelled = sum(cell is not None for _, cell in self.absent)
        return (self.present + misspelled) / len(self.layout.columns)

    def is_near(self) -> bool:
        """Every column there (the format refused the table for something else), or enough of them."""
        misspelled = sum(cell is not None for _, cell in self.absent)
        enough = self.present >= 1 and self.present + misspelled >= 2 and self.share >= NEAR_SHARE
        return not self.absent or enough

    def rank(self) -> tuple[float, bool, int]:
        return self.share, not self.absent, self.present

    def describe(self, single_file: bool) -> str:
        what = self.registration.label + (f" ({self.layout.table})" if self.layout.table else "")
        where = "" if single_file else f"{self.member} "
        if not self.absent:
            return (
                f"{where}has every column of {what} but is not read as one: docs/formats.md says what "
                "else it needs (its file type or name, the header on the first line)"
            )
        columns = [f"'{name}'" + (f" (found '{cell}')" if cell else "") for name, cell in self.absent]
        listed = columns[0] if len(columns) == 1 else ", ".join(columns[:-1]) + " and " + columns[-1]
        noun = "column" if len(columns) == 1 else "columns"
        return f"{where}looks like {what}; missing {noun} {listed}"


def _nearest_layout(delivery: Delivery) -> _Fit | None:
    """The layout the delivery's table headers come nearest to, when one is near; the first
    registered wins a tie (the more specific format)."""
    best: _Fit | None = None
    for member, header in _headers(delivery):
        for registration in REGISTRATIONS:
            for layout in registration.header_layouts:
                fit = _fit(registration, layout, member, header)
                if fit.is_near() and (best is None or fit.rank() > best.rank()):
                    best = fit
    return best


def _headers(delivery: Delivery) -> Iterator[tuple[str, list[str]]]:
    """(member, cells) of each row a table's header may be in, of the delivery's table members."""
    members = delivery.members()
    if delivery.kind != "file":
        members = [member for member in members if member.lower().endswith(TABLE_SUFFIXES)]
    for member in members[:MAX_MEMBERS_COMPARED]:
        try:
            for _, row in leading_rows(delivery, member):
                cells = [str(cell).strip() for cell in row if cell is not None and str(cell).strip()]
                if cells:
                    yield member, cells
        except (MalformedInput, UnreadableDelivery):
            continue  # not a table: nothing to compare


def _fit(registration: Registration, layout: HeaderLayout, member: str, header: list[str]) -> _Fit:
    unused = list(dict.fromkeys(header))
    present = 0
    lacking: list[tuple[str, ...]] = []
    for names in layout.columns:
        accepted = {layout.normalise(name) for name in names}
        cell = next((cell for cell in unused if layout.normalise(cell) in accepted), None)
        if cell is None:
            lacking.append(names)
        else:
            present += 1
            unused.remove(cell)
    absent = []
    for names in lacking:
        cell = _nearest_spelling(names, unused)
        if cell is not None:
            unused.remove(cell)
        absent.append((names[0], cell))
    return _Fit(registration, layout, member, present, tuple(absent))


def _nearest_spelling(names: tuple[str, ...], cells: list[str]) -> str | None:
    """The header cell most like one of a column's names, when it is alike enough to be a misspelling."""
    keys = {_loose(cell): cell for cell in cells}
    best: tuple[float, str] | None = None
    for name in names:
        for key in difflib.get_close_matches(_loose(name), keys, n=1, cutoff=SPELLING_CUTOFF):
            ratio = difflib.SequenceMatcher(None, _loose(name), key).ratio()
            if best is None or ratio > best[0]:
                best = (ratio, keys[key])
    return best[1] if best else None


def _loose(name: str) -> str:
    return _NOT_ALPHANUMERIC.sub("", name.casefold())
