"""Worlds shaped like real rank data, with a planted truth: known answers for the causal estimator.

:func:`generate` builds a :class:`RankWorld` in memory from a :class:`RankWorldSpec`; :func:`write_landing`
writes it in the landing formats the pipeline ingests. Unlike :mod:`socialrank_demo.sample` (one tidy
position per page and keyword), these worlds have the shapes that bias naive estimators on real data
(issue 15):

- ``pages`` owned pages (160), each ranking for 1-6 queries (most for 1-3); most queries belong to one
  page, about one in twelve is shared by 2-3 pages. A unit is a (page, query) cell.
- A cell's latent position is a level driven by the page's quality and the query (spread from the top
  of the results to beyond 100, so queries enter and leave the top 100), plus a random linear trend per
  page, page-week and cell-week shocks and daily noise, all larger deeper down the results.
- ``shared_fraction`` of the pages (40%) get a first link on ``platform``, on a day of a week drawn
  uniformly from window weeks 6 .. ``weeks`` - 10 (staggered adoption).
- The planted effect (``effect``, -5 positions) changes the latent position of every query of a treated
  page from the Monday of the week of its recorded first link on (anticipation: one week earlier).

The kinds (:data:`WORLD_KINDS`):

- ``tracker_churn``: rank-tracker data: whole-number positions, a row only on days ranked in the top 100.
- ``search_console``: Search Console data: a row only on days with impressions (Poisson, with a mean that
  falls steeply with position), the position the impression-weighted average of whole-number positions
  (so not a whole number), clicks from a click-through-rate curve.
- ``anticipation``: tracker data; the effect starts a week before the recorded first link (the link's
  true day is a week before the day the export shows).
- ``unbalanced``: tracker data; 20% of query-weeks have no rows at all (the tracker skipped those queries).
- ``violated_trends``: tracker data, no planted effect; treated pages improve 0.4 positions a week
  relative to the others over the whole window, so a naive comparison sees an effect.
- ``confounded_null``: tracker data, no effect; better-ranking pages are far likelier to be shared.
- ``null``: tracker data, no effect, sharing at random.

The truth is measured on the observed scale (see :meth:`RankWorld.truth_by_week`): every world is
generated twice from the same random numbers, with and without the planted effect, and the truth is how
far the observed weekly outcome moved. Positions clipped at 1, queries leaving or entering the top 100
and impressions appearing or vanishing all take their share of the planted effect; the twin carries it.

Same seed, same tables (and bytes): all randomness comes from the seed. Worlds of different kinds with
the same seed share their site, queries and noise.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats

from pipeline.canonical import canonicalize
from pipeline.crawl.search_console import FetchedDay, land
from pipeline.crawl.settings import SearchConsoleSettings
from socialrank_demo.sample import (
    GENERATED_AT,
    LANDED_AT,
    LINKEDIN_PATH,
    PAGE_FORMATS,
    RANK_COLUMNS,
    RANK_TRACKER_PATH,
    REDDIT_PATH,
    TOPICS,
    TRACKER_TAG,
    VOLUME_BUCKETS,
    X_PATH_TEMPLATE,
    Page,
    Share,
    Site,
    csv_text,
    linkedin_shares,
    posted_at,
    reddit_posts,
    x_archive,
)

WORLD_KINDS = (
    "tracker_churn",
    "search_console",
    "anticipation",
    "unbalanced",
    "violated_trends",
    "confounded_null",
    "null",
)
# Kinds without a planted effect: their spec's ``effect`` is ignored.
NULL_KINDS = frozenset({"violated_trends", "confounded_null", "null"})
SEARCH_CONSOLE_KINDS = frozenset({"search_console"})
PLATFORMS = ("x", "linkedin", "reddit")

MAX_POSITION = 100
# Censored position of a tracked cell that is not in the top 100 (tracker data).
UNRANKED = 101.0
# Period 0 is the week starting Monday 1970-01-05.
PERIOD_ORIGIN = dt.date(1970, 1, 5)
# First links fall in window weeks FIRST_LINK_WEEK .. weeks - LAST_LINK_WEEKS_BEFORE_END.
FIRST_LINK_WEEK = 6
LAST_LINK_WEEKS_BEFORE_END = 10
MIN_WEEKS = FIRST_LINK_WEEK + LAST_LINK_WEEKS_BEFORE_END + 2

# Queries per page, 1..6: most pages rank for one to three.
QUERIES_PER_PAGE_WEIGHTS = (0.32, 0.30, 0.18, 0.10, 0.06, 0.04)
SHARED_QUERY_RATE = 0.08
MAX_PAGES_PER_QUERY = 3
# A cell's level: BEST_LEVEL + (WORST_LEVEL - BEST_LEVEL) * logistic(LEVEL_SLOPE * (query effect - quality)).
BEST_LEVEL, WORST_LEVEL, LEVEL_SLOPE = 1.0, 135.0, 1.4
QUERY_LEVEL_SD = 0.9
TREND_SD = 0.25  # positions per week, per page
PAGE_WEEK_SD, CELL_WEEK_SD, DAY_SD = 0.8, 0.6, 1.0
# Noise grows with depth: a page at 60 moves more from day to day than one at 3.
NOISE_BASE, NOISE_PER_POSITION = 0.4, 1 / 40
CONFOUNDING = 3.0  # confounded_null: sharing score = CONFOUNDING * quality + logistic noise
SELECTION_NOISE = 0.7
DIFFERENTIAL_TREND = -0.4  # violated_trends: treated pages, positions per week against the rest
MISSING_CELL_WEEKS = 0.2  # unbalanced
ANTICIPATION_WEEKS = 1  # anticipation: the effect starts this many weeks before the recorded link
REPEAT_SHARES = (0, 3)  # later posts of a treated page (they do not move its first link)
# Search Console: daily impressions ~ Poisson(volume / (1 + (position / IMPRESSION_SCALE) ** 2)).
IMPRESSION_SCALE = 6.0
DAILY_VOLUME_LOG_MEAN, DAILY_VOLUME_LOG_SD = 4.0, 1.0
IMPRESSION_POSITION_SD = 1.5
SEARCH_CONSOLE_PROPERTY = "sc-domain:{site}"
# Search Console finalises a day two to three days later; the generated fetch comes three days after.
SEARCH_CONSOLE_DELAY = dt.timedelta(days=3, hours=4)

QUERY_PATTERNS = (
    "{t}",
    "best {t}",
    "{t} review",
    "cheap {t}",
    "{t} for beginners",
    "how to choose {t}",
    "lightweight {t}",
    "{t} sale",
    "waterproof {t}",
    "{t} buying guide",
    "top rated {t}",
    "{t} comparison",
    "budget {t}",
    "ultralight {t}",
    "durable {t}",
    "{t} brands",
)
QUERY_QUALIFIERS = ("", " for women", " for men", " for kids", " under 100", " 2026", " uk", " near me")

Rng = np.random.Generator
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

RANKINGS_SCHEMA = pa.schema(
    [
        ("canonical_url", pa.string()),
        ("query", pa.string()),
        ("day", pa.date32()),
        ("position", pa.float64()),
        ("clicks", pa.int64()),
        ("impressions", pa.int64()),
    ]
)
UNTRACKED_SCHEMA = pa.schema([("query", pa.string()), ("week", pa.date32())])
FIRST_LINKS_SCHEMA = pa.schema(
    [("canonical_url", pa.string()), ("platform", pa.string()), ("first_day", pa.date32())]
)


@dataclass(frozen=True)
class RankWorldSpec:
    """What world to make. ``effect`` is ignored (0) for the kinds in :data:`NULL_KINDS`."""

    kind: str
    seed: int = 0
    pages: int = 160
    shared_fraction: float = 0.4
    weeks: int = 30
    effect: float = -5.0
    end_date: dt.date = dt.date(2026, 11, 1)
    owned_site: str = "example.com"
    platform: str = "x"

    @property
    def planted_effect(self) -> float:
        return 0.0 if self.kind in NULL_KINDS else self.effect

    @property
    def start_date(self) -> dt.date:
        return self.end_date - dt.timedelta(days=7 * self.weeks - 1)

    @property
    def is_tracker(self) -> bool:
        return self.kind not in SEARCH_CONSOLE_KINDS

    def check(self) -> None:
        """Raise ValueError naming the first parameter that cannot make a world."""
        if self.kind not in WORLD_KINDS:
            raise ValueError(f"kind must be one of {', '.join(WORLD_KINDS)}; got {self.kind!r}")
        if self.pages < 10:
            raise ValueError(f"pages must be at least 10, got {self.pages}")
        if not 0 < self.shared_fraction < 1:
            raise ValueError(f"shared_fraction must be within (0, 1), got {self.shared_fraction}")
        if self.weeks < MIN_WEEKS:
            raise ValueError(f"weeks must be at least {MIN_WEEKS} (links fall in weeks 6..weeks-10)")
        if self.end_date.weekday() != 6:
            raise ValueError(f"end_date must be a Sunday (the window is whole weeks), got {self.end_date}")
        if self.platform not in PLATFORMS:
            raise ValueError(f"platform must be one of {', '.join(PLATFORMS)}; got {self.platform!r}")


@dataclass(frozen=True)
class RankWorld:
    """A generated world: what the pipeline will see, the same world without the planted effect, and
    what :func:`write_landing` needs to write it (``site``: pages and queries; ``shares``: the posts).

    ``rankings`` has ``core.rankings_daily``'s columns (``clicks`` and ``impressions`` null for tracker
    data); ``twin_rankings`` is the same world generated from the same random numbers without the
    planted effect; ``first_links`` holds one row per treated page: its recorded first link on
    ``spec.platform``. ``untracked`` lists the query-weeks the tracker skipped (``week``: its Monday;
    rows only in ``unbalanced`` worlds): the landing has no row for them, not even an unranked one.
    """

    spec: RankWorldSpec
    rankings: pa.Table
    first_links: pa.Table
    twin_rankings: pa.Table
    untracked: pa.Table
    site: Site
    shares: tuple[Share, ...]

    def truth_by_week(self, anticipation: int = 0) -> dict[int, float]:
        """Event week -> the observed-scale effect of the planted effect, as the estimator sees it.

        Exactly this is computed. A unit is a (page, query) cell; a week runs Monday to Sunday;
        ``period`` counts weeks from Monday 1970-01-05; a treated page's cohort is the period of the
        week holding its recorded first-link day (``first_links``); event week e = period - cohort.
        A cell-week's outcome is the mean, over the week's days with a value, of the daily position.
        Tracker data (no impressions): a day on which the tracker tracked the cell's query (it wrote a
        row for the query, ranked or "not ranked": every day but the query-weeks in ``untracked``), on
        or after the cell's first day with a rank, without a rank for the cell has the value 101
        (censored: unranked); days before the cell's first rank, or when the query was not tracked,
        have none. Search Console data: a day without a row has no value. The outcome is computed this way
        separately on ``rankings`` and on ``twin_rankings`` (each with its own rows, first days and
        tracker days). Truth for event week e, with base week b = -1 - ``anticipation``: the mean over
        the cells of treated pages that have an outcome in week e and in week b (in ``rankings``) and
        an outcome in week e in the twin, of outcome(e) - twin outcome(e). Event weeks without such a
        cell are left out. Worlds without a planted effect have truth 0 in every week.
        """
        outcomes = weekly_outcomes(self.rankings, self.spec, self.untracked)
        twin = weekly_outcomes(self.twin_rankings, self.spec, self.untracked)
        cohort_of = dict(
            zip(
                self.first_links.column("canonical_url").to_pylist(),
                (_period(day) for day in self.first_links.column("first_day").to_pylist()),
                strict=True,
            )
        )
        urls = [url for url, _ in outcomes.cells]
        treated = np.array([url in cohort_of for url in urls])
        cohort = np.array([cohort_of.get(url, 0) for url in urls], dtype=np.int64)[treated]
        world_values = outcomes.values[treated]
        twin_values = twin.aligned_to(outcomes.cells)[treated]
        periods = outcomes.first_period + np.arange(world_values.shape[1])
        base_column = cohort - 1 - anticipation - outcomes.first_period
        in_window = (base_column >= 0) & (base_column < world_values.shape[1])
        base = np.full(len(cohort), np.nan)
        base[in_window] = world_values[np.flatnonzero(in_window), base_column[in_window]]
        usable = np.isfinite(world_values) & np.isfinite(twin_values) & np.isfinite(base)[:, None]
        event = (periods[None, :] - cohort[:, None])[usable]
        difference = (world_values - twin_values)[usable]
        if event.size == 0:
            return {}
        offset = int(event.min())
        sums = np.bincount(event - offset, weights=difference)
        counts = np.bincount(event - offset)
        return {int(e) + offset: float(sums[e] / counts[e]) for e in range(len(counts)) if counts[e] > 0}

    def truth(self, first_week: int, last_week: int, anticipation: int = 0) -> float:
        """The equal-weight mean of :meth:`truth_by_week` over event weeks ``first_week..last_week``."""
        by_week = self.truth_by_week(anticipation)
        missing = [e for e in range(first_week, last_week + 1) if e not in by_week]
        if missing or first_week > last_week:
            raise ValueError(f"no truth for event weeks {missing or [first_week, last_week]}")
        return float(np.mean([by_week[e] for e in range(first_week, last_week + 1)]))


@dataclass(frozen=True)
class WeeklyOutcomes:
    """Per (canonical_url, query) cell and window week (from ``first_period``), the cell-week outcome."""

    cells: list[tuple[str, str]]
    first_period: int
    values: FloatArray  # cells x periods, NaN where the cell-week has no outcome

    def aligned_to(self, cells: list[tuple[str, str]]) -> FloatArray:
        """Rows for ``cells`` (NaN for cells this table lacks), periods as in this table."""
        index = {cell: row for row, cell in enumerate(self.cells)}
        out = np.full((len(cells), self.values.shape[1]), np.nan)
        for row, cell in enumerate(cells):
            if cell in index:
                out[row] = self.values[index[cell]]
        return out


def _period(day: dt.date) -> int:
    return (day - PERIOD_ORIGIN).days // 7


def weekly_outcomes(rankings: pa.Table, spec: RankWorldSpec, untracked: pa.Table) -> WeeklyOutcomes:
    """Per cell and window week, the outcome :meth:`RankWorld.truth_by_week` defines (with its censoring
    rule for tracker data), from a table in ``core.rankings_daily``'s columns and the query-weeks the
    tracker skipped (``UNTRACKED_SCHEMA``)."""
    first_period = _period(spec.start_date)
    days = 7 * spec.weeks
    keys = pc.binary_join_element_wise(rankings["canonical_url"], rankings["query"], "\n")
    cell_keys, cell_index = np.unique(
        np.asarray(keys.to_numpy(zero_copy_only=False), dtype=object), return_inverse=True
    )
    day_index = rankings["day"].cast(pa.int32()).to_numpy() - (spec.start_date - dt.date(1970, 1, 1)).days
    daily = np.full((len(cell_keys), days), np.nan)
    daily[cell_index, day_index] = rankings["position"].to_numpy()
    ranked = np.isfinite(daily)
    # Tracker data is told by the data, as the estimator tells it: no impressions anywhere.
    if rankings["impressions"].null_count == rankings.num_rows:
        skipped = {
            (query, (week - spec.start_date).days // 7)
            for query, week in zip(untracked["query"].to_pylist(), untracked["week"].to_pylist(), strict=True)
        }
        queries = [str(key).split("\n", 1)[1] for key in cell_keys]
        tracked = np.ones((len(cell_keys), spec.weeks), dtype=bool)
        for row, query in enumerate(queries):
            for week in range(spec.weeks):
                tracked[row, week] = (query, week) not in skipped
        first_day = np.where(ranked.any(axis=1), ranked.argmax(axis=1), days)
        censored = ~ranked & np.repeat(tracked, 7, axis=1) & (np.arange(days)[None, :] >= first_day[:, None])
        daily[censored] = UNRANKED
    weekly = daily.reshape(len(cell_keys), spec.weeks, 7)
    observed = np.isfinite(weekly)
    counts = observed.sum(axis=2)
    sums = np.where(observed, weekly, 0.0).sum(axis=2)
    values = np.full(counts.shape, np.nan)
    np.divide(sums, counts, out=values, where=counts > 0)
    cells = [tuple(str(key).split("\n", 1)) for key in cell_keys]
    return WeeklyOutcomes([(url, query) for url, query in cells], first_period, values)


# --- generation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cells:
    page: IntArray  # per cell, its page
    query: IntArray  # per cell, its query
    queries: tuple[str, ...]


def generate(spec: RankWorldSpec) -> RankWorld:
    """Build the world ``spec`` describes, in memory (vectorised; well under a second at the defaults)."""
    spec.check()
    site_rng, cell_rng, share_rng, noise_rng, observe_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(spec.seed).spawn(5)
    )
    days = 7 * spec.weeks
    domain = spec.owned_site.lower().removeprefix("www.")
    quality = site_rng.normal(size=spec.pages)
    pages = _pages(site_rng, spec.pages, quality, spec.end_date.year)
    cells = _cells(cell_rng, pages)
    treated, link_week, link_day = _treatment(share_rng, spec, quality)
    # The planted effect is per page and day; each cell takes its page's row.
    week_of_day = np.arange(days) // 7
    effect_start = link_week - (ANTICIPATION_WEEKS if spec.kind == "anticipation" else 0)
    planted = np.where(
        treated[:, None] & (week_of_day[None, :] >= effect_start[:, None]), spec.planted_effect, 0.0
    )
    untreated = _latent_positions(noise_rng, spec, quality, cells, treated)
    latent = untreated + planted[cells.page]
    volumes = np.exp(observe_rng.normal(DAILY_VOLUME_LOG_MEAN, DAILY_VOLUME_LOG_SD, size=len(cells.queries)))
    # The same uniform and normal draws observe both versions of the world (common random numbers).
    draws = (
        observe_rng.random(latent.shape),
        observe_rng.standard_normal(latent.shape),
        observe_rng.random(latent.shape),
    )
    skipped_weeks = (
        observe_rng.random((len(cells.queries), spec.weeks)) < MISSING_CELL_WEEKS
        if spec.kind == "unbalanced"
        else np.zeros((len(cells.queries), spec.weeks), dtype=bool)
    )
    skipped = np.repeat(skipped_weeks[cells.query], 7, axis=1)
    site = Site(
        domain,
        pages,
        tuple(
            (query, _volume_bucket(30 * volume))
            for query, volume in zip(cells.queries, volumes.tolist(), strict=True)
        ),
        tuple(tuple(int(p) for p in cells.page[cells.query == q]) for q in range(len(cells.queries))),
    )
    canonical = [canonicalize(site.url(page)) for page in range(len(pages))]
    observe = _observe_search_console if spec.kind in SEARCH_CONSOLE_KINDS else _observe_tracker
    rankings = _table(
        canonical, cells, spec.start_date, *observe(latent, volumes[cells.query], draws, skipped)
    )
    twin = _table(
        canonical, cells, spec.start_date, *observe(untreated, volumes[cells.query], draws, skipped)
    )
    shares = _shares(share_rng, spec, treated, link_day)
    first_links = pa.Table.from_pylist(
        sorted(
            (
                {
                    "canonical_url": canonical[share.page],
                    "platform": spec.platform,
                    "first_day": spec.start_date + dt.timedelta(days=share.day),
                }
                for share in shares
                if not share.repeat
            ),
            key=lambda row: (row["first_day"], row["canonical_url"]),
        ),
        schema=FIRST_LINKS_SCHEMA,
    )
    skipped_query, skipped_week = np.nonzero(skipped_weeks)
    untracked = pa.table(
        {
            "query": pa.array(cells.queries).take(pa.array(skipped_query)),
            "week": pa.array(
                [spec.start_date + dt.timedelta(weeks=int(week)) for week in skipped_week], pa.date32()
            ),
        },
        schema=UNTRACKED_SCHEMA,
    )
    return RankWorld(spec, rankings, first_links, twin, untracked, site, tuple(shares))


def _volume_bucket(monthly: float) -> int:
    """The tracker's monthly search volume: the nearest Google Ads bucket."""
    return min(VOLUME_BUCKETS, key=lambda bucket: abs(bucket - monthly))


