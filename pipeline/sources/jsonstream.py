"""The items of a large JSON array, streamed in bounded memory, with their place in the file.

Exports put posts in one big array (X: ``window.YTD.tweets.part0 = [ ... ]``, about 1 KB per post,
a gigabyte for a large account). The array is read in blocks, each cut after a complete item, so a
caller decodes only the fields it needs, a block or an item at a time.

Finding a cut: JSON strings cannot hold a raw newline, so in pretty-printed files the line that
closes a top-level item (``\\n  }``) is learned from the first cut and searched for from the end of
each block. While the stream can be rewound, that cut is trusted: the block is neither decoded nor
counted here, and whoever decodes it checks it (:meth:`ItemBlock.is_whole`); a block that is not whole
sends the reader back to its start (:meth:`ArrayBlocks.rewind`), validating every cut from there. A
validated cut is accepted only when the bytes before it decode as a complete sequence of items: a
wrong guess (a nested object, text that looks like JSON) fails to decode and the previous candidate is
tried. Compact files fall back to any ``},`` candidate.

A plain file's blocks are skimmed once the closing line is known: the reader reads only the last
``TAIL_BYTES`` before each block's end to cut it, and neither reads nor counts the rest. Whoever
decodes a block reads its bytes from the file and counts its lines; the consumer, taking blocks in
order, turns those counts into each block's first line (:meth:`ItemBlock.correct_line`).

Damage (truncation, a broken item) is located by the standard library's decoder over the damaged
block: every item before the damage is yielded, then :class:`MalformedInput` names the line.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import IO, Any, cast

import msgspec
import numpy as np

from pipeline.sources.base import MalformedInput

BLOCK_BYTES = 8 * 1024 * 1024
# No post is anywhere near this; a block that grows past it without a cut is damaged.
MAX_ITEM_BYTES = 64 * 1024 * 1024
# How far into a file the ``window.X =`` assignment may start.
ASSIGNMENT_WINDOW = 4096
MAX_CUT_ATTEMPTS = 16
MAX_BLIND_ATTEMPTS = 2
BLIND_SEARCH_BYTES = 64 * 1024
# How much of a block's end is read to cut a plain file's block (the whole block when no cut is there).
TAIL_BYTES = 64 * 1024
NEWLINE = ord("\n")
NEWLINE_COUNT_IN_BULK = 64 * 1024
# A decoding error this close to the end of what is read may be an item cut by the read, not damage.
DAMAGE_MARGIN = 64 * 1024

_WHITESPACE = re.compile(rb"[ \t\r\n]*")
_SEPARATOR = re.compile(rb"[ \t\r\n,]*")
_TEXT_SEPARATOR = re.compile(r"[ \t\r\n,]*")
_CLOSING_LINE = re.compile(rb"\n[ \t]*[}\]]\Z")
_ANY_ITEM_END = re.compile(rb"[}\]][ \t\r\n]*,")
_COMPACT_ITEM_END = re.compile(r"\}[ \t\r\n]*,(?=[ \t\r\n]*\{)")
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])


class ArrayItem:
    """One array item: its position (0-based), its undecoded JSON and the line it starts on."""

    __slots__ = ("index", "line", "raw")

    def __init__(self, index: int, raw: bytes | memoryview, line: int) -> None:
        self.index = index
        self.raw = raw
        self.line = line

    @property
    def location(self) -> str:
        return f"item {self.index} at line {self.line}"


class ItemBlock:
    """Consecutive items of one array as one bytes object.

    Small to pickle and independent of the stream, so a block can be parsed in another process. A
    parser that decodes the whole block at once never needs the items' places; :meth:`items` finds
    them when asked (decoding the block once more), so the reading process does not.

    A block cut without validation (``validated`` false) is checked by whoever decodes it (see
    :meth:`is_whole`), and its items are counted then: the reader leaves ``count`` unknown, and
    ``first_index`` is a guess the consumer corrects (:meth:`ArrayBlocks.checked`).
    """

    __slots__ = (
        "_data",
        "_framed",
        "_spans",
        "count",
        "file",
        "first_index",
        "gap_lines",
        "length",
        "line",
        "line_known",
        "member",
        "offset",
        "unread",
        "validated",
    )

    def __init__(
        self,
        member: str,
        first_index: int,
        data: bytes | None,
        line: int,
        count: int | None,
        *,
        offset: int | None,
        validated: bool,
        spans: list[tuple[int, int]] | None = None,
        file: str | None = None,
        length: int | None = None,
        line_known: bool = True,
        gap_lines: int = 0,
        unread: bool = False,
    ) -> None:
        self.member = member
        self.first_index = first_index
        # The bytes, or None while they are still only in ``file`` (``length`` of them at ``offset``).
        self._data = data
        # The bytes inside brackets, as decoders take them, when the block was read that way.
        self._framed: bytearray | None = None
        if data is None:
            assert length is not None and file is not None and offset is not None, "a block in a file"
            self.length = length
        else:
            self.length = len(data)
        # The line data[0] is on; a guess the consumer corrects unless ``line_known`` (a skimmed block's
        # lines are counted by whoever reads its bytes), and the line breaks before the next block.
        self.line = line
        self.line_known = line_known
        self.gap_lines = gap_lines
        # No items: where the reader stopped skimming; read again from here (:meth:`is_whole` is false).
        self.unread = unread
        self.count = count
        self.offset = offset  # where data[0] is in the member (None for blocks that cannot be redone)
        self.validated = validated
        self._spans = spans  # (start, length) of each item in data, when already known
        # A plain file the member is, from which whoever needs the bytes reads them (cheaper than
        # passing them through a pipe, or than keeping a copy in the reading process).
        self.file = file

    def __getstate__(self) -> dict[str, Any]:
        state = {name: getattr(self, name) for name in self.__slots__ if name != "_framed"}
        if self.file is not None and self.offset is not None:
            state["_data"] = None  # the receiver reads the file
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self._framed = None
        if self._data is None:
            self._read()

    def _read(self) -> bytearray:
        assert self.file is not None and self.offset is not None
        self._framed = _read_framed(Path(self.file), self.offset, self.length)
        return self._framed

    @property
    def data(self) -> bytes:
        if self._data is None:
            framed = self._framed if self._framed is not None else self._read()
            self._data = bytes(memoryview(framed)[1:-1])
        return self._data

    def next_line(self, newlines: int) -> int:
        """The line the next block starts on, given the line breaks in this one's bytes."""
        return self.line + newlines + self.gap_lines

    def correct_line(self, line: int) -> None:
        """Take the line the consumer counted, unless the reader knew it."""
        if not self.line_known:
            self.line, self.line_known = line, True

    def __len__(self) -> int:
        if self.count is None:
            self.count = len(self._item_spans())
        return self.count

    def as_json_array(self) -> bytes | bytearray:
        if self._framed is not None:
            return self._framed
        if self._data is None:
            return self._read()
        return b"[" + self._data + b"]"

    def decode_all(self, decoder: msgspec.json.Decoder[list[Any]]) -> list[Any]:
        """Every item at once, by a typed decoder (which checks the syntax too); counts them."""
        decoded = decoder.decode(self.as_json_array())
        if self.count is None:
            self.count = len(decoded)
        return decoded

    def newlines(self) -> int:
        """Line breaks in the block's bytes."""
        framed = self._framed if self._framed is not None else self.data
        return _newlines(framed, len(framed))

    def is_whole(self) -> bool:
        """Whether the bytes are complete JSON values, the one after the other (always, once validated)."""
        if self.unread:
            return False
        if self.validated or self._spans is not None:
            return True
        try:
            len(self)
        except (msgspec.DecodeError, RecursionError):
            return False
        return True

    def items(self) -> Iterator[ArrayItem]:
        view = memoryview(self.data)
        line, counted_to = self.line, 0
        for number, (start, length) in enumerate(self._item_spans()):
            # Lines counted from the item before, not from the block's start: linear in the block.
            line += self.data.count(b"\n", counted_to, start)
            counted_to = start
            yield ArrayItem(self.first_index + number, view[start : start + length], line)

    def _item_spans(self) -> list[tuple[int, int]]:
        if self._spans is None:
            spans = []
            position = 0
            for raw in _RAW_LIST.decode(self.as_json_array()):
                start = _skip(_SEPARATOR, self.data, position)
                spans.append((start, len(raw)))
                position = start + len(raw)
            self._spans = spans
        return self._spans


