"""The Search Console API client: ``searchanalytics.query`` through the guarded HTTP layer.

- One property and one day per query, dimensions ``date,page,query`` (``+country,device`` when
  configured), ``rowLimit`` 25,000 and ``startRow`` paging until a short page, ``dataState``, ``type``.
- The documented quota (1,200 queries per minute per site and per user) is respected client-side: the
  API host gets one request at a time, ``60 / queries_per_minute`` seconds apart. 429 and 5xx are retried
  with backoff, honouring ``Retry-After`` up to five minutes; beyond that the stage fails and Airflow
  retries it later (Search Console asks for 15 minutes after a load-quota error).
- Credentials come from an Airflow connection or the environment, loaded by google-auth (service
  account keys, authorized-user refresh tokens or a bare OAuth access token); token requests also go
  through the guarded session.
- Every response is stored raw in the landing zone before anything parses it:
  ``landing/rankings/search_console_api/<property>_<day>_<dataState>_<fetched>/`` holds ``manifest.json``
  and ``page-NNNNN.json`` as received. The ``search_console_api`` source format
  (:mod:`pipeline.sources.search_console_api`) turns them into ranking records at ingest, so a re-parse
  never needs the API again. The folder is written under a hidden name and renamed when complete.
- Search Console's data delay: a nightly run for day D asks which days are final (a ``dataState=all``
  query grouped by date reports ``metadata.firstIncompleteDate``) and fetches every day that became
  final since the property's watermark; a backfill fetches exactly its date and leaves the watermark.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from google.auth.credentials import Credentials

from pipeline.config import Settings
from pipeline.crawl import google_credentials
from pipeline.crawl.addresses import AddressGuard, Resolver, system_resolver
from pipeline.crawl.google_api import GoogleApi
from pipeline.crawl.google_credentials import LoadedCredentials
from pipeline.crawl.http import HttpClient
from pipeline.crawl.politeness import HostPoliteness
from pipeline.crawl.settings import SearchConsoleSettings

log = logging.getLogger(__name__)

SCOPES = ["https://www.googleapis.com/auth/webmasters.readonly"]
ROW_LIMIT = 25_000
FORMAT_MARKER = "socialrank.search_console_api/1"
LANDING_FAMILY, LANDING_SOURCE = "rankings", "search_console_api"
API_MAX_BYTES = 256 * 1024 * 1024
MAX_RETRY_AFTER = 300.0
# Search Console keeps 16 months of data.
RETENTION_DAYS = 486
ENV_ACCESS_TOKEN = "SOCIALRANK_GSC_ACCESS_TOKEN"
ENV_CREDENTIALS_FILE = "SOCIALRANK_GSC_CREDENTIALS_FILE"


class SearchConsoleError(RuntimeError):
    """The API refused or failed a query (after retries): names the property and why."""


# --- credentials -----------------------------------------------------------------------------------


def credentials_from_connection_extra(extra: Mapping[str, Any], password: str | None) -> Credentials | None:
    """Search Console credentials from an Airflow connection's extras (see :mod:`google_credentials`)."""
    return google_credentials.from_connection_extra(extra, password, SCOPES)


def find_credentials(
    settings: SearchConsoleSettings, environ: Mapping[str, str], in_airflow: bool
) -> LoadedCredentials | None:
    """Airflow connection first (inside a task), then the environment; ``None`` when neither has any."""
    try:
        return google_credentials.find(
            settings.connection_id, environ, in_airflow, ENV_ACCESS_TOKEN, ENV_CREDENTIALS_FILE, SCOPES
        )
    except google_credentials.Unusable as exc:
        raise SearchConsoleError(f"Search Console credentials are unusable: {exc}") from exc


# --- the client ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchedDay:
    site: str
    day: dt.date
    data_state: str
    pages: list[bytes]
    rows: int


