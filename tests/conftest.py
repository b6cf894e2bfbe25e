"""Shared fixtures: an isolated data root and settings per test, and builders of landing files."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import DataRoot, Settings
from pipeline.delivery import Delivery
from pipeline.schemas import LakeDataset
from pipeline.sources.base import ParseContext, Record, Rejected
from pipeline.warehouse import BuildResult
from tests.http_servers import LoopbackServer
from tests.pipeline_runs import Reference, new_world, run_ok, snapshot

PROJECT_DIR = Path(__file__).resolve().parents[1]
# The sample data's configuration (`make run` names it): `socialrank init --site example.com`'s output.
SAMPLE_CONFIG = PROJECT_DIR / "sample" / "socialrank.toml"
REFERENCE_EXPORTS = PROJECT_DIR.parent / "shared" / "reference-exports"
DEMO_RUN_DATE = dt.date(2026, 11, 1)
# The files socialrank_demo.sample lands: X archive, LinkedIn, Reddit, Ahrefs, rank tracker, GA4 download.
SAMPLE_DELIVERIES = 6


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALRANK_PROJECT_DIR", str(PROJECT_DIR))
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "False")
    monkeypatch.delenv("SOCIALRANK_CONFIG", raising=False)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    data = DataRoot(tmp_path / "data")
    data.ensure()
    return Settings(data=data, owned_sites=("example.com",), timezone=ZoneInfo("America/Los_Angeles"))


def demo_world_settings(root: Path) -> Settings:
    """Settings of a demo world whose data root is ``root / "data"`` (its owned site and time zone)."""
    data = DataRoot(root / "data")
    data.ensure()
    return Settings(data=data, owned_sites=("example.com",), timezone=ZoneInfo("America/Los_Angeles"))


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The sample world run once by ``socialrank run`` in its own process, never crashed, on the demo's run
    date. One run (about a minute) for every module that starts from the published sample world: tests read
    it, or copy it (``copy_world``) before changing anything."""
    world = new_world(tmp_path_factory.mktemp("sample-run"))
    result = run_ok(world, DEMO_RUN_DATE)
    return Reference(world, snapshot(world, result.seconds))


@pytest.fixture(scope="session")
def published_demo_world(sample_run: Reference) -> Path:
    """The demo world run once through every stage (``sample_run``): a folder whose ``data/`` is the data
    root. Tests read it, or copy it before changing anything."""
    return sample_run.world.root


def keep_build(built: BuildResult) -> BuildResult:
    """Move a build out of ``builds/``, as an operator keeps a copy: the next build removes leftovers."""
    kept = built.path.parent.parent / "kept" / built.path.name
    kept.parent.mkdir(exist_ok=True)
    built.path.replace(kept)
    built.path = kept
    return built


@pytest.fixture
def context() -> ParseContext:
    return ParseContext(www_policy="strip", landed_on=dt.date(2026, 3, 1))


def parse_all(path: Path, context: ParseContext) -> tuple[str | None, list[Record], list[Rejected]]:
    """Detect and parse one delivery with the real parsers."""
    from pipeline.sources import detect_format

    delivery = Delivery(path)
    try:
        source_format = detect_format(delivery)
        if source_format is None:
            return None, [], []
        records: list[Record] = []
        rejected: list[Rejected] = []
        for item in source_format.parse(delivery, context):
            if isinstance(item, Rejected):
                rejected.append(item)
            elif isinstance(item, Record):
                records.append(item)
        return source_format.name, records, rejected
    finally:
        delivery.close()


def of_kind(records: list[Record], kind: str) -> list[dict[str, object]]:
    return [record.row for record in records if record.kind == kind]


ZIP_MEMBER_TIME = (2026, 3, 6, 13, 15, 30)


