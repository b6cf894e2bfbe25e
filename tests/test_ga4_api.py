"""The GA4 Data API client against a fake runReport on loopback: rowCount paging, a spent quota (429
RESOURCE_EXHAUSTED) and a 503 retried, a 403 that says what to fix, a server that never answers within the
time budget, and the stored responses' round trip (fetch -> landing file -> ingest -> lake rows)."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow.dataset as ds
import pytest

from pipeline import stages
from pipeline.config import DataRoot, Settings
from pipeline.crawl import ga4, google_credentials
from pipeline.crawl.ga4 import Ga4Error
from pipeline.crawl.settings import CrawlerSettings, Ga4Settings, ga4_settings
from pipeline.ingest import run_ingest
from pipeline.schemas import TRAFFIC_SESSIONS
from tests.http_servers import Hit, LoopbackServer, Reply
from tests.pipeline_runs import cli_command, cli_env, new_world

PROPERTY = "123456789"
REPORT_PATH = f"/v1beta/properties/{PROPERTY}:runReport"
DAY = dt.date(2026, 11, 1)
TOTAL_ROWS = 25
PAGE_SIZE = 10
JSON = "application/json"


def ga4_test_settings(
    root: Path, port: int, owned: tuple[str, ...] = ("example.com",), **ga4: Any
) -> Settings:
    data = DataRoot(root / "data")
    data.ensure()
    return Settings(
        data=data,
        owned_sites=owned,
        timezone=ZoneInfo("America/Los_Angeles"),
        crawler=CrawlerSettings(allow_networks=("127.0.0.0/8",)),
        ga4=Ga4Settings(
            properties=(PROPERTY,),
            api_base=f"http://127.0.0.1:{port}/v1beta",
            **{"page_size": PAGE_SIZE, "max_retries": 3, **ga4},
        ),
    )


def sessions_of(number: int) -> int:
    return 10 + number


def api_row(day: str, number: int) -> dict[str, Any]:
    """Row 3 is damaged (its sessions are not a count); row 4 has no landing page ``(not set)``."""
    page = "(not set)" if number == 4 else f"/p/{number % 5}?utm_source=t.co&ref={number}"
    sessions = "n/a" if number == 3 else str(sessions_of(number))
    return {
        "dimensionValues": [
            {"value": day.replace("-", "")},
            {"value": page},
            {"value": "t.co" if number % 2 else "google"},
            {"value": "referral" if number % 2 else "organic"},
            {"value": "Organic Social" if number % 2 else "Organic Search"},
        ],
        "metricValues": [
            {"value": sessions},
            {"value": str(number % 7)},
            {"value": "65.25"},
            {"value": "0.4"},
        ],
    }


class FakeGa4:
    """runReport for one property: ``TOTAL_ROWS`` rows a day; the second page is refused once with a
    spent quota, the third once with a 503."""

    def __init__(self, server: LoopbackServer) -> None:
        self.refused: set[int] = set()
        server.route("127.0.0.1", REPORT_PATH, self.run_report)

    def run_report(self, hit: Hit) -> Reply:
        if hit.headers.get("authorization") != "Bearer env-token":
            return Reply(401, json.dumps({"error": {"code": 401, "status": "UNAUTHENTICATED"}}), JSON)
        body = json.loads(hit.body)
        offset, limit = body["offset"], body["limit"]
        if offset == PAGE_SIZE and offset not in self.refused:
            self.refused.add(offset)
            error = {
                "code": 429,
                "message": "Exhausted property tokens per hour for a project per property.",
                "status": "RESOURCE_EXHAUSTED",
            }
            return Reply(429, json.dumps({"error": error}), JSON, {"Retry-After": "1"})
        if offset == 2 * PAGE_SIZE and offset not in self.refused:
            self.refused.add(offset)
            error = {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}
            return Reply(503, json.dumps({"error": error}), JSON)
        day = body["dateRanges"][0]["startDate"]
        rows = [api_row(day, n) for n in range(offset, min(TOTAL_ROWS, offset + limit))]
        answer = {
            "dimensionHeaders": [{"name": item["name"]} for item in body["dimensions"]],
            "metricHeaders": [
                {"name": "sessions", "type": "TYPE_INTEGER"},
                {"name": "engagedSessions", "type": "TYPE_INTEGER"},
                {"name": "averageSessionDuration", "type": "TYPE_SECONDS"},
                {"name": "bounceRate", "type": "TYPE_FLOAT"},
            ],
            "rows": rows,
            "rowCount": TOTAL_ROWS,
            "metadata": {"currencyCode": "USD", "timeZone": "America/Los_Angeles"},
            "propertyQuota": {"tokensPerDay": {"consumed": 5, "remaining": 199_995}},
            "kind": "analyticsData#runReport",
        }
        return Reply(200, json.dumps(answer), JSON)


def report_bodies(server: LoopbackServer) -> list[dict[str, Any]]:
    return [json.loads(hit.body) for hit in server.hits_for("127.0.0.1", REPORT_PATH)]


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ga4.ENV_ACCESS_TOKEN, "env-token")


@pytest.mark.usefixtures("token")
def test_a_day_pages_by_row_count_through_a_spent_quota_and_a_503_then_lands_and_ingests(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    FakeGa4(loopback)
    settings = ga4_test_settings(tmp_path, loopback.port)

    started = time.monotonic()
    summary = stages.fetch_ga4(settings, DAY, backfill=True)
    assert time.monotonic() - started >= 1.0  # the 429's Retry-After was honoured
    assert summary["properties"][PROPERTY]["rows"] == TOTAL_ROWS
    assert summary["properties"][PROPERTY]["days"] == ["2026-11-01"]
    bodies = report_bodies(loopback)
    assert [body["offset"] for body in bodies] == [0, 10, 10, 20, 20]  # each refusal retried once
    first = bodies[0]
    assert first["dateRanges"] == [{"startDate": "2026-11-01", "endDate": "2026-11-01"}]
    assert [item["name"] for item in first["dimensions"]] == list(ga4.DIMENSIONS)
    assert [item["name"] for item in first["metrics"]] == [
        "sessions",
        "engagedSessions",
        "averageSessionDuration",
        "bounceRate",
    ]
    assert first["limit"] == PAGE_SIZE and first["returnPropertyQuota"] is True

    (landed,) = summary["properties"][PROPERTY]["landed"]
    path = settings.data.landing / landed
    assert path.parent == settings.data.landing / "traffic" / "ga4_api"
    assert path.name.startswith(f"{PROPERTY}_2026-11-01_") and path.suffix == ".json"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no half-written file
    stored = json.loads(path.read_bytes())
    assert (stored["format"], stored["property"], stored["date"]) == (
        "socialrank.ga4_api/1",
        PROPERTY,
        "2026-11-01",
    )
    assert [len(response["rows"]) for response in stored["responses"]] == [10, 10, 5]
    assert stored["responses"][0]["propertyQuota"]["tokensPerDay"]["remaining"] == 199_995

    report = run_ingest(settings)
    (result,) = report.results
    assert result.format == "ga4_api" and result.status == "ingested"
    assert result.counts["traffic"] == TOTAL_ROWS - 1 and result.quarantined == 1
    assert "response 0 row 3" in result.reasons[0]
    rows = ds.dataset(settings.data.lake / TRAFFIC_SESSIONS.name, format="parquet").to_table().to_pylist()
    assert sum(row["sessions"] for row in rows) == sum(sessions_of(n) for n in range(TOTAL_ROWS) if n != 3)
    assert {(row["format"], row["tool"], row["property"]) for row in rows} == {("ga4_api", "ga4", PROPERTY)}
    assert {row["traffic_date"] for row in rows} == {DAY}
    unset = next(row for row in rows if row["landing_page"] == "(not set)")
    assert unset["canonical_url"] is None and unset["sessions"] == sessions_of(4)
    social = next(row for row in rows if row["sessions"] == sessions_of(1))
    assert social["canonical_url"] is not None and social["canonical_url"].startswith(
        "https://example.com/p/1"
    )
    assert (social["session_source"], social["session_medium"], social["channel_group"]) == (
        "t.co",
        "referral",
        "Organic Social",
    )
    assert social["engaged_sessions"] == 1 and social["average_session_duration"] == 65.25
    assert social["bounce_rate"] == pytest.approx(0.4)


@pytest.mark.usefixtures("token")
def test_a_nightly_run_fetches_its_day_and_the_days_ga4_may_still_revise(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    FakeGa4(loopback)
    settings = ga4_test_settings(tmp_path, loopback.port, refetch_days=2, page_size=100)
    summary = stages.fetch_ga4(settings, DAY)
    assert summary["properties"][PROPERTY]["days"] == ["2026-10-31", "2026-11-01"]
    assert len(summary["properties"][PROPERTY]["landed"]) == 2
    assert [body["dateRanges"][0]["startDate"] for body in report_bodies(loopback)] == [
        "2026-10-31",
        "2026-11-01",
    ]


def test_a_403_fails_the_stage_saying_what_to_fix_and_lands_nothing(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    error = {
        "code": 403,
        "message": "User does not have sufficient permissions for this property.",
        "status": "PERMISSION_DENIED",
    }
    loopback.route("127.0.0.1", REPORT_PATH, Reply(403, json.dumps({"error": error}), JSON))
    world = new_world(tmp_path)
    with world.config.open("a", encoding="utf-8") as config:
        config.write(
            f'\n[ga4]\nproperties = ["{PROPERTY}"]\napi_base = "http://127.0.0.1:{loopback.port}/v1beta"\n'
            '[crawler]\nallow_networks = ["127.0.0.0/8"]\n'
        )
    done = subprocess.run(
        cli_command(world, "fetch-ga4", "--date", DAY.isoformat(), "--json"),
        cwd=world.root,
        env={**cli_env(world), ga4.ENV_ACCESS_TOKEN: "env-token"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert len(loopback.hits_for("127.0.0.1", REPORT_PATH)) == 1  # a refusal is not retried
    assert re.search(
        rf"property {PROPERTY}: HTTP 403 PERMISSION_DENIED: User does not have sufficient permissions.*"
        r"Fix: give the credentials' account .* the Viewer role on the property",
        done.stderr,
    ), done.stderr[-3000:]
    assert not (world.landing / "traffic" / "ga4_api").exists()


@pytest.mark.usefixtures("token")
def test_a_server_that_never_answers_fails_within_the_time_budget(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    loopback.route("127.0.0.1", REPORT_PATH, Reply(200, "{}", JSON, delay=15.0))
    settings = ga4_test_settings(tmp_path, loopback.port, time_budget=2.0)
    started = time.monotonic()
    with pytest.raises(Ga4Error, match=rf"property {PROPERTY}: timeout: .*2s budget"):
        stages.fetch_ga4(settings, DAY, backfill=True)
    assert time.monotonic() - started < 6.0
    assert not (settings.data.landing / "traffic").exists()


def test_the_stage_is_skipped_without_properties_or_credentials(
    tmp_path: Path, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in (ga4.ENV_ACCESS_TOKEN, ga4.ENV_CREDENTIALS_FILE, "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(variable, raising=False)
    settings = ga4_test_settings(tmp_path, loopback.port)
    skipped = stages.fetch_ga4(settings, DAY)
    assert (
        skipped["skipped"]
        and "no credentials" in skipped["reason"]
        and "'google_analytics'" in skipped["reason"]
    )
    unconfigured = Settings(data=settings.data, owned_sites=("example.com",), timezone=settings.timezone)
    assert stages.fetch_ga4(unconfigured, DAY)["reason"].startswith("no properties configured")
    assert loopback.hits == []


def test_settings_refuse_a_measurement_id_and_several_sites_ask_for_the_host_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"not a GA4 property id .*not a G- measurement id"):
        ga4_settings({"properties": ["G-ABC123"]})
    with pytest.raises(ValueError, match=re.escape("page_size must be within 1..250000")):
        ga4_settings({"properties": [PROPERTY], "page_size": 300_000})
    settings = ga4_test_settings(tmp_path, 9, owned=("example.com", "example.org"))
    client = ga4.api_client(settings, google_credentials.from_token("t", ga4.SCOPES))
    assert client.dimensions == (*ga4.DIMENSIONS, "hostName")


@pytest.mark.usefixtures("token")
def test_in_a_run_a_refusing_property_is_a_failed_stage_with_a_note_not_a_failed_run(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    error = {
        "code": 403,
        "message": "User does not have sufficient permissions.",
        "status": "PERMISSION_DENIED",
    }
    loopback.route("127.0.0.1", REPORT_PATH, Reply(403, json.dumps({"error": error}), JSON))
    settings = ga4_test_settings(tmp_path, loopback.port)
    outcome = stages.fetch_stage(settings, "ga4", lambda: stages.fetch_ga4(settings, DAY))
    assert outcome["failed"] is True and "HTTP 403 PERMISSION_DENIED" in outcome["error"]
    note = json.loads(Path(outcome["failure_note"]).read_text())
    assert note["stage"] == "ga4" and "Viewer role" in note["message"]
