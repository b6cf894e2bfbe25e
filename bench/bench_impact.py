"""Coverage study of the causal estimate on worlds shaped like real rank data (``make bench-impact``).

For every kind of :mod:`socialrank_demo.rank_worlds` world (query churn across the top-100 line, Search
Console rows only with impressions, an effect that starts a week early, a fifth of query-weeks missing,
violated parallel trends, confounded and plain nulls), ``--replications`` worlds are generated and estimated
two ways, side by side:

- **after**: the mart's own path. The world's rows go into DuckDB as ``core.rankings_daily`` and
  ``staging.rankings`` (with the tracker's "not ranked" rows),
  ``sql/models/marts/impact_cell_weekly_panel.sql``
  builds the cell panel, and :func:`pipeline.impact.mart.design_sample` / ``estimate_sample`` estimate
  the headline design (position, first link on X, never-linked controls), weeks 4-8, with the robust
  interval; anticipation as the world needs it (one week in the anticipation world, as its
  ``[impact] anticipation_weeks`` would be set).
- **before**: what the mart did until this change: each page's daily position averaged over the queries
  that ranked that day (impression-weighted where there are impressions), weekly means, pages not seen
  every week dropped, no anticipation, pointwise intervals only, a pre-trend test of weeks -4..-2.

Per kind and method: mean bias against the world's truth on the observed scale (``RankWorld.truth``),
bias relative to the planted effect, coverage of the 95% interval, of the robust interval and of the
simultaneous band (every event week -4..8 at once), how often the pre-trend test rejects and how often
the row would be reported as a finding. Results: ``bench/results/impact.json`` and a table on stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from pipeline import sql_project  # noqa: E402
from pipeline.config import ImpactSettings  # noqa: E402
from pipeline.hosts import owned_url_pattern  # noqa: E402
from pipeline.impact.estimator import PanelError, StaggeredDid, estimate  # noqa: E402
from pipeline.impact.mart import Design, design_sample, estimate_sample  # noqa: E402
from socialrank_demo.rank_worlds import WORLD_KINDS, RankWorld, RankWorldSpec, generate  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "impact.json"
HEADLINE = Design("position", "x", "first_link", "never_treated")
FIRST_WEEK, LAST_WEEK = 4, 8
PERIOD_ORIGIN = dt.date(1970, 1, 5)


def after(world: RankWorld, anticipation: int) -> StaggeredDid:
    """The mart's path: the cell panel's SQL, the design's sample, the mart's estimator call."""
    settings = ImpactSettings(window_weeks=world.spec.weeks, anticipation_weeks=anticipation)
    con = duckdb.connect()
    try:
        con.execute("CREATE SCHEMA core; CREATE SCHEMA staging; CREATE SCHEMA mart")
        con.execute("SET VARIABLE as_of = ?", [world.spec.end_date])
        con.execute("SET VARIABLE owned_url_pattern = ?", [owned_url_pattern((world.spec.owned_site,))])
        con.execute("SET VARIABLE impact_window_weeks = ?", [settings.window_weeks])
        models = sql_project.load(PROJECT / "sql")
        for hook in models.hooks("on-run-start", incremental=False):
            con.execute(hook)
        con.register("world_rankings", world.rankings)
        con.register("tracked", _tracked_query_days(world))
        con.execute("CREATE TABLE core.rankings_daily AS SELECT * FROM world_rankings")
        con.execute(
            "CREATE TABLE staging.rankings AS "
            "SELECT query, day AS ranking_date, position, impressions FROM world_rankings "
            "UNION ALL SELECT query, day, NULL, NULL FROM tracked"
        )
        models.model("impact_cell_weekly_panel").run(con, incremental=False)
        con.register("links", world.first_links)
        con.execute(
            "CREATE TEMP TABLE window_first_links AS "
            "SELECT canonical_url, platform, first_day FROM links "
            "UNION ALL SELECT canonical_url, 'any', first_day FROM links"
        )
        con.execute(
            "CREATE TEMP TABLE treatment_days AS SELECT canonical_url, platform, 'first_link' AS treatment, "
            "first_day AS treatment_day FROM window_first_links"
        )
        sample = design_sample(con, HEADLINE, settings)
    finally:
        con.close()
    return estimate_sample(sample, HEADLINE, settings)


def _tracked_query_days(world: RankWorld) -> pa.Table:
    """The days a tracker tracked each query (its "not ranked" rows included): every window day but the
    skipped query-weeks; none for Search Console data."""
    if world.rankings["impressions"].null_count < world.rankings.num_rows:
        return pa.table({"query": pa.array([], pa.string()), "day": pa.array([], pa.date32())})
    skipped = set(zip(world.untracked["query"].to_pylist(), world.untracked["week"].to_pylist(), strict=True))
    queries, days = [], []
    for query in sorted(set(world.rankings["query"].to_pylist())):
        for offset in range(7 * world.spec.weeks):
            day = world.spec.start_date + dt.timedelta(days=offset)
            if (query, day - dt.timedelta(days=day.weekday())) not in skipped:
                queries.append(query)
                days.append(day)
    return pa.table({"query": queries, "day": pa.array(days, pa.date32())})


def before(world: RankWorld) -> StaggeredDid:
    """The earlier mart: page means over the queries ranked each day, balanced pages, no anticipation."""
    rows = pl.from_arrow(world.rankings)
    assert isinstance(rows, pl.DataFrame)
    weights = pl.col("impressions").cast(pl.Float64).fill_null(1.0)
    daily = rows.group_by("canonical_url", "day").agg(
        ((pl.col("position") * weights).sum() / weights.sum()).alias("position")
    )
    weekly = (
        daily.with_columns(((pl.col("day") - pl.lit(PERIOD_ORIGIN)).dt.total_days() // 7).alias("period"))
        .group_by("canonical_url", "period")
        .agg(pl.col("position").mean().alias("value"))
    )
    periods = weekly["period"].n_unique()
    complete = weekly.group_by("canonical_url").len().filter(pl.col("len") == periods)["canonical_url"]
    cohorts = pl.from_arrow(world.first_links)
    assert isinstance(cohorts, pl.DataFrame)
    cohorts = cohorts.select(
        "canonical_url", ((pl.col("first_day") - pl.lit(PERIOD_ORIGIN)).dt.total_days() // 7).alias("cohort")
    )
    panel = (
        weekly.filter(pl.col("canonical_url").is_in(complete.implode()))
        .join(cohorts, on="canonical_url", how="left")
        .with_columns(pl.col("cohort").fill_null(0))
    )
    return estimate(
        panel,
        unit="canonical_url",
        time_column="period",
        outcome="value",
        cohort="cohort",
        base_period="universal",
        min_event=-4,
        max_event=8,
    )


def _old_pretrend_p(result: StaggeredDid) -> float | None:
    """The earlier test: Hotelling's T-squared of event weeks -4..-2 only, as F(k, G - k)."""
    from scipy import stats

    columns = [i for i, item in enumerate(result.dynamic) if -4 <= item.label <= -2 and item.effect.std_error]
    if not columns:
        return None
    effects = np.array([result.dynamic[i].effect.estimate for i in columns], dtype=np.float64)
    statistic = float(effects @ np.linalg.solve(result.event_covariance[np.ix_(columns, columns)], effects))
    clusters, tested = min(result.dynamic[i].treated_clusters for i in columns), len(columns)
    if clusters <= tested:
        return None
    f_statistic = statistic * (clusters - tested) / (tested * (clusters - 1))
    return float(stats.f.sf(f_statistic, tested, clusters - tested))


