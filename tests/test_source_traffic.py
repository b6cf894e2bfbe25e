"""Web-analytics traffic: GA4 report downloads and Plausible's CSV export, on fixtures in the shapes the
tools write (field names as GA4's interface and Plausible's CSV documentation give them), and
core.traffic_daily built from them through the one referral classification."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

import duckdb
import pytest

from pipeline import warehouse
from pipeline.config import ConfigError, Settings, TrafficSettings, load_settings
from pipeline.ingest import run_ingest
from pipeline.inspect_export import inspect_path
from pipeline.schemas import TRAFFIC_SESSIONS
from pipeline.sources.base import ParseContext
from tests.conftest import (
    csv_bytes,
    mastodon_create,
    mastodon_outbox,
    of_kind,
    parse_all,
    write_delivery_rows,
    write_zip,
)

GA4_PREAMBLE = (
    "# ----------------------------------------\n"
    "# Traffic acquisition: Session source / medium\n"
    "# Account: Example Co, Inc\n"
    "# Property: example.com - GA4\n"
    "# ----------------------------------------\n"
    "#\n"
    "# All Users\n"
    "# Start date: {start}\n"
    "# End date: {end}\n"
    "# ----------------------------------------\n"
    "\n"
)
GA4_HEADER = [
    "Date",
    "Landing page + query string",
    "Session source / medium",
    "Sessions",
    "Engaged sessions",
    "Average engagement time per session",
    "Bounce rate",
]


def ga4_download(
    rows: list[list[str]], start: str = "20261101", end: str = "20261103", header: list[str] | None = None
) -> bytes:
    """A GA4 report as Download file > CSV writes it: the preamble, the chart's series, then the table
    with its totals row."""
    header = header or GA4_HEADER
    chart = csv_bytes([["Nth day", "Sessions"], ["0000", "50"], ["0001", "7"]])
    totals = ["", "", "", "57", "40", "41.2", "0.29"] + [""] * (len(header) - len(GA4_HEADER))
    table = csv_bytes([header, totals, *rows])
    return GA4_PREAMBLE.format(start=start, end=end).encode() + chart + b"\n" + table


def context(*sites: str) -> ParseContext:
    return ParseContext("strip", dt.date(2026, 11, 5), owned_sites=sites or ("example.com",))


def test_ga4_download_rows_with_its_preamble_chart_block_and_totals_row(tmp_path: Path) -> None:
    path = tmp_path / "download (3).csv"
    path.write_bytes(
        ga4_download(
            [
                ["20261101", "/blog/boots/", "t.co / referral", "12", "8", "55.25", "0.3333"],
                [
                    "20261101",
                    "/blog/boots/?utm_source=x&fbclid=1",
                    "google / organic",
                    "30",
                    "20",
                    "40",
                    "0.25",
                ],
                ["20261102", "(not set)", "(direct) / (none)", "4", "1", "3", "0.75"],
                ["20261102", "/blog/tents/", "lnkd.in / referral", "many", "1", "3", "0.75"],
                ["20261103", "/blog/tents/", "l.facebook.com / referral", "11", "11", "00:01:05", "0"],
            ]
        )
    )
    name, records, rejected = parse_all(path, context())
    assert name == "ga4_report_csv"
    rows = of_kind(records, "traffic")
    assert [
        (r["traffic_date"], r["canonical_url"], r["session_source"], r["session_medium"], r["sessions"])
        for r in rows
    ] == [
        (dt.date(2026, 11, 1), "https://example.com/blog/boots/", "t.co", "referral", 12),
        (dt.date(2026, 11, 1), "https://example.com/blog/boots/", "google", "organic", 30),
        (dt.date(2026, 11, 2), None, "(direct)", "(none)", 4),
        (dt.date(2026, 11, 3), "https://example.com/blog/tents/", "l.facebook.com", "referral", 11),
    ]
    first = rows[0]
    assert (first["format"], first["tool"], first["property"]) == (
        "ga4_report_csv",
        "ga4",
        "example.com - GA4",
    )
    assert (first["engaged_sessions"], first["average_engagement_time"], first["bounce_rate"]) == (
        8,
        55.25,
        0.3333,
    )
    assert first["average_session_duration"] is None  # engagement time is not session duration
    assert (
        rows[1]["landing_page"] == "/blog/boots/?utm_source=x&fbclid=1"
    )  # as reported; the URL is canonical
    assert rows[3]["average_engagement_time"] == 65.0
    # The malformed row is quarantined alone, with its line; the totals row is no record and no damage.
    assert [(item.location, item.reason) for item in rejected] == [("line 21", "not a count: 'many'")]


def test_localised_download_with_semicolons_and_decimal_commas(tmp_path: Path) -> None:
    """GA4's German interface: its column names, a file saved with ';', '1.200' and '67,8 %'."""
    header = [
        "Datum",
        "Landingpage + Abfragestring",
        "Sitzungsquelle",
        "Sitzung – primäre Channelgruppe (Standard-Channelgruppe)",
        "Sitzungen",
        "Sitzungen mit Interaktionen",
        "Durchschnittliche Interaktionsdauer pro Sitzung",
        "Absprungrate",
    ]
    path = tmp_path / "bericht.csv"
    path.write_bytes(
        b"# Property: Demo\n"
        + csv_bytes(
            [
                header,
                [
                    "20261101",
                    "/de/ratgeber?campaign=a",
                    "google",
                    "Organic Search",
                    "1.200",
                    "700",
                    "83,5",
                    "41,7 %",
                ],
                ["20261101", "/de/ratgeber", "linkedin.com", "Organic Social", "59", "40", "12", "32,2%"],
            ],
            delimiter=";",
            bom=True,
        )
    )
    name, records, rejected = parse_all(path, context())
    assert (name, rejected) == ("ga4_report_csv", [])
    assert [
        (r["canonical_url"], r["session_source"], r["channel_group"], r["sessions"], r["engaged_sessions"])
        for r in of_kind(records, "traffic")
    ] == [
        ("https://example.com/de/ratgeber?campaign=a", "google", "Organic Search", 1200, 700),
        ("https://example.com/de/ratgeber", "linkedin.com", "Organic Social", 59, 40),
    ]
    first = of_kind(records, "traffic")[0]
    assert first["average_engagement_time"] == 83.5
    assert first["bounce_rate"] == pytest.approx(0.417)


