"""Large synthetic worlds for benchmarks: millions of rows in the landing formats, written fast.

:func:`write_large_world` writes, at ``scale`` 1.0, 5,000,000 social posts (X 60%, LinkedIn 20%,
Reddit 20%), 20,000,000 Ahrefs backlinks and 30,000,000 rank-tracker rows over four years
(2022-01-01 .. 2025-12-31), arranged the way a team lands them:

- ``social/x/twitter-<day>-<handle>/``: one unzipped X archive per brand account, tweets split into
  parts of 100,000 (``data/tweets.js``, ``data/tweets-part1.js``, ... as X names them), listed in
  ``data/manifest.js``; ``social/linkedin/<account>_Basic_LinkedInDataExport_<MM-DD-YYYY>/Shares.csv``;
  ``social/reddit/export_<user>_<YYYYMMDD>/posts.csv``;
- ``backlinks/ahrefs/<site>-new-backlinks-<YYYY>-Q<n>.csv``: per owned site and quarter, the links first
  seen that quarter (Ahrefs' UTF-8 comma export, quoted, with a BOM), last seen and lost as of the
  quarter's end;
- ``rankings/rank_tracker/positions-<YYYY-MM>.csv``: the month's daily positions.

143 deliveries at every scale; about 16.7 GB at scale 1.0.

:func:`write_next_day` writes one night's deliveries after the history: that day's rankings
(``positions-<day>.csv``), the backlinks first seen that day, and that day's posts as small zips per
account. Every delivery name is unique, so nothing is ever replaced or ingested twice.

The world: five owned sites (:data:`OWNED_SITES`, the settings' ``owned_sites``; days in :data:`TIMEZONE`),
20,000 pages (x scale) with a latent quality, published over time; 1-3 tracked queries per page, tracked
from (about) publication, taken until ``pages x queries x days`` gives the ranking rows (so a tiny world
tracks few pairs); referring domains with a heavy-tailed popularity link to better pages more often. A share
of pages gets a first link per platform (better pages likelier: confounding, as in
:mod:`socialrank_demo.sample`), repeat shares follow; from 14 days after a page's first X link its position
improves by 3 over 14 days (:data:`EFFECTS`). Positions are clipped to 1..100 and not made distinct per
query and day.

Determinism and speed: every file comes from its own random stream (``SeedSequence(seed, spawn_key)``), so
the same seed and scale give byte-identical files whatever the number of workers. Rows are made column-wise
with numpy and pyarrow (string columns by table lookups and element-wise joins; no Python loop per row);
files are written by worker processes, one task per archive, quarter or month, each bounded in memory (the
big files' text is made in chunks). Worker processes come from a fork server, so a script that calls
:func:`write_large_world` needs the usual ``if __name__ == "__main__"`` guard. Files are written under a
hidden temporary name and renamed into place, so a sweep never sees half a delivery; their modification
times (the ingest's landing date) are pinned to the export's day. :func:`load_large_world` reads back the
world recorded in ``landing/.large-world.json`` (a hidden file the ingest never reads).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import re
import resource
import shutil
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from functools import cache, lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipeline.progress import progress_bar
from socialrank_demo import sample
from socialrank_demo.sample import (
    AHREFS_COLUMNS,
    ANCHOR_GENERIC,
    BUFFER_APP,
    DOMAIN_PLATFORMS,
    GENERATED_AT,
    LANDED_AT,
    LINKEDIN_COLUMNS,
    LINKEDIN_TAG,
    MONTHS,
    PLATFORMS,
    RANK_COLUMNS,
    REDDIT_COLUMNS,
    TRACKER_TAG,
    TWITTER_EPOCH_MS,
    VOLUME_BUCKETS,
    WEB_APP,
    WEEKDAYS,
    X_TAG,
    PlantedEffect,
)

log = logging.getLogger(__name__)

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Rng = np.random.Generator

FIRST_DAY = dt.date(2022, 1, 1)
HISTORY_DAYS = 1461  # 2022-01-01 .. 2025-12-31
TIMEZONE = "America/Los_Angeles"
EFFECTS = (PlantedEffect("x", -3.0, lag_days=14, ramp_days=14),)
WORLD_RECORD = ".large-world.json"
COUNT_KINDS = (
    "posts",
    "posts_x",
    "posts_linkedin",
    "posts_reddit",
    "owned_link_posts",
    "backlinks",
    "rankings",
)

# Sizes at scale 1.0.
BASE_POSTS = 5_000_000
BASE_BACKLINKS = 20_000_000
BASE_RANKINGS = 30_000_000
BASE_PAGES = 20_000
BASE_DOMAINS = 250_000
MIN_PAGES = 50
MIN_DOMAINS = 100
MIN_SCALE = 0.0001
PLATFORM_SHARE = (0.6, 0.2, 0.2)
# Share of each platform's posts that link an owned page, and of pages ever shared there.
OWNED_LINK_SHARE = (0.35, 0.4, 0.3)
SHARED_PAGES = (0.45, 0.3, 0.2)
CONFOUNDING = 1.0
PRE_WINDOW_PAGES = 0.4
TWEETS_PER_PART = 100_000
BEST_POSITION, WORST_BASELINE, MAX_POSITION = 3.0, 98.0, 100
NOISE_SD = 1.5
BACKLINK_LOST_MEAN_DAYS = 900
# Posts go out between 14:00 and 23:00 UTC: a post's day is the same in UTC and in US time zones.
POST_SECONDS = (14 * 3600, 23 * 3600)
UNIX_EPOCH = dt.date(1970, 1, 1)
REDDIT_EPOCH_MS = 1_104_537_600_000  # 2005-01-01
NEVER = np.iinfo(np.int64).max // 4
ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
BASE36 = b"0123456789abcdefghijklmnopqrstuvwxyz"

# Stream ids: each file's random numbers come from SeedSequence(seed, spawn_key=(stream, index)).
S_PAGES, S_QUERIES, S_PAIRS, S_SHARES, S_DOMAINS, S_ACCOUNTS = range(6)
S_POSTS, S_BACKLINKS, S_RANKINGS = 10, 11, 12
S_NEXT_POSTS, S_NEXT_BACKLINKS, S_NEXT_RANKINGS = 20, 21, 22


@dataclass(frozen=True)
class _SiteSpec:
    domain: str
    brand: str
    x_handle: str
    linkedin: str
    reddit_user: str
    weight: float
    topics: tuple[str, ...]
    subreddits: tuple[str, ...]


SITES = (
    _SiteSpec(
        "cafe-demo.example",
        "Cafe Demo",
        "cafedemohq",
        "cafe-demo",
        "cafe_demo_team",
        0.30,
        (
            "espresso machines",
            "burr grinders",
            "pour over kettles",
            "french presses",
            "cold brew makers",
            "coffee scales",
            "milk frothers",
            "moka pots",
            "espresso beans",
            "decaf coffee",
            "drip coffee makers",
            "travel mugs",
        ),
        ("Coffee", "espresso", "pourover", "barista"),
    ),
    _SiteSpec(
        "trail-demo.example",
        "Trail Demo",
        "traildemohq",
        "trail-demo",
        "trail_demo_team",
        0.25,
        (
            "hiking boots",
            "trail running shoes",
            "backpacking tents",
            "sleeping bags",
            "daypacks",
            "rain jackets",
            "water filters",
            "camp stoves",
            "trekking poles",
            "headlamps",
            "sleeping pads",
            "down jackets",
        ),
        ("hiking", "Ultralight", "CampingGear", "backpacking"),
    ),
    _SiteSpec(
        "garden-demo.example",
        "Garden Demo",
        "gardendemohq",
        "garden-demo",
        "garden_demo_team",
        0.20,
        (
            "raised garden beds",
            "pruning shears",
            "compost bins",
            "garden hoses",
            "seed starting kits",
            "grow lights",
            "lawn mowers",
            "leaf blowers",
            "garden gloves",
            "rain barrels",
            "potting soil",
            "tomato cages",
        ),
        ("gardening", "vegetablegardening", "landscaping", "houseplants"),
    ),
    _SiteSpec(
        "kitchen-demo.example",
        "Kitchen Demo",
        "kitchendemohq",
        "kitchen-demo",
        "kitchen_demo_team",
        0.15,
        (
            "chef knives",
            "cast iron skillets",
            "stand mixers",
            "air fryers",
            "dutch ovens",
            "cutting boards",
            "food processors",
            "rice cookers",
            "knife sharpeners",
            "baking sheets",
            "blenders",
            "pressure cookers",
        ),
        ("Cooking", "AskCulinary", "castiron", "BuyItForLife"),
    ),
    _SiteSpec(
        "cycle-demo.example",
        "Cycle Demo",
        "cycledemohq",
        "cycle-demo",
        "cycle_demo_team",
        0.10,
        (
            "road bikes",
            "bike helmets",
            "bike lights",
            "cycling shoes",
            "bike locks",
            "gravel bikes",
            "bike pumps",
            "cycling jerseys",
            "bike computers",
            "bike racks",
            "saddle bags",
            "e-bikes",
        ),
        ("cycling", "bicycling", "gravelcycling", "bikecommuting"),
    ),
)
OWNED_SITES = tuple(site.domain for site in SITES)
TOPICS_PER_SITE = len(SITES[0].topics)
# (section, slug pattern, title pattern): {s} is the topic slug, {t} the title-cased topic.
PAGE_FORMATS = (
    ("reviews", "best-{s}", "The Best {t} of {year}"),
    ("guides", "how-to-choose-{s}", "How to Choose {t}"),
    ("guides", "{s}-buying-guide", "{t} Buying Guide"),
    ("guides", "{s}-care-and-repair", "{t}: Care and Repair"),
    ("reviews", "budget-{s}", "Budget {t} That Don't Cut Corners"),
    ("guides", "{s}-for-beginners", "{t} for Beginners"),
    ("reviews", "{s}-tested", "We Tested {t} for a Year"),
    ("news", "{s}-deals", "{t} Deals Worth Your Money"),
)
QUERY_FORMS = (
    "best {t}",
    "{t} review",
    "cheap {t}",
    "how to choose {t}",
    "{t} for beginners",
    "lightweight {t}",
    "top rated {t}",
    "{t} guide",
    "{t} buying guide",
    "are {t} worth it",
    "budget {t}",
    "{t} vs",
    "{t} under 100",
    "best {t} {year}",
    "{t} comparison",
    "quiet {t}",
    "durable {t}",
    "{t} deals",
    "premium {t}",
    "{t} tips",
)
QUERY_QUALIFIERS = ("", " uk", " near me", " on sale", " for travel", " for home", " for pros", " reddit")
QUERIES_PER_TOPIC = len(QUERY_FORMS) * len(QUERY_QUALIFIERS)

X_FIRST_TEXTS = (
    "New guide: {title} {link}",
    "We tested a dozen so you don't have to &gt; {title} {link}",
    "{title}\n\nEverything we wish we had known when we started. {link}",
    "Fresh on the site: {title} &amp; a few lessons we learned the hard way {link}",
)
X_REPEAT_TEXTS = (
    "ICYMI: {title} {link}",
    "Still one of our most-read pieces &amp; worth a second look: {title} {link}",
    "Updated for this season: {title} {link}",
)
X_EXTERNAL_TEXTS = (
    ("Good background reading {link}", "https://en.wikipedia.org/wiki/Consumer_protection"),
    ("Check the recall list before you buy {link}", "https://www.cpsc.gov/Recalls"),
    ("Great long read on how products get tested {link}", "https://www.nist.gov/standards"),
    ("Repair beats replace, most of the time {link}", "https://en.wikipedia.org/wiki/Right_to_repair"),
)
X_RETWEET_HANDLES = (
    ("Gear Notes", "gearnotes_", "1184467211"),
    ("Daily Reviews", "dailyreviews", "2293847110"),
    ("Maker Lab", "makerlab", "3301928475"),
    ("Field Tester Jo", "fieldtesterjo", "4410293847"),
    ("Weekly Picks", "weeklypicks", "5521038475"),
)
X_RETWEET_TEXTS = (
    "The ten things we check first, explained {link}",
    "Why the cheapest option costs more &amp; what to buy instead {link}",
    "New study on what actually lasts {link}",
)
X_PLAIN_TEXTS = (
    "Testing day. The office smells like new gear again.",
    "Question for you: buy once and cry once, or upgrade as you go?",
    "Tip: read the warranty before the spec sheet &amp; you'll buy better.",
    "Three drafts, two rewrites, one very patient editor. New guide soon.",
    "Reminder: the best gear is the gear you actually use.",
    "Thanks for reading, all of you &lt;3",
)
X_QUOTE_TEXT = "This, every single time. {link}"
QUOTE_POOL = 400
X_OTHER_KINDS = (0.3, 0.2, 0.4, 0.1)  # external, retweet, plain, quote

LINKEDIN_HOOKS = (
    "We just published {title}.",
    "Our most requested guide is live: {title}.",
    "A year of hands-on testing went into this one: {title}.",
)
LINKEDIN_POINTS = (
    "𝗪𝗛𝗔𝗧? A hands-on guide, no sponsored picks.",
    "𝗪𝗛𝗬? Most buying mistakes come down to fit, not brand.",
    "𝗪𝗛𝗢? Anyone buying their first one.",
    "𝗛𝗢𝗪? We used every pick for at least a month.",
)
LINKEDIN_REPEAT = "In case you missed it: {title} {link}"
# (text, shared kind): "" nothing shared, "youtube" a video.
LINKEDIN_FILLER = (
    ("We're hiring an editor. Remote, curious, detail-obsessed. {link}", ""),
    ("Proud of the team: one million readers this year.", ""),
    ("Our talk on testing products honestly is online.", "youtube"),
    ("Five years of reviews taught us one thing: fit beats features.", ""),
)
YOUTUBE_POOL = 200

REDDIT_LINK_TITLES = (
    "{title}",
    "I wrote up everything I learned about {topic} after a year of testing",
    "[Guide] {title}",
)
REDDIT_SELF_TITLES = (
    ("What's your go-to for {topic}?", "Looking for recommendations before I buy. Budget is open."),
    ("Is it worth upgrading my {topic}?", "Mine are five years old and fine, but the new ones look better."),
    ("Long-term report: {topic} after a year", "Held up better than expected. Details in the comments."),
)

BACKLINK_WORDS = (
    "notes",
    "kit",
    "trip",
    "gear",
    "season",
    "list",
    "picks",
    "advice",
    "weekend",
    "route",
    "review",
    "roundup",
    "tips",
    "favorites",
    "budget",
    "setup",
    "upgrade",
    "basics",
    "journal",
    "lessons",
)
BACKLINK_SECTIONS = ("blog", "articles", "news", "forum", "reviews", "posts")
LEFT_CONTEXTS = ("We compared a few options, and", "If you only read one thing,", "According to", "")
RIGHT_CONTEXTS = ("is the one we keep sending friends to.", "explains it well.", "has the details.", "")
# The demo world's domain vocabulary and more words: a quarter of a million distinct referring domains.
DOMAIN_FIRST = (
    *sample.DOMAIN_FIRST,
    "copper",
    "silver",
    "urban",
    "little",
    "daily",
    "modern",
    "honest",
    "simple",
    "bright",
    "quiet",
)
DOMAIN_SECOND = (*sample.DOMAIN_SECOND, "kitchen", "garage", "studio", "club")
DOMAIN_SUFFIXES = (*sample.DOMAIN_SUFFIXES, ".io", ".blog")
DOMAIN_PLATFORM_SHARE = (0.45, 0.15, 0.15, 0.15, 0.10)
FORUM = DOMAIN_PLATFORMS.index("Forums")


# --- public API -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorldSize:
    """How much a world at ``scale`` holds: the row targets per kind and the structure behind them."""

    scale: float
    posts: dict[str, int]
    backlinks: int
    rankings: int
    pages: int
    referring_domains: int

    @classmethod
    def at(cls, scale: float) -> WorldSize:
        if not math.isfinite(scale) or scale < MIN_SCALE:
            raise ValueError(f"scale must be at least {MIN_SCALE}, got {scale}")
        total_posts = round(BASE_POSTS * scale)
        return cls(
            scale=scale,
            posts=dict(zip(PLATFORMS, _split(total_posts, PLATFORM_SHARE), strict=True)),
            backlinks=round(BASE_BACKLINKS * scale),
            rankings=round(BASE_RANKINGS * scale),
            pages=max(MIN_PAGES, round(BASE_PAGES * scale)),
            referring_domains=max(MIN_DOMAINS, round(BASE_DOMAINS * scale)),
        )


@dataclass(frozen=True)
class LargeWorld:
    """A written large world. ``owned_sites`` and ``timezone`` are what the settings must name;
    ``files`` are the deliveries written (relative to the landing folder); ``counts`` the records the
    parsers yield per kind (``posts``, ``posts_<platform>``, ``owned_link_posts``, ``backlinks``,
    ``rankings``) and ``bytes`` written."""

    seed: int
    scale: float
    owned_sites: tuple[str, ...]
    timezone: str
    first_day: dt.date
    last_day: dt.date
    effects: tuple[PlantedEffect, ...]
    pages: int
    queries: int
    tracked_pairs: int
    referring_domains: int
    counts: dict[str, int]
    files: tuple[str, ...]
    # How this run went: seconds, peak_rss_bytes of the largest process, peak_rss_sum_bytes of all the
    # processes together (an upper bound of the run's memory); not part of the world.
    run: dict[str, float] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The world, without :attr:`run`: what :func:`load_large_world` reads back."""
        return {
            "seed": self.seed,
            "scale": self.scale,
            "owned_sites": list(self.owned_sites),
            "timezone": self.timezone,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "effects": [vars(effect) for effect in self.effects],
            "pages": self.pages,
            "queries": self.queries,
            "tracked_pairs": self.tracked_pairs,
            "referring_domains": self.referring_domains,
            "counts": self.counts,
            "files": list(self.files),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LargeWorld:
        return cls(
            seed=int(data["seed"]),
            scale=float(data["scale"]),
            owned_sites=tuple(data["owned_sites"]),
            timezone=str(data["timezone"]),
            first_day=dt.date.fromisoformat(data["first_day"]),
            last_day=dt.date.fromisoformat(data["last_day"]),
            effects=tuple(PlantedEffect(**effect) for effect in data["effects"]),
            pages=int(data["pages"]),
            queries=int(data["queries"]),
            tracked_pairs=int(data["tracked_pairs"]),
            referring_domains=int(data["referring_domains"]),
            counts={str(k): int(v) for k, v in data["counts"].items()},
            files=tuple(data["files"]),
        )


def load_large_world(landing: Path) -> LargeWorld:
    """The world :func:`write_large_world` recorded in ``landing`` (a hidden file the ingest never reads)."""
    return LargeWorld.from_dict(json.loads((landing / WORLD_RECORD).read_text(encoding="utf-8")))


def write_large_world(
    landing: Path, scale: float = 1.0, seed: int = 7, *, workers: int | None = None
) -> LargeWorld:
    """Write the history of the world (``seed``, ``scale``) under ``landing``; same inputs, same bytes.

    ``workers`` processes write the files (default: one per CPU, up to 4; 1 writes in this process).
    The world is also recorded in ``landing/.large-world.json`` for :func:`load_large_world`.
    """
    started = time.perf_counter()
    plan = _plan(seed, scale)
    tasks = _history_tasks(plan)
    log.info(
        "large world (seed %d, scale %g): %s posts, %s backlinks, %s ranking rows; %d pages on %d sites, "
        "%d tracked query-page pairs, %d referring domains, %s..%s; %d files to write",
        seed,
        scale,
        f"{sum(plan.size.posts.values()):,}",
        f"{plan.size.backlinks:,}",
        f"{plan.rankings:,}",
        plan.size.pages,
        len(SITES),
        len(plan.pair_page),
        plan.size.referring_domains,
        FIRST_DAY,
        plan.last_day,
        len(tasks),
    )
    landing.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter(dict.fromkeys(COUNT_KINDS, 0))
    files: list[str] = []
    peaks = {os.getpid(): _peak_rss()}
    for result in _run_tasks(landing, seed, scale, tasks, workers):
        counts.update(result.counts)
        files.extend(result.files)
        peaks[result.pid] = max(peaks.get(result.pid, 0), result.peak_rss)
    peaks[os.getpid()] = _peak_rss()
    world = LargeWorld(
        seed=seed,
        scale=scale,
        owned_sites=OWNED_SITES,
        timezone=TIMEZONE,
        first_day=FIRST_DAY,
        last_day=plan.last_day,
        effects=EFFECTS,
        pages=plan.size.pages,
        queries=len(np.unique(plan.pair_query)),
        tracked_pairs=len(plan.pair_page),
        referring_domains=plan.size.referring_domains,
        counts=dict(sorted(counts.items())),
        files=tuple(sorted(files)),
        run={
            "seconds": round(time.perf_counter() - started, 2),
            "peak_rss_bytes": max(peaks.values()),
            "peak_rss_sum_bytes": sum(peaks.values()),
            "processes": len(peaks),
        },
    )
    (landing / WORLD_RECORD).write_text(json.dumps(world.as_dict(), indent=2) + "\n", encoding="utf-8")
    log.info(
        "large world written to %s in %.1fs (peak memory of a process %.0f MB): %s",
        landing,
        world.run["seconds"],
        world.run["peak_rss_bytes"] / 2**20,
        ", ".join(f"{kind} {count:,}" for kind, count in world.counts.items()),
    )
    return world


def write_next_day(landing: Path, world: LargeWorld, day: dt.date) -> dict[str, int]:
    """Write one night's deliveries for ``day`` (after the history): that day's rankings, the backlinks
    first seen that day and that day's posts. Returns the records written per kind, as in
    :attr:`LargeWorld.counts`, plus ``files``."""
    if day <= world.last_day:
        raise ValueError(f"{day} is inside the history (up to {world.last_day}); pick a later day")
    started = time.perf_counter()
    index = (day - FIRST_DAY).days
    counts: Counter[str] = Counter(dict.fromkeys(COUNT_KINDS, 0))
    files: list[str] = []
    for task in (_Task("next_rankings", index), _Task("next_backlinks", index), _Task("next_posts", index)):
        result = _run_task(landing, world.seed, world.scale, task)
        counts.update(result.counts)
        files.extend(result.files)
    counts["files"] = len(files)
    log.info(
        "next day %s written to %s in %.2fs: %s",
        day,
        landing,
        time.perf_counter() - started,
        ", ".join(f"{kind} {count:,}" for kind, count in sorted(counts.items())),
    )
    return dict(sorted(counts.items()))


# --- the plan: everything but the rows, cheap enough to rebuild in every worker ----------------------


@dataclass(frozen=True)
class _Plan:
    seed: int
    size: WorldSize
    last_day: dt.date
    # Pages (global index): site, topic (global: site * TOPICS_PER_SITE + topic), quality, publication day.
    page_site: IntArray
    page_topic: IntArray
    page_quality: FloatArray
    page_published: IntArray
    page_slope: FloatArray
    page_titles: list[str]
    page_paths: list[str]
    # First link per platform and page, as a window day index (NEVER: not shared).
    first_link: dict[str, IntArray]
    # Queries (global index) and tracked pairs: ranked from pair_start to the end of the history.
    queries: pa.Array
    query_volume: IntArray
    query_amplitude: FloatArray
    query_phase: FloatArray
    pair_page: IntArray
    pair_query: IntArray
    pair_start: IntArray
    pair_baseline: FloatArray
    rankings: int
    # Referring domains.
    domain_names: pa.Array
    domain_labels: pa.Array
    domain_rating: IntArray
    domain_traffic: IntArray
    domain_platform: IntArray
    domain_cumulative: FloatArray
    backlinks_per_quarter: IntArray
    # Posts per platform and account (one account per site).
    posts_per_account: dict[str, IntArray]
    account_ids: IntArray

    @property
    def days(self) -> int:
        return HISTORY_DAYS

    def site_pages(self, site: int) -> IntArray:
        return np.flatnonzero(self.page_site == site)

    def url(self, page: int, prefix: str = "https://www.", suffix: str = "") -> str:
        return f"{prefix}{SITES[int(self.page_site[page])].domain}{self.page_paths[page]}{suffix}"


def _rng(seed: int, *key: int) -> Rng:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


@lru_cache(maxsize=2)
def _plan(seed: int, scale: float) -> _Plan:
    size = WorldSize.at(scale)
    days = HISTORY_DAYS
    last_day = FIRST_DAY + dt.timedelta(days=days - 1)

    rng = _rng(seed, S_PAGES)
    pages_per_site = _split(size.pages, [site.weight for site in SITES])
    page_site = np.repeat(np.arange(len(SITES)), pages_per_site)
    n_pages = len(page_site)
    local_topic = rng.integers(TOPICS_PER_SITE, size=n_pages)
    page_topic = page_site * TOPICS_PER_SITE + local_topic
    page_format = rng.integers(len(PAGE_FORMATS), size=n_pages)
    page_quality = rng.normal(size=n_pages)
    pre_window = rng.random(n_pages) < PRE_WINDOW_PAGES
    page_published = np.where(
        pre_window, -rng.integers(1, 1500, size=n_pages), rng.integers(0, days, size=n_pages)
    )
    page_slope = rng.normal(scale=3.0, size=n_pages)
    page_effect = rng.normal(scale=0.5, size=n_pages)
    titles: list[str] = []
    paths: list[str] = []
    number_in_site = np.arange(n_pages) - np.repeat(
        np.cumsum(pages_per_site) - pages_per_site, pages_per_site
    )
    for page in range(n_pages):
        topic = SITES[page_site[page]].topics[local_topic[page]]
        section, slug, title = PAGE_FORMATS[page_format[page]]
        year = (FIRST_DAY + dt.timedelta(days=int(page_published[page]))).year
        titles.append(title.format(t=topic.title(), year=year))
        paths.append(f"/{section}/{slug.format(s=topic.replace(' ', '-'))}-{100 + number_in_site[page]}/")

    # First links: selection on quality plus noise (confounding), first days from publication on;
    # some fall after the history and arrive with the nightly deliveries.
    rng = _rng(seed, S_SHARES)
    first_link: dict[str, IntArray] = {}
    for platform, fraction in zip(PLATFORMS, SHARED_PAGES, strict=True):
        score = CONFOUNDING * page_quality + rng.logistic(scale=0.7, size=n_pages)
        shared = np.zeros(n_pages, dtype=bool)
        shared[np.argsort(-score, kind="stable")[: round(fraction * n_pages)]] = True
        first = np.maximum(page_published, 0) + rng.integers(20, 900, size=n_pages)
        first_link[platform] = np.where(shared, first, NEVER)

    rng = _rng(seed, S_QUERIES)
    n_topics = len(SITES) * TOPICS_PER_SITE
    query_texts = [
        form.format(t=topic, year=last_day.year) + qualifier
        for site in SITES
        for topic in site.topics
        for form in QUERY_FORMS
        for qualifier in QUERY_QUALIFIERS
    ]
    n_queries = n_topics * QUERIES_PER_TOPIC
    bucket = rng.integers(0, 14, size=n_queries) + np.where(
        np.arange(n_queries) % len(QUERY_QUALIFIERS) == 0, 6, 0
    )
    query_volume = np.asarray(VOLUME_BUCKETS)[np.minimum(bucket, len(VOLUME_BUCKETS) - 1)]
    query_effect = rng.normal(scale=0.7, size=n_queries)
    query_amplitude = rng.uniform(0.3, 1.0, size=n_queries)
    query_phase = rng.uniform(0, 7, size=n_queries)

    # Candidate pairs (1-3 queries of the page's topic), tracked from shortly after publication; taken in
    # random order until their days add up to the ranking rows wanted (the last one trimmed).
    rng = _rng(seed, S_PAIRS)
    per_page = rng.integers(1, 4, size=n_pages)
    cand_page = np.repeat(np.arange(n_pages), per_page)
    cand_query = page_topic[cand_page] * QUERIES_PER_TOPIC + rng.integers(
        QUERIES_PER_TOPIC, size=len(cand_page)
    )
    _, unique = np.unique(cand_page * n_queries + cand_query, return_index=True)
    cand_page, cand_query = cand_page[unique], cand_query[unique]
    published = page_published[cand_page]
    cand_start = np.where(published < 0, 0, published + rng.integers(0, 30, size=len(cand_page)))
    keep = cand_start < days
    order = rng.permutation(np.flatnonzero(keep))
    spans = days - cand_start[order]
    total = np.cumsum(spans)
    wanted = size.rankings
    taken = int(np.searchsorted(total, wanted, side="left"))
    if taken >= len(order):
        log.warning(
            "only %s ranking rows fit %d pages; writing those instead of %s",
            f"{total[-1]:,}",
            n_pages,
            wanted,
        )
        chosen, starts = order, cand_start[order]
    else:
        chosen = order[: taken + 1]
        starts = cand_start[chosen].copy()
        before = int(total[taken - 1]) if taken else 0
        starts[-1] = days - (wanted - before)
    by_query = np.lexsort((cand_page[chosen], cand_query[chosen]))
    pair_page, pair_query, pair_start = (
        cand_page[chosen][by_query],
        cand_query[chosen][by_query],
        starts[by_query],
    )
    latent = (
        -page_quality[pair_page]
        + page_effect[pair_page]
        + query_effect[pair_query]
        + rng.normal(scale=0.35, size=len(pair_page))
    )
    pair_baseline = BEST_POSITION + (WORST_BASELINE - BEST_POSITION) / (1 + np.exp(-(latent - 0.92)))

    rng = _rng(seed, S_DOMAINS)
    n_domains = size.referring_domains
    combos = len(DOMAIN_FIRST) * len(DOMAIN_SECOND) * len(DOMAIN_SUFFIXES)
    names: list[str] = []
    labels: list[str] = []
    for number in rng.permutation(n_domains).tolist():
        combo, repeat = number % combos, number // combos
        first, rest = divmod(combo, len(DOMAIN_SECOND) * len(DOMAIN_SUFFIXES))
        second, suffix = divmod(rest, len(DOMAIN_SUFFIXES))
        stem = DOMAIN_FIRST[first] + DOMAIN_SECOND[second] + (str(repeat) if repeat else "")
        names.append(stem + DOMAIN_SUFFIXES[suffix])
        labels.append(f"{DOMAIN_FIRST[first].title()} {DOMAIN_SECOND[second].title()}")
    popularity = rng.lognormal(sigma=1.5, size=n_domains)
    # More new links as the sites grow.
    quarters = _quarters(days)
    quarter_weights = np.array([length for _, length in quarters], dtype=float) * (
        1 + np.arange(len(quarters)) / len(quarters)
    )

    rng = _rng(seed, S_ACCOUNTS)
    site_weights = [site.weight for site in SITES]
    return _Plan(
        seed=seed,
        size=size,
        last_day=last_day,
        page_site=page_site,
        page_topic=page_topic,
        page_quality=page_quality,
        page_published=page_published,
        page_slope=page_slope,
        page_titles=titles,
        page_paths=paths,
        first_link=first_link,
        queries=pa.array(query_texts),
        query_volume=query_volume,
        query_amplitude=query_amplitude,
        query_phase=query_phase,
        pair_page=pair_page,
        pair_query=pair_query,
        pair_start=pair_start,
        pair_baseline=pair_baseline,
        rankings=int(np.sum(days - pair_start)),
        domain_names=pa.array(names),
        domain_labels=pa.array(labels),
        domain_rating=np.minimum(90, rng.gamma(2.0, 12.0, size=n_domains).astype(np.int64)),
        domain_traffic=np.round(np.exp(rng.normal(7, 2, size=n_domains))).astype(np.int64),
        domain_platform=rng.choice(len(DOMAIN_PLATFORMS), size=n_domains, p=DOMAIN_PLATFORM_SHARE),
        domain_cumulative=np.cumsum(popularity) / popularity.sum(),
        backlinks_per_quarter=np.asarray(_split(size.backlinks, quarter_weights.tolist())),
        posts_per_account={
            platform: np.asarray(_split(count, site_weights)) for platform, count in size.posts.items()
        },
        account_ids=rng.integers(10**18, 2 * 10**18, size=len(SITES)),
    )


def _weighted_pick(rng: Rng, items: IntArray, weights: FloatArray, count: int) -> IntArray:
    """``count`` draws from ``items`` with probabilities proportional to ``weights``."""
    if not count:
        return np.zeros(0, dtype=np.int64)
    cumulative = np.cumsum(weights)
    drawn = np.searchsorted(cumulative / cumulative[-1], rng.random(count))
    return items[np.minimum(drawn, len(items) - 1)]


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` in whole parts proportional to ``weights`` (largest remainder): they add up exactly."""
    shares = np.asarray(weights, dtype=float) / float(np.sum(weights)) * total
    parts = np.floor(shares).astype(np.int64)
    remainder = total - int(parts.sum())
    parts[np.argsort(-(shares - parts), kind="stable")[:remainder]] += 1
    return [int(part) for part in parts]


def _months(days: int) -> list[tuple[int, int]]:
    """(first day index, length) of each calendar month of the history."""
    months = []
    start = 0
    while start < days:
        day = FIRST_DAY + dt.timedelta(days=start)
        following = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
        length = min((following - day).days, days - start)
        months.append((start, length))
        start += length
    return months


def _quarters(days: int) -> list[tuple[int, int]]:
    """(first day index, length) of each calendar quarter of the history (it starts on January 1)."""
    months = _months(days)
    return [
        (months[start][0], sum(length for _, length in months[start : start + 3]))
        for start in range(0, len(months), 3)
    ]


def _day(index: int) -> dt.date:
    return FIRST_DAY + dt.timedelta(days=index)


# --- tasks: one per file or archive, run in worker processes ------------------------------------------


@dataclass(frozen=True)
class _Task:
    kind: str
    index: int


@dataclass
class _TaskResult:
    task: _Task
    files: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    peak_rss: int = 0  # bytes, of the process that ran the task
    pid: int = 0


def _history_tasks(plan: _Plan) -> list[_Task]:
    # Largest first, so the last task to finish is a short one.
    return [
        *(_Task("x", site) for site in range(len(SITES))),
        *(_Task("backlinks", quarter) for quarter in range(len(_quarters(plan.days)))),
        *(_Task("rankings", month) for month in range(len(_months(plan.days)))),
        *(_Task(platform, site) for platform in ("linkedin", "reddit") for site in range(len(SITES))),
    ]


def _run_tasks(
    landing: Path, seed: int, scale: float, tasks: list[_Task], workers: int | None
) -> Iterator[_TaskResult]:
    count = workers if workers is not None else min(4, os.cpu_count() or 1)
    with progress_bar("generate", total=len(tasks)) as advance:
        if count <= 1:
            for task in tasks:
                result = _run_task(landing, seed, scale, task)
                _log_task(result)
                advance()
                yield result
            return
        # Workers fork from the fork server, never from this process, whose pyarrow thread pools a fork
        # would copy mid-use.
        with ProcessPoolExecutor(max_workers=count, mp_context=get_context("forkserver")) as pool:
            futures: list[Future[_TaskResult]] = [
                pool.submit(_run_task, landing, seed, scale, task) for task in tasks
            ]
            for future in futures:
                result = future.result()
                _log_task(result)
                advance()
                yield result


def _log_task(result: _TaskResult) -> None:
    log.info(
        "%s %d: %s in %.1fs (%s)",
        result.task.kind,
        result.task.index,
        ", ".join(f"{kind} {count:,}" for kind, count in sorted(result.counts.items())),
        result.seconds,
        result.files[0] if len(result.files) == 1 else f"{len(result.files)} files",
    )


def _run_task(landing: Path, seed: int, scale: float, task: _Task) -> _TaskResult:
    started = time.perf_counter()
    plan = _plan(seed, scale)
    result = _TaskResult(task)
    writers: dict[str, Callable[[Path, _Plan, int, _TaskResult], None]] = {
        "x": _write_x_history,
        "linkedin": _write_linkedin_history,
        "reddit": _write_reddit_history,
        "backlinks": _write_backlinks_quarter,
        "rankings": _write_rankings_month,
        "next_rankings": _write_rankings_day,
        "next_backlinks": _write_backlinks_day,
        "next_posts": _write_posts_day,
    }
    writers[task.kind](landing, plan, task.index, result)
    result.seconds = time.perf_counter() - started
    result.peak_rss, result.pid = _peak_rss(), os.getpid()
    return result


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


# --- writing files --------------------------------------------------------------------------------


def _landed(day: dt.date) -> float:
    return dt.datetime.combine(day, LANDED_AT, tzinfo=dt.UTC).timestamp()


@contextmanager
def _delivery(landing: Path, relative: str, day: dt.date, result: _TaskResult) -> Iterator[Path]:
    """A path to write the delivery ``relative`` to: a hidden sibling, renamed into place when done,
    every file's time pinned to ``day`` (the ingest dates backlink snapshots by it)."""
    target = landing / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.partial")
    _remove(temporary)
    yield temporary
    stamp = _landed(day)
    written = [path for path in temporary.rglob("*") if path.is_file()] if temporary.is_dir() else [temporary]
    for path in written:
        os.utime(path, (stamp, stamp))
    result.counts["bytes"] += sum(path.stat().st_size for path in written)
    _remove(target)
    temporary.rename(target)
    result.files.append(relative)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _write_csv(
    handle: Any,
    header: Sequence[str],
    columns: Sequence[pa.Array],
    *,
    quote_header: bool = False,
    quoting: str = "needed",
) -> None:
    """A header line as given, then the rows: with ``needed`` every string value is quoted (numbers stay
    bare), with ``none`` nothing is (the values must hold no comma, quote or line break)."""
    if header:
        names = [f'"{name}"' for name in header] if quote_header else list(header)
        handle.write((",".join(names) + "\n").encode())
    table = pa.Table.from_arrays(list(columns), names=[f"c{i}" for i in range(len(columns))])
    pacsv.write_csv(table, handle, pacsv.WriteOptions(include_header=False, quoting_style=quoting))


def _zip(path: Path, members: Mapping[str, bytes], day: dt.date) -> None:
    stamp = dt.datetime.combine(day, GENERATED_AT).timetuple()[:6]
    with zipfile.ZipFile(path, "w") as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name])


# --- vectorised strings ---------------------------------------------------------------------------


def _join(*pieces: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*pieces, "")


def _take(table: pa.Array | Sequence[str], indices: npt.NDArray[Any]) -> pa.Array:
    values = table if isinstance(table, pa.Array) else pa.array(list(table), pa.string())
    return pc.take(values, pa.array(indices))


def _category(values: Sequence[str], indices: npt.NDArray[Any]) -> pa.Array:
    """A column of a few distinct strings, as a dictionary array (written as its strings)."""
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), pa.array(list(values)))


def _constant(value: str, length: int) -> pa.Array:
    return _category([value], np.zeros(length, dtype=np.int32))


def _flag(mask: BoolArray) -> pa.Array:
    return _category(["false", "true"], mask.astype(np.int32))


def _numbers(values: npt.NDArray[Any]) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _fixed_width(codes: npt.NDArray[np.uint8]) -> pa.Array:
    """Rows of ASCII bytes (an n x width uint8 array) as a string array, without a copy per row."""
    rows, width = codes.shape
    offsets = np.arange(0, rows * width + 1, width, dtype=np.int32)
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(codes)))


def _random_codes(rng: Rng, rows: int, width: int, alphabet: bytes = ALNUM) -> pa.Array:
    letters = np.frombuffer(alphabet, dtype=np.uint8)
    return _fixed_width(letters[rng.integers(len(alphabet), size=(rows, width))])


def _base36(numbers: IntArray) -> pa.Array:
    width = 1
    while 36**width <= int(numbers.max(initial=0)):
        width += 1
    digits = np.empty((len(numbers), width), dtype=np.uint8)
    rest = numbers.copy()
    letters = np.frombuffer(BASE36, dtype=np.uint8)
    for column in range(width - 1, -1, -1):
        digits[:, column] = letters[rest % 36]
        rest //= 36
    return pc.utf8_ltrim(_fixed_width(digits), "0")


def _string_bytes(array: pa.Array) -> memoryview:
    """The UTF-8 bytes of a string array's values, back to back (a view of its data buffer)."""
    if len(array) == 0:
        return memoryview(b"")
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32, count=len(array) + 1, offset=array.offset * 4)
    return memoryview(array.buffers()[2])[int(offsets[0]) : int(offsets[-1])]


@cache
def _clock() -> pa.Array:
    return pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)])


TABLE_FIRST_DAY, TABLE_DAYS = (dt.date(2000, 1, 1) - UNIX_EPOCH).days, 100 * 366


@cache
def _day_table(day_format: Callable[[dt.date], tuple[str, str]]) -> tuple[pa.Array, pa.Array]:
    """Prefixes and suffixes of ``day_format`` for every day of 2000..2099 (by unix day - TABLE_FIRST_DAY)."""
    parts = [day_format(UNIX_EPOCH + dt.timedelta(days=TABLE_FIRST_DAY + i)) for i in range(TABLE_DAYS)]
    return pa.array([prefix for prefix, _ in parts]), pa.array([suffix for _, suffix in parts])


def _times(unix_seconds: IntArray, day_format: Callable[[dt.date], tuple[str, str]]) -> pa.Array:
    """Timestamps (2000..2099) as text: per day a prefix and a suffix around ``HH:MM:SS``, by table
    lookups (pyarrow's strftime manages about a million values a second; lookups many times that)."""
    prefixes, suffixes = _day_table(day_format)
    day = unix_seconds // 86400 - TABLE_FIRST_DAY
    return _join(_take(prefixes, day), _take(_clock(), unix_seconds % 86400), _take(suffixes, day))


def _x_day(day: dt.date) -> tuple[str, str]:
    # Built by hand: strftime's %a and %b follow the process locale.
    return f"{WEEKDAYS[day.weekday()]} {MONTHS[day.month - 1]} {day:%d} ", f" +0000 {day.year}"


def _iso_day(day: dt.date) -> tuple[str, str]:
    return f"{day.isoformat()}T", ".000Z"


def _plain_day(day: dt.date) -> tuple[str, str]:
    return f"{day.isoformat()} ", ""


def _reddit_day(day: dt.date) -> tuple[str, str]:
    return f"{day.isoformat()} ", " UTC"


_SLOT = re.compile(r"«(\w+)»")


def _render(template: str, values: Mapping[str, pa.Array | str]) -> pa.Array:
    """``template`` with each ``«name»`` replaced by ``values[name]``, row by row (vectorised)."""
    pieces: list[pa.Array | str] = []
    for number, piece in enumerate(_SLOT.split(template)):
        pieces.append(values[piece] if number % 2 else piece)
    return _join(*(piece for piece in pieces if not isinstance(piece, str) or piece))


def _fill(template: str, values: Mapping[str, str]) -> str:
    """One ``template`` with its ``«name»`` slots filled (the scalar form of :func:`_render`)."""
    return _SLOT.sub(lambda match: values[match.group(1)], template)


def _snowflakes(rng: Rng, millis: IntArray, account: int) -> IntArray:
    """X and LinkedIn ids: creation time in the high bits, then the account (unique per account and
    millisecond, so unique overall), then random bits."""
    return (millis << 22) | (account << 17) | rng.integers(1 << 17, size=len(millis))


def _json_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


@dataclass(frozen=True)
class _Templates:
    """Post texts as ``before {title} middle {link} after`` (each part optional), one row per template."""

    before: pa.Array
    middle: pa.Array
    after: pa.Array
    plain_length: IntArray  # characters outside the title and link
    link_offset: IntArray  # characters before the link, title excluded
    has_title: BoolArray
    has_link: BoolArray

    @classmethod
    def of(cls, texts: Sequence[str], escape: Callable[[str], str] = _json_text) -> _Templates:
        parts = []
        for text in texts:
            head, _, link_tail = text.partition("{link}") if "{link}" in text else (text, "", "")
            before, _, middle = head.partition("{title}") if "{title}" in head else ("", "", head)
            parts.append((before, middle, link_tail, "{title}" in text, "{link}" in text))
        return cls(
            before=pa.array([escape(p[0]) for p in parts]),
            middle=pa.array([escape(p[1]) for p in parts]),
            after=pa.array([escape(p[2]) for p in parts]),
            plain_length=np.array([len(p[0]) + len(p[1]) + len(p[2]) for p in parts], dtype=np.int64),
            link_offset=np.array([len(p[0]) + len(p[1]) for p in parts], dtype=np.int64),
            has_title=np.array([p[3] for p in parts]),
            has_link=np.array([p[4] for p in parts]),
        )

    def render(self, template: IntArray, title: pa.Array, link: pa.Array) -> pa.Array:
        """Texts; ``title`` and ``link`` are per row and only used where the template has them."""
        with_title = pc.if_else(pa.array(self.has_title[template]), title, "")
        with_link = pc.if_else(pa.array(self.has_link[template]), link, "")
        pieces = (_take(self.before, template), with_title, _take(self.middle, template), with_link)
        return _join(*pieces, _take(self.after, template))


# --- posts ------------------------------------------------------------------------------------------

OWNED_FIRST, OWNED_REPEAT, OTHER = 0, 1, 2


@dataclass(frozen=True)
class _Posts:
    """One account's posts on one platform: kind, linked page (-1: none) and time, newest first."""

    kind: IntArray
    page: IntArray
    unix_ms: IntArray

    def __len__(self) -> int:
        return len(self.kind)

    def part(self, start: int, stop: int) -> _Posts:
        return _Posts(self.kind[start:stop], self.page[start:stop], self.unix_ms[start:stop])


def _draw_posts(
    rng: Rng, plan: _Plan, platform: str, site: int, low: int, high: int, total: int | None
) -> _Posts:
    """The account's posts on days ``low..high-1``: each page's first link on its planned day, repeat
    shares of pages already shared, and other posts. ``total`` posts, or for ``None`` (a nightly
    delivery) the first links plus as many posts as an average history day holds."""
    share = OWNED_LINK_SHARE[PLATFORMS.index(platform)]
    pages = plan.site_pages(site)
    first = plan.first_link[platform][pages]
    firsts = pages[(first >= low) & (first < high)]
    if total is None:
        total = len(firsts) + int(rng.poisson(plan.posts_per_account[platform][site] / plan.days))
    if len(firsts) > total:
        raise ValueError(f"scale too small: {len(firsts)} first links but {total} {platform} posts")
    eligible = pages[first < high - 1]
    repeats = min(total - len(firsts), max(0, round(total * share) - len(firsts))) if len(eligible) else 0
    others = total - len(firsts) - repeats
    repeated = _weighted_pick(rng, eligible, np.exp(0.5 * plan.page_quality[eligible]), repeats)
    repeat_from = np.maximum(plan.first_link[platform][repeated] + 1, low)
    day = np.concatenate(
        [
            plan.first_link[platform][firsts],
            repeat_from + np.floor(rng.random(repeats) * (high - repeat_from)).astype(np.int64),
            rng.integers(low, high, size=others),
        ]
    )
    kind = np.repeat([OWNED_FIRST, OWNED_REPEAT, OTHER], [len(firsts), repeats, others])
    page = np.concatenate([firsts, repeated, np.full(others, -1)])
    seconds = rng.integers(*POST_SECONDS, size=total)
    unix_ms = (
        (np.int64((FIRST_DAY - UNIX_EPOCH).days) + day) * 86_400_000
        + seconds * 1000
        + rng.integers(1000, size=total)
    )
    # Unique times per account (ids are built from them): equal times move on by a millisecond.
    order = np.argsort(unix_ms, kind="stable")
    ordered = unix_ms[order]
    steps = np.arange(total)
    unix_ms[order] = np.maximum.accumulate(ordered - steps) + steps
    newest_first = np.argsort(-unix_ms, kind="stable")
    return _Posts(kind[newest_first], page[newest_first], unix_ms[newest_first])


def _write_x_history(landing: Path, plan: _Plan, site: int, result: _TaskResult) -> None:
    rng = _rng(plan.seed, S_POSTS, PLATFORMS.index("x"), site)
    posts = _draw_posts(rng, plan, "x", site, 0, plan.days, int(plan.posts_per_account["x"][site]))
    # Archives list posts newest first, but not strictly: order on a time jittered by days.
    jitter = rng.normal(scale=3 * 86_400_000, size=len(posts))
    order = np.argsort(-(posts.unix_ms + jitter), kind="stable")
    posts = _Posts(posts.kind[order], posts.page[order], posts.unix_ms[order])
    relative = f"social/x/twitter-{plan.last_day.isoformat()}-{SITES[site].x_handle}"
    with _delivery(landing, relative, plan.last_day, result) as folder:
        _write_x_archive(folder, rng, plan, site, posts, plan.last_day, result)


def _write_x_archive(
    folder: Path, rng: Rng, plan: _Plan, site: int, posts: _Posts, generated_on: dt.date, result: _TaskResult
) -> None:
    data = folder / "data"
    data.mkdir(parents=True)
    parts = []
    renderer = _XRenderer(plan, site)
    for number, start in enumerate(range(0, max(len(posts), 1), TWEETS_PER_PART)):
        name = "tweets.js" if number == 0 else f"tweets-part{number}.js"
        chunk = posts.part(start, start + TWEETS_PER_PART)
        items = renderer.items(rng, chunk)
        with (data / name).open("wb") as handle:
            handle.write(f"window.YTD.tweets.part{number} = [\n".encode())
            body = _string_bytes(items)
            handle.write(body[: len(body) - 2])  # every item ends ",\n"; the last one without the comma
            handle.write(b"\n]" if len(chunk) else b"]")
        parts.append((name, number, len(chunk)))
    _count_posts(result, "x", posts)
    handle_name = SITES[site].x_handle
    account_id = str(plan.account_ids[site])
    generated = dt.datetime.combine(generated_on, GENERATED_AT)
    account = [
        {
            "account": {
                "email": f"social@{SITES[site].domain}",
                "createdVia": "web",
                "username": handle_name,
                "accountId": account_id,
                "createdAt": "2019-04-02T16:20:11.000Z",
                "accountDisplayName": SITES[site].brand,
            }
        }
    ]
    (data / "account.js").write_text("window.YTD.account.part0 = " + _pretty(account), encoding="utf-8")
    (data / "README.txt").write_text(
        "This archive contains your X data. Open Your archive.html to browse it.\n", encoding="utf-8"
    )
    manifest = {
        "userInfo": {"accountId": account_id, "userName": handle_name, "displayName": SITES[site].brand},
        "archiveInfo": {
            "sizeBytes": str(sum(path.stat().st_size for path in data.iterdir())),
            "generationDate": f"{generated:%Y-%m-%dT%H:%M:%S}.187Z",
            "isPartialArchive": False,
            "maxPartSizeBytes": "53687091200",
        },
        "readmeInfo": {"fileName": "data/README.txt", "directory": "data/", "name": "README.txt"},
        "dataTypes": {
            "account": {
                "files": [{"fileName": "data/account.js", "globalName": "YTD.account.part0", "count": "1"}]
            },
            "tweets": {
                "mediaDirectory": "data/tweets_media",
                "files": [
                    {
                        "fileName": f"data/{name}",
                        "globalName": f"YTD.tweets.part{number}",
                        "count": str(count),
                    }
                    for name, number, count in parts
                ],
            },
        },
    }
    (data / "manifest.js").write_text("window.__THAR_CONFIG = " + _pretty(manifest), encoding="utf-8")


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, separators=(",", " : "))


def _count_posts(result: _TaskResult, platform: str, posts: _Posts) -> None:
    result.counts["posts"] += len(posts)
    result.counts[f"posts_{platform}"] += len(posts)
    result.counts["owned_link_posts"] += int(np.count_nonzero(posts.page >= 0))


X_ITEM = """  {
    "tweet" : {
      "edit_info" : {
        "initial" : {
          "editTweetIds" : [
            "«id»"
          ],
          "editableUntil" : "«editable»",
          "editsRemaining" : "5",
          "isEditEligible" : false
        }
      },
      "retweeted" : false,
      "source" : "«source»",
      "entities" : {
        "hashtags" : [],
        "symbols" : [],
        "user_mentions" : «mentions»,
        "urls" : «urls»
      },
      "display_text_range" : [
        "0",
        "«length»"
      ],
      "favorite_count" : "«likes»",
      "id_str" : "«id»",
      "truncated" : false,
      "retweet_count" : "«reposts»",
      "id" : "«id»",«sensitive»
      "created_at" : "«created»",
      "favorited" : false,
      "full_text" : "«text»",
      "lang" : "en"
    }
  },
"""
X_URLS = """[
          {
            "url" : "«short»",
            "expanded_url" : "«expanded»",
            "display_url" : "«display»",
            "indices" : [
              "«start»",
              "«end»"
            ]
          }
        ]"""
X_MENTION = """[
          {
            "name" : "«name»",
            "screen_name" : "«handle»",
            "indices" : [
              "3",
              "«end»"
            ],
            "id_str" : "«id»",
            "id" : "«id»"
          }
        ]"""
SHORT_LINK_LENGTH = len("https://t.co/") + 10


def _display_url(url: str) -> str:
    rest = url.split("://", 1)[1]
    host, _, path = rest.partition("/")
    path = "/" + path if path or rest.endswith("/") else ""
    return host.removeprefix("www.") + (path[:15] + "…" if len(path) > 15 else path)


class _XRenderer:
    """X posts of one account as archive items. Links come from one table: the site's pages in three
    forms, then external pages, then quoted posts; texts from :class:`_Templates`."""

    def __init__(self, plan: _Plan, site: int) -> None:
        self.plan = plan
        self.site = site
        self.site_pages = plan.site_pages(site)
        rng = _rng(plan.seed, S_ACCOUNTS, site)
        owned = [
            plan.url(int(page), prefix, suffix)
            for page in self.site_pages
            for prefix, suffix in (("https://", X_TAG), ("http://www.", ""), ("https://", ""))
        ]
        external = [url for _, url in X_EXTERNAL_TEXTS]
        quoted = [
            f"https://x.com/{X_RETWEET_HANDLES[h][1]}/status/{i}"
            for h, i in zip(
                rng.integers(len(X_RETWEET_HANDLES), size=QUOTE_POOL).tolist(),
                rng.integers(10**18, 2 * 10**18, size=QUOTE_POOL).tolist(),
                strict=True,
            )
        ]
        links = [*owned, *external, *quoted]
        self.external_at, self.quoted_at = len(owned), len(owned) + len(external)
        self.expanded = pa.array(links)
        self.display = pa.array([_json_text(_display_url(url)) for url in links])
        self.page_row = _site_rows(plan, site)
        titles = [plan.page_titles[int(page)] for page in self.site_pages]
        self.titles = pa.array([_json_text(title) for title in titles])
        self.title_length = np.array([len(title) for title in titles], dtype=np.int64)
        # Templates: first shares, repeats, external links, retweets (one per handle), plain, quote.
        retweets = [f"RT @{handle}: {text}" for _, handle, _ in X_RETWEET_HANDLES for text in X_RETWEET_TEXTS]
        groups = [
            X_FIRST_TEXTS,
            X_REPEAT_TEXTS,
            [text for text, _ in X_EXTERNAL_TEXTS],
            retweets,
            X_PLAIN_TEXTS,
            [X_QUOTE_TEXT],
        ]
        self.templates = _Templates.of([text for group in groups for text in group])
        sizes = [len(group) for group in groups]
        self.group_start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.group_size = np.asarray(sizes)
        self.mentions = pa.array(
            [
                "[]",
                *(
                    _fill(
                        X_MENTION,
                        {"name": name, "handle": handle, "end": str(4 + len(handle)), "id": user_id},
                    )
                    for name, handle, user_id in X_RETWEET_HANDLES
                ),
            ]
        )

    def items(self, rng: Rng, posts: _Posts) -> pa.Array:
        n = len(posts)
        if n == 0:
            return pa.array([], pa.string())
        owned = posts.kind != OTHER
        # Other posts: external link, retweet, plain text or quote (groups 2..5).
        group = np.where(owned, posts.kind, 2 + rng.choice(len(X_OTHER_KINDS), size=n, p=X_OTHER_KINDS))
        template = self.group_start[group] + (rng.random(n) * self.group_size[group]).astype(np.int64)
        retweet = group == 3
        row = np.where(owned, self.page_row[np.maximum(posts.page, 0)], 0)
        variant = rng.choice(3, size=n, p=(0.3, 0.15, 0.55))
        external = template - self.group_start[2]
        link = np.select(
            [owned, group == 2, retweet, group == 5],
            [
                row * 3 + variant,
                self.external_at + external,
                self.external_at + rng.integers(len(X_EXTERNAL_TEXTS), size=n),
                self.quoted_at + rng.integers(QUOTE_POOL, size=n),
            ],
            default=0,
        )
        has_link = self.templates.has_link[template]
        has_title = self.templates.has_title[template]
        short = _join("https://t.co/", _random_codes(rng, n, 10))
        text = self.templates.render(template, _take(self.titles, row), short)
        link_start = self.templates.link_offset[template] + np.where(has_title, self.title_length[row], 0)
        length = (
            self.templates.plain_length[template]
            + np.where(has_title, self.title_length[row], 0)
            + np.where(has_link, SHORT_LINK_LENGTH, 0)
        )
        urls = _render(
            X_URLS,
            {
                "short": short,
                "expanded": _take(self.expanded, link),
                "display": _take(self.display, link),
                "start": _numbers(link_start),
                "end": _numbers(link_start + SHORT_LINK_LENGTH),
            },
        )
        quality = self.plan.page_quality[np.maximum(posts.page, 0)]
        mean_likes = np.where(owned, np.exp(2.2 + 0.7 * quality - 0.5 * (posts.kind == OWNED_REPEAT)), 4.0)
        likes = np.where(retweet, 0, rng.poisson(mean_likes))
        reposts = np.where(retweet, 0, rng.poisson(np.where(owned, 0.15 * likes + 0.2, 0.5)))
        mention = np.where(retweet, 1 + (template - self.group_start[3]) // len(X_RETWEET_TEXTS), 0)
        seconds = posts.unix_ms // 1000
        ids = _numbers(_snowflakes(rng, posts.unix_ms - TWITTER_EPOCH_MS, self.site))
        return _render(
            X_ITEM,
            {
                "id": ids,
                "editable": _times(seconds + 3600, _iso_day),
                "source": _take(
                    [_json_text(WEB_APP), _json_text(BUFFER_APP)], (owned & (rng.random(n) < 0.5)).astype(int)
                ),
                "mentions": _take(self.mentions, mention),
                "urls": pc.if_else(pa.array(has_link), urls, "[]"),
                "length": _numbers(length),
                "likes": _numbers(likes),
                "reposts": _numbers(reposts),
                "sensitive": _take(["", '\n      "possibly_sensitive" : false,'], has_link.astype(int)),
                "created": _times(seconds, _x_day),
                "text": text,
            },
        )


def _site_rows(plan: _Plan, site: int) -> IntArray:
    """Per global page index, its row among the site's pages (-1 for other sites' pages)."""
    rows = np.full(len(plan.page_site), -1)
    pages = plan.site_pages(site)
    rows[pages] = np.arange(len(pages))
    return rows


class _LinkedInRenderer:
    """``Shares.csv`` rows. Commentary lines are wrapped in literal quotes (LinkedIn's quirk), links are
    ``lnkd.in`` short links; ``SharedUrl`` is the page (or a video) shared."""

    def __init__(self, plan: _Plan, site: int) -> None:
        self.site = site
        self.pages = plan.site_pages(site)
        self.page_row = _site_rows(plan, site)
        self.titles = pa.array([plan.page_titles[int(page)] for page in self.pages])
        firsts = [
            '"\n"'.join([hook, "", first, second, "", "Read the full guide: {link}"])
            for hook in LINKEDIN_HOOKS
            for first in LINKEDIN_POINTS
            for second in LINKEDIN_POINTS
            if first != second
        ]
        groups = [firsts, [LINKEDIN_REPEAT], [text for text, _ in LINKEDIN_FILLER]]
        self.templates = _Templates.of([text for group in groups for text in group], escape=str)
        self.group_start = np.array([0, len(firsts), len(firsts) + 1])
        rng = _rng(plan.seed, S_ACCOUNTS, len(SITES) + site)
        videos = _random_codes(rng, YOUTUBE_POOL, 11).to_pylist()
        shared = [
            plan.url(int(page), "https://www.", suffix)
            for page in self.pages
            for suffix in ("", LINKEDIN_TAG)
        ]
        self.video_at = len(shared)
        self.nothing_at = len(shared) + len(videos)
        self.shared = pa.array([*shared, *(f"https://www.youtube.com/watch?v={v}" for v in videos), ""])
        self.media = pa.array(
            ["" for _ in shared] + [f"https://i.ytimg.com/vi/{v}/maxresdefault.jpg" for v in videos] + [""]
        )
        self.video_fillers = np.array([kind == "youtube" for _, kind in LINKEDIN_FILLER])

    def columns(self, rng: Rng, posts: _Posts) -> list[pa.Array]:
        n = len(posts)
        owned = posts.kind != OTHER
        filler = rng.integers(len(LINKEDIN_FILLER), size=n)
        template = np.where(
            posts.kind == OWNED_FIRST,
            (rng.random(n) * self.group_start[1]).astype(np.int64),
            np.where(posts.kind == OWNED_REPEAT, self.group_start[1], self.group_start[2] + filler),
        )
        row = np.where(owned, self.page_row[np.maximum(posts.page, 0)], 0)
        link = _join("https://lnkd.in/g", _random_codes(rng, n, 7, ALNUM + b"-_"))
        shared = np.where(
            owned,
            row * 2 + (rng.random(n) < 0.3),
            np.where(
                self.video_fillers[filler],
                self.video_at + rng.integers(YOUTUBE_POOL, size=n),
                self.nothing_at,
            ),
        )
        ids = _snowflakes(rng, posts.unix_ms, self.site)
        return [
            _times(posts.unix_ms // 1000, _plain_day),
            _join("https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A", _numbers(ids)),
            self.templates.render(template, _take(self.titles, row), link),
            _take(self.shared, shared),
            _take(self.media, shared),
            _constant("MEMBER_NETWORK", n),
        ]


def _reddit_slug(title: str) -> str:
    return "_".join("".join(c for c in word if c.isalnum()) for word in title.lower().split()[:8])


class _RedditRenderer:
    """``posts.csv`` rows: link posts to the site's pages, and self posts (``url`` is their permalink)."""

    def __init__(self, plan: _Plan, site: int) -> None:
        spec = SITES[site]
        self.site = site
        self.page_row = _site_rows(plan, site)
        pages = plan.site_pages(site)
        titles = [
            template.format(
                title=plan.page_titles[int(page)], topic=spec.topics[plan.page_topic[page] % TOPICS_PER_SITE]
            )
            for page in pages
            for template in REDDIT_LINK_TITLES
        ]
        bodies = ["" for _ in titles]
        self.self_at = len(titles)
        for topic in spec.topics:
            for title, body in REDDIT_SELF_TITLES:
                titles.append(title.format(topic=topic))
                bodies.append(body)
        self.titles = pa.array(titles)
        self.slugs = pa.array([_reddit_slug(title) for title in titles])
        self.bodies = pa.array(bodies)
        self.urls = pa.array(
            [plan.url(int(page), prefix) for page in pages for prefix in ("https://www.", "https://")]
        )
        self.subreddits = pa.array(list(spec.subreddits))

    def columns(self, rng: Rng, posts: _Posts) -> list[pa.Array]:
        n = len(posts)
        owned = posts.kind != OTHER
        row = np.where(owned, self.page_row[np.maximum(posts.page, 0)], 0)
        title = np.where(
            owned,
            row * len(REDDIT_LINK_TITLES) + rng.integers(len(REDDIT_LINK_TITLES), size=n),
            self.self_at + rng.integers(TOPICS_PER_SITE * len(REDDIT_SELF_TITLES), size=n),
        )
        post_id = _base36((posts.unix_ms - REDDIT_EPOCH_MS) * 8 + self.site)
        subreddit = _take(self.subreddits, rng.integers(len(self.subreddits), size=n))
        permalink = _join(
            "https://www.reddit.com/r/", subreddit, "/comments/", post_id, "/", _take(self.slugs, title), "/"
        )
        url = _take(self.urls, row * 2 + rng.integers(2, size=n))
        return [
            post_id,
            permalink,
            _times(posts.unix_ms // 1000, _reddit_day),
            _join("198.51.100.", _numbers(rng.integers(1, 255, size=n))),
            subreddit,
            _constant("0", n),
            _take(self.titles, title),
            pc.if_else(pa.array(owned), url, permalink),
            _take(self.bodies, title),
        ]


def _linkedin_name(site: int, day: dt.date) -> str:
    return f"social/linkedin/{SITES[site].linkedin}_Basic_LinkedInDataExport_{day:%m-%d-%Y}"


def _reddit_name(site: int, day: dt.date) -> str:
    return f"social/reddit/export_{SITES[site].reddit_user}_{day:%Y%m%d}"


def _write_linkedin_history(landing: Path, plan: _Plan, site: int, result: _TaskResult) -> None:
    rng = _rng(plan.seed, S_POSTS, PLATFORMS.index("linkedin"), site)
    posts = _draw_posts(
        rng, plan, "linkedin", site, 0, plan.days, int(plan.posts_per_account["linkedin"][site])
    )
    with _delivery(landing, _linkedin_name(site, plan.last_day), plan.last_day, result) as folder:
        folder.mkdir()
        with (folder / "Shares.csv").open("wb") as handle:
            _write_csv(handle, LINKEDIN_COLUMNS, _LinkedInRenderer(plan, site).columns(rng, posts))
    _count_posts(result, "linkedin", posts)


def _write_reddit_history(landing: Path, plan: _Plan, site: int, result: _TaskResult) -> None:
    rng = _rng(plan.seed, S_POSTS, PLATFORMS.index("reddit"), site)
    posts = _draw_posts(rng, plan, "reddit", site, 0, plan.days, int(plan.posts_per_account["reddit"][site]))
    with _delivery(landing, _reddit_name(site, plan.last_day), plan.last_day, result) as folder:
        folder.mkdir()
        with (folder / "posts.csv").open("wb") as handle:
            _write_csv(handle, REDDIT_COLUMNS, _RedditRenderer(plan, site).columns(rng, posts))
    _count_posts(result, "reddit", posts)


def _write_posts_day(landing: Path, plan: _Plan, index: int, result: _TaskResult) -> None:
    """One small export per platform and account with posts that day, zipped as downloaded."""
    day = _day(index)
    for platform_index, platform in enumerate(PLATFORMS):
        for site in range(len(SITES)):
            rng = _rng(plan.seed, S_NEXT_POSTS, index, platform_index, site)
            posts = _draw_posts(rng, plan, platform, site, index, index + 1, None)
            if not len(posts):
                continue
            if platform == "x":
                relative = f"social/x/twitter-{day.isoformat()}-{SITES[site].x_handle}.zip"
                with _delivery(landing, relative, day, result) as path:
                    staging = path.with_name(path.name + ".folder")
                    _remove(staging)
                    _write_x_archive(staging, rng, plan, site, posts, day, result)
                    members = {
                        member.relative_to(staging).as_posix(): member.read_bytes()
                        for member in staging.rglob("*")
                        if member.is_file()
                    }
                    shutil.rmtree(staging)
                    _zip(path, members, day)
                continue
            buffer = pa.BufferOutputStream()
            if platform == "linkedin":
                relative, member = _linkedin_name(site, day) + ".zip", "Shares.csv"
                _write_csv(buffer, LINKEDIN_COLUMNS, _LinkedInRenderer(plan, site).columns(rng, posts))
            else:
                relative, member = _reddit_name(site, day) + ".zip", "posts.csv"
                _write_csv(buffer, REDDIT_COLUMNS, _RedditRenderer(plan, site).columns(rng, posts))
            with _delivery(landing, relative, day, result) as path:
                _zip(path, {member: buffer.getvalue().to_pybytes()}, day)
            _count_posts(result, platform, posts)


# --- backlinks ----------------------------------------------------------------------------------------

LINK_CHUNK_ROWS = 200_000


@lru_cache(maxsize=2)
def _backlink_tables(seed: int, scale: float) -> dict[str, pa.Array]:
    plan = _plan(seed, scale)
    pages = range(len(plan.page_site))
    words = [
        (a, b, c)
        for a in BACKLINK_WORDS
        for b in BACKLINK_WORDS
        for c in BACKLINK_WORDS
        if len({a, b, c}) == 3
    ]
    return {
        "targets": pa.array(
            [plan.url(p, prefix) for p in pages for prefix in ("https://www.", "https://", "http://www.")]
        ),
        # Anchors: the title, the title in lower case, the bare URL (one per page each), then generic ones.
        "anchors": pa.array(
            [
                *plan.page_titles,
                *(title.lower() for title in plan.page_titles),
                *(plan.url(p, "") for p in pages),
                *ANCHOR_GENERIC,
            ]
        ),
        "word_titles": pa.array([" ".join(w).title() for w in words]),
        "word_slugs": pa.array(["-".join(w) for w in words]),
    }


@dataclass(frozen=True)
class _BacklinkBatch:
    """Links first seen on days ``low..high-1``, exported on day ``export`` as ``...-<label>.csv``."""

    low: int
    high: int
    count: int
    export: int
    label: str
    first_id: int  # referring page URLs are numbered from here


@dataclass(frozen=True)
class _Links:
    """Backlink rows as numbers: every random draw is made here, so the text is a pure function of them.
    Days are window day indices; ``words``, ``section``, ``target``, ``anchor`` and ``context`` index the
    tables the columns are looked up in."""

    page: npt.NDArray[Any]
    domain: npt.NDArray[Any]
    first: npt.NDArray[Any]
    last: npt.NDArray[Any]
    lost_on: npt.NDArray[Any]
    lost: npt.NDArray[Any]
    first_second: npt.NDArray[Any]
    last_second: npt.NDArray[Any]
    lost_second: npt.NDArray[Any]
    www: npt.NDArray[Any]
    section: npt.NDArray[Any]
    words: npt.NDArray[Any]
    id: npt.NDArray[Any]
    ur: npt.NDArray[Any]
    referring_domains: npt.NDArray[Any]
    linked: npt.NDArray[Any]
    external: npt.NDArray[Any]
    page_traffic: npt.NDArray[Any]
    keywords: npt.NDArray[Any]
    target: npt.NDArray[Any]
    context: npt.NDArray[Any]
    anchor: npt.NDArray[Any]
    nofollow: npt.NDArray[Any]
    forum: npt.NDArray[Any]
    sponsored: npt.NDArray[Any]

    def __len__(self) -> int:
        return len(self.page)

    def take(self, rows: IntArray) -> _Links:
        return _Links(**{item.name: getattr(self, item.name)[rows] for item in fields(self)})


def _draw_links(rng: Rng, plan: _Plan, batch: _BacklinkBatch) -> _Links:
    """The batch's links: better pages and more popular domains link (are linked) more; some are lost
    again before the export, which then reports their last seen and lost dates."""
    count = batch.count
    published = np.flatnonzero(plan.page_published <= batch.low)
    candidates = published if len(published) else np.arange(len(plan.page_site))
    page = _weighted_pick(rng, candidates, np.exp(0.9 * plan.page_quality[candidates]), count)
    domain = np.minimum(
        np.searchsorted(plan.domain_cumulative, rng.random(count)), len(plan.domain_cumulative) - 1
    )
    first = rng.integers(batch.low, batch.high, size=count)
    lost_on = first + 5 + np.floor(rng.exponential(BACKLINK_LOST_MEAN_DAYS, size=count)).astype(np.int64)
    lost = lost_on <= batch.export
    last = np.where(
        lost,
        np.maximum(first, lost_on - rng.integers(1, 4, size=count)),
        np.maximum(first, batch.export - rng.integers(0, 10, size=count)),
    )
    first_second = rng.integers(86400, size=count)
    # Seen again later the same day at the earliest.
    last_second = np.where(last == first, rng.integers(first_second, 86400), rng.integers(86400, size=count))
    n_pages = len(plan.page_site)
    anchor_kind = rng.choice(4, size=count, p=(0.3, 0.2, 0.1, 0.4))
    linked = rng.integers(1, 40, size=count)
    forum = plan.domain_platform[domain] == FORUM
    return _Links(
        page=page,
        domain=domain,
        first=first,
        last=last,
        lost_on=lost_on,
        lost=lost,
        first_second=first_second,
        last_second=last_second,
        lost_second=rng.integers(86400, size=count),
        www=rng.integers(2, size=count),
        section=rng.integers(len(BACKLINK_SECTIONS), size=count),
        words=rng.integers(
            len(BACKLINK_WORDS) * (len(BACKLINK_WORDS) - 1) * (len(BACKLINK_WORDS) - 2), size=count
        ),
        id=batch.first_id + np.arange(count),
        ur=rng.integers(0, 40, size=count),
        referring_domains=rng.integers(0, 60, size=count),
        linked=linked,
        external=linked + rng.integers(0, 30, size=count),
        page_traffic=rng.poisson(30, size=count),
        keywords=rng.poisson(12, size=count),
        target=page * 3 + rng.integers(3, size=count),
        context=rng.integers(len(LEFT_CONTEXTS), size=count),
        anchor=np.where(
            anchor_kind < 3,
            anchor_kind * n_pages + page,
            3 * n_pages + rng.integers(len(ANCHOR_GENERIC), size=count),
        ),
        nofollow=forum | (rng.random(count) < 0.15),
        forum=forum,
        sponsored=rng.random(count) < 0.03,
    )


def _link_columns(plan: _Plan, links: _Links) -> list[pa.Array]:
    """The Ahrefs columns (:data:`AHREFS_COLUMNS` order) of ``links``."""
    tables = _backlink_tables(plan.seed, plan.size.scale)
    count = len(links)
    epoch = np.int64((FIRST_DAY - UNIX_EPOCH).days) * 86400

    def seen(days: IntArray, seconds: IntArray) -> pa.Array:
        return _times(epoch + days * 86400 + seconds, _plain_day)

    referring = _join(
        "https://",
        _take(["", "www."], links.www),
        _take(plan.domain_names, links.domain),
        "/",
        _take(BACKLINK_SECTIONS, links.section),
        "/",
        _take(tables["word_slugs"], links.words),
        "-",
        _numbers(links.id),
        "/",
    )
    return [
        _join(_take(tables["word_titles"], links.words), " | ", _take(plan.domain_labels, links.domain)),
        referring,
        _constant("en", count),
        _category(DOMAIN_PLATFORMS, plan.domain_platform[links.domain]),
        _constant("200", count),
        pa.array(plan.domain_rating[links.domain]),
        pa.array(links.ur),
        pa.array(plan.domain_traffic[links.domain]),
        pa.array(links.referring_domains),
        pa.array(links.linked),
        pa.array(links.external),
        pa.array(links.page_traffic),
        pa.array(links.keywords),
        _take(tables["targets"], links.target),
        _category(LEFT_CONTEXTS, links.context),
        _take(tables["anchors"], links.anchor),
        _category(RIGHT_CONTEXTS, links.context),
        _constant("text", count),
        _flag(~links.forum),
        _flag(links.nofollow),
        _flag(links.forum),
        _flag(links.sponsored),
        _constant("true", count),
        _constant("true", count),
        _category(["", "removedfromhtml"], links.lost.astype(np.int32)),
        _constant("", count),
        _category(["pagefound", ""], links.lost.astype(np.int32)),
        _constant("", count),
        _constant("false", count),
        seen(links.first, links.first_second),
        seen(links.last, links.last_second),
        pc.if_else(pa.array(links.lost), seen(links.lost_on, links.lost_second), ""),
    ]


def _write_backlinks(
    landing: Path, plan: _Plan, rng: Rng, batch: _BacklinkBatch, result: _TaskResult
) -> None:
    """One Ahrefs export per owned site, strongest referring domains first, written in bounded chunks."""
    links = _draw_links(rng, plan, batch)
    site_of = plan.page_site[links.page]
    for site in range(len(SITES)):
        rows = np.flatnonzero(site_of == site)
        if not len(rows):
            continue
        rows = rows[np.lexsort((links.first[rows], -plan.domain_rating[links.domain[rows]]))]
        relative = f"backlinks/ahrefs/{SITES[site].domain}-new-backlinks-{batch.label}.csv"
        with _delivery(landing, relative, _day(batch.export), result) as path, path.open("wb") as handle:
            # Ahrefs' UTF-8 export: BOM, commas, every header name quoted.
            handle.write("\ufeff".encode())
            for start in range(0, len(rows), LINK_CHUNK_ROWS):
                columns = _link_columns(plan, links.take(rows[start : start + LINK_CHUNK_ROWS]))
                _write_csv(handle, AHREFS_COLUMNS if start == 0 else (), columns, quote_header=True)
        result.counts["backlinks"] += len(rows)


def _write_backlinks_quarter(landing: Path, plan: _Plan, quarter: int, result: _TaskResult) -> None:
    low, length = _quarters(plan.days)[quarter]
    day = _day(low)
    batch = _BacklinkBatch(
        low=low,
        high=low + length,
        count=int(plan.backlinks_per_quarter[quarter]),
        export=low + length - 1,
        label=f"{day.year}-Q{(day.month - 1) // 3 + 1}",
        first_id=int(plan.backlinks_per_quarter[:quarter].sum()),
    )
    _write_backlinks(landing, plan, _rng(plan.seed, S_BACKLINKS, quarter), batch, result)


def _write_backlinks_day(landing: Path, plan: _Plan, index: int, result: _TaskResult) -> None:
    rng = _rng(plan.seed, S_NEXT_BACKLINKS, index)
    batch = _BacklinkBatch(
        low=index,
        high=index + 1,
        # New links arrive at the rate of the history's last quarter.
        count=int(rng.poisson(plan.backlinks_per_quarter[-1] / _quarters(plan.days)[-1][1])),
        export=index,
        label=_day(index).isoformat(),
        # Ids after the history's, a block per day.
        first_id=plan.size.backlinks + (index - plan.days) * 10_000_000,
    )
    _write_backlinks(landing, plan, rng, batch, result)


# --- rankings -------------------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _tracker_urls(seed: int, scale: float) -> pa.Array:
    """Each page's URL as the tracker reports it; a few pages always carry a tracking parameter."""
    plan = _plan(seed, scale)
    tagged = _rng(seed, S_PAGES, 1).random(len(plan.page_site)) < 0.1
    return pa.array(
        [plan.url(page, suffix=TRACKER_TAG if tagged[page] else "") for page in range(len(tagged))]
    )


def _planted_shift(plan: _Plan, page: IntArray, day: IntArray) -> FloatArray:
    shift = np.zeros(len(page))
    for effect in EFFECTS:
        since = day - plan.first_link[effect.platform][page]
        if effect.ramp_days == 0:
            shift += np.where(since >= effect.lag_days, effect.positions, 0.0)
        else:
            shift += effect.positions * np.clip((since - effect.lag_days) / effect.ramp_days, 0.0, 1.0)
    return shift


def _ranking_columns(rng: Rng, plan: _Plan, low: int, high: int) -> list[pa.Array]:
    """Every tracked pair's position on days ``low..high-1``, by day, then query, then position."""
    active = plan.pair_start[None, :] <= np.arange(low, high)[:, None]
    offset, pair = np.nonzero(active)
    day = low + offset
    page, query = plan.pair_page[pair], plan.pair_query[pair]
    weekday = (FIRST_DAY.weekday() + day) % 7
    value = (
        plan.pair_baseline[pair]
        + plan.page_slope[page] * (day / plan.days - 0.5)
        + plan.query_amplitude[query] * np.sin(2 * np.pi * (weekday + plan.query_phase[query]) / 7)
        + rng.normal(scale=NOISE_SD, size=len(pair))
        + _planted_shift(plan, page, day)
    )
    position = np.clip(np.rint(value), 1, MAX_POSITION).astype(np.int64)
    order = np.lexsort((position, query, day))
    day, page, query, position = day[order], page[order], query[order], position[order]
    dates = [_day(d).isoformat() for d in range(low, high)]
    return [
        _category(dates, day - low),
        pa.DictionaryArray.from_arrays(pa.array(query.astype(np.int32)), plan.queries),
        pa.DictionaryArray.from_arrays(
            pa.array(page.astype(np.int32)), _tracker_urls(plan.seed, plan.size.scale)
        ),
        pa.array(position),
        _constant("google", len(day)),
        _constant("desktop", len(day)),
        _constant("US", len(day)),
        pa.array(plan.query_volume[query]),
    ]


def _write_rankings(
    landing: Path, plan: _Plan, rng: Rng, low: int, high: int, label: str, result: _TaskResult
) -> None:
    columns = _ranking_columns(rng, plan, low, high)
    relative = f"rankings/rank_tracker/positions-{label}.csv"
    with _delivery(landing, relative, _day(high - 1), result) as path, path.open("wb") as handle:
        _write_csv(handle, RANK_COLUMNS, columns, quoting="none")
    result.counts["rankings"] += len(columns[0])


def _write_rankings_month(landing: Path, plan: _Plan, month: int, result: _TaskResult) -> None:
    low, length = _months(plan.days)[month]
    _write_rankings(
        landing, plan, _rng(plan.seed, S_RANKINGS, month), low, low + length, f"{_day(low):%Y-%m}", result
    )


def _write_rankings_day(landing: Path, plan: _Plan, index: int, result: _TaskResult) -> None:
    rng = _rng(plan.seed, S_NEXT_RANKINGS, index)
    _write_rankings(landing, plan, rng, index, index + 1, _day(index).isoformat(), result)
