"""The HTML report: one self-contained file (no network needed to view it) read from the published
warehouse. Figures are drawn with matplotlib and inlined as SVG (text stays text, so the file is small,
searchable and sharp at any zoom):

- the scorecard first (:mod:`pipeline.scorecard`): one sentence and verdict per claim of the chain, then
  each claim per platform with its estimate, interval, pages and the reason for its verdict;
- the answer in a sentence per platform (:mod:`pipeline.impact.wording`), with what it rests on, then the
  event-study curve per platform with its pointwise interval, simultaneous band and pages per week;
- the correlation-versus-causal comparison (what the classic ranking-factor table says next to what the
  causal estimate says, per platform);
- raw rank trajectories of linked pages and never-linked pages around the first link;
- data coverage: what was ingested and quarantined per delivery, and the quality gate's result.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from pipeline import dbt_docs, scorecard
from pipeline.config import Settings
from pipeline.freshness import Freshness, last_ranking_day
from pipeline.impact import wording
from pipeline.impact.mart import OUTCOME_UNITS
from pipeline.impact.wording import HEADLINE, HEADLINE_HORIZON
from pipeline.warehouse import PUBLISHED_MANIFEST, connect_read_only

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

REPORT_NAME = "socialrank-report.html"
TREATMENT_TITLES = {"first_link": "first link", "engagement": "engagement"}
INK, BAND, CONTROL, MUTED, GOOD, BAD = "#1f4e79", "#9ec5e8", "#b35900", "#6b6b6b", "#1a7f37", "#cf222e"
_SVG_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.DOTALL)
# Where an SVG element id is declared or referenced.
_SVG_ID = re.compile(r'(\bid="|href="#|url\(#)')


# Read-only queries of the published warehouse, one list of rows each.
QUERIES = {
    "estimates": "SELECT * FROM mart.impact_estimates "
    "ORDER BY platform = 'any', platform, outcome, treatment, control_group, first_week, last_week",
    "event_time": "SELECT * FROM mart.impact_event_time "
    "ORDER BY platform, outcome, treatment, control_group, event_week",
    "correlations": "SELECT * FROM mart.factor_correlations "
    "ORDER BY factor_kind, platform = 'any', platform, factor",
    "trajectories": "SELECT * FROM mart.impact_trajectories ORDER BY platform, event_week",
    "deliveries": "SELECT landing_path, format, status, records_read, records_kept, records_quarantined, "
    "message FROM core.deliveries ORDER BY landing_path",
    "quarantined": "SELECT landing_path, member, location, reason FROM core.quarantined_records "
    "ORDER BY landing_path, location LIMIT 50",
    "tables": "SELECT schema_name || '.' || table_name AS name, estimated_size AS rows "
    "FROM duckdb_tables() WHERE schema_name IN ('core', 'mart') ORDER BY name",
}


def _rows(con: Any, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    columns = [description[0] for description in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def gather(settings: Settings) -> dict[str, Any]:
    """Everything the report shows, read from the published warehouse and its manifest."""
    con = connect_read_only(settings.warehouse)
    try:
        info = _rows(con, "SELECT version, as_of, site_timezone, owned_sites FROM meta.build_info")[0]
        freshness = Freshness(last_ranking_day(con), info["as_of"], settings.stale_after_days)
        data = {name: _rows(con, sql) for name, sql in QUERIES.items()}
        counted = con.execute("SELECT count(*) FROM core.quarantined_records").fetchone()
        claims = scorecard.read(con)
    finally:
        con.close()
    manifest_path = settings.warehouse.parent / PUBLISHED_MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    answers = wording.headline_answers(data["estimates"])
    return data | {
        "info": info,
        "freshness": freshness,
        "scorecard": claims,
        "platforms": [answer.platform for answer in answers],
        "answers": answers,
        "assumptions": wording.ASSUMPTIONS,
        "multiple_testing": wording.MULTIPLE_TESTING,
        "outcome_units": OUTCOME_UNITS,
        "anticipation_weeks": max((row["anticipation_weeks"] for row in data["estimates"]), default=0),
        "quarantined_total": counted[0] if counted else 0,
        "gate": manifest.get("gate", {}),
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def write_report(settings: Settings) -> Path:
    """Render the report from the published warehouse into ``reports/``; return its path."""
    context = gather(settings)
    context["figures"] = _figures(context)
    # After gather() closed its connection: dbt opens the published file with its own (read-only) settings.
    docs = dbt_docs.write_docs(settings)
    context["lineage"] = {
        "href": docs.path.relative_to(settings.data.reports).as_posix() if docs.path else None,
        "problem": docs.problem,
    }
    # The template is named *.html.j2: select_autoescape's default list (html, htm, xml) would not match it.
    environment = Environment(
        loader=PackageLoader("pipeline", "templates"), autoescape=select_autoescape(("html.j2",))
    )
    environment.filters["signed"] = lambda value, digits=2: "" if value is None else f"{value:+.{digits}f}"
    environment.filters["claim_estimate"] = scorecard.estimate_text
    environment.filters["claim_note"] = scorecard.note
    environment.filters["claim_label"] = scorecard.claim_label
    environment.filters["platform_label"] = scorecard.platform_label
    html = environment.get_template("report.html.j2").render(**context)
    settings.data.reports.mkdir(parents=True, exist_ok=True)
    path = settings.data.reports / REPORT_NAME
    staged = path.with_name(path.name + ".inprogress")
    staged.write_text(html, encoding="utf-8")
    staged.replace(path)
    log.info("report written to %s (%d KB, %d figures)", path, len(html) // 1024, len(context["figures"]))
    return path


# --- figures --------------------------------------------------------------------------------------


@contextmanager
def _figure(name: str, width: float, height: float) -> Iterator[Figure]:
    """A matplotlib figure (no pyplot, no global state) in this report's style."""
    import matplotlib as mpl
    from matplotlib.figure import Figure

    with mpl.rc_context(
        {
            "font.family": "sans-serif",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 9.5,
            "axes.titleweight": "bold",
            "svg.fonttype": "none",
            # Hashed element ids must not change between runs.
            "svg.hashsalt": name,
        }
    ):
        yield Figure(figsize=(width, height), layout="constrained")


