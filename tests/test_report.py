"""The HTML report: self-contained, holding its figures, naming every platform, showing coverage and
the gate; the same warehouse renders the same figures."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline import report, stages
from pipeline.config import DataRoot, Settings
from pipeline.demo import write_demo_landing

RUN_DATE = dt.date(2026, 11, 1)
FIGURES = ("event_study", "correlation_vs_causal", "trajectories", "coverage")


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str]:
    """The sample world plus a tracker file with broken rows, through every stage."""
    data = DataRoot(tmp_path_factory.mktemp("report") / "data")
    data.ensure()
    settings = Settings(data=data, owned_sites=("example.com",), timezone=ZoneInfo("America/Los_Angeles"))
    write_demo_landing(data.landing)
    broken = data.landing / "rankings" / "tracker" / "late.csv"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "date,keyword,url,position\n"
        "2026-10-31,hiking boots,https://example.com/reviews/best-hiking-boots/,4,extra\n"
        "yesterday,hiking boots,https://example.com/reviews/best-hiking-boots/,4\n"
    )
    result = stages.run_all(settings, RUN_DATE)
    path = Path(result["report"]["report"])
    assert path == data.reports / report.REPORT_NAME
    return settings, path.read_text(encoding="utf-8")


def test_the_report_is_self_contained(reported: tuple[Settings, str]) -> None:
    _, html = reported
    assert html.startswith("<!doctype html>")
    # Nothing fetched to view it: no scripts, no style sheets, no images or fonts from elsewhere.
    assert not re.search(r"<script|<link |<img |<iframe|@import|url\((?!#)|src=", html, flags=re.IGNORECASE)
    assert 'xlink:href="http' not in html and 'href="http' not in html


def test_the_report_holds_every_figure_as_inline_svg(reported: tuple[Settings, str]) -> None:
    _, html = reported
    figures = re.findall(r"<figure>(.*?)</figure>", html, flags=re.DOTALL)
    assert len(figures) == len(FIGURES)
    for figure in figures:
        assert figure.lstrip().startswith("<svg") and "</svg>" in figure and "<path" in figure
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "element ids collide across the inlined figures"


def test_the_report_names_each_platform(reported: tuple[Settings, str]) -> None:
    _, html = reported
    answers = re.search(r'<ul class="answers">(.*?)</ul>', html, flags=re.DOTALL)
    assert answers is not None
    for label in ("X", "LinkedIn", "Reddit", "Any platform"):
        assert f"<b>{label}</b>" in answers.group(1)
        # Figure text stays text (not paths), so each platform is named inside the event-study figure.
        assert f"{label}: first link" in html
    assert "pages moved up" in answers.group(1)  # X: the planted effect
    assert "too few treated pages" in answers.group(1)  # Reddit


def test_the_report_shows_coverage_and_the_gate(reported: tuple[Settings, str]) -> None:
    _, html = reported
    assert re.search(r'Quality gate: <span class="pass">passed</span>', html)
    assert "rankings/tracker/late.csv" in html and "2 record(s) quarantined in all" in html
    for path in (
        "social/x/twitter-archive-2026-11-01.zip",
        "social/linkedin/Shares.csv",
        "social/reddit/posts.csv",
    ):
        assert path in html


def test_the_same_warehouse_renders_the_same_figures(reported: tuple[Settings, str]) -> None:
    settings, html = reported
    again = report.write_report(settings).read_text(encoding="utf-8")
    assert re.findall(r"<svg.*?</svg>", again, flags=re.DOTALL) == re.findall(
        r"<svg.*?</svg>", html, flags=re.DOTALL
    )


@pytest.mark.parametrize(
    ("row", "verdict", "words"),
    [
        (None, "unknown", "not enough data"),
        ({"estimate": None, "note": "too few treated pages (2; at least 5 needed)"}, "unknown", "too few"),
        (
            {"estimate": -2.5, "ci_low": -3.5, "ci_high": -1.5, "treated_units": 9, "pretrend_passed": True},
            "up",
            "moved up 2.5 places",
        ),
        (
            {"estimate": 0.3, "ci_low": -0.5, "ci_high": 1.1, "treated_units": 9, "pretrend_passed": True},
            "none",
            "no detectable effect",
        ),
        (
            {
                "estimate": 1.2,
                "ci_low": 0.4,
                "ci_high": 2.0,
                "treated_units": 9,
                "pretrend_passed": False,
                "pretrend_p_value": 0.01,
            },
            "down",
            "Caution",
        ),
    ],
)
def test_answers_say_what_the_interval_allows(
    row: dict[str, object] | None, verdict: str, words: str
) -> None:
    answer = report._answer("reddit", row)
    assert answer["verdict"] == verdict and words in answer["text"] and answer["label"] == "Reddit"
