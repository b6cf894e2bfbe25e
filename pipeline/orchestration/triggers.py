"""The trigger behind event-driven ingestion: a ``*.ready`` sentinel landing anywhere in the landing zone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

SENTINEL_PATTERN = "*.ready"


class ReadySentinelTrigger(BaseEventTrigger):
    """Fires once per sentinel file found below ``landing_dir``, consuming it (deleting it) so it fires once.

    The sentinel ``landing/<anything>.ready`` announces that a delivery finished landing; ingestion
    itself sweeps the whole landing zone, so the sentinel's name is only reported, not trusted.
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
            for sentinel in sorted(landing.rglob(SENTINEL_PATTERN)) if landing.exists() else []:
                try:
                    sentinel.unlink()
                except FileNotFoundError:
                    continue
                self.log.info("delivery announced by %s", sentinel)
                yield TriggerEvent({"sentinel": str(sentinel.relative_to(landing))})  # type: ignore[no-untyped-call]
                return
            await asyncio.sleep(self.poke_interval)
