"""Real HTTP servers on loopback, in threads, for the crawler's and Search Console client's tests.

Routes are keyed by (host name, path with or without query); host names are told apart by the ``Host``
header, and the crawler under test maps them to 127.0.0.1 through its resolver hook. A route answers with a
:class:`Reply`, a list of replies (one per request, the last one repeating) or a function of the request.
Every request is recorded as a :class:`Hit`; accepted connections are counted.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pipeline.crawl.addresses import AddressGuard, StaticResolver
from pipeline.crawl.fetcher import PageFetcher
from pipeline.crawl.http import HttpClient
from pipeline.crawl.politeness import HostPoliteness
from pipeline.crawl.robots import RobotsCache
from pipeline.crawl.settings import CrawlerSettings

HTML = "text/html; charset=utf-8"


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    content_type: str | None = HTML
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the status line
    endless: bool = False  # stream the body until the client goes away
    gzip: bool = False


@dataclass(frozen=True)
class Hit:
    host: str
    path: str
    method: str
    headers: dict[str, str]
    body: bytes
    at: float


Route = Reply | list[Reply] | Callable[["Hit"], Reply]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        hit = Hit(
            host,
            self.path,
            self.command,
            {k.lower(): v for k, v in self.headers.items()},
            body,
            time.monotonic(),
        )
        reply = self.server.owner.reply_for(hit)
        if reply.delay:
            time.sleep(reply.delay)
        payload = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
        if reply.gzip:
            payload = gzip.compress(payload)
        try:
            self.send_response(reply.status)
            if reply.content_type:
                self.send_header("Content-Type", reply.content_type)
            if reply.gzip:
                self.send_header("Content-Encoding", "gzip")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.endless:
                self.send_header("Connection", "close")
                self.end_headers()
                self._stream_forever(payload or b"x" * 8192)
                self.close_connection = True
                return
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _stream_forever(self, chunk: bytes) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            self.wfile.write(chunk)

    do_GET = _handle
    do_POST = _handle
    do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: LoopbackServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        accepted = super().get_request()
        with self.owner.lock:
            self.owner.connections += 1
        return accepted


class LoopbackServer:
    """A threaded HTTP server on a loopback address with routes per host name and path."""

    def __init__(self, address: str = "127.0.0.1") -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.hits: list[Hit] = []
        self.connections = 0
        self.lock = threading.Lock()
        self._server = _Server((address, 0), self)
        self.address = address
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._served: dict[tuple[str, str], int] = {}

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def route(self, host: str, path: str, reply: Route) -> str:
        """Serve ``reply`` at ``http://host:port/path``; returns that URL."""
        self.routes[(host.lower(), path)] = reply
        return self.url(host, path)

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def reply_for(self, hit: Hit) -> Reply:
        with self.lock:
            self.hits.append(hit)
            key = (hit.host, hit.path)
            if key not in self.routes:
                key = (hit.host, hit.path.split("?", 1)[0])  # a route without a query serves any query
            route = self.routes.get(key)
            served = self._served.get(key, 0)
            self._served[key] = served + 1
        if route is None:
            return Reply(404, "not found", "text/plain")
        if isinstance(route, list):
            return route[min(served, len(route) - 1)]
        if isinstance(route, Reply):
            return route
        return route(hit)

    def hits_for(self, host: str, path: str | None = None) -> list[Hit]:
        with self.lock:
            return [hit for hit in self.hits if hit.host == host and (path is None or hit.path == path)]


def fast_crawler_settings(**overrides: Any) -> CrawlerSettings:
    """Crawler settings for tests: loopback allowed, small timeouts and delays, no waiting between retries."""
    values: dict[str, Any] = {
        "enabled": True,
        "user_agent": "socialrank-test/1.0 (+https://example.com/bot)",
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "total_timeout": 5.0,
        "max_bytes": 200_000,
        "max_retries": 2,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "max_retry_after": 5.0,
        "per_host_concurrency": 2,
        "per_host_delay": 0.0,
        "workers": 8,
        "allow_networks": ("127.0.0.0/8",),
    }
    values.update(overrides)
    return CrawlerSettings(**values)


def loopback_names(*names: str) -> StaticResolver:
    """A resolver that maps each test host name to 127.0.0.1 and knows no other name."""
    return StaticResolver(dict.fromkeys(names, "127.0.0.1"))


def page_fetcher(settings: CrawlerSettings, resolver: StaticResolver) -> PageFetcher:
    """The crawler's fetch path as the crawl wires it, without frontier or disk caches."""
    politeness = HostPoliteness(
        settings.per_host_concurrency, settings.per_host_delay, settings.max_crawl_delay
    )
    client = HttpClient.for_crawler(settings, AddressGuard(settings.networks(), resolver), politeness)
    return PageFetcher(
        client,
        RobotsCache(client),
        token=settings.robots_token,
        max_redirects=settings.max_redirects,
        max_links=settings.max_links_per_page,
        politeness=politeness,
    )
