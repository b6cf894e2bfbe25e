"""A crawl run: seed the frontier from the lake, fetch with many workers politely, write results to the lake.

Seeds are the outbound links found in social posts (each fetched by the URL as posted, keyed by its
canonical form) and, with ``crawl_linking_pages``, the pages known to link to owned pages (backlink-tool
sources, social permalinks). A URL is fetched again once ``refetch_after_days`` have passed. Outlinks are
read from pages of owned sites and from linking pages.

Workers record each finished fetch in the frontier (SQLite) at once; the main thread moves recorded
results to the lake in batches (``crawl_fetches``, ``crawl_links``). Killed at any point, the next run
resumes the same crawl: recorded URLs are not fetched again, unwritten batches are written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb

from pipeline import lake
from pipeline.canonical import host_of, registrable_domain, try_canonicalize
from pipeline.config import Settings
from pipeline.crawl.addresses import AddressGuard, Resolver, system_resolver
from pipeline.crawl.cache import ConditionalCache
from pipeline.crawl.fetcher import FetchResult, PageFetcher
from pipeline.crawl.frontier import Entry, Frontier, Seed
from pipeline.crawl.http import HttpClient
from pipeline.crawl.page import has_directive
from pipeline.crawl.politeness import HostPoliteness
from pipeline.crawl.robots import RobotsCache, RobotsStore
from pipeline.crawl.scheduler import HostScheduler
from pipeline.hosts import is_owned, owned_url_pattern
from pipeline.schemas import CRAWL_FETCHES, CRAWL_LINKS

log = logging.getLogger(__name__)

BATCH_RESULTS = 1000
PROGRESS_EVERY_SECONDS = 30.0

SOCIAL_LINK_SEEDS = """
SELECT canonical_url AS key, min(url) AS url
FROM read_parquet(?, union_by_name = true)
WHERE canonical_url IS NOT NULL
GROUP BY canonical_url
"""
# Pages known to link to an owned page: tool-reported sources, and social permalinks of owned links.
# Owned targets by the one owned-site rule, its regular expression bound as a parameter.
LINKING_PAGE_SEEDS = """
WITH targets AS (
    SELECT source_canonical AS key, min(source_url) AS url, target_canonical AS target
    FROM read_parquet(?, union_by_name = true)
    GROUP BY source_canonical, target_canonical
    UNION ALL
    SELECT permalink, min(permalink), canonical_url
    FROM read_parquet(?, union_by_name = true)
    WHERE permalink IS NOT NULL AND canonical_url IS NOT NULL
    GROUP BY permalink, canonical_url
)
SELECT DISTINCT key, url
FROM targets
WHERE regexp_matches(target, ?)
"""


@dataclass
class CrawlSummary:
    crawl_id: str
    resumed: bool
    seeded: int = 0
    pending: int = 0
    fetched: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    fetch_rows_written: int = 0
    link_rows_written: int = 0
    robots_fetched: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "crawl_id": self.crawl_id,
            "resumed": self.resumed,
            "seeded": self.seeded,
            "pending": self.pending,
            "fetched": self.fetched,
            "outcomes": dict(self.outcomes),
            "fetch_rows_written": self.fetch_rows_written,
            "link_rows_written": self.link_rows_written,
            "robots_fetched": self.robots_fetched,
            "seconds": round(self.seconds, 2),
        }


def crawl_state_dir(settings: Settings) -> Path:
    return settings.data.state / "crawl"


def _glob(settings: Settings, dataset: str) -> str:
    return str(settings.data.lake / dataset / "**" / "*.parquet")


def seeds_from_lake(settings: Settings) -> Iterator[Seed]:
    """Every outbound link of social posts; with ``crawl_linking_pages``, pages linking to owned pages."""
    lake.ensure_datasets(settings.data.lake)
    con = duckdb.connect()
    try:
        for key, url in con.execute(SOCIAL_LINK_SEEDS, [_glob(settings, "social_links")]).fetchall():
            yield Seed(key, url, "social_link", False)
        if settings.crawler.crawl_linking_pages:
            rows = con.execute(
                LINKING_PAGE_SEEDS,
                [
                    _glob(settings, "backlinks"),
                    _glob(settings, "social_links"),
                    owned_url_pattern(settings.owned_sites),
                ],
            ).fetchall()
            for key, url in rows:
                canonical = try_canonicalize(key, settings.www_policy)
                if canonical is not None:
                    yield Seed(canonical, url, "linking_page", True)
    finally:
        con.close()


def _fetch_id(crawl_id: str, key: str) -> str:
    return hashlib.sha256(f"{crawl_id}\0{key}".encode()).hexdigest()[:32]


def result_rows(
    crawl_id: str, entry: Entry, result: FetchResult, www_policy: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The lake rows of one fetch: its ``crawl_fetches`` row and its ``crawl_links`` rows."""
    fetch_id = _fetch_id(crawl_id, entry.key)
    fetched_at = result.fetched_at
    directives = (*result.meta_robots, *result.x_robots_tag)
    page_nofollow = has_directive(directives, "nofollow")
    fetch = {
        "fetch_id": fetch_id,
        "crawl_id": crawl_id,
        "purpose": entry.purpose,
        "url": entry.url,
        "url_canonical": entry.key,
        "final_url": result.final_url,
        "final_canonical": try_canonicalize(result.final_url, www_policy),
        "status": result.status,
        "content_type": result.content_type,
        "redirects": [{"url": hop.url, "status": hop.status, "kind": hop.kind} for hop in result.redirects],
        "canonical": result.canonical,
        "canonical_canonical": try_canonicalize(result.canonical, www_policy),
        "canonical_html": result.canonical_html,
        "canonical_header": result.canonical_header,
        "meta_robots": list(result.meta_robots),
        "x_robots_tag": list(result.x_robots_tag),
        "noindex": has_directive(directives, "noindex"),
        "nofollow": page_nofollow,
        "robots_allowed": result.robots_allowed,
        "links_extracted": result.links_extracted,
        "links_found": len(result.links),
        "error": result.error,
        "error_kind": result.error_kind,
        "truncated": result.truncated,
        "not_modified": result.not_modified,
        "body_bytes": result.body_bytes,
        "attempts": result.attempts,
        "elapsed_ms": round(result.elapsed * 1000, 3),
        "fetched_at": fetched_at,
        "fetch_date": fetched_at.date(),
    }
    source_domain = registrable_domain(host_of(entry.key))
    links = [
        {
            "fetch_id": fetch_id,
            "crawl_id": crawl_id,
            "source_url": entry.url,
            "source_canonical": entry.key,
            "source_domain": source_domain,
            "page_url": result.final_url or entry.url,
            "position": position,
            "target_url": link.url,
            "target_canonical": try_canonicalize(link.url, www_policy),
            "anchor": link.text or None,
            "rel": list(link.rel),
            "nofollow": "nofollow" in link.rel,
            "ugc": "ugc" in link.rel,
            "sponsored": "sponsored" in link.rel,
            "page_nofollow": page_nofollow,
            "fetched_at": fetched_at,
            "fetch_date": fetched_at.date(),
        }
        for position, link in enumerate(result.links)
    ]
    return fetch, links