class ArrayBlocks:
    """The blocks of one array, in order. A consumer that finds a block not whole (a cut the reader
    guessed wrong, or damage) rewinds to it: reading resumes there with every block validated."""

    def __init__(self, stream: IO[bytes], member: str, *, assignment: bool) -> None:
        self._reader = _ArrayReader(stream, member)
        self._blocks = self._reader.blocks(assignment)

    def __iter__(self) -> ArrayBlocks:
        return self

    def __next__(self) -> ItemBlock:
        return next(self._blocks)

    def rewind(self, block: ItemBlock) -> None:
        """Read again from ``block`` (its ``first_index`` corrected), validating every cut."""
        self._blocks.close()
        self._reader.rewind(block)
        self._blocks = self._reader.blocks_from_here()

    def checked(self) -> Iterator[ItemBlock]:
        """Whole blocks with their items numbered and their lines known, for a consumer in this process."""
        next_index, next_line = 0, 1
        for block in self:
            block.first_index = next_index
            block.correct_line(next_line)
            if not block.is_whole():
                self.rewind(block)
                continue
            yield block
            next_index += len(block)
            next_line = block.next_line(block.newlines())


def iter_array_items(stream: IO[bytes], member: str, *, assignment: bool = False) -> Iterator[ArrayItem]:
    """Yield the items of the JSON array in ``stream`` (after a ``window.X =`` when ``assignment``)."""
    for block in iter_array_blocks(stream, member, assignment=assignment).checked():
        yield from block.items()