def test_a_table_without_days_is_not_daily_traffic_unless_the_report_covers_one_day(tmp_path: Path) -> None:
    header = ["Landing page", "Sessions"]
    over_a_month = tmp_path / "month.csv"
    over_a_month.write_bytes(
        GA4_PREAMBLE.format(start="20261101", end="20261130").encode() + csv_bytes([header, ["/a", "3"]])
    )
    name, records, rejected = parse_all(over_a_month, context())
    assert (name, records) == ("ga4_report_csv", [])
    assert (
        len(rejected) == 1
        and "without the Date dimension over 2026-11-01 to 2026-11-30" in rejected[0].reason
    )
    one_day = tmp_path / "day.csv"
    one_day.write_bytes(
        GA4_PREAMBLE.format(start="20261104", end="20261104").encode() + csv_bytes([header, ["/a", "3"]])
    )
    _, records, rejected = parse_all(one_day, context())
    assert rejected == []
    assert [(r["traffic_date"], r["sessions"]) for r in of_kind(records, "traffic")] == [
        (dt.date(2026, 11, 4), 3)
    ]


def test_a_path_is_on_the_exports_hostname_or_the_one_owned_site_never_a_guessed_one(tmp_path: Path) -> None:
    rows = [["20261101", "/a", "t.co / referral", "3", "1", "2", "0.5"]]
    path = tmp_path / "ga4.csv"
    path.write_bytes(ga4_download(rows))
    _, records, rejected = parse_all(path, context("example.com", "shop.example"))
    assert records == [] and "names no hostname and 2 owned sites are configured" in rejected[0].reason
    with_host = tmp_path / "with-host.csv"
    with_host.write_bytes(ga4_download([[*rows[0], "shop.example"]], header=[*GA4_HEADER, "Hostname"]))
    _, records, rejected = parse_all(with_host, context("example.com", "shop.example"))
    assert rejected == []
    assert [r["canonical_url"] for r in of_kind(records, "traffic")] == ["https://shop.example/a"]


PLAUSIBLE_SOURCES = [
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
    ["2026-11-01", "Google", "google.com", "", "", "", "", "", "70", "23", "25", "8249", "13"],
    ["2026-11-01", "newsletter", "", "newsletter", "email", "", "", "", "3", "2", "2", "0", "2"],
    ["2026-11-02", "Twitter", "t.co", "", "", "", "", "", "1", "1", "1", "0", "4"],
]
PLAUSIBLE_ENTRY_PAGES = [
    ["date", "entry_page", "visitors", "entrances", "visit_duration", "bounces", "pageviews"],
    ["2026-11-01", "/blog/boots/", "28", "30", "3600", "12", "64"],
    ["2026-11-01", "/", "0", "0", "0", "0", "0"],
]
PLAUSIBLE_VISITORS = [
    ["date", "visitors", "pageviews", "bounces", "visits", "visit_duration"],
    ["2026-11-01", "119", "304", "77", "134", "21070"],
]


