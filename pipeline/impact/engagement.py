"""``mart.engagement_comparison``: do visitors from social platforms engage more than the others?

Not a difference in differences: engagement is a property of a visit, so the claim is tested by comparing
sessions. Per platform (and ``any``), over the estimator's window and on the same pages
(``mart.engagement_page_sessions``): the engagement rate of the platform's sessions minus that of the pages'
non-social sessions, ``sum(e) / sum(s) - sum(m) / sum(n)`` over pages. Sessions of one page are not
independent (one post's visitors, one page's content), so the page is the cluster: each rate is a ratio
estimator, linearised per page (``(e_i - R s_i) / mean(s)``), and the difference's variance is that of the
pages' linearised differences, scaled by G / (G - 1) for G pages, with Student's t on G - 1 degrees of freedom
as the causal estimates use for few treated pages. In percentage points.
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb
import numpy as np

log = logging.getLogger(__name__)

METHOD = "session_comparison"
MIN_PAGES = 5
LEVEL = 0.95

PAGES_SQL = """
SELECT platform, social_sessions, social_engaged_sessions, other_sessions, other_engaged_sessions
FROM mart.engagement_page_sessions
ORDER BY platform = 'any' DESC, platform, canonical_url
"""


def write_engagement(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Compare the engagement rates per platform; write and count the rows."""
    pages: dict[str, list[list[int]]] = {}
    for platform, *counts in con.execute(PAGES_SQL).fetchall():
        pages.setdefault(platform, []).append(counts)
    rows = [
        {"platform": platform} | compare(np.array(counts, dtype=np.float64))
        for platform, counts in pages.items()
    ]
    con.execute("DELETE FROM mart.engagement_comparison")
    for row in rows:
        con.execute(
            "INSERT INTO mart.engagement_comparison BY NAME SELECT $platform AS platform, $method AS method, "
            "$estimate AS estimate, $std_error AS std_error, $ci_low AS ci_low, $ci_high AS ci_high, "
            "$social_rate AS social_rate, $other_rate AS other_rate, $pages AS pages, "
            "$social_sessions AS social_sessions, $other_sessions AS other_sessions, $note AS note",
            row,
        )
    log.info("engagement comparison: %d platforms", len(rows))
    return {"mart.engagement_comparison": len(rows)}


def compare(counts: np.ndarray[Any, np.dtype[np.float64]]) -> dict[str, Any]:
    """One platform's comparison from per-page rows (social sessions, engaged; other sessions, engaged)."""
    from scipy import stats

    social, social_engaged, other, other_engaged = counts.T
    pages = len(counts)
    row: dict[str, Any] = {
        "method": METHOD,
        "pages": pages,
        "social_sessions": int(social.sum()),
        "other_sessions": int(other.sum()),
        "social_rate": float(social_engaged.sum() / social.sum()),
        "other_rate": float(other_engaged.sum() / other.sum()),
    }
    if pages < MIN_PAGES:
        note = (
            f"too few pages with sessions from the platform and others ({pages}; at least {MIN_PAGES} needed)"
        )
        return row | {"estimate": None, "std_error": None, "ci_low": None, "ci_high": None, "note": note}
    social_rate, other_rate = row["social_rate"], row["other_rate"]
    linearised = (social_engaged - social_rate * social) / social.mean() - (
        other_engaged - other_rate * other
    ) / other.mean()
    std_error = float(np.sqrt((linearised**2).sum() / (pages * (pages - 1))))
    estimate = social_rate - other_rate
    margin = float(stats.t.ppf(0.5 + LEVEL / 2, pages - 1)) * std_error
    return row | {
        "estimate": 100 * estimate,
        "std_error": 100 * std_error,
        "ci_low": 100 * (estimate - margin),
        "ci_high": 100 * (estimate + margin),
        "note": None,
    }
