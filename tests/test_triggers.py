from __future__ import annotations

import asyncio
from pathlib import Path

from pipeline.orchestration.triggers import ReadySentinelTrigger


async def _first_event(trigger: ReadySentinelTrigger) -> object:
    async for event in trigger.run():
        return event.payload
    raise AssertionError("the trigger stopped without an event")


def test_sentinel_fires_once_and_is_consumed(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "social" / "x").mkdir(parents=True)
    (landing / "social" / "x" / "archive.zip").write_bytes(b"zip")
    sentinel = landing / "social" / "x" / "archive.zip.ready"
    sentinel.write_text("")
    trigger = ReadySentinelTrigger(str(landing), poke_interval=0.01)
    payload = asyncio.run(asyncio.wait_for(_first_event(trigger), timeout=5))
    assert payload == {"sentinel": "social/x/archive.zip.ready"}
    assert not sentinel.exists()
    assert (landing / "social" / "x" / "archive.zip").exists()


def test_trigger_waits_until_a_sentinel_lands(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    trigger = ReadySentinelTrigger(str(landing), poke_interval=0.01)

    async def land_later() -> object:
        waiting = asyncio.create_task(_first_event(trigger))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        landing.mkdir()
        (landing / "delivery.ready").write_text("")
        return await asyncio.wait_for(waiting, timeout=5)

    assert asyncio.run(land_later()) == {"sentinel": "delivery.ready"}


def test_trigger_serialises_for_the_triggerer() -> None:
    path, kwargs = ReadySentinelTrigger("/data/landing", poke_interval=2.0).serialize()
    assert path == "pipeline.orchestration.triggers.ReadySentinelTrigger"
    assert ReadySentinelTrigger(**kwargs).landing_dir == "/data/landing"
