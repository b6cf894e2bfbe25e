"""The crawl frontier on disk (SQLite): what to fetch, what was fetched, what reached the lake.

- ``urls``: every URL the crawler knows, keyed by its canonical form, with the URL to fetch (as posted),
  why it is crawled, whether its outlinks are wanted, and when it was last fetched. ``pending`` rows are
  the work of the current crawl.
- ``results``: one row per finished fetch (the lake rows as JSON), recorded in the same transaction that
  marks its URL done, so a crawl killed at any point never fetches a recorded URL again.
- ``crawls``: the current crawl (its id names its lake files); an unfinished one is resumed.

Results reach the lake in numbered batches: rows are assigned to a batch, the batch's files are written
(named after crawl and batch, so rewriting one replaces it), then the batch is marked written. A crash
between the two steps rewrites the same batch, with the same rows, on the next run.

WAL mode with ``synchronous=NORMAL``: a commit survives the process being killed (the case that
matters); after a power loss the last few fetches may be done again.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS urls (
    key TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    purpose TEXT NOT NULL,
    extract_links INTEGER NOT NULL,
    pending INTEGER NOT NULL DEFAULT 1,
    last_fetched_at TEXT
);
CREATE INDEX IF NOT EXISTS urls_pending ON urls (pending, key);
CREATE TABLE IF NOT EXISTS results (
    fetch_id TEXT PRIMARY KEY,
    crawl_id TEXT NOT NULL,
    batch INTEGER,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_batch ON results (crawl_id, batch);
CREATE TABLE IF NOT EXISTS batches (
    crawl_id TEXT NOT NULL,
    batch INTEGER NOT NULL,
    written INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (crawl_id, batch)
);
CREATE TABLE IF NOT EXISTS crawls (
    crawl_id TEXT PRIMARY KEY,
    run_date TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
"""


@dataclass(frozen=True)
class Seed:
    key: str
    url: str
    purpose: str
    extract_links: bool


@dataclass(frozen=True)
class Entry:
    key: str
    url: str
    purpose: str
    extract_links: bool


class Frontier:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Frontier:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- crawls -------------------------------------------------------------------------------------

    def open_crawl(self, run_date: dt.date, now: dt.datetime) -> tuple[str, bool]:
        """The unfinished crawl to resume, else a new one: (crawl id, resumed)."""
        row = self._db.execute(
            "SELECT crawl_id FROM crawls WHERE finished_at IS NULL ORDER BY started_at LIMIT 1"
        ).fetchone()
        if row is not None:
            return str(row[0]), True
        crawl_id = f"{now.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self._db.execute(
            "INSERT INTO crawls (crawl_id, run_date, started_at) VALUES (?, ?, ?)",
            [crawl_id, run_date.isoformat(), now.isoformat()],
        )
        return crawl_id, False

    def finish_crawl(self, crawl_id: str, now: dt.datetime) -> None:
        self._db.execute("UPDATE crawls SET finished_at = ? WHERE crawl_id = ?", [now.isoformat(), crawl_id])

    # --- seeding ------------------------------------------------------------------------------------

    def seed(self, seeds: Iterable[Seed], refetch_before: dt.datetime) -> int:
        """Queue new URLs and those last fetched before ``refetch_before``; returns how many are pending."""
        with self._transaction():
            self._db.executemany(
                "INSERT INTO urls (key, url, purpose, extract_links) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET extract_links = max(extract_links, excluded.extract_links)",
                ((seed.key, seed.url, seed.purpose, int(seed.extract_links)) for seed in seeds),
            )
            self._db.execute(
                "UPDATE urls SET pending = 1 WHERE pending = 0 AND last_fetched_at < ?",
                [refetch_before.isoformat()],
            )
        return self.pending_count()

    def pending_count(self) -> int:
        row = self._db.execute("SELECT count(*) FROM urls WHERE pending = 1").fetchone()
        return int(row[0])

    def pending(self, limit: int) -> list[Entry]:
        rows = self._db.execute(
            "SELECT key, url, purpose, extract_links FROM urls WHERE pending = 1 ORDER BY key LIMIT ?",
            [limit],
        ).fetchall()
        return [Entry(key, url, purpose, bool(extract)) for key, url, purpose, extract in rows]

    # --- results ------------------------------------------------------------------------------------

    def record(self, crawl_id: str, key: str, fetched_at: dt.datetime, payload: dict[str, Any]) -> None:
        """A finished fetch: its rows are kept and its URL is done, atomically."""
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO results (fetch_id, crawl_id, payload) VALUES (?, ?, ?)",
                [payload["fetch"]["fetch_id"], crawl_id, json.dumps(payload, default=_json_default)],
            )
            self._db.execute(
                "UPDATE urls SET pending = 0, last_fetched_at = ? WHERE key = ?",
                [fetched_at.isoformat(), key],
            )

    def assign_batch(self, crawl_id: str) -> int | None:
        """Put every recorded result without a batch into a new batch; ``None`` when there are none."""
        with self._transaction():
            unassigned = self._db.execute(
                "SELECT count(*) FROM results WHERE crawl_id = ? AND batch IS NULL", [crawl_id]
            ).fetchone()[0]
            if not unassigned:
                return None
            batch = self._db.execute(
                "SELECT coalesce(max(batch), -1) + 1 FROM batches WHERE crawl_id = ?", [crawl_id]
            ).fetchone()[0]
            self._db.execute("INSERT INTO batches (crawl_id, batch) VALUES (?, ?)", [crawl_id, batch])
            self._db.execute(
                "UPDATE results SET batch = ? WHERE crawl_id = ? AND batch IS NULL", [batch, crawl_id]
            )
            return int(batch)

    def unwritten_batches(self, crawl_id: str) -> list[int]:
        rows = self._db.execute(
            "SELECT batch FROM batches WHERE crawl_id = ? AND written = 0 ORDER BY batch", [crawl_id]
        ).fetchall()
        return [int(row[0]) for row in rows]

    def batch_payloads(self, crawl_id: str, batch: int) -> Iterator[dict[str, Any]]:
        cursor = self._db.execute(
            "SELECT payload FROM results WHERE crawl_id = ? AND batch = ? ORDER BY fetch_id",
            [crawl_id, batch],
        )
        for (payload,) in cursor:
            yield json.loads(payload)

    def mark_written(self, crawl_id: str, batch: int) -> None:
        """The batch is in the lake: its rows are no longer needed here."""
        with self._transaction():
            self._db.execute(
                "UPDATE batches SET written = 1 WHERE crawl_id = ? AND batch = ?", [crawl_id, batch]
            )
            self._db.execute("DELETE FROM results WHERE crawl_id = ? AND batch = ?", [crawl_id, batch])

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _json_default(value: object) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
