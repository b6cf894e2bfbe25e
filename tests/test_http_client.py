"""The HTTP layer against a real server on loopback: timeouts, byte cap, retries, gzip, conditional GET."""

from __future__ import annotations

import gzip
import ipaddress
import time
from pathlib import Path

import pytest

from pipeline.crawl.addresses import AddressGuard
from pipeline.crawl.cache import ConditionalCache
from pipeline.crawl.http import FetchFailed, HttpClient, retry_after_seconds
from pipeline.crawl.politeness import HostPoliteness
from tests.http_servers import Hit, LoopbackServer, Reply, loopback_names

LOOPBACK = [ipaddress.ip_network("127.0.0.0/8")]


def client(*, cache: ConditionalCache | None = None, **overrides: float) -> HttpClient:
    options: dict[str, float] = {
        "connect_timeout": 1.0,
        "read_timeout": 0.3,
        "total_timeout": 5.0,
        "max_bytes": 50_000,
        "max_retries": 2,
        "backoff_base": 0.01,
        "backoff_max": 0.02,
        "max_retry_after": 3.0,
        **overrides,
    }
    return HttpClient(
        AddressGuard(LOOPBACK, loopback_names("site.test")),
        user_agent="socialrank-test/1.0",
        cache=cache,
        connect_timeout=options["connect_timeout"],
        read_timeout=options["read_timeout"],
        total_timeout=options["total_timeout"],
        max_bytes=int(options["max_bytes"]),
        max_retries=int(options["max_retries"]),
        backoff_base=options["backoff_base"],
        backoff_max=options["backoff_max"],
        max_retry_after=options["max_retry_after"],
    )


def test_user_agent_and_pooled_connection(loopback: LoopbackServer) -> None:
    url = loopback.route("site.test", "/", Reply(200, "<p>hi</p>"))
    http = client()
    for _ in range(3):
        assert http.request("GET", url).body == b"<p>hi</p>"
    assert {hit.headers["user-agent"] for hit in loopback.hits} == {"socialrank-test/1.0"}
    assert loopback.connections == 1  # keep-alive: one connection for three requests


def test_slow_response_past_the_read_timeout_fails_after_retries(loopback: LoopbackServer) -> None:
    url = loopback.route("site.test", "/slow", Reply(200, "late", delay=1.0))
    with pytest.raises(FetchFailed) as failed:
        client(read_timeout=0.2, max_retries=1).request("GET", url)
    assert failed.value.kind == "timeout" and failed.value.attempts == 2
    assert len(loopback.hits_for("site.test", "/slow")) == 2


def test_endless_body_is_cut_at_the_byte_cap(loopback: LoopbackServer) -> None:
    url = loopback.route("site.test", "/endless", Reply(200, b"a" * 4096, endless=True))
    response = client(max_bytes=100_000).request("GET", url)
    assert response.status == 200 and response.truncated
    assert len(response.body) == 100_000


def test_gzip_is_decoded_and_a_gzip_bomb_stops_at_the_cap(loopback: LoopbackServer) -> None:
    page = "<html><body>" + "<a href='/x'>x</a>" * 50 + "</body></html>"
    small = loopback.route("site.test", "/page", Reply(200, page, gzip=True))
    bomb = loopback.route("site.test", "/bomb", Reply(200, b"\0" * 20_000_000, gzip=True))
    http = client(max_bytes=1_000_000)
    response = http.request("GET", small)
    assert response.body.decode() == page and not response.truncated
    assert loopback.hits[0].headers["accept-encoding"].startswith("gzip")
    exploded = http.request("GET", bomb)
    assert exploded.truncated and len(exploded.body) == 1_000_000
    assert len(gzip.compress(b"\0" * 20_000_000)) < 100_000  # the wire carried a small body


def test_429_honours_retry_after(loopback: LoopbackServer) -> None:
    url = loopback.route(
        "site.test", "/busy", [Reply(429, "slow down", "text/plain", {"Retry-After": "1"}), Reply(200, "ok")]
    )
    started = time.monotonic()
    response = client().request("GET", url)
    waited = time.monotonic() - started
    assert response.status == 200 and response.attempts == 2
    assert waited >= 1.0  # the server asked for one second


