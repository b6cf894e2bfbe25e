"""The ``[crawler]``, ``[search_console]`` and ``[ga4]`` sections of ``socialrank.toml``, with safe defaults.

The crawler is off unless ``[crawler] enabled = true``: the bundled sample data links to made-up pages,
and neither ``make run`` nor the tests may reach the internet. Networks the address guard lets through
(loopback, private ranges, ...) come from ``allow_networks`` and, for tests and one-off runs, from
``SOCIALRANK_ALLOW_NETWORKS`` (comma-separated CIDRs). Secrets never live here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

ALLOW_NETWORKS_ENV = "SOCIALRANK_ALLOW_NETWORKS"
DEFAULT_USER_AGENT = (
    "socialrank/0.1 (+https://github.com/socialrank/socialrank; crawler of links shared socially)"
)
# Search Console's documented Search Analytics limit: 1,200 queries per minute per site and per user.
SEARCH_CONSOLE_MAX_QPM = 1200
SEARCH_CONSOLE_DIMENSIONS = ("date", "page", "query")
SEARCH_CONSOLE_EXTRA_DIMENSIONS = ("country", "device")

# The GA4 Data API's runReport: at most 250,000 rows a request (its documented maximum ``limit``).
GA4_MAX_PAGE_SIZE = 250_000

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class CrawlerSettings:
    enabled: bool = False
    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    # Bounds one response as a whole, also against servers that drip bytes just under the read timeout.
    total_timeout: float = 60.0
    # Bounds `socialrank fetch` of one URL as a whole: its robots.txt, redirect hops, retries and waits.
    fetch_budget: float = 30.0
    max_bytes: int = 2_000_000
    max_redirects: int = 10
    max_retries: int = 3
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    max_retry_after: float = 120.0
    per_host_concurrency: int = 2
    per_host_delay: float = 1.0
    max_crawl_delay: float = 60.0
    workers: int = 32
    refetch_after_days: int = 30
    max_fetches_per_run: int = 50_000
    max_links_per_page: int = 1000
    crawl_linking_pages: bool = False
    allow_networks: tuple[str, ...] = ()

    @property
    def robots_token(self) -> str:
        """The product token robots.txt groups are matched against: the user agent's first word."""
        return self.user_agent.split("/", 1)[0].split()[0].lower()

    def networks(self) -> tuple[Network, ...]:
        return tuple(parse_network(text, "[crawler] allow_networks") for text in self.allow_networks)


@dataclass(frozen=True)
class SearchConsoleSettings:
    properties: tuple[str, ...] = ()
    country_device: bool = False
    search_type: str = "web"
    data_state: str = "final"
    connection_id: str = "google_search_console"
    queries_per_minute: int = SEARCH_CONSOLE_MAX_QPM
    api_base: str = "https://searchconsole.googleapis.com/webmasters/v3"
    initial_lookback_days: int = 30
    max_retries: int = 5
    timeout: float = 120.0

    @property
    def dimensions(self) -> tuple[str, ...]:
        extra = SEARCH_CONSOLE_EXTRA_DIMENSIONS if self.country_device else ()
        return (*SEARCH_CONSOLE_DIMENSIONS, *extra)


@dataclass(frozen=True)
class Ga4Settings:
    """``[ga4]``: GA4 properties fetched through the Data API (:mod:`pipeline.crawl.ga4`)."""

    properties: tuple[str, ...] = ()  # numeric property ids, e.g. "123456789"
    connection_id: str = "google_analytics"
    api_base: str = "https://analyticsdata.googleapis.com/v1beta"
    # A nightly run fetches its day and the days before it: GA4 keeps processing a day for up to 48
    # hours, so each is fetched again until it settles (the latest delivery of a day wins).
    refetch_days: int = 3
    page_size: int = 10_000
    max_retries: int = 5
    timeout: float = 120.0
    # Seconds one property's fetch may take as a whole, retries and waits included.
    time_budget: float = 900.0