def _svg(figure: Figure, name: str) -> Markup:
    """The figure as an inline ``<svg>`` element, its ids prefixed with ``name``: matplotlib numbers
    groups the same way in every figure, and ids must be unique in the page."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = _SVG_PROLOGUE.sub("", buffer.getvalue(), count=1)
    return Markup(_SVG_ID.sub(lambda match: f"{match.group(1)}{name}-", svg))


def _figures(context: dict[str, Any]) -> dict[str, Markup]:
    figures = {}
    if context["platforms"]:
        figures["event_study"] = _event_study(
            context["event_time"], context["estimates"], context["platforms"]
        )
        figures["correlation_vs_causal"] = _correlation_vs_causal(
            context["correlations"], context["estimates"], context["platforms"]
        )
    if context["trajectories"]:
        figures["trajectories"] = _trajectories(context["trajectories"])
    if context["deliveries"]:
        figures["coverage"] = _coverage(context["deliveries"])
    return figures


def _grid(figure: Figure, panels: int) -> list[Axes]:
    """Small multiples, four to a row, sharing the x axis; unused cells hidden."""
    columns = min(panels, 4)
    rows = -(-panels // columns)
    axes = [ax for row in figure.subplots(rows, columns, squeeze=False, sharex=True) for ax in row]
    for ax in axes[panels:]:
        ax.set_visible(False)
    return axes[:panels]


def _panel_size(panels: int) -> tuple[float, float]:
    columns = min(panels, 4)
    return 2.55 * columns + 0.5, 2.2 * -(-panels // columns) + 0.5


def _event_study(
    event_time: list[dict[str, Any]], estimates: list[dict[str, Any]], platforms: list[str]
) -> Markup:
    """Event-study curves: every platform's first link, then engagement where a platform has any."""
    rows = [r for r in event_time if all(r[key] == HEADLINE[key] for key in ("outcome", "control_group"))]
    summaries = {
        (r["platform"], r["treatment"]): r
        for r in estimates
        if r["horizon"] == HEADLINE_HORIZON
        and all(r[key] == HEADLINE[key] for key in ("outcome", "control_group"))
    }
    panels = [("first_link", platform) for platform in platforms] + [
        ("engagement", platform)
        for platform in platforms
        if any(r["platform"] == platform and r["treatment"] == "engagement" for r in rows)
    ]
    with _figure("event_study", *_panel_size(len(panels))) as figure:
        for ax, (treatment, platform) in zip(_grid(figure, len(panels)), panels, strict=True):
            points = [r for r in rows if r["platform"] == platform and r["treatment"] == treatment]
            title = f"{wording.label(platform)}: {TREATMENT_TITLES[treatment]}"
            _event_panel(ax, points, summaries.get((platform, treatment)), title)
        figure.supylabel("change in position (up = better rank)", fontsize=9)
        figure.supxlabel(
            "weeks since the week of the first link (or of passing the engagement threshold)", fontsize=9
        )
        return _svg(figure, "event_study")


