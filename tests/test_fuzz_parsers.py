"""Every parser, fed damaged versions of a valid export: truncated, bytes flipped, mis-encoded, fields
dropped or added, values of the wrong type. None may crash: a bad record is rejected with its member,
place and reason, a damaged member ends in :class:`MalformedInput` (quarantined by the ingest with its
place), and every record kept still fits its lake schema. Examples are bounded and derandomized.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.delivery import Delivery, UnreadableDelivery
from pipeline.schemas import RECORD_DATASETS
from pipeline.sources import FORMATS, detect_format
from pipeline.sources.base import EXCERPT_LIMIT, MalformedInput, ParseContext, Record, Rejected, SourceFormat
from tests.conftest import (
    bluesky_car,
    csv_bytes,
    facebook_post,
    instagram_post,
    mastodon_create,
    mastodon_outbox,
    meta_json,
    x_manifest,
    x_tweet,
    x_tweets_js,
    xlsx_bytes,
)
from tests.test_source_ga4_bigquery import export_events, ndjson

CONTEXT = ParseContext(www_policy="strip", landed_on=dt.date(2026, 3, 1))
EXAMPLES = 12
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)


def _tweets() -> str:
    return x_tweets_js(
        [
            {
                "tweet": x_tweet(
                    "1",
                    "Fri Feb 20 09:10:58 +0000 2026",
                    "a https://t.co/a",
                    [("https://t.co/a", "https://example.com/a")],
                )
            },
            x_tweet("2", "Mon Jan 07 12:00:00 +0000 2019", "RT @b: old", []),
        ]
    )


# format name -> (landed file name, {member: content} for a zip, or the file's bytes); the fuzzed member.
SEEDS: dict[str, tuple[str, dict[str, str | bytes] | bytes, str]] = {
    "x_archive": ("x.zip", {"data/manifest.js": x_manifest(), "data/tweets.js": _tweets()}, "data/tweets.js"),
    "facebook_posts": (
        "fb.zip",
        {
            "posts/your_posts_1.json": meta_json(
                [facebook_post(1767225600, "café https://example.com/x", link="https://example.com/y")]
            )
        },
        "posts/your_posts_1.json",
    ),
    "instagram_export": (
        "ig.zip",
        {
            "your_instagram_activity/content/posts_1.json": meta_json(
                [instagram_post(1767225600, "https://example.com/c", 2)]
            ),
            "your_instagram_activity/threads/threads_and_replies.json": meta_json(
                {
                    "text_post_app_text_posts": [
                        {"media": [{"creation_timestamp": 1767225600, "title": "t https://example.com/t"}]}
                    ]
                }
            ),
        },
        "your_instagram_activity/threads/threads_and_replies.json",
    ),
    "mastodon_outbox": (
        "m.zip",
        {
            "outbox.json": mastodon_outbox(
                [mastodon_create(1, "2026-01-05T10:00:00Z", '<p><a href="https://example.com/m">m</a></p>')]
            )
        },
        "outbox.json",
    ),
    "bluesky_car": (
        "repo.car",
        bluesky_car(
            "did:plc:abc",
            {
                "app.bsky.feed.post/3k": {
                    "$type": "app.bsky.feed.post",
                    "text": "https://example.com/b",
                    "createdAt": "2026-01-01T00:00:00Z",
                }
            },
        ),
        "repo.car",
    ),
    "tiktok_export": (
        "user_data.json",
        json.dumps(
            {
                "Video": {
                    "Videos": {
                        "VideoList": [
                            {
                                "Date": "2026-01-05 10:00:00",
                                "Link": "https://www.tiktokv.com/share/video/7321/",
                                "Likes": "1,204",
                            }
                        ]
                    }
                }
            }
        ).encode(),
        "user_data.json",
    ),
    "youtube_takeout": (
        "videos.csv",
        csv_bytes(
            [
                ["Video ID", "Video Description (Original)", "Privacy", "Video Publish Timestamp", "Tag 1"],
                ["dQw4w9WgXcQ", "https://example.com/v", "Public", "2026-01-05T17:03:11+00:00", "t"],
            ]
        ),
        "videos.csv",
    ),
    "x_post_analytics": (
        "x.csv",
        csv_bytes(
            [
                ["Post id", "Post Link", "Impressions", "Likes", "URL Clicks"],
                ["1001", "https://x.com/u/status/1001", "12,345", "20", "4"],
            ],
            bom=True,
        ),
        "x.csv",
    ),
    "meta_business_posts": (
        "meta.csv",
        csv_bytes(
            [
                ["Post ID", "Publish time", "Permalink", "Reactions", "Shares", "Views"],
                ["1_2", "07/14/2026 10:00", "https://www.facebook.com/1/posts/2", "1,200", "3", "10"],
            ],
            bom=True,
        ),
        "meta.csv",
    ),
    "linkedin_page_analytics": (
        "content.xlsx",
        xlsx_bytes(
            {
                "All posts": [
                    ["All posts data"],
                    ["Post title", "Post link", "Created date", "Impressions", "Clicks"],
                    ["t", "https://www.linkedin.com/feed/update/urn:li:activity:7", "07/14/2026", 5, 1],
                ]
            }
        ),
        "content.xlsx",
    ),
    "youtube_studio_table": (
        "Table data.csv",
        csv_bytes([["Content", "Video title", "Views"], ["Total", "", "10"], ["dQw4w9WgXcQ", "t", "10"]]),
        "Table data.csv",
    ),
    "majestic_backlinks": (
        "majestic.csv",
        csv_bytes(
            [
                [
                    "Target URL",
                    "Source URL",
                    "Anchor Text",
                    "Source Crawl Date",
                    "FlagNoFollow",
                    "SourceTrustFlow",
                ],
                ["https://example.com/", "https://o.org/p", "a", "2026-01-20", "-", "17"],
            ]
        ),
        "majestic.csv",
    ),
    "semrush_backlinks": (
        "semrush.csv",
        csv_bytes(
            [
                ["Page ascore", "Source url", "Target url", "Anchor", "Nofollow", "First seen"],
                ["3", "https://o.org/p", "https://example.com/", "a", "false", "2025-12-01"],
            ],
            bom=True,
        ),
        "semrush.csv",
    ),
    "moz_links": (
        "moz.csv",
        csv_bytes(
            [
                ["source_page", "target_page", "nofollow", "source_spam_score"],
                ["moz.com/b", "example.com/g", "true", "1"],
            ]
        ),
        "moz.csv",
    ),
    "screaming_frog_links": (
        "inlinks.csv",
        csv_bytes(
            [
                ["Type", "Source", "Destination", "Anchor", "Status Code", "Follow", "Rel"],
                ["Hyperlink", "https://o.org/", "https://example.com/", "a", "200", "true", ""],
            ],
            bom=True,
            crlf=True,
        ),
        "inlinks.csv",
    ),
    "search_console_links": (
        "links.zip",
        {
            "Latest links.csv": csv_bytes(
                [["Linking page", "Last crawled"], ["https://o.org/p", "2026-01-28"]]
            ),
            "Top linking sites.csv": csv_bytes([["Site", "Linking pages"], ["o.org", "1,240"]]),
        },
        "Latest links.csv",
    ),
    "semrush_positions": (
        "positions.csv",
        csv_bytes(
            [
                ["Keyword", "Position", "Previous position", "URL", "Timestamp"],
                ["k", "3", "5", "https://example.com/", "2026-01-15"],
            ]
        ),
        "positions.csv",
    ),
    "linkedin_shares": (
        "Shares.csv",
        csv_bytes(
            [
                ["Date", "ShareLink", "ShareCommentary", "SharedUrl", "MediaUrl", "Visibility"],
                [
                    "2025-07-01 14:33:22",
                    "https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A7",
                    '"Off https://lnkd.in/a"\n""\n"bye"',
                    "https://example.com/s",
                    "",
                    "PUBLIC",
                ],
            ]
        ),
        "Shares.csv",
    ),
    "reddit": (
        "reddit.zip",
        {
            "posts.csv": csv_bytes(
                [
                    ["id", "permalink", "date", "ip", "subreddit", "gildings", "title", "url", "body"],
                    [
                        "abc",
                        "/r/x/comments/abc/t/",
                        "2026-01-01 00:00:00 UTC",
                        "203.0.113.9",
                        "x",
                        "0",
                        "t",
                        "https://example.com/",
                        "b",
                    ],
                ]
            )
        },
        "posts.csv",
    ),
    "ahrefs_backlinks": (
        "ahrefs.csv",
        "\ufeff".encode("utf-16-le")
        + "Referring page URL\tTarget URL\tAnchor\tNofollow\tUGC\tSponsored\tFirst seen\nhttps://o.org/p\thttps://example.com/\ta\tfalse\tfalse\tfalse\t2025-12-01\n".encode(
            "utf-16-le"
        ),
        "ahrefs.csv",
    ),
    "rank_tracker_csv": (
        "ranks.csv",
        csv_bytes(
            [
                ["date", "keyword", "url", "position", "search_volume"],
                ["2026-01-01", "k", "https://example.com/", "3", "1,000"],
            ]
        ),
        "ranks.csv",
    ),
    "search_console_performance": (
        "performance.zip",
        {
            "Queries.csv": csv_bytes(
                [
                    ["Top queries", "Clicks", "Impressions", "CTR", "Position"],
                    ["k", "1,204", "30,100", "4%", "3,2"],
                ],
                delimiter=";",
            ),
            "Filters.csv": csv_bytes([["Filter", "Value"], ["Page", "https://example.com/g"]]),
        },
        "Queries.csv",
    ),
    "ga4_report_csv": (
        "download.csv",
        b"# ----\n# Property: example.com - GA4\n# Start date: 20261101\n# End date: 20261102\n\n"
        + csv_bytes(
            [
                [
                    "Date",
                    "Landing page + query string",
                    "Hostname",
                    "Session source / medium",
                    "Sessions",
                    "Engaged sessions",
                    "Average engagement time per session",
                    "Bounce rate",
                ],
                ["", "", "", "", "7", "4", "20.5", "0.43"],
                ["20261101", "/a?utm_source=x", "example.com", "t.co / referral", "4", "3", "30.5", "0.25"],
                ["20261102", "/b", "example.com", "google / organic", "3", "1", "00:00:07", "66.7%"],
            ]
        ),
        "download.csv",
    ),
    "plausible_export": (
        "plausible.zip",
        {
            "imported_sources_20261101_20261102.csv": csv_bytes(
                [
                    [
                        "date",
                        "source",
                        "referrer",
                        "utm_source",
                        "utm_medium",
                        "utm_campaign",
                        "utm_content",
                        "utm_term",
                        "pageviews",
                        "visitors",
                        "visits",
                        "visit_duration",
                        "bounces",
                    ],
                    ["2026-11-01", "Twitter", "t.co", "", "", "", "", "", "9", "4", "5", "300", "2"],
                ]
            ),
            "imported_entry_pages_20261101_20261102.csv": csv_bytes(
                [
                    ["date", "entry_page", "visitors", "entrances", "visit_duration", "bounces", "pageviews"],
                    ["2026-11-01", "https://example.com/a", "3", "4", "100", "1", "6"],
                ]
            ),
        },
        "imported_sources_20261101_20261102.csv",
    ),
    "matomo_export": (
        "Export _ Entry pages.csv",
        csv_bytes(
            [
                [
                    "date",
                    "label",
                    "nb_visits",
                    "entry_nb_visits",
                    "entry_sum_visit_length",
                    "entry_bounce_count",
                    "bounce_rate",
                    "metadata_url",
                    "idsubdatatable",
                ],
                ["2026-11-01", "/a", "9", "5", "70", "4", "80%", "https://example.com/a", ""],
                ["2026-11-01", "Others", "3", "3", "0", "3", "100%", "", ""],
                ["2026-11-02", "/b?x=1", "4", "4", "0", "0", "0%", "https://example.com/b?x=1", ""],
            ],
            bom=True,
            encoding="utf-16-le",
        ),
        "Export _ Entry pages.csv",
    ),
    "ga4_api": (
        "123456789_2026-11-01_20261102T031500000000.json",
        json.dumps(
            {
                "format": "socialrank.ga4_api/1",
                "property": "123456789",
                "date": "2026-11-01",
                "request": {"dateRanges": [{"startDate": "2026-11-01", "endDate": "2026-11-01"}]},
                "responses": [
                    {
                        "dimensionHeaders": [
                            {"name": name}
                            for name in (
                                "date",
                                "landingPagePlusQueryString",
                                "sessionSource",
                                "sessionMedium",
                                "sessionDefaultChannelGroup",
                                "hostName",
                            )
                        ],
                        "metricHeaders": [
                            {"name": "sessions", "type": "TYPE_INTEGER"},
                            {"name": "engagedSessions", "type": "TYPE_INTEGER"},
                            {"name": "averageSessionDuration", "type": "TYPE_SECONDS"},
                            {"name": "bounceRate", "type": "TYPE_FLOAT"},
                        ],
                        "rows": [
                            {
                                "dimensionValues": [
                                    {"value": value}
                                    for value in (
                                        "20261101",
                                        "/a?x=1",
                                        "t.co",
                                        "referral",
                                        "Organic Social",
                                        "example.com",
                                    )
                                ],
                                "metricValues": [{"value": value} for value in ("4", "3", "30.5", "0.25")],
                            },
                            {
                                "dimensionValues": [
                                    {"value": value}
                                    for value in (
                                        "20261101",
                                        "(not set)",
                                        "(direct)",
                                        "(none)",
                                        "Direct",
                                        "example.com",
                                    )
                                ],
                                "metricValues": [{"value": value} for value in ("2", "0", "0", "1")],
                            },
                        ],
                        "rowCount": 2,
                        "kind": "analyticsData#runReport",
                    }
                ],
            }
        ).encode(),
        "123456789_2026-11-01_20261102T031500000000.json",
    ),
    "ga4_bigquery_export": ("events_20261101.ndjson", ndjson(export_events()), "events_20261101.ndjson"),
}


def _json_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            paths.extend(_json_paths(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths.extend(_json_paths(item, (*path, index)))
    return paths


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def json_mutation(draw: st.DrawFn, text: str) -> bytes:
    """Drop a field, add one, or give one a value of another type; keep a ``window.X =`` prefix."""
    prefix, equals, body = text.partition("=") if text.startswith(("window.", "var ")) else ("", "", text)
    document = json.loads(body)
    for _ in range(draw(st.integers(1, 3))):
        paths = _json_paths(document)
        path = draw(st.sampled_from(paths[1:] or paths))
        operation = draw(st.sampled_from(["drop", "retype", "add"]))
        if not path:
            document = draw(JSON_VALUES)
            continue
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        if operation == "drop":
            del parent[path[-1]]
        elif operation == "retype":
            parent[path[-1]] = draw(JSON_VALUES)
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(JSON_VALUES)
        else:
            parent.append(draw(JSON_VALUES))
    return (
        (prefix + equals + " " + json.dumps(document, indent=2)).encode()
        if equals
        else json.dumps(document).encode()
    )


@st.composite
def csv_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    """Rows with cells dropped or added, cells replaced by text with quotes, separators and newlines."""
    text = data.decode("utf-8-sig")
    delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    for _ in range(draw(st.integers(1, 3))):
        row = rows[draw(st.integers(0, len(rows) - 1))]
        operation = draw(st.sampled_from(["drop", "add", "replace"]))
        cell_text = draw(
            st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
            | st.sampled_from(['"', "\n", ";,", "1.2.3", "-5", "9" * 30])
        )
        if operation == "drop" and row:
            row.pop(draw(st.integers(0, len(row) - 1)))
        elif operation == "add":
            row.append(cell_text)
        elif row:
            row[draw(st.integers(0, len(row) - 1))] = cell_text
    return csv_bytes(rows, delimiter=delimiter)


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    operation = draw(st.sampled_from(["truncate", "flip", "insert", "reencode"]))
    if operation == "truncate":
        return data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    if operation == "reencode":
        encoding = draw(st.sampled_from(["utf-16", "utf-16-le", "cp1252", "latin-1"]))
        return data.decode("utf-8", errors="replace").encode(encoding, errors="replace")
    position = draw(st.integers(0, len(data)))
    junk = draw(st.binary(min_size=1, max_size=16))
    if operation == "insert":
        return data[:position] + junk + data[position:]
    return data[:position] + junk + data[position + len(junk) :]


@st.composite
def ndjson_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    """One line of newline-delimited JSON mutated as a document of its own; the other lines kept."""
    lines = data.splitlines(keepends=True)
    index = draw(st.integers(0, len(lines) - 1))
    lines[index] = draw(json_mutation(lines[index].decode("utf-8"))) + b"\n"
    return b"".join(lines)


def mutations(data: bytes, member: str) -> st.SearchStrategy[bytes]:
    structured: list[st.SearchStrategy[bytes]] = []
    if member.endswith(".ndjson"):
        structured.append(ndjson_mutation(data))
    elif member.endswith((".js", ".json")):
        structured.append(json_mutation(data.decode("utf-8")))
    elif member.endswith(".csv") and not data.startswith(b"\xff\xfe"):
        structured.append(csv_mutation(data))
    return st.one_of(byte_mutation(data), *structured)


def _land(
    tmp_path: Path, name: str, content: dict[str, str | bytes] | bytes, member: str, damaged: bytes
) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(damaged)
        return path
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member_name, data in content.items():
            archive.writestr(member_name, damaged if member_name == member else data)
    path.write_bytes(buffer.getvalue())
    return path


def survive(source_format: SourceFormat, path: Path) -> list[Record]:
    """Detect and parse as the ingest does; anything but a clean rejection is a crash."""
    delivery = Delivery(path)
    records: list[Record] = []
    try:
        detect_format(delivery)
        for item in source_format.parse(delivery, CONTEXT):
            if isinstance(item, Rejected):
                assert item.member and item.location and item.reason
                assert item.excerpt is None or len(item.excerpt) <= EXCERPT_LIMIT + 20
            elif isinstance(item, Record):
                records.append(item)
    except MalformedInput as exc:
        assert exc.member and exc.location and exc.reason
    except UnreadableDelivery:
        pass
    finally:
        delivery.close()
    for kind in {record.kind for record in records}:
        rows = [
            {**record.row, "delivery_id": "d", "source_file": "f"}
            for record in records
            if record.kind == kind
        ]
        pa.Table.from_pylist(rows, schema=RECORD_DATASETS[kind].schema)
    return records


FORMAT_BY_NAME = {source_format.name: source_format for source_format in FORMATS}


def _fuzz_test(format_name: str) -> Callable[..., None]:
    file_name, content, member = SEEDS[format_name]
    seed = content if isinstance(content, bytes) else content[member]
    seed_bytes = seed if isinstance(seed, bytes) else seed.encode()

    @FUZZ
    @given(damaged=mutations(seed_bytes, member))
    def run(tmp_path_factory: pytest.TempPathFactory, damaged: bytes) -> None:
        path = _land(tmp_path_factory.mktemp(format_name), file_name, content, member, damaged)
        survive(FORMAT_BY_NAME[format_name], path)

    return run


@pytest.mark.parametrize("format_name", sorted(SEEDS))
def test_the_seed_parses_cleanly(tmp_path: Path, format_name: str) -> None:
    """The undamaged seed is recognised as its format and yields records: fuzzing starts from valid input."""
    file_name, content, member = SEEDS[format_name]
    seed = content if isinstance(content, bytes) else content[member]
    path = _land(tmp_path, file_name, content, member, seed if isinstance(seed, bytes) else seed.encode())
    delivery = Delivery(path)
    try:
        assert getattr(detect_format(delivery), "name", None) == format_name
    finally:
        delivery.close()
    assert survive(FORMAT_BY_NAME[format_name], path)


# Responses the Search Console API client stores (issue 5) are fuzzed with that client's own tests; the GA4
# client's stored responses have a seed here.
FUZZED_ELSEWHERE = frozenset({"search_console_api"})


def test_every_format_has_a_seed() -> None:
    assert set(FORMAT_BY_NAME) - FUZZED_ELSEWHERE == set(SEEDS)


for _name in SEEDS:
    globals()[f"test_fuzz_{_name}"] = _fuzz_test(_name)


def test_the_ingest_quarantines_bad_records_with_place_and_redacted_excerpts(tmp_path: Path) -> None:
    """Through the real ingest: counts per file in the ledger, places and reasons in the quarantine,
    and no e-mail address, IP address or phone number in what the quarantine keeps."""
    from zoneinfo import ZoneInfo

    import duckdb

    from pipeline.config import DataRoot, Settings
    from pipeline.ingest import run_ingest

    data = DataRoot(tmp_path / "data")
    data.ensure()
    settings = Settings(data=data, owned_sites=("example.com",), timezone=ZoneInfo("UTC"))
    good = json.loads(_tweets().split("=", 1)[1])
    private = {
        "tweet": {"id_str": "x1", "full_text": "mail dana@example.org from 203.0.113.9 or +1 555 010 0199"}
    }
    text = "window.YTD.tweets.part0 = " + json.dumps([good[0], private, *good], indent=2)
    landing = data.landing / "social" / "x"
    landing.mkdir(parents=True)
    cut = text.rindex('"RT @b')  # inside the last item: a truncated download
    (landing / "archive.zip").write_bytes(
        _zip({"data/manifest.js": x_manifest(), "data/tweets.js": text[:cut]})
    )
    report = run_ingest(settings)
    (result,) = report.results
    assert (result.status, result.read, result.kept, result.quarantined) == ("ingested", 4, 2, 2)
    rows = duckdb.sql(
        "SELECT member, location, reason, excerpt FROM read_parquet(?) ORDER BY location",
        params=[str(data.lake / "quarantined_records" / "**" / "*.parquet")],
    ).fetchall()
    last_item_line = text[:cut].rindex("\n  {") + 1
    assert (
        [(member, location) for member, location, _, _ in rows]
        == [
            (
                "data/tweets.js",
                f"item 1 at line {text[: text.index('x1')].count(chr(10)) - 1}",
            ),  # its opening brace
            ("data/tweets.js", f"line {text[:last_item_line].count(chr(10)) + 1}"),
        ]
    )
    assert "truncated" in rows[1][2]
    kept = repr(rows)
    for secret in ("dana@example.org", "203.0.113.9", "555 010 0199"):
        assert secret not in kept
    assert "<email>" in kept and "<ip>" in kept
    ledger = duckdb.sql(
        "SELECT records_read, records_kept, records_quarantined FROM read_parquet(?)",
        params=[str(data.lake / "ingest_ledger" / "**" / "*.parquet")],
    ).fetchall()
    assert ledger == [(4, 2, 2)]


def _zip(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


ISOLATED_FORMATS = (
    "x_archive",
    "bluesky_car",
    "linkedin_page_analytics",
    "rank_tracker_csv",
    "facebook_posts",
)


@pytest.mark.parametrize("format_name", ISOLATED_FORMATS)
def test_fuzzed_deliveries_through_the_worker_isolation(
    tmp_path_factory: pytest.TempPathFactory, format_name: str
) -> None:
    """Damaged deliveries ingested for real, each in its parse worker beside a good one: whatever the
    damage, the run ends, the good delivery is ingested and the damaged one is ingested, or quarantined
    or reported empty (cut to nothing) with a reason; nothing escapes the worker."""
    from zoneinfo import ZoneInfo

    from pipeline.config import DataRoot, Settings
    from pipeline.ingest import run_ingest

    file_name, content, member = SEEDS[format_name]
    seed = content if isinstance(content, bytes) else content[member]
    seed_bytes = seed if isinstance(seed, bytes) else seed.encode()

    @settings(
        max_examples=6,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(damaged=mutations(seed_bytes, member))
    def run(damaged: bytes) -> None:
        data = DataRoot(tmp_path_factory.mktemp(format_name) / "data")
        data.ensure()
        ingest_settings = Settings(data=data, owned_sites=("example.com",), timezone=ZoneInfo("UTC"))
        landed = data.landing / "fuzzed" / format_name
        landed.mkdir(parents=True)
        _land(landed, file_name, content, member, damaged)
        good = data.landing / "rankings" / "tracker" / "good.csv"
        good.parent.mkdir(parents=True)
        good.write_text("date,keyword,url,position\n2026-01-01,kw,https://example.com/a,3\n")
        results = {result.landing_path: result for result in run_ingest(ingest_settings).results}
        assert (results.pop("rankings/tracker/good.csv").kept, len(results)) == (1, 1)
        (fuzzed,) = results.values()
        assert fuzzed.status in ("ingested", "quarantined", "empty")
        assert fuzzed.status == "ingested" or fuzzed.message

    run()