def _pages(rng: Rng, count: int, quality: FloatArray, year: int) -> tuple[Page, ...]:
    """Paths and titles from topics x formats; beyond those, numbered parts of the same pieces."""
    formats = [(topic, form) for topic in TOPICS for form in PAGE_FORMATS]
    order = rng.permutation(len(formats))
    tagged = rng.random(count) < 0.1
    pages = []
    for i in range(count):
        topic, (section, slug, title) = formats[int(order[i % len(formats)])]
        part = i // len(formats)
        suffix = f"-part-{part + 1}" if part else ""
        pages.append(
            Page(
                f"/{section}/{slug.format(s=topic.replace(' ', '-'))}{suffix}/",
                title.format(t=topic.title(), year=year) + (f" (Part {part + 1})" if part else ""),
                topic,
                float(quality[i]),
                TRACKER_TAG if tagged[i] else "",
            )
        )
    return tuple(pages)


def _cells(rng: Rng, pages: tuple[Page, ...]) -> _Cells:
    """Each page's queries: mostly its own, sometimes one it shares with up to two other pages."""
    phrases = {
        topic: [
            (pattern + qualifier).format(t=topic)
            for pattern in QUERY_PATTERNS
            for qualifier in QUERY_QUALIFIERS
        ]
        for topic in TOPICS
    }
    for options in phrases.values():
        rng.shuffle(options)
    used = dict.fromkeys(TOPICS, 0)
    queries: list[str] = []
    topic_queries: dict[str, list[int]] = {topic: [] for topic in TOPICS}
    pages_of: list[list[int]] = []
    cell_page: list[int] = []
    cell_query: list[int] = []
    counts = rng.choice(len(QUERIES_PER_PAGE_WEIGHTS), size=len(pages), p=QUERIES_PER_PAGE_WEIGHTS) + 1
    for page, (info, count) in enumerate(zip(pages, counts.tolist(), strict=True)):
        for _ in range(count):
            shareable = [
                q
                for q in topic_queries[info.topic]
                if page not in pages_of[q] and len(pages_of[q]) < MAX_PAGES_PER_QUERY
            ]
            if shareable and rng.random() < SHARED_QUERY_RATE:
                query = shareable[int(rng.integers(len(shareable)))]
            else:
                options = phrases[info.topic]
                number, round_ = used[info.topic] % len(options), used[info.topic] // len(options)
                used[info.topic] += 1
                queries.append(options[number] + (f" {round_ + 1}" if round_ else ""))
                pages_of.append([])
                query = len(queries) - 1
                topic_queries[info.topic].append(query)
            pages_of[query].append(page)
            cell_page.append(page)
            cell_query.append(query)
    return _Cells(np.array(cell_page), np.array(cell_query), tuple(queries))