def write_zip(path: Path, members: dict[str, str | bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            # A fixed time: the same members make the same bytes (the same delivery) whenever written.
            member = zipfile.ZipInfo(name, date_time=ZIP_MEMBER_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(member, content.encode("utf-8") if isinstance(content, str) else content)
    path.write_bytes(buffer.getvalue())
    return path


def x_manifest(user: str = "demo_user", generated: str = "2026-03-06T13:15:31.187Z") -> str:
    config = {
        "userInfo": {"accountId": "1", "userName": user, "displayName": "Demo"},
        "archiveInfo": {"sizeBytes": "1000", "generationDate": generated, "isPartialArchive": False},
        "dataTypes": {
            "tweets": {
                "files": [{"fileName": "data/tweets.js", "globalName": "YTD.tweets.part0", "count": "3"}]
            },
            "directMessages": {
                "files": [{"fileName": "data/direct-messages.js", "globalName": "YTD.dm.part0", "count": "1"}]
            },
        },
    }
    return "window.__THAR_CONFIG = " + json.dumps(config, indent=2)


def x_tweet(
    tweet_id: str,
    created_at: str,
    text: str,
    urls: list[tuple[str, str]],
    likes: str = "3",
    retweets: str = "1",
) -> dict[str, object]:
    return {
        "id_str": tweet_id,
        "id": tweet_id,
        "created_at": created_at,
        "full_text": text,
        "favorite_count": likes,
        "retweet_count": retweets,
        "entities": {
            "hashtags": [],
            "urls": [
                {"url": short, "expanded_url": expanded, "display_url": expanded[:20], "indices": ["0", "23"]}
                for short, expanded in urls
            ],
        },
    }


def x_tweets_js(items: list[object]) -> str:
    return "window.YTD.tweets.part0 = " + json.dumps(items, indent=2)


# --- Bluesky: a repository CAR file (CAR v1, DAG-CBOR blocks, a Merkle search tree) -------------------


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        byte = number & 0x7F
        number >>= 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _cid_of(block: bytes) -> bytes:
    """CIDv1, dag-cbor codec, sha2-256: how atproto addresses every block."""
    import hashlib

    return bytes([0x01, 0x71, 0x12, 0x20]) + hashlib.sha256(block).digest()


class CidLink(bytes):
    """Marks bytes that are a CID link (DAG-CBOR tag 42) when encoded by :func:`dag_cbor`."""


def dag_cbor(value: object) -> bytes:
    """DAG-CBOR with CID links: libipld encodes plain bytes, so links are re-tagged afterwards."""
    import libipld

    links: list[bytes] = []

    def mark(item: object) -> object:
        if isinstance(item, CidLink):
            links.append(bytes(item))
            return bytes(item)
        if isinstance(item, dict):
            return {key: mark(inner) for key, inner in item.items()}
        if isinstance(item, list):
            return [mark(inner) for inner in item]
        return item

    encoded: bytes = libipld.encode_dag_cbor(mark(value))
    for link in set(links):
        plain = bytes([0x58, len(link)]) + link
        tagged = bytes([0xD8, 0x2A, 0x58, len(link) + 1, 0x00]) + link
        encoded = encoded.replace(plain, tagged)
    return encoded


def bluesky_car(did: str, records: dict[str, dict[str, object]]) -> bytes:
    """A repository export: commit -> one MST node -> records keyed ``collection/rkey`` (sorted)."""
    blocks: list[tuple[bytes, bytes]] = []

    def add(value: object) -> CidLink:
        block = dag_cbor(value)
        cid = _cid_of(block)
        blocks.append((cid, block))
        return CidLink(cid)

    entries = []
    previous = b""
    for key in sorted(records):
        encoded_key = key.encode()
        shared = 0
        while shared < min(len(previous), len(encoded_key)) and previous[shared] == encoded_key[shared]:
            shared += 1
        entries.append({"p": shared, "k": encoded_key[shared:], "v": add(records[key]), "t": None})
        previous = encoded_key
    node = add({"l": None, "e": entries})
    commit = add({"did": did, "version": 3, "data": node, "rev": "3kabc", "prev": None, "sig": b"\x00" * 64})
    header = dag_cbor({"roots": [commit], "version": 1})
    out = bytearray(_varint(len(header)) + header)
    for cid, block in reversed(blocks):
        out += _varint(len(cid) + len(block)) + cid + block
    return bytes(out)


# --- the crawler: a real HTTP server on loopback ---------------------------------------------------


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A threaded HTTP server on 127.0.0.1 (routes per host name and path), stopped after the test."""
    with LoopbackServer() as server:
        yield server


# --- builders of the platforms' and tools' exports (their real shapes, generated) ------------------------


def mojibake(text: str) -> str:
    """Meta's encoding bug: every UTF-8 byte of the text written as its own ``\\u00XX`` character."""
    return text.encode("utf-8").decode("latin-1")


def meta_json(value: object) -> str:
    """JSON as Meta writes it: ASCII only, so mojibake shows as ``\\u00c3\\u00a9`` escapes."""
    return json.dumps(value, ensure_ascii=True, indent=2)


def facebook_post(
    timestamp: int, text: str, link: str | None = None, title: str = "Dana Demo updated her status."
) -> dict[str, object]:
    post: dict[str, object] = {
        "timestamp": timestamp,
        "data": [{"post": mojibake(text)}, {"update_timestamp": timestamp + 60}] if text else [],
        "title": mojibake(title),
        "tags": [{"name": "Tagged Friend"}],
    }
    if link:
        post["attachments"] = [
            {"data": [{"external_context": {"url": link, "name": mojibake("Le guide · Café")}}]},
            {
                "data": [
                    {
                        "media": {
                            "uri": "your_facebook_activity/posts/media/1.jpg",
                            "creation_timestamp": timestamp,
                        }
                    }
                ]
            },
        ]
    return post


def instagram_post(timestamp: int, caption: str, media_count: int = 1) -> dict[str, object]:
    media = [
        {
            "uri": f"media/posts/202401/{timestamp}_{index}.jpg",
            "creation_timestamp": timestamp,
            "media_metadata": {"photo_metadata": {"exif_data": [{"latitude": 48.85, "longitude": 2.35}]}},
            "title": mojibake(caption) if media_count == 1 else "",
        }
        for index in range(media_count)
    ]
    post: dict[str, object] = {"media": media}
    if media_count > 1:
        post.update({"title": mojibake(caption), "creation_timestamp": timestamp})
    return post


def mastodon_create(number: int, published: str, content: str, to: str = "public") -> dict[str, object]:
    actor = "https://social.example/users/dana"
    addressed = {
        "public": (["https://www.w3.org/ns/activitystreams#Public"], [f"{actor}/followers"]),
        "direct": (["https://other.example/users/friend"], []),
    }[to]
    note_id = f"{actor}/statuses/{number}"
    return {
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": actor,
        "published": published,
        "to": addressed[0],
        "cc": addressed[1],
        "object": {
            "id": note_id,
            "type": "Note",
            "url": f"https://social.example/@dana/{number}",
            "published": published,
            "to": addressed[0],
            "cc": addressed[1],
            "content": content,
            "tag": [],
        },
    }


def mastodon_outbox(items: list[object], duplicate_key: bool = True) -> str:
    """An outbox as Mastodon writes it, with the known bug: ``orderedItems`` twice, the last one full."""
    head = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "outbox.json",
        "type": "OrderedCollection",
        "totalItems": len(items),
    }
    body = json.dumps(head)[:-1]
    if duplicate_key:
        body += ', "orderedItems": []'
    return body + ', "orderedItems": ' + json.dumps(items, indent=1) + "}"


def csv_bytes(
    rows: list[list[str]],
    delimiter: str = ",",
    bom: bool = False,
    crlf: bool = False,
    encoding: str = "utf-8",
) -> bytes:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n")
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode(encoding) + buffer.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xls_bytes(sheets: dict[str, list[list[object]]]) -> bytes:
    """A real BIFF8 ``.xls`` (what LinkedIn's page analytics download is)."""
    import xlwt

    workbook = xlwt.Workbook()
    for name, rows in sheets.items():
        sheet = workbook.add_sheet(name)
        for row_number, row in enumerate(rows):
            for column, value in enumerate(row):
                sheet.write(row_number, column, value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def parse_safely(path: Path, context: ParseContext) -> tuple[str | None, list[Record], list[Rejected]]:
    """Like :func:`parse_all`, but a damaged member ends as one more rejection, as the ingest records it."""
    from pipeline.sources import detect_format
    from pipeline.sources.base import MalformedInput

    delivery = Delivery(path)
    records: list[Record] = []
    rejected: list[Rejected] = []
    try:
        source_format = detect_format(delivery)
        if source_format is None:
            return None, [], []
        try:
            for item in source_format.parse(delivery, context):
                if isinstance(item, Rejected):
                    rejected.append(item)
                elif isinstance(item, Record):
                    records.append(item)
        except MalformedInput as exc:
            rejected.append(Rejected(exc.member, exc.location, exc.reason))
        return source_format.name, records, rejected
    finally:
        delivery.close()


def write_delivery_rows(
    settings: Settings, dataset: LakeDataset, rows: list[dict[str, object]], delivery_id: str
) -> None:
    """Rows straight into the lake as one delivery, with the ledger entry that makes them visible."""
    from pipeline import lake
    from pipeline.schemas import INGEST_LEDGER

    lake.write_partitioned(settings.data.lake, dataset, rows, delivery_id)
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    ledger_row = {
        "delivery_id": delivery_id,
        "landing_path": f"test/{delivery_id}",
        "format": "test",
        "size_bytes": 0,
        "status": "ingested",
        "records_read": len(rows),
        "records_kept": len(rows),
        "records_quarantined": 0,
        "ingested_at": now,
        "ingest_date": now.date(),
    }
    lake.write_partitioned(settings.data.lake, INGEST_LEDGER, [ledger_row], delivery_id)
