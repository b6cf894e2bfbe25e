"""Hostile files, generated: each one small and built to break one assumption a parser could make.

Used by ``tests/test_hostile_corpus.py`` (the corpus: one file per class, each with its expected
result) and by the tests of the module a class belongs to.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from tests.conftest import CidLink, _cid_of, _varint, dag_cbor

_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="All posts" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def far_corner_xlsx(path: Path, cell: str = "XFD1048576") -> Path:
    """A spreadsheet of a few KB whose only cell is at the far corner of the sheet: read from A1 it
    spans 17 billion cells (a reader allocating them asks for 512 GB)."""
    row = re.sub(r"\D", "", cell)
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="A1:{cell}"/><sheetData><row r="{row}">'
        f'<c r="{cell}" t="inlineStr"><is><t>Post title</t></is></c></row></sheetData></worksheet>'
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in {**_XLSX_PARTS, "xl/worksheets/sheet1.xml": sheet}.items():
            archive.writestr(name, text)
    return path


def shared_subtree_car(did: str, levels: int) -> bytes:
    """A Bluesky repository whose record tree points twice at each node below it (as its left
    subtree and as its one entry's right subtree): ``levels + 1`` records, reached ``2**levels``
    times by a walk that expands every reference."""
    blocks: list[tuple[bytes, bytes]] = []

    def add(value: object) -> CidLink:
        block = dag_cbor(value)
        cid = _cid_of(block)
        blocks.append((cid, block))
        return CidLink(cid)

    def post(number: int) -> CidLink:
        return add(
            {
                "$type": "app.bsky.feed.post",
                "text": f"post {number}",
                "createdAt": f"2026-01-{1 + number % 28:02d}T10:00:00Z",
            }
        )

    node = add({"l": None, "e": [{"p": 0, "k": b"app.bsky.feed.post/3a000", "v": post(0), "t": None}]})
    for level in range(1, levels + 1):
        key = f"app.bsky.feed.post/3b{level:03d}".encode()
        node = add({"l": node, "e": [{"p": 0, "k": key, "v": post(level), "t": node}]})
    commit = add({"did": did, "version": 3, "data": node, "rev": "3kabc", "prev": None, "sig": b"\0" * 64})
    header = dag_cbor({"roots": [commit], "version": 1})
    out = bytearray(_varint(len(header)) + header)
    for cid, block in reversed(blocks):
        out += _varint(len(cid) + len(block)) + cid + block
    return bytes(out)


def rank_csv(rows: int, keyword: str = "kw", encoding: str = "utf-8") -> bytes:
    """A valid rank-tracker CSV of ``rows`` rows (big enough to take seconds to parse when needed)."""
    lines = ["date,keyword,url,position"]
    lines.extend(
        f"2026-01-{1 + n % 28:02d},{keyword}{n % 997},https://example.com/p{n % 300},{1 + n % 50}"
        for n in range(rows)
    )
    return ("\n".join(lines) + "\n").encode(encoding)