def _treatment(rng: Rng, spec: RankWorldSpec, quality: FloatArray) -> tuple[BoolArray, IntArray, IntArray]:
    """Who is shared, the window week of the recorded first link, and its window day."""
    confounding = CONFOUNDING if spec.kind == "confounded_null" else 0.0
    score = confounding * quality + rng.logistic(scale=SELECTION_NOISE, size=spec.pages)
    chosen = np.argsort(-score, kind="stable")[: round(spec.shared_fraction * spec.pages)]
    treated = np.zeros(spec.pages, dtype=bool)
    treated[chosen] = True
    week = rng.integers(FIRST_LINK_WEEK, spec.weeks - LAST_LINK_WEEKS_BEFORE_END + 1, size=spec.pages)
    day = 7 * week + rng.integers(0, 7, size=spec.pages)
    return treated, np.where(treated, week, spec.weeks), day


def _latent_positions(
    rng: Rng, spec: RankWorldSpec, quality: FloatArray, cells: _Cells, treated: BoolArray
) -> FloatArray:
    """Per cell and day, the latent position without the planted effect."""
    days = 7 * spec.weeks
    query_effect = rng.normal(scale=QUERY_LEVEL_SD, size=len(cells.page))
    level = BEST_LEVEL + (WORST_LEVEL - BEST_LEVEL) / (
        1 + np.exp(-LEVEL_SLOPE * (query_effect - quality[cells.page]))
    )
    weeks_from_middle = np.arange(days) / 7 - spec.weeks / 2
    slope = rng.normal(scale=TREND_SD, size=spec.pages)
    if spec.kind == "violated_trends":
        slope = slope + np.where(treated, DIFFERENTIAL_TREND, 0.0)
    page_week = np.repeat(rng.normal(scale=PAGE_WEEK_SD, size=(spec.pages, spec.weeks)), 7, axis=1)
    cell_week = np.repeat(rng.normal(scale=CELL_WEEK_SD, size=(len(cells.page), spec.weeks)), 7, axis=1)
    daily = rng.normal(scale=DAY_SD, size=(len(cells.page), days))
    scale = NOISE_BASE + NOISE_PER_POSITION * level
    noise = scale[:, None] * (page_week[cells.page] + cell_week + daily)
    result: FloatArray = level[:, None] + slope[cells.page][:, None] * weeks_from_middle[None, :] + noise
    return result


