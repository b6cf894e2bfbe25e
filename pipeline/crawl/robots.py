"""robots.txt per RFC 9309, parsed by Protego (Scrapy's parser: longest match, ``Allow`` wins ties,
``*`` and ``$`` wildcards, ``Crawl-delay``).

Fetching follows the RFC: up to five redirects (each hop through the address guard); a 2xx body is
parsed (the first 500 KiB); 4xx means there are no restrictions; 5xx (after the HTTP layer's retries,
so also a 429 that does not go away) and an unreachable server mean everything is disallowed. Answers
are cached per origin in memory for the run and, when definitive (2xx, 4xx), on disk for 24 hours as
the RFC allows; "unreachable" is never kept on disk, so the next run asks again.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urljoin, urlsplit

from protego import Protego

from pipeline.crawl.http import FetchFailed, HttpClient

ROBOTS_MAX_BYTES = 500 * 1024
ROBOTS_MAX_REDIRECTS = 5
ROBOTS_TTL_SECONDS = 24 * 3600
# Failures of the origin itself: the page fetch would fail the same way, so report that, not robots.
ORIGIN_FAILURES = frozenset({"blocked", "dns", "tls", "invalid_url"})

Verdict = Literal["parsed", "allow_all", "disallow_all"]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


@dataclass(frozen=True)
class RobotsRules:
    origin: str
    verdict: Verdict
    reason: str
    body: str | None = None
    status: int | None = None
    fetched_at: float = 0.0
    _parser: Protego | None = field(default=None, repr=False, compare=False)

    @classmethod
    def parsed(cls, origin: str, status: int, body: str, fetched_at: float) -> RobotsRules:
        return cls(origin, "parsed", f"robots.txt {status}", body, status, fetched_at, Protego.parse(body))

    def allowed(self, url: str, token: str) -> bool:
        if self.verdict == "allow_all":
            return True
        if self.verdict == "disallow_all" or self._parser is None:
            return False
        return bool(self._parser.can_fetch(url, token))

    def crawl_delay(self, token: str) -> float | None:
        if self._parser is None:
            return None
        delay = self._parser.crawl_delay(token)
        return float(delay) if delay is not None else None

    def refusal(self, url: str) -> str:
        """Why ``url`` may not be fetched, for the crawl record."""
        if self.verdict == "disallow_all":
            return f"robots.txt: {self.reason}: everything disallowed"
        return f"robots.txt of {self.origin} disallows {urlsplit(url).path or '/'}"


class RobotsStore:
    """Definitive robots.txt answers on disk, one small JSON file per origin."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, origin: str) -> Path:
        return self.directory / f"{hashlib.sha256(origin.encode()).hexdigest()}.json"

    def load(self, origin: str, not_before: float) -> RobotsRules | None:
        try:
            data = json.loads(self._path(origin).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("origin") != origin or data.get("fetched_at", 0) < not_before:
            return None
        if data["verdict"] == "parsed":
            return RobotsRules.parsed(origin, int(data["status"]), data["body"], float(data["fetched_at"]))
        return RobotsRules(
            origin, data["verdict"], data["reason"], None, data.get("status"), data["fetched_at"]
        )

    def save(self, rules: RobotsRules) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self._path(rules.origin)
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.inprogress")
        record = {
            "origin": rules.origin,
            "verdict": rules.verdict,
            "reason": rules.reason,
            "status": rules.status,
            "body": rules.body,
            "fetched_at": rules.fetched_at,
        }
        try:
            temporary.write_text(json.dumps(record), encoding="utf-8")
            temporary.replace(path)
        finally:
            temporary.unlink(missing_ok=True)


class RobotsCache:
    """robots.txt rules per origin, each origin fetched once however many workers ask at the same time."""

    def __init__(
        self,
        client: HttpClient,
        store: RobotsStore | None = None,
        ttl: float = ROBOTS_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.store = store
        self.ttl = ttl
        self._clock = clock
        self._rules: dict[str, RobotsRules] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self.fetched = 0

    def rules_for(self, url: str) -> RobotsRules:
        origin = origin_of(url)
        with self._guard:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:
            rules = self._rules.get(origin)
            if rules is None:
                rules = self.store.load(origin, self._clock() - self.ttl) if self.store else None
                if rules is None:
                    rules = self._fetch(origin)
                    if self.store is not None and rules.verdict != "disallow_all":
                        self.store.save(rules)
                self._rules[origin] = rules
            return rules

    def _fetch(self, origin: str) -> RobotsRules:
        self.fetched += 1
        url = f"{origin}/robots.txt"
        now = self._clock()
        for hop in range(ROBOTS_MAX_REDIRECTS + 1):
            try:
                response = self.client.request(
                    "GET",
                    url,
                    read_body=lambda status, _headers: 200 <= status < 300,
                    max_bytes=ROBOTS_MAX_BYTES,
                )
            except FetchFailed as failure:
                if hop == 0 and failure.kind in ORIGIN_FAILURES:
                    raise
                return RobotsRules(origin, "disallow_all", f"unreachable ({failure.message})", fetched_at=now)
            status = response.status
            location = response.headers.get("location")
            if 300 <= status < 400 and location:
                url = urljoin(url, location)
                continue
            if 200 <= status < 300:
                text = response.body.decode("utf-8", errors="replace")
                return RobotsRules.parsed(origin, status, text, now)
            if 400 <= status < 500:
                return RobotsRules(
                    origin, "allow_all", f"status {status}: no restrictions", None, status, now
                )
            if status >= 500:
                return RobotsRules(origin, "disallow_all", f"status {status}: unreachable", None, status, now)
            return RobotsRules(origin, "allow_all", f"status {status}: unavailable", None, status, now)
        return RobotsRules(origin, "allow_all", "more than five redirects: unavailable", fetched_at=now)