def _from_json(row: dict[str, Any]) -> dict[str, Any]:
    """A row as kept in the frontier (JSON) back to lake types."""
    row["fetched_at"] = dt.datetime.fromisoformat(row["fetched_at"])
    row["fetch_date"] = dt.date.fromisoformat(row["fetch_date"])
    return row


def outcome_of(result: FetchResult) -> str:
    if result.error_kind:
        return result.error_kind
    return f"status_{result.status // 100}xx" if result.status else "unknown"


class Crawler:
    """One crawl over the frontier; ``resolver`` lets tests and benchmarks map host names to loopback."""

    def __init__(self, settings: Settings, resolver: Resolver = system_resolver) -> None:
        self.settings = settings
        crawler = settings.crawler
        state = crawl_state_dir(settings)
        self.politeness = HostPoliteness(
            crawler.per_host_concurrency, crawler.per_host_delay, crawler.max_crawl_delay
        )
        self.guard = AddressGuard(crawler.networks(), resolver)
        self.client = HttpClient.for_crawler(
            crawler, self.guard, self.politeness, ConditionalCache(state / "http-cache")
        )
        self.robots = RobotsCache(self.client, RobotsStore(state / "robots"))
        self.fetcher = PageFetcher(
            self.client,
            self.robots,
            token=crawler.robots_token,
            max_redirects=crawler.max_redirects,
            max_links=crawler.max_links_per_page,
            politeness=self.politeness,
        )
        self.frontier_path = state / "frontier.sqlite3"

    def _link_policy(self, entry: Entry) -> bool | Callable[[str], bool]:
        if entry.extract_links:
            return True
        owned_sites, www_policy = self.settings.owned_sites, self.settings.www_policy

        def final_page_is_owned(final_url: str) -> bool:
            canonical = try_canonicalize(final_url, www_policy)
            return canonical is not None and is_owned(canonical, owned_sites)

        return final_page_is_owned

    @staticmethod
    def _counted(seeds: Iterator[Seed], summary: CrawlSummary) -> Iterator[Seed]:
        for seed in seeds:
            summary.seeded += 1
            yield seed

    def run(self, run_date: dt.date) -> CrawlSummary:
        started = time.perf_counter()
        try:
            with Frontier(self.frontier_path) as frontier:
                summary = self._run(frontier, run_date)
        finally:
            self.client.close()
        summary.robots_fetched = self.robots.fetched
        summary.seconds = time.perf_counter() - started
        log.info(
            "crawl %s done: %d fetched in %.1fs (%s); lake rows: %d fetches, %d links",
            summary.crawl_id,
            summary.fetched,
            summary.seconds,
            ", ".join(f"{kind} {count}" for kind, count in sorted(summary.outcomes.items()))
            or "nothing to do",
            summary.fetch_rows_written,
            summary.link_rows_written,
        )
        return summary

    def _run(self, frontier: Frontier, run_date: dt.date) -> CrawlSummary:
        crawler = self.settings.crawler
        now = dt.datetime.now(dt.UTC)
        crawl_id, resumed = frontier.open_crawl(run_date, now)
        summary = CrawlSummary(crawl_id, resumed)
        if resumed:
            log.info("crawl %s: resuming an interrupted crawl", crawl_id)
        self._write_results(frontier, summary)
        summary.pending = frontier.seed(
            self._counted(seeds_from_lake(self.settings), summary),
            now - dt.timedelta(days=crawler.refetch_after_days),
        )
        entries = frontier.pending(crawler.max_fetches_per_run or summary.pending)
        log.info(
            "crawl %s: %d URLs known from the lake, %d due, fetching %d with %d workers "
            "(%d per host, %.2fs apart)",
            crawl_id,
            summary.seeded,
            summary.pending,
            len(entries),
            min(crawler.workers, len(entries)),
            crawler.per_host_concurrency,
            crawler.per_host_delay,
        )
        self._fetch_all(frontier, entries, summary)
        self._write_results(frontier, summary)
        if frontier.pending_count() > 0:
            log.info("crawl %s: %d URLs left for the next run", crawl_id, frontier.pending_count())
        frontier.finish_crawl(crawl_id, dt.datetime.now(dt.UTC))
        return summary

    def _fetch_all(self, frontier: Frontier, entries: list[Entry], summary: CrawlSummary) -> None:
        scheduler: HostScheduler[Entry] = HostScheduler(self.politeness)
        for entry in entries:
            scheduler.put((urlsplit(entry.url).hostname or "").lower(), entry)
        finished: queue.Queue[tuple[Entry, FetchResult]] = queue.Queue()
        workers = [
            threading.Thread(
                target=self._work, args=(scheduler, finished), name=f"crawl-{number}", daemon=True
            )
            for number in range(min(self.settings.crawler.workers, len(entries)))
        ]
        for worker in workers:
            worker.start()
        recorded_since_write = 0
        last_progress = time.monotonic()
        try:
            while any(worker.is_alive() for worker in workers) or not finished.empty():
                try:
                    entry, result = finished.get(timeout=0.2)
                except queue.Empty:
                    continue
                fetch, links = result_rows(summary.crawl_id, entry, result, self.settings.www_policy)
                frontier.record(
                    summary.crawl_id, entry.key, result.fetched_at, {"fetch": fetch, "links": links}
                )
                summary.fetched += 1
                summary.outcomes[outcome_of(result)] += 1
                recorded_since_write += 1
                if recorded_since_write >= BATCH_RESULTS:
                    self._write_results(frontier, summary)
                    recorded_since_write = 0
                if time.monotonic() - last_progress > PROGRESS_EVERY_SECONDS:
                    last_progress = time.monotonic()
                    log.info("crawl %s: %d of %d fetched", summary.crawl_id, summary.fetched, len(entries))
        finally:
            scheduler.close()

    def _work(
        self, scheduler: HostScheduler[Entry], finished: queue.Queue[tuple[Entry, FetchResult]]
    ) -> None:
        while (taken := scheduler.get()) is not None:
            host, entry = taken
            try:
                result = self.fetcher.fetch(entry.url, self._link_policy(entry))
            except Exception as exc:  # a bug on one page must not stop the crawl: record it, keep the trace
                log.error("crawl: fetching %s failed unexpectedly:\n%s", entry.url, traceback.format_exc())
                result = FetchResult(
                    entry.url,
                    dt.datetime.now(dt.UTC),
                    error=f"internal error: {exc!r}",
                    error_kind="internal",
                )
            finally:
                scheduler.done(host)
            finished.put((entry, result))

    def _write_results(self, frontier: Frontier, summary: CrawlSummary) -> None:
        """Recorded results to the lake: leftovers of a killed run first, then a new batch."""
        frontier.assign_batch(summary.crawl_id)
        for batch in frontier.unwritten_batches(summary.crawl_id):
            fetch_rows: list[dict[str, Any]] = []
            link_rows: list[dict[str, Any]] = []
            for payload in frontier.batch_payloads(summary.crawl_id, batch):
                fetch_rows.append(_from_json(payload["fetch"]))
                link_rows.extend(_from_json(link) for link in payload["links"])
            stem = f"crawl-{summary.crawl_id}-{batch:05d}"
            lake.write_partitioned(self.settings.data.lake, CRAWL_FETCHES, fetch_rows, stem)
            lake.write_partitioned(self.settings.data.lake, CRAWL_LINKS, link_rows, stem)
            frontier.mark_written(summary.crawl_id, batch)
            summary.fetch_rows_written += len(fetch_rows)
            summary.link_rows_written += len(link_rows)
            log.info(
                "crawl %s: batch %d in the lake (%d fetches, %d links)",
                summary.crawl_id,
                batch,
                len(fetch_rows),
                len(link_rows),
            )


def run_crawl(settings: Settings, run_date: dt.date, resolver: Resolver = system_resolver) -> CrawlSummary:
    return Crawler(settings, resolver).run(run_date)