Observation = tuple[BoolArray, FloatArray, IntArray | None, IntArray | None]


def _observe_tracker(
    latent: FloatArray,
    volumes: FloatArray,
    draws: tuple[FloatArray, FloatArray, FloatArray],
    skipped: BoolArray,
) -> Observation:
    """Whole-number positions of at least 1; a row where ranked in the top 100 and tracked."""
    position = np.maximum(1.0, np.round(latent))
    return (position <= MAX_POSITION) & ~skipped, position, None, None


def _observe_search_console(
    latent: FloatArray,
    volumes: FloatArray,
    draws: tuple[FloatArray, FloatArray, FloatArray],
    skipped: BoolArray,
) -> Observation:
    """A row on days with impressions; position the mean over impressions of whole-number positions."""
    impression_draw, position_draw, click_draw = draws
    at = np.maximum(1.0, latent)
    expected = volumes[:, None] / (1 + (at / IMPRESSION_SCALE) ** 2)
    impressions = stats.poisson.ppf(impression_draw, expected).astype(np.int64)
    shown = np.maximum(impressions, 1)
    # The sum of the impressions' whole-number positions, each at least 1.
    total = np.round(shown * at + position_draw * np.sqrt(shown) * IMPRESSION_POSITION_SD)
    position = np.maximum(total, shown) / shown
    clicks = stats.binom.ppf(click_draw, impressions, _click_through_rate(position)).astype(np.int64)
    return (impressions > 0) & (position <= MAX_POSITION) & ~skipped, position, clicks, impressions


