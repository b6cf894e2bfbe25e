"""Named fault points in the write paths, so crash-safety tests can kill a run at a chosen place.

A test sets ``SOCIALRANK_FAULT=<point>[@<n>][:<action>]`` in the environment of a pipeline process:
the ``n``-th time (default the first) that process reaches ``<point>``, the action happens. Actions:
``kill`` (the default: SIGKILL, no cleanup, like the OOM killer or a power cut), ``enospc`` (an
``OSError`` for a full disk) and ``fill`` (fill the small file system the point writes to, at most
1 GiB, with a ``.fault-filler`` file: what comes next meets a real full disk, in DuckDB's own code).
Without the variable a fault point costs one dictionary lookup.

Points (``grep -rn fault_point pipeline``): ``lake.written`` (a data file written, not yet renamed),
``lake.renamed`` (renamed, directory not yet synced), ``ingest.data_written`` (a delivery's data files
written, its rejections and ledger entry not), ``ingest.ledger_written``,
``purge.landing_deleted`` (a delivery's landed copies deleted), ``purge.derived_deleted`` (its lake
files and quarantine copy deleted, its ledger entry not yet), ``build.models`` (dbt
about to run the models; ``fill`` fills the build folder's file system), ``build.model`` (after each model),
``build.done`` (the build file complete), ``gate.rewritten_copied`` (an incremental build's
rewritten rows of one table copied for the gate), ``gate.validated`` (validation finished, summary not
recorded), ``publish.previous_kept`` (the old warehouse linked to ``previous``, the new one not yet in
place), ``publish.swapped`` (new warehouse in place, manifest not yet written), ``publish.done``.
"""

from __future__ import annotations

import errno
import os
import signal
from collections import Counter
from pathlib import Path

FAULT_ENV = "SOCIALRANK_FAULT"
ACTIONS = ("kill", "enospc", "fill")
FILLER = ".fault-filler"
MAX_FILLED_BYTES = 1 << 30

_reached: Counter[str] = Counter()


class FaultSpecError(ValueError):
    pass


def parse_spec(spec: str) -> tuple[str, int, str]:
    """``"build.model@3:kill"`` -> ``("build.model", 3, "kill")``."""
    point, _, action = spec.partition(":")
    point, _, nth = point.partition("@")
    action = action or "kill"
    if not point or action not in ACTIONS or (nth and not nth.isdigit()) or nth == "0":
        raise FaultSpecError(f"{FAULT_ENV}={spec!r}: expected <point>[@<n>][:kill|enospc|fill]")
    return point, int(nth or 1), action


def fault_point(name: str, folder: Path | None = None) -> None:
    """Do the configured fault if this is the chosen point and visit; otherwise nothing. ``folder``:
    where the point writes (for ``fill``)."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    point, nth, action = parse_spec(spec)
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] != nth:
        return
    if action == "enospc":
        raise OSError(errno.ENOSPC, f"No space left on device (injected at {name})")
    if action == "fill":
        _fill(name, folder)
        return
    os.kill(os.getpid(), signal.SIGKILL)


def _fill(name: str, folder: Path | None) -> None:
    if folder is None:
        raise FaultSpecError(f"{FAULT_ENV}: {name} writes to no folder it names; 'fill' needs one")
    stats = os.statvfs(folder)
    if stats.f_blocks * stats.f_frsize > MAX_FILLED_BYTES:
        raise FaultSpecError(f"{FAULT_ENV}: refusing to fill {folder}, a file system larger than 1 GiB")
    chunk = b"\0" * (1 << 16)
    with (folder / FILLER).open("wb", buffering=0) as filler:
        try:
            while True:
                filler.write(chunk)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
