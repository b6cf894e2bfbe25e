"""The Search Console API client against a fake API on loopback: paging, a 429, service-account auth,
raw landing, ingest into rankings, and the data delay (nightly catch-up vs. exact backfills)."""

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
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pipeline import stages
from pipeline.config import DataRoot, Settings
from pipeline.crawl.search_console import SearchConsoleError, credentials_from_connection_extra
from pipeline.crawl.settings import CrawlerSettings, SearchConsoleSettings
from pipeline.ingest import run_ingest
from tests.http_servers import Hit, LoopbackServer, Reply
from tests.pipeline_runs import cli_command, cli_env, new_world

SITE = "sc-domain:example.com"
QUERY_PATH = "/webmasters/v3/sites/sc-domain%3Aexample.com/searchAnalytics/query"
DAY = dt.date(2026, 11, 1)
TOTAL_ROWS = 60_000


def gsc_settings(root: Path, port: int, **search_console: Any) -> Settings:
    data = DataRoot(root / "data")
    data.ensure()
    return Settings(
        data=data,
        owned_sites=("example.com",),
        timezone=ZoneInfo("America/Los_Angeles"),
        crawler=CrawlerSettings(allow_networks=("127.0.0.0/8",)),
        search_console=SearchConsoleSettings(
            properties=(SITE,),
            api_base=f"http://127.0.0.1:{port}/webmasters/v3",
            max_retries=2,
            **search_console,
        ),
    )


def api_row(day: str, number: int) -> dict[str, Any]:
    # Every 1000th row ranks past the top 100; row 7 is damaged.
    position = 120.5 if number % 1000 == 999 else 1.0 + number % 90
    row: dict[str, Any] = {
        "keys": [day, f"https://www.example.com/p/{number % 500}?utm_source=gsc", f"query {number}"],
        "clicks": float(number % 3),
        "impressions": float(10 + number % 7),
        "ctr": 0.1,
        "position": position,
    }
    if number == 7:
        row["position"] = "n/a"
    return row


def service_account_file(tmp_path: Path, token_uri: str) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "socialrank-test",
                "private_key_id": "key-1",
                "private_key": pem,
                "client_email": "crawler@socialrank-test.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": token_uri,
            }
        )
    )
    return path


class FakeSearchConsole:
    """searchAnalytics.query for one property: ``rows_per_day`` rows a day (60,000 by default), the second
    page refused once with a 429, and a token endpoint for service-account logins."""

    def __init__(
        self, server: LoopbackServer, first_incomplete: dt.date | None = None, rows_per_day: int = TOTAL_ROWS
    ) -> None:
        self.first_incomplete = first_incomplete
        self.rows_per_day = rows_per_day
        self.refused_once = False
        server.route("127.0.0.1", QUERY_PATH, self.query)
        server.route("127.0.0.1", "/token", Reply(200, json.dumps(self.token()), "application/json"))

    @staticmethod
    def token() -> dict[str, Any]:
        return {"access_token": "fake-access-token", "expires_in": 3600, "token_type": "Bearer"}

    def query(self, hit: Hit) -> Reply:
        if hit.headers.get("authorization") not in ("Bearer fake-access-token", "Bearer env-token"):
            return Reply(
                401, json.dumps({"error": {"code": 401, "message": "unauthenticated"}}), "application/json"
            )
        body = json.loads(hit.body)
        start, end = dt.date.fromisoformat(body["startDate"]), dt.date.fromisoformat(body["endDate"])
        if body["dimensions"] == ["date"]:
            return self.probe(start, end)
        if body["startRow"] == 25_000 and not self.refused_once:
            self.refused_once = True
            error = {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}}
            return Reply(429, json.dumps(error), "application/json", {"Retry-After": "1"})
        last = min(self.rows_per_day, body["startRow"] + body["rowLimit"])
        rows = [api_row(body["startDate"], n) for n in range(body["startRow"], last)]
        return Reply(200, json.dumps({"rows": rows, "responseAggregationType": "byPage"}), "application/json")

    def probe(self, start: dt.date, end: dt.date) -> Reply:
        days = [start + dt.timedelta(days=offset) for offset in range((end - start).days + 1)]
        answer: dict[str, Any] = {"rows": [{"keys": [day.isoformat()], "clicks": 5.0} for day in days]}
        if self.first_incomplete and self.first_incomplete <= end:
            answer["metadata"] = {"firstIncompleteDate": self.first_incomplete.isoformat()}
        return Reply(200, json.dumps(answer), "application/json")


def query_bodies(server: LoopbackServer) -> list[dict[str, Any]]:
    return [json.loads(hit.body) for hit in server.hits_for("127.0.0.1", QUERY_PATH)]


