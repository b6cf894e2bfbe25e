"""``socialrank estimate``: Callaway & Sant'Anna difference in differences on any panel file.

Unbalanced panels are fine (each comparison uses the units seen in both of its periods); ``--cluster``
names a column grouping units for standard errors (pages, when units are page x query cells);
``--anticipation`` lets an effect start that many periods before the recorded treatment.

The panel (CSV or Parquet, one row per unit and period) is read by DuckDB; the estimate comes from
:mod:`pipeline.impact.estimator`. With ``--json`` one JSON object goes to stdout::

    {"panel": {...}, "control_group": "never", "base_period": "varying",
     "group_time": [{"group", "time", "att", "se", "ci_low", "ci_high"}, ...],
     "aggregates": {"simple": {...}, "dynamic": {"overall": {...}, "band_critical_value": ...,
                                                 "by_event_time": [{..., "band_low", "band_high"}, ...]},
                    "group": {"by_group": [...]}},
     "pretrend": {"event_times", "mean_effect", "statistic", "p_value"}}

Exit codes follow the CLI's: 0 done, 2 bad usage or an unusable panel (the message says why).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from pipeline.cli_support import AddCommand, json_output
from pipeline.config import Settings

log = logging.getLogger("socialrank")
EXIT_OK, EXIT_USAGE = 0, 2


def add_estimate_parser(
    add: AddCommand,
) -> argparse.ArgumentParser:
    """Register ``estimate`` through the CLI's ``add(name, handler, help)``."""
    parser = add(
        "estimate",
        cmd_estimate,
        "Callaway & Sant'Anna staggered difference in differences on a panel file (CSV or Parquet)",
    )
    parser.set_defaults(needs_sites=False)  # any panel file, no warehouse
    parser.add_argument("--panel", type=Path, required=True, help="panel file, .csv or .parquet")
    parser.add_argument("--unit", required=True, help="column identifying the unit (e.g. a page)")
    parser.add_argument("--time", required=True, help="column with the period, whole numbers")
    parser.add_argument("--outcome", required=True, help="column with the outcome")
    parser.add_argument(
        "--cohort",
        required=True,
        help="column with the unit's first treated period (0 or empty: never treated)",
    )
    parser.add_argument(
        "--control",
        choices=("never", "notyet"),
        default="never",
        help="control group: never-treated units, or also units not yet treated (default: never)",
    )
    parser.add_argument(
        "--base-period",
        choices=("varying", "universal"),
        default="varying",
        help="pre-treatment comparisons against the previous period (varying, the paper's default) or "
        "against the period before treatment (universal)",
    )
    parser.add_argument("--cluster", help="column grouping units for standard errors (default: the unit)")
    parser.add_argument(
        "--anticipation",
        type=int,
        default=0,
        help="periods before the recorded treatment in which an effect may already start (default: 0)",
    )
    parser.add_argument("--min-event", type=int, help="first event time of the event study (default: all)")
    parser.add_argument("--max-event", type=int, help="last event time of the event study (default: all)")
    parser.add_argument(
        "--no-small-sample-correction",
        action="store_true",
        help="aggregate intervals as the library (and R's did) reports them: normal, no few-treated-clusters "
        "correction",
    )
    return parser


def cmd_estimate(settings: Settings, args: argparse.Namespace) -> int:
    from pipeline.impact.estimator import PanelError, estimate

    try:
        panel = read_panel(args.panel)
        result = estimate(
            panel,
            unit=args.unit,
            time_column=args.time,
            outcome=args.outcome,
            cohort=args.cohort,
            cluster=args.cluster,
            control=args.control,
            anticipation=args.anticipation,
            base_period=args.base_period,
            min_event=args.min_event,
            max_event=args.max_event,
            small_sample=not args.no_small_sample_correction,
        )
    except PanelError as error:
        log.error("%s: %s", args.panel, error)
        return EXIT_USAGE
    document = result_document(result, args.panel)
    if args.json:
        json_output.print(document)
    else:
        _print_tables(document)
    return EXIT_OK


def read_panel(path: Path) -> Any:
    """The panel file as a polars DataFrame, read by DuckDB (the path is a bound parameter)."""
    import duckdb

    from pipeline.impact.estimator import PanelError

    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise PanelError(f"expected a .csv or .parquet file, got {path.name!r}")
    if not path.is_file():
        raise PanelError("no such file")
    query = "SELECT * FROM read_csv(?)" if suffix == ".csv" else "SELECT * FROM read_parquet(?)"
    try:
        return duckdb.connect().execute(query, [str(path)]).pl()
    except duckdb.Error as error:
        raise PanelError(f"cannot read it: {error}") from error


