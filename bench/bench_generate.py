"""Large-world generator benchmark: time, peak memory and disk of ``write_large_world`` per scale.

Each scale is written in a fresh child process (``socialrank_demo.large.write_large_world``, its worker
processes included: the peak is the largest of the parent's and every worker's own ``ru_maxrss``),
then one nightly increment (``write_next_day`` for the day after the history, into a scratch folder so
the history's landing zone stays as it is). With ``--ingest`` the world is then ingested by the real
ingest (``run_ingest``) in another fresh child process, into a data root beside the landing zone.

Run: ``.venv/bin/python bench/bench_generate.py --scale 0.1 --ingest`` (worlds go under ``--root`` and
are removed afterwards unless ``--keep``), or for one world kept where it is wanted:
``.venv/bin/python bench/bench_generate.py --scale 1.0 --landing /tmp/socialrank-large/landing``
(``--ingest-only`` then times the ingest of that world into ``/tmp/socialrank-large/data``, kept, its
``landing`` a link to the world's).
Results: ``bench/results/generate.json``, one entry per scale (a new run replaces its scale's entry).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results" / "generate.json"
DEFAULT_ROOT = Path(os.environ.get("TMPDIR", "/tmp")) / "socialrank-bench-generate"
# What a data root holds besides the landing zone: cleared before an ingest is measured.
DATA_FOLDERS = ("lake", "quarantine", "warehouse", "reports", "runs", "state", "gx")


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child_generate(landing: Path, scale: float, seed: int, workers: int | None) -> dict[str, Any]:
    from socialrank_demo.large import write_large_world, write_next_day

    world = write_large_world(landing, scale=scale, seed=seed, workers=workers)
    rows = world.counts["posts"] + world.counts["backlinks"] + world.counts["rankings"]
    with tempfile.TemporaryDirectory(prefix="next-day-", dir=landing.parent) as scratch:
        started = time.perf_counter()
        night = write_next_day(Path(scratch), world, world.last_day + dt.timedelta(days=1))
        night_seconds = time.perf_counter() - started
    return {
        "seconds": world.run["seconds"],
        "peak_rss_bytes": int(max(world.run["peak_rss_bytes"], _peak_rss())),
        "peak_rss_sum_bytes": int(world.run["peak_rss_sum_bytes"]),
        "processes": int(world.run["processes"]),
        "bytes": world.counts["bytes"],
        "deliveries": len(world.files),
        "counts": world.counts,
        "rows_per_second": round(rows / world.run["seconds"]),
        "megabytes_per_second": round(world.counts["bytes"] / 2**20 / world.run["seconds"], 1),
        "owned_sites": list(world.owned_sites),
        "timezone": world.timezone,
        "days": f"{world.first_day}..{world.last_day}",
        "pages": world.pages,
        "tracked_pairs": world.tracked_pairs,
        "referring_domains": world.referring_domains,
        "next_day": {"seconds": round(night_seconds, 2), "counts": night},
    }


def child_ingest(landing: Path, data_root: Path) -> dict[str, Any]:
    import logging
    from zoneinfo import ZoneInfo

    from pipeline.config import DataRoot, Settings
    from pipeline.ingest import run_ingest
    from socialrank_demo.large import load_large_world

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    world = load_large_world(landing)
    for folder in DATA_FOLDERS:
        shutil.rmtree(data_root / folder, ignore_errors=True)
    data_root.mkdir(parents=True, exist_ok=True)
    if not (data_root / "landing").exists():
        (data_root / "landing").symlink_to(landing.resolve(), target_is_directory=True)
    settings = Settings(
        data=DataRoot(data_root), owned_sites=world.owned_sites, timezone=ZoneInfo(world.timezone)
    )
    started = time.perf_counter()
    report = run_ingest(settings)
    seconds = time.perf_counter() - started
    totals = report.totals()
    primary = totals["post"] + totals["backlink"] + totals["ranking"]
    return {
        "seconds": round(seconds, 1),
        "peak_rss_bytes": _peak_rss(),
        "data_root": str(data_root),
        "deliveries": dict(Counter(result.status for result in report.results)),
        "records": dict(sorted(totals.items())),
        "primary_records_per_second": round(primary / seconds),
        "matches_world": totals["post"] == world.counts["posts"]
        and totals["backlink"] == world.counts["backlinks"]
        and totals["ranking"] == world.counts["rankings"]
        and totals["quarantined_records"] == 0,
        "lake_bytes": sum(p.stat().st_size for p in (data_root / "lake").rglob("*") if p.is_file()),
    }


def _in_child(*arguments: str) -> dict[str, Any]:
    """Run this script's ``--child`` mode in a fresh process; its last stdout line is the JSON result."""
    completed = subprocess.run(
        [sys.executable, __file__, "--child", *arguments], check=True, stdout=subprocess.PIPE, text=True
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, action="append", help="scale factor (repeatable; default 0.1)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=None, help="generator processes (default: per CPU)")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="where worlds go (scale-<s>/landing)")
    parser.add_argument("--landing", type=Path, help="landing zone for a single --scale (kept)")
    parser.add_argument("--ingest", action="store_true", help="also time the real ingest of each world")
    parser.add_argument(
        "--ingest-only", action="store_true", help="time the ingest of the world already in --landing"
    )
    parser.add_argument("--keep", action="store_true", help="keep the worlds written under --root")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, *rest = args.child
        if kind == "generate":
            landing, scale, seed, workers = Path(rest[0]), float(rest[1]), int(rest[2]), rest[3]
            result = child_generate(landing, scale, seed, None if workers == "auto" else int(workers))
        else:
            result = child_ingest(Path(rest[0]), Path(rest[1]))
        print(json.dumps(result))
        return

    scales = args.scale or [0.1]
    if args.landing and len(scales) != 1:
        parser.error("--landing takes exactly one --scale")
    if args.ingest_only and not args.landing:
        parser.error("--ingest-only needs the --landing of a world written before")
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update(
        {
            "benchmark": "large world generator (socialrank_demo.large)",
            "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
        }
    )
    for scale in scales:
        landing = args.landing or args.root / f"scale-{scale:g}" / "landing"
        if args.ingest_only:
            entry = results.get("scales", {}).get(f"{scale:g}", {})
        else:
            shutil.rmtree(landing, ignore_errors=True)
            workers = "auto" if args.workers is None else str(args.workers)
            print(f"scale {scale:g}: writing {landing} ...", file=sys.stderr)
            entry = _in_child("generate", str(landing), str(scale), str(args.seed), workers)
            entry.update({"landing": str(landing), "workers": workers, "seed": args.seed})
            print(
                f"scale {scale:g}: {entry['seconds']:.1f}s, {entry['bytes'] / 2**30:.2f} GiB, "
                f"peak {entry['peak_rss_bytes'] / 2**20:.0f} MiB, {entry['rows_per_second']:,} rows/s",
                file=sys.stderr,
            )
        if args.ingest or args.ingest_only:
            data_root = landing.parent / "data"
            print(f"scale {scale:g}: ingesting into {data_root} ...", file=sys.stderr)
            entry["ingest"] = _in_child("ingest", str(landing), str(data_root))
            print(f"scale {scale:g}: ingest {entry['ingest']['seconds']:.1f}s", file=sys.stderr)
            if not args.landing and not args.keep:
                shutil.rmtree(data_root, ignore_errors=True)
        results.setdefault("scales", {})[f"{scale:g}"] = entry
        if not args.landing and not args.keep:
            shutil.rmtree(landing.parent, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results in {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