def iter_array_blocks(stream: IO[bytes], member: str, *, assignment: bool = False) -> ArrayBlocks:
    """The items of the JSON array in ``stream`` in blocks of up to about ``BLOCK_BYTES``."""
    return ArrayBlocks(stream, member, assignment=assignment)


class _ArrayReader:
    def __init__(self, stream: IO[bytes], member: str) -> None:
        self.stream = stream
        self.member = member
        self.buffer = bytearray()
        self.eof = False
        self.line = 1  # the line buffer[0] is on
        self.offset = 0  # where buffer[0] is in the stream
        self.index = 0
        self.closing_line: bytes | None = None
        # Cuts at a learned closing line are trusted unchecked while the stream can be rewound.
        self.trusting = stream.seekable()
        self.line_known = True  # whether ``line`` was counted (not while skimming)
        name = getattr(stream, "name", None)
        self.file = name if isinstance(stream, io.BufferedReader) and isinstance(name, str) else None

    def rewind(self, block: ItemBlock) -> None:
        """Read again from ``block``'s first item, validating every cut from there on."""
        assert block.offset is not None, "a validated block is never redone"
        assert block.line_known, "the consumer corrects a block's line before rewinding to it"
        self.stream.seek(block.offset)
        self.buffer, self.eof, self.trusting, self.line_known = bytearray(), False, False, True
        self.offset, self.line, self.index = block.offset, block.line, block.first_index

    def _fill(self) -> None:
        """Read up to a block's worth, or a whole block more when the buffer holds one already."""
        kept = len(self.buffer)
        wanted = BLOCK_BYTES - kept if kept < BLOCK_BYTES else BLOCK_BYTES
        # Read straight behind what is kept: appending a read chunk would copy it once more.
        buffer = bytearray(kept + wanted)
        buffer[:kept] = self.buffer
        with memoryview(buffer) as view:
            read = cast(io.BufferedIOBase, self.stream).readinto(view[kept:])  # files, zip members
        if read:
            del buffer[kept + read :]
            self.buffer = buffer
        else:
            self.eof = True

    def _advance(self, position: int) -> None:
        if position:
            self.line += _newlines(self.buffer, position)
            self.offset += position
            del self.buffer[:position]  # O(1) at a bytearray's start

    def _malformed(self, reason: str, line: int | None = None) -> MalformedInput:
        return MalformedInput(self.member, f"line {line or self.line}", reason)

    def _open_array(self, assignment: bool) -> None:
        while len(self.buffer) < ASSIGNMENT_WINDOW and not self.eof:
            self._fill()
        position = len(codecs.BOM_UTF8) if self.buffer.startswith(codecs.BOM_UTF8) else 0
        if assignment:
            equals = self.buffer.find(b"=", position, ASSIGNMENT_WINDOW)
            if equals < 0:
                raise self._malformed("no 'window.… =' assignment")
            position = equals + 1
        position = _skip(_WHITESPACE, self.buffer, position)
        if self.buffer[position : position + 1] != b"[":
            self._advance(position)
            raise self._malformed("expected a JSON array")
        self._advance(position + 1)

    def blocks(self, assignment: bool) -> Generator[ItemBlock, None, None]:
        self._open_array(assignment)
        yield from self.blocks_from_here()

    def blocks_from_here(self) -> Generator[ItemBlock, None, None]:
        while True:
            if self.file is not None and self.trusting and self.closing_line is not None:
                yield from self._skimmed()
                return
            while len(self.buffer) < BLOCK_BYTES and not self.eof:
                self._fill()
            self._advance(_skip(_WHITESPACE, self.buffer, 0))
            if self.buffer.startswith(b"]"):
                return
            if self.eof:
                yield from self._tail()
                return
            cut = self._find_cut()
            if cut is not None:
                yield from self._emit(*cut)
                continue
            needs_more = yield from self._recover()
            if self.buffer.startswith(b"]"):
                return
            if needs_more:
                self._fill()

    def _skimmed(self) -> Iterator[ItemBlock]:
        """Trusted blocks of a plain file, each cut at the last closing line near a block's end, read
        from there alone: the reading process neither reads nor counts the block's bytes (whoever
        decodes a block does both; its lines are then a guess the consumer corrects). Where no cut is
        found, or the array does not end in ``]``, an unread block sends the consumer back to read
        from there validated."""
        self.buffer = bytearray()
        while True:
            start = self.offset
            window_start = max(start, start + BLOCK_BYTES - TAIL_BYTES)
            window = self._read_at(window_start, start + BLOCK_BYTES - window_start)
            if window_start + len(window) < start + BLOCK_BYTES:
                yield from self._skimmed_end(start)
                return
            cut = self._window_cut(window)
            if cut is None and window_start > start:
                window_start, window = start, self._read_at(start, BLOCK_BYTES)
                cut = self._window_cut(window)
            if cut is None:
                yield self._unread_block(start)
                return
            comma, following = cut
            yield self._skimmed_block(
                start, window_start + comma - start, window.count(b"\n", comma, following)
            )
            self.offset = window_start + following

    def _skimmed_end(self, start: int) -> Iterator[ItemBlock]:
        """The last block, up to the closing bracket (trusted: its decoder checks it)."""
        rest = self._read_at(start, BLOCK_BYTES)
        body = rest.rstrip(b" \t\r\n;")
        if not body.endswith(b"]"):
            yield self._unread_block(start)
            return
        items = body[:-1].rstrip()
        if items.strip():
            yield self._skimmed_block(start, len(items), 0)

    def _skimmed_block(self, start: int, length: int, gap_lines: int) -> ItemBlock:
        block = ItemBlock(
            self.member,
            self.index,
            None,
            self.line,
            None,
            offset=start,
            validated=False,
            file=self.file,
            length=length,
            line_known=self.line_known,
            gap_lines=gap_lines,
        )
        self.line_known = False  # nothing after the first skimmed block is counted here
        return block

    def _unread_block(self, start: int) -> ItemBlock:
        return ItemBlock(
            self.member,
            self.index,
            b"",
            self.line,
            0,
            offset=start,
            validated=False,
            line_known=self.line_known,
            unread=True,
        )

    def _read_at(self, offset: int, size: int) -> bytes:
        self.stream.seek(offset)
        return self.stream.read(size)

    def _window_cut(self, window: bytes) -> tuple[int, int] | None:
        """The last comma after a closing line in ``window`` with the start of the next item after it."""
        for comma in self._candidates(window):
            following = _skip(_WHITESPACE, window, comma + 1)
            if following < len(window):
                return comma, following
        return None

    def _candidates(self, buffer: bytes | bytearray) -> Iterator[int]:
        """Positions of commas that may follow a top-level item, the last one first."""
        if self.closing_line is not None:
            end = len(buffer)
            while (at := buffer.rfind(self.closing_line, 0, end)) >= 0:
                after = _skip(_WHITESPACE, buffer, at + len(self.closing_line))
                if buffer[after : after + 1] == b",":
                    yield after
                end = at
            return
        # Only the last few candidates are tried: look near the end first.
        near_end = max(0, len(buffer) - BLIND_SEARCH_BYTES)
        matches = list(_ANY_ITEM_END.finditer(buffer, near_end))
        if len(matches) < MAX_BLIND_ATTEMPTS and near_end:
            matches = list(_ANY_ITEM_END.finditer(buffer))
        for match in reversed(matches):
            yield match.end() - 1

    def _find_cut(self) -> tuple[int, int | None, bool] | None:
        """A comma after a complete item, the number of items before it, and whether that was checked.

        Trusted, the last closing line of a pretty-printed file is the cut, unchecked and uncounted
        (whoever decodes the block does both). Otherwise the items before a candidate are decoded
        (as far as ``Raw``) to prove it.
        """
        if self.trusting and self.closing_line is not None:
            comma = next(self._candidates(self.buffer), None)
            if comma is not None:
                return comma, None, False
        attempts = MAX_CUT_ATTEMPTS if self.closing_line is not None else MAX_BLIND_ATTEMPTS
        for attempt, comma in enumerate(self._candidates(self.buffer)):
            if attempt == attempts:
                return None
            try:
                count = len(_RAW_LIST.decode(b"[" + self.buffer[:comma] + b"]"))
            except (msgspec.DecodeError, RecursionError):
                continue
            if self.closing_line is None:
                last_item = self.buffer[:comma].rstrip()
                self._learn_closing_line(last_item[last_item.rfind(b"\n") :])
            return comma, count, True
        return None

    def _emit(self, comma: int, count: int | None, validated: bool) -> Iterator[ItemBlock]:
        """Yield the items before ``comma`` as one block and move past it. A plain file's block
        leaves its bytes in the file, read by whoever parses it."""
        if self.file is None:
            with memoryview(self.buffer) as view:
                data: bytes | None = bytes(view[:comma])
        else:
            data = None
        block = ItemBlock(
            self.member,
            self.index,
            data,
            self.line,
            count,
            offset=self.offset,
            validated=validated,
            file=self.file,
            length=comma,
        )
        self.index += count or 0  # uncounted: the consumer numbers the items
        # Past the whitespace too while the rest is short, so the next fill is not copied to drop it.
        self._advance(_skip(_WHITESPACE, self.buffer, comma + 1))
        yield block

    def _tail(self) -> Iterator[ItemBlock]:
        """The last block: the remaining items, the closing bracket, maybe a ``;``."""
        body = self.buffer.rstrip(b" \t\r\n;")
        if body.endswith(b"]"):
            try:
                raws = _RAW_LIST.decode(b"[" + body)
            except (msgspec.DecodeError, RecursionError):
                pass
            else:
                yield from self._emit(len(body) - 1, len(raws), True)
                return
        yield from self._recover()

    def _recover(self) -> Generator[ItemBlock, None, bool]:
        """Item by item with the standard library: the slow path for compact or damaged JSON.

        Stops at an item the block does not hold whole (returning true: more is to be read, up to
        ``MAX_ITEM_BYTES``), or once it has learned a pretty-printed file's closing line; at the end
        of the file or past that bound, names the damaged line.
        """
        text = self.buffer.decode("utf-8", errors="surrogateescape")
        decoder = json.JSONDecoder()
        position, line = 0, self.line
        while True:
            start = _skip(_TEXT_SEPARATOR, text, position)
            line += text.count("\n", position, start)
            if start >= len(text) and not self.eof:
                self._advance(len(self.buffer))
                return True
            if text.startswith("]", start):
                self._advance(_byte_offset(text, start))
                return False
            try:
                _, end = decoder.raw_decode(text, start)
            except (json.JSONDecodeError, RecursionError) as exc:
                failed_at = exc.pos if isinstance(exc, json.JSONDecodeError) else start
                cut_by_block = len(text) - failed_at <= DAMAGE_MARGIN
                if not self.eof and cut_by_block and len(text) - start <= MAX_ITEM_BYTES:
                    self._advance(_byte_offset(text, start))  # the item goes on in the next block
                    return True
                damaged_end = self._damaged_item_end(text, failed_at)
                if damaged_end is None:
                    raise self._damage(text, start, line, exc) from exc
                end = damaged_end  # the damaged item alone, as a one-item block: its parser rejects it
            raw = text[start:end].encode("utf-8", errors="surrogateescape")
            yield ItemBlock(
                self.member, self.index, raw, line, 1, offset=None, validated=True, spans=[(0, len(raw))]
            )
            self.index += 1
            line += text.count("\n", start, end)
            position = end
            if self.closing_line is None and self._learn_closing_line(text[start:end]) and not self.eof:
                self._advance(_byte_offset(text, _skip(_TEXT_SEPARATOR, text, end)))
                return False  # back to the fast path

    def _damaged_item_end(self, text: str, damage: int) -> int | None:
        """Where the item damaged at ``damage`` ends, so that reading resumes at the next item: at the
        next line that closes a top-level item, before its comma (a pretty-printed file), else at the
        next ``},`` before a ``{``; ``None`` when no item follows (damage at the end of the array)."""
        if self.closing_line is not None:
            pattern = re.compile(re.escape(self.closing_line.decode()) + r"[ \t\r]*,")
        else:
            pattern = _COMPACT_ITEM_END
        found = pattern.search(text, damage)
        return None if found is None else found.end() - 1

    def _learn_closing_line(self, item: str | bytes | bytearray) -> bool:
        """Remember how a top-level item's last line looks (``\\n  }``), if the file is pretty-printed."""
        data = item.encode("utf-8", errors="surrogateescape") if isinstance(item, str) else bytes(item)
        closing = data[data.rfind(b"\n") :] if b"\n" in data else b""
        if _CLOSING_LINE.match(closing):
            self.closing_line = closing
            return True
        return False

    def _damage(self, text: str, start: int, line: int, exc: Exception) -> MalformedInput:
        if isinstance(exc, RecursionError):
            return self._malformed("JSON nested too deeply", line)
        assert isinstance(exc, json.JSONDecodeError)
        if not self.eof:
            return self._malformed(f"an item larger than {MAX_ITEM_BYTES} bytes, or damaged JSON", line)
        if not text.rstrip(" \t\r\n;").endswith("]"):
            return self._malformed("the file ends inside the array (truncated?)", line)
        return self._malformed(f"invalid JSON ({exc.msg})", line + text.count("\n", start, exc.pos))


