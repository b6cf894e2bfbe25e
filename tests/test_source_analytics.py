from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from pipeline import warehouse
from pipeline.config import Settings
from pipeline.ingest import run_ingest
from pipeline.sources.base import ParseContext
from tests.conftest import (
    csv_bytes,
    of_kind,
    parse_all,
    write_zip,
    x_manifest,
    x_tweet,
    x_tweets_js,
    xls_bytes,
    xlsx_bytes,
)

X_CURRENT = [
    [
        "Post id",
        "Date",
        "Post text",
        "Post Link",
        "Impressions",
        "Likes",
        "Engagements",
        "Bookmarks",
        "Shares",
        "New follows",
        "Replies",
        "Reposts",
        "Profile visits",
        "Detail Expands",
        "URL Clicks",
        "Hashtag Clicks",
        "Permalink Clicks",
    ],
    [
        "1001",
        "Tue, Jul 14, 2026",
        "Our guide",
        "https://x.com/demo_user/status/1001",
        "12,345",
        "20",
        "80",
        "1",
        "2",
        "0",
        "3",
        "4",
        "5",
        "6",
        "42",
        "0",
        "1",
    ],
    [
        "1002",
        "Wed, Jul 15, 2026",
        "bad",
        "https://x.com/demo_user/status/1002",
        "lots",
        "1",
        "1",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
    ],
]
X_OLD = [
    [
        "Tweet id",
        "Tweet permalink",
        "Tweet text",
        "time",
        "impressions",
        "engagements",
        "engagement rate",
        "retweets",
        "replies",
        "likes",
        "user profile clicks",
        "url clicks",
        "hashtag clicks",
        "detail expands",
    ],
    [
        "990",
        "https://twitter.com/demo_user/status/990",
        "old",
        "2019-05-01 12:34 +0000",
        "1500.0",
        "30",
        "0.02",
        "2",
        "1",
        "9",
        "0",
        "7",
        "0",
        "3",
    ],
]


def test_x_post_analytics_current_and_tweet_activity(tmp_path: Path, context: ParseContext) -> None:
    current = tmp_path / "account_analytics_content_2026-07-01_2026-07-31.csv"
    current.write_bytes(csv_bytes(X_CURRENT, bom=True))
    name, records, rejected = parse_all(current, context)
    assert name == "x_post_analytics"
    assert of_kind(records, "engagement") == [
        {
            "platform": "x",
            "post_id": "1001",
            "permalink": "https://x.com/demo_user/status/1001",
            "snapshot_date": context.landed_on,
            "likes": 20,
            "reposts": 4,
            "replies": 3,
            "impressions": 12345,
            "clicks": 42,
            "views": None,
            "shares": 2,
        }
    ]
    assert [(item.location, item.reason.split(" (")[0]) for item in rejected] == [
        ("line 3", "unreadable count")
    ]

    old = tmp_path / "tweet_activity_metrics_demo_user_20190501_20190531_en.csv"
    old.write_bytes(csv_bytes(X_OLD))
    name, records, _ = parse_all(old, context)
    assert name == "x_post_analytics"
    row = of_kind(records, "engagement")[0]
    assert (
        row["post_id"],
        row["permalink"],
        row["impressions"],
        row["likes"],
        row["reposts"],
        row["clicks"],
    ) == (
        "990",
        "https://twitter.com/demo_user/status/990",
        1500,
        9,
        2,
        7,
    )


META_FACEBOOK = [
    [
        "Post ID",
        "Page ID",
        "Page name",
        "Title",
        "Description",
        "Duration (sec)",
        "Publish time",
        "Caption type",
        "Permalink",
        "Is crosspost",
        "Is share",
        "Post type",
        "Languages",
        "Custom labels",
        "Funded content status",
        "Data comment",
        "Date",
        "Reactions, Comments and Shares",
        "Reactions",
        "Comments",
        "Shares",
        "Total clicks",
        "Link clicks",
        "Other Clicks",
        "Views",
        "Reach",
    ],
    [
        "123_456",
        "123",
        "Demo Café",
        "",
        "Our guide https://example.com/guide",
        "",
        "07/14/2026 10:00",
        "",
        "https://www.facebook.com/123/posts/456",
        "No",
        "No",
        "Links",
        "",
        "",
        "",
        "",
        "Lifetime",
        "1,250",
        "1,200",
        "30",
        "20",
        "310",
        "250",
        "60",
        "10,400",
        "8,000",
    ],
    [
        "Total",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "1200",
        "30",
        "20",
        "",
        "",
        "",
        "",
        "",
    ],
]
META_INSTAGRAM_DE = [
    [
        "Beitrags-ID",
        "Konto-ID",
        "Kontoname",
        "Beschreibung",
        "Veröffentlichungszeitpunkt",
        "Permalink",
        "Beitragstyp",
        "Aufrufe",
        "Reichweite",
        "„Gefällt mir“-Angaben",
        "Geteilte Inhalte",
        "Follows",
        "Kommentare",
        "Gespeicherte Inhalte",
    ],
    [
        "17900000000000001",
        "9",
        "democafe",
        "Neu",
        "14.07.2026 10:00",
        "https://www.instagram.com/p/Cabc123/",
        "IG-Bild",
        "2.400",
        "1.900",
        "310",
        "12",
        "1",
        "8",
        "40",
    ],
]


