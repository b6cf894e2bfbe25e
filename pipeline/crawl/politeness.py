"""Per-host politeness: at most N requests in flight and a minimum delay between request starts.

Every single HTTP request (page, redirect hop, robots.txt, retry) takes a slot of its host for as long
as it is in flight. A host's delay is the configured minimum, or its robots.txt ``Crawl-delay`` when that
is larger (capped by ``max_crawl_delay``); a ``Retry-After`` pushes the host's next start further out.
Hosts are independent: a slow host never holds up the others.

Starts are spaced 2% wider than the delay: requests reach the server with some jitter (scheduling, the
network), and the host must never see more than one request per delay, measured at its end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

SPACING_MARGIN = 1.02


@dataclass
class _HostState:
    delay: float
    active: int = 0
    next_start: float = 0.0


class HostPoliteness:
    def __init__(
        self,
        max_concurrent: int,
        min_delay: float,
        max_crawl_delay: float = float("inf"),
        clock: Callable[[], float] = time.monotonic,
        on_start: Callable[[str, float], None] | None = None,
    ) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.max_concurrent = max_concurrent
        self.min_delay = min_delay
        self.max_crawl_delay = max_crawl_delay
        self._clock = clock
        self._on_start = on_start
        self._hosts: dict[str, _HostState] = {}
        self._changed = threading.Condition()

    def _state(self, host: str) -> _HostState:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _HostState(self.min_delay)
        return state

    def set_crawl_delay(self, host: str, seconds: float) -> float:
        """Apply a robots.txt ``Crawl-delay``; returns the delay now in force for the host."""
        with self._changed:
            state = self._state(host)
            state.delay = max(self.min_delay, min(seconds, self.max_crawl_delay))
            return state.delay

    def delay(self, host: str) -> float:
        with self._changed:
            return self._state(host).delay

    def defer(self, host: str, seconds: float) -> None:
        """No new request to ``host`` starts within ``seconds`` (a server's ``Retry-After``, a backoff)."""
        with self._changed:
            state = self._state(host)
            state.next_start = max(state.next_start, self._clock() + seconds)
            self._changed.notify_all()

    def next_start(self, host: str) -> float:
        """The earliest clock time a new request to ``host`` could start, if a slot is free by then."""
        with self._changed:
            return self._state(host).next_start

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Wait for a free slot of ``host`` and its delay to pass; hold the slot while the body runs."""
        with self._changed:
            state = self._state(host)
            while True:
                now = self._clock()
                if state.active < self.max_concurrent and now >= state.next_start:
                    break
                timeout = state.next_start - now if state.active < self.max_concurrent else None
                self._changed.wait(timeout)
            state.active += 1
            state.next_start = now + state.delay * SPACING_MARGIN
        if self._on_start is not None:
            self._on_start(host, now)
        try:
            yield
        finally:
            with self._changed:
                state.active -= 1
                self._changed.notify_all()
