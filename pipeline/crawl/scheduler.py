"""Hands the crawl's work to worker threads, many hosts in parallel, each host at its own pace.

Work is queued per host; a worker gets the next entry of the host whose politeness allows a request
soonest (a heap ordered by that time), and never more entries of one host at a time than the host may
have requests in flight. Politeness itself is enforced per request by
:class:`~pipeline.crawl.politeness.HostPoliteness`; the scheduler only keeps workers from queueing up
behind a host that is not ready while others are.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

from pipeline.crawl.politeness import HostPoliteness


class HostScheduler[Item]:
    def __init__(self, politeness: HostPoliteness, clock: Callable[[], float] = time.monotonic) -> None:
        self.politeness = politeness
        self._clock = clock
        self._queues: dict[str, deque[Item]] = defaultdict(deque)
        self._in_flight: dict[str, int] = defaultdict(int)
        self._heap: list[tuple[float, int, str]] = []
        self._in_heap: set[str] = set()
        self._order = itertools.count()
        self._waiting = 0
        self._closed = False
        self._changed = threading.Condition()

    def put(self, host: str, item: Item) -> None:
        with self._changed:
            self._queues[host].append(item)
            self._waiting += 1
            self._schedule(host)
            self._changed.notify()

    def close(self) -> None:
        """No more work is handed out; workers waiting in :meth:`get` return ``None``."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _schedule(self, host: str) -> None:
        if host in self._in_heap or not self._queues[host]:
            return
        if self._in_flight[host] >= self.politeness.max_concurrent:
            return
        heapq.heappush(self._heap, (self.politeness.next_start(host), next(self._order), host))
        self._in_heap.add(host)

    def get(self) -> tuple[str, Item] | None:
        """The next (host, item), waiting for a host to be ready; ``None`` once everything is handed out."""
        with self._changed:
            while True:
                if self._closed or self._waiting == 0:
                    return None
                if not self._heap:
                    self._changed.wait()
                    continue
                ready_at, _, host = self._heap[0]
                now = self._clock()
                if ready_at > now:
                    self._changed.wait(ready_at - now)
                    continue
                heapq.heappop(self._heap)
                self._in_heap.discard(host)
                actual = self.politeness.next_start(host)
                if actual > now:
                    # Another request (a redirect hop, robots.txt, a Retry-After) moved the host's time.
                    heapq.heappush(self._heap, (actual, next(self._order), host))
                    self._in_heap.add(host)
                    continue
                item = self._queues[host].popleft()
                self._waiting -= 1
                if self._waiting == 0:
                    self._changed.notify_all()  # idle workers can stop
                self._in_flight[host] += 1
                self._reschedule_after_start(host, now)
                return host, item

    def _reschedule_after_start(self, host: str, now: float) -> None:
        if not self._queues[host] or self._in_flight[host] >= self.politeness.max_concurrent:
            return
        # The worker has not taken its slot yet: estimate when the host's next start can be.
        heapq.heappush(self._heap, (now + self.politeness.delay(host), next(self._order), host))
        self._in_heap.add(host)

    def done(self, host: str) -> None:
        with self._changed:
            self._in_flight[host] -= 1
            self._schedule(host)
            self._changed.notify_all()
