"""``socialrank``: every stage from the command line, no Airflow needed.

Exit codes: 0 success, 1 the data failed (gate failed, nothing to publish, a stale build), 2 bad usage
or configuration, 3 the environment failed (a full disk, a lock held too long, a source that failed).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
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
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from pipeline import locks, scorecard, stages, warehouse
from pipeline.cli_support import JSON_HELP, date_argument, default_run_date, json_output
from pipeline.config import (
    CONFIG_ENV,
    DEFAULT_CONFIG_NAME,
    DEFAULT_TIMEZONE,
    HOME_ENV,
    ConfigError,
    Settings,
    load_settings,
)
from pipeline.config_init import WRITTEN_WWW_POLICY, write_config
from pipeline.crawl.cli_commands import add_parsers as add_crawl_parsers
from pipeline.gate import GateFailed
from pipeline.hosts import owned_host
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


def _current_build(settings: Settings) -> Path:
    current = warehouse.current_build(settings)
    if current is None:
        raise UsageError(
            "no unpublished build of the current run: run 'socialrank build' first (builds left by "
            "earlier or killed runs are never checked or published by default)"
        )
    return current


def _large_demo_data(landing: Path, args: argparse.Namespace) -> int:
    from socialrank_demo import large

    if args.next_day:
        world = large.load_large_world(landing)
        large.write_next_day(landing, world, args.next_day)
        if args.json:
            json_output.print({"landing": landing, "next_day": args.next_day})
        return EXIT_OK
    world = large.write_large_world(landing, scale=args.scale_factor, seed=args.seed)
    if args.json:
        json_output.print(
            {
                "landing": landing,
                "counts": world.counts,
                "owned_sites": list(world.owned_sites),
                "timezone": world.timezone,
            }
        )
    log.info(
        "large world in %s: %s; its configuration: socialrank init %s --timezone %s",
        landing,
        ", ".join(f"{kind} {count:,}" for kind, count in world.counts.items()),
        " ".join(f"--site {site}" for site in world.owned_sites),
        world.timezone,
    )
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    """Write the configuration file; it runs without one (or beside a broken one), unlike every other."""
    path: Path = args.config or Path.cwd() / DEFAULT_CONFIG_NAME
    sites: list[str] = args.site or []
    write_config(path, sites, args.timezone, args.force)
    log.info(
        "wrote %s: owned sites %s, time zone %s", path, json.dumps(sites, ensure_ascii=False), args.timezone
    )
    for site in sites:
        host = owned_host(site, WRITTEN_WWW_POLICY)
        if host != site.strip():
            log.info("  %s: its pages are the URLs on %s and its subdomains (www_policy = %s)",
                     site, host, WRITTEN_WWW_POLICY)  # fmt: skip
    if not sites:
        log.warning("no --site given: list your sites in owned_sites in %s before 'socialrank run'", path)
    named = os.environ.get(CONFIG_ENV)
    if named and Path(named).resolve() != path.resolve():
        log.warning(
            "$%s names %s: socialrank reads that file, not %s, until you unset it", CONFIG_ENV, named, path
        )
    landing = Path(os.environ.get(HOME_ENV) or "data") / "landing"
    log.info("next: land your exports in %s/<family>/<source>/ (README.md), then 'socialrank run'", landing)
    if args.json:
        json_output.print(
            {"config": path, "owned_sites": sites, "timezone": args.timezone, "landing": landing}
        )
    return EXIT_OK


def cmd_demo_data(settings: Settings, args: argparse.Namespace) -> int:
    from socialrank_demo import sample

    landing = settings.data.landing
    if args.if_empty and not sample.landing_is_empty(landing):
        log.info("landing zone %s already holds deliveries: sample data not written", landing)
        if args.json:
            json_output.print({"landing": landing, "written": False, "files": []})
        return EXIT_OK
    if args.scale == "large":
        return _large_demo_data(landing, args)
    world = sample.write_demo_landing(landing, seed=args.seed)
    if args.json:
        json_output.print(
            {
                "landing": landing,
                "written": True,
                "files": world.files,
                "seed": world.seed,
                "start_date": world.start_date,
                "end_date": world.end_date,
                "planted_effect": {
                    "positions": world.effect_positions,
                    "platform": world.effect_platform,
                    "lag_days": world.effect_lag_days,
                },
            }
        )
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
    log.info(
        "its site is %s: run it with a configuration naming it, as 'make run' does with "
        "sample/socialrank.toml (or write one: socialrank init --site %s --timezone %s)",
        world.owned_site,
        world.owned_site,
        DEFAULT_TIMEZONE,
    )
    return EXIT_OK


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    try:
        summary = stages.ingest(settings)
    except stages.NothingKept as failure:
        if args.json:
            json_output.print(failure.summary)
        raise
    if args.json:
        json_output.print(summary)
    return EXIT_OK


def cmd_build(settings: Settings, args: argparse.Namespace) -> int:
    with warehouse.writer_lock(settings):
        built = stages.build(settings, args.date or default_run_date(settings), args.full)
        warehouse.mark_current_build(settings, Path(built["build_path"]))
    if args.json:
        json_output.print(built)
    else:
        log.info("built %s; next: 'socialrank check' then 'socialrank publish'", built["build_path"])
    return EXIT_OK


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    try:
        with warehouse.writer_lock(settings):
            summary = stages.check(settings, args.build or _current_build(settings))
    except GateFailed as failure:
        if args.json:
            json_output.print(failure.summary)
        log.error("%s", failure)
        return EXIT_DATA
    if args.json:
        json_output.print(summary)
    return EXIT_OK


def cmd_publish(settings: Settings, args: argparse.Namespace) -> int:
    with warehouse.writer_lock(settings):
        build_path = args.build or _current_build(settings)
        gate_result = stages.gate_result_path(build_path)
        if not gate_result.exists():
            raise UsageError(f"{build_path} has not passed the gate: run 'socialrank check' first")
        published = stages.publish_build(settings, build_path, json.loads(gate_result.read_text("utf-8")))
    if args.json:
        json_output.print(published)
    log.info("published %s as %s", build_path.name, published["warehouse"])
    return EXIT_OK


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.warehouse.exists():
        raise UsageError(f"no published warehouse at {settings.warehouse}; run 'socialrank run' first")
    written = stages.write_report(settings)
    if args.json:
        json_output.print(written)
    log.info("report: %s", written["report"])
    return EXIT_OK


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    run_date = args.date or default_run_date(settings)
    log.info("running every stage for %s (data root %s)", run_date, settings.data.root)
    try:
        result = stages.run_all(settings, run_date, args.full)
    except GateFailed as failure:
        if args.json:
            json_output.print(failure.summary)
        log.error("%s; the previous warehouse stays published", failure)
        return EXIT_DATA
    except stages.SourcesFailed as failed:
        if args.json:
            json_output.print(failed.result)
        else:
            print_status(settings)
        log.error("%s", failed)
        return EXIT_ENVIRONMENT
    if args.json:
        json_output.print(result)
    else:
        print_status(settings)
    return EXIT_OK


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.warehouse.exists():
        raise UsageError(f"no published warehouse at {settings.warehouse}; run 'socialrank run' first")
    if args.json:
        json_output.print(status_document(settings))
    else:
        print_status(settings)
    return EXIT_OK


HEADLINE_ESTIMATES = (
    "SELECT * FROM mart.impact_estimates WHERE outcome = 'position' "
    "AND treatment = 'first_link' AND control_group = 'never_treated' ORDER BY platform, horizon"
)


def _headline_estimates(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cursor = con.execute(HEADLINE_ESTIMATES)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def status_document(settings: Settings) -> dict[str, Any]:
    """``status --json``: the paths, the published manifest, the scorecard's rows (``claims``; when there
    are none, ``claims_missing`` says why) and the headline answers with their rows."""
    con = warehouse.connect_read_only(settings.warehouse)
    try:
        claims = scorecard.read(con)
        estimates = _headline_estimates(con)
    finally:
        con.close()
    return {
        "warehouse": settings.warehouse,
        "manifest": warehouse.published_manifest(settings) or {},
        "data_docs": settings.data.data_docs / "index.html",
        "report": settings.data.reports / "socialrank-report.html",
        "claims": claims.claims,
        "claims_missing": claims.missing,
        "answers": {answer.label: answer.text for answer in wording.headline_answers(estimates)},
        "estimates": estimates,
    }


VERDICT_STYLES = {"supported": "bold green", "not supported": "bold red", "inconclusive": "bold yellow"}


def _print_scorecard(out: Console, claims: scorecard.Scorecard) -> None:
    """One sentence per claim with its verdict, then the claims per platform. Text objects: the mart's
    words are printed as they are, never read as rich markup."""
    out.print("[bold]the scorecard[/] (mart.claims: does social media help this site's SEO?)")
    if claims.missing:
        out.print(Text(f"  {claims.missing}", style="bold yellow"))
        return
    # A grid: a wrapped sentence stays right of its verdict.
    sentences = Table.grid(padding=(0, 2))
    sentences.add_column(min_width=max(len(verdict) for verdict in scorecard.VERDICTS))
    sentences.add_column()
    for row in claims.overall:
        verdict = Text(row["verdict"], style=VERDICT_STYLES.get(row["verdict"], "bold"))
        reason = scorecard.note(row)
        sentences.add_row(verdict, Text(row["sentence"]) + Text(f"\n{reason}" if reason else "", style="dim"))
    out.print(Padding(sentences, (0, 0, 0, 2)))
    if not claims.per_platform:
        return
    table = Table(title="mart.claims per platform")
    for column in ("claim", "platform", "verdict", "estimate and interval", "pages", "reason"):
        table.add_column(column)
    for row in claims.per_platform:
        table.add_row(
            Text(scorecard.claim_label(row["claim"])),
            Text(scorecard.platform_label(row["platform"])),
            Text(row["verdict"], style=VERDICT_STYLES.get(row["verdict"], "")),
            Text(scorecard.estimate_text(row)),
            str(row["pages"]),
            Text(row["reason"]),
        )
    out.print(table)


def print_status(settings: Settings) -> None:
    """Where everything is, the scorecard, and a few headline rows of the mart."""
    out = Console() if sys.stdout.isatty() else Console(width=120)
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
        claims = scorecard.read(con)
        estimates = _headline_estimates(con)
        panel = con.execute(
            "SELECT canonical_url, query, day, position, social_links_any, referring_domains_nonsocial "
            "FROM mart.ranking_impact WHERE social_links_any > 0 ORDER BY day DESC, position LIMIT 5"
        ).fetchall()
    finally:
        con.close()
    _print_scorecard(out, claims)
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
        help="socialrank.toml to use (default: the first of $SOCIALRANK_CONFIG, ./socialrank.toml, "
        "$SOCIALRANK_HOME/socialrank.toml); for init, the file to write",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument(
        "--version", action="version", version=f"socialrank {importlib.metadata.version('socialrank')}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init_text = "write a commented ./socialrank.toml for your own sites (the first step with your data)"
    init = commands.add_parser("init", help=init_text, description=init_text)
    init.add_argument(
        "--site",
        action="append",
        metavar="DOMAIN",
        help="an owned site's domain, e.g. mysite.io (repeat for more; subdomains count as owned too)",
    )
    init.add_argument(
        "--timezone",
        default=DEFAULT_TIMEZONE,
        help=f"IANA time zone whose days the warehouse uses (default {DEFAULT_TIMEZONE}, Search Console's)",
    )
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.add_argument("--json", action="store_true", help=JSON_HELP)

    def add(
        name: str, handler: Callable[[Settings, argparse.Namespace], int], text: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        # A command needs the owned sites (a configuration) unless it says otherwise.
        sub.set_defaults(handler=handler, needs_sites=True)
        sub.add_argument("--json", action="store_true", help=JSON_HELP)
        return sub

    demo = add("demo-data", cmd_demo_data, "write the bundled sample landing data (a deterministic world)")
    demo.set_defaults(needs_sites=False)
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
    add("ingest", cmd_ingest, "ingest new deliveries from the landing zone into the lake")
    build = add("build", cmd_build, "build a new warehouse file from the lake (not published)")
    build.add_argument(
        "--date", type=date_argument, help="run date YYYY-MM-DD (default: yesterday, site time zone)"
    )
    build.add_argument("--full", action="store_true", help=FULL_HELP)
    check = add("check", cmd_check, "run the quality gate on a build (default: the latest)")
    check.add_argument("--build", type=Path, help="build file to check")
    publish = add("publish", cmd_publish, "publish a build that passed the gate (default: the latest)")
    publish.add_argument("--build", type=Path, help="build file to publish")
    add("report", cmd_report, "write the HTML report from the published warehouse").set_defaults(
        needs_sites=False
    )
    run = add("run", cmd_run, "every stage in order: ingest, build, check, publish, report")
    run.add_argument(
        "--date", type=date_argument, help="run date YYYY-MM-DD (default: yesterday, site time zone)"
    )
    run.add_argument("--full", action="store_true", help=FULL_HELP)
    add(
        "status", cmd_status, "where the warehouse, Data Docs and report are, with headline rows"
    ).set_defaults(needs_sites=False)
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
    code: int
    json_output.printed = False
    error: str | None = None
    try:
        if args.command == "init":
            code = cmd_init(args)
        else:
            settings = load_settings(args.config, require_sites=args.needs_sites)
            code = args.handler(settings, args)
    except (ConfigError, UsageError) as exc:
        log.error("%s", exc)
        code, error = EXIT_USAGE, str(exc)
    except Exception as exc:
        code, error = _failure_exit(args.command, exc), str(exc)
    else:
        log.info("%s finished in %.1fs", args.command, time.perf_counter() - started)
    if args.json and not json_output.printed:
        json_output.print({"command": args.command, "exit_code": code, "error": error})
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
