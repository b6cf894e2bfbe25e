from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipeline.sources.base import ParseContext
from tests.conftest import REFERENCE_EXPORTS, of_kind, parse_all, write_zip, x_manifest, x_tweet, x_tweets_js


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    tweets = [
        {
            "tweet": x_tweet(
                "1001",
                "Fri Feb 20 09:10:58 +0000 2026",
                "Our guide &amp; more https://t.co/abc",
                [("https://t.co/abc", "http://www.example.com/guide?utm_source=twitter")],
                likes="20",
                retweets="4",
            )
        },
        {
            "tweet": x_tweet(
                "1002",
                "Thu Dec 18 08:19:45 +0000 2025",
                "RT @someone: look https://t.co/def",
                [("https://t.co/def", "https://example.com/other")],
                likes="0",
                retweets="0",
            )
        },
        # Before 2020 items have no {"tweet": ...} wrapper.
        x_tweet("1003", "Mon Jan 07 12:00:00 +0000 2019", "no links here", []),
        {"tweet": {"full_text": "an item without an id", "created_at": "Mon Jan 07 12:00:00 +0000 2019"}},
        {"tweet": x_tweet("1005", "yesterday-ish", "bad date", [])},
    ]
    return write_zip(
        tmp_path / "twitter-archive.zip",
        {
            "data/manifest.js": x_manifest(),
            "data/tweets.js": x_tweets_js(tweets),
            "data/direct-messages.js": 'window.YTD.direct_messages.part0 = [{"text": "secret"}]',
        },
    )


def test_x_archive_posts_links_and_counts(archive: Path, context: ParseContext) -> None:
    name, records, rejected = parse_all(archive, context)
    assert name == "x_archive"
    posts = {row["post_id"]: row for row in of_kind(records, "post")}
    assert set(posts) == {"1001", "1002", "1003"}
    assert posts["1001"]["text"] == "Our guide & more https://t.co/abc"  # HTML entities decoded
    assert posts["1001"]["posted_at"] == dt.datetime(2026, 2, 20, 9, 10, 58, tzinfo=dt.UTC)
    assert posts["1001"]["permalink"] == "https://x.com/demo_user/status/1001"
    assert posts["1002"]["is_repost"] is True
    assert posts["1001"]["is_repost"] is False

    links = of_kind(records, "link")
    assert [(row["post_id"], row["canonical_url"]) for row in links] == [
        ("1001", "https://example.com/guide"),
        ("1002", "https://example.com/other"),
    ]
    assert all(not row["is_shortener"] for row in links)  # expanded, never t.co

    engagement = {row["post_id"]: row for row in of_kind(records, "engagement")}
    assert engagement["1001"]["likes"] == 20 and engagement["1001"]["reposts"] == 4
    assert engagement["1001"]["snapshot_date"] == dt.date(2026, 3, 6)  # archiveInfo.generationDate

    assert sorted(item.location for item in rejected) == ["item 3", "item 4 (id 1005)"]
    assert all(item.member == "data/tweets.js" for item in rejected)


def test_x_archive_never_reads_direct_messages(archive: Path, context: ParseContext) -> None:
    _, records, _ = parse_all(archive, context)
    assert "secret" not in json.dumps([record.row for record in records], default=str)


def test_bare_tweets_js_is_recognised_from_content(tmp_path: Path, context: ParseContext) -> None:
    path = tmp_path / "export.js"
    path.write_text(x_tweets_js([{"tweet": x_tweet("7", "Fri Feb 20 09:10:58 +0000 2026", "hi", [])}]))
    name, records, _ = parse_all(path, context)
    assert name == "x_archive"
    assert [row["post_id"] for row in of_kind(records, "post")] == ["7"]


@pytest.mark.skipif(
    not (REFERENCE_EXPORTS / "x").exists(), reason="../shared/reference-exports is not present"
)
def test_real_x_excerpt_ingests_completely(tmp_path: Path, context: ParseContext) -> None:
    reference = REFERENCE_EXPORTS / "x"
    archive = write_zip(
        tmp_path / "real.zip",
        {
            "data/manifest.js": (reference / "manifest.js").read_bytes(),
            "data/tweets.js": (reference / "tweets_excerpt.js").read_bytes(),
        },
    )
    raw = json.loads((reference / "tweets_excerpt.js").read_text().split("=", 1)[1])
    expected_links = {
        (item["tweet"]["id_str"], entry["expanded_url"])
        for item in raw
        for entry in item["tweet"]["entities"]["urls"]
    }
    _, records, rejected = parse_all(archive, context)
    assert rejected == []
    assert len(of_kind(records, "post")) == 11
    assert {(row["post_id"], row["url"]) for row in of_kind(records, "link")} == expected_links
    counts = {row["post_id"]: (row["likes"], row["reposts"]) for row in of_kind(records, "engagement")}
    assert counts == {
        item["tweet"]["id_str"]: (int(item["tweet"]["favorite_count"]), int(item["tweet"]["retweet_count"]))
        for item in raw
    }