def plausible_zip(path: Path) -> Path:
    return write_zip(
        path,
        {
            "imported_sources_20261101_20261102.csv": csv_bytes(PLAUSIBLE_SOURCES),
            "imported_entry_pages_20261101_20261102.csv": csv_bytes(PLAUSIBLE_ENTRY_PAGES),
            "imported_visitors_20261101_20261102.csv": csv_bytes(PLAUSIBLE_VISITORS),
        },
    )


def test_plausible_export_each_table_at_its_own_grain(tmp_path: Path) -> None:
    name, records, rejected = parse_all(plausible_zip(tmp_path / "export.zip"), context())
    assert name == "plausible_export"
    rows = of_kind(records, "traffic")
    assert [
        (r["traffic_date"], r["canonical_url"], r["session_source"], r["session_medium"], r["sessions"])
        for r in rows
    ] == [
        (dt.date(2026, 11, 1), None, "t.co", None, 5),
        (dt.date(2026, 11, 1), None, "google.com", None, 25),
        (dt.date(2026, 11, 1), None, "newsletter", "email", 2),
        (dt.date(2026, 11, 1), "https://example.com/blog/boots/", None, None, 30),
        (dt.date(2026, 11, 1), "https://example.com/", None, None, 0),
    ]
    twitter, boots, empty = rows[0], rows[3], rows[4]
    assert (twitter["average_session_duration"], twitter["bounce_rate"], twitter["engaged_sessions"]) == (
        60.0,
        0.4,
        None,
    )
    assert (boots["average_session_duration"], boots["bounce_rate"], boots["tool"]) == (
        120.0,
        0.4,
        "plausible",
    )
    assert (empty["average_session_duration"], empty["bounce_rate"]) == (None, None)  # no visit, no average
    assert [(item.member, item.location, item.reason) for item in rejected] == [
        ("imported_sources_20261101_20261102.csv", "line 5", "bounces 4 outside 0..1 visits")
    ]


def test_detected_from_content_whatever_the_names(tmp_path: Path) -> None:
    ga4 = tmp_path / "Plausible.csv"
    ga4.write_bytes(ga4_download([["20261101", "/a", "t.co / referral", "3", "1", "2", "0.5"]]))
    plausible = write_zip(tmp_path / "ga4-report.zip", {"table.csv": csv_bytes(PLAUSIBLE_ENTRY_PAGES)})
    assert parse_all(ga4, context())[0] == "ga4_report_csv"
    assert parse_all(plausible, context())[0] == "plausible_export"


def test_inspect_counts_traffic(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "ga4.csv"
    path.write_bytes(ga4_download([["20261101", "/a", "t.co / referral", "3", "1", "2", "0.5"]]))
    result = inspect_path(settings, path)
    assert (result["format"], result["traffic"], result["skipped"], result["quarantined"]) == (
        "ga4_report_csv",
        1,
        1,
        0,
    )


def _land(settings: Settings, relative: str, content: bytes, landed: dt.datetime) -> None:
    path = settings.data.landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, (landed.timestamp(), landed.timestamp()))


