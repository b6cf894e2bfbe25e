"""The HTML report: self-contained, holding its figures, naming every platform, showing coverage and
the gate; the same warehouse renders the same figures."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import escape

from pipeline import report, scorecard, stages
from pipeline.config import DataRoot, Settings
from pipeline.impact import wording
from socialrank_demo.sample import write_demo_landing
from tests import claims_fixture
from tests.conftest import demo_world_settings

RUN_DATE = dt.date(2026, 11, 1)
FIGURES = ("event_study", "correlation_vs_causal", "trajectories", "coverage")


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str]:
    """The sample world plus a tracker file with broken rows, through every stage (and one row kept, of a
    page not owned: a delivery that kept nothing would fail the run)."""
    data = DataRoot(tmp_path_factory.mktemp("report") / "data")
    data.ensure()
    settings = Settings(data=data, owned_sites=("example.com",), timezone=ZoneInfo("America/Los_Angeles"))
    write_demo_landing(data.landing)
    broken = data.landing / "rankings" / "tracker" / "late.csv"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "date,keyword,url,position\n"
        "2026-10-31,hiking boots,https://example.com/reviews/best-hiking-boots/,4,extra\n"
        "<b>soon</b>,hiking boots,https://example.com/reviews/best-hiking-boots/,4\n"
        "2026-10-31,hiking boots,https://elsewhere.example.org/boots/,9\n"
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
    assert "places up" in answers.group(1)  # X: the planted effect
    assert "What each answer rests on: (1) parallel trends" in html and "Holm-adjusted" in html
    assert "too few treated pages" in answers.group(1)  # Reddit


def test_the_table_of_all_estimates_names_each_outcomes_unit(reported: tuple[Settings, str]) -> None:
    _, html = reported
    table = re.search(r"All causal estimates(.*?)</details>", html, flags=re.DOTALL)
    assert table is not None
    units = dict(
        re.findall(
            r'<tr><td>[^<]*</td><td class="text">(\w+)</td><td class="text">([^<]*)</td>', table.group(1)
        )
    )
    assert units == {
        "position": "positions (negative = higher in results)",
        "referring_domains": "referring domains",
        "social_referral_sessions": "sessions a day",
        "organic_sessions": "sessions a day",
        "page_engagement_rate": "percentage points",
    }


def test_the_report_shows_coverage_and_the_gate(reported: tuple[Settings, str]) -> None:
    _, html = reported
    assert re.search(r'Quality gate: <span class="pass">passed</span>', html)
    assert "rankings/tracker/late.csv" in html and "2 record(s) quarantined in all" in html
    # A file's words are shown as text, never as markup.
    assert "&#39;&lt;b&gt;soon&lt;/b&gt;&#39;" in html and "<b>soon</b>" not in html
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


def _row(
    estimate: float, low: float, high: float, robust: tuple[float, float] | None, **extra: object
) -> dict[str, object]:
    """A headline row as the mart writes it; ``finding`` by the mart's rule."""
    finding = "not assessed"
    if robust is not None:
        finding = (
            "inconclusive" if robust[0] <= 0 <= robust[1] else ("improves" if estimate < 0 else "worsens")
        )
    return {
        "estimate": estimate,
        "ci_low": low,
        "ci_high": high,
        "robust_ci_low": robust[0] if robust else None,
        "robust_ci_high": robust[1] if robust else None,
        "p_value_adjusted": 0.01,
        "finding": finding,
        "treated_units": 9,
        "pretrend_passed": True,
        "pretrend_weeks": 8,
        "pretrend_p_value": 0.5,
    } | extra