def test_meta_business_suite_facebook_and_a_localised_instagram_export(
    tmp_path: Path, context: ParseContext
) -> None:
    facebook = tmp_path / "Jul-14-2026_Aug-14-2026_123.csv"
    facebook.write_bytes(csv_bytes(META_FACEBOOK, bom=True))
    name, records, rejected = parse_all(facebook, context)
    assert name == "meta_business_posts" and rejected == []
    (row,) = of_kind(records, "engagement")  # the Total row is skipped
    assert (row["platform"], row["post_id"], row["permalink"]) == (
        "facebook",
        "123_456",
        "https://facebook.com/123/posts/456",
    )
    assert (row["likes"], row["replies"], row["shares"], row["clicks"], row["views"]) == (
        1200,
        30,
        20,
        250,
        10400,
    )

    instagram = tmp_path / "instagram.csv"
    instagram.write_bytes(csv_bytes(META_INSTAGRAM_DE, delimiter=";", bom=True))
    name, records, rejected = parse_all(instagram, context)
    assert name == "meta_business_posts" and rejected == []
    (row,) = of_kind(records, "engagement")
    assert (row["platform"], row["post_id"], row["permalink"]) == (
        "instagram",
        "17900000000000001",
        "https://instagram.com/p/Cabc123/",
    )
    assert (row["views"], row["likes"], row["shares"], row["replies"]) == (2400, 310, 12, 8)


LINKEDIN_ALL_POSTS: list[list[object]] = [
    [
        "All posts data for Demo Café from Jul 1, 2026 to Jul 31, 2026. "
        "Data for individual posts may be updated."
    ],
    [
        "Post title",
        "Post link",
        "Post type",
        "Campaign name",
        "Posted by",
        "Created date",
        "Campaign start date",
        "Campaign end date",
        "Audience",
        "Impressions",
        "Views (excluding off-site video views)",
        "Off-site views",
        "Clicks",
        "Click through rate (CTR)",
        "Likes",
        "Comments",
        "Reposts",
        "Follows",
        "Engagement rate",
        "Content Type",
    ],
    [
        "Our guide",
        "https://www.linkedin.com/feed/update/urn:li:activity:7345821826846990338",
        "Organic",
        "",
        "Dana",
        "07/14/2026",
        "",
        "",
        "All followers",
        5210,
        0,
        0,
        120,
        0.023,
        64,
        5,
        3,
        0,
        0.04,
        "Article",
    ],
    [
        "No link",
        "",
        "Organic",
        "",
        "Dana",
        "07/15/2026",
        "",
        "",
        "All followers",
        10,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        "Text",
    ],
]


@pytest.mark.parametrize("kind", ["xls", "xlsx"])
def test_linkedin_page_analytics_spreadsheet_with_a_description_row(
    tmp_path: Path, context: ParseContext, kind: str
) -> None:
    sheets: dict[str, list[list[object]]] = {
        "Metrics": [["Aggregated metrics"], ["Date", "Impressions"], ["07/14/2026", 5]],
        "All posts": LINKEDIN_ALL_POSTS,
    }
    path = tmp_path / f"democafe_content_1720000000000.{kind}"
    path.write_bytes(xls_bytes(sheets) if kind == "xls" else xlsx_bytes(sheets))
    name, records, rejected = parse_all(path, context)
    assert name == "linkedin_page_analytics"
    (row,) = of_kind(records, "engagement")
    assert (
        row["post_id"],
        row["impressions"],
        row["clicks"],
        row["likes"],
        row["replies"],
        row["reposts"],
    ) == (
        "7345821826846990338",
        5210,
        120,
        64,
        5,
        3,
    )
    assert row["permalink"] == "https://linkedin.com/feed/update/urn:li:activity:7345821826846990338"
    assert [(item.location, item.reason) for item in rejected] == [
        ("sheet 'All posts' row 4", "no post id and no permalink")
    ]


