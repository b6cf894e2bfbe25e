"""``socialrank inspect PATH [--json]``: what socialrank sees in one export, before it is landed.

The file, zip or folder is read exactly as the ingest reads it (format detection, the format's parser,
damaged members ending with their place), but nothing is written: records are only counted, so an
archive of a million posts is inspected in bounded memory. An export no format recognises gets the
ingest's words for why (empty; the nearest format and its missing columns), and a file in the landing
zone that the ingest would not read where it lies (above ``landing/<family>/<source>/``) is said to be.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pipeline.cli_support import AddCommand, json_output
from pipeline.config import Settings
from pipeline.delivery import Delivery, UnreadableDelivery
from pipeline.hosts import is_owned
from pipeline.ingest import is_misplaced, misplaced_message
from pipeline.sources import detect_format
from pipeline.sources.base import MalformedInput, ParseContext, Rejected, Skipped
from pipeline.sources.diagnosis import why_unrecognised

log = logging.getLogger(__name__)

REASONS_SHOWN = 5
COUNTED_KINDS = {
    "post": "posts",
    "link": "links",
    "engagement": "engagement",
    "backlink": "backlinks",
    "ranking": "rankings",
    "traffic": "traffic",
}
EXIT_READ, EXIT_NOT_READ, EXIT_USAGE = 0, 1, 2


def inspect_path(settings: Settings, path: Path) -> dict[str, Any]:
    """Counts of what each kind of record the export yields, its quarantined records and their first reasons.

    ``format`` is ``None`` and ``error`` says why when the export cannot be read or is no known format;
    ``misplaced`` says where to move a file that lies in the landing zone where the ingest does not read it.
    """
    started = time.perf_counter()
    result: dict[str, Any] = {
        "path": str(path),
        "kind": None,
        "format": None,
        **dict.fromkeys(COUNTED_KINDS.values(), 0),
        "owned_links": 0,
        "owned_backlinks": 0,
        "platforms": {},
        "quarantined": 0,
        "skipped": 0,
        "reasons": [],
        "error": None,
        "misplaced": None,
    }
    if not path.exists():
        result["error"] = f"{path}: no such file or folder"
        return result
    delivery = Delivery(path)
    reason = None
    try:
        result["kind"] = delivery.kind
        source_format = detect_format(delivery)
        if source_format is None:
            reason = why_unrecognised(delivery)
            result["error"] = f"{path.name}: {reason}"
        else:
            result["format"] = source_format.name
            landed_on = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC).date()
            context = ParseContext(settings.www_policy, landed_on, owned_sites=settings.owned_sites)
            _count(result, source_format.parse(delivery, context), settings)
    except UnreadableDelivery as exc:
        result["format"] = None
        result["error"] = reason = str(exc)
    finally:
        delivery.close()
    landing = settings.data.landing
    if is_misplaced(landing, path):
        relative = (path.parent.resolve() / path.name).relative_to(landing.resolve()).as_posix()
        result["misplaced"] = misplaced_message(relative, result["format"], reason)
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _count(result: dict[str, Any], items: Any, settings: Settings) -> None:
    platforms: Counter[str] = Counter()
    reasons: list[str] = result["reasons"]

    def reject(item: Rejected) -> None:
        result["quarantined"] += 1
        if len(reasons) < REASONS_SHOWN:
            reasons.append(f"{item.member} {item.location}: {item.reason}")

    try:
        for item in items:
            if isinstance(item, Rejected):
                reject(item)
                continue
            if isinstance(item, Skipped):
                result["skipped"] += 1
                continue
            result[COUNTED_KINDS[item.kind]] += 1
            if item.kind == "post":
                platforms[item.row["platform"]] += 1
            elif item.kind == "link" and item.row["canonical_url"]:
                result["owned_links"] += is_owned(item.row["canonical_url"], settings.owned_sites)
            elif item.kind == "backlink" and item.row["target_canonical"]:
                result["owned_backlinks"] += is_owned(item.row["target_canonical"], settings.owned_sites)
    except MalformedInput as exc:
        reject(Rejected(exc.member, exc.location, f"{exc.reason}; the rest of the member was skipped"))
    result["platforms"] = dict(platforms)


def render(result: dict[str, Any]) -> str:
    """The result for a person: one summary line, then the quarantine's first reasons."""
    misplaced = [f"  not ingested where it lies: {result['misplaced']}"] if result["misplaced"] else []
    if result["error"]:
        return "\n".join([f"{result['path']}: {result['error']}", *misplaced])
    lines = [
        f"{result['path']} ({result['kind']}): {result['format']}",
        f"  posts {result['posts']}"
        + (
            f" ({', '.join(f'{p} {n}' for p, n in sorted(result['platforms'].items()))})"
            if result["platforms"]
            else ""
        )
        + f", links {result['links']} (to owned sites {result['owned_links']}),"
        f" engagement {result['engagement']},"
        f" backlinks {result['backlinks']} (to owned sites {result['owned_backlinks']}),"
        f" rankings {result['rankings']}, traffic {result['traffic']}",
        f"  quarantined {result['quarantined']}" + (":" if result["reasons"] else ""),
    ]
    if result["skipped"]:
        lines.insert(
            1, f"  skipped {result['skipped']} rows that are not records by design (image rows, ...)"
        )
    lines.extend(f"    {reason}" for reason in result["reasons"])
    if result["quarantined"] > len(result["reasons"]):
        lines.append(f"    ... and {result['quarantined'] - len(result['reasons'])} more")
    return "\n".join([*lines, *misplaced])


def cmd_inspect(settings: Settings, args: argparse.Namespace) -> int:
    result = inspect_path(settings, Path(args.path))
    if args.json:
        json_output.print(result)
    else:
        print(render(result))
    if result["error"]:
        log.error("%s", result["error"])
        return EXIT_NOT_READ if Path(args.path).exists() else EXIT_USAGE
    return EXIT_READ


def add_inspect_parser(add: AddCommand) -> None:
    """Register ``inspect`` through the CLI's ``add(name, handler, help)``."""
    command = add(
        "inspect",
        cmd_inspect,
        "read one export (file, zip or folder) and report what socialrank sees; writes nothing",
    )
    command.add_argument("path", help="the export to inspect")