def replicate(kind: str, seed: int) -> dict[str, Any]:
    world = generate(RankWorldSpec(kind, seed=seed))
    anticipation = 1 if kind == "anticipation" else 0
    truth = world.truth(FIRST_WEEK, LAST_WEEK, anticipation=anticipation)
    by_week = world.truth_by_week(anticipation=anticipation)
    outcome: dict[str, Any] = {"seed": seed, "truth": truth}
    for method in ("after", "before"):
        try:
            result = after(world, anticipation) if method == "after" else before(world)
        except PanelError as failure:
            outcome[method] = {"error": str(failure)}
            continue
        window, pages, _ = result.window(FIRST_WEEK, LAST_WEEK)
        row: dict[str, Any] = {
            "estimate": window.estimate,
            "ci": [window.ci_low, window.ci_high],
            "treated_pages": pages,
            "pretrend_p": result.pretrend.p_value if method == "after" else _old_pretrend_p(result),
        }
        if method == "after":
            robust = result.robust_window(FIRST_WEEK, LAST_WEEK)
            row["robust"] = [robust.low, robust.high]
            estimated = [i for i in result.dynamic if i.effect.std_error is not None and i.label in by_week]
            row["band_covers"] = all(i.band_low <= by_week[i.label] <= i.band_high for i in estimated)  # type: ignore[operator]
        outcome[method] = row
    return outcome


