from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipeline.sources.base import ParseContext
from tests.conftest import of_kind, parse_all

HEADER = [
    "Referring page title",
    "Referring page URL",
    "Language",
    "Domain rating",
    "UR",
    "Target URL",
    "Left context",
    "Anchor",
    "Right context",
    "Nofollow",
    "UGC",
    "Sponsored",
    "First seen",
    "Last seen",
    "Lost",
]


def ahrefs_bytes(rows: list[list[str]], encoding: str = "utf-16", delimiter: str = "\t") -> bytes:
    lines = [delimiter.join(f'"{cell}"' for cell in row) for row in [HEADER, *rows]]
    # Python's "utf-16" codec writes the BOM Ahrefs writes (little-endian on this platform).
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


ROWS = [
    [
        "Best tools",
        "https://blog.gardenweekly.com/tools?utm_medium=ref",
        "en",
        "54",
        "12",
        "https://www.example.com/guide",
        "see",
        "our guide",
        "here",
        "false",
        "false",
        "false",
        "2026-01-05 08:12:45",
        "2026-02-28 10:00:00",
        "",
    ],
    [
        "Forum",
        "https://forum.plants.co.uk/t/1",
        "en",
        "30",
        "5",
        "https://example.com/shop",
        "",
        "shop",
        "",
        "true",
        "true",
        "false",
        "2025-11-01",
        "2026-01-01",
        "2026-01-02",
    ],
    [
        "Broken",
        "https://x.org/a",
        "en",
        "1",
        "1",
        "https://example.com/",
        "",
        "",
        "",
        "maybe",
        "false",
        "false",
        "2026-01-01",
        "2026-01-01",
        "",
    ],
]


def test_utf16_tab_export(tmp_path: Path, context: ParseContext) -> None:
    path = tmp_path / "example.com-backlinks.csv"
    path.write_bytes(ahrefs_bytes(ROWS))
    assert path.read_bytes().startswith(b"\xff\xfe")
    name, records, rejected = parse_all(path, context)
    assert name == "ahrefs_backlinks"
    links = of_kind(records, "backlink")
    assert [(row["source_canonical"], row["target_canonical"]) for row in links] == [
        ("https://blog.gardenweekly.com/tools", "https://example.com/guide"),
        ("https://forum.plants.co.uk/t/1", "https://example.com/shop"),
    ]
    assert [row["source_domain"] for row in links] == ["gardenweekly.com", "plants.co.uk"]
    assert (links[0]["nofollow"], links[1]["nofollow"], links[1]["ugc"]) == (False, True, True)
    assert links[0]["first_seen"] == dt.date(2026, 1, 5)
    assert (links[0]["lost"], links[1]["lost"]) == (False, True)
    assert links[0]["source_domain_rating"] == 54.0
    assert [(item.location, item.reason) for item in rejected] == [
        ("line 4", "unreadable boolean in nofollow")
    ]


def test_utf8_comma_fallback(tmp_path: Path, context: ParseContext) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(ahrefs_bytes(ROWS[:1], encoding="utf-8-sig", delimiter=","))
    name, records, rejected = parse_all(path, context)
    assert name == "ahrefs_backlinks" and rejected == []
    assert len(of_kind(records, "backlink")) == 1
