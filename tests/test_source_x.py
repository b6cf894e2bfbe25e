from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.sources.base import ParseContext
from tests.conftest import (
    REFERENCE_EXPORTS,
    csv_bytes,
    of_kind,
    parse_all,
    parse_safely,
    write_zip,
    x_manifest,
    x_tweet,
    x_tweets_js,
)


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

    assert sorted(item.location.split(" at line")[0] for item in rejected) == ["item 3", "item 4"]
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


def _manifest_with(files: dict[str, list[str]], generated: str = "2026-03-06T13:15:31.187Z") -> str:
    config = {
        "userInfo": {"accountId": "1", "userName": "demo_user", "displayName": "Demo"},
        "archiveInfo": {"generationDate": generated, "isPartialArchive": False},
        "dataTypes": {
            kind: {
                "files": [
                    {"fileName": name, "globalName": f"YTD.{kind}.part{n}", "count": "1"}
                    for n, name in enumerate(names)
                ]
            }
            for kind, names in files.items()
        },
    }
    return "window.__THAR_CONFIG = " + json.dumps(config, indent=2)


def test_manifest_driven_parts_and_the_old_tweet_js(tmp_path: Path, context: ParseContext) -> None:
    part = "window.YTD.tweets.part1 = " + json.dumps(
        [{"tweet": x_tweet("2", "Sat Feb 21 10:00:00 +0000 2026", "two", [])}]
    )
    archive = write_zip(
        tmp_path / "twitter-2026.zip",
        {
            "twitter-2026-03-06/data/manifest.js": _manifest_with(
                {"tweets": ["data/tweets.js", "data/tweets-part1.js"], "tweet": ["data/tweet.js"]}
            ),
            "twitter-2026-03-06/data/tweets.js": x_tweets_js(
                [{"tweet": x_tweet("1", "Fri Feb 20 10:00:00 +0000 2026", "one", [])}]
            ),
            "twitter-2026-03-06/data/tweets-part1.js": part,
            "twitter-2026-03-06/data/tweet.js": "window.YTD.tweet.part0 = "
            + json.dumps([x_tweet("3", "Mon Jan 07 12:00:00 +0000 2019", "three", [])]),
            # Not listed in the manifest: never read.
            "twitter-2026-03-06/data/tweets-part9.js": "window.YTD.tweets.part9 = [ broken",
        },
    )
    name, records, rejected = parse_all(archive, context)
    assert name == "x_archive" and rejected == []
    assert [row["post_id"] for row in of_kind(records, "post")] == ["1", "2", "3"]


def test_long_posts_take_their_full_text_and_links_from_note_tweet_js(
    tmp_path: Path, context: ParseContext
) -> None:
    full = "A long post about coffee. " * 20 + "Read https://t.co/note1 for more."
    teaser = full[:270] + "… https://t.co/more"
    notes = [
        {
            "noteTweet": {
                "noteTweetId": "555",
                "createdAt": "2026-02-20T09:10:58.000Z",
                "updatedAt": "2026-02-20T09:10:58.000Z",
                "core": {
                    "text": full,
                    "urls": [
                        {
                            "shortUrl": "https://t.co/note1",
                            "expandedUrl": "https://example.com/long-read",
                            "fromIndex": "1",
                            "toIndex": "2",
                        }
                    ],
                    "mentions": [],
                    "hashtags": [],
                },
            }
        },
        {"noteTweet": {"noteTweetId": "556", "createdAt": "not a time", "core": {"text": "x"}}},
    ]
    archive = write_zip(
        tmp_path / "twitter.zip",
        {
            "data/manifest.js": _manifest_with(
                {"tweets": ["data/tweets.js"], "noteTweet": ["data/note-tweet.js"]}
            ),
            "data/tweets.js": x_tweets_js(
                [
                    {
                        "tweet": x_tweet(
                            "10",
                            "Fri Feb 20 09:10:58 +0000 2026",
                            teaser,
                            [("https://t.co/more", "https://x.com/i/web/status/10")],
                        )
                    },
                    {"tweet": x_tweet("11", "Fri Feb 20 09:10:58 +0000 2026", "Short one, same second", [])},
                ]
            ),
            "data/note-tweet.js": "window.YTD.note_tweet.part0 = " + json.dumps(notes, indent=2),
        },
    )
    _, records, rejected = parse_all(archive, context)
    posts = {row["post_id"]: row for row in of_kind(records, "post")}
    assert posts["10"]["text"] == full
    assert posts["11"]["text"] == "Short one, same second"
    assert {row["canonical_url"] for row in of_kind(records, "link") if row["post_id"] == "10"} == {
        "https://example.com/long-read",
        "https://x.com/i/web/status/10",
    }
    assert [(item.member, item.reason.split(" ")[0]) for item in rejected] == [
        ("data/note-tweet.js", "unparseable")
    ]


