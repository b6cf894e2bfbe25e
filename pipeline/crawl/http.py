"""The one HTTP layer, on requests: everything socialrank fetches from the web goes through it.

- One pooled :class:`requests.Session` per client (keep-alive connections per host), a configurable
  user agent, no cookies, no proxies or ``.netrc`` from the environment (a proxy would bypass the guard).
- The address guard (:mod:`pipeline.crawl.addresses`) sits in urllib3's connection class: the host is
  resolved, every address checked, and only a checked address connected to, for every request, redirect
  hop, retry and OAuth token refresh alike.
- Connect and read timeouts, plus a total time bound per response, plus an optional time budget
  (:meth:`HttpClient.time_budget`) that bounds every request of one task together (a crawled URL: its
  robots.txt, redirect hops, retries and waits); bodies are streamed and cut at a
  byte cap (decoded bytes: a gzip bomb stops at the cap too); a caller can decline the body from the
  status and headers (the crawler reads HTML only).
- Retries with exponential backoff and jitter on connection errors, 429 and 5xx; ``Retry-After`` is
  honoured up to a limit (beyond it the response is returned as it is). With per-host politeness, waits
  are applied to the host (no other request to it starts meanwhile) rather than slept by one thread.
- Conditional GET with the on-disk :class:`~pipeline.crawl.cache.ConditionalCache`.
- Redirects are never followed here: callers follow them hop by hop (each hop is checked and recorded).
"""

from __future__ import annotations

import email.utils
import http.cookiejar
import logging
import random
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NameResolutionError, NewConnectionError
from urllib3.poolmanager import PoolManager
from urllib3.util import connection as urllib3_connection

from pipeline.crawl.addresses import AddressGuard, BlockedAddress
from pipeline.crawl.cache import ConditionalCache
from pipeline.crawl.politeness import HostPoliteness
from pipeline.crawl.settings import CrawlerSettings

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
DRAIN_BYTES = 64 * 1024
ACCEPT_HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"

BodyPolicy = Callable[[int, Mapping[str, str]], bool]


