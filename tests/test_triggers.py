from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pipeline import stages
from pipeline.config import Settings
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


def test_a_burst_of_sentinels_gives_one_event_each_and_an_ingest_records_every_one(
    settings: Settings,
) -> None:
    """The triggerer runs the trigger anew after each event: each sentinel fires once (it is marked
    announced, never deleted by the trigger); the ingest records and removes every sentinel and marker
    that was there when it began, announced or not, so none is lost if its event reaches no run."""
    landing = settings.data.landing
    folder = landing / "rankings" / "tracker"
    folder.mkdir(parents=True)
    names = [f"burst-{number}.csv" for number in range(4)]
    for number, name in enumerate(names):
        row = f"2026-10-30,burst {number},https://example.com/b{number},{number + 3}"
        (folder / name).write_text(f"date,keyword,url,position\n{row}\n")
        (folder / f"{name}.ready").write_text("")
    trigger = ReadySentinelTrigger(str(landing), poke_interval=0.01)
    fired = [asyncio.run(asyncio.wait_for(_first_event(trigger), timeout=5)) for _ in range(3)]
    assert fired == [{"sentinel": f"rankings/tracker/{name}.ready"} for name in names[:3]]
    assert sorted(path.name for path in folder.glob(".*.announced")) == [
        f".{n}.ready.announced" for n in names[:3]
    ]
    assert [path.name for path in folder.glob("*.ready")] == [f"{names[3]}.ready"]  # not announced yet

    summary = stages.ingest(settings)
    assert summary["by_status"] == {"ingested": 4}
    assert summary["sentinels"] == [f"rankings/tracker/{name}.ready" for name in names]
    assert sorted(path.name for path in folder.iterdir()) == names  # no sentinel, no marker left
    # Nothing is left to announce: the trigger waits.
    with pytest.raises(TimeoutError):
        asyncio.run(asyncio.wait_for(_first_event(trigger), timeout=0.2))
