"""The scorecard: ``mart.claims`` read for the report and ``socialrank status``, one place for both.

Each claim of the chain (referral traffic, engagement, natural backlinks, rankings, organic traffic) has
one overall row (platform ``any``) and one row per platform; the mart writes the verdict, its reason and
the plain sentence, so the report and the status only order and lay them out. A warehouse built before
``mart.claims`` existed, or with an empty one, gets a plain message instead of a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from pipeline.impact import wording

OVERALL = "any"
VERDICTS = ("supported", "not supported", "inconclusive")
MISSING = "no scorecard in this warehouse: run socialrank build (then check and publish, or socialrank run)"

_EXISTS = (
    "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'mart' AND table_name = 'claims'"
)
# Overall row first within a claim, then platforms by name.
_CLAIMS = "SELECT * FROM mart.claims ORDER BY claim_order, platform <> 'any', platform"


@dataclass(frozen=True)
class Scorecard:
    """All rows of ``mart.claims`` in claim order, or ``missing``: why there are none."""

    claims: list[dict[str, Any]] = field(default_factory=list)
    missing: str | None = None

    @property
    def overall(self) -> list[dict[str, Any]]:
        return [row for row in self.claims if row["platform"] == OVERALL]

    @property
    def per_platform(self) -> list[dict[str, Any]]:
        return [row for row in self.claims if row["platform"] != OVERALL]


def read(con: duckdb.DuckDBPyConnection) -> Scorecard:
    counted = con.execute(_EXISTS).fetchone()
    if not counted or not counted[0]:
        return Scorecard(missing=f"{MISSING}; this warehouse was built by a version without mart.claims")
    cursor = con.execute(_CLAIMS)
    names = [column[0] for column in cursor.description]
    claims = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    if not claims:
        return Scorecard(missing=f"{MISSING}; mart.claims in this warehouse is empty")
    return Scorecard(claims)


def claim_label(claim: str) -> str:
    return claim.replace("_", " ")


def platform_label(platform: str) -> str:
    return "overall" if platform == OVERALL else wording.label(platform)


def note(row: dict[str, Any]) -> str:
    """The reason to print under a claim's sentence: empty where the sentence already ends with it (the
    mart writes an unclear claim's reason into its sentence)."""
    return "" if row["reason"] in row["sentence"] else row["reason"]


def _number(value: float, digits: int) -> str:
    return f"{value:+.{digits}f}"


def estimate_text(row: dict[str, Any]) -> str:
    """``+3.1 sessions a day; robust 95% (Rambachan-Roth, M = 1): +1.2 to +5.0``, or ``no estimate``.
    The estimate and its interval share one number of decimals: enough for two digits of the estimate
    (of the interval's wider end for an estimate of zero), so +0.42 does not read as +0.4."""
    estimate = row["estimate"]
    if estimate is None:
        return "no estimate"
    low, high = row["interval_low"], row["interval_high"]
    size = abs(estimate) or max((abs(value) for value in (low, high) if value is not None), default=0.0)
    digits = 1 if size >= 1 else 2 if size >= 0.1 else 3
    text = _number(estimate, digits) + (f" {row['unit']}" if row["unit"] else "")
    if low is not None and high is not None:
        text += f"; {row['interval_kind'] or '95%'}: {_number(low, digits)} to {_number(high, digits)}"
    return text