def summarise(kind: str, effect: float, replications: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {"replications": len(replications), "planted_effect": effect}
    summary["mean_truth"] = statistics.fmean(r["truth"] for r in replications)
    for method in ("after", "before"):
        rows = [(r["truth"], r[method]) for r in replications if "estimate" in r.get(method, {})]
        failed = len(replications) - len(rows)
        if not rows:
            summary[method] = {"estimated": 0, "failed": failed}
            continue
        errors = [row["estimate"] - truth for truth, row in rows]
        covered = [row["ci"][0] <= truth <= row["ci"][1] for truth, row in rows]
        rejected = [row["pretrend_p"] is not None and row["pretrend_p"] < 0.05 for _, row in rows]
        entry = {
            "estimated": len(rows),
            "failed": failed,
            "mean_bias": statistics.fmean(errors),
            "bias_share_of_effect": statistics.fmean(errors) / abs(effect) if effect else None,
            "rmse": float(np.sqrt(np.mean(np.square(errors)))),
            "coverage_95": statistics.fmean(covered),
            "pretrend_rejects": statistics.fmean(rejected),
            "mean_treated_pages": statistics.fmean(row["treated_pages"] for _, row in rows),
        }
        if method == "after":
            robust_covered = [
                row["robust"][0] is not None and row["robust"][0] <= truth <= row["robust"][1]
                for truth, row in rows
            ]
            finding = [
                row["robust"][0] is not None and (row["robust"][0] > 0 or row["robust"][1] < 0)
                for _, row in rows
            ]
            entry |= {
                "robust_coverage": statistics.fmean(robust_covered),
                "band_coverage": statistics.fmean(row["band_covers"] for _, row in rows),
                "finding_rate": statistics.fmean(finding),
                "flagged_or_robustly_covered": statistics.fmean(
                    rejected_one or covered_one
                    for rejected_one, covered_one in zip(rejected, robust_covered, strict=True)
                ),
            }
        summary[method] = entry
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--kinds", nargs="*", default=list(WORLD_KINDS), choices=WORLD_KINDS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    started = time.perf_counter()
    results: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "system": platform.platform()},
        "replications": args.replications,
        "horizon": f"weeks_{FIRST_WEEK}_{LAST_WEEK}",
        "design": "position, first link on X, never-linked controls",
        "kinds": {},
    }
    for kind in args.kinds:
        kind_started = time.perf_counter()
        runs = []
        for seed in range(args.replications):
            runs.append(replicate(kind, seed))
            if (seed + 1) % 10 == 0:
                print(f"{kind}: {seed + 1}/{args.replications} worlds", file=sys.stderr, flush=True)
        effect = RankWorldSpec(kind).planted_effect
        results["kinds"][kind] = summarise(kind, effect, runs) | {
            "seconds": round(time.perf_counter() - kind_started, 1),
            "runs": runs,
        }
    results["seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(table(results))


def table(results: dict[str, Any]) -> str:
    """The study as a markdown table: one line per world kind and method."""

    def share(value: float | None) -> str:
        return "" if value is None else f"{100 * value:.0f}%"

    lines = [
        "| world | method | truth | mean bias | bias / effect | 95% coverage | robust coverage | "
        "band coverage | pre-trend rejects | finding |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, summary in results["kinds"].items():
        for method in ("after", "before"):
            entry = summary[method]
            if not entry.get("estimated"):
                lines.append(
                    f"| {kind} | {method} | | not estimable ({entry['failed']} worlds) | | | | | | |"
                )
                continue
            lines.append(
                f"| {kind} | {method} | {summary['mean_truth']:+.2f} | {entry['mean_bias']:+.3f} | "
                f"{share(entry['bias_share_of_effect'])} | {share(entry['coverage_95'])} | "
                f"{share(entry.get('robust_coverage'))} | {share(entry.get('band_coverage'))} | "
                f"{share(entry['pretrend_rejects'])} | {share(entry.get('finding_rate'))} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