def test_a_day_pages_through_60000_rows_with_a_429_and_lands_raw_responses(
    tmp_path: Path, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeSearchConsole(loopback)
    key_file = service_account_file(tmp_path, f"http://127.0.0.1:{loopback.port}/token")
    monkeypatch.setenv("SOCIALRANK_GSC_CREDENTIALS_FILE", str(key_file))
    settings = gsc_settings(tmp_path, loopback.port)

    started = time.monotonic()
    summary = stages.fetch_search_console(settings, DAY, backfill=True)
    assert time.monotonic() - started >= 1.0  # the 429's Retry-After was honoured
    assert summary["properties"][SITE]["rows"] == TOTAL_ROWS
    bodies = query_bodies(loopback)
    assert [body["startRow"] for body in bodies] == [0, 25_000, 25_000, 50_000]
    assert {(body["rowLimit"], body["dataState"], body["type"]) for body in bodies} == {
        (25_000, "final", "web")
    }
    assert bodies[0]["dimensions"] == ["date", "page", "query"]
    assert bodies[0]["startDate"] == bodies[0]["endDate"] == "2026-11-01"
    assert len(loopback.hits_for("127.0.0.1", "/token")) == 1  # one signed JWT exchange, token reused
    assert (
        b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
        in loopback.hits_for("127.0.0.1", "/token")[0].body
    )

    (landed,) = summary["properties"][SITE]["landed"]
    folder = settings.data.landing / landed
    assert folder.parent == settings.data.landing / "rankings" / "search_console_api"
    assert sorted(path.name for path in folder.iterdir()) == [
        "manifest.json",
        "page-00000.json",
        "page-00001.json",
        "page-00002.json",
    ]
    assert len(json.loads((folder / "page-00002.json").read_bytes())["rows"]) == 10_000

    report = run_ingest(settings)
    (result,) = report.results
    assert result.format == "search_console_api" and result.status == "ingested"
    assert result.counts["ranking"] == TOTAL_ROWS - 60 - 1  # past position 100: skipped; row 7: quarantined
    assert result.quarantined == 1 and "row 7" in result.reasons[0]
    rankings = ds.dataset(settings.data.lake / "rankings", format="parquet").to_table().to_pylist()
    first = next(row for row in rankings if row["query"] == "query 0")
    assert first["canonical_url"] == "https://example.com/p/0" and first["source"] == "search_console_api"
    assert first["ranking_date"] == DAY and first["search_engine"] == "google" and first["impressions"] == 10

    again = stages.fetch_search_console(settings, DAY, backfill=True)  # the same answer again
    run_ingest(settings)
    assert again["properties"][SITE]["rows"] == TOTAL_ROWS
    assert [r.status for r in run_ingest(settings).results] == ["duplicate", "duplicate"]


def test_nightly_runs_fetch_the_days_that_became_final_and_backfills_exactly_their_date(
    tmp_path: Path, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = FakeSearchConsole(loopback, first_incomplete=dt.date(2026, 11, 4), rows_per_day=3)
    monkeypatch.setenv("SOCIALRANK_GSC_ACCESS_TOKEN", "env-token")
    settings = gsc_settings(tmp_path, loopback.port, initial_lookback_days=5, country_device=True)

    def fetched_days(summary: dict[str, Any]) -> list[str]:
        return list(summary["properties"][SITE]["days"])

    first = stages.fetch_search_console(settings, dt.date(2026, 11, 5))
    assert fetched_days(first) == ["2026-11-01", "2026-11-02", "2026-11-03"]  # 11-04 on: not final yet
    probe = query_bodies(loopback)[0]
    assert (probe["dimensions"], probe["dataState"], probe["startDate"]) == (["date"], "all", "2026-11-01")
    assert query_bodies(loopback)[1]["dimensions"] == ["date", "page", "query", "country", "device"]

    api.first_incomplete = dt.date(2026, 11, 6)
    second = stages.fetch_search_console(settings, dt.date(2026, 11, 6))
    assert fetched_days(second) == ["2026-11-04", "2026-11-05"]
    third = stages.fetch_search_console(settings, dt.date(2026, 11, 6))
    assert fetched_days(third) == []

    backfill = stages.fetch_search_console(settings, dt.date(2026, 10, 20), backfill=True)
    assert fetched_days(backfill) == ["2026-10-20"]
    api.first_incomplete = None
    fourth = stages.fetch_search_console(settings, dt.date(2026, 11, 7))
    assert fetched_days(fourth) == ["2026-11-06", "2026-11-07"]  # the backfill moved no watermark


def test_stage_is_skipped_without_properties_or_credentials(
    tmp_path: Path, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in (
        "SOCIALRANK_GSC_ACCESS_TOKEN",
        "SOCIALRANK_GSC_CREDENTIALS_FILE",
        "GOOGLE_APPLICATION_CREDENTIALS",
    ):
        monkeypatch.delenv(variable, raising=False)
    settings = gsc_settings(tmp_path, loopback.port)
    skipped = stages.fetch_search_console(settings, DAY)
    assert skipped["skipped"] and "no credentials" in skipped["reason"]
    assert "'google_search_console'" in skipped["reason"]
    unconfigured = Settings(data=settings.data, owned_sites=("example.com",), timezone=settings.timezone)
    assert stages.fetch_search_console(unconfigured, DAY)["reason"].startswith("no properties configured")
    assert loopback.hits == []


def test_an_api_refusal_fails_the_stage_naming_the_property(
    tmp_path: Path, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = {"error": {"code": 403, "message": "User does not have sufficient permission for site"}}
    loopback.route("127.0.0.1", QUERY_PATH, Reply(403, json.dumps(error), "application/json"))
    monkeypatch.setenv("SOCIALRANK_GSC_ACCESS_TOKEN", "env-token")
    settings = gsc_settings(tmp_path, loopback.port)
    with pytest.raises(
        SearchConsoleError, match=re.escape("sc-domain:example.com: HTTP 403: User does not have sufficient")
    ):
        stages.fetch_search_console(settings, DAY)
    assert not (settings.data.landing / "rankings").exists()


def test_a_403_during_socialrank_run_fails_that_stage_and_the_rest_completes(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    """A failing source is a failed stage, not a failed run: the refusal is recorded (a failure note,
    an ERROR line, the stage's summary) while ingest, build, gate, publish and report go on, and the
    run exits 3 (environment) without a traceback."""
    error = {"error": {"code": 403, "message": "User does not have sufficient permission for site"}}
    loopback.route("127.0.0.1", QUERY_PATH, Reply(403, json.dumps(error), "application/json"))
    world = new_world(tmp_path)
    with world.config.open("a", encoding="utf-8") as config:
        config.write(
            f'\n[search_console]\nproperties = ["{SITE}"]\nmax_retries = 0\n'
            f'api_base = "http://127.0.0.1:{loopback.port}/webmasters/v3"\n'
            '[crawler]\nallow_networks = ["127.0.0.0/8"]\n'
        )
    done = subprocess.run(
        cli_command(world, "run", "--date", DAY.isoformat(), "--json"),
        cwd=world.root,
        env={**cli_env(world), "SOCIALRANK_GSC_ACCESS_TOKEN": "env-token"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 3, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert loopback.hits_for("127.0.0.1", QUERY_PATH), "Search Console was never asked"
    summary, _ = json.JSONDecoder().raw_decode(done.stdout.lstrip())
    assert summary["search_console"]["failed"] is True
    assert "HTTP 403: User does not have sufficient permission" in summary["search_console"]["error"]
    notes = sorted((world.home / "runs").glob("failure-*-search_console.json"))
    assert len(notes) == 1 and json.loads(notes[0].read_text())["stage"] == "search_console"
    assert summary["search_console"]["failure_note"] == str(notes[0])
    # The rest of the run completed: the sample deliveries are published and the report written.
    assert summary["ingest"]["by_status"] == {"ingested": 6}
    assert summary["publish"]["version"] == json.loads(world.manifest.read_text())["version"]
    assert Path(summary["report"]["report"]).exists()
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
    assert any("search_console failed" in line and "HTTP 403" in line for line in errors), errors
    assert any("the rest of the run completed" in line for line in errors), errors


def test_airflow_connection_extras_and_unsafe_credential_types(tmp_path: Path) -> None:
    key_file = service_account_file(tmp_path, "http://127.0.0.1:9/token")
    info = json.loads(key_file.read_text())
    from_dict = credentials_from_connection_extra({"keyfile_dict": json.dumps(info)}, None)
    from_path = credentials_from_connection_extra(
        {"extra__google_cloud_platform__key_path": str(key_file)}, None
    )
    assert {type(from_dict).__name__, type(from_path).__name__} == {"Credentials"}
    assert getattr(from_dict, "service_account_email", None) == info["client_email"]
    token = credentials_from_connection_extra({}, "ya29.token")
    assert token is not None and token.token == "ya29.token"
    assert credentials_from_connection_extra({}, None) is None
    with pytest.raises(
        ValueError, match="'external_account': expected 'service_account' or 'authorized_user'"
    ):
        credentials_from_connection_extra({"keyfile_dict": {"type": "external_account"}}, None)
