"""The GA4 Data API client: ``properties/{id}:runReport`` (v1beta) through the guarded HTTP layer.

- One property and one day per report (``dateRanges`` of that day), dimensions ``date``,
  ``landingPagePlusQueryString``, ``sessionSource``, ``sessionMedium``, ``sessionDefaultChannelGroup``
  (``+hostName`` when several owned sites are configured: a landing page is a path), metrics
  ``sessions``, ``engagedSessions``, ``averageSessionDuration``, ``bounceRate``; ``limit``/``offset``
  paging until ``rowCount`` rows have come, ordered by every dimension so pages do not overlap.
- ``returnPropertyQuota`` asks for the property's token quota, logged with each day. A spent quota (HTTP
  429 ``RESOURCE_EXHAUSTED``) and 5xx are retried with backoff, honouring ``Retry-After``; one property's
  fetch as a whole has a time budget (``[ga4] time_budget``), after which the stage fails and the next
  run tries again. Other refusals (403: the credentials may not read the property) fail at once with what
  to fix.
- Credentials come from an Airflow connection or the environment (:mod:`google_credentials`).
- Every day's responses are stored raw in the landing zone before anything parses them: one file,
  ``landing/traffic/ga4_api/<property>_<day>_<fetched>.json``, holding the request and the responses as
  received, written under a hidden name and renamed when complete. The ``ga4_api`` source format
  (:mod:`pipeline.sources.ga4_api`) turns it into traffic records at ingest, so a re-parse never needs the
  API again.
- GA4 keeps processing a day for up to two days: a nightly run fetches its day and the
  ``refetch_days - 1`` days before it again; the latest delivery of a day is the one the warehouse uses.
  A backfill fetches exactly its date.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.auth.credentials import Credentials

from pipeline.config import Settings
from pipeline.crawl import google_credentials
from pipeline.crawl.addresses import AddressGuard, Resolver, system_resolver
from pipeline.crawl.google_api import GoogleApi
from pipeline.crawl.google_credentials import LoadedCredentials
from pipeline.crawl.http import HttpClient
from pipeline.crawl.settings import Ga4Settings

log = logging.getLogger(__name__)

SCOPES = ["https://www.googleapis.com/auth/analytics.readonly"]
FORMAT_MARKER = "socialrank.ga4_api/1"
LANDING_FAMILY, LANDING_SOURCE = "traffic", "ga4_api"
DIMENSIONS = (
    "date",
    "landingPagePlusQueryString",
    "sessionSource",
    "sessionMedium",
    "sessionDefaultChannelGroup",
)
HOSTNAME_DIMENSION = "hostName"
METRICS = ("sessions", "engagedSessions", "averageSessionDuration", "bounceRate")
API_MAX_BYTES = 256 * 1024 * 1024
MAX_RETRY_AFTER = 300.0
ENV_ACCESS_TOKEN = "SOCIALRANK_GA4_ACCESS_TOKEN"
ENV_CREDENTIALS_FILE = "SOCIALRANK_GA4_CREDENTIALS_FILE"
# What to do about a refusal, by the API's HTTP status.
_FIXES = {
    400: "check the property id in [ga4] properties (the number under Admin > Property details)",
    401: "the credentials were refused: renew the key or token (Airflow connection or environment)",
    403: "give the credentials' account (a service account's client_email) the Viewer role on the "
    "property (GA4 Admin > Property access management), enable the Google Analytics Data API in its "
    "Google Cloud project, and check the property id in [ga4] properties",
    404: "check the property id in [ga4] properties (the number under Admin > Property details)",
    429: "the property's quota is spent for now (tokens per hour or day): the next run fetches again; "
    "lower [ga4] refetch_days if this happens every night",
}


class Ga4Error(RuntimeError):
    """The API refused or failed a report (after retries): names the property, why and what to fix."""


def find_credentials(
    settings: Ga4Settings, environ: Mapping[str, str], in_airflow: bool
) -> LoadedCredentials | None:
    """Airflow connection first (inside a task), then the environment; ``None`` when neither has any."""
    try:
        return google_credentials.find(
            settings.connection_id, environ, in_airflow, ENV_ACCESS_TOKEN, ENV_CREDENTIALS_FILE, SCOPES
        )
    except google_credentials.Unusable as exc:
        raise Ga4Error(f"GA4 credentials are unusable: {exc}") from exc


@dataclass(frozen=True)
class FetchedDay:
    prop: str
    day: dt.date
    request: dict[str, Any]  # the report asked for, without its paging
    pages: list[bytes]
    rows: int


class Ga4Client:
    def __init__(self, api: GoogleApi, settings: Ga4Settings, dimensions: tuple[str, ...]) -> None:
        self.api = api
        self.settings = settings
        self.dimensions = dimensions

    def report(self, day: dt.date) -> dict[str, Any]:
        """One day's report request, without ``offset``."""
        return {
            "dateRanges": [{"startDate": day.isoformat(), "endDate": day.isoformat()}],
            "dimensions": [{"name": name} for name in self.dimensions],
            "metrics": [{"name": name} for name in METRICS],
            "orderBys": [{"dimension": {"dimensionName": name}} for name in self.dimensions],
            "limit": self.settings.page_size,
            "returnPropertyQuota": True,
        }

    def _run_report(self, prop: str, body: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        url = f"{self.settings.api_base.rstrip('/')}/properties/{prop}:runReport"
        return self.api.post(f"property {prop}", url, body)

    def fetch_day(self, prop: str, day: dt.date) -> FetchedDay:
        """Every row of one day, page by page until ``rowCount`` rows have come."""
        request = self.report(day)
        pages: list[bytes] = []
        rows = 0
        while True:
            raw, data = self._run_report(prop, {**request, "offset": rows})
            pages.append(raw)
            page_rows = len(data.get("rows") or [])
            rows += page_rows
            try:
                total = int(data.get("rowCount") or 0)  # absent when the report is empty
            except (TypeError, ValueError) as exc:
                raise Ga4Error(f"property {prop}: rowCount {data.get('rowCount')!r} is not a number") from exc
            if page_rows == 0 or rows >= total:
                _log_answer(prop, day, data)
                return FetchedDay(prop, day, request, pages, rows)


def _log_answer(prop: str, day: dt.date, data: dict[str, Any]) -> None:
    metadata, quota = data.get("metadata"), data.get("propertyQuota")
    if isinstance(metadata, dict) and metadata.get("dataLossFromOtherRow"):
        log.warning("GA4 property %s %s: some rows were grouped into '(other)' by GA4", prop, day)
    if isinstance(metadata, dict) and metadata.get("subjectToThresholding"):
        log.warning("GA4 property %s %s: rows withheld by GA4's thresholds (low counts)", prop, day)
    for name in ("tokensPerDay", "tokensPerHour"):
        state = quota.get(name) if isinstance(quota, dict) else None
        if isinstance(state, dict) and state.get("remaining") is not None:
            log.info("GA4 property %s: %s remaining %s", prop, name, state["remaining"])


# --- landing -----------------------------------------------------------------------------------------


def land(landing: Path, fetched: FetchedDay, fetched_at: dt.datetime) -> Path:
    """Store one day's raw responses as one delivery file; complete or invisible, never half there."""
    stamp = fetched_at.strftime("%Y%m%dT%H%M%S%f")
    name = f"{fetched.prop}_{fetched.day.isoformat()}_{stamp}.json"
    target = landing / LANDING_FAMILY / LANDING_SOURCE / name
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{name}.{uuid.uuid4().hex}.inprogress")
    # The responses go in byte for byte as received (each is a JSON document): no fetch time in the file,
    # so the same answer fetched twice is the same delivery.
    head = json.dumps(
        {
            "format": FORMAT_MARKER,
            "property": fetched.prop,
            "date": fetched.day.isoformat(),
            "request": fetched.request,
        }
    )
    with staging.open("wb") as out:
        out.write(head[:-1].encode() + b', "responses": [\n')
        out.write(b",\n".join(fetched.pages))
        out.write(b"\n]}\n")
        out.flush()
        os.fsync(out.fileno())
    staging.rename(target)
    return target


# --- a fetch run -------------------------------------------------------------------------------------


@dataclass
class PropertyResult:
    days: list[str] = field(default_factory=list)
    rows: int = 0
    landed: list[str] = field(default_factory=list)
    error: str | None = None


def api_client(
    settings: Settings, credentials: Credentials, resolver: Resolver = system_resolver
) -> Ga4Client:
    ga4 = settings.ga4
    http = HttpClient(
        AddressGuard(settings.crawler.networks(), resolver),
        user_agent=settings.crawler.user_agent,
        connect_timeout=settings.crawler.connect_timeout,
        read_timeout=ga4.timeout,
        total_timeout=ga4.timeout * 2,
        max_bytes=API_MAX_BYTES,
        max_retries=ga4.max_retries,
        backoff_base=2.0,
        backoff_max=120.0,
        max_retry_after=MAX_RETRY_AFTER,
    )
    # A landing page is a path: with several owned sites, which one it is on needs the host name.
    extra = (HOSTNAME_DIMENSION,) if len(settings.owned_sites) > 1 else ()
    return Ga4Client(
        GoogleApi(http, credentials, Ga4Error, API_MAX_BYTES, _FIXES), ga4, (*DIMENSIONS, *extra)
    )


def days_to_fetch(settings: Ga4Settings, run_date: dt.date, *, backfill: bool) -> list[dt.date]:
    if backfill:
        return [run_date]
    return [run_date - dt.timedelta(days=back) for back in range(settings.refetch_days - 1, -1, -1)]


def fetch_properties(
    settings: Settings, client: Ga4Client, run_date: dt.date, *, backfill: bool
) -> dict[str, PropertyResult]:
    """Fetch and land every configured property; one property's failure does not stop the others."""
    results: dict[str, PropertyResult] = {}
    days = days_to_fetch(settings.ga4, run_date, backfill=backfill)
    for prop in settings.ga4.properties:
        result = results[prop] = PropertyResult()
        try:
            with client.api.http.time_budget(settings.ga4.time_budget):
                for day in days:
                    fetched = client.fetch_day(prop, day)
                    path = land(settings.data.landing, fetched, dt.datetime.now(dt.UTC))
                    result.days.append(day.isoformat())
                    result.rows += fetched.rows
                    result.landed.append(str(path.relative_to(settings.data.landing)))
                    log.info(
                        "GA4 property %s %s: %d rows in %d page(s) -> %s",
                        prop,
                        day,
                        fetched.rows,
                        len(fetched.pages),
                        path,
                    )
        except Ga4Error as exc:
            result.error = str(exc)
            log.error("GA4 property %s: %s", prop, exc)
    return results
