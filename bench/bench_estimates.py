"""The impact estimation step of a sample build, this checkout against an earlier revision.

The bundled sample world is built once (``socialrank demo-data``, ``ingest``, ``build`` under
``--workdir``); then the build's impact step (:func:`pipeline.impact.mart.write_estimates`: every design's
Callaway & Sant'Anna estimate and the headline designs' robust intervals) is re-run on a copy of that
warehouse, each run a fresh process, alternately with the ``pipeline`` package of ``--baseline`` (a git
revision, exported with ``git archive``) and of this checkout, ``--repeats`` times each, the order
flipped every round so that a busy machine weighs on both alike. Reported: the step's seconds (as the
build logs them) per run, their medians, the ratio of the medians and the run-by-run ratios. Every run's
``mart.impact_estimates`` and ``mart.impact_event_time`` must equal the baseline's first run's, value for
value: a faster step that changed a number would be a failure, not a result.

Run: ``.venv/bin/python bench/bench_estimates.py [--baseline REV] [--repeats N]`` (not part of ``make
bench``: it compares two revisions). Results: ``bench/results/estimates.json``, a row of
``bench/results/report.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results" / "estimates.json"
DEFAULT_WORKDIR = Path(os.environ.get("TMPDIR", "/tmp")) / "socialrank-bench-estimates"
TABLES = ("mart.impact_estimates", "mart.impact_event_time")


def child(warehouse: Path) -> None:
    """One run of the impact step on a copy of ``warehouse``: prints its seconds and a digest of the
    rows it wrote. Imports ``pipeline`` from wherever ``PYTHONPATH`` (or the install) says."""
    import duckdb

    from pipeline.config import load_settings
    from pipeline.impact.mart import write_estimates
    from pipeline.warehouse import define_macros

    settings = load_settings()
    copy = warehouse.with_name(f"run-{os.getpid()}.duckdb")
    shutil.copyfile(warehouse, copy)
    try:
        con = duckdb.connect(str(copy), config={"memory_limit": settings.warehouse_memory_limit})
        as_of = con.execute("SELECT as_of FROM meta.build_info").fetchone()
        con.execute("SET VARIABLE as_of = ?", [as_of[0] if as_of else None])
        con.execute("SET VARIABLE impact_window_weeks = ?", [settings.impact.window_weeks])
        define_macros(con, settings)
        # The build's checksum of its inputs would keep its estimates: forget it, so they are estimated.
        con.execute("DELETE FROM meta.impact_inputs")
        started = time.perf_counter()
        write_estimates(con, settings.impact)
        seconds = time.perf_counter() - started
        digest = hashlib.sha256()
        for table in TABLES:  # this module's fixed names
            for row in con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall():
                digest.update(repr(row).encode())
        con.close()
    finally:
        copy.unlink(missing_ok=True)
    print(json.dumps({"seconds": seconds, "rows_sha256": digest.hexdigest()}))


def sample_warehouse(workdir: Path) -> Path:
    """The sample world's built warehouse under ``workdir``, built the first time."""
    cached = workdir / "sample.duckdb"
    if cached.exists():
        return cached
    home = workdir / "home"
    shutil.rmtree(home, ignore_errors=True)
    socialrank = str(Path(sys.executable).with_name("socialrank"))
    env = os.environ | {
        "SOCIALRANK_HOME": str(home),
        "SOCIALRANK_CONFIG": str(PROJECT / "sample" / "socialrank.toml"),
    }
    for command in (["demo-data", "--if-empty"], ["ingest"], ["build"]):
        subprocess.run([socialrank, *command], env=env, check=True, capture_output=True)
    (built,) = (home / "warehouse" / "builds").glob("*.duckdb")
    shutil.copyfile(built, cached)
    return cached


def baseline_tree(workdir: Path, revision: str) -> Path:
    """``revision``'s ``pipeline`` package and the resources it reads (``sql/``, ``expectations/``),
    exported under ``workdir``."""
    commit = subprocess.run(
        ["git", "-C", str(PROJECT), "rev-parse", "--verify", f"{revision}^{{commit}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    tree = workdir / f"baseline-{commit[:12]}"
    if not tree.exists():
        tree.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(PROJECT), "archive", commit, "pipeline", "sql", "expectations"],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def run(warehouse: Path, tree: Path | None) -> dict[str, Any]:
    """One child run with ``tree``'s code and SQL (None: this checkout's)."""
    env = os.environ | {
        "SOCIALRANK_HOME": str(warehouse.parent / "home"),
        "SOCIALRANK_CONFIG": str(PROJECT / "sample" / "socialrank.toml"),
        "SOCIALRANK_PROJECT_DIR": str(tree or PROJECT),
    }
    env.pop("PYTHONPATH", None)
    load_before = os.getloadavg()[0]
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    finished = subprocess.run(
        [sys.executable, __file__, "--child", str(warehouse)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=warehouse.parent,
    )
    result: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    # The machine may be shared: its load while the run ran, beside the run's time.
    return result | {"load_average_1min": load_before, "load_average_1min_after": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="HEAD", help="the git revision to compare with")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    warehouse = sample_warehouse(args.workdir)
    trees: dict[str, Path | None] = {"baseline": baseline_tree(args.workdir, args.baseline), "current": None}
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "current": []}
    for round_number in range(args.repeats):
        order = ["baseline", "current"] if round_number % 2 == 0 else ["current", "baseline"]
        for name in order:
            runs[name].append(run(warehouse, trees[name]))
            print(
                f"round {round_number + 1}: {name} {runs[name][-1]['seconds']:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    reference = runs["baseline"][0]["rows_sha256"]
    identical = all(r["rows_sha256"] == reference for rs in runs.values() for r in rs)
    medians = {name: statistics.median(r["seconds"] for r in rs) for name, rs in runs.items()}
    result = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "system": platform.platform(),
            "cores": os.cpu_count(),
        },
        "baseline": args.baseline,
        "repeats": args.repeats,
        "runs": runs,
        "median_seconds": medians,
        "ratio": medians["current"] / medians["baseline"],
        "run_by_run": [
            current["seconds"] / baseline["seconds"]
            for baseline, current in zip(runs["baseline"], runs["current"], strict=True)
        ],
        "identical_rows": identical,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"impact step: baseline {medians['baseline']:.1f} s, current {medians['current']:.1f} s "
        f"(medians of {args.repeats}): {result['ratio']:.2f}x the time; rows identical: {identical}"
    )
    if not identical:
        sys.exit("the current checkout wrote different rows from the baseline")


if __name__ == "__main__":
    main()
