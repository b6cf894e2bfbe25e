"""JSON members read whole (bounded), Meta's mojibake repaired, lists found wherever a version put them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from pipeline.delivery import Delivery
from pipeline.sources.base import MalformedInput

# A JSON document read whole becomes Python objects several times its size: bigger ones are refused
# with a clear reason instead of exhausting memory. Post arrays are streamed (jsonstream) instead.
MAX_JSON_DOCUMENT_BYTES = 256 * 1024**2
MAX_SEARCH_DEPTH = 12

_HIGH_LATIN1_RUN = re.compile("[\x80-\xff]+")


def load_json_member(delivery: Delivery, member: str, *, assignment: bool = False) -> Any:
    """The JSON value of a member (after a ``window.X =`` / ``var x =`` when ``assignment``)."""
    size = delivery.size_of(member)
    if size > MAX_JSON_DOCUMENT_BYTES:
        raise MalformedInput(
            member,
            "whole file",
            f"{size} bytes exceed the {MAX_JSON_DOCUMENT_BYTES}-byte limit for a JSON file",
        )
    text = delivery.read(member).decode("utf-8-sig", errors="replace")
    if assignment:
        _, equals, text = text.partition("=")
        if not equals:
            raise MalformedInput(member, "line 1", "no 'window.… =' assignment")
        text = text.rstrip().removesuffix(";")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise MalformedInput(member, f"line {exc.lineno}", f"invalid JSON ({exc.msg})") from exc
    except RecursionError as exc:
        raise MalformedInput(member, "whole file", "JSON nested too deeply") from exc


def fix_mojibake(text: str) -> str:
    """Undo Meta's encoding bug (UTF-8 bytes written as ``\\u00XX`` escapes) without losing characters.

    Each run of U+0080..U+00FF characters is taken back to bytes and decoded as UTF-8; a byte that is
    not part of a valid UTF-8 sequence keeps its Latin-1 character (so correctly encoded text such as
    a lone "é" survives), and characters above U+00FF are never touched.
    """
    if text.isascii():
        return text
    return _HIGH_LATIN1_RUN.sub(_repair_run, text)


def _repair_run(match: re.Match[str]) -> str:
    decoded = match.group(0).encode("latin-1").decode("utf-8", errors="surrogateescape")
    return "".join(chr(ord(char) - 0xDC00) if "\udc80" <= char <= "\udcff" else char for char in decoded)


def find_lists(
    value: Any, key: str, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], list[Any]]]:
    """Every list stored under ``key`` at any depth, with the path of keys leading to it."""
    if len(path) > MAX_SEARCH_DEPTH:
        return
    if isinstance(value, dict):
        for name, item in value.items():
            if name == key and isinstance(item, list):
                yield (*path, name), item
            else:
                yield from find_lists(item, key, (*path, str(name)))
    elif isinstance(value, list):
        for item in value:
            yield from find_lists(item, key, path)


def text_of(value: Any) -> str | None:
    """A string field as text; numbers become text, anything else is absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None
