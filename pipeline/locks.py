"""Advisory file locks with a bounded, logged wait: one ingest at a time, one warehouse writer at a time.

The locks live under the data root, so they hold across every process that writes it: ``socialrank``
commands in several terminals and Airflow tasks of overlapping runs (nightly, manual and backfill runs
alike; a backfill ignores the DAG's ``max_active_runs``). A lock file names its holder, so the one who
waits can say whom for. A lock is released when its holder's process ends, killed or not.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


class LockTimeout(Exception):
    """Another run held a lock longer than we may wait: an environment failure (exit 3)."""


@contextmanager
def held(path: Path, purpose: str, wait_seconds: float) -> Iterator[None]:
    """Hold the lock at ``path`` for ``purpose``; wait for it at most ``wait_seconds``, saying so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        started = time.monotonic()
        waited = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(handle)
                if time.monotonic() - started >= wait_seconds:
                    raise LockTimeout(
                        f"gave up waiting for the {purpose} lock ({path}) after {wait_seconds:.0f}s: "
                        f"{holder} still holds it; run again once it has finished, or raise "
                        "[locks] wait_seconds in socialrank.toml"
                    ) from None
                if not waited:
                    log.info(
                        "waiting for the %s lock (%s), held by %s; giving up after %.0fs",
                        purpose,
                        path,
                        holder,
                        wait_seconds,
                    )
                    waited = True
                time.sleep(POLL_SECONDS)
        if waited:
            log.info("got the %s lock after %.1fs", purpose, time.monotonic() - started)
        handle.seek(0)
        handle.truncate()
        handle.write(
            f"pid {os.getpid()} on {socket.gethostname()} since {dt.datetime.now(dt.UTC).isoformat()}\n"
        )
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder(handle: IO[str]) -> str:
    """Who holds the lock, as its holder wrote it ("another run" when it has not written it yet)."""
    handle.seek(0)
    return handle.read().strip() or "another run"