def _event_panel(ax: Axes, points: list[dict[str, Any]], summary: dict[str, Any] | None, title: str) -> None:
    ax.set_title(title, loc="left", pad=22)
    ax.axhline(0, color=MUTED, linewidth=0.8)
    ax.axvline(-0.5, color=MUTED, linewidth=0.8, linestyle=":")
    ax.set_xticks(range(-4, 9, 2))
    estimated = [r for r in points if r["estimate"] is not None]
    if not estimated:
        note = textwrap.fill(summary["note"] if summary and summary["note"] else "no estimate", 28)
        ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", color=MUTED)
        ax.set_yticks([])
        return
    weeks = [r["event_week"] for r in estimated]

    def bound(row: dict[str, Any], column: str) -> float:
        return float(row["estimate"] if row[column] is None else row[column])

    ax.fill_between(
        weeks, [bound(r, "band_low") for r in estimated], [bound(r, "band_high") for r in estimated],
        color=BAND, alpha=0.35, linewidth=0,
    )  # fmt: skip
    ax.fill_between(
        weeks, [bound(r, "ci_low") for r in estimated], [bound(r, "ci_high") for r in estimated],
        color=BAND, alpha=0.8, linewidth=0,
    )  # fmt: skip
    ax.plot(weeks, [r["estimate"] for r in estimated], color=INK, marker="o", markersize=3, linewidth=1.5)
    ax.invert_yaxis()
    # Pages behind each week, along the bottom: the curve's later weeks rest on fewer pages.
    for row in estimated:
        ax.annotate(
            str(row["treated_units"]), xy=(row["event_week"], 0), xycoords=("data", "axes fraction"),
            xytext=(0, 2), textcoords="offset points", ha="center", fontsize=6, color=MUTED,
        )  # fmt: skip
    if summary is None or summary["estimate"] is None:
        return
    ax.hlines(summary["estimate"], summary["first_week"], summary["last_week"], color=CONTROL, linewidth=2.5)
    robust = (
        f"robust {summary['robust_ci_low']:+.1f} to {summary['robust_ci_high']:+.1f}"
        if summary["robust_ci_low"] is not None
        else "no robust interval"
    )
    ax.text(
        0,
        1.02,
        f"weeks 4-8: {summary['estimate']:+.2f} [{summary['ci_low']:+.2f}, {summary['ci_high']:+.2f}], "
        f"{robust}\n{summary['treated_units']} pages; pre-trend test p = {_p(summary['pretrend_p_value'])}",
        transform=ax.transAxes,
        fontsize=7.5,
        color=MUTED,
        va="bottom",
    )


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _correlation_vs_causal(
    correlations: list[dict[str, Any]], estimates: list[dict[str, Any]], platforms: list[str]
) -> Markup:
    spearman = {r["platform"]: r for r in correlations if r["factor_kind"] == "social_links"}
    causal = {r["platform"]: r for r in wording.headline_rows(estimates)}
    with _figure("correlation_vs_causal", 9.0, 0.45 * len(platforms) + 1.3) as figure:
        left, right = figure.subplots(1, 2, sharey=True)
        rows = list(range(len(platforms)))[::-1]
        for y, platform in zip(rows, platforms, strict=True):
            _interval_dot(left, y, spearman.get(platform), "spearman")
            _interval_dot(right, y, causal.get(platform), "estimate")
        left.set_yticks(rows, [wording.label(p) for p in platforms])
        left.set_ylim(-0.6, len(platforms) - 0.4)
        left.set_title("Correlation: social links vs position", loc="left")
        left.set_xlabel("Spearman across pages (negative: linked pages rank better)")
        left.set_xlim(-1, 1)
        right.set_title("Causal effect of the first link, weeks 4-8", loc="left")
        right.set_xlabel("change in position (negative: the link moved pages up)")
        for ax in (left, right):
            ax.axvline(0, color=MUTED, linewidth=0.8)
        return _svg(figure, "correlation_vs_causal")


