"""GA4's BigQuery event export: sessions rebuilt from events written here in the export's real field shape
(``event_date`` 'YYYYMMDD', ``event_timestamp`` INT64 microseconds, ``event_params`` as key/value records,
``traffic_source``, ``session_traffic_source_last_click``, device and geo beside them), as BigQuery's
extract writes them: newline-delimited JSON, INT64 values as strings (plain or gzip shards), or Parquet."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.cli import EXIT_OK, main
from pipeline.sources.base import ParseContext
from tests.conftest import of_kind, parse_all, write_zip

DAY = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
BOOTS, TENTS = "https://www.example.com/blog/boots/", "https://example.com/blog/tents/"
T_CO = {"source": "t.co", "medium": "referral", "default_channel_group": "Organic Social"}
GOOGLE = {"source": "google", "medium": "organic", "default_channel_group": "Organic Search"}


def micros(at: dt.datetime) -> int:
    return int(at.timestamp() * 1_000_000)


def event(
    name: str,
    user: str | None,
    session: int | None,
    at: dt.datetime,
    page: str | None = None,
    engaged: str | None = None,
    engagement_msec: int | None = None,
    last_click: dict[str, str] | None = None,
    first_user: tuple[str, str] = ("(direct)", "(none)"),
) -> dict[str, Any]:
    """One event as the export holds it (INT64 values as Python ints; the JSON writer makes them strings)."""
    params: list[dict[str, Any]] = [
        {"key": "ga_session_number", "value": {"int_value": 3}},
        {"key": "page_title", "value": {"string_value": "Boots"}},
    ]
    if session is not None:
        params.append({"key": "ga_session_id", "value": {"int_value": session}})
    if page is not None:
        params.append({"key": "page_location", "value": {"string_value": page}})
    if engaged is not None:
        params.append({"key": "session_engaged", "value": {"string_value": engaged}})
    if engagement_msec is not None:
        params.append({"key": "engagement_time_msec", "value": {"int_value": engagement_msec}})
    row: dict[str, Any] = {
        "event_date": at.strftime("%Y%m%d"),
        "event_timestamp": micros(at),
        "event_name": name,
        "event_params": params,
        "event_previous_timestamp": None,
        "event_bundle_sequence_id": 1,
        "user_pseudo_id": user,
        "privacy_info": {"analytics_storage": "Yes", "ads_storage": "No", "uses_transient_token": "No"},
        "device": {"category": "mobile", "operating_system": "iOS", "web_info": {"browser": "Safari"}},
        "geo": {"country": "Germany", "city": "Berlin"},
        "traffic_source": {"name": "(direct)", "source": first_user[0], "medium": first_user[1]},
        "stream_id": "1234567890",
        "platform": "WEB",
        "items": [],
    }
    if last_click is not None:
        campaign = {"campaign_name": "(referral)", **last_click}
        row["session_traffic_source_last_click"] = {
            "manual_campaign": {k: v for k, v in campaign.items() if k != "default_channel_group"},
            "cross_channel_campaign": campaign,
        }
    return row


def at(hours: float) -> dt.datetime:
    return DAY + dt.timedelta(hours=hours)


def export_events() -> list[dict[str, Any]]:
    """Four sessions on 2026-11-01, one of them running past midnight, and a hit without a session."""
    return [
        # Session 1 (t.co): session_start first, then the landing page view; engaged; 30 s.
        event("session_start", "111.1", 1001, at(10), BOOTS, last_click=T_CO),
        event(
            "page_view",
            "111.1",
            1001,
            at(10) + dt.timedelta(seconds=1),
            BOOTS + "?utm_source=x",
            last_click=T_CO,
        ),
        event("user_engagement", "111.1", 1001, at(10) + dt.timedelta(seconds=30), BOOTS, "1", 25_000, T_CO),
        # Session 2, same user, again from t.co: engaged by its session_engaged flag; 10 s.
        event("page_view", "111.1", 1002, at(14), BOOTS, "1", last_click=T_CO),
        event("scroll", "111.1", 1002, at(14) + dt.timedelta(seconds=10), BOOTS, "1", 4_000, T_CO),
        # Session 3 (google): its first event is first_visit, not a page view; not engaged; lands on tents.
        event("first_visit", "222.2", 2001, at(9), BOOTS, "0", last_click=GOOGLE),
        event("page_view", "222.2", 2001, at(9) + dt.timedelta(seconds=2), TENTS, "0", last_click=GOOGLE),
        event("page_view", "222.2", 2001, at(9) + dt.timedelta(seconds=8), BOOTS, "0", last_click=GOOGLE),
        # Session 4 runs past midnight: a session of each day, as GA4's daily reports count it.
        event("page_view", "333.3", 3001, at(23.99), BOOTS, "1", 12_000, T_CO),
        event("page_view", "333.3", 3001, at(24.01), TENTS, "1", 3_000, T_CO),
        # A measurement-protocol hit: no ga_session_id, so no session.
        event("purchase", "444.4", None, at(12), BOOTS),
    ]


EXPECTED = sorted(
    [
        # (day, landing page, source, medium, channel group, sessions, engaged, avg duration s, bounce rate)
        # Sessions 2 and 4 (its first day) land on boots from t.co: 10 s and 0 s.
        (dt.date(2026, 11, 1), BOOTS, "t.co", "referral", "Organic Social", 2, 2, 5.0, 0.0),
        (
            dt.date(2026, 11, 1),
            BOOTS + "?utm_source=x",
            "t.co",
            "referral",
            "Organic Social",
            1,
            1,
            30.0,
            0.0,
        ),
        (dt.date(2026, 11, 1), TENTS, "google", "organic", "Organic Search", 1, 0, 8.0, 1.0),
        (dt.date(2026, 11, 2), TENTS, "t.co", "referral", "Organic Social", 1, 1, 0.0, 0.0),
    ]
)


def rows(records: list[Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            r["traffic_date"],
            r["landing_page"],
            r["session_source"],
            r["session_medium"],
            r["channel_group"],
            r["sessions"],
            r["engaged_sessions"],
            r["average_session_duration"],
            r["bounce_rate"],
        )
        for r in of_kind(records, "traffic")
    )


def ndjson(events: list[dict[str, Any]]) -> bytes:
    """As BigQuery's JSON extract writes rows: one object a line, INT64 values as strings."""

    def int64_as_text(value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return str(value)
        if isinstance(value, dict):
            return {key: int64_as_text(item) for key, item in value.items() if item is not None}
        if isinstance(value, list):
            return [int64_as_text(item) for item in value]
        return value

    return b"".join(json.dumps(int64_as_text(e), separators=(",", ":")).encode() + b"\n" for e in events)


VALUE = pa.struct(
    [
        ("string_value", pa.string()),
        ("int_value", pa.int64()),
        ("float_value", pa.float64()),
        ("double_value", pa.float64()),
    ]
)
CAMPAIGN = pa.struct(
    [
        ("campaign_name", pa.string()),
        ("source", pa.string()),
        ("medium", pa.string()),
        ("default_channel_group", pa.string()),
    ]
)


def parquet_schema(last_click: bool = True) -> pa.Schema:
    fields = [
        ("event_date", pa.string()),
        ("event_timestamp", pa.int64()),
        ("event_name", pa.string()),
        ("event_params", pa.list_(pa.struct([("key", pa.string()), ("value", VALUE)]))),
        ("event_previous_timestamp", pa.int64()),
        ("event_bundle_sequence_id", pa.int64()),
        ("user_pseudo_id", pa.string()),
        (
            "privacy_info",
            pa.struct(
                [(n, pa.string()) for n in ("analytics_storage", "ads_storage", "uses_transient_token")]
            ),
        ),
        (
            "device",
            pa.struct(
                [
                    ("category", pa.string()),
                    ("operating_system", pa.string()),
                    ("web_info", pa.struct([("browser", pa.string())])),
                ]
            ),
        ),
        ("geo", pa.struct([("country", pa.string()), ("city", pa.string())])),
        ("traffic_source", pa.struct([(n, pa.string()) for n in ("name", "medium", "source")])),
        ("stream_id", pa.string()),
        ("platform", pa.string()),
        ("items", pa.list_(pa.struct([("item_id", pa.string())]))),
    ]
    if last_click:
        fields.append(
            (
                "session_traffic_source_last_click",
                pa.struct([("manual_campaign", CAMPAIGN), ("cross_channel_campaign", CAMPAIGN)]),
            )
        )
    return pa.schema(fields)


def write_parquet(path: Path, events: list[dict[str, Any]], last_click: bool = True) -> Path:
    pq.write_table(pa.Table.from_pylist(events, schema=parquet_schema(last_click)), path, row_group_size=4)
    return path


def context() -> ParseContext:
    return ParseContext("strip", dt.date(2026, 11, 5), owned_sites=("example.com",))


def test_ndjson_sessions_per_day_page_and_source(tmp_path: Path) -> None:
    path = tmp_path / "events_20261101.json"
    events = export_events()
    random.Random(3).shuffle(events)  # an export is in no particular order
    path.write_bytes(ndjson(events))
    name, records, rejected = parse_all(path, context())
    assert name == "ga4_bigquery_export"
    assert rows(records) == EXPECTED
    assert rejected == []
    first = of_kind(records, "traffic")[0]
    assert (first["format"], first["tool"], first["property"]) == ("ga4_bigquery_export", "ga4", None)
    tents = next(r for r in of_kind(records, "traffic") if r["session_source"] == "google")
    assert tents["canonical_url"] == TENTS
    assert tents["average_engagement_time"] == 0.0
    engaged = next(r for r in of_kind(records, "traffic") if r["landing_page"] == BOOTS + "?utm_source=x")
    assert engaged["average_engagement_time"] == 25.0


def test_gzip_shards_in_a_zip_and_parquet_give_the_same_sessions(tmp_path: Path) -> None:
    events = export_events()
    # A session's events split across two shards, as BigQuery's extract splits a table.
    shards: dict[str, str | bytes] = {
        "events_20261101-000000000000.json.gz": gzip.compress(ndjson(events[0::2])),
        "events_20261101-000000000001.json.gz": gzip.compress(ndjson(events[1::2])),
    }
    zipped = write_zip(tmp_path / "bq.zip", shards)
    name, records, rejected = parse_all(zipped, context())
    assert (name, rows(records), rejected) == ("ga4_bigquery_export", EXPECTED, [])

    single = tmp_path / "events_20261101-000000000000.json.gz"
    single.write_bytes(gzip.compress(ndjson(events)))
    assert rows(parse_all(single, context())[1]) == EXPECTED

    parquet = write_parquet(tmp_path / "events_20261101.parquet", events)
    name, records, rejected = parse_all(parquet, context())
    assert (name, rows(records), rejected) == ("ga4_bigquery_export", EXPECTED, [])
    # Parquet read from inside a zip (a member is seekable), beside a file that is not an export.
    zipped_parquet = write_zip(
        tmp_path / "parquet.zip",
        {"bq/events_20261101-0.parquet": parquet.read_bytes(), "bq/README.json": "{}"},
    )
    assert rows(parse_all(zipped_parquet, context())[1]) == EXPECTED


def test_older_export_without_session_last_click_uses_first_user_source(tmp_path: Path) -> None:
    events = [
        event("page_view", "1.1", 1, at(8), BOOTS, "1", first_user=("newsletter", "email")),
        event("page_view", "2.2", 2, at(9), BOOTS, "0", first_user=("newsletter", "email")),
    ]
    for row in events:
        assert "session_traffic_source_last_click" not in row
    path = tmp_path / "events.json"
    path.write_bytes(ndjson(events))
    expected = [(dt.date(2026, 11, 1), BOOTS, "newsletter", "email", None, 2, 1, 0.0, 0.5)]
    assert rows(parse_all(path, context())[1]) == expected
    parquet = write_parquet(tmp_path / "events.parquet", events, last_click=False)
    assert rows(parse_all(parquet, context())[1]) == expected


def test_a_damaged_line_is_quarantined_alone_with_its_place_and_personal_data_masked(tmp_path: Path) -> None:
    lines = ndjson(export_events()).splitlines(keepends=True)
    damaged = (
        b'{"event_date":"20261101","event_params":[{"key":"email","value":{"string_value":"jane@example.org\n'
    )
    wrong_day = ndjson([event("page_view", "9.9", 9, at(3), BOOTS)])
    wrong_day = wrong_day.replace(b'"20261101"', b'"2026-11-01"')
    path = tmp_path / "events.json.gz"
    path.write_bytes(gzip.compress(b"".join([*lines[:3], damaged, wrong_day, *lines[3:]])))
    _, records, rejected = parse_all(path, context())
    assert rows(records) == EXPECTED
    assert [(item.location, item.reason.split(":")[0]) for item in rejected] == [
        ("line 4", "not a GA4 event"),
        ("line 5", "not a GA4 event"),
    ]
    assert "YYYYMMDD" in rejected[1].reason
    assert rejected[0].excerpt is not None and "<email>" in rejected[0].excerpt
    assert "jane@example.org" not in rejected[0].excerpt + rejected[0].reason


def test_a_cut_gzip_shard_keeps_what_came_before(tmp_path: Path) -> None:
    whole = gzip.compress(ndjson(export_events() * 200))
    path = tmp_path / "events.json.gz"
    path.write_bytes(whole[: len(whole) // 2])
    name, _, rejected = parse_all(path, context())
    assert name == "ga4_bigquery_export"
    assert len(rejected) == 1 and rejected[0].reason.endswith("the rest of the member was skipped")
    assert rejected[0].location.startswith("line ")


def test_an_endless_line_ends_the_member_in_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.sources import ga4_bigquery_export

    monkeypatch.setattr(ga4_bigquery_export, "MAX_LINE_BYTES", 4096)
    monkeypatch.setattr(ga4_bigquery_export, "BLOCK_BYTES", 1024)
    path = tmp_path / "events.json"
    path.write_bytes(
        ndjson(export_events()[:2])
        + b'{"event_date":"20261101","event_timestamp":"1","event_name":"'
        + b"x" * 10_000
    )
    name, records, rejected = parse_all(path, context())
    assert name == "ga4_bigquery_export" and len(of_kind(records, "traffic")) == 1
    assert [(item.location, item.reason) for item in rejected] == [
        ("line 3", "a line of over 64 MB: no event; the rest of the member was skipped")
    ]


def test_a_parquet_row_without_its_date_is_quarantined_alone(tmp_path: Path) -> None:
    events = export_events()
    broken = event("page_view", "7.7", 7, at(5), BOOTS)
    broken["event_date"] = None
    path = write_parquet(tmp_path / "events.parquet", [*events, broken])
    _, records, rejected = parse_all(path, context())
    assert rows(records) == EXPECTED
    assert [(item.location, item.reason) for item in rejected] == [
        ("row 11", "not a GA4 event: event_date, event_timestamp or event_name is empty")
    ]


def test_a_parquet_file_whose_columns_are_not_the_exports_is_quarantined_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    table = pa.table(
        {
            "event_date": ["20261101"],
            "event_timestamp": [1],
            "event_name": ["page_view"],
            "event_params": ["ga_session_id=1"],
            "user_pseudo_id": ["1.1"],
        }
    )
    pq.write_table(table, path)
    name, records, rejected = parse_all(path, context())
    assert (name, records) == ("ga4_bigquery_export", [])
    assert [(item.location, item.reason.startswith("unreadable Parquet")) for item in rejected] == [
        ("row 0", True)
    ]


def test_other_json_lines_are_not_taken_for_events(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_bytes(b'{"date": "20261101", "name": "page_view"}\n')
    assert parse_all(path, context())[0] != "ga4_bigquery_export"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOCIALRANK_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "socialrank.toml").write_text('[site]\nowned_sites = ["example.com"]\n')
    return tmp_path / "data"


def test_ingest_and_inspect_through_the_cli(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = export_events()
    damaged = b'{"event_date":"20261101","event_timestamp":"1762\n'
    content = gzip.compress(ndjson(events[:5]) + damaged + ndjson(events[5:]))
    export = tmp_path / "events_20261101-000000000000.json.gz"
    export.write_bytes(content)
    assert main(["inspect", "--json", str(export)]) == EXIT_OK
    inspected = json.loads(capsys.readouterr().out)
    assert (inspected["format"], inspected["traffic"], inspected["quarantined"], inspected["skipped"]) == (
        "ga4_bigquery_export",
        4,
        1,
        1,
    )
    landed = home / "landing" / "traffic" / "ga4_bigquery" / export.name
    landed.parent.mkdir(parents=True)
    landed.write_bytes(content)
    assert main(["ingest", "--json"]) == EXIT_OK
    ingested = json.loads(capsys.readouterr().out)
    assert ingested["by_status"] == {"ingested": 1}
    con = duckdb.connect()
    try:
        lake = home / "lake"
        stored = con.execute(
            "SELECT traffic_date, landing_page, session_source, session_medium, channel_group, sessions, "
            "engaged_sessions, average_session_duration, bounce_rate FROM read_parquet(?) ORDER BY ALL",
            [str(lake / "traffic_sessions" / "**" / "*.parquet")],
        ).fetchall()
        quarantined = con.execute(
            "SELECT member, location FROM read_parquet(?)",
            [str(lake / "quarantined_records" / "**" / "*.parquet")],
        ).fetchall()
    finally:
        con.close()
    assert stored == EXPECTED
    assert quarantined == [(export.name, "line 6")]
