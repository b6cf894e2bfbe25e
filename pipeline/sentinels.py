"""Delivery sentinels: ``landing/<anything>.ready`` says a delivery has finished landing.

The event-driven ingest's trigger announces each sentinel once: it renames ``x.ready`` to the hidden
``.x.ready.announced`` (the ingest's sweep skips hidden names) and fires an asset event naming it. It never
deletes one. An ingest, of any DAG or of ``socialrank ingest``, records and removes the sentinels and
announced markers that were there when it began, once it has ingested what had landed: so a sentinel
whose event never made it into a run (a triggerer that died after the rename, events merged into one
run) is still recorded by the next ingest, and none is recorded twice.
"""

from __future__ import annotations

from pathlib import Path

SENTINEL_SUFFIX = ".ready"
ANNOUNCED_SUFFIX = ".announced"


def announce_next(landing: Path) -> str | None:
    """Mark one unannounced sentinel as announced; its path relative to ``landing`` (None: none)."""
    if not landing.exists():
        return None
    for sentinel in sorted(landing.rglob(f"*{SENTINEL_SUFFIX}")):
        if sentinel.name.startswith(".") or not sentinel.is_file():
            continue
        try:
            sentinel.rename(sentinel.with_name(f".{sentinel.name}{ANNOUNCED_SUFFIX}"))
        except FileNotFoundError:  # consumed meanwhile by an ingest
            continue
        return sentinel.relative_to(landing).as_posix()
    return None


def present(landing: Path) -> list[Path]:
    """Sentinels and announced markers in the landing zone now."""
    if not landing.exists():
        return []
    found = [*landing.rglob(f"*{SENTINEL_SUFFIX}"), *landing.rglob(f".*{SENTINEL_SUFFIX}{ANNOUNCED_SUFFIX}")]
    return sorted(path for path in found if path.is_file() and not path.is_symlink())


def consume(landing: Path, found: list[Path]) -> list[str]:
    """Remove these sentinels (an ingest has swept their deliveries), in either form: a sentinel the
    trigger announced since it was found is now a marker. Their names, each once."""
    consumed = set()
    for path in found:
        sentinel = path.with_name(path.name.removeprefix(".").removesuffix(ANNOUNCED_SUFFIX))
        sentinel.unlink(missing_ok=True)
        sentinel.with_name(f".{sentinel.name}{ANNOUNCED_SUFFIX}").unlink(missing_ok=True)
        consumed.add(sentinel.relative_to(landing).as_posix())
    return sorted(consumed)