def _interval_dot(ax: Axes, y: float, row: dict[str, Any] | None, column: str) -> None:
    if row is None or row[column] is None:
        ax.text(0, y, "no estimate", ha="center", va="center", fontsize=8, color=MUTED)
        return
    low, high, value = row["ci_low"], row["ci_high"], row[column]
    # A causal row is drawn as a finding only when its robust interval excludes zero.
    if "finding" in row:
        clear = row["finding"] in ("improves", "worsens")
    else:
        clear = low is not None and high is not None and (high < 0 or low > 0)
    colour = INK if clear else MUTED
    if low is not None and high is not None:
        ax.hlines(y, low, high, color=colour, linewidth=2.5, alpha=0.6)
    ax.plot([value], [y], "o", color=colour, markersize=6)
    ax.annotate(
        f"{value:+.2f}", xy=(value, y), xytext=(0, 6), textcoords="offset points", ha="center", fontsize=7.5
    )


def _trajectories(trajectories: list[dict[str, Any]]) -> Markup:
    platforms = sorted({r["platform"] for r in trajectories}, key=lambda p: (p == "any", p))
    with _figure("trajectories", *_panel_size(len(platforms))) as figure:
        for ax, platform in zip(_grid(figure, len(platforms)), platforms, strict=True):
            points = [r for r in trajectories if r["platform"] == platform]
            weeks = [r["event_week"] for r in points]
            ax.plot(
                weeks,
                [r["linked_position"] for r in points],
                color=INK,
                marker="o",
                markersize=3,
                label="linked",
            )
            ax.plot(
                weeks,
                [r["never_linked_position"] for r in points],
                color=CONTROL,
                linestyle="--",
                label="never linked, same weeks",
            )
            ax.axvline(-0.5, color=MUTED, linewidth=0.8, linestyle=":")
            ax.set_xticks(range(-4, 9, 2))
            ax.invert_yaxis()
            ax.set_title(f"{wording.label(platform)} ({points[0]['linked_pages']} pages)", loc="left")
        handles, labels = figure.axes[0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="outside upper center", ncols=2, frameon=False, fontsize=8)
        figure.supylabel("mean position (up = better rank)", fontsize=9)
        figure.supxlabel("weeks since the week of the page's first link", fontsize=9)
        return _svg(figure, "trajectories")


def _coverage(deliveries: list[dict[str, Any]]) -> Markup:
    names = [r["landing_path"] for r in deliveries][::-1]
    kept = [r["records_kept"] or 0 for r in deliveries][::-1]
    quarantined = [r["records_quarantined"] or 0 for r in deliveries][::-1]
    refused = [r["status"] not in ("ingested", "duplicate") for r in deliveries][::-1]
    with _figure("coverage", 9.0, 0.3 * len(names) + 1.0) as figure:
        ax = figure.subplots()
        ax.barh(names, kept, color=GOOD, label="records kept")
        ax.barh(names, quarantined, left=kept, color=BAD, label="records quarantined")
        ax.set_xscale("symlog", linthresh=10)
        for y, (good, bad, file_refused) in enumerate(zip(kept, quarantined, refused, strict=True)):
            text = f"{good:,} kept" + (f", {bad:,} quarantined" if bad else "")
            text += " (file quarantined)" if file_refused else ""
            ax.annotate(
                text, xy=(good + bad, y), xytext=(4, 0), textcoords="offset points", va="center", fontsize=7.5
            )
        ax.set_xlabel("records per delivery (log scale)")
        ax.tick_params(axis="y", labelsize=7.5)
        ax.legend(loc="lower right", frameon=False, fontsize=8)
        return _svg(figure, "coverage")
