"""Warehouse build, gate and publish at scale (SPEC section 9).

Worlds come from :mod:`socialrank_demo.large` at three sizes, 1x, 2x and 4x a base scale (default 0.25,
so 4x is the large world: 5,000,000 posts, 20,000,000 backlinks, 30,000,000 ranking rows). Each is
landed and ingested once (cached in ``--workdir``; the ingest time is reported, not part of the build
figures). Then, each stage in its own fresh process so its peak memory (``ru_maxrss``) is its own:

- a full build (``--full``), the gate, the publish: their seconds and peak memory, at every size;
  the growth of the full build+gate+publish time from 1x to 2x and 4x;
- at the largest size, after that publish, in a copy of its data root (hard links: the size itself keeps
  what its full build left): the next day's deliveries (:func:`write_next_day`) are ingested and an
  incremental build, gate and publish run; the increment's share of the full time.

Targets at the large world (2 cores, 24 GB): full build+gate+publish under 10 minutes and under
8 GB; the gate under 25% of the build's time, memory bounded; the increment under 10% of the full.
Run: ``.venv/bin/python bench/bench_build.py`` (part of ``make bench``); results:
``bench/results/build.json``. ``--ingest-only`` lands and ingests the worlds without building
(``bench/results/ingest_world.json``; ``make bench-ingest`` runs it for the 4x world).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RESULTS = Path(__file__).resolve().parent / "results" / "build.json"
DEFAULT_WORKDIR = Path(os.environ.get("TMPDIR", "/tmp")) / "socialrank-bench-build"
TARGET_FULL_SECONDS = 600.0
TARGET_PEAK_BYTES = 8 * 1024**3
TARGET_GATE_SHARE = 0.25
TARGET_INCREMENT_SHARE = 0.10
STAGES = ("build", "gate", "publish")


def _settings(root: Path) -> Any:
    from pipeline.config import DataRoot, Settings
    from socialrank_demo.large import load_large_world

    world = load_large_world(_landing(root))
    data = DataRoot(root / "data")
    data.ensure()
    return Settings(data=data, owned_sites=world.owned_sites, timezone=ZoneInfo(world.timezone))


def _landing(root: Path) -> Path:
    return root / "data" / "landing"


def _ensure_landing(root: Path, scale: float) -> Any:
    from socialrank_demo.large import load_large_world, write_large_world

    landing = _landing(root)
    try:
        world = load_large_world(landing)
    except FileNotFoundError:
        print(f"  writing the world at scale {scale:g} to {landing} ...", flush=True)
        world = write_large_world(landing, scale)
    if world.scale != scale:
        raise SystemExit(
            f"{landing} holds a world at scale {world.scale}, not {scale}: use another --workdir"
        )
    return world


def _ingest_world(root: Path) -> dict[str, Any]:
    """Ingest the world in a child process, once: later runs report the first ingest's figures."""
    record = root / "ingest.json"
    if record.exists():
        cached: dict[str, Any] = json.loads(record.read_text(encoding="utf-8"))
        return cached
    figures = _child("ingest", root, None)
    record.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


# --- the stages, each in a child process ---------------------------------------------------------


def run_stage(stage: str, root: Path, run_date: dt.date | None, full: bool) -> dict[str, Any]:
    from pipeline import stages, warehouse

    settings = _settings(root)
    started = time.perf_counter()
    figures: dict[str, Any] = {}
    if stage == "ingest":
        report = stages.ingest(settings)
        figures["records"] = report["records"]
    elif stage == "build":
        assert run_date is not None
        built = stages.build(settings, run_date, full=full)
        (root / "last-build.json").write_text(json.dumps(built, indent=2), encoding="utf-8")
        figures |= {"mode": built["mode"], "row_counts": built["row_counts"]}
    else:
        built = json.loads((root / "last-build.json").read_text(encoding="utf-8"))
        build_path = Path(built["build_path"])
        if stage == "gate":
            summary = stages.check(settings, build_path)
            figures |= {"success": summary["success"], "evaluated": summary.get("evaluated")}
        else:
            with warehouse.writer_lock(settings):
                gate_summary = json.loads(stages.gate_result_path(build_path).read_text(encoding="utf-8"))
                stages.publish_build(settings, build_path, gate_summary)
            figures["warehouse_bytes"] = settings.warehouse.stat().st_size
    figures["seconds"] = time.perf_counter() - started
    return figures


