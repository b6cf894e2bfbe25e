"""``socialrank fetch``, ``crawl``, ``fetch-gsc`` and ``fetch-ga4``: handlers and their parsers.

``pipeline.cli`` registers them with :func:`add_parsers` (its ``add(name, handler, help)`` helper).
Exit codes follow the CLI's: 0 success, 1 the fetch was refused or failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from pipeline import stages
from pipeline.cli_support import AddCommand, date_argument, default_run_date, json_output
from pipeline.config import Settings
from pipeline.crawl.addresses import AddressGuard
from pipeline.crawl.fetcher import FetchResult, PageFetcher
from pipeline.crawl.http import HttpClient
from pipeline.crawl.politeness import HostPoliteness
from pipeline.crawl.robots import RobotsCache

log = logging.getLogger("socialrank")
EXIT_OK, EXIT_FAILED = 0, 1


def fetch_one(settings: Settings, url: str) -> FetchResult:
    """One URL through the crawler's whole path, with the configured limits; nothing is written to disk."""
    crawler = settings.crawler
    politeness = HostPoliteness(crawler.per_host_concurrency, crawler.per_host_delay, crawler.max_crawl_delay)
    client = HttpClient.for_crawler(crawler, AddressGuard(crawler.networks()), politeness)
    try:
        fetcher = PageFetcher(
            client,
            RobotsCache(client),
            token=crawler.robots_token,
            max_redirects=crawler.max_redirects,
            max_links=crawler.max_links_per_page,
            politeness=politeness,
            budget=crawler.fetch_budget,
        )
        return fetcher.fetch(url, extract_links=True)
    finally:
        client.close()


def _print_result(result: FetchResult) -> None:
    lines = [f"url            {result.url}"]
    lines += [f"  -> {hop.status or '-':>3} {hop.url}  ({hop.kind})" for hop in result.redirects]
    if result.final_url:
        kind = result.content_type or "no content type"
        lines.append(f"final          {result.status} {result.final_url}  ({kind})")
    lines.append(f"canonical      {result.canonical or '-'}")
    if result.canonical_html != result.canonical_header:
        lines.append(f"  html / header {result.canonical_html or '-'} / {result.canonical_header or '-'}")
    robots = {True: "allowed", False: "disallowed", None: "not checked"}[result.robots_allowed]
    lines.append(f"robots.txt     {robots}")
    if result.meta_robots or result.x_robots_tag:
        lines.append(f"meta robots    {', '.join(result.meta_robots) or '-'}")
        lines.append(f"X-Robots-Tag   {', '.join(result.x_robots_tag) or '-'}")
    if result.truncated:
        lines.append("body           cut at the byte cap")
    lines.append(f"links          {len(result.links)}")
    for link in result.links:
        rel = f"[{' '.join(link.rel)}] " if link.rel else ""
        lines.append(f"  {rel}{link.url}  {link.text!r}")
    if result.error:
        lines.append(f"error          {result.error}")
    print("\n".join(lines))


def cmd_fetch(settings: Settings, args: argparse.Namespace) -> int:
    result = fetch_one(settings, args.url)
    if args.json:
        json_output.print(result.as_json())
    else:
        _print_result(result)
    return EXIT_FAILED if result.error else EXIT_OK


def _report(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        json_output.print(summary)


def cmd_crawl(settings: Settings, args: argparse.Namespace) -> int:
    summary = stages.crawl(settings, args.date or default_run_date(settings))
    _report(summary, args.json)
    return EXIT_OK


def cmd_fetch_gsc(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.crawl.search_console import SearchConsoleError

    run_date = args.date or default_run_date(settings)
    try:
        summary = stages.fetch_search_console(settings, run_date, backfill=args.backfill)
    except SearchConsoleError as exc:
        log.error("Search Console: %s", exc)
        return EXIT_FAILED
    _report(summary, args.json)
    if not summary.get("skipped"):
        log.info("landed raw responses under %s; next: 'socialrank ingest'", settings.data.landing)
    return EXIT_OK


def cmd_fetch_ga4(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.crawl.ga4 import Ga4Error

    run_date = args.date or default_run_date(settings)
    try:
        summary = stages.fetch_ga4(settings, run_date, backfill=args.backfill)
    except Ga4Error as exc:
        log.error("GA4: %s", exc)
        return EXIT_FAILED
    _report(summary, args.json)
    if not summary.get("skipped"):
        log.info("landed raw responses under %s; next: 'socialrank ingest'", settings.data.landing)
    return EXIT_OK


def add_parsers(add: AddCommand) -> None:
    """Register ``fetch``, ``crawl``, ``fetch-gsc`` and ``fetch-ga4`` with the CLI's ``add``."""
    fetch = add(
        "fetch",
        cmd_fetch,
        "fetch one URL through the crawler's whole path (address guard, robots.txt, redirects, shims, "
        "canonical, outlinks)",
    )
    fetch.set_defaults(needs_sites=False)  # one URL, whoever owns it
    fetch.add_argument("url", help="the URL to fetch")
    crawl = add("crawl", cmd_crawl, "crawl the social links not fetched recently into the lake")
    crawl.add_argument(
        "--date", type=date_argument, help="run date YYYY-MM-DD (default: yesterday, site time zone)"
    )
    gsc = add(
        "fetch-gsc",
        cmd_fetch_gsc,
        "land Search Console API data: the days final since the last run (or exactly --date with --backfill)",
    )
    gsc.add_argument(
        "--date", type=date_argument, help="run date YYYY-MM-DD (default: yesterday, site time zone)"
    )
    gsc.add_argument("--backfill", action="store_true", help="fetch exactly --date, whatever came before")
    ga4 = add(
        "fetch-ga4",
        cmd_fetch_ga4,
        "land GA4 Data API reports: the run date and the days before it GA4 may still revise ([ga4] "
        "refetch_days), or exactly --date with --backfill",
    )
    ga4.add_argument(
        "--date", type=date_argument, help="run date YYYY-MM-DD (default: yesterday, site time zone)"
    )
    ga4.add_argument("--backfill", action="store_true", help="fetch exactly --date")
