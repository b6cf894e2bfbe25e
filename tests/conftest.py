"""Shared fixtures: an isolated data root and settings per test, and builders of landing files."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.config import DataRoot, Settings
from pipeline.delivery import Delivery
from pipeline.sources.base import ParseContext, Record, Rejected

PROJECT_DIR = Path(__file__).resolve().parents[1]
REFERENCE_EXPORTS = PROJECT_DIR.parent / "shared" / "reference-exports"


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
            (rejected if isinstance(item, Rejected) else records).append(item)  # type: ignore[arg-type]
        return source_format.name, records, rejected
    finally:
        delivery.close()


def of_kind(records: list[Record], kind: str) -> list[dict[str, object]]:
    return [record.row for record in records if record.kind == kind]


def write_zip(path: Path, members: dict[str, str | bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content.encode("utf-8") if isinstance(content, str) else content)
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
