"""One URL through the crawler's whole path: shims, robots.txt, the guarded HTTP layer, redirects hop by
hop, meta refresh and interstitials, then canonical, robots directives and outlinks of the final page.

Every hop is checked on its own: the address guard runs when its connection is opened, robots.txt of
its origin is consulted first, and it takes a politeness slot of its host. The chain is recorded with
each status (301/308 permanent, 302/303/307 temporary) and how the next URL was found.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from pipeline.crawl.http import ACCEPT_HTML, FetchFailed, HttpClient, HttpResponse
from pipeline.crawl.page import (
    Outlink,
    PageInfo,
    analyse_html,
    choose_canonical,
    header_canonical,
    is_html,
    x_robots_tag,
)
from pipeline.crawl.politeness import HostPoliteness
from pipeline.crawl.robots import RobotsCache
from pipeline.crawl.shims import INTERSTITIAL_OWN_DOMAINS, interstitial_target, unwrap_shim

# A meta refresh slower than this is a page that reloads itself, not a redirect.
META_REFRESH_MAX_DELAY = 30.0

LinkPolicy = bool | Callable[[str], bool]


@dataclass(frozen=True)
class Hop:
    url: str
    status: int | None
    kind: str  # redirect | shim | meta_refresh | interstitial


@dataclass(frozen=True)
class FetchResult:
    url: str
    fetched_at: dt.datetime
    final_url: str | None = None
    status: int | None = None
    content_type: str | None = None
    redirects: tuple[Hop, ...] = ()
    canonical: str | None = None
    canonical_html: str | None = None
    canonical_header: str | None = None
    meta_robots: tuple[str, ...] = ()
    x_robots_tag: tuple[str, ...] = ()
    robots_allowed: bool | None = None
    links: tuple[Outlink, ...] = ()
    links_extracted: bool = False
    error: str | None = None
    error_kind: str | None = None
    truncated: bool = False
    not_modified: bool = False
    body_bytes: int = 0
    attempts: int = 0
    elapsed: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """The ``socialrank fetch --json`` object."""
        return {
            "url": self.url,
            "final_url": self.final_url,
            "status": self.status,
            "content_type": self.content_type,
            "redirects": [{"url": hop.url, "status": hop.status, "kind": hop.kind} for hop in self.redirects],
            "canonical": self.canonical,
            "canonical_html": self.canonical_html,
            "canonical_header": self.canonical_header,
            "meta_robots": list(self.meta_robots),
            "x_robots_tag": list(self.x_robots_tag),
            "robots_allowed": self.robots_allowed,
            "links": [{"url": link.url, "text": link.text, "rel": list(link.rel)} for link in self.links],
            "error": self.error,
            "error_kind": self.error_kind,
            "truncated": self.truncated,
            "not_modified": self.not_modified,
            "elapsed_ms": round(self.elapsed * 1000, 1),
        }


def _read_html_bodies(status: int, headers: Mapping[str, str]) -> bool:
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return 200 <= status < 300 and is_html(media_type)


def _next_url(current: str, location: str) -> str | None:
    try:
        target = urljoin(current, location.strip())
        return target if urlsplit(target).scheme in ("http", "https") else None
    except ValueError:
        return None


@dataclass
class _Walk:
    """The state of one fetch while it follows its chain."""

    url: str
    fetched_at: dt.datetime
    started: float
    hops: list[Hop] = field(default_factory=list)
    robots_allowed: bool | None = None
    attempts: int = 0

    def failed(
        self, kind: str, message: str, status: int | None = None, final_url: str | None = None
    ) -> FetchResult:
        return FetchResult(
            self.url,
            self.fetched_at,
            final_url=final_url,
            status=status,
            redirects=tuple(self.hops),
            robots_allowed=self.robots_allowed,
            error=message,
            error_kind=kind,
            attempts=self.attempts,
            elapsed=time.monotonic() - self.started,
        )


class PageFetcher:
    def __init__(
        self,
        client: HttpClient,
        robots: RobotsCache,
        *,
        token: str,
        max_redirects: int = 10,
        max_links: int = 1000,
        politeness: HostPoliteness | None = None,
        budget: float | None = None,
    ) -> None:
        self.client = client
        self.budget = budget
        self.robots = robots
        self.token = token
        self.max_redirects = max_redirects
        self.max_links = max_links
        self.politeness = politeness

    def fetch(self, url: str, extract_links: LinkPolicy = False) -> FetchResult:
        """Fetch ``url`` and follow its chain, all within the fetcher's time budget if it has one."""
        with self.client.time_budget(self.budget):
            return self._fetch(url, extract_links)

    def _fetch(self, url: str, extract_links: LinkPolicy) -> FetchResult:
        walk = _Walk(url, dt.datetime.now(dt.UTC), time.monotonic())
        visited: set[str] = set()
        current = url
        while True:
            if len(walk.hops) > self.max_redirects:
                return walk.failed("too_many_redirects", f"more than {self.max_redirects} redirects")
            target = unwrap_shim(current)
            if target is not None:
                walk.hops.append(Hop(current, None, "shim"))
                current = target
                continue
            if current in visited:
                return walk.failed("redirect_loop", f"redirect loop: {current} again")
            visited.add(current)
            if urlsplit(current).scheme not in ("http", "https") or not urlsplit(current).hostname:
                return walk.failed("invalid_url", f"not an http(s) URL: {current!r}")
            refusal = self._robots_refusal(walk, current)
            if refusal is not None:
                return refusal
            try:
                response = self.client.request(
                    "GET",
                    current,
                    headers={"Accept": ACCEPT_HTML},
                    read_body=_read_html_bodies,
                    conditional=True,
                )
            except FetchFailed as failure:
                walk.attempts += failure.attempts
                return walk.failed(failure.kind, failure.message)
            walk.attempts += response.attempts
            location = response.headers.get("location")
            if 300 <= response.status < 400 and location:
                walk.hops.append(Hop(current, response.status, "redirect"))
                following = _next_url(current, location)
                if following is None:
                    return walk.failed("invalid_url", f"redirect to {location!r}", response.status, current)
                current = following
                continue
            wanted = extract_links(current) if callable(extract_links) else extract_links
            page = self._analyse(response, current, wanted)
            following, kind = self._page_redirect(response, current, page)
            if following is not None:
                walk.hops.append(Hop(current, response.status, kind))
                current = following
                continue
            return self._result(walk, response, current, page, wanted)

    def _robots_refusal(self, walk: _Walk, url: str) -> FetchResult | None:
        try:
            rules = self.robots.rules_for(url)
        except FetchFailed as failure:
            walk.attempts += failure.attempts
            return walk.failed(failure.kind, failure.message)
        delay = rules.crawl_delay(self.token)
        if delay is not None and self.politeness is not None:
            self.politeness.set_crawl_delay((urlsplit(url).hostname or "").lower(), delay)
        if not rules.allowed(url, self.token):
            walk.robots_allowed = False
            return walk.failed("robots", rules.refusal(url))
        walk.robots_allowed = True
        return None

    def _analyse(self, response: HttpResponse, url: str, wanted: bool) -> PageInfo | None:
        if not response.body_read or not is_html(response.content_type):
            return None
        on_interstitial_host = (urlsplit(url).hostname or "").lower() in INTERSTITIAL_OWN_DOMAINS
        return analyse_html(
            response.body,
            url,
            response.headers.get("content-type"),
            token=self.token,
            extract_links=wanted or on_interstitial_host,
            max_links=self.max_links,
        )

    @staticmethod
    def _page_redirect(response: HttpResponse, url: str, page: PageInfo | None) -> tuple[str | None, str]:
        """A 200 page that sends the visitor on: a prompt meta refresh, or a shortener's interstitial."""
        if page is None or response.status != 200:
            return None, ""
        delay = page.meta_refresh_delay
        if (
            page.meta_refresh
            and page.meta_refresh != url
            and delay is not None
            and delay <= META_REFRESH_MAX_DELAY
        ):
            return page.meta_refresh, "meta_refresh"
        target = interstitial_target(url, page.links)
        return (target, "interstitial") if target else (None, "")

    def _result(
        self, walk: _Walk, response: HttpResponse, url: str, page: PageInfo | None, wanted: bool
    ) -> FetchResult:
        from_header = header_canonical(response.headers, url) if 200 <= response.status < 300 else None
        from_html = page.canonical_html if page is not None else None
        return FetchResult(
            walk.url,
            walk.fetched_at,
            final_url=url,
            status=response.status,
            content_type=response.content_type,
            redirects=tuple(walk.hops),
            canonical=choose_canonical(from_html, from_header),
            canonical_html=from_html,
            canonical_header=from_header,
            meta_robots=page.meta_robots if page is not None else (),
            x_robots_tag=x_robots_tag(response.headers, self.token),
            robots_allowed=walk.robots_allowed,
            links=page.links if page is not None and wanted else (),
            links_extracted=page is not None and wanted,
            truncated=response.truncated,
            not_modified=response.not_modified,
            body_bytes=len(response.body),
            attempts=walk.attempts,
            elapsed=time.monotonic() - walk.started,
        )