def test_youtube_studio_table_data_skips_the_total_row(tmp_path: Path, context: ParseContext) -> None:
    table = [
        [
            "Content",
            "Video title",
            "Video publish time",
            "Duration",
            "Views",
            "Watch time (hours)",
            "Subscribers",
            "Likes",
            "Comments added",
            "Shares",
            "Impressions",
            "Impressions click-through rate (%)",
        ],
        ["Total", "", "", "", "10,500", "300.5", "12", "420", "33", "9", "120,000", "4.1"],
        [
            "dQw4w9WgXcQ",
            "Guide",
            "Jul 14, 2026",
            "212",
            "10,000",
            "280.1",
            "11",
            "400",
            "30",
            "8",
            "100,000",
            "4.5",
        ],
        ["abcdefghijk", "Short", "Jul 15, 2026", "30", "500", "20.4", "1", "20", "3", "1", "20,000", "2.5"],
    ]
    archive = write_zip(
        tmp_path / "Content 2026-07-01_2026-07-31 Demo.zip",
        {"Table data.csv": csv_bytes(table), "Chart data.csv": "Date,Views\n2026-07-14,10\n"},
    )
    name, records, rejected = parse_all(archive, context)
    assert name == "youtube_studio_table" and rejected == []
    rows = of_kind(records, "engagement")
    assert [
        (row["post_id"], row["views"], row["likes"], row["replies"], row["shares"], row["impressions"])
        for row in rows
    ] == [
        ("dQw4w9WgXcQ", 10000, 400, 30, 8, 100000),
        ("abcdefghijk", 500, 20, 3, 1, 20000),
    ]
    assert rows[0]["permalink"] == "https://youtube.com/watch?v=dQw4w9WgXcQ"


def test_engagement_joins_posts_by_id_or_permalink_in_the_warehouse(settings: Settings) -> None:
    """An archive gives likes; analytics exports give impressions, by id or only by permalink."""
    landing = settings.data.landing
    tweets: list[object] = [
        {
            "tweet": x_tweet(
                "1001",
                "Fri Feb 20 09:10:58 +0000 2026",
                "guide https://t.co/a",
                [("https://t.co/a", "https://example.com/guide")],
                likes="20",
            )
        },
        {
            "tweet": x_tweet(
                "1002",
                "Fri Feb 20 10:10:58 +0000 2026",
                "other https://t.co/b",
                [("https://t.co/b", "https://example.com/other")],
                likes="5",
            )
        },
    ]
    write_zip(
        landing / "social/x/archive.zip",
        {"data/manifest.js": x_manifest(), "data/tweets.js": x_tweets_js(tweets)},
    )
    by_id = [
        X_CURRENT[0],
        ["1001", "Fri, Feb 20, 2026", "guide", "", "900", "", "", "", "", "", "", "", "", "", "17", "", ""],
    ]
    (landing / "analytics/x").mkdir(parents=True)
    (landing / "analytics/x/by_id.csv").write_bytes(csv_bytes(by_id))
    by_permalink = [
        X_OLD[0],
        [
            "n/a",
            "https://x.com/demo_user/status/1002",
            "other",
            "2026-02-20 10:10 +0000",
            "300",
            "",
            "",
            "",
            "",
            "",
            "",
            "4",
            "",
            "",
        ],
    ]
    (landing / "analytics/x/activity.csv").write_bytes(csv_bytes(by_permalink))
    report = run_ingest(settings)
    assert {r.format for r in report.results} == {"x_archive", "x_post_analytics"}
    built = warehouse.build(settings, dt.date.today())
    con = duckdb.connect(str(built.path), read_only=True)
    try:
        rows = con.sql(
            "SELECT canonical_url, posts, likes, impressions, clicks FROM core.engagement_daily ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    assert rows == [
        ("https://example.com/guide", 1, 20, 900, 17),
        ("https://example.com/other", 1, 5, 300, 4),
    ]
