"""Conditional GET on disk: validators and body of the last complete 200 response per URL.

The crawler always asks the server (``If-None-Match`` / ``If-Modified-Since``) instead of serving from
cache by freshness rules, because every crawl records what the server says now: its status and redirect
chain. A ``304 Not Modified`` then costs no body transfer and the stored body is analysed again.
One entry per URL, two files (``<sha256>.json`` with the validators and headers, ``<sha256>.body``),
each written to a temporary name and renamed, so a reader sees a whole entry or none.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

# Headers the crawler reads from a page; kept so that a 304 can be analysed like the original 200.
KEPT_HEADERS = ("content-type", "link", "x-robots-tag", "etag", "last-modified")


@dataclass(frozen=True)
class CachedEntry:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def validators(self) -> dict[str, str]:
        conditional = {}
        if etag := self.headers.get("etag"):
            conditional["If-None-Match"] = etag
        if modified := self.headers.get("last-modified"):
            conditional["If-Modified-Since"] = modified
        return conditional


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.inprogress")
    try:
        temporary.write_bytes(data)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


class ConditionalCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _paths(self, url: str) -> tuple[Path, Path]:
        digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
        folder = self.directory / digest[:2]
        return folder / f"{digest}.json", folder / f"{digest}.body"

    def get(self, url: str) -> CachedEntry | None:
        meta_path, body_path = self._paths(url)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            body = body_path.read_bytes()
        except (OSError, ValueError):
            return None
        if meta.get("url") != url or hashlib.sha256(body).hexdigest() != meta.get("body_sha256"):
            return None  # a hash collision or a body from another version of the entry
        return CachedEntry(url, int(meta["status"]), dict(meta["headers"]), body)

    def put(self, url: str, status: int, headers: dict[str, str], body: bytes) -> bool:
        """Store a complete response that carries a validator; returns whether it was stored."""
        kept = {name: headers[name] for name in KEPT_HEADERS if name in headers}
        if "etag" not in kept and "last-modified" not in kept:
            return False
        meta_path, body_path = self._paths(url)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(body_path, body)
        meta = {
            "url": url,
            "status": status,
            "headers": kept,
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        _write_atomically(meta_path, json.dumps(meta).encode("utf-8"))
        return True

    def size(self) -> int:
        """Entries on disk (for logs)."""
        return sum(1 for _ in self.directory.glob("*/*.json")) if self.directory.exists() else 0
