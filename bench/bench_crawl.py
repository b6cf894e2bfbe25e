"""Crawler benchmark against a local server (SPEC section 9): throughput across many hosts, and the
politeness limit on one host.

The server runs in its own process (a threaded ``http.server`` on 127.0.0.1, keep-alive, host names told
apart by the ``Host`` header) so that it does not compete with the crawler for the GIL; every request's
arrival time is logged there. Host names resolve to 127.0.0.1 through the crawler's resolver hook, and
127.0.0.0/8 is allowed for the run. Both scenarios run the real crawl: lake seeding, SQLite frontier,
robots.txt, address guard, politeness, page analysis and lake writes.

1. ``many_hosts``: 100 hosts x 20 pages, no per-host delay (2 requests in flight per host). Reported as
   fetches per second, and as a ratio against a baseline run in the same session: plain
   ``requests.Session.get`` from a thread pool against the same server, without any of the crawler's work.
2. ``one_host``: one host, ``per_host_delay = 0.1`` s (at most 10 fetches per second), 60 pages and 2
   requests allowed in flight. Reported from the server's arrival times: the rate over the run, the
   largest number of requests in any one-second window, and the smallest gap between two requests.

Target: at least 300 fetches/s in (1); in (2) at least 95% of 10 fetches/s and never above it.
Run: ``.venv/bin/python bench/bench_crawl.py`` (``make bench-crawl``); results go to
``bench/results/crawl.json``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import multiprocessing
import os
import platform
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests

from pipeline import lake
from pipeline.canonical import canonicalize
from pipeline.config import DataRoot, Settings
from pipeline.crawl.addresses import StaticResolver
from pipeline.crawl.crawler import Crawler
from pipeline.crawl.settings import CrawlerSettings
from pipeline.schemas import SOCIAL_LINKS

RESULTS = Path(__file__).resolve().parent / "results" / "crawl.json"
MANY_HOSTS, PAGES_PER_HOST = 100, 20
ONE_HOST_PAGES, ONE_HOST_DELAY = 60, 0.1
TARGET_FETCHES_PER_SECOND = 300.0
TARGET_SHARE_OF_LIMIT = 0.95
PAGE = (
    "<!doctype html><html><head><title>Page {n}</title><link rel='canonical' href='/page/{n}'></head>"
    "<body><h1>Page {n}</h1><p>Some text about trail gear.</p>"
    "<a href='/page/{next}'>next</a> <a href='https://example.com/gear' rel='nofollow ugc'>gear</a>"
    "</body></html>"
)


# --- the server process ----------------------------------------------------------------------------


class _BenchHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _BenchServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        if self.path == "/__log":
            self._send(200, json.dumps(self.server.arrivals).encode(), "application/json")
            return
        with self.server.lock:
            self.server.arrivals.append((host, self.path, time.monotonic()))
        if self.path == "/robots.txt":
            self._send(404, b"no robots.txt", "text/plain")
            return
        number = int(self.path.rsplit("/", 1)[-1]) if self.path.startswith("/page/") else 0
        self._send(200, PAGE.format(n=number, next=number + 1).encode(), "text/html; charset=utf-8")

    def do_POST(self) -> None:
        with self.server.lock:
            self.server.arrivals.clear()
        self._send(204, b"", None)

    def _send(self, status: int, body: bytes, content_type: str | None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _BenchServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _BenchHandler)
        self.lock = threading.Lock()
        self.arrivals: list[tuple[str, str, float]] = []


def _serve(connection: Connection) -> None:
    server = _BenchServer()
    connection.send(server.server_address[1])
    server.serve_forever(poll_interval=0.05)


def _arrivals(port: int) -> list[tuple[str, str, float]]:
    response = requests.get(f"http://127.0.0.1:{port}/__log", timeout=30)
    return [(str(host), str(path), float(at)) for host, path, at in response.json()]


def _reset(port: int) -> None:
    requests.post(f"http://127.0.0.1:{port}/__reset", timeout=30)


# --- the scenarios ---------------------------------------------------------------------------------


def _settings(root: Path, **crawler: Any) -> Settings:
    data = DataRoot(root)
    data.ensure()
    options: dict[str, Any] = {
        "enabled": True,
        "user_agent": "socialrank-bench/1.0",
        "allow_networks": ("127.0.0.0/8",),
        "connect_timeout": 5.0,
        "read_timeout": 10.0,
        **crawler,
    }
    return Settings(
        data=data, owned_sites=("example.com",), timezone=ZoneInfo("UTC"), crawler=CrawlerSettings(**options)
    )


def _seed(settings: Settings, urls: list[str]) -> None:
    posted = dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC)
    rows = [
        {
            "platform": "x",
            "post_id": str(number),
            "permalink": None,
            "posted_at": posted,
            "post_date": posted.date(),
            "url": url,
            "canonical_url": canonicalize(url),
            "link_kind": "explicit",
            "is_shortener": False,
            "is_repost": False,
            "delivery_id": "bench",
        }
        for number, url in enumerate(urls)
    ]
    lake.write_partitioned(settings.data.lake, SOCIAL_LINKS, rows, "bench")


def many_hosts(port: int, workdir: Path) -> dict[str, Any]:
    hosts = [f"h{number:03d}.bench" for number in range(MANY_HOSTS)]
    urls = [f"http://{host}:{port}/page/{page}" for page in range(PAGES_PER_HOST) for host in hosts]

    def baseline() -> float:
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=MANY_HOSTS, pool_maxsize=64)
        session.mount("http://", adapter)
        # Same URLs, same server, no crawler: names go straight to 127.0.0.1 through the Host header.
        plain = [(f"http://127.0.0.1:{port}{url.split(str(port), 1)[1]}", url.split("/")[2]) for url in urls]
        started = time.perf_counter()

        def get(item: tuple[str, str]) -> bytes:
            return session.get(item[0], headers={"Host": item[1]}, timeout=10).content

        with ThreadPoolExecutor(64) as pool:
            list(pool.map(get, plain))
        return len(urls) / (time.perf_counter() - started)

    _reset(port)
    baseline_rate = baseline()
    _reset(port)
    settings = _settings(workdir / "many", per_host_concurrency=2, per_host_delay=0.0, workers=64)
    _seed(settings, urls)
    summary = Crawler(settings, StaticResolver(dict.fromkeys(hosts, "127.0.0.1"))).run(dt.date(2026, 11, 1))
    arrivals = _arrivals(port)
    pages = [at for _, path, at in arrivals if path.startswith("/page/")]
    rate = summary.fetched / summary.seconds
    return {
        "hosts": MANY_HOSTS,
        "fetches": summary.fetched,
        "requests_seen_by_server": len(arrivals),
        "crawl_seconds": round(summary.seconds, 3),
        "fetch_phase_seconds": round(max(pages) - min(pages), 3),
        "fetches_per_second": round(rate, 1),
        "baseline_requests_per_second": round(baseline_rate, 1),
        "ratio_to_baseline": round(rate / baseline_rate, 3),
        "outcomes": dict(summary.outcomes),
        "target_fetches_per_second": TARGET_FETCHES_PER_SECOND,
        "passed": rate >= TARGET_FETCHES_PER_SECOND and summary.outcomes == {"status_2xx": len(urls)},
    }


def one_host(port: int, workdir: Path) -> dict[str, Any]:
    host = "polite.bench"
    urls = [f"http://{host}:{port}/page/{page}" for page in range(ONE_HOST_PAGES)]
    _reset(port)
    settings = _settings(workdir / "one", per_host_concurrency=2, per_host_delay=ONE_HOST_DELAY, workers=8)
    _seed(settings, urls)
    summary = Crawler(settings, StaticResolver({host: "127.0.0.1"})).run(dt.date(2026, 11, 1))
    times = sorted(at for seen_host, _, at in _arrivals(port) if seen_host == host)  # robots.txt included
    limit = 1.0 / ONE_HOST_DELAY
    rate = (len(times) - 1) / (times[-1] - times[0])
    busiest_second = max(
        sum(1 for later in times[index:] if later < start + 1.0) for index, start in enumerate(times)
    )
    smallest_gap = min(later - earlier for earlier, later in itertools.pairwise(times))
    return {
        "requests": len(times),
        "fetches": summary.fetched,
        "per_host_delay": ONE_HOST_DELAY,
        "limit_per_second": limit,
        "requests_per_second": round(rate, 3),
        "share_of_limit": round(rate / limit, 4),
        "busiest_one_second_window": busiest_second,
        "smallest_gap_seconds": round(smallest_gap, 4),
        "target_share_of_limit": TARGET_SHARE_OF_LIMIT,
        "passed": rate >= TARGET_SHARE_OF_LIMIT * limit and busiest_second <= limit,
    }


def main() -> int:
    logging.basicConfig(level=logging.WARNING)
    receiver, sender = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(sender,), daemon=True)
    server.start()
    port = int(receiver.recv())
    try:
        with tempfile.TemporaryDirectory(prefix="bench-crawl-") as workdir:
            results: dict[str, Any] = {
                "benchmark": "crawl",
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "many_hosts": many_hosts(port, Path(workdir)),
                "one_host": one_host(port, Path(workdir)),
            }
    finally:
        server.terminate()
        server.join()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    print(f"written to {RESULTS}")
    return 0 if results["many_hosts"]["passed"] and results["one_host"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