class FetchFailed(Exception):
    """No usable response: ``kind`` is one of blocked, dns, tls, timeout, connection, invalid_url."""

    def __init__(self, kind: str, message: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.attempts = attempts


@dataclass(frozen=True)
class HttpResponse:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    body_read: bool
    truncated: bool
    not_modified: bool
    attempts: int
    elapsed: float

    @property
    def content_type(self) -> str | None:
        media_type = self.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        return media_type or None


# --- the guard inside urllib3's connections -------------------------------------------------------


def _guarded_socket(
    connection: HTTPConnection, guard: AddressGuard, dns_host: str, port: int
) -> socket.socket:
    """Resolve through the guard and connect only to a permitted address (urllib3's error types)."""
    try:
        addresses = guard.resolve(dns_host, port)
    except socket.gaierror as exc:
        raise NameResolutionError(connection.host, connection, exc) from exc
    last_error: OSError | None = None
    for address in addresses:
        try:
            sock = urllib3_connection.create_connection(
                (address, port),
                connection.timeout,
                source_address=connection.source_address,
                socket_options=connection.socket_options,
            )
        except OSError as exc:
            last_error = exc
            continue
        sys.audit("http.client.connect", connection, connection.host, port)
        return sock
    if isinstance(last_error, TimeoutError):
        raise ConnectTimeoutError(
            connection, f"Connection to {connection.host} timed out. (connect timeout={connection.timeout})"
        ) from last_error
    raise NewConnectionError(
        connection, f"Failed to establish a new connection: {last_error}"
    ) from last_error


class GuardedHTTPConnection(HTTPConnection):
    def __init__(self, *args: Any, address_guard: AddressGuard, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.address_guard = address_guard

    def _new_conn(self) -> socket.socket:
        return _guarded_socket(self, self.address_guard, self._dns_host, self.port)


class GuardedHTTPSConnection(HTTPSConnection):
    def __init__(self, *args: Any, address_guard: AddressGuard, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.address_guard = address_guard

    def _new_conn(self) -> socket.socket:
        return _guarded_socket(self, self.address_guard, self._dns_host, self.port)


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedPoolManager(PoolManager):
    def __init__(self, address_guard: AddressGuard, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.address_guard = address_guard
        self.pool_classes_by_scheme = {"http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool}

    def _new_pool(
        self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None
    ) -> HTTPConnectionPool:
        # Added after the pool key was computed: the guard is not part of urllib3's pool key.
        context = dict(request_context if request_context is not None else self.connection_pool_kw)
        context["address_guard"] = self.address_guard
        return super()._new_pool(scheme, host, port, context)


class GuardedAdapter(HTTPAdapter):
    def __init__(self, address_guard: AddressGuard, pool_connections: int, pool_maxsize: int) -> None:
        self.address_guard = address_guard
        super().__init__(pool_connections=pool_connections, pool_maxsize=pool_maxsize, max_retries=0)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        self._pool_connections = connections
        self._pool_maxsize = maxsize
        self._pool_block = block
        self.poolmanager = GuardedPoolManager(
            self.address_guard, num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )


def guarded_session(
    guard: AddressGuard, user_agent: str, pool_connections: int = 256, pool_maxsize: int = 4
) -> requests.Session:
    """A session whose every connection passes the guard; no cookies, no environment proxies."""
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = GuardedAdapter(guard, pool_connections, pool_maxsize)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent
    return session


# --- the client ------------------------------------------------------------------------------------


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; ``None`` when absent or bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _classify(exc: requests.RequestException) -> tuple[str, bool]:
    """(kind, worth retrying) for a requests error."""
    if isinstance(exc, requests.exceptions.SSLError):
        return "tls", False
    if isinstance(exc, requests.exceptions.Timeout):
        return "timeout", True
    if isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema
        | requests.exceptions.InvalidHeader,
    ):
        return "invalid_url", False
    wrapped = exc.args[0] if exc.args else None
    reason = wrapped.reason if isinstance(wrapped, MaxRetryError) else wrapped
    if isinstance(reason, NameResolutionError):
        return "dns", False
    return "connection", True


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class HttpClient:
    """Single requests (no redirects followed) with timeouts, caps, retries, politeness and caching."""

    def __init__(
        self,
        guard: AddressGuard,
        *,
        user_agent: str,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        total_timeout: float = 60.0,
        max_bytes: int = 2_000_000,
        max_retries: int = 3,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        max_retry_after: float = 120.0,
        politeness: HostPoliteness | None = None,
        cache: ConditionalCache | None = None,
        pool_connections: int = 256,
        pool_maxsize: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.guard = guard
        self.session = guarded_session(guard, user_agent, pool_connections, pool_maxsize)
        self.user_agent = user_agent
        self.timeout = (connect_timeout, read_timeout)
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.politeness = politeness
        self.cache = cache
        self._sleep = sleep
        self._jitter = jitter
        self._budget = threading.local()

    @classmethod
    def for_crawler(
        cls,
        settings: CrawlerSettings,
        guard: AddressGuard,
        politeness: HostPoliteness | None = None,
        cache: ConditionalCache | None = None,
    ) -> HttpClient:
        return cls(
            guard,
            user_agent=settings.user_agent,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            total_timeout=settings.total_timeout,
            max_bytes=settings.max_bytes,
            max_retries=settings.max_retries,
            backoff_base=settings.backoff_base,
            backoff_max=settings.backoff_max,
            max_retry_after=settings.max_retry_after,
            politeness=politeness,
            cache=cache,
            pool_connections=max(256, settings.workers * 4),
            pool_maxsize=settings.per_host_concurrency + 2,
        )

    def close(self) -> None:
        self.session.close()

    @contextmanager
    def time_budget(self, seconds: float | None) -> Iterator[None]:
        """Bound every request this thread makes inside to ``seconds`` in all, tries, waits and reads
        included; a request that would run past it fails as a ``timeout``. ``None``: no budget."""
        outer: tuple[float, float] | None = getattr(self._budget, "limit", None)
        if seconds is not None:
            deadline = time.monotonic() + seconds
            self._budget.limit = (deadline, seconds) if outer is None or deadline < outer[0] else outer
        try:
            yield
        finally:
            self._budget.limit = outer

    def _budget_left(self) -> tuple[float, float] | None:
        """(seconds left, the whole budget) of this thread's budget, if it has one."""
        limit: tuple[float, float] | None = getattr(self._budget, "limit", None)
        return None if limit is None else (limit[0] - time.monotonic(), limit[1])

    def _over_budget(self, after: float, attempts: int) -> FetchFailed | None:
        """The failure to raise when ``after`` more seconds would run past the budget."""
        budget = self._budget_left()
        if budget is None or budget[0] > after:
            return None
        return FetchFailed(
            "timeout",
            f"timeout: no complete answer within the {budget[1]:g}s budget ({attempts} tries)",
            attempts,
        )

    def _slot(self, host: str) -> AbstractContextManager[None]:
        return self.politeness.slot(host) if self.politeness is not None else nullcontext()

    def _wait(self, host: str, seconds: float) -> None:
        if self.politeness is not None:
            self.politeness.defer(host, seconds)
        else:
            self._sleep(seconds)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: half the step fixed, half random."""
        step = min(self.backoff_max, self.backoff_base * 2.0 ** (attempt - 1))
        return step / 2 + self._jitter() * step / 2

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        read_body: BodyPolicy | bool = True,
        conditional: bool = False,
        max_bytes: int | None = None,
    ) -> HttpResponse:
        """One request, retried as configured; raises :class:`FetchFailed` when no response came."""
        started = time.monotonic()
        host = _host(url)
        cached = self.cache.get(url) if conditional and self.cache is not None else None
        sent_headers = {**(headers or {}), **(cached.validators if cached else {})}
        attempt = 0
        while True:
            attempt += 1
            exhausted = self._over_budget(0.0, attempt - 1)
            if exhausted is not None:
                raise exhausted
            try:
                with self._slot(host):
                    outcome = self._attempt(
                        method, url, sent_headers, json_body, read_body, max_bytes or self.max_bytes, attempt
                    )
            except BlockedAddress as exc:
                raise FetchFailed("blocked", str(exc), attempt) from exc
            except requests.RequestException as exc:
                kind, retryable = _classify(exc)
                if retryable and attempt <= self.max_retries:
                    wait = self.backoff(attempt)
                    exhausted = self._over_budget(wait, attempt)
                    if exhausted is not None:
                        raise exhausted from exc
                    log.debug("%s %s: %s (%s); retry %d in %.2fs", method, url, kind, exc, attempt, wait)
                    self._wait(host, wait)
                    continue
                exhausted = self._over_budget(0.0, attempt) if kind == "timeout" else None
                raise (exhausted or FetchFailed(kind, f"{kind}: {exc}", attempt)) from exc
            if isinstance(outcome, float):
                self._wait(host, outcome)
                continue
            status, response_headers, body, body_read, truncated = outcome
            break
        elapsed = time.monotonic() - started
        if status == 304 and cached is not None:
            merged = {**cached.headers, **response_headers}
            return HttpResponse(url, cached.status, merged, cached.body, True, False, True, attempt, elapsed)
        if conditional and self.cache is not None and status == 200 and body_read and not truncated:
            self.cache.put(url, status, response_headers, body)
        return HttpResponse(
            url, status, response_headers, body, body_read, truncated, False, attempt, elapsed
        )

    def _attempt(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        json_body: Any,
        read_body: BodyPolicy | bool,
        max_bytes: int,
        attempt: int,
    ) -> tuple[int, dict[str, str], bytes, bool, bool] | float:
        """One try: the response as (status, headers, body, body read, truncated), or seconds to wait."""
        deadline = time.monotonic() + self.total_timeout
        timeout = self.timeout
        budget = self._budget_left()
        if budget is not None:
            left = budget[0]
            if left <= 0:  # spent waiting for the host's politeness slot
                raise requests.exceptions.ConnectTimeout(f"{url}: the time budget is spent")
            deadline = min(deadline, time.monotonic() + left)
            timeout = (min(timeout[0], left), min(timeout[1], left))
        response = self.session.request(
            method,
            url,
            headers=dict(headers),
            json=json_body,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        )
        try:
            status = response.status_code
            response_headers = {name.lower(): value for name, value in response.headers.items()}
            if (status == 429 or status >= 500) and attempt <= self.max_retries:
                wait = self._status_wait(response_headers.get("retry-after"), attempt)
                if wait is not None and self._over_budget(wait, attempt) is None:
                    self._discard(response, response_headers)
                    log.debug("%s %s: status %d; retry %d in %.2fs", method, url, status, attempt, wait)
                    return wait
                log.info("%s %s: status %d: not retried (a wait beyond %.0fs or the time budget)",
                         method, url, status, self.max_retry_after)  # fmt: skip
            wanted = read_body(status, response_headers) if callable(read_body) else read_body
            if not wanted:
                self._discard(response, response_headers)
                return status, response_headers, b"", False, False
            body, truncated = self._read(response, max_bytes, deadline, url)
            return status, response_headers, body, True, truncated
        finally:
            response.close()

    @staticmethod
    def _discard(response: requests.Response, headers: Mapping[str, str]) -> None:
        """Drain a small unwanted body so its keep-alive connection can be reused; large ones are cut."""
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) <= DRAIN_BYTES:
            for _ in response.iter_content(chunk_size=DRAIN_BYTES):
                pass

    def _status_wait(self, retry_after: str | None, attempt: int) -> float | None:
        asked = retry_after_seconds(retry_after)
        if asked is None:
            return self.backoff(attempt)
        return asked if asked <= self.max_retry_after else None

    def _read(
        self, response: requests.Response, max_bytes: int, deadline: float, url: str
    ) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
            if time.monotonic() > deadline:
                raise requests.exceptions.ReadTimeout(
                    f"{url}: body not complete in time (total timeout {self.total_timeout:.0f}s, or budget)"
                )
            if size + len(chunk) > max_bytes:
                chunks.append(chunk[: max_bytes - size])
                return b"".join(chunks), True
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks), False