def _child(stage: str, root: Path, run_date: dt.date | None, full: bool = False) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", stage, "--workdir", str(root)]
    if run_date:
        command += ["--run-date", run_date.isoformat()]
    if full:
        command.append("--full")
    completed = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _cycle(root: Path, run_date: dt.date, full: bool) -> dict[str, Any]:
    """Build, gate and publish; each stage's seconds and peak memory, and the totals."""
    figures = {stage: _child(stage, root, run_date, full) for stage in STAGES}
    for stage in STAGES:
        seconds, peak = figures[stage]["seconds"], figures[stage]["peak_rss_bytes"] / 1024**3
        print(f"    {stage}: {seconds:.1f} s, peak {peak:.2f} GB", flush=True)
    figures["total_seconds"] = sum(figures[stage]["seconds"] for stage in STAGES)
    figures["peak_rss_bytes"] = max(figures[stage]["peak_rss_bytes"] for stage in STAGES)
    return figures


def _clone_for_increment(source: Path, clone: Path) -> Path:
    """A copy of a published size to land the next day in, so the size itself stays as its full build
    left it and the increment can be measured again without generating and ingesting the world again.
    Lake and landing files and warehouse files are only ever replaced by renames, never written in
    place, so they are hard links; everything else (the GX project, manifests) is copied."""

    def link_or_copy(src: str, dst: str) -> object:
        relative = Path(src).relative_to(source).parts
        if relative[:2] in {("data", "lake"), ("data", "landing")} or src.endswith(".duckdb"):
            os.link(src, dst)
            return dst
        return shutil.copy2(src, dst)

    if clone.exists():
        shutil.rmtree(clone)
    shutil.copytree(source, clone, copy_function=link_or_copy)
    return clone


# --- the run -------------------------------------------------------------------------------------