@pytest.mark.parametrize(
    ("row", "verdict", "words"),
    [
        (None, "unknown", ["not enough data"]),
        ({"estimate": None, "note": "too few treated pages (2; at least 5 needed)"}, "unknown", ["too few"]),
        (
            _row(-2.5, -3.5, -1.5, (-4.0, -0.5)),
            "up",
            ["moved 2.5 places up", "between 1.5 and 3.5 places up", "The effect holds"],
        ),
        (
            _row(-2.7, -3.8, -1.6, (-9.7, 5.1)),
            "none",
            ["moved 2.7 places up", "between 9.7 places up and 5.1 places down", "inconclusive"],
        ),
        (_row(0.3, -0.5, 1.1, (-2.0, 2.5)), "none", ["0.3 places down", "between 0.5 places up and 1.1"]),
        (
            _row(1.2, 0.4, 2.0, (0.1, 2.4), pretrend_passed=False, pretrend_p_value=0.01),
            "down",
            [
                "moved 1.2 places down",
                "between 0.4 and 2.0 places down",
                "Caution",
                "over 8 weeks, p = 0.010",
            ],
        ),
    ],
)
def test_answers_say_what_the_interval_allows(
    row: dict[str, object] | None, verdict: str, words: list[str]
) -> None:
    answer = wording.headline_answer("reddit", row)
    assert answer.verdict == verdict and answer.label == "Reddit"
    for text in words:
        assert text in answer.text, (text, answer.text)


def test_a_robust_early_effect_is_quoted_when_the_later_window_is_inconclusive() -> None:
    later = _row(-4.7, -5.4, -4.0, (-12.2, 2.6))
    early = _row(-4.4, -4.9, -3.9, (-7.1, -1.8))
    answer = wording.headline_answer("x", later, early)
    assert answer.verdict == "up"
    assert (
        "inconclusive" in answer.text
        and "Over the first four weeks, though, pages moved 4.4 places up" in answer.text
    )
    assert "between 1.8 and 7.1 places up" in answer.text
    assert wording.headline_answer("x", later, _row(-0.4, -0.9, 0.1, (-3.0, 2.0))).verdict == "none"


@given(
    estimate=st.floats(-20, 20),
    spread=st.floats(0.01, 5),
    robust=st.tuples(st.floats(0, 10), st.floats(0, 10)),
)
def test_words_and_signs_agree(estimate: float, spread: float, robust: tuple[float, float]) -> None:
    """Whatever the numbers: "up" only for a falling position, the interval in the same direction, and a
    coloured verdict only where the robust interval excludes zero."""
    low, high = estimate - spread, estimate + spread
    robust_interval = (low - robust[0], high + robust[1])
    answer = wording.headline_answer("x", _row(estimate, low, high, robust_interval))
    first_sentence = answer.text.split(" (")[0]
    if round(estimate, 1) < 0:
        assert "places up" in first_sentence
    elif round(estimate, 1) > 0:
        assert "places down" in first_sentence
    if high < 0:
        assert f"between {abs(high):.1f} and {abs(low):.1f} places up" in answer.text
    excludes_zero = robust_interval[0] > 0 or robust_interval[1] < 0
    assert (answer.verdict in ("up", "down")) == excludes_zero
    if excludes_zero:
        assert answer.verdict == ("up" if estimate < 0 else "down")


# --- the scorecard (mart.claims) ------------------------------------------------------------------


def test_the_sample_worlds_own_scorecard_opens_the_report(reported: tuple[Settings, str]) -> None:
    settings, html = reported
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        sentences = [
            row[0]
            for row in con.execute(
                "SELECT sentence FROM mart.claims WHERE platform = 'any' ORDER BY claim_order"
            ).fetchall()
        ]
    finally:
        con.close()
    assert len(sentences) == 5
    places = [html.index(str(escape(sentence))) for sentence in sentences]
    assert places == sorted(places) and places[-1] < html.index("<h2>The answer</h2>")


