"""Chosen ``mart.claims`` rows for the scorecard's layout tests, written into a copy of a published warehouse.

The sample world's own scorecard (the view sql/models/marts/claims.sql) holds whatever its data say; these
rows hold every case the report and the status must lay out: each verdict, a claim without data, a reason with
markup characters (``<``, ``[ga4]``), small estimates. The view is replaced by a table of these rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

# The model's schema, column for column.
CREATE = """
DROP VIEW IF EXISTS mart.claims;
CREATE TABLE mart.claims (
    claim_order INTEGER NOT NULL,
    claim VARCHAR NOT NULL,
    platform VARCHAR NOT NULL,
    statement VARCHAR NOT NULL,
    outcome VARCHAR NOT NULL,
    method VARCHAR,
    estimate DOUBLE,
    interval_low DOUBLE,
    interval_high DOUBLE,
    interval_kind VARCHAR,
    unit VARCHAR,
    pages INTEGER NOT NULL,
    verdict VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    sentence VARCHAR NOT NULL
)
"""
INSERT = "INSERT INTO mart.claims VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
COLUMNS = (
    "claim_order", "claim", "platform", "statement", "outcome", "method", "estimate", "interval_low",
    "interval_high", "interval_kind", "unit", "pages", "verdict", "reason", "sentence",
)  # fmt: skip

SESSIONS = "sessions a day"
POSITIONS = "positions (negative = higher in results)"
ROBUST = "robust 95% (Rambachan-Roth, M = 1)"
CLUSTERED = "page-clustered 95%"
NO_TRAFFIC = (
    "no web-analytics traffic in this warehouse: land a GA4 report download under landing/traffic/ga4/ "
    "or set [ga4] property_id in socialrank.toml, then run socialrank run"
)

# Out of claim order on purpose: the scorecard orders them. One of each verdict, rows with and without
# an estimate, and a claim with no data at all (organic traffic).
ROWS: tuple[tuple[Any, ...], ...] = (
    (5, "organic_traffic", "any", "Pages linked from social platforms get more organic search traffic",
     "organic_sessions", None, None, None, None, None, None, 0, "inconclusive", NO_TRAFFIC,
     "Whether organic traffic grew is unknown: this warehouse holds no web-analytics traffic."),
    (1, "referral_traffic", "any", "Links from social platforms bring referral traffic",
     "social_referral_sessions", "session_comparison", 3.1, 1.2, 5.0, CLUSTERED, SESSIONS, 24, "supported",
     "the interval lies above zero",
     "Links from social platforms brought referral traffic: +3.1 sessions a day "
     "(page-clustered 95%: +1.2 to +5.0, 24 pages)."),
    (1, "referral_traffic", "x", "Links from x bring referral traffic",
     "social_referral_sessions", "session_comparison", 3.4, 1.5, 5.3, CLUSTERED, SESSIONS, 16, "supported",
     "the interval lies above zero",
     "Links from x brought referral traffic: +3.4 sessions a day "
     "(page-clustered 95%: +1.5 to +5.3, 16 pages)."),
    (1, "referral_traffic", "linkedin", "Links from linkedin bring referral traffic",
     "social_referral_sessions", "session_comparison", 0.42, -0.31, 1.15, CLUSTERED, SESSIONS, 6,
     "inconclusive", "the interval includes no effect",
     "Links from linkedin may or may not bring referral traffic: +0.42 sessions a day "
     "(page-clustered 95%: -0.31 to +1.15, 6 pages)."),
    (2, "engagement", "any", "Visitors from social platforms engage with the site",
     "engagement_rate", "session_comparison", -8.4, -12.9, -3.9, CLUSTERED, "percentage points", 21,
     "not supported", "visitors from social platforms engaged less than other visitors",
     "Visitors from social platforms engaged less than other visitors: -8.4 percentage points "
     "(page-clustered 95%: -12.9 to -3.9, 21 pages)."),
    (2, "engagement", "linkedin", "Visitors from linkedin engage with the site",
     "engagement_rate", None, None, None, None, None, "percentage points", 2, "inconclusive",
     "too few visits (< 30 sessions) to compare",
     "Whether visitors from linkedin engage is unknown: too few visits to compare."),
    (3, "natural_backlinks", "any", "Pages linked from social platforms earn natural backlinks",
     "referring_domains", "callaway_santanna_2021", 0.4, -0.3, 1.1, ROBUST, "referring domains", 18,
     "inconclusive", "the robust interval includes no effect",
     "Pages linked from social platforms may or may not earn natural backlinks: +0.4 referring domains "
     "(robust 95%: -0.3 to +1.1, 18 pages)."),
    (4, "rankings", "any", "Pages linked from social platforms rank higher",
     "position", "callaway_santanna_2021", -2.6, -4.1, -0.9, ROBUST, POSITIONS, 24, "supported",
     "the robust interval lies below zero",
     "Pages linked from social platforms ranked higher: -2.6 positions "
     "(robust 95%: -4.1 to -0.9, 24 pages)."),
    (4, "rankings", "reddit", "Pages linked from reddit rank higher",
     "position", "callaway_santanna_2021", None, None, None, None, POSITIONS, 2, "inconclusive",
     "too few treated pages (2; at least 5 needed)",
     "Whether links from reddit move rankings is unknown: too few linked pages (2)."),
    (4, "rankings", "x", "Pages linked from x rank higher",
     "position", "callaway_santanna_2021", -3.9, -6.0, -1.8, ROBUST, POSITIONS, 16, "supported",
     "the robust interval lies below zero",
     "Pages linked from x ranked higher: -3.9 positions (robust 95%: -6.0 to -1.8, 16 pages)."),
)  # fmt: skip


def write_claims(warehouse: Path, rows: tuple[tuple[Any, ...], ...] = ROWS) -> None:
    """``mart.claims`` in ``warehouse`` (a copy: never the published file of a running pipeline)."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(CREATE)
        if rows:
            con.executemany(INSERT, [list(row) for row in rows])
    finally:
        con.close()


def in_claim_order(rows: tuple[tuple[Any, ...], ...] = ROWS) -> list[dict[str, Any]]:
    """The rows as the scorecard orders them: by claim, overall first, then platforms by name."""
    dicts = [dict(zip(COLUMNS, row, strict=True)) for row in rows]
    return sorted(dicts, key=lambda row: (row["claim_order"], row["platform"] != "any", row["platform"]))