def ingest_worlds(workdir: Path, base_scale: float, only: list[str]) -> None:
    """Land and ingest the worlds of the sizes in ``only`` (a world's first ingest, into an empty lake, is
    the one measured and kept), without building: ``bench/results/ingest_world.json``."""
    import duckdb

    sizes = {}
    for name in only:
        scale = base_scale * int(name.rstrip("x"))
        root = workdir / f"scale-{scale:g}"
        world = _ensure_landing(root, scale)
        ingested = _ingest_world(root)
        print(
            f"{name} (scale {scale:g}): ingest {ingested['seconds']:.1f} s {ingested['records']}", flush=True
        )
        sizes[name] = {"scale": scale, "world": world.counts, "ingest": ingested}
    report = {
        "benchmark": "ingest of the large worlds",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "duckdb": duckdb.__version__,
        },
        "sizes": sizes,
    }
    path = RESULTS.with_name("ingest_world.json")
    path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-scale", type=float, default=0.25, help="1x; the run covers 1x, 2x and 4x")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument(
        "--only",
        choices=("1x", "2x", "4x"),
        action="append",
        help="measure only these sizes now (repeatable); the report combines the latest figures of each",
    )
    parser.add_argument(
        "--ingest-only",
        action="store_true",
        help="only land and ingest the worlds (the sizes --only names, else 4x): results/ingest_world.json",
    )
    parser.add_argument("--child", choices=("ingest", *STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--run-date", type=dt.date.fromisoformat, help=argparse.SUPPRESS)
    parser.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        # Each model's rows and seconds, to see where a build's time goes.
        logging.getLogger("pipeline.warehouse").setLevel(logging.DEBUG)
        result = run_stage(args.child, args.workdir, args.run_date, args.full)
        result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps(result, default=str))
        return

    from socialrank_demo.large import load_large_world, write_next_day

    if args.ingest_only:
        ingest_worlds(args.workdir, args.base_scale, args.only or ["4x"])
        return
    sizes: dict[str, dict[str, Any]] = {}
    for multiple in (1, 2, 4):
        scale = args.base_scale * multiple
        root = args.workdir / f"scale-{scale:g}"
        record = root / "sizes.json"
        if args.only and f"{multiple}x" not in args.only:
            if record.exists():
                sizes[f"{multiple}x"] = json.loads(record.read_text(encoding="utf-8"))
            else:
                print(f"{multiple}x (scale {scale:g}): not measured yet", flush=True)
            continue
        print(f"{multiple}x (scale {scale:g}):", flush=True)
        world = _ensure_landing(root, scale)
        ingested = _ingest_world(root)
        print(f"  ingest: {ingested['seconds']:.1f} s {ingested['records']}", flush=True)
        print("  full build, gate, publish:", flush=True)
        sizes[f"{multiple}x"] = {
            "scale": scale,
            "world": world.counts,
            "ingest": ingested,
            "full": _cycle(root, world.last_day, full=True),
        }
        record.write_text(json.dumps(sizes[f"{multiple}x"], indent=2, default=str) + "\n", encoding="utf-8")
    if args.only and "4x" not in args.only:
        print("the increment is measured with the 4x size; run with --only 4x for it and the report")
        return

    largest = sizes["4x"]
    root = _clone_for_increment(args.workdir / f"scale-{largest['scale']:g}", args.workdir / "increment")
    world = load_large_world(_landing(root))
    next_day = world.last_day + dt.timedelta(days=1)
    write_next_day(_landing(root), world, next_day)
    next_ingest = _child("ingest", root, None)
    print(
        f"next day {next_day}: ingest {next_ingest['seconds']:.1f} s; incremental build, gate, publish:",
        flush=True,
    )
    increment = _cycle(root, next_day, full=False)
    increment["ingest"] = next_ingest
    if increment["build"]["mode"] != "incremental":
        raise SystemExit("the next day's build was not incremental")

    full = largest["full"]
    base = sizes["1x"]["full"]["total_seconds"] if "1x" in sizes else None
    checks = {
        "full_build_gate_publish_seconds": {
            "value": full["total_seconds"],
            "target_below": TARGET_FULL_SECONDS,
            "met": full["total_seconds"] < TARGET_FULL_SECONDS,
        },
        "full_peak_memory_gb": {
            "value": full["peak_rss_bytes"] / 1024**3,
            "target_below": TARGET_PEAK_BYTES / 1024**3,
            "met": full["peak_rss_bytes"] < TARGET_PEAK_BYTES,
        },
        "gate_share_of_build": {
            "value": full["gate"]["seconds"] / full["build"]["seconds"],
            "target_below": TARGET_GATE_SHARE,
            "met": full["gate"]["seconds"] / full["build"]["seconds"] < TARGET_GATE_SHARE,
            "gate_peak_memory_gb": full["gate"]["peak_rss_bytes"] / 1024**3,
        },
        "increment_share_of_full": {
            "value": increment["total_seconds"] / full["total_seconds"],
            "target_below": TARGET_INCREMENT_SHARE,
            "met": increment["total_seconds"] / full["total_seconds"] < TARGET_INCREMENT_SHARE,
        },
    }
    growth = {name: size["full"]["total_seconds"] / base for name, size in sizes.items()} if base else {}
    report = {
        "benchmark": "warehouse build, gate and publish at scale",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "sizes": sizes,
        "growth_vs_1x": growth,
        "increment": increment,
        "checks": checks,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    for name, check in checks.items():
        verdict = "met" if check["met"] else "NOT met"
        print(f"{name}: {check['value']:.3g} (target < {check['target_below']:g}) {verdict}")
    print("growth of the full time: " + ", ".join(f"{name} {ratio:.2f}" for name, ratio in growth.items()))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