def _click_through_rate(position: FloatArray) -> FloatArray:
    """Organic click-through rate by position: about 30% at 1, 3% at 10, under 1% beyond 20."""
    rate: FloatArray = 0.3 / position**1.05
    return rate


def _table(
    canonical: list[str],
    cells: _Cells,
    start: dt.date,
    kept: BoolArray,
    position: FloatArray,
    clicks: IntArray | None,
    impressions: IntArray | None,
) -> pa.Table:
    """The rows kept, ordered by page, query and day, in ``core.rankings_daily``'s columns."""
    cell_index, day_index = np.nonzero(kept)
    page = cells.page[cell_index]
    urls = pa.array(canonical).take(pa.array(page))
    queries = pa.array(cells.queries).take(pa.array(cells.query[cell_index]))
    first = (start - dt.date(1970, 1, 1)).days
    table = pa.table(
        {
            "canonical_url": urls,
            "query": queries,
            "day": pa.array((day_index + first).astype(np.int32), type=pa.int32()).cast(pa.date32()),
            "position": pa.array(position[cell_index, day_index], type=pa.float64()),
            "clicks": pa.nulls(len(cell_index), pa.int64())
            if clicks is None
            else pa.array(clicks[cell_index, day_index]),
            "impressions": pa.nulls(len(cell_index), pa.int64())
            if impressions is None
            else pa.array(impressions[cell_index, day_index]),
        },
        schema=RANKINGS_SCHEMA,
    )
    return table.sort_by([("canonical_url", "ascending"), ("query", "ascending"), ("day", "ascending")])


