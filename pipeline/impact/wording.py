"""The causal answer in words, one place for the report and ``socialrank status``.

A reader repeats what they read. So the words follow the numbers exactly (a position that falls is a page
that moved *up*; an interval is written in the same direction as the estimate), the answer says what it
rests on, and only a row whose robust interval excludes zero (``finding`` improves or worsens) is stated
as an effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.project import var

# The headline design: first link, never-linked controls, average position 4-8 weeks after the link.
HEADLINE = {"outcome": "position", "treatment": "first_link", "control_group": "never_treated"}
HEADLINE_HORIZON = "weeks_4_8"
EARLY_HORIZON = "weeks_0_3"
ANY_LABEL = "Any platform"

ASSUMPTIONS = (
    "What each answer rests on: (1) parallel trends: had they not been linked, the linked pages' rankings "
    "would have moved like those of pages never linked from any platform, over the same weeks (checked "
    "before the link by the pre-trend test and the event-study curve left of the link; the robust interval "
    "allows trends to drift apart after the link as much as they did from week to week before it); "
    "(2) no anticipation: nothing changed before the recorded first link, beyond the weeks set in "
    "[impact] anticipation_weeks; (3) no spillovers: one page's link does not move another page's rank. "
    "What an effect bundles: everything that follows a page's first link on the platform: referral "
    "visits, searches for the brand, links other sites give after seeing the post, later shares elsewhere. "
    "It is the effect of being linked there, not proof that search engines read social signals."
)
MULTIPLE_TESTING = (
    "p-values are Holm-adjusted across platforms (one family per outcome, treatment, control group and "
    "horizon), so testing several platforms does not manufacture a finding."
)


@dataclass(frozen=True)
class Answer:
    platform: str
    label: str
    verdict: str  # up | down | none | unknown: the report's colour; only a robust finding gets up/down
    text: str


def label(platform: str) -> str:
    """A platform's name as readers know it (``platform_labels`` of sql/dbt_project.yml). A warehouse built
    before a platform was renamed or removed can still hold it: its own name, capitalised, then."""
    if platform == "any":
        return ANY_LABEL
    labels: dict[str, str] = var("platform_labels")
    return labels.get(platform, platform.capitalize())


def p_value(value: float | None) -> str:
    """``= 0.042``, or ``< 0.001`` rather than a p-value of zero; "not available" without one."""
    if value is None:
        return "not available"
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


def places(change: float) -> str:
    """A change in position in words: -2.4 is "2.4 places up" (the number fell), +1.0 "1.0 places down"."""
    if round(change, 1) == 0:
        return "no change"
    return f"{abs(change):.1f} places {'up' if change < 0 else 'down'}"


def places_range(low: float, high: float) -> str:
    """An interval of position changes in words, from its better end to its worse end."""
    if high < 0:
        return f"between {abs(high):.1f} and {abs(low):.1f} places up"
    if low > 0:
        return f"between {low:.1f} and {high:.1f} places down"
    return f"between {abs(low):.1f} places up and {high:.1f} places down"


def headline_answer(platform: str, row: dict[str, Any] | None, early: dict[str, Any] | None = None) -> Answer:
    """The headline estimate of one platform (position, first link, never-linked controls, weeks 4-8);
    ``early``, the same design's weeks 0-3 row, is quoted when it holds robustly and weeks 4-8 does not
    (the allowed drift adds up week by week, so a later window needs a larger effect)."""
    name = label(platform)
    if row is None or row["estimate"] is None:
        reason = row["note"] if row else "no estimate"
        return Answer(platform, name, "unknown", f"not enough data: {reason}.")
    text = (
        f"under parallel trends, pages moved {places(row['estimate'])} four to eight weeks after their first "
        f"link (95% interval: {places_range(row['ci_low'], row['ci_high'])}; {row['treated_units']} pages; "
        f"Holm-adjusted p {p_value(row['p_value_adjusted'])})."
    )
    finding = row["finding"]
    if row["robust_ci_low"] is not None and row["robust_ci_high"] is not None:
        robust = places_range(row["robust_ci_low"], row["robust_ci_high"])
        if finding in ("improves", "worsens"):
            text += f" Allowing trends to drift as much as before the link: {robust}. The effect holds."
        else:
            text += (
                f" Allowing trends to drift as much as before the link: {robust}, which includes no "
                "effect, so this answer rests on the trends having stayed parallel: inconclusive."
            )
    if row["pretrend_passed"] is False:
        text += (
            " Caution: before the link their rankings already moved differently from the controls' "
            f"(pre-trend test over {row['pretrend_weeks']} weeks, p {p_value(row['pretrend_p_value'])})."
        )
    verdict = {"improves": "up", "worsens": "down"}.get(finding, "none")
    if verdict == "none" and early is not None and early["finding"] in ("improves", "worsens"):
        text += (
            f" Over the first four weeks, though, pages moved {places(early['estimate'])}, and that holds "
            f"even allowing for drift ({places_range(early['robust_ci_low'], early['robust_ci_high'])})."
        )
        verdict = {"improves": "up", "worsens": "down"}[early["finding"]]
    return Answer(platform, name, verdict, text)


def headline_rows(
    estimates: list[dict[str, Any]], horizon: str | None = HEADLINE_HORIZON
) -> list[dict[str, Any]]:
    """The rows of the headline design (every horizon when ``horizon`` is None)."""
    return [
        row
        for row in estimates
        if all(row[key] == value for key, value in HEADLINE.items())
        and (horizon is None or row["horizon"] == horizon)
    ]


def headline_answers(estimates: list[dict[str, Any]]) -> list[Answer]:
    """One answer per platform with estimates (named platforms first, then ``any``)."""
    named = sorted({row["platform"] for row in estimates if row["platform"] != "any"})
    platforms = named + (["any"] if any(row["platform"] == "any" for row in estimates) else [])
    by_platform = {row["platform"]: row for row in headline_rows(estimates)}
    early = {row["platform"]: row for row in headline_rows(estimates, EARLY_HORIZON)}
    return [
        headline_answer(platform, by_platform.get(platform), early.get(platform)) for platform in platforms
    ]