def _read_framed(path: Path, offset: int, length: int) -> bytearray:
    """``length`` bytes of ``path`` from ``offset``, read straight inside ``[`` and ``]``: a block's
    items as one JSON array without copying megabytes to add the brackets."""
    framed = bytearray(length + 2)
    framed[0], framed[-1] = ord("["), ord("]")
    view = memoryview(framed)[1:-1]
    with path.open("rb", buffering=0) as handle:
        handle.seek(offset)
        while view:
            read = handle.readinto(view)
            if not read:
                raise OSError(f"{path}: ends before byte {offset + length}")
            view = view[read:]
    return framed


def _newlines(data: bytes | bytearray, end: int) -> int:
    """``data.count(b"\\n", 0, end)``, three times faster on large spans (NumPy compares bytes in bulk)."""
    if end < NEWLINE_COUNT_IN_BULK:
        return data.count(b"\n", 0, end)
    return int(np.count_nonzero(np.frombuffer(data, np.uint8, end) == NEWLINE))


def _byte_offset(text: str, position: int) -> int:
    return len(text[:position].encode("utf-8", errors="surrogateescape"))


def _skip(pattern: re.Pattern[bytes] | re.Pattern[str], data: bytes | bytearray | str, position: int) -> int:
    match = pattern.match(data, position)  # type: ignore[arg-type]
    return match.end() if match else position