def result_document(result: Any, path: Path) -> dict[str, Any]:
    """The JSON shape of an estimate (see the module docstring)."""
    summary = result.panel
    last_event = max((item.label for item in result.dynamic), default=0)
    overall, _, _ = result.window(0, last_event)
    return {
        "panel": {
            "file": str(path),
            "units": summary.units,
            "periods": summary.periods,
            "treated_units": summary.treated_units,
            "never_treated_units": summary.never_treated_units,
            "clusters": summary.clusters,
            "treated_clusters": summary.treated_clusters,
            "cohorts": {str(cohort): size for cohort, size in summary.cohort_sizes.items()},
            "unit_periods_missing": summary.unit_periods_missing,
            "dropped_units_seen_in_one_period": summary.dropped_single_period,
            "dropped_units_treated_from_the_start": summary.dropped_treated_before_start,
            "rows_without_outcome": summary.rows_without_outcome,
        },
        "method": "callaway_santanna_2021",
        "control_group": result.control,
        "base_period": result.base_period,
        "anticipation": result.anticipation,
        "small_sample_correction": result.small_sample,
        "group_time": [
            {
                "group": gt.group,
                "time": gt.time,
                "att": gt.effect.estimate,
                "se": gt.effect.std_error,
                "ci_low": gt.effect.ci_low,
                "ci_high": gt.effect.ci_high,
            }
            for gt in result.group_time
        ],
        "aggregates": {
            "simple": result.simple.as_dict(),
            "dynamic": {
                "overall": overall.as_dict(),
                "band_critical_value": result.band_critical_value,
                "by_event_time": [
                    {
                        "event_time": item.label,
                        "treated_units": item.treated_units,
                        "treated_clusters": item.treated_clusters,
                        "band_low": item.band_low,
                        "band_high": item.band_high,
                    }
                    | item.effect.as_dict()
                    for item in result.dynamic
                ],
            },
            "group": {
                "by_group": [
                    {"group": item.cohort, "treated_units": item.treated_units} | item.effect.as_dict()
                    for item in result.by_group
                ],
            },
        },
        "pretrend": {
            "event_times": list(result.pretrend.event_times),
            "mean_effect": result.pretrend.mean_effect,
            "statistic": result.pretrend.statistic,
            "p_value": result.pretrend.p_value,
        },
        "warnings": result.warnings,
    }


def _print_tables(document: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=120)
    panel = document["panel"]
    console.print(
        f"{panel['file']}: {panel['units']} units ({panel['treated_units']} treated in "
        f"{len(panel['cohorts'])} cohorts, {panel['never_treated_units']} never treated), "
        f"{panel['periods']} periods"
    )
    console.print(
        f"controls: {document['control_group']}; base period: {document['base_period']}; "
        f"anticipation: {document['anticipation']} period(s); "
        f"{panel['unit_periods_missing']} unit-periods unobserved"
    )

    def cell(value: float | None) -> str:
        return "" if value is None else f"{value:.4f}"

    def table(title: str, label: str, rows: list[dict[str, Any]], key: str) -> None:
        out = Table(title=title)
        for column in (label, "ATT", "s.e.", "95% interval"):
            out.add_column(column, justify="right")
        for row in rows:
            interval = f"[{cell(row['ci_low'])}, {cell(row['ci_high'])}]" if row["ci_low"] is not None else ""
            out.add_row(str(row[key]), cell(row["att"]), cell(row["se"]), interval)
        console.print(out)

    group_time = [row | {"cell": f"{row['group']}, {row['time']}"} for row in document["group_time"]]
    table("Group-time effects ATT(g, t)", "g, t", group_time, "cell")
    aggregates = document["aggregates"]
    table("Event study", "event time", aggregates["dynamic"]["by_event_time"], "event_time")
    table("By cohort", "cohort", aggregates["group"]["by_group"], "group")
    overall = [
        aggregates["simple"] | {"name": "simple (all post-treatment cells)"},
        aggregates["dynamic"]["overall"] | {"name": "event study (mean over event times >= 0)"},
    ]
    table("Overall", "aggregation", overall, "name")
    pretrend = document["pretrend"]
    if pretrend["p_value"] is not None:
        console.print(
            f"Pre-trend test (event times {pretrend['event_times']} all zero): p = {pretrend['p_value']:.3f}"
        )
