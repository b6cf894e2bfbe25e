"""Per-host politeness in a real crawl: concurrency per host, delay between starts, many hosts at once."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline import lake
from pipeline.canonical import canonicalize
from pipeline.config import DataRoot, Settings
from pipeline.crawl.crawler import Crawler
from pipeline.crawl.politeness import HostPoliteness
from pipeline.crawl.scheduler import HostScheduler
from pipeline.schemas import SOCIAL_LINKS
from tests.http_servers import Hit, LoopbackServer, Reply, fast_crawler_settings, loopback_names

POSTED = dt.datetime(2026, 10, 20, 15, 0, tzinfo=dt.UTC)


def seed(settings: Settings, urls: list[str]) -> None:
    rows = [
        {
            "platform": "reddit",
            "post_id": f"p{number}",
            "permalink": None,
            "posted_at": POSTED,
            "post_date": POSTED.date(),
            "url": url,
            "canonical_url": canonicalize(url),
            "link_kind": "explicit",
            "is_shortener": False,
            "is_repost": False,
            "delivery_id": "d1",
        }
        for number, url in enumerate(urls)
    ]
    lake.write_partitioned(settings.data.lake, SOCIAL_LINKS, rows, "d1")


def settings_for(tmp_path: Path, **crawler: object) -> Settings:
    data = DataRoot(tmp_path / "data")
    data.ensure()
    return Settings(
        data=data,
        owned_sites=("example.com",),
        timezone=ZoneInfo("UTC"),
        crawler=fast_crawler_settings(**crawler),
    )


def test_never_more_requests_in_flight_per_host_than_allowed(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    in_flight = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def slow(hit: Hit) -> Reply:
        with lock:
            in_flight["now"] += 1
            in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
        time.sleep(0.1)
        with lock:
            in_flight["now"] -= 1
        return Reply(200, "<p>slow</p>")

    urls = [loopback.route("busy.test", f"/{number}", slow) for number in range(8)]
    settings = settings_for(tmp_path, per_host_concurrency=2, workers=8)
    seed(settings, urls)
    summary = Crawler(settings, loopback_names("busy.test")).run(dt.date(2026, 11, 1))
    assert summary.fetched == 8
    assert in_flight["peak"] == 2


def test_delay_between_starts_per_host_and_hosts_in_parallel(
    tmp_path: Path, loopback: LoopbackServer
) -> None:
    hosts = [f"h{number}.test" for number in range(4)]
    urls = [
        loopback.route(host, f"/{number}", Reply(200, "<p>x</p>")) for host in hosts for number in range(3)
    ]
    settings = settings_for(tmp_path, per_host_concurrency=1, per_host_delay=0.25, workers=8)
    seed(settings, urls)
    Crawler(settings, loopback_names(*hosts)).run(dt.date(2026, 11, 1))
    for host in hosts:
        starts = [hit.at for hit in loopback.hits_for(host)]  # robots.txt, then three pages
        assert len(starts) == 4
        assert all(later - earlier >= 0.24 for earlier, later in itertools.pairwise(starts))
    # Hosts do not wait for each other: every host had its robots.txt and first page fetched before any
    # host's second page.
    pages = [hit for hit in loopback.hits if hit.path != "/robots.txt"]
    first_round = {hit.host for hit in pages[:4]}
    assert first_round == set(hosts)


def test_scheduler_hands_out_the_host_that_is_ready_first() -> None:
    politeness = HostPoliteness(max_concurrent=1, min_delay=0.0)
    politeness.defer("slow.test", 60)
    scheduler: HostScheduler[str] = HostScheduler(politeness)
    scheduler.put("slow.test", "slow-1")
    scheduler.put("fast.test", "fast-1")
    scheduler.put("fast.test", "fast-2")
    assert scheduler.get() == ("fast.test", "fast-1")
    scheduler.done("fast.test")
    assert scheduler.get() == ("fast.test", "fast-2")
    scheduler.close()
    assert scheduler.get() is None
