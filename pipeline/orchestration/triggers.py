"""The trigger behind event-driven ingestion: a ``*.ready`` sentinel landing anywhere in the landing zone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from pipeline.sentinels import announce_next


class ReadySentinelTrigger(BaseEventTrigger):
    """Fires once per sentinel file found below ``landing_dir`` (``landing/<anything>.ready``).

    It never deletes a sentinel: it marks it announced (:func:`pipeline.sentinels.announce_next`, a
    rename the ingest's sweep skips) and fires its event. The ingest that sweeps the landing zone after
    it records and removes the marker, so a sentinel whose event is lost or merged into another run's is
    still recorded by an ingest. File-system calls run in a worker thread, off the triggerer's event loop.
    """

    def __init__(self, landing_dir: str, poke_interval: float = 5.0) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.landing_dir = landing_dir
        self.poke_interval = poke_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "pipeline.orchestration.triggers.ReadySentinelTrigger",
            {"landing_dir": self.landing_dir, "poke_interval": self.poke_interval},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        landing = Path(self.landing_dir)
        while True:
            sentinel = await asyncio.to_thread(announce_next, landing)
            if sentinel is not None:
                self.log.info("delivery announced by %s", sentinel)
                yield TriggerEvent({"sentinel": sentinel})  # type: ignore[no-untyped-call]
                return
            await asyncio.sleep(self.poke_interval)
