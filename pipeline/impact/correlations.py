"""``mart.factor_correlations``: the ranking-factor table, with intervals that hold on one site.

Published ranking-factor studies correlate a factor with position across the pages ranking for each
query and average over queries. On one site most queries have a single page, which leaves nothing to
correlate, and queries share pages, so treating them as independent makes intervals too narrow. Here the
unit is the page (``mart.factor_page_values``): Spearman's correlation across pages, with a percentile
interval from resampling pages (``scipy.stats.bootstrap``, paired, seeded; each resample ranked again, so
ties, common when most pages have no links, are handled as they fall). Past
:data:`BOOTSTRAP_MAX_PAGES` pages the resampling would cost minutes a night for an interval the normal
approximation gives as well at that size: Fisher's z with Bonett & Wright's (2000) standard error for
Spearman's correlation, ``sqrt((1 + r^2 / 2) / (n - 3))``. ``interval_method`` says which.
Correlation, not causation: pages that already rank well get shared more.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

RESAMPLES = 999
SEED = 20260101
MIN_PAGES = 5
MIN_DEFINED_SHARE = 0.9
BOOTSTRAP_MAX_PAGES = 2_000
BOOTSTRAP, FISHER_Z = "page bootstrap", "fisher z"


def write_correlations(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Correlate every factor of ``mart.factor_page_values`` with position; write and count the rows."""
    started = time.perf_counter()
    rows = []
    factors = con.execute(
        "SELECT factor, any_value(factor_kind), any_value(platform) FROM mart.factor_page_values "
        "GROUP BY factor ORDER BY factor"
    ).fetchall()
    for factor, kind, platform in factors:
        values = con.execute(
            "SELECT value, position FROM mart.factor_page_values WHERE factor = ? ORDER BY canonical_url",
            [factor],
        ).fetchnumpy()
        rows.append({"factor": factor, "factor_kind": kind, "platform": platform} | _correlate(values))
    con.execute("DELETE FROM mart.factor_correlations")
    for row in rows:
        con.execute(
            "INSERT INTO mart.factor_correlations BY NAME SELECT $factor AS factor, "
            "$factor_kind AS factor_kind, $platform AS platform, $spearman AS spearman, "
            "$ci_low AS ci_low, $ci_high AS ci_high, $interval_method AS interval_method, "
            "$pages AS pages, $pages_with_factor AS pages_with_factor, $resamples AS resamples, "
            "getvariable('as_of') AS as_of",
            row,
        )
    log.info("factor correlations: %d factors in %.1fs", len(rows), time.perf_counter() - started)
    return {"mart.factor_correlations": len(rows)}


def _correlate(values: dict[str, npt.NDArray[Any]]) -> dict[str, Any]:
    from scipy import stats

    factor = np.asarray(values["value"], dtype=np.float64)
    position = np.asarray(values["position"], dtype=np.float64)
    counts = {"pages": len(factor), "pages_with_factor": int((factor > 0).sum()), "resamples": RESAMPLES}
    if len(factor) < MIN_PAGES or np.ptp(factor) == 0 or np.ptp(position) == 0:
        return counts | {"spearman": None, "ci_low": None, "ci_high": None, "interval_method": None}
    estimate = float(_spearman(factor, position, axis=-1))
    if len(factor) > BOOTSTRAP_MAX_PAGES:
        error = np.sqrt((1 + estimate**2 / 2) / (len(factor) - 3))
        low, high = np.tanh(
            np.arctanh(np.clip(estimate, -0.999999, 0.999999)) + np.array([-1, 1]) * 1.959964 * error
        )
        return counts | {
            "spearman": estimate,
            "ci_low": float(low),
            "ci_high": float(high),
            "interval_method": FISHER_Z,
        }
    resampled = stats.bootstrap(
        (factor, position),
        _spearman,
        paired=True,
        vectorized=True,
        n_resamples=RESAMPLES,
        batch=100,
        method="percentile",
        rng=np.random.default_rng(SEED),
    ).bootstrap_distribution
    # A resample can hold no variation (few pages with the factor): it has no correlation. The
    # percentiles are taken over those that have one, and only when nearly all do.
    defined = resampled[np.isfinite(resampled)]
    if len(defined) < MIN_DEFINED_SHARE * RESAMPLES:
        return counts | {"spearman": estimate, "ci_low": None, "ci_high": None, "interval_method": None}
    low, high = np.quantile(defined, [0.025, 0.975])
    return counts | {
        "spearman": estimate,
        "ci_low": float(low),
        "ci_high": float(high),
        "interval_method": BOOTSTRAP,
    }


def _spearman(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], axis: int) -> Any:
    """Spearman's correlation along ``axis`` (average ranks for ties); NaN where a resample has no
    variation."""
    from scipy import stats

    rank_x = stats.rankdata(x, axis=axis)
    rank_y = stats.rankdata(y, axis=axis)
    rank_x -= rank_x.mean(axis=axis, keepdims=True)
    rank_y -= rank_y.mean(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (rank_x * rank_y).sum(axis=axis) / np.sqrt(
            (rank_x**2).sum(axis=axis) * (rank_y**2).sum(axis=axis)
        )