def _report_of_a_copy(published: Path, root: Path, claims: tuple[tuple[object, ...], ...] | None) -> str:
    """The report of a copy of the published sample world: with ``claims`` as its ``mart.claims``, or,
    for None, without the table (a warehouse built by an older version)."""
    shutil.copytree(published, root)
    settings = demo_world_settings(root)
    if claims is None:
        con = duckdb.connect(str(settings.warehouse))
        try:
            con.execute("DROP VIEW mart.claims")
        finally:
            con.close()
    else:
        claims_fixture.write_claims(settings.warehouse, claims)
    return report.write_report(settings).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def scored(published_demo_world: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    return _report_of_a_copy(
        published_demo_world, tmp_path_factory.mktemp("scored") / "world", claims_fixture.ROWS
    )


def test_the_report_opens_with_one_sentence_per_claim_in_claim_order(scored: str) -> None:
    html = scored
    start, answer = html.index("<h2>The scorecard</h2>"), html.index("<h2>The answer</h2>")
    assert start < answer < html.index("<figure>")
    assert html.index("<h2>") == start  # the first section
    overall = [row for row in claims_fixture.in_claim_order() if row["platform"] == "any"]
    assert [row["claim"] for row in overall] == [
        "referral_traffic", "engagement", "natural_backlinks", "rankings", "organic_traffic",
    ]  # fmt: skip
    listed = re.search(r'<ul class="scorecard">(.*?)</ul>', html, flags=re.DOTALL)
    assert listed is not None
    items = re.findall(r"<li>(.*?)</li>", listed.group(1), flags=re.DOTALL)
    assert len(items) == len(overall)
    for item, row in zip(items, overall, strict=True):
        badge = f'<span class="badge {row["verdict"].replace(" ", "-")}">{row["verdict"]}</span>'
        assert item.startswith(badge + str(escape(row["sentence"]))), item
        assert str(escape(row["reason"])) in item
    # The claim with no data says which data is missing and how to add it.
    assert "Whether organic traffic grew is unknown" in items[-1] and "[ga4] property_id" in items[-1]


def test_the_scorecard_lists_each_platform_with_estimate_interval_pages_and_reason(scored: str) -> None:
    html = scored
    section = html[html.index("<h2>The scorecard</h2>") : html.index("<h2>The answer</h2>")]
    rows = re.findall(r"<tr><td>(.*?)</tr>", section, flags=re.DOTALL)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", "<td>" + row, flags=re.DOTALL) for row in rows]
    assert [(c[0], c[1]) for c in cells] == [
        ("referral traffic", "LinkedIn"), ("referral traffic", "X"), ("engagement", "LinkedIn"),
        ("rankings", "Reddit"), ("rankings", "X"),
    ]  # fmt: skip
    linkedin, x = cells[0], cells[1]
    assert 'class="badge inconclusive">inconclusive<' in linkedin[2]
    assert linkedin[3] == "+0.42 sessions a day; page-clustered 95%: -0.31 to +1.15"
    assert (linkedin[4], linkedin[5]) == ("6", "the interval includes no effect")
    assert 'class="badge supported">supported<' in x[2]
    assert x[3] == "+3.4 sessions a day; page-clustered 95%: +1.5 to +5.3" and x[4] == "16"
    assert cells[3][3:] == ["no estimate", "2", "too few treated pages (2; at least 5 needed)"]
    assert cells[4][3] == (
        "-3.9 positions (negative = higher in results); robust 95% (Rambachan-Roth, M = 1): -6.0 to -1.8"
    )
    # The mart's words are escaped: text, never markup.
    assert "too few visits (&lt; 30 sessions) to compare" in cells[2][5] and "(< 30" not in html


def test_the_scorecard_keeps_the_report_self_contained_with_its_evidence(scored: str) -> None:
    assert not re.search(r"<script|<link |<img |<iframe|@import|url\((?!#)|src=", scored, flags=re.IGNORECASE)
    assert len(re.findall(r"<figure>", scored)) == len(FIGURES)
    assert '<ul class="answers">' in scored and "Quality gate:" in scored


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        (None, "this warehouse was built by a version without mart.claims"),
        ((), "mart.claims in this warehouse is empty"),
    ],
    ids=["no table", "empty table"],
)
def test_a_warehouse_without_a_scorecard_says_so(
    published_demo_world: Path,
    tmp_path: Path,
    claims: tuple[tuple[object, ...], ...] | None,
    words: str,
) -> None:
    html = _report_of_a_copy(published_demo_world, tmp_path / "world", claims)
    section = html[html.index("<h2>The scorecard</h2>") : html.index("<h2>The answer</h2>")]
    assert f'<p class="fail">{escape(scorecard.MISSING)}; {words}</p>' in section
    assert "no scorecard in this warehouse: run socialrank build" in section
    assert 'class="scorecard"' not in section and "<table>" not in section
    # The evidence is still all there.
    assert len(re.findall(r"<figure>", html)) == len(FIGURES) and '<ul class="answers">' in html