def test_retry_after_beyond_the_limit_is_not_waited_for(loopback: LoopbackServer) -> None:
    url = loopback.route(
        "site.test", "/later", Reply(503, "maintenance", "text/plain", {"Retry-After": "3600"})
    )
    response = client(max_retry_after=5.0).request("GET", url)
    assert response.status == 503 and response.attempts == 1


def test_500_then_200_is_retried_with_backoff(loopback: LoopbackServer) -> None:
    url = loopback.route("site.test", "/flaky", [Reply(500, "oops"), Reply(502, "oops"), Reply(200, "fine")])
    response = client().request("GET", url)
    assert response.status == 200 and response.body == b"fine" and response.attempts == 3


def test_persistent_5xx_is_returned_after_the_retries(loopback: LoopbackServer) -> None:
    url = loopback.route("site.test", "/down", Reply(500, "down"))
    response = client(max_retries=2).request("GET", url)
    assert response.status == 500 and response.attempts == 3


def test_backoff_grows_exponentially_with_jitter() -> None:
    http = HttpClient(AddressGuard(), user_agent="t", backoff_base=1.0, backoff_max=8.0, jitter=lambda: 1.0)
    assert [http.backoff(attempt) for attempt in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0]
    low = HttpClient(AddressGuard(), user_agent="t", backoff_base=1.0, backoff_max=8.0, jitter=lambda: 0.0)
    assert [low.backoff(attempt) for attempt in range(1, 4)] == [0.5, 1.0, 2.0]


def test_retry_after_formats() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_connection_refused_is_retried_then_reported(loopback: LoopbackServer) -> None:
    closed_port = loopback.port
    loopback.__exit__()
    with pytest.raises(FetchFailed) as failed:
        client(max_retries=1).request("GET", f"http://site.test:{closed_port}/")
    assert failed.value.kind == "connection" and failed.value.attempts == 2


def test_body_is_read_only_when_the_caller_wants_it(loopback: LoopbackServer) -> None:
    url = loopback.route("site.test", "/file.pdf", Reply(200, b"%PDF-1.7" + b"x" * 40_000, "application/pdf"))
    response = client().request(
        "GET", url, read_body=lambda status, headers: headers.get("content-type", "").startswith("text/html")
    )
    assert response.status == 200 and response.body == b"" and not response.body_read
    assert response.content_type == "application/pdf"


def test_conditional_get_revalidates_from_the_disk_cache(loopback: LoopbackServer, tmp_path: Path) -> None:
    def page(hit: Hit) -> Reply:
        if hit.headers.get("if-none-match") == '"v1"':
            return Reply(304, "", None, {"ETag": '"v1"'})
        return Reply(200, "<title>v1</title>", headers={"ETag": '"v1"', "X-Robots-Tag": "noindex"})

    url = loopback.route("site.test", "/cached", page)
    cache = ConditionalCache(tmp_path / "cache")
    first = client(cache=cache).request("GET", url, conditional=True)
    second = client(cache=cache).request("GET", url, conditional=True)  # a new process: the cache is on disk
    assert first.status == 200 and not first.not_modified
    assert second.status == 200 and second.not_modified
    assert second.body == b"<title>v1</title>" and second.headers["x-robots-tag"] == "noindex"
    assert [hit.headers.get("if-none-match") for hit in loopback.hits] == [None, '"v1"']


def test_politeness_wait_for_retry_after_applies_to_the_host(loopback: LoopbackServer) -> None:
    url = loopback.route("site.test", "/busy", [Reply(429, "", None, {"Retry-After": "1"}), Reply(200, "ok")])
    politeness = HostPoliteness(max_concurrent=1, min_delay=0.0)
    http = HttpClient(
        AddressGuard(LOOPBACK, loopback_names("site.test")), user_agent="t", politeness=politeness
    )
    started = time.monotonic()
    assert http.request("GET", url).status == 200
    assert politeness.next_start("site.test") >= started + 1.0
