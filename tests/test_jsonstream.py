"""The streamed JSON array reader: blocks cut without validation must give exactly what validated
cuts give, including where damage is reported, because a block found not whole is read again."""

from __future__ import annotations

import io
import json
import pickle
import tempfile
from pathlib import Path
from typing import IO
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.sources import jsonstream
from pipeline.sources.base import MalformedInput


class _Unseekable(io.BytesIO):
    """A stream that cannot be rewound: the reader validates every cut (the reference)."""

    def seekable(self) -> bool:
        return False


def _item(number: int, tricky: bool) -> str:
    body = json.dumps({"id_str": str(number), "text": f"post }}, {{ {number}"}, indent=2)
    if not tricky:
        return "  " + body.replace("\n", "\n  ")
    # A nested object closed at the items' own indentation, followed by a comma: a cut a trusting
    # reader takes for the end of an item.
    return f'  {{\n    "tweet": {{"id_str": "{number}", "entities": {{"urls": []\n  }},\n    "n": 1}}\n  }}'


def _read_all(stream: IO[bytes]) -> tuple[list[tuple[int, int, bytes]], tuple[str, str] | None]:
    items = []
    try:
        for item in jsonstream.iter_array_items(stream, "data/tweets.js", assignment=True):
            items.append((item.index, item.line, bytes(item.raw)))
    except MalformedInput as exc:
        return items, (exc.location, exc.reason)
    return items, None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tricky=st.lists(st.booleans(), min_size=60, max_size=300),
    block_bytes=st.integers(200, 3000),
    tail_bytes=st.integers(40, 3000),
    damage=st.one_of(st.none(), st.tuples(st.floats(0.05, 0.95), st.integers(1, 40))),
    truncate=st.booleans(),
)
def test_trusted_cuts_read_what_validated_cuts_read(
    tricky: list[bool], block_bytes: int, tail_bytes: int, damage: tuple[float, int] | None, truncate: bool
) -> None:
    """In memory (trusted cuts), from a stream that cannot be rewound (every cut validated) and from a
    plain file (blocks skimmed: cut from their ends, lines counted by the consumer)."""
    text = (
        "window.YTD.tweets.part0 = [\n"
        + ",\n".join(_item(number, odd) for number, odd in enumerate(tricky))
        + "\n]"
    )
    data = text.encode()
    if damage is not None:
        at = int(len(data) * damage[0])
        data = data[:at] + data[at + damage[1] :]
    if truncate:
        data = data[: len(data) * 3 // 4]
    with (
        patch.object(jsonstream, "BLOCK_BYTES", block_bytes),
        patch.object(jsonstream, "TAIL_BYTES", tail_bytes),
        tempfile.TemporaryDirectory() as folder,
    ):
        trusted = _read_all(io.BytesIO(data))
        validated = _read_all(_Unseekable(data))
        path = Path(folder) / "tweets.js"
        path.write_bytes(data)
        with path.open("rb") as stream:
            skimmed = _read_all(stream)
    assert trusted == validated
    assert skimmed == validated
    if damage is None and not truncate:
        assert [index for index, _, _ in trusted[0]] == list(range(len(tricky)))


def _blocks_read(text: str) -> tuple[int, int, list[int]]:
    """Whole blocks cut unchecked, rewinds, and the item numbers read, in blocks of about 400 bytes."""
    trusted, numbers, rewound = 0, list[int](), list[int]()
    with patch.object(jsonstream, "BLOCK_BYTES", 400):
        blocks = jsonstream.iter_array_blocks(io.BytesIO(text.encode()), "data/tweets.js", assignment=True)
        rewind = blocks.rewind

        def counted_rewind(block: jsonstream.ItemBlock) -> None:
            rewound.append(block.first_index)
            rewind(block)

        blocks.rewind = counted_rewind  # type: ignore[method-assign]
        for block in blocks.checked():
            trusted += not block.validated
            numbers.extend(item.index for item in block.items())
    return trusted, len(rewound), numbers


def test_cuts_at_the_learned_closing_line_are_trusted() -> None:
    text = "window.YTD.tweets.part0 = [\n" + ",\n".join(_item(n, False) for n in range(400)) + "\n]"
    trusted, rewinds, numbers = _blocks_read(text)
    assert trusted > 10
    assert rewinds == 0
    assert numbers == list(range(400))


def test_a_wrong_trusted_cut_is_read_again_validated() -> None:
    text = "window.YTD.tweets.part0 = [\n" + ",\n".join(_item(n, n % 2 == 1) for n in range(400)) + "\n]"
    _, rewinds, numbers = _blocks_read(text)
    assert rewinds == 1  # after a rewind, every cut is validated
    assert numbers == list(range(400))
    with patch.object(jsonstream, "BLOCK_BYTES", 400):
        assert _read_all(io.BytesIO(text.encode())) == _read_all(_Unseekable(text.encode()))


def test_a_block_of_a_plain_file_travels_without_its_bytes(tmp_path: Path) -> None:
    """Sent to a worker, a block of a file on disk carries its place, and the worker reads the bytes."""
    path = tmp_path / "tweets.js"
    path.write_text("window.YTD.tweets.part0 = [\n" + ",\n".join(_item(n, False) for n in range(400)) + "\n]")
    with patch.object(jsonstream, "BLOCK_BYTES", 4000), path.open("rb") as stream:
        blocks = list(jsonstream.iter_array_blocks(stream, "data/tweets.js", assignment=True))
    middle = blocks[len(blocks) // 2]
    assert middle.file == str(path) and not middle.validated
    sent = pickle.dumps(middle)
    assert len(sent) < middle.length // 4
    received = pickle.loads(sent)
    assert middle.offset is not None
    expected = path.read_bytes()[middle.offset : middle.offset + middle.length]
    assert expected.startswith(b"{") and expected.endswith(b"}")
    assert bytes(received.as_json_array()) == b"[" + expected + b"]"  # read as one array, no copy
    assert received.data == expected == middle.data  # read from the file in the reader too, when asked
    assert (received.first_index, received.line, received.offset) == (
        middle.first_index,
        middle.line,
        middle.offset,
    )
