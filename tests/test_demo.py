"""The demo landing zone: deterministic, parsed cleanly by the real parsers, carrying its planted truth."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from pipeline.canonical import host_of
from pipeline.delivery import Delivery
from pipeline.ingest import discover_deliveries
from pipeline.referrals import HOSTS
from pipeline.sources import detect_format
from pipeline.sources.base import ParseContext, Record, Rejected
from socialrank_demo.sample import (
    DemoWorld,
    PlantedBacklinks,
    PlantedEffect,
    WorldSpec,
    landing_is_empty,
    write_demo_landing,
    write_world,
)

EXPECTED_FORMATS = {
    "social/x": "x_archive",
    "social/linkedin": "linkedin_shares",
    "social/reddit": "reddit",
    "backlinks/ahrefs": "ahrefs_backlinks",
    "rankings/rank_tracker": "rank_tracker_csv",
    "traffic/ga4": "ga4_report_csv",
}
IP = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


@dataclass(frozen=True)
class Parsed:
    format: str
    records: list[Record]
    rejected: list[Rejected]

    def rows(self, kind: str) -> list[dict[str, Any]]:
        return [record.row for record in self.records if record.kind == kind]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoWorld]:
    landing = tmp_path_factory.mktemp("demo") / "landing"
    return landing, write_demo_landing(landing, seed=7)


def _parse(path: Path) -> Parsed:
    """A file through format detection and its parser, as the ingest runs them."""
    delivery = Delivery(path)
    try:
        source_format = detect_format(delivery)
        assert source_format is not None, path
        landed_on = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC).date()
        context = ParseContext("strip", landed_on, owned_sites=("example.com",))
        items = list(source_format.parse(delivery, context))
    finally:
        delivery.close()
    return Parsed(
        source_format.name,
        [item for item in items if isinstance(item, Record)],
        [item for item in items if isinstance(item, Rejected)],
    )


@pytest.fixture(scope="module")
def parsed(demo: tuple[Path, DemoWorld]) -> dict[str, Parsed]:
    landing, _ = demo
    return {
        path.relative_to(landing).parent.as_posix(): _parse(path) for path in discover_deliveries(landing)
    }


def _file(demo: tuple[Path, DemoWorld], family: str) -> Path:
    landing, world = demo
    return landing / next(f for f in world.files if f.startswith(family + "/"))


def _canonical(url: str) -> str:
    return url.replace("https://www.", "https://", 1)


def test_same_seed_gives_identical_bytes_and_times(demo: tuple[Path, DemoWorld], tmp_path: Path) -> None:
    landing, world = demo
    again = write_demo_landing(tmp_path / "landing", seed=7)
    assert again == world
    for relative in world.files:
        first, second = landing / relative, tmp_path / "landing" / relative
        assert first.read_bytes() == second.read_bytes(), relative
        assert (
            first.stat().st_mtime
            == second.stat().st_mtime
            == dt.datetime.combine(world.end_date, dt.time(23, 30), tzinfo=dt.UTC).timestamp()
        )


def test_different_seed_changes_every_file(demo: tuple[Path, DemoWorld], tmp_path: Path) -> None:
    landing, world = demo
    other = write_demo_landing(tmp_path / "landing", seed=8)
    assert other.files == world.files
    for relative in world.files:
        assert (landing / relative).read_bytes() != (tmp_path / "landing" / relative).read_bytes(), relative


def test_world_describes_the_window(demo: tuple[Path, DemoWorld]) -> None:
    _, world = demo
    assert (world.end_date - world.start_date).days + 1 == 150
    assert (world.effect_platform, world.effect_positions) == ("x", -3.0)
    assert (world.pages, world.queries) == (80, 30)
    assert {link.platform for link in world.first_links} == {"x", "linkedin", "reddit"}
    assert all(30 <= (link.day - world.start_date).days <= 110 for link in world.first_links)
    assert 0.35 <= len({link.page_url for link in world.first_links}) / world.pages <= 0.55
    assert world.effect_at(world.effect_lag_days) == 0.0
    assert world.effect_at(world.effect_lag_days + world.effect_ramp_days // 2) == pytest.approx(-1.5)
    assert world.effect_at(world.effect_lag_days + world.effect_ramp_days + 30) == -3.0


def test_short_windows_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 120"):
        write_demo_landing(tmp_path, days=90)


def test_every_file_is_detected_and_parsed_without_rejections(
    demo: tuple[Path, DemoWorld], parsed: dict[str, Parsed]
) -> None:
    landing, world = demo
    assert sorted(discover_deliveries(landing)) == sorted(landing / f for f in world.files)
    assert {family: p.format for family, p in parsed.items()} == EXPECTED_FORMATS
    for family, result in parsed.items():
        assert result.rejected == [], family
        assert result.records, family
    assert len(parsed["backlinks/ahrefs"].rows("backlink")) == 600


def test_parsed_links_carry_the_planted_first_link_days(
    demo: tuple[Path, DemoWorld], parsed: dict[str, Parsed]
) -> None:
    """The X direct message links an owned page before any post: the parser must not read it."""
    _, world = demo
    first: dict[tuple[str, str], dt.date] = {}
    for family in ("social/x", "social/linkedin", "social/reddit"):
        for link in parsed[family].rows("link"):
            if host_of(link["canonical_url"]) == world.owned_site:
                key = (link["platform"], link["canonical_url"])
                first[key] = min(first.get(key, link["post_date"]), link["post_date"])
    assert first == {(link.platform, _canonical(link.page_url)): link.day for link in world.first_links}


def test_ahrefs_export_is_utf16_tab_separated_and_quoted(demo: tuple[Path, DemoWorld]) -> None:
    raw = _file(demo, "backlinks/ahrefs").read_bytes()
    assert raw.startswith(codecs.BOM_UTF16_LE)
    text = raw[2:].decode("utf-16-le")
    lines = text.split("\r\n")
    assert lines[-1] == "" and len(lines) == 602
    header = lines[0].split("\t")
    assert len(header) == 32 and all(cell.startswith('"') and cell.endswith('"') for cell in header)
    assert {'"Referring page URL"', '"Target URL"', '"Nofollow"', '"First seen"', '"Lost"'} <= set(header)
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    assert {row["Nofollow"] for row in rows} == {"true", "false"}
    assert any(row["Lost"] == "" for row in rows) and any(row["Lost"] for row in rows)


def test_linkedin_commentary_keeps_the_quoted_line_quirk(
    demo: tuple[Path, DemoWorld], parsed: dict[str, Parsed]
) -> None:
    raw = _file(demo, "social/linkedin").read_text(encoding="utf-8")
    assert raw.startswith("Date,ShareLink,ShareCommentary,SharedUrl,MediaUrl,Visibility\n")
    assert '.""\n""""\n""' in raw
    commentaries = [row["ShareCommentary"] for row in csv.DictReader(io.StringIO(raw))]
    multi_line = [value.split("\n") for value in commentaries if "\n" in value]
    assert multi_line
    for lines in multi_line:
        assert all(line.endswith('"') for line in lines[:-1])
        assert all(line.startswith('"') for line in lines[1:])
    texts = [post["text"] for post in parsed["social/linkedin"].rows("post")]
    assert not any(line.startswith('"') for text in texts for line in text.split("\n"))
    assert any("WHAT?" in text for text in texts)  # mathematical bold, NFKC-normalised by the parser
    kinds = {(link["link_kind"], link["is_shortener"]) for link in parsed["social/linkedin"].rows("link")}
    assert {("shared_url", False), ("text", True)} <= kinds