def test_pre_2019_tweets_csv(tmp_path: Path, context: ParseContext) -> None:
    header = [
        "tweet_id",
        "in_reply_to_status_id",
        "in_reply_to_user_id",
        "timestamp",
        "source",
        "text",
        "retweeted_status_id",
        "retweeted_status_user_id",
        "retweeted_status_timestamp",
        "expanded_urls",
    ]
    rows = [
        header,
        [
            "100",
            "",
            "",
            "2014-05-06 12:34:56 +0000",
            '<a href="x">web</a>',
            "Guide &amp; shop http://t.co/a http://t.co/b",
            "",
            "",
            "",
            "http://www.example.com/guide?utm_source=twitter,http://example.com/shop?a=1,b",
        ],
        [
            "101",
            "",
            "",
            "2014-05-07 08:00:00 +0000",
            "web",
            "RT @paul: look http://t.co/c",
            "99",
            "7",
            "2014-05-06 00:00:00 +0000",
            "https://example.com/other",
        ],
        ["102", "", "", "May 8", "web", "bad time", "", "", "", ""],
        ["103", "too", "short"],
    ]
    archive = write_zip(
        tmp_path / "tweets-2014.zip",
        {
            "tweets.csv": csv_bytes(rows),
            "data/js/user_details.js": 'var user_details =  {"screen_name" : "old_handle", "id" : "7"}',
        },
    )
    name, records, rejected = parse_all(archive, context)
    assert name == "x_archive"
    posts = {row["post_id"]: row for row in of_kind(records, "post")}
    assert set(posts) == {"100", "101"}
    assert posts["100"]["text"] == "Guide & shop http://t.co/a http://t.co/b"
    assert posts["100"]["permalink"] == "https://x.com/old_handle/status/100"
    assert posts["100"]["posted_at"] == dt.datetime(2014, 5, 6, 12, 34, 56, tzinfo=dt.UTC)
    assert posts["101"]["is_repost"] is True
    assert [(row["post_id"], row["canonical_url"]) for row in of_kind(records, "link")] == [
        ("100", "https://example.com/guide"),
        ("100", "https://example.com/shop?a=1%2Cb"),
        ("101", "https://example.com/other"),
    ]
    assert of_kind(records, "engagement") == []
    assert [item.location for item in rejected] == ["line 4", "line 5"]


def test_wrong_types_and_mis_encoded_text_are_item_level(tmp_path: Path, context: ParseContext) -> None:
    items = [
        {
            "tweet": {
                **x_tweet("1", "Fri Feb 20 10:00:00 +0000 2026", "ok", []),
                "favorite_count": ["not", "a", "count"],
            }
        },
        {
            "tweet": {
                **x_tweet("2", "Fri Feb 20 10:00:00 +0000 2026", "entities wrong", []),
                "entities": "none",
            }
        },
        {"tweet": x_tweet("3", "Fri Feb 20 10:00:00 +0000 2026", "caf\u00e9 MARKER", [])},
    ]
    text = "window.YTD.tweets.part0 = " + json.dumps(items, ensure_ascii=False)
    raw = text.encode().replace("caf\u00e9".encode(), b"caf\xe9")  # one Latin-1 byte in UTF-8
    path = tmp_path / "tweets.js"
    path.write_bytes(raw)
    _, records, rejected = parse_all(path, context)
    assert [row["text"] for row in of_kind(records, "post")] == ["caf\ufffd MARKER"]
    assert [item.reason.split(" (")[0] for item in rejected] == ["unexpected tweet shape"] * 2
    assert "$.tweet.favorite_count" in rejected[0].reason