class SearchConsoleClient:
    def __init__(self, api: GoogleApi, settings: SearchConsoleSettings) -> None:
        self.api = api
        self.settings = settings

    def _query(self, site: str, body: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        url = f"{self.settings.api_base.rstrip('/')}/sites/{quote(site, safe='')}/searchAnalytics/query"
        return self.api.post(site, url, body)

    def final_through(self, site: str, start: dt.date, end: dt.date) -> dt.date:
        """The last day in ``start..end`` whose data is final (``start - 1`` when none is)."""
        _, data = self._query(
            site,
            {
                "startDate": start.isoformat(),
                "endDate": end.isoformat(),
                "dimensions": ["date"],
                "type": self.settings.search_type,
                "dataState": "all",
                "rowLimit": ROW_LIMIT,
            },
        )
        days_with_data = [dt.date.fromisoformat(row["keys"][0]) for row in data.get("rows", [])]
        incomplete = data.get("metadata", {}).get("firstIncompleteDate")
        last = dt.date.fromisoformat(incomplete) - dt.timedelta(days=1) if incomplete else end
        # A day without any row yet is not known to be final, whatever the metadata says.
        return min(last, max(days_with_data)) if days_with_data else start - dt.timedelta(days=1)

    def fetch_day(self, site: str, day: dt.date, data_state: str) -> FetchedDay:
        """Every row of one day, page by page until a page comes back short."""
        pages: list[bytes] = []
        rows = 0
        while True:
            raw, data = self._query(
                site,
                {
                    "startDate": day.isoformat(),
                    "endDate": day.isoformat(),
                    "dimensions": list(self.settings.dimensions),
                    "type": self.settings.search_type,
                    "dataState": data_state,
                    "rowLimit": ROW_LIMIT,
                    "startRow": rows,
                },
            )
            pages.append(raw)
            page_rows = len(data.get("rows", []))
            rows += page_rows
            if page_rows < ROW_LIMIT:
                return FetchedDay(site, day, data_state, pages, rows)


# --- landing and watermarks ------------------------------------------------------------------------


def property_slug(site: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "_", site).strip("_")


def land(
    landing: Path, fetched: FetchedDay, settings: SearchConsoleSettings, fetched_at: dt.datetime
) -> Path:
    """Store one day's raw responses as a delivery folder; complete or invisible, never half there."""
    stamp = fetched_at.strftime("%Y%m%dT%H%M%S%f")
    name = f"{property_slug(fetched.site)}_{fetched.day.isoformat()}_{fetched.data_state}_{stamp}"
    target = landing / LANDING_FAMILY / LANDING_SOURCE / name
    staging = target.with_name(f".{name}.{uuid.uuid4().hex}.inprogress")
    staging.mkdir(parents=True)
    page_names = [f"page-{index:05d}.json" for index in range(len(fetched.pages))]
    for page_name, raw in zip(page_names, fetched.pages, strict=True):
        (staging / page_name).write_bytes(raw)
    # No fetch time in the manifest: the same answer fetched twice is the same delivery (content hash).
    manifest = {
        "format": FORMAT_MARKER,
        "property": fetched.site,
        "date": fetched.day.isoformat(),
        "data_state": fetched.data_state,
        "search_type": settings.search_type,
        "dimensions": list(settings.dimensions),
        "row_limit": ROW_LIMIT,
        "pages": page_names,
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for path in (*staging.iterdir(), staging):
        handle = os.open(path, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
    staging.rename(target)
    return target


class Watermarks:
    """Per property, the last day fetched as final by a nightly run."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, site: str) -> Path:
        return self.directory / f"{property_slug(site)}.json"

    def get(self, site: str) -> dt.date | None:
        try:
            data = json.loads(self._path(site).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return dt.date.fromisoformat(data["final_through"]) if data.get("property") == site else None

    def set(self, site: str, day: dt.date) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(site)
        staged = path.with_name(f".{path.name}.{uuid.uuid4().hex}.inprogress")
        staged.write_text(json.dumps({"property": site, "final_through": day.isoformat()}) + "\n", "utf-8")
        staged.replace(path)


# --- a fetch run -----------------------------------------------------------------------------------


@dataclass
class PropertyResult:
    days: list[str] = field(default_factory=list)
    rows: int = 0
    landed: list[str] = field(default_factory=list)
    final_through: str | None = None
    error: str | None = None


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


def api_client(
    settings: Settings, credentials: Credentials, resolver: Resolver = system_resolver
) -> SearchConsoleClient:
    search_console = settings.search_console
    http = HttpClient(
        AddressGuard(settings.crawler.networks(), resolver),
        user_agent=settings.crawler.user_agent,
        connect_timeout=settings.crawler.connect_timeout,
        read_timeout=search_console.timeout,
        total_timeout=search_console.timeout * 2,
        max_bytes=API_MAX_BYTES,
        max_retries=search_console.max_retries,
        backoff_base=2.0,
        backoff_max=120.0,
        max_retry_after=MAX_RETRY_AFTER,
        politeness=HostPoliteness(1, 60.0 / search_console.queries_per_minute),
    )
    return SearchConsoleClient(
        GoogleApi(http, credentials, SearchConsoleError, API_MAX_BYTES), search_console
    )


def fetch_properties(
    settings: Settings, client: SearchConsoleClient, run_date: dt.date, *, backfill: bool
) -> dict[str, PropertyResult]:
    """Fetch and land every configured property; one property's failure does not stop the others."""
    results: dict[str, PropertyResult] = {}
    watermarks = Watermarks(settings.data.state / "search_console")
    for site in settings.search_console.properties:
        result = results[site] = PropertyResult()
        try:
            _fetch_property(settings, client, site, run_date, backfill, watermarks, result)
        except SearchConsoleError as exc:
            result.error = str(exc)
            log.error("Search Console %s: %s", site, exc)
    return results


def _fetch_property(
    settings: Settings,
    client: SearchConsoleClient,
    site: str,
    run_date: dt.date,
    backfill: bool,
    watermarks: Watermarks,
    result: PropertyResult,
) -> None:
    search_console = settings.search_console
    plan: list[tuple[dt.date, str]]
    if backfill:
        plan = [(run_date, search_console.data_state)]
    else:
        watermark = watermarks.get(site)
        first = (
            watermark + dt.timedelta(days=1)
            if watermark
            else run_date - dt.timedelta(days=search_console.initial_lookback_days - 1)
        )
        oldest_kept = run_date - dt.timedelta(days=RETENTION_DAYS)
        if first < oldest_kept:
            log.warning("Search Console %s: days before %s are past the API's retention", site, oldest_kept)
            first = oldest_kept
        if first > run_date:
            log.info("Search Console %s: final through %s already, nothing new", site, watermark)
            return
        final_through = client.final_through(site, first, run_date)
        result.final_through = final_through.isoformat()
        plan = [(day, "final") for day in _days(first, final_through)] if final_through >= first else []
        if search_console.data_state == "all":
            fresh_from = max(first, final_through + dt.timedelta(days=1))
            plan += [(day, "all") for day in _days(fresh_from, run_date)]
        log.info(
            "Search Console %s: data final through %s; fetching %d day(s) from %s (watermark %s)",
            site,
            final_through,
            len(plan),
            first,
            watermark,
        )
    for day, data_state in plan:
        fetched = client.fetch_day(site, day, data_state)
        path = land(settings.data.landing, fetched, search_console, dt.datetime.now(dt.UTC))
        result.days.append(day.isoformat())
        result.rows += fetched.rows
        result.landed.append(str(path.relative_to(settings.data.landing)))
        log.info(
            "Search Console %s %s (%s): %d rows in %d page(s) -> %s",
            site,
            day,
            data_state,
            fetched.rows,
            len(fetched.pages),
            path,
        )
        if not backfill and data_state == "final":
            watermarks.set(site, day)