def test_reddit_ips_never_reach_the_records(demo: tuple[Path, DemoWorld], parsed: dict[str, Parsed]) -> None:
    rows = list(csv.DictReader(io.StringIO(_file(demo, "social/reddit").read_text(encoding="utf-8"))))
    ips = {row["ip"] for row in rows}
    assert ips and all(IP.match(ip) for ip in ips)
    dumped = repr([record.row for result in parsed.values() for record in result.records])
    assert not any(ip in dumped for ip in ips)
    link_posts = [row for row in rows if "reddit.com" not in row["url"]]
    assert link_posts and len(link_posts) < len(rows)


def _ranked(parsed: dict[str, Parsed]) -> list[dict[str, Any]]:
    """The tracker's rows with a position (its "not ranked" rows are kept without one)."""
    return [row for row in parsed["rankings/rank_tracker"].rows("ranking") if row["position"] is not None]


def test_rank_tracker_covers_the_window(demo: tuple[Path, DemoWorld], parsed: dict[str, Parsed]) -> None:
    _, world = demo
    raw = _file(demo, "rankings/rank_tracker").read_text(encoding="utf-8")
    raw_rows = list(csv.DictReader(io.StringIO(raw)))
    unranked = [row for row in raw_rows if row["position"] == ""]
    assert unranked
    every_row = parsed["rankings/rank_tracker"].rows("ranking")
    # "Not ranked" rows are kept without a position: the days each query was tracked.
    assert len(every_row) == len(raw_rows)
    assert sum(row["position"] is None for row in every_row) == len(unranked)
    rankings = [row for row in every_row if row["position"] is not None]
    days = {row["ranking_date"] for row in rankings}
    assert len(days) >= 120 and min(days) == world.start_date and max(days) == world.end_date
    assert {row["query"] for row in rankings} and len({row["query"] for row in rankings}) == world.queries
    assert all(1 <= row["position"] <= 100 for row in rankings)
    assert any("utm_source=tracker" in row["url"] for row in rankings)
    assert all("utm_" not in row["canonical_url"] for row in rankings)