def test_streamed_in_blocks_with_places_kept(
    tmp_path: Path, context: ParseContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.sources import jsonstream

    monkeypatch.setattr(jsonstream, "BLOCK_BYTES", 700)  # many blocks, cuts everywhere
    items: list[object] = [
        {
            "tweet": x_tweet(
                str(n),
                "Fri Feb 20 10:00:00 +0000 2026",
                f"post }}, {{ {n}",
                [("https://t.co/x", f"https://example.com/{n}")],
            )
        }
        for n in range(1, 41)
    ]
    items[25] = {"tweet": {"id_str": "26", "created_at": "never"}}
    text = x_tweets_js(items)
    path = tmp_path / "tweets.js"
    path.write_text(text[: text.rindex('"tweet"')])  # the last item cut off
    _, records, rejected = parse_safely(path, context)
    assert [row["post_id"] for row in of_kind(records, "post")] == [str(n) for n in range(1, 40) if n != 26]
    assert len(of_kind(records, "link")) == 38
    lines = text.split("\n")
    assert rejected[0].location.startswith("item 25 at line ")
    assert lines[int(rejected[0].location.split("line ")[1].split(" ")[0]) - 1].strip() == "{"
    cut_line = text[: text.rindex('"tweet"')].count("\n")
    assert (rejected[1].location, "truncated" in rejected[1].reason) == (f"line {cut_line}", True)


def test_a_broken_manifest_falls_back_to_recognising_tweet_files(
    tmp_path: Path, context: ParseContext
) -> None:
    archive = write_zip(
        tmp_path / "twitter.zip",
        {
            "data/manifest.js": "window.__THAR_CONFIG = { broken",
            "data/tweets.js": x_tweets_js(
                [{"tweet": x_tweet("1", "Fri Feb 20 10:00:00 +0000 2026", "one", [])}]
            ),
        },
    )
    name, records, rejected = parse_all(archive, context)
    assert name == "x_archive"
    assert [row["post_id"] for row in of_kind(records, "post")] == ["1"]
    assert [(item.member, item.location) for item in rejected] == [("data/manifest.js", "line 1")]
    assert of_kind(records, "engagement")[0]["snapshot_date"] == context.landed_on


# --- the block path: a whole block decoded at once must give what item by item gives ---------------

_WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_CLEAN_URLS = [
    "https://www.example.com/guide?utm_source=twitter",
    "http://example.com/guide",
    "https://blog.example.org/a/b.html?id=2&a=1",
    "https://t.co/abc",
]
_MESSY_URLS = [
    "",
    "not a url",
    "mailto:a@example.com",
    "https://exa mple.com/x",
    "HTTPS://Bücher.de/ß",
    "x" * 9000,
]


@st.composite
def _created_at(draw: st.DrawFn, clean: bool) -> object:
    moment = draw(st.datetimes(dt.datetime(2006, 3, 21), dt.datetime(2030, 12, 31)))
    text = moment.strftime("%a %b %d %H:%M:%S +0000 %Y")
    if clean:
        return text
    weekday, month = draw(st.sampled_from(_WEEKDAYS)), draw(st.sampled_from(_MONTH_NAMES))
    return draw(
        st.sampled_from(
            [
                text,
                text.replace("+0000", "+0100"),
                f"{weekday} {month} {draw(st.integers(1, 31)):02d} 10:00:00 +0000 2026",  # Feb 30 too
                f"{weekday} Feb 20 10:00:00 +0000 0000",
                f"{weekday} Feb 20 24:00:00 +0000 2026",
                "2026-02-20T10:00:00Z",
                None,
                20,
            ]
        )
    )


@st.composite
def _tweet_item(draw: st.DrawFn, clean: bool) -> object:
    number = draw(st.integers(1, 10**18))
    count = st.sampled_from(
        ["0", "12", "-5", "007"]
        if clean
        else ["12", 12, "", "+3", "1_000", None, "x", "99999999999999999999", "-9223372036854775808", 1.5]
    )
    text = draw(
        st.sampled_from(["plain", "RT @someone: boost", "fish &amp; chips", "caf\u00e9 \U0001f600", ""])
    )
    if not clean and draw(st.booleans()):
        text = draw(st.sampled_from(["x" * 100_001, "&lt;" * 3]))
    urls = draw(st.lists(st.sampled_from(_CLEAN_URLS if clean else _CLEAN_URLS + _MESSY_URLS), max_size=3))
    tweet: dict[str, object] = {
        "id_str": str(number)
        if clean
        else draw(st.sampled_from([str(number), "", "12a", "\u0661\u0662", number])),
        "created_at": draw(_created_at(clean)),
        "full_text": text,
        "favorite_count": draw(count),
        "retweet_count": draw(count),
        "entities": {"urls": [{"url": "https://t.co/x", "expanded_url": url} for url in urls]},
    }
    if not clean:
        tweet.update(
            draw(
                st.sampled_from(
                    [
                        {},
                        {"entities": None},
                        {"full_text": None, "text": "old"},
                        {"id": str(number), "id_str": None},
                        {"entities": "none"},
                    ]
                )
            )
        )
    return {"tweet": tweet} if draw(st.booleans()) else tweet


def _block_outputs(items: list[object], reader: object) -> tuple[Any, dict[str, pa.Table], Any, bool]:
    """The block decoded whole (its output and its tables, stamped as the ingest stamps them), item by
    item, and whether it was decoded whole."""
    from pipeline.parallel_parse import RowStamp, parse_block, parse_block_by_records
    from pipeline.sources.jsonstream import iter_array_blocks

    text = x_tweets_js(items).encode()
    (block,) = list(iter_array_blocks(io.BytesIO(text), "data/tweets.js", assignment=True))
    stamp = RowStamp("delivery", "x/archive.zip")
    whole = reader.block_columns(block) is not None  # type: ignore[attr-defined]
    fast = parse_block(reader, block, stamp)  # type: ignore[arg-type]
    return fast, fast.stamped_tables(stamp), parse_block_by_records(reader, block, stamp), whole  # type: ignore[arg-type]


def _reader(notes: dict[int, list[tuple[str, list[str]]]] | None = None) -> object:
    from pipeline.sources.x import _NoteIndex, _TweetReader

    index = _NoteIndex()
    index.by_second.update(notes or {})
    return _TweetReader("demo_user", dt.date(2026, 3, 1), index, ParseContext("strip", dt.date(2026, 3, 1)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(st.one_of(_tweet_item(clean=True), _tweet_item(clean=False)), min_size=1, max_size=6))
def test_a_block_decoded_whole_gives_what_item_by_item_gives(items: list[object]) -> None:
    fast, fast_tables, by_records, _ = _block_outputs(items, _reader())
    assert fast.counts == by_records.counts
    assert fast.rejected == by_records.rejected
    assert fast_tables.keys() == by_records.tables.keys()
    for kind, table in fast_tables.items():
        assert table.equals(by_records.tables[kind]), kind


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(_tweet_item(clean=True), min_size=1, max_size=6))
def test_clean_blocks_are_decoded_whole(items: list[object]) -> None:
    fast, fast_tables, by_records, whole = _block_outputs(items, _reader())
    assert whole
    assert fast.columns and not fast.tables  # decoded whole, shipped as columns
    for kind, table in fast_tables.items():
        assert table.equals(by_records.tables[kind]), kind


def test_a_block_with_a_post_matching_a_note_goes_item_by_item() -> None:
    created = dt.datetime(2026, 2, 20, 10, 0, tzinfo=dt.UTC)
    items: list[object] = [
        {"tweet": x_tweet("1", "Fri Feb 20 10:00:00 +0000 2026", "A long post that goes on …", [])},
        {"tweet": x_tweet("2", "Fri Feb 20 11:00:00 +0000 2026", "short", [])},
    ]
    note = ("A long post that goes on and on, with its link", ["https://example.com/full"])
    _, fast_tables, _, whole = _block_outputs(items, _reader({int(created.timestamp()): [note]}))
    assert not whole
    assert fast_tables["post"].column("text").to_pylist() == [note[0], "short"]
    assert fast_tables["link"].column("canonical_url").to_pylist() == ["https://example.com/full"]