def _shares(rng: Rng, spec: RankWorldSpec, treated: BoolArray, link_day: IntArray) -> list[Share]:
    """Each treated page's first post on the platform on its recorded day, and a few later ones."""
    days = 7 * spec.weeks
    shares = []
    for page in np.flatnonzero(treated).tolist():
        day = int(link_day[page])
        shares.append(Share(spec.platform, page, day, posted_at(rng, spec.start_date, day), False))
        for _ in range(int(rng.integers(*REPEAT_SHARES))):
            day += int(rng.integers(5, 30))
            if day < days:
                shares.append(Share(spec.platform, page, day, posted_at(rng, spec.start_date, day), True))
    return shares


# --- landing ---------------------------------------------------------------------------------------


def write_landing(world: RankWorld, landing: Path) -> list[str]:
    """Write ``world`` under ``landing`` in the formats the pipeline ingests; the files, relative to it.

    Rankings: tracker kinds as the generic rank-tracker CSV (``rankings/rank_tracker/positions.csv``:
    every tracked page and query every day, an empty position when outside the top 100, a tracking
    parameter on some pages' URLs); ``search_console`` as the Search Console API responses
    the pipeline's own client lands, one delivery folder per day
    (``rankings/search_console_api/<property>_<day>_final_<fetched>/``). The first links: the platform's
    export (X archive, LinkedIn ``Shares.csv`` or Reddit ``posts.csv``), written by the demo's writers,
    with each treated page's first post on its recorded first-link day.
    """
    spec = world.spec
    start, days = spec.start_date, 7 * spec.weeks
    # Its own stream: writing the landing never changes the world, and the same world gives the same bytes.
    social_rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 1]))
    generated = dt.datetime.combine(spec.end_date, GENERATED_AT, tzinfo=dt.UTC)
    contents: dict[str, bytes] = {}
    if spec.platform == "x":
        contents[X_PATH_TEMPLATE.format(end_date=spec.end_date.isoformat())] = x_archive(
            social_rng, world.site, world.shares, start, days, generated
        )
    elif spec.platform == "linkedin":
        contents[LINKEDIN_PATH] = linkedin_shares(social_rng, world.site, world.shares, start, days)
    else:
        contents[REDDIT_PATH] = reddit_posts(social_rng, world.site, world.shares, start, days)
    files = list(contents)
    if spec.is_tracker:
        contents[RANK_TRACKER_PATH] = _tracker_csv(world)
        files.append(RANK_TRACKER_PATH)
    landed = dt.datetime.combine(spec.end_date, LANDED_AT, tzinfo=dt.UTC).timestamp()
    for relative, data in contents.items():
        path = landing / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (landed, landed))
    if not spec.is_tracker:
        files += _land_search_console(world, landing)
    return files