def test_traffic_daily_classifies_sources_and_weights_averages_by_sessions(settings: Settings) -> None:
    settings = dataclasses.replace(
        settings, traffic=TrafficSettings(social_hosts=(("mstdn.example", "mastodon"),))
    )
    first = dt.datetime(2026, 11, 4, tzinfo=dt.UTC)
    boots = "/blog/boots/"
    _land(
        settings,
        "traffic/ga4/early.csv",
        ga4_download(
            [
                ["20261101", boots, "t.co / referral", "10", "5", "30", "0.5"],
                ["20261101", boots + "?utm_campaign=a", "x.com / referral", "30", "27", "70", "0.1"],
                ["20261101", boots, "l.facebook.com / referral", "4", "2", "10", "0.5"],
                ["20261101", boots, "facebook / cpc", "6", "3", "10", "0.5"],
                ["20261101", boots, "google / organic", "50", "25", "20", "0.5"],
                ["20261101", boots, "mstdn.example / referral", "2", "2", "20", "0"],
                ["20261101", boots, "social.example / referral", "1", "1", "20", "0"],
                ["20261101", boots, "lnkd.in / referral", "3", "1", "20", "0.6667"],
                ["20261102", boots, "t.co / referral", "99", "50", "30", "0.5"],
            ]
        ),
        first,
    )
    _land(
        settings,
        "traffic/plausible/export.zip",
        plausible_zip(Path(settings.data.root) / "p.zip").read_bytes(),
        first,
    )
    # A Mastodon outbox: its instance's host is Mastodon's too.
    outbox = mastodon_outbox([mastodon_create(1, "2026-10-30T10:00:00Z", "<p>hello</p>")])
    _land(settings, "social/mastodon/outbox.json", outbox.encode(), first)
    report = run_ingest(settings, now=first)
    assert {r.format for r in report.results} == {"ga4_report_csv", "plausible_export", "mastodon_outbox"}
    # Downloaded again the next day: its account of 2026-11-02 replaces the first one's.
    _land(
        settings,
        "traffic/ga4/again.csv",
        ga4_download(
            [["20261102", boots, "t.co / referral", "7", "7", "10", "0"]], start="20261102", end="20261102"
        ),
        first + dt.timedelta(days=1),
    )
    run_ingest(settings, now=first + dt.timedelta(days=1))
    built = warehouse.build(settings, dt.date(2026, 11, 5))
    con = duckdb.connect(str(built.path), read_only=True)
    try:
        daily = con.sql(
            "SELECT day, channel, tool, sessions, engaged_sessions, average_engagement_time, bounce_rate "
            "FROM core.traffic_daily WHERE canonical_url = 'https://example.com/blog/boots/' ORDER BY ALL"
        ).fetchall()
        channels = dict(
            con.sql(
                "SELECT session_source || ' / ' || coalesce(session_medium, '-'), channel "
                "FROM core.traffic_source_channels"
            ).fetchall()
        )
    finally:
        con.close()
    assert daily == [
        (dt.date(2026, 11, 1), "all_sources", "plausible", 30, None, None, pytest.approx(0.4)),
        (dt.date(2026, 11, 1), "facebook", "ga4", 4, 2, 10.0, 0.5),
        (dt.date(2026, 11, 1), "linkedin", "ga4", 3, 1, 20.0, pytest.approx(0.6667)),
        (dt.date(2026, 11, 1), "mastodon", "ga4", 3, 3, 20.0, 0.0),
        (dt.date(2026, 11, 1), "organic", "ga4", 50, 25, 20.0, 0.5),
        (dt.date(2026, 11, 1), "paid", "ga4", 6, 3, 10.0, 0.5),
        # t.co and x.com: 40 sessions, (10 * 30 + 30 * 70) / 40 s, (10 * 0.5 + 30 * 0.1) / 40.
        (dt.date(2026, 11, 1), "x", "ga4", 40, 32, 60.0, pytest.approx(0.2)),
        (dt.date(2026, 11, 2), "x", "ga4", 7, 7, 10.0, 0.0),
    ]
    assert channels["google.com / -"] == "organic"
    assert channels["newsletter / email"] == "email"
    assert channels["t.co / -"] == "x"


def _sessions(format_name: str, page: str, sessions: int, delivery_id: str) -> dict[str, object]:
    return {
        "format": format_name, "tool": "ga4", "property": None, "traffic_date": dt.date(2026, 11, 1),
        "landing_page": page, "canonical_url": page, "session_source": "t.co", "session_medium": "referral",
        "sessions": sessions, "delivery_id": delivery_id,
    }  # fmt: skip


def test_a_site_day_reported_by_the_api_and_a_download_is_counted_once(settings: Settings) -> None:
    """The GA4 Data API and a downloaded report are two accounts of the same sessions: the API's is kept;
    another site's download of the same day is a different account and stays."""
    page, shop = "https://example.com/blog/boots/", "https://shop.example.com/boots/"
    downloaded = [
        _sessions("ga4_report_csv", page, 10, "download"),
        _sessions("ga4_report_csv", shop, 5, "download"),
    ]
    write_delivery_rows(settings, TRAFFIC_SESSIONS, downloaded, "download")
    write_delivery_rows(settings, TRAFFIC_SESSIONS, [_sessions("ga4_api", page, 12, "api")], "api")
    built = warehouse.build(settings, dt.date(2026, 11, 5))
    con = duckdb.connect(str(built.path), read_only=True)
    try:
        daily = con.sql(
            "SELECT canonical_url, channel, sessions FROM core.traffic_daily ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    assert daily == [(page, "x", 12), (shop, "x", 5)]


def test_traffic_settings_name_known_platforms(tmp_path: Path) -> None:
    config = tmp_path / "socialrank.toml"
    config.write_text(
        '[site]\nowned_sites = ["example.com"]\n[traffic]\nsocial_hosts = { "Mstdn.Example" = "mastodon" }\n'
    )
    assert load_settings(config).traffic.social_hosts == (("mstdn.example", "mastodon"),)
    config.write_text('[traffic]\nsocial_hosts = { "news.example" = "hackernews" }\n')
    with pytest.raises(ConfigError, match="platform must be one of x, facebook"):
        load_settings(config)