def test_x_links_are_expanded_and_lose_their_tracking(parsed: dict[str, Parsed]) -> None:
    links = parsed["social/x"].rows("link")
    assert links and not any(host_of(link["canonical_url"]) == "t.co" for link in links)
    tagged = [link for link in links if "utm_source=" in link["url"]]
    assert tagged and all("utm_" not in link["canonical_url"] for link in tagged)
    assert any(link["url"].startswith("http://www.") for link in links)
    posts = parsed["social/x"].rows("post")
    reposts = [post for post in posts if post["is_repost"]]
    assert reposts and len(reposts) < len(posts)
    engagement = {row["post_id"]: row for row in parsed["social/x"].rows("engagement")}
    assert all(engagement[post["post_id"]]["likes"] == 0 for post in reposts)


def test_planted_x_effect_and_confounding_show_in_the_rankings(
    demo: tuple[Path, DemoWorld], parsed: dict[str, Parsed]
) -> None:
    """A rough before/after per page: about -3 for X, 0 for LinkedIn/Reddit; shared pages start higher."""
    _, world = demo
    positions: dict[tuple[str, int], list[float]] = defaultdict(list)
    for row in _ranked(parsed):
        day = (row["ranking_date"] - world.start_date).days
        positions[(row["canonical_url"], day)].append(row["position"])

    def mean(url: str, start: int, stop: int) -> float | None:
        values = [p for day in range(start, stop) for p in positions.get((url, day), [])]
        return statistics.mean(values) if values else None

    firsts: dict[str, dict[str, int]] = defaultdict(dict)
    for link in world.first_links:
        firsts[_canonical(link.page_url)][link.platform] = (link.day - world.start_date).days
    settled = world.effect_lag_days + world.effect_ramp_days
    window_days = (world.end_date - world.start_date).days + 1

    def change(url: str, day: int) -> float | None:
        before = mean(url, day - 28, day)
        after = mean(url, day + settled, min(day + settled + 14, window_days))
        return None if before is None or after is None else after - before

    x_changes = [c for url, f in firsts.items() if "x" in f and (c := change(url, f["x"])) is not None]
    other_changes = [
        c for url, f in firsts.items() if "x" not in f and (c := change(url, min(f.values()))) is not None
    ]
    assert len(x_changes) >= 10 and len(other_changes) >= 10
    assert -4.0 < statistics.mean(x_changes) < -2.0
    assert abs(statistics.mean(other_changes)) < 1.0
    urls = {url for url, _ in positions}
    before_any_share = {url: mean(url, 0, 30) for url in urls}
    shared = [v for url, v in before_any_share.items() if url in firsts and v is not None]
    unshared = [v for url, v in before_any_share.items() if url not in firsts and v is not None]
    assert statistics.mean(shared) < statistics.mean(unshared) - 5


def test_x_engagement_grows_with_page_quality(
    demo: tuple[Path, DemoWorld], parsed: dict[str, Parsed]
) -> None:
    """Better pages (a better starting rank, the visible proxy of quality) draw more likes."""
    _, world = demo
    start_rank: dict[str, list[float]] = defaultdict(list)
    for row in _ranked(parsed):
        if (row["ranking_date"] - world.start_date).days < 30:
            start_rank[row["canonical_url"]].append(row["position"])
    likes = {row["post_id"]: row["likes"] for row in parsed["social/x"].rows("engagement")}
    by_page: dict[str, list[int]] = defaultdict(list)
    for link in parsed["social/x"].rows("link"):
        if link["canonical_url"] in start_rank and not link["is_repost"]:
            by_page[link["canonical_url"]].append(likes[link["post_id"]])
    ordered = sorted(by_page, key=lambda url: statistics.mean(start_rank[url]))
    half = len(ordered) // 2
    top = statistics.mean(like for url in ordered[:half] for like in by_page[url])
    bottom = statistics.mean(like for url in ordered[half:] for like in by_page[url])
    assert top > bottom