def _tracker_csv(world: RankWorld) -> bytes:
    """Every tracked page and query on every window day, ranked first; unranked ones with an empty
    position (as trackers write them), skipped query-weeks without any row."""
    spec, site = world.spec, world.site
    url_of = [canonicalize(site.url(page)) for page in range(len(site.pages))]
    ranked = dict(
        zip(
            zip(
                world.rankings["canonical_url"].to_pylist(),
                world.rankings["query"].to_pylist(),
                world.rankings["day"].to_pylist(),
                strict=True,
            ),
            world.rankings["position"].to_pylist(),
            strict=True,
        )
    )
    untracked = set(zip(*(world.untracked[name].to_pylist() for name in ("query", "week")), strict=True))
    rows: list[tuple[str, ...]] = [RANK_COLUMNS]
    for offset in range(7 * spec.weeks):
        day = spec.start_date + dt.timedelta(days=offset)
        monday = day - dt.timedelta(days=day.weekday())
        for (query, volume), pages in zip(site.keywords, site.keyword_pages, strict=True):
            tracked = [
                (ranked.get((url_of[page], query, day), UNRANKED), page)
                for page in pages
                if (query, monday) not in untracked
            ]
            for position, page in sorted(tracked):
                url = site.url(page) + site.pages[page].tracker_suffix
                shown = "" if position == UNRANKED else str(int(position))
                rows.append((day.isoformat(), query, url, shown, "google", "desktop", "US", str(volume)))
    return csv_text(rows, lineterminator="\n").encode()