def parse_network(text: str, where: str) -> Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as exc:
        raise ValueError(f"{where}: {text!r} is not a network in CIDR notation (e.g. 127.0.0.0/8)") from exc


def networks_from_env(environ: Mapping[str, str]) -> tuple[str, ...]:
    """CIDRs from ``SOCIALRANK_ALLOW_NETWORKS``, validated."""
    items = tuple(item.strip() for item in environ.get(ALLOW_NETWORKS_ENV, "").split(",") if item.strip())
    for item in items:
        parse_network(item, ALLOW_NETWORKS_ENV)
    return items


def _typed(section: str, raw: Mapping[str, Any], defaults: Any) -> dict[str, Any]:
    """Keys of ``raw`` checked against the dataclass fields: unknown keys and wrong types are errors."""
    known = {field.name: getattr(defaults, field.name) for field in fields(defaults)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            raise ValueError(f"[{section}] has no setting {key!r} (known: {', '.join(sorted(known))})")
        default = known[key]
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ValueError(f"[{section}] {key} must be a list of strings, got {value!r}")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ValueError(f"[{section}] {key} must be true or false, got {value!r}")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"[{section}] {key} must be a non-negative number, got {value!r}")
            value = float(value)
        elif isinstance(default, int):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"[{section}] {key} must be a non-negative integer, got {value!r}")
        elif not isinstance(value, str):
            raise ValueError(f"[{section}] {key} must be a string, got {value!r}")
        values[key] = value
    return values


def crawler_settings(raw: Mapping[str, Any], environ: Mapping[str, str]) -> CrawlerSettings:
    values = _typed("crawler", raw, CrawlerSettings())
    values["allow_networks"] = (*values.get("allow_networks", ()), *networks_from_env(environ))
    settings = CrawlerSettings(**values)
    settings.networks()
    for name in ("per_host_concurrency", "workers", "max_bytes"):
        if getattr(settings, name) < 1:
            raise ValueError(f"[crawler] {name} must be at least 1")
    if not settings.user_agent.strip():
        raise ValueError("[crawler] user_agent must name the crawler")
    return settings


def search_console_settings(raw: Mapping[str, Any]) -> SearchConsoleSettings:
    settings = SearchConsoleSettings(**_typed("search_console", raw, SearchConsoleSettings()))
    if settings.data_state not in ("final", "all"):
        raise ValueError(f"[search_console] data_state must be 'final' or 'all', got {settings.data_state!r}")
    if not 1 <= settings.queries_per_minute <= SEARCH_CONSOLE_MAX_QPM:
        raise ValueError(
            f"[search_console] queries_per_minute must be within 1..{SEARCH_CONSOLE_MAX_QPM} "
            "(the documented per-site limit)"
        )
    if not settings.api_base.startswith(("https://", "http://")):
        raise ValueError(f"[search_console] api_base must be an http(s) URL, got {settings.api_base!r}")
    return settings


def ga4_settings(raw: Mapping[str, Any]) -> Ga4Settings:
    settings = Ga4Settings(**_typed("ga4", raw, Ga4Settings()))
    for prop in settings.properties:
        if not prop.isdigit():
            raise ValueError(
                f"[ga4] properties: {prop!r} is not a GA4 property id (the number under Admin > Property "
                'details, e.g. "123456789"; not a G- measurement id)'
            )
    if not 1 <= settings.page_size <= GA4_MAX_PAGE_SIZE:
        raise ValueError(f"[ga4] page_size must be within 1..{GA4_MAX_PAGE_SIZE} (the API's maximum limit)")
    if settings.refetch_days < 1:
        raise ValueError("[ga4] refetch_days must be at least 1 (the run's own day)")
    if not settings.api_base.startswith(("https://", "http://")):
        raise ValueError(f"[ga4] api_base must be an http(s) URL, got {settings.api_base!r}")
    return settings