def test_landing_is_empty(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    assert landing_is_empty(landing)
    (landing / "social" / "x").mkdir(parents=True)
    (landing / ".gitkeep").write_text("")
    (landing / "social" / ".DS_Store").write_text("")
    assert landing_is_empty(landing)
    write_demo_landing(landing)
    assert not landing_is_empty(landing)


# --- the generator's parameters (known-answer worlds) ---------------------------------------------


def _mean_shift(world: DemoWorld, pages: list[str], first_day: int = 0) -> float:
    values = [v for page in pages for v in world.shift_of(page)[first_day:] if v is not None]
    return statistics.mean(values)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"days": 90}, "days must be at least 120"),
        ({"pages": 200}, "pages must be within"),
        ({"shared_fraction": 1.0}, "shared_fraction"),
        ({"platform_weights": (0.5, 0.5, 0.5)}, "platform_weights"),
        ({"first_link_days": (30, 200)}, "first_link_days"),
        ({"best_position": 99.0}, "best_position"),
        ({"effects": (PlantedEffect("facebook", -1.0, 0, 0),)}, "effects"),
        ({"effects": (PlantedEffect("x", -1.0, 0, 0), PlantedEffect("x", -2.0, 0, 0))}, "effects"),
        ({"natural_backlinks": (PlantedBacklinks("facebook", 1.0),)}, "natural_backlinks: at most one"),
        (
            {"natural_backlinks": (PlantedBacklinks("x", 1.0), PlantedBacklinks("x", 2.0))},
            "natural_backlinks: at most one",
        ),
        ({"natural_backlinks": (PlantedBacklinks("x", 0.0),)}, "domains_per_week must be positive"),
        ({"natural_backlinks": (PlantedBacklinks("x", float("nan")),)}, "domains_per_week must be positive"),
        ({"natural_backlinks": (PlantedBacklinks("x", 100.0),)}, r"at most 1260, got 100.0 \(2143 over"),
    ],
)
def test_world_parameters_are_checked(change: dict[str, Any], message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        write_world(tmp_path, replace(WorldSpec(), **change))
    assert landing_is_empty(tmp_path)


def test_a_world_without_effects_moves_nothing(tmp_path: Path) -> None:
    world = write_world(tmp_path, WorldSpec(seed=11, effects=()))
    assert world.effects == () and world.effect_platform is None and world.effect_at(60) == 0.0
    shifts = [v for _, days in world.observed_shift for v in days if v is not None]
    assert shifts and set(shifts) == {0.0}


def test_a_planted_effect_moves_the_observed_positions_of_its_platforms_pages(tmp_path: Path) -> None:
    effect = PlantedEffect("linkedin", -4.0, lag_days=5, ramp_days=0)
    world = write_world(tmp_path, WorldSpec(seed=12, effects=(effect,), best_position=10.0))
    assert world.effect_of("linkedin") == effect and world.effect_of("x") is None
    assert effect.at(4) == 0.0 and effect.at(5) == -4.0
    linked = {link.page_url: (link.day - world.start_date).days for link in world.first_links}
    on_linkedin = [link for link in world.first_links if link.platform == "linkedin"]
    assert len(on_linkedin) >= 8
    for link in on_linkedin:
        day = (link.day - world.start_date).days
        shift = world.shift_of(link.page_url)
        # Before its own effect a page moves only when a treated neighbour passes it.
        assert abs(statistics.mean(v for v in shift[: day + effect.lag_days] if v is not None)) < 0.5
        # Away from the top of the page the observed move is the planted one, give or take a neighbour.
        assert -5.0 <= statistics.mean(v for v in shift[day + effect.lag_days :] if v is not None) <= -3.0
    # Pages never linked move only when a treated neighbour pushes past them.
    never = [url for url, _ in world.observed_shift if url not in linked]
    assert abs(_mean_shift(world, never)) < 0.2


def test_confounding_sets_how_much_better_the_shared_pages_rank(tmp_path: Path) -> None:
    def head_start(confounding: float) -> float:
        landing = tmp_path / str(confounding)
        world = write_world(landing, WorldSpec(seed=13, effects=(), confounding=confounding))
        shared = {link.page_url.replace("https://www.", "https://") for link in world.first_links}
        rows = list(
            csv.DictReader(io.StringIO((landing / "rankings/rank_tracker/positions.csv").read_text()))
        )
        ranks: dict[bool, list[float]] = defaultdict(list)
        for row in rows:
            if row["position"]:
                url = row["url"].split("?")[0].replace("https://www.", "https://")
                ranks[url in shared].append(float(row["position"]))
        return statistics.mean(ranks[False]) - statistics.mean(ranks[True])

    random_sharing, strong = head_start(0.0), head_start(3.0)
    assert abs(random_sharing) < 8 and strong > 20 and strong > random_sharing + 15


def test_social_referral_visits_to_a_page_start_with_its_first_post_there(
    demo: tuple[Path, DemoWorld], parsed: dict[str, Parsed]
) -> None:
    """The planted chain's first link: a platform's referral visits to a page begin on the day of its
    first post linking the page there, never before."""
    _, world = demo
    sources = {"x": "t.co", "linkedin": "linkedin", "reddit": "reddit.com"}
    visits = parsed["traffic/ga4"].rows("traffic")
    for link in world.first_links:
        days = [
            row["traffic_date"]
            for row in visits
            if row["session_source"] == sources[link.platform]
            and row["canonical_url"] == _canonical(link.page_url)
        ]
        assert days, link
        assert min(days) >= link.day, link
    linked = {(link.platform, _canonical(link.page_url)) for link in world.first_links}
    assert all(
        (platform, row["canonical_url"]) in linked
        for row in visits
        for platform, source in sources.items()
        if row["session_source"] == source
    )


def test_natural_backlinks_are_new_referring_domains_after_the_first_link(tmp_path: Path) -> None:
    """Planted natural backlinks only append rows to the Ahrefs export: every other file, and the rows
    before them, are the bytes of the same world without them (their own random stream). Each page first
    linked on LinkedIn gains non-social domains that link it nowhere else in the export, first seen after
    that link and still live at the end; about ``domains_per_week`` a week."""
    spec = WorldSpec(seed=14, effects=())
    planted = PlantedBacklinks("linkedin", 2.0)
    plain = write_world(tmp_path / "plain", spec)
    world = write_world(tmp_path / "planted", replace(spec, natural_backlinks=(planted,)))
    assert plain.natural_backlinks == () and plain.backlinks_of("linkedin") is None
    assert world.backlinks_of("linkedin") == planted and world.backlinks_of("x") is None
    for relative in world.files:
        before = (tmp_path / "plain" / relative).read_bytes()
        after = (tmp_path / "planted" / relative).read_bytes()
        if relative.startswith("backlinks/"):
            assert after.startswith(before) and len(after) > len(before)
        else:
            assert after == before, relative
    ahrefs = _parse(tmp_path / "planted" / next(f for f in world.files if f.startswith("backlinks/")))
    assert ahrefs.rejected == []
    rows = ahrefs.rows("backlink")
    other, added = rows[:600], rows[600:]
    assert other == _parse(
        tmp_path / "plain" / next(f for f in plain.files if f.startswith("backlinks/"))
    ).rows("backlink")
    first_link = {
        _canonical(link.page_url): link.day for link in world.first_links if link.platform == "linkedin"
    }
    linking: dict[str, set[str]] = defaultdict(set)
    for row in other:
        linking[row["target_canonical"]].add(row["source_domain"])
    by_page: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in added:
        by_page[row["target_canonical"]].append(row)
    assert set(by_page) <= set(first_link) and len(by_page) >= 0.8 * len(first_link)
    for page, links in by_page.items():
        domains = [row["source_domain"] for row in links]
        assert len(set(domains)) == len(domains) and not set(domains) & linking[page], page
        assert not set(domains) & set(HOSTS), page
        for row in links:
            assert first_link[page] < row["first_seen"] <= row["last_seen"] <= world.end_date, row
            assert not row["lost"], row
    expected = sum(planted.expected_by((world.end_date - day).days) for day in first_link.values())
    assert abs(len(added) - expected) < 3 * math.sqrt(expected), (len(added), expected)