def _land_search_console(world: RankWorld, landing: Path) -> list[str]:
    """One ``searchAnalytics.query`` response per day, landed as the pipeline's client lands it."""
    page_of = {canonicalize(world.site.url(page)): page for page in range(len(world.site.pages))}
    settings = SearchConsoleSettings()
    prop = SEARCH_CONSOLE_PROPERTY.format(site=world.site.domain)
    by_day = world.rankings.sort_by([("day", "ascending"), ("impressions", "descending")])
    rows_of: dict[dt.date, list[dict[str, object]]] = {}
    for url, query, day, position, clicks, impressions in zip(
        *(
            by_day[name].to_pylist()
            for name in ("canonical_url", "query", "day", "position", "clicks", "impressions")
        ),
        strict=True,
    ):
        rows_of.setdefault(day, []).append(
            {
                "keys": [day.isoformat(), world.site.url(page_of[url], "https://"), query],
                "clicks": clicks,
                "impressions": impressions,
                "ctr": clicks / impressions,
                "position": position,
            }
        )
    written = []
    for day, rows in sorted(rows_of.items()):
        response = {"rows": rows, "responseAggregationType": "byPage"}
        raw = json.dumps(response, indent=2).encode()
        fetched_at = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + SEARCH_CONSOLE_DELAY
        path = land(
            landing, FetchedDay(prop, day, settings.data_state, [raw], len(rows)), settings, fetched_at
        )
        written += [p.relative_to(landing).as_posix() for p in sorted(path.iterdir())]
    return written
