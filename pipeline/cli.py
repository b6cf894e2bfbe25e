"""``socialrank``: every stage from the command line, no Airflow needed.

Exit codes: 0 success, 1 the data failed (gate failed, nothing to publish, a stale build), 2 bad usage
or configuration, 3 the environment failed (a full disk, a lock held too long, a source that failed).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from pipeline import locks, stages, warehouse
from pipeline.cli_support import date_argument, default_run_date
from pipeline.config import ConfigError, Settings, load_settings
from pipeline.crawl.cli_commands import add_parsers as add_crawl_parsers
from pipeline.gate import GateFailed
from pipeline.impact import wording
from pipeline.impact_cli import add_estimate_parser
from pipeline.ingest import LakeWriteError
from pipeline.inspect_export import add_inspect_parser
from pipeline.purge import add_purge_parser

log = logging.getLogger("socialrank")
console = Console(stderr=True)
EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_ENVIRONMENT = 0, 1, 2, 3


class UsageError(Exception):
    """Wrong arguments or missing inputs: exit code 2 with the message."""


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def _current_build(settings: Settings) -> Path:
    current = warehouse.current_build(settings)
    if current is None:
        raise UsageError(
            "no unpublished build of the current run: run 'socialrank build' first (builds left by "
            "earlier or killed runs are never checked or published by default)"
        )
    return current


def _large_demo_data(landing: Path, args: argparse.Namespace) -> int:
    from pipeline import demo_scale

    if args.next_day:
        world = demo_scale.load_large_world(landing)
        demo_scale.write_next_day(landing, world, args.next_day)
        return EXIT_OK
    world = demo_scale.write_large_world(landing, scale=args.scale_factor, seed=args.seed)
    log.info(
        "large world in %s: %s; set [site] owned_sites = %s and timezone = %r in socialrank.toml to use it",
        landing,
        ", ".join(f"{kind} {count:,}" for kind, count in world.counts.items()),
        json.dumps(list(world.owned_sites)),
        world.timezone,
    )
    return EXIT_OK


def cmd_demo_data(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline import demo

    landing = settings.data.landing
    if args.if_empty and not demo.landing_is_empty(landing):
        log.info("landing zone %s already holds deliveries: sample data not written", landing)
        return EXIT_OK
    if args.scale == "large":
        return _large_demo_data(landing, args)
    world = demo.write_demo_landing(landing, seed=args.seed)
    log.info(
        "wrote %d sample deliveries to %s (seed %d, %s..%s); planted effect: %+.1f positions for %s "
        "after %d days",
        len(world.files),
        landing,
        world.seed,
        world.start_date,
        world.end_date,
        world.effect_positions,
        world.effect_platform,
        world.effect_lag_days,
    )
    for path in world.files:
        log.info("  %s", path)
    return EXIT_OK


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    try:
        summary = stages.ingest(settings)
    except stages.NothingKept as failure:
        if args.json:
            _print_json(failure.summary)
        raise
    if args.json:
        _print_json(summary)
    return EXIT_OK


def cmd_build(settings: Settings, args: argparse.Namespace) -> int:
    with warehouse.writer_lock(settings):
        built = stages.build(settings, args.date or default_run_date(settings), args.full)
        warehouse.mark_current_build(settings, Path(built["build_path"]))
    if args.json:
        _print_json(built)
    else:
        log.info("built %s; next: 'socialrank check' then 'socialrank publish'", built["build_path"])
    return EXIT_OK


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    try:
        with warehouse.writer_lock(settings):
            summary = stages.check(settings, args.build or _current_build(settings))
    except GateFailed as failure:
        if args.json:
            _print_json(failure.summary)
        log.error("%s", failure)
        return EXIT_DATA
    if args.json:
        _print_json(summary)
    return EXIT_OK


def cmd_publish(settings: Settings, args: argparse.Namespace) -> int:
    with warehouse.writer_lock(settings):
        build_path = args.build or _current_build(settings)
        gate_result = stages.gate_result_path(build_path)
        if not gate_result.exists():
            raise UsageError(f"{build_path} has not passed the gate: run 'socialrank check' first")
        published = stages.publish_build(settings, build_path, json.loads(gate_result.read_text("utf-8")))
    log.info("published %s as %s", build_path.name, published["warehouse"])
    return EXIT_OK


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.warehouse.exists():
        raise UsageError(f"no published warehouse at {settings.warehouse}; run 'socialrank run' first")
    log.info("report: %s", stages.write_report(settings)["report"])
    return EXIT_OK


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    run_date = args.date or default_run_date(settings)
    log.info("running every stage for %s (data root %s)", run_date, settings.data.root)
    try:
        result = stages.run_all(settings, run_date, args.full)
    except GateFailed as failure:
        log.error("%s; the previous warehouse stays published", failure)
        return EXIT_DATA
    except stages.SourcesFailed as failed:
        if args.json:
            _print_json(failed.result)
        print_status(settings)
        log.error("%s", failed)
        return EXIT_ENVIRONMENT
    if args.json:
        _print_json(result)
    print_status(settings)
    return EXIT_OK


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.warehouse.exists():
        raise UsageError(f"no published warehouse at {settings.warehouse}; run 'socialrank run' first")
    print_status(settings)
    return EXIT_OK


def print_status(settings: Settings) -> None:
    """Where everything is, and a few headline rows of the mart."""
    out = Console() if sys.stdout.isatty() else Console(width=150)
    published = warehouse.read_build(settings.warehouse)
    freshness = published.freshness(settings)
    out.print(
        f"[bold]warehouse[/]  {settings.warehouse}  (version {published.version}, {freshness.headline()})"
    )
    if warning := freshness.warning():
        out.print(f"[bold yellow]warning[/]    {escape(warning)}", highlight=False)
    out.print(f"[bold]data docs[/]  {settings.data.data_docs / 'index.html'}")
    out.print(f"[bold]report[/]     {settings.data.reports / 'socialrank-report.html'}")
    con = warehouse.connect_read_only(settings.warehouse)
    try:
        cursor = con.execute(
            "SELECT * FROM mart.impact_estimates WHERE outcome = 'position' "
            "AND treatment = 'first_link' AND control_group = 'never_treated' ORDER BY platform, horizon"
        )
        names = [column[0] for column in cursor.description]
        estimates = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        panel = con.execute(
            "SELECT canonical_url, query, day, position, social_links_any, referring_domains_nonsocial "
            "FROM mart.ranking_impact WHERE social_links_any > 0 ORDER BY day DESC, position LIMIT 5"
        ).fetchall()
    finally:
        con.close()
    out.print("[bold]the answer[/] (position, first link, never-linked pages as controls, weeks 4-8)")
    for answer in wording.headline_answers(estimates):
        out.print(f"  {answer.label}: {answer.text}", markup=False, highlight=False)
    out.print(wording.ASSUMPTIONS, style="dim", markup=False, highlight=False)
    table = Table(title="mart.impact_estimates (outcome: position; negative = moved up)")
    for column in ("platform", "horizon", "estimate", "95% interval", "robust interval", "finding", "pages"):
        table.add_column(column)
    for row in estimates:
        if row["estimate"] is None:
            continue
        robust = (
            f"{row['robust_ci_low']:+.2f} .. {row['robust_ci_high']:+.2f}"
            if row["robust_ci_low"] is not None
            else ""
        )
        table.add_row(
            row["platform"],
            row["horizon"],
            f"{row['estimate']:+.2f}",
            f"{row['ci_low']:+.2f} .. {row['ci_high']:+.2f}",
            robust,
            row["finding"],
            str(row["treated_units"]),
        )
    out.print(table)
    rows = Table(title="mart.ranking_impact (latest rows of socially linked pages)")
    for column in ("canonical_url", "query", "day", "position", "social links", "ref. domains"):
        rows.add_column(column)
    for url, query, day, position, links, domains in panel:
        rows.add_row(url, query, str(day), f"{position:.1f}", str(links), str(domains))
    out.print(rows)


FULL_HELP = "rebuild every table from the lake instead of updating the published warehouse incrementally"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="socialrank",
        description="Do social links move search rankings? Ingest exports, build the DuckDB warehouse, "
        "gate it with Great Expectations, publish it.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="socialrank.toml to use (default: $SOCIALRANK_CONFIG or ./socialrank.toml)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, handler: Callable[[Settings, argparse.Namespace], int], text: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=handler)
        return sub

    demo = add("demo-data", cmd_demo_data, "write the bundled sample landing data (a deterministic world)")
    demo.add_argument("--seed", type=int, default=7, help="world seed (default 7)")
    demo.add_argument("--if-empty", action="store_true", help="only when the landing zone holds nothing yet")
    demo.add_argument(
        "--scale",
        choices=("sample", "large"),
        default="sample",
        help="sample: the small bundled world; large: 5M posts, 20M backlinks, 30M rankings (x factor)",
    )
    demo.add_argument("--scale-factor", type=float, default=1.0, help="size of the large world (default 1.0)")
    demo.add_argument(
        "--next-day",
        type=date_argument,
        help="with --scale large: add one night's deliveries for this day after the written history",
    )
    ingest = add("ingest", cmd_ingest, "ingest new deliveries from the landing zone into the lake")
    ingest.add_argument("--json", action="store_true", help="print the summary as JSON")
    build = add("build", cmd_build, "build a new warehouse file from the lake (not published)")
    build.add_argument(
        "--date", type=date_argument, help="run date YYYY-MM-DD (default: yesterday, site time zone)"
    )
    build.add_argument("--json", action="store_true", help="print the summary as JSON")
    build.add_argument("--full", action="store_true", help=FULL_HELP)
    check = add("check", cmd_check, "run the quality gate on a build (default: the latest)")
    check.add_argument("--build", type=Path, help="build file to check")
    check.add_argument("--json", action="store_true", help="print the gate summary as JSON")
    publish = add("publish", cmd_publish, "publish a build that passed the gate (default: the latest)")
    publish.add_argument("--build", type=Path, help="build file to publish")
    add("report", cmd_report, "write the HTML report from the published warehouse")
    run = add("run", cmd_run, "every stage in order: ingest, build, check, publish, report")
    run.add_argument(
        "--date", type=date_argument, help="run date YYYY-MM-DD (default: yesterday, site time zone)"
    )
    run.add_argument("--json", action="store_true", help="print every stage's summary as JSON")
    run.add_argument("--full", action="store_true", help=FULL_HELP)
    add("status", cmd_status, "where the warehouse, Data Docs and report are, with headline rows")
    add_crawl_parsers(add)
    add_inspect_parser(add)
    add_estimate_parser(add)
    add_purge_parser(add)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A terminal gets rich's coloured log; files and CI logs get plain, greppable lines.
    handler: logging.Handler = (
        RichHandler(console=console, show_path=False, markup=False)
        if console.is_terminal
        else logging.StreamHandler(sys.stderr)
    )
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(message)s" if console.is_terminal else "%(asctime)s %(levelname)-7s %(message)s",
        handlers=[handler],
    )
    for noisy in ("great_expectations", "urllib3", "tzlocal"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    started = time.perf_counter()
    try:
        settings = load_settings(args.config)
        code: int = args.handler(settings, args)
    except (ConfigError, UsageError) as exc:
        log.error("%s", exc)
        return EXIT_USAGE
    except Exception as exc:
        return _failure_exit(args.command, exc)
    log.info("%s finished in %.1fs", args.command, time.perf_counter() - started)
    return code


def _environment_failure(exc: BaseException) -> bool:
    """A full disk, a lost mount, memory, a lock held too long: anywhere in the exception's causes.
    DuckDB reports a failed write as a FatalException (in a checkpoint) or, on commit, as another
    error saying it could not write the file."""
    while True:
        if isinstance(
            exc,
            OSError
            | LakeWriteError
            | locks.LockTimeout
            | duckdb.IOException
            | duckdb.OutOfMemoryException
            | duckdb.FatalException,
        ):
            return True
        if isinstance(exc, duckdb.Error) and "Could not write file" in str(exc):
            return True
        if exc.__cause__ is None:
            return False
        exc = exc.__cause__


def _failure_exit(command: str, exc: Exception) -> int:
    """The exit code and one ERROR line for a failure; never a traceback on the terminal."""
    if isinstance(exc, warehouse.NotPublishable):
        log.error("not published: %s", exc)
        return EXIT_DATA
    if isinstance(exc, stages.NothingKept):
        log.error("%s stopped: %s; nothing was built or published", command, exc)
        return EXIT_DATA
    if _environment_failure(exc):
        # Nothing published was touched; the rerun picks up from here.
        log.error("%s failed: %s", command, exc)
        return EXIT_ENVIRONMENT
    if isinstance(exc, warehouse.BuildError):
        log.error("build failed: %s", exc)
        return EXIT_DATA
    log.error("%s failed unexpectedly: %s: %s (a bug: please report it with this log)", command,
              type(exc).__name__, exc)  # fmt: skip
    log.debug("%s", "".join(traceback.format_exception(exc)))
    return EXIT_DATA


if __name__ == "__main__":
    sys.exit(main())
