"""Synthetic worlds with a planted truth: realistic exports whose answer is known in advance.

:func:`write_world` writes an X archive, a LinkedIn ``Shares.csv``, a Reddit ``posts.csv``, an Ahrefs
backlinks export, a rank-tracker CSV and a GA4 traffic report, in the platforms' own formats (SPEC
section 4), for an outdoor-gear site, as a :class:`WorldSpec` describes it. :func:`write_demo_landing`
writes the bundled sample world (the spec's defaults). The planted truth, returned as :class:`DemoWorld`:

- ``pages`` owned pages (80), each with a latent quality ``q ~ N(0, 1)``; 30 tracked keywords, each
  ranking 4-8 owned pages. A page-keyword pair's daily position is a baseline driven by quality (better
  pages rank higher, i.e. a lower number; the best baseline is ``best_position``) plus page and keyword
  effects, a per-page linear trend, a weekly cycle per keyword and daily noise (sd ``noise_sd``).
  Positions are distinct integers per keyword and day, as on a results page; beyond 100 the page is not
  ranked and the position is left empty.
- A share ``shared_fraction`` of pages (45%) is shared. Who is shared is chosen on
  ``confounding * q`` plus logistic noise: with ``confounding`` > 0 the better a page, the likelier it
  is shared (pages that already rank well get shared more); with 0 sharing is random. A shared page gets
  its first link on one platform (x, linkedin, reddit with ``platform_weights``), some on two
  (``second_platform_rate``), each on a day in ``first_link_days``; repeat shares follow.
- ``effects`` are the causal effects, one :class:`PlantedEffect` per platform at most: from
  ``lag_days`` after a page's first link on that platform its latent position changes by ``positions``
  (negative: better), ramping in linearly over ``ramp_days``. The sample world plants -3.0 positions for
  X after 14 days over 14 days; LinkedIn and Reddit links change nothing. An empty tuple plants none.
- X likes and reposts grow with quality. Ahrefs backlinks come from about 40 non-social domains, more
  of them to better pages, first seen within the window; they do not depend on the social links.
- ``natural_backlinks`` plants the natural-links claim, one :class:`PlantedBacklinks` per platform at most:
  from the day after a page's first link on that platform to the window's end, new non-social referring
  domains (none of the domains linking the page otherwise) start linking it, Poisson with mean
  ``domains_per_week`` a week, each first seen on its day and still linking at the end. They are rows of
  the same Ahrefs export, after the others, drawn from a random stream of their own: a world without them
  has the bytes it had before they existed. The sample world plants none.
- A GA4 Traffic acquisition download (the planted chain, claim by claim): each post brings its page
  referral sessions from its platform (``REFERRAL_SESSIONS``: 9 a day from X, 6 from LinkedIn, 12 from
  Reddit on the post's day, decaying by 0.7 a day for 14 days; scaled by ``referral_scale``, 0 for none),
  none before the page's first post there; every visitor engages alike (60% of sessions engaged, whatever
  the source: no engagement difference); no natural backlinks follow (the sample plants none, above);
  organic sessions follow the observed position change (``ORGANIC_PER_POSITION``: x exp(0.1) per place up,
  so only X-linked pages gain, about +35% for three places); Facebook visits arrive at 0.15 a page and day
  whatever the site posts.

The effect is planted on the latent position; what a results page shows is an integer of at least 1,
one page per place. A page near the top cannot gain all of it, and a page that moves up pushes a
neighbour down. :attr:`DemoWorld.observed_shift` therefore also records, per page and day, how far the
observed positions moved because of the planted effects (the same world generated again without them,
same noise): the truth on observed positions, which is what an estimator can recover.

Same seed, same bytes: all randomness comes from the seed, and file and zip-entry times from ``end_date``.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import math
import os
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import numpy as np
import numpy.typing as npt

MIN_DAYS = 120
PLATFORMS = ("x", "linkedin", "reddit")
BACKLINK_ROWS = 600
REFERRING_DOMAINS = 40
DROPOUT_RATE = 0.003
WORST_BASELINE = 98
MAX_POSITION = 100
# Posts go out between 14:00 and 23:00 UTC, so a link's day is the same in UTC and in US time zones.
POST_HOURS = (14, 23)
GENERATED_AT = dt.time(23, 12, 41)
TRACKER_TAG = "?utm_source=tracker"
X_TAG = "?utm_source=twitter&utm_medium=social"
LINKEDIN_TAG = "?utm_source=linkedin&utm_medium=social"
LANDED_AT = dt.time(23, 30)

X_PATH_TEMPLATE = "social/x/twitter-archive-{end_date}.zip"
LINKEDIN_PATH = "social/linkedin/Shares.csv"
REDDIT_PATH = "social/reddit/posts.csv"
AHREFS_PATH_TEMPLATE = "backlinks/ahrefs/{site}-backlinks.csv"
RANK_TRACKER_PATH = "rankings/rank_tracker/positions.csv"
GA4_PATH = "traffic/ga4/traffic-acquisition-landing-pages.csv"
# Referral sessions a post brings its page on its day, then fewer each day (mean halves in about 2 days).
REFERRAL_SESSIONS = {"x": 9.0, "linkedin": 6.0, "reddit": 12.0}
REFERRAL_DECAY = 0.7
REFERRAL_DAYS = 14
# How a platform's visits arrive in GA4: (session source / medium, query string the link carried).
GA4_REFERRERS = {
    "x": ("t.co / referral", ""),
    "linkedin": ("linkedin / social", LINKEDIN_TAG),
    "reddit": ("reddit.com / referral", ""),
}
# Every visitor engages alike, whatever brought them: the sample plants no engagement difference.
ENGAGED_SHARE = 0.6
# Visits from a platform the site does not post on (readers sharing pages on Facebook), independent of the
# site's own links: mean sessions per page and day.
BACKGROUND_SOCIAL = ("l.facebook.com / referral", 0.15)
# Organic search visits follow rankings: a page's mean organic sessions are multiplied by
# exp(-ORGANIC_PER_POSITION x its observed position change), about +35% for three places up.
ORGANIC_PER_POSITION = 0.1

TOPICS = (
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
    "hammocks",
    "camp chairs",
    "down jackets",
    "hiking socks",
)
# (section, slug pattern, title pattern): {s} is the topic slug, {t} the title-cased topic.
PAGE_FORMATS = (
    ("reviews", "best-{s}", "The Best {t} of {year}"),
    ("guides", "how-to-choose-{s}", "How to Choose {t}"),
    ("guides", "{s}-buying-guide", "{t} Buying Guide"),
    ("guides", "{s}-care-and-repair", "{t}: Care and Repair"),
    ("reviews", "budget-{s}", "Budget {t} That Don't Cut Corners"),
    ("guides", "{s}-for-beginners", "{t} for Beginners"),
)
SECOND_KEYWORDS = ("{t} for beginners", "how to choose {t}", "cheap {t}", "{t} review", "lightweight {t}")
# Google Ads volume buckets: trackers report these, never exact counts.
VOLUME_BUCKETS = (
    110,
    170,
    210,
    260,
    320,
    390,
    480,
    590,
    720,
    880,
    1000,
    1300,
    1600,
    1900,
    2400,
    2900,
    3600,
    4400,
    5400,
    6600,
    8100,
    9900,
    12100,
)
MAX_PAGES = len(TOPICS) * len(PAGE_FORMATS)
SUBREDDITS = ("hiking", "Ultralight", "CampingGear", "backpacking", "CampingandHiking", "trailrunning")
X_HANDLES = (
    ("Trail Notes", "trailnotes_"),
    ("Alpine Daily", "alpinedaily"),
    ("Ultralight Lab", "ultralightlab"),
    ("Ranger Jo", "parkrangerjo"),
    ("Summit Weekly", "summitweekly"),
)
WEB_APP = '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>'
BUFFER_APP = '<a href="https://buffer.com" rel="nofollow">Buffer</a>'
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
TWITTER_EPOCH_MS = 1288834974657
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

X_SHARE_TEXTS = (
    "New guide: {title} {link}",
    "We tested a dozen so you don't have to &gt; {title} {link}",
    "Heading out this weekend? {title} &amp; a few lessons we learned the hard way {link}",
    "{title}\n\nEverything we wish we had known on our first trip. {link}",
)
X_REPEAT_TEXTS = (
    "ICYMI: {title} {link}",
    "Still one of our most-read pieces &amp; worth a second look: {title} {link}",
    "Updated with this season's picks: {title} {link}",
)
X_PLAIN_TEXTS = (
    "Trail conditions were perfect this morning. Who else is out?",
    "Question for the hikers: poles on the way down only, or all day?",
    "Packing tip: weigh everything once &amp; you'll never carry a third spare shirt again.",
    "Frost on the tent, coffee on the stove. Best mornings of the year.",
    "Reminder: tell someone your route before you go. Every time.",
    "Thanks for reading, all 20k of you &lt;3",
)
X_EXTERNAL_LINKS = (
    ("Leave No Trace, in seven principles {link}", "https://en.wikipedia.org/wiki/Leave_No_Trace"),
    ("Check the forecast before you commit to the ridge {link}", "https://www.weather.gov/safety/"),
    ("Great long read on trail maintenance {link}", "https://www.nps.gov/subjects/trails/index.htm"),
)
X_RETWEET_TEXTS = (
    "The 10 essentials, explained {link}",
    "Trail etiquette 101 &amp; why it matters {link}",
    "New study on blister prevention {link}",
)
LINKEDIN_HOOKS = (
    "We just published {title}.",
    "Our most requested guide is live: {title}.",
    "Three seasons of field testing went into this one: {title}.",
)
LINKEDIN_POINTS = (
    ("WHAT", "A hands-on guide, no sponsored picks."),
    ("WHY", "Most buying mistakes come down to fit, not brand."),
    ("WHO", "Anyone planning their first multi-day trip."),
    ("HOW", "We walked every pick for at least 100 km."),
)
LINKEDIN_FILLER = (
    ("We're hiring a gear editor. Remote, outdoorsy, detail-obsessed.", "lnkd.in", ""),
    ("Proud of the team: one million readers this year.", "", ""),
    ("Our talk on testing gear honestly is online.", "", "youtube"),
    ("Five years of reviews taught us one thing: fit beats features.", "", ""),
)
REDDIT_LINK_TITLES = (
    "{title}",
    "I wrote up everything I learned about {topic} after three seasons of testing",
    "[Guide] {title}",
)
REDDIT_SELF_TITLES = (
    ("What's your go-to for {topic}?", "Looking for recommendations before my next trip. Budget is open."),
    ("Is it worth upgrading my {topic}?", "Mine are five years old and fine, but the new ones are lighter."),
    ("Trip report: three days on the ridge", "Weather held, knees did not. Photos in the comments."),
)
DOMAIN_FIRST = (
    "trail",
    "summit",
    "pine",
    "river",
    "north",
    "alpine",
    "granite",
    "meadow",
    "canyon",
    "ridge",
    "cedar",
    "harbor",
    "maple",
    "frost",
    "ember",
    "lantern",
    "compass",
    "wild",
    "blue",
    "stone",
)
DOMAIN_SECOND = (
    "notes",
    "journal",
    "review",
    "weekly",
    "gear",
    "press",
    "digest",
    "outfitters",
    "guide",
    "collective",
    "works",
    "times",
    "post",
    "lab",
    "hub",
    "report",
)
DOMAIN_SUFFIXES = (".com", ".net", ".org", ".co.uk")
DOMAIN_PLATFORMS = ("Blogs", "CMS", "News", "Forums", "E-commerce")
# Every referring domain name the generator writes (with and without a hyphen, as _domain_name does).
DOMAIN_NAMES = tuple(
    sorted(
        first + joiner + second + suffix
        for first in DOMAIN_FIRST
        for joiner in ("", "-")
        for second in DOMAIN_SECOND
        for suffix in DOMAIN_SUFFIXES
    )
)
# The names planted natural backlinks are drawn from: all but the export's REFERRING_DOMAINS.
NEW_DOMAIN_NAMES = len(DOMAIN_NAMES) - REFERRING_DOMAINS
ANCHOR_GENERIC = ("this guide", "here", "read more", "great breakdown")
AHREFS_COLUMNS = (
    "Referring page title",
    "Referring page URL",
    "Language",
    "Platform",
    "Referring page HTTP code",
    "Domain rating",
    "UR",
    "Domain traffic",
    "Referring domains",
    "Linked domains",
    "External links",
    "Page traffic",
    "Keywords",
    "Target URL",
    "Left context",
    "Anchor",
    "Right context",
    "Type",
    "Content",
    "Nofollow",
    "UGC",
    "Sponsored",
    "Rendered",
    "Raw",
    "Lost status",
    "Drop reason",
    "Discovered status",
    "Link Group",
    "Is spam",
    "First seen",
    "Last seen",
    "Lost",
)
LINKEDIN_COLUMNS = ("Date", "ShareLink", "ShareCommentary", "SharedUrl", "MediaUrl", "Visibility")
REDDIT_COLUMNS = ("id", "permalink", "date", "ip", "subreddit", "gildings", "title", "url", "body")
RANK_COLUMNS = ("date", "keyword", "url", "position", "search_engine", "device", "country", "search_volume")

Rng = np.random.Generator
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FirstLink:
    """A page's first link on a platform: the day every later effect is measured from."""

    platform: str
    page_url: str
    day: dt.date


@dataclass(frozen=True)
class PlantedEffect:
    """A platform's causal effect on a page's latent position, counted from its first link there."""

    platform: str
    positions: float
    lag_days: int
    ramp_days: int

    def at(self, days_since_first_link: int) -> float:
        """The change ``days_since_first_link`` days after the first link (0 before ``lag_days``)."""
        if self.ramp_days == 0:
            return self.positions if days_since_first_link >= self.lag_days else 0.0
        ramp = (days_since_first_link - self.lag_days) / self.ramp_days
        return self.positions * min(1.0, max(0.0, ramp))


SAMPLE_EFFECTS = (PlantedEffect("x", -3.0, lag_days=14, ramp_days=14),)


@dataclass(frozen=True)
class PlantedBacklinks:
    """Natural backlinks a platform's link earns: from the day after a page's first link on ``platform`` to
    the window's end, new non-social referring domains start linking the page, Poisson with mean
    ``domains_per_week`` a week (``domains_per_week / 7`` a day)."""

    platform: str
    domains_per_week: float

    def expected_by(self, days_since_first_link: int) -> float:
        """Expected new referring domains first seen by ``days_since_first_link`` days after the first link
        (none on the link's own day)."""
        return self.domains_per_week / 7 * max(0, days_since_first_link)


@dataclass(frozen=True)
class WorldSpec:
    """Parameters of a synthetic world; the defaults are the bundled sample world."""

    seed: int = 7
    end_date: dt.date = dt.date(2026, 11, 1)
    days: int = 150
    owned_site: str = "example.com"
    pages: int = 80
    effects: tuple[PlantedEffect, ...] = SAMPLE_EFFECTS
    confounding: float = 1.0
    shared_fraction: float = 0.45
    # Chance that a shared page's first platform is x, linkedin, reddit (PLATFORMS order).
    platform_weights: tuple[float, float, float] = (0.45, 0.30, 0.25)
    second_platform_rate: float = 0.3
    first_link_days: tuple[int, int] = (30, 110)
    best_position: float = 3.0
    noise_sd: float = 1.5
    # Scales the referral visits a post brings (REFERRAL_SESSIONS); 0: links bring no visits.
    referral_scale: float = 1.0
    # New referring domains after a page's first link, at most one entry per platform; none in the sample.
    natural_backlinks: tuple[PlantedBacklinks, ...] = ()

    def check(self) -> None:
        """Raise ValueError naming the first parameter that cannot make a world."""
        if self.days < MIN_DAYS:
            raise ValueError(
                f"days must be at least {MIN_DAYS} to leave a pre and a post period, got {self.days}"
            )
        if not 8 <= self.pages <= MAX_PAGES:
            raise ValueError(f"pages must be within 8..{MAX_PAGES}, got {self.pages}")
        if not 0 < self.shared_fraction < 1:
            raise ValueError(f"shared_fraction must be within (0, 1), got {self.shared_fraction}")
        if len(self.platform_weights) != len(PLATFORMS) or abs(sum(self.platform_weights) - 1) > 1e-9:
            raise ValueError(f"platform_weights must be {len(PLATFORMS)} shares summing to 1")
        first, last = self.first_link_days
        if not 0 <= first <= last < self.days:
            raise ValueError(
                f"first_link_days must lie within the {self.days}-day window, got {first}..{last}"
            )
        if not 1 <= self.best_position < WORST_BASELINE:
            raise ValueError(
                f"best_position must be within 1..{WORST_BASELINE - 1}, got {self.best_position}"
            )
        platforms = [effect.platform for effect in self.effects]
        if self.referral_scale < 0:
            raise ValueError(f"referral_scale must not be negative, got {self.referral_scale}")
        if len(set(platforms)) != len(platforms) or not set(platforms) <= set(PLATFORMS):
            raise ValueError(
                f"effects: at most one per platform, platforms among {PLATFORMS}, got {platforms}"
            )
        earning = [planted.platform for planted in self.natural_backlinks]
        if len(set(earning)) != len(earning) or not set(earning) <= set(PLATFORMS):
            raise ValueError(
                f"natural_backlinks: at most one per platform, platforms among {PLATFORMS}, got {earning}"
            )
        # A page's new domains are drawn without replacement from the names no other link uses: the
        # expected number over the whole window must leave most of them free.
        for planted in self.natural_backlinks:
            expected = planted.expected_by(self.days)
            if not planted.domains_per_week > 0 or expected > NEW_DOMAIN_NAMES / 2:
                raise ValueError(
                    f"natural_backlinks: domains_per_week must be positive and a page's expected new domains "
                    f"over the window at most {NEW_DOMAIN_NAMES // 2}, got {planted.domains_per_week} "
                    f"({expected:.0f} over {self.days} days)"
                )


@dataclass(frozen=True)
class DemoWorld:
    """The truth planted in a demo landing zone. ``files`` are relative to the landing folder.

    ``observed_shift`` holds, per page URL (as in ``first_links``) and window day, the mean over the
    page's ranked keywords of how far its observed position moved because of the planted effects
    (negative: better); None where none of its keywords was ranked in both versions of the world.
    """

    seed: int
    start_date: dt.date
    end_date: dt.date
    owned_site: str
    effects: tuple[PlantedEffect, ...]
    confounding: float
    pages: int
    queries: int
    files: tuple[str, ...]
    first_links: tuple[FirstLink, ...]
    observed_shift: tuple[tuple[str, tuple[float | None, ...]], ...]
    natural_backlinks: tuple[PlantedBacklinks, ...] = ()

    @property
    def effect_platform(self) -> str | None:
        """The platform of the (first) planted effect; None in a world without one."""
        return self.effects[0].platform if self.effects else None

    @property
    def effect_positions(self) -> float:
        return self.effects[0].positions if self.effects else 0.0

    @property
    def effect_lag_days(self) -> int:
        return self.effects[0].lag_days if self.effects else 0

    @property
    def effect_ramp_days(self) -> int:
        return self.effects[0].ramp_days if self.effects else 0

    def effect_at(self, days_since_first_link: int) -> float:
        """Planted latent position change ``days_since_first_link`` days after a page's first link
        on :attr:`effect_platform`."""
        return self.effects[0].at(days_since_first_link) if self.effects else 0.0

    def effect_of(self, platform: str) -> PlantedEffect | None:
        return next((effect for effect in self.effects if effect.platform == platform), None)

    def backlinks_of(self, platform: str) -> PlantedBacklinks | None:
        return next((planted for planted in self.natural_backlinks if planted.platform == platform), None)

    def shift_of(self, page_url: str) -> tuple[float | None, ...]:
        """Per window day, the observed position change of ``page_url`` caused by the planted effects."""
        return dict(self.observed_shift)[page_url]


@dataclass(frozen=True)
class Page:
    """An owned page as the export writers need it (also used by :mod:`socialrank_demo.rank_worlds`)."""

    path: str
    title: str
    topic: str
    quality: float
    tracker_suffix: str


@dataclass(frozen=True)
class Share:
    """A post linking an owned page: ``day`` is its window day, ``repeat`` False for the first one."""

    platform: str
    page: int
    day: int
    at: dt.datetime
    repeat: bool


@dataclass(frozen=True)
class Site:
    """The owned site: its pages and tracked keywords (``keyword_pages``: the pages of each keyword)."""

    domain: str
    pages: tuple[Page, ...]
    keywords: tuple[tuple[str, int], ...]
    keyword_pages: tuple[tuple[int, ...], ...]

    def url(self, page: int, host: str = "https://www.") -> str:
        return f"{host}{self.domain}{self.pages[page].path}"


def write_demo_landing(
    landing: Path,
    seed: int = 7,
    *,
    end_date: dt.date = dt.date(2026, 11, 1),
    days: int = 150,
    owned_site: str = "example.com",
) -> DemoWorld:
    """Write the bundled sample world's exports under ``landing`` and return the truth planted in them."""
    return write_world(landing, WorldSpec(seed=seed, end_date=end_date, days=days, owned_site=owned_site))


def write_world(landing: Path, spec: WorldSpec) -> DemoWorld:
    """Write the exports of the world ``spec`` describes under ``landing``; return its planted truth."""
    spec.check()
    end_date, days = spec.end_date, spec.days
    site_domain = spec.owned_site.lower().removeprefix("www.")
    start_date = end_date - dt.timedelta(days=days - 1)
    # One stream per file: changing one writer does not reshuffle the others. The planted natural backlinks
    # have their own (the ninth child; the first eight are the same whatever the count): a world without
    # them has the bytes it had before they existed.
    site_rng, share_rng, x_rng, linkedin_rng, reddit_rng, ahrefs_rng, rank_rng, ga4_rng, natural_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(spec.seed).spawn(9)
    )
    site = _build_site(site_rng, site_domain, end_date.year, spec.pages)
    shares = _plan_shares(share_rng, site, start_date, spec)
    x_path = X_PATH_TEMPLATE.format(end_date=end_date.isoformat())
    ahrefs_path = AHREFS_PATH_TEMPLATE.format(site=site_domain)
    rankings, shift = _rank_tracker(rank_rng, site, shares, spec, start_date)
    world = DemoWorld(
        seed=spec.seed,
        start_date=start_date,
        end_date=end_date,
        owned_site=site_domain,
        effects=spec.effects,
        confounding=spec.confounding,
        pages=len(site.pages),
        queries=len(site.keywords),
        files=(x_path, LINKEDIN_PATH, REDDIT_PATH, ahrefs_path, RANK_TRACKER_PATH, GA4_PATH),
        first_links=_first_links(site, shares, start_date),
        observed_shift=tuple((site.url(page), shift[page]) for page in range(len(site.pages))),
        natural_backlinks=spec.natural_backlinks,
    )
    generated = dt.datetime.combine(end_date, GENERATED_AT, tzinfo=dt.UTC)
    contents = {
        x_path: x_archive(x_rng, site, shares, start_date, days, generated),
        LINKEDIN_PATH: linkedin_shares(linkedin_rng, site, shares, start_date, days),
        REDDIT_PATH: reddit_posts(reddit_rng, site, shares, start_date, days),
        ahrefs_path: _ahrefs_backlinks(ahrefs_rng, natural_rng, site, shares, spec, start_date),
        RANK_TRACKER_PATH: rankings,
        GA4_PATH: _ga4_traffic(ga4_rng, site, shares, spec, start_date, shift),
    }
    # The ingest dates backlink snapshots by the file's mtime: pin it to the end of the window.
    landed = dt.datetime.combine(end_date, LANDED_AT, tzinfo=dt.UTC).timestamp()
    for relative in world.files:
        path = landing / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(contents[relative])
        os.utime(path, (landed, landed))
    return world


def landing_is_empty(landing: Path) -> bool:
    """True when ``landing`` holds no file except hidden ones (or does not exist)."""
    return not any(
        path.is_file() and not any(part.startswith(".") for part in path.relative_to(landing).parts)
        for path in landing.rglob("*")
    )


# --- the world -------------------------------------------------------------------------------------


def _build_site(rng: Rng, domain: str, year: int, page_count: int) -> Site:
    candidates = [
        (topic, section, slug.format(s=topic.replace(" ", "-")), title.format(t=topic.title(), year=year))
        for topic in TOPICS
        for section, slug, title in PAGE_FORMATS
    ]
    chosen = sorted(rng.choice(len(candidates), size=page_count, replace=False).tolist())
    quality = rng.normal(size=page_count)
    # A few pages carry a tracking parameter in the tracker's URL, always the same for that page.
    tagged = rng.random(page_count) < 0.1
    pages = tuple(
        Page(f"/{section}/{slug}/", title, topic, float(quality[i]), TRACKER_TAG if tagged[i] else "")
        for i, (topic, section, slug, title) in enumerate(candidates[c] for c in chosen)
    )
    keywords: list[tuple[str, int]] = []
    keyword_pages: list[list[int]] = []
    for topic in TOPICS:
        on_topic = [i for i, page in enumerate(pages) if page.topic == topic]
        second = SECOND_KEYWORDS[int(rng.integers(len(SECOND_KEYWORDS)))].format(t=topic)
        for phrase, volume_shift in ((f"best {topic}", 6), (second, 0)):
            size = int(rng.integers(4, 9))
            members = [int(i) for i in rng.permutation(on_topic)[:size]]
            others = [i for i in range(page_count) if i not in members]
            members += [int(i) for i in rng.choice(others, size=size - len(members), replace=False)]
            volume = VOLUME_BUCKETS[min(len(VOLUME_BUCKETS) - 1, int(rng.integers(0, 14)) + volume_shift)]
            keywords.append((phrase, volume))
            keyword_pages.append(members)
    # Every page ranks for something: an unassigned page joins its topic's smaller keyword.
    for page_index, page in enumerate(pages):
        if not any(page_index in members for members in keyword_pages):
            topic_keywords = [2 * TOPICS.index(page.topic), 2 * TOPICS.index(page.topic) + 1]
            keyword_pages[min(topic_keywords, key=lambda k: len(keyword_pages[k]))].append(page_index)
    return Site(domain, pages, tuple(keywords), tuple(tuple(members) for members in keyword_pages))


def posted_at(rng: Rng, start: dt.date, day: int) -> dt.datetime:
    """A post time on window day ``day``, between 14:00 and 23:00 UTC (the same day in US time zones)."""
    hour = int(rng.integers(*POST_HOURS))
    moment = dt.time(hour, int(rng.integers(60)), int(rng.integers(60)))
    return dt.datetime.combine(start + dt.timedelta(days=day), moment, tzinfo=dt.UTC)


def _plan_shares(rng: Rng, site: Site, start: dt.date, spec: WorldSpec) -> list[Share]:
    quality = np.array([page.quality for page in site.pages])
    days = spec.days
    # Confounding: selection on quality plus noise, so better pages are shared more often.
    score = spec.confounding * quality + rng.logistic(scale=0.7, size=len(quality))
    shared = np.argsort(-score, kind="stable")[: round(spec.shared_fraction * len(quality))]
    shares: list[Share] = []
    for page in sorted(int(i) for i in shared):
        primary = int(rng.choice(len(PLATFORMS), p=spec.platform_weights))
        platforms = [PLATFORMS[primary]]
        if rng.random() < spec.second_platform_rate:
            platforms.append(str(rng.choice([p for p in PLATFORMS if p != PLATFORMS[primary]])))
        for platform in platforms:
            day = int(rng.integers(spec.first_link_days[0], spec.first_link_days[1] + 1))
            shares.append(Share(platform, page, day, posted_at(rng, start, day), False))
            for _ in range(int(rng.integers(0, 4))):
                day += int(rng.integers(5, 30))
                if day < days:
                    shares.append(Share(platform, page, day, posted_at(rng, start, day), True))
    return shares


def _first_links(site: Site, shares: Sequence[Share], start: dt.date) -> tuple[FirstLink, ...]:
    firsts = {
        FirstLink(share.platform, site.url(share.page), start + dt.timedelta(days=share.day))
        for share in shares
        if not share.repeat
    }
    return tuple(sorted(firsts, key=lambda link: (link.day, link.platform, link.page_url)))


# --- shared helpers ----------------------------------------------------------------------------------


def _code(rng: Rng, length: int, alphabet: str = ALNUM) -> str:
    return "".join(alphabet[int(i)] for i in rng.integers(len(alphabet), size=length))


def _snowflake(rng: Rng, at: dt.datetime, epoch_ms: int = 0) -> str:
    """X and LinkedIn ids carry their creation time in the high bits; the low 22 bits vary."""
    millis = int(at.timestamp() * 1000) + int(rng.integers(1000)) - epoch_ms
    return str((millis << 22) | int(rng.integers(1 << 22)))


def _bold(text: str) -> str:
    """Unicode "mathematical sans-serif bold", as LinkedIn posts fake bold text."""
    return "".join(
        chr(0x1D5D4 + ord(c) - ord("A"))
        if "A" <= c <= "Z"
        else chr(0x1D5EE + ord(c) - ord("a"))
        if "a" <= c <= "z"
        else c
        for c in text
    )


def csv_text(rows: Iterable[Sequence[str]], **dialect: Any) -> str:
    out = io.StringIO()
    csv.writer(out, **dialect).writerows(rows)
    return out.getvalue()


def _pick(rng: Rng, options: Sequence[Any]) -> Any:
    return options[int(rng.integers(len(options)))]


def _by_platform(shares: Iterable[Share], platform: str) -> list[Share]:
    return [share for share in shares if share.platform == platform]


# --- X ------------------------------------------------------------------------------------------------


def _x_time(at: dt.datetime) -> str:
    # Built by hand: strftime's %a and %b follow the process locale.
    return f"{WEEKDAYS[at.weekday()]} {MONTHS[at.month - 1]} {at:%d %H:%M:%S} +0000 {at.year}"


def _iso_z(at: dt.datetime) -> str:
    return f"{at:%Y-%m-%dT%H:%M:%S}.000Z"


def _display_url(url: str) -> str:
    parts = urlsplit(url)
    rest = parts.path + (f"?{parts.query}" if parts.query else "")
    return parts.netloc.removeprefix("www.") + (rest[:15] + "…" if len(rest) > 15 else rest)


def _with_links(rng: Rng, template: str, expanded: Sequence[str]) -> tuple[str, list[dict[str, Any]]]:
    """Full text with a t.co link per ``{link}``; indices count the raw text, entities included."""
    pieces = template.split("{link}")
    text, urls = pieces[0], []
    for url, piece in zip(expanded, pieces[1:], strict=True):
        short = "https://t.co/" + _code(rng, 10)
        urls.append(
            {
                "url": short,
                "expanded_url": url,
                "display_url": _display_url(url),
                "indices": [str(len(text)), str(len(text) + len(short))],
            }
        )
        text += short + piece
    return text, urls


def _tweet(
    rng: Rng,
    at: dt.datetime,
    template: str,
    expanded: Sequence[str],
    counts: tuple[int, int],
    source: str = WEB_APP,
    mentions: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    tweet_id = _snowflake(rng, at, TWITTER_EPOCH_MS)
    text, urls = _with_links(rng, template, expanded)
    tweet: dict[str, Any] = {
        "edit_info": {
            "initial": {
                "editTweetIds": [tweet_id],
                "editableUntil": _iso_z(at + dt.timedelta(hours=1)),
                "editsRemaining": "5",
                "isEditEligible": False,
            }
        },
        "retweeted": False,
        "source": source,
        "entities": {"hashtags": [], "symbols": [], "user_mentions": list(mentions), "urls": urls},
        "display_text_range": ["0", str(len(text))],
        "favorite_count": str(counts[0]),
        "id_str": tweet_id,
        "truncated": False,
        "retweet_count": str(counts[1]),
        "id": tweet_id,
    }
    if urls:
        tweet["possibly_sensitive"] = False
    tweet.update({"created_at": _x_time(at), "favorited": False, "full_text": text, "lang": "en"})
    return {"tweet": tweet}


def _owned_share_url(rng: Rng, site: Site, page: int) -> str:
    form = rng.random()
    if form < 0.3:
        return site.url(page, "https://") + X_TAG
    if form < 0.45:
        return site.url(page, "http://www.")
    return site.url(page, "https://")


def _x_tweets(
    rng: Rng, site: Site, shares: Sequence[Share], start: dt.date, days: int
) -> list[dict[str, Any]]:
    items: list[tuple[dt.datetime, dict[str, Any]]] = []
    for share in _by_platform(shares, "x"):
        page = site.pages[share.page]
        texts = X_REPEAT_TEXTS if share.repeat else X_SHARE_TEXTS
        template = _pick(rng, texts).replace("{title}", page.title)
        # Engagement grows with quality; repeat shares draw less.
        likes = int(rng.poisson(math.exp(2.2 + 0.7 * page.quality - 0.5 * share.repeat)))
        reposts = int(rng.poisson(0.15 * likes + 0.2))
        source = BUFFER_APP if rng.random() < 0.5 else WEB_APP
        items.append(
            (
                share.at,
                _tweet(
                    rng,
                    share.at,
                    template,
                    [_owned_share_url(rng, site, share.page)],
                    (likes, reposts),
                    source,
                ),
            )
        )
    # Filler spans months before the window too: an archive holds the whole account history.
    for kind in rng.integers(4, size=70):
        at = posted_at(rng, start, int(rng.integers(-120, days)))
        counts = (int(rng.poisson(4)), int(rng.poisson(0.5)))
        if kind == 0:
            template, url = _pick(rng, X_EXTERNAL_LINKS)
            items.append((at, _tweet(rng, at, template, [url], counts)))
        elif kind == 1:
            name, handle = _pick(rng, X_HANDLES)
            user_id = str(rng.integers(10**8, 10**9))
            mention = {
                "name": name,
                "screen_name": handle,
                "indices": ["3", str(4 + len(handle))],
                "id_str": user_id,
                "id": user_id,
            }
            _, url = _pick(rng, X_EXTERNAL_LINKS)
            template = f"RT @{handle}: " + _pick(rng, X_RETWEET_TEXTS)
            items.append((at, _tweet(rng, at, template, [url], (0, 0), mentions=[mention])))
        elif kind == 2:
            _, handle = _pick(rng, X_HANDLES)
            quoted_id = _snowflake(rng, at - dt.timedelta(days=1), TWITTER_EPOCH_MS)
            quoted = f"https://x.com/{handle}/status/{quoted_id}"
            items.append((at, _tweet(rng, at, "This, every single time. {link}", [quoted], counts)))
        else:
            items.append((at, _tweet(rng, at, _pick(rng, X_PLAIN_TEXTS), [], counts)))
    # Archives list posts newest first, but not strictly: sort on a jittered time.
    jitter = rng.normal(scale=3 * 86400, size=len(items))
    order = sorted(range(len(items)), key=lambda i: -(items[i][0].timestamp() + float(jitter[i])))
    return [items[i][1] for i in order]


def _js(global_name: str, value: Any) -> str:
    """A ``window.YTD...`` member in the archive's own layout: 2-space indent, ``" : "``, raw UTF-8."""
    payload = json.dumps(value, indent=2, ensure_ascii=False, separators=(",", " : "))
    return f"window.{global_name} = {payload}"


def _jackson(value: Any, depth: int = 0) -> str:
    """The manifest's layout (Jackson's default pretty printer): ``[ {`` ... ``} ]``."""
    pad = "  " * depth
    if isinstance(value, dict):
        items = [f"{pad}  {json.dumps(key)} : {_jackson(item, depth + 1)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        return "[ " + ", ".join(_jackson(item, depth) for item in value) + " ]"
    return json.dumps(value, ensure_ascii=False)


def x_archive(
    rng: Rng, site: Site, shares: Sequence[Share], start: dt.date, days: int, generated: dt.datetime
) -> bytes:
    """An X account archive (zip) whose posts are ``shares`` on X plus filler, generated at ``generated``."""
    handle = site.domain.split(".")[0].replace("-", "") + "hq"
    account_id = str(rng.integers(10**18, 2 * 10**18))
    friend_id = str(rng.integers(10**8, 10**9))
    tweets = _x_tweets(rng, site, shares, start, days)
    # Members the parser must leave alone. The DM links an owned page before any post does: picking
    # it up would move that page's first X link.
    dm_at = posted_at(rng, start, 5)
    dm_text, dm_urls = _with_links(
        rng,
        "Can we quote your guide in our newsletter? {link} Call me: +1 555 0100",
        [site.url(0, "https://")],
    )
    dm = {
        "dmConversation": {
            "conversationId": f"{friend_id}-{account_id}",
            "messages": [
                {
                    "messageCreate": {
                        "reactions": [],
                        "urls": [
                            {"url": u["url"], "expanded": u["expanded_url"], "display": u["display_url"]}
                            for u in dm_urls
                        ],
                        "text": dm_text,
                        "mediaUrls": [],
                        "senderId": friend_id,
                        "recipientId": account_id,
                        "id": _snowflake(rng, dm_at, TWITTER_EPOCH_MS),
                        "createdAt": _iso_z(dm_at),
                    }
                }
            ],
        }
    }
    logins = [
        {
            "ipAudit": {
                "accountId": account_id,
                "createdAt": _iso_z(posted_at(rng, start, int(day))),
                "loginIp": f"203.0.113.{int(rng.integers(1, 255))}",
            }
        }
        for day in sorted(rng.integers(days, size=6).tolist(), reverse=True)
    ]
    account = [
        {
            "account": {
                "email": f"social@{site.domain}",
                "createdVia": "web",
                "username": handle,
                "accountId": account_id,
                "createdAt": "2019-04-02T16:20:11.000Z",
                "accountDisplayName": handle.removesuffix("hq").title(),
            }
        }
    ]
    members = {
        "data/README.txt": "This archive contains your X data. Open Your archive.html to browse it.\n",
        "data/account.js": _js("YTD.account.part0", account),
        "data/direct-messages.js": _js("YTD.direct_messages.part0", [dm]),
        "data/ip-audit.js": _js("YTD.ip_audit.part0", logins),
        "data/tweets.js": _js("YTD.tweets.part0", tweets),
    }
    data_types = {
        key: {
            **extra,
            "files": [
                {"fileName": f"data/{name}.js", "globalName": f"YTD.{glob}.part0", "count": str(count)}
            ],
        }
        for key, name, glob, count, extra in (
            ("account", "account", "account", 1, {}),
            (
                "directMessages",
                "direct-messages",
                "direct_messages",
                1,
                {"mediaDirectory": "data/direct_messages_media"},
            ),
            ("ipAudit", "ip-audit", "ip_audit", len(logins), {}),
            ("tweets", "tweets", "tweets", len(tweets), {"mediaDirectory": "data/tweets_media"}),
        )
    }
    manifest = {
        "userInfo": {
            "accountId": account_id,
            "userName": handle,
            "displayName": handle.removesuffix("hq").title(),
        },
        "archiveInfo": {
            "sizeBytes": str(sum(len(text.encode()) for text in members.values())),
            "generationDate": f"{generated:%Y-%m-%dT%H:%M:%S}.187Z",
            "isPartialArchive": False,
            "maxPartSizeBytes": "53687091200",
        },
        "readmeInfo": {"fileName": "data/README.txt", "directory": "data/", "name": "README.txt"},
        "dataTypes": data_types,
    }
    members["data/manifest.js"] = "window.__THAR_CONFIG = " + _jackson(manifest)
    stamp = generated.timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name].encode())
    return buffer.getvalue()


# --- LinkedIn -------------------------------------------------------------------------------------------


def linkedin_shares(rng: Rng, site: Site, shares: Sequence[Share], start: dt.date, days: int) -> bytes:
    def short_link() -> str:
        return "https://lnkd.in/g" + _code(rng, 7, ALNUM + "-_")

    rows: list[tuple[dt.datetime, str, str, str]] = []
    for share in _by_platform(shares, "linkedin"):
        title = site.pages[share.page].title
        if share.repeat:
            lines = [f"In case you missed it: {title} {short_link()}"]
        else:
            points = rng.permutation(len(LINKEDIN_POINTS))[:2]
            lines = [
                _pick(rng, LINKEDIN_HOOKS).format(title=title),
                "",
                *(f"{_bold(LINKEDIN_POINTS[p][0])}? {LINKEDIN_POINTS[p][1]}" for p in points),
                "",
                f"Read the full guide: {short_link()}",
            ]
        shared = site.url(share.page) + (LINKEDIN_TAG if rng.random() < 0.3 else "")
        rows.append((share.at, "\n".join(lines), shared, ""))
    for _ in range(20):
        text, link, shared_kind = _pick(rng, LINKEDIN_FILLER)
        at = posted_at(rng, start, int(rng.integers(-200, days)))
        video = _code(rng, 11)
        youtube = shared_kind == "youtube"
        shared = f"https://www.youtube.com/watch?v={video}" if youtube else ""
        media = f"https://i.ytimg.com/vi/{video}/maxresdefault.jpg" if youtube else ""
        rows.append((at, f"{text} {short_link()}" if link else text, shared, media))
    rows.sort(key=lambda row: row[0], reverse=True)
    # LinkedIn's quirk: once CSV-decoded, every line of the commentary is still wrapped in double quotes.
    table = [LINKEDIN_COLUMNS] + [
        (
            f"{at:%Y-%m-%d %H:%M:%S}",
            "https://www.linkedin.com/feed/update/" + quote(f"urn:li:share:{_snowflake(rng, at)}", safe=""),
            '"\n"'.join(text.split("\n")),
            shared,
            media,
            "MEMBER_NETWORK",
        )
        for at, text, shared, media in rows
    ]
    return csv_text(table, lineterminator="\n").encode()


# --- Reddit ---------------------------------------------------------------------------------------------


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out


def reddit_posts(rng: Rng, site: Site, shares: Sequence[Share], start: dt.date, days: int) -> bytes:
    posts: list[tuple[dt.datetime, str, str, str, str]] = []
    for share in _by_platform(shares, "reddit"):
        page = site.pages[share.page]
        title = _pick(rng, REDDIT_LINK_TITLES).format(title=page.title, topic=page.topic)
        url = site.url(share.page, _pick(rng, ("https://www.", "https://")))
        posts.append((share.at, _pick(rng, SUBREDDITS), title, url, ""))
    for _ in range(15):
        title, body = _pick(rng, REDDIT_SELF_TITLES)
        at = posted_at(rng, start, int(rng.integers(-60, days)))
        posts.append((at, _pick(rng, SUBREDDITS), title.format(topic=_pick(rng, TOPICS)), "", body))
    posts.sort(key=lambda post: post[0])
    # Reddit ids are base 36 and grow with time.
    next_id = 36**6 + int(rng.integers(36**5))
    table: list[Sequence[str]] = []
    for at, subreddit, title, url, body in posts:
        next_id += int(rng.integers(1, 40_000))
        post_id = _base36(next_id)
        slug = "_".join("".join(c for c in word if c.isalnum()) for word in title.lower().split()[:8])
        permalink = f"https://www.reddit.com/r/{subreddit}/comments/{post_id}/{slug}/"
        ip = f"198.51.100.{int(rng.integers(1, 255))}"
        table.append(
            (
                post_id,
                permalink,
                f"{at:%Y-%m-%d %H:%M:%S} UTC",
                ip,
                subreddit,
                "0",
                title,
                url or permalink,
                body,
            )
        )
    return csv_text([REDDIT_COLUMNS, *reversed(table)]).encode()


# --- Ahrefs ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferringDomain:
    """A site linking owned pages, with the figures Ahrefs reports for it."""

    name: str
    rating: int
    traffic: int
    platform: str


def _domain_name(rng: Rng) -> str:
    joiner = "-" if rng.random() < 0.2 else ""
    name: str = _pick(rng, DOMAIN_FIRST) + joiner + _pick(rng, DOMAIN_SECOND)
    return name + DOMAIN_SUFFIXES[int(rng.choice(len(DOMAIN_SUFFIXES), p=(0.6, 0.15, 0.15, 0.1)))]


def _ahrefs_backlinks(
    rng: Rng, natural_rng: Rng, site: Site, shares: Sequence[Share], spec: WorldSpec, start: dt.date
) -> bytes:
    """The Ahrefs export: BACKLINK_ROWS links from REFERRING_DOMAINS sites, more to better pages, first seen
    anywhere in the window and independent of the social links; then the planted natural backlinks
    (``spec.natural_backlinks``), drawn from ``natural_rng`` alone."""
    days = spec.days
    names: list[str] = []
    while len(names) < REFERRING_DOMAINS:
        name = _domain_name(rng)
        if name not in names:
            names.append(name)
    rating = rng.integers(8, 83, size=len(names))
    traffic = np.round(np.exp(rng.normal(7, 2, size=len(names)))).astype(int)
    platform = [_pick(rng, DOMAIN_PLATFORMS) for _ in names]
    domains = [
        ReferringDomain(name, int(rating[i]), int(traffic[i]), platform[i]) for i, name in enumerate(names)
    ]
    popularity = rng.dirichlet(np.full(len(domains), 0.8))
    # Better pages attract more links: the same latent quality that drives rankings.
    quality = np.array([page.quality for page in site.pages])
    attraction = np.exp(0.9 * quality)
    targets = rng.choice(len(site.pages), size=BACKLINK_ROWS, p=attraction / attraction.sum())
    sources = rng.choice(len(domains), size=BACKLINK_ROWS, p=popularity)
    rows: list[Sequence[str]] = [AHREFS_COLUMNS]
    for target, source in zip(targets.tolist(), sources.tolist(), strict=True):
        domain = domains[source]
        referring = _referring_page(rng, site, target, domain)
        first = int(rng.integers(days))
        lost = days - 1 > first + 5 and rng.random() < 0.12
        lost_day = int(rng.integers(first + 5, days)) if lost else None
        last = (
            lost_day - int(rng.integers(1, 4))
            if lost_day is not None
            else int(rng.integers(max(first, days - 10), days))
        )
        rows.append(
            _backlink_row(rng, site, target, domain, referring, start, first, max(first, last), lost_day)
        )
    for target, domain, first in _natural_backlinks(natural_rng, site, shares, spec, set(names)):
        referring = _referring_page(natural_rng, site, target, domain)
        # Still linking at the end of the window: the planted domains are the page's for good.
        last = int(natural_rng.integers(max(first, days - 10), days))
        rows.append(_backlink_row(natural_rng, site, target, domain, referring, start, first, last, None))
    text = csv_text(rows, delimiter="\t", quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


def _natural_backlinks(
    rng: Rng, site: Site, shares: Sequence[Share], spec: WorldSpec, taken: set[str]
) -> list[tuple[int, ReferringDomain, int]]:
    """The planted natural backlinks as (page, referring domain, first-seen window day): per page and
    planted platform, Poisson(domains_per_week / 7) new domains a day from the day after the page's first
    link there to the window's end. A page's domains are distinct and none of ``taken`` (the domains of the
    other links), so each is a new referring domain of the page; a domain may link several pages, with
    the same figures."""
    first_day = {(share.platform, share.page): share.day for share in shares if not share.repeat}
    pool = [name for name in DOMAIN_NAMES if name not in taken]
    known: dict[str, ReferringDomain] = {}
    links: list[tuple[int, ReferringDomain, int]] = []
    for page in range(len(site.pages)):
        arrivals: list[int] = []
        for planted in spec.natural_backlinks:
            linked = first_day.get((planted.platform, page))
            if linked is None:
                continue
            after = np.arange(linked + 1, spec.days)
            counts = rng.poisson(planted.domains_per_week / 7, size=len(after))
            arrivals.extend(np.repeat(after, counts).tolist())
        chosen = rng.choice(len(pool), size=len(arrivals), replace=False)
        for name, day in zip((pool[int(i)] for i in chosen), arrivals, strict=True):
            if name not in known:
                traffic = int(np.round(np.exp(rng.normal(7, 2))))
                known[name] = ReferringDomain(
                    name, int(rng.integers(8, 83)), traffic, _pick(rng, DOMAIN_PLATFORMS)
                )
            links.append((page, known[name], day))
    return links


def _referring_page(rng: Rng, site: Site, target: int, domain: ReferringDomain) -> tuple[str, str, str]:
    """A page of ``domain`` linking owned page ``target``: its title, URL and the link's anchor text."""
    page = site.pages[target]
    words = " ".join(
        rng.choice(
            ["notes", "kit", "trip", "gear", "season", "list", "picks", "advice", "weekend", "route"],
            size=3,
            replace=False,
        ).tolist()
    )
    host = ("www." if rng.random() < 0.5 else "") + domain.name
    section = _pick(rng, ("blog", "articles", "news", "forum"))
    url = f"https://{host}/{section}/{words.replace(' ', '-')}-{int(rng.integers(100, 9999))}/"
    anchor = _pick(rng, (page.title, page.title.lower(), *ANCHOR_GENERIC, site.url(target, "")))
    title = f"{words.title()} | {domain.name.split('.')[0].replace('-', ' ').title()}"
    return title, url, anchor


def _backlink_row(
    rng: Rng,
    site: Site,
    target: int,
    domain: ReferringDomain,
    referring: tuple[str, str, str],
    start: dt.date,
    first: int,
    last: int,
    lost_day: int | None,
) -> tuple[str, ...]:
    """One row of the export (AHREFS_COLUMNS): a link first seen, last seen and lost (None: still there)
    on those window days."""

    def seen(day: int) -> str:
        moment = dt.time(int(rng.integers(24)), int(rng.integers(60)), int(rng.integers(60)))
        return f"{dt.datetime.combine(start + dt.timedelta(days=day), moment):%Y-%m-%d %H:%M:%S}"

    title, url, anchor = referring
    forum = domain.platform == "Forums"
    lost = lost_day is not None
    linked = int(rng.integers(1, 40))
    return (
        title,
        url,
        "en",
        domain.platform,
        "200",
        str(domain.rating),
        str(int(rng.integers(0, 40))),
        str(domain.traffic),
        str(int(rng.integers(0, 60))),
        str(linked),
        str(linked + int(rng.integers(0, 30))),
        str(int(rng.poisson(30))),
        str(int(rng.poisson(12))),
        site.url(target, _pick(rng, ("https://www.", "https://", "http://www."))),
        "We compared a few options, and",
        anchor,
        "is the one we keep sending friends to.",
        "text",
        str(not forum).lower(),
        str(forum or rng.random() < 0.15).lower(),
        str(forum).lower(),
        str(rng.random() < 0.03).lower(),
        "true",
        "true",
        "removedfromhtml" if lost else "",
        "",
        "" if lost else "pagefound",
        "",
        "false",
        seen(first),
        seen(last),
        seen(lost_day) if lost_day is not None else "",
    )


# --- Rankings -------------------------------------------------------------------------------------------


def _rank_tracker(
    rng: Rng, site: Site, shares: Sequence[Share], spec: WorldSpec, start: dt.date
) -> tuple[bytes, list[tuple[float | None, ...]]]:
    """The tracker CSV, and per page and day the observed position change the planted effects caused."""
    days = spec.days
    pairs = [(k, p) for k, members in enumerate(site.keyword_pages) for p in members]
    keyword_of = np.array([k for k, _ in pairs])
    page_of = np.array([p for _, p in pairs])
    quality = np.array([page.quality for page in site.pages])
    page_effect = rng.normal(scale=0.5, size=len(site.pages))
    keyword_effect = rng.normal(scale=0.7, size=len(site.keywords))
    latent = (
        -quality[page_of]
        + page_effect[page_of]
        + keyword_effect[keyword_of]
        + rng.normal(scale=0.35, size=len(pairs))
    )
    baseline = spec.best_position + (WORST_BASELINE - spec.best_position) / (1 + np.exp(-(latent - 0.92)))
    t = np.arange(days)
    slope = rng.normal(scale=3.0, size=len(site.pages))
    weekday = np.array([(start + dt.timedelta(days=int(d))).weekday() for d in t])
    amplitude = rng.uniform(0.3, 1.0, size=len(site.keywords))
    phase = rng.uniform(0, 7, size=len(site.keywords))
    cycle = 2 * np.pi * (weekday[None, :] + phase[keyword_of][:, None]) / 7
    weekly = amplitude[keyword_of][:, None] * np.sin(cycle)
    untreated: FloatArray = (
        baseline[:, None]
        + slope[page_of][:, None] * (t[None, :] / days - 0.5)
        + weekly
        + rng.normal(scale=spec.noise_sd, size=(len(pairs), days))
    )
    rows_of = [[i for i, (k, _) in enumerate(pairs) if k == keyword] for keyword in range(len(site.keywords))]
    positions = _results_pages(untreated + _planted_shift(site, shares, spec, days)[page_of], rows_of)
    counterfactual = _results_pages(untreated, rows_of) if spec.effects else positions
    dropped = rng.random(positions.shape) < DROPOUT_RATE
    unranked = (positions > MAX_POSITION) | dropped
    rows: list[Sequence[str]] = [RANK_COLUMNS]
    for day in range(days):
        date = (start + dt.timedelta(days=day)).isoformat()
        for keyword, members in enumerate(rows_of):
            phrase, volume = site.keywords[keyword]
            for i in sorted(members, key=lambda m: int(positions[m, day])):
                page = int(page_of[i])
                url = site.url(page) + site.pages[page].tracker_suffix
                position = "" if unranked[i, day] else str(positions[i, day])
                rows.append((date, phrase, url, position, "google", "desktop", "US", str(volume)))
    both_ranked = ~unranked & (counterfactual <= MAX_POSITION)
    shift = [
        tuple(
            _mean_or_none(
                (positions - counterfactual)[page_of == page, day], both_ranked[page_of == page, day]
            )
            for day in range(days)
        )
        for page in range(len(site.pages))
    ]
    return csv_text(rows, lineterminator="\n").encode(), shift


def _ga4_traffic(
    rng: Rng,
    site: Site,
    shares: Sequence[Share],
    spec: WorldSpec,
    start: dt.date,
    shift: Sequence[Sequence[float | None]],
) -> bytes:
    """A GA4 Traffic acquisition report downloaded as CSV: per day, landing page and session source /
    medium. Organic search visits follow a page's quality and its observed position change (the planted
    ranking effects, ``ORGANIC_PER_POSITION``), a few are direct, a few come from Facebook whatever the
    site posts (``BACKGROUND_SOCIAL``); each post brings its page referral visits from its platform on its
    day and the days after (``REFERRAL_SESSIONS`` x ``referral_scale``), none before a page's first post
    there. Engagement does not depend on where a visitor came from."""
    days = spec.days
    quality = np.array([page.quality for page in site.pages])
    moved = np.array([[value or 0.0 for value in page] for page in shift], dtype=np.float64)
    organic = rng.poisson(
        np.exp(1.2 + 0.6 * quality)[:, None] * np.exp(-ORGANIC_PER_POSITION * moved),
        size=(len(site.pages), days),
    )
    direct = rng.poisson(0.4, size=(len(site.pages), days))
    background_source, background_rate = BACKGROUND_SOCIAL
    background = rng.poisson(background_rate, size=(len(site.pages), days))
    referral: dict[tuple[str, int], npt.NDArray[np.float64]] = {}
    for share in shares:
        curve = referral.setdefault((share.platform, share.page), np.zeros(days))
        reach = np.arange(min(REFERRAL_DAYS, days - share.day))
        curve[share.day + reach] += (
            spec.referral_scale * REFERRAL_SESSIONS[share.platform] * REFERRAL_DECAY**reach
        )
    visits: list[tuple[int, int, str, str, int]] = []
    for page in range(len(site.pages)):
        path = site.pages[page].path
        for day in range(days):
            visits.append((day, page, path, "google / organic", int(organic[page, day])))
            visits.append((day, page, path, "(direct) / (none)", int(direct[page, day])))
            visits.append((day, page, path, background_source, int(background[page, day])))
    for (platform, page), curve in sorted(referral.items()):
        source, tag = GA4_REFERRERS[platform]
        counts = rng.poisson(curve)
        path = site.pages[page].path + tag
        visits.extend((day, page, path, source, int(counts[day])) for day in range(days))
    rows = []
    for day, _, path, source, sessions in sorted(visits):
        if sessions == 0:
            continue  # GA4 has no row for what did not happen
        engaged = int(rng.binomial(sessions, ENGAGED_SHARE))
        seconds = float(np.round(rng.gamma(4.0, 12.0) * engaged / sessions, 4))
        rows.append((day, path, source, sessions, engaged, seconds, round(1 - engaged / sessions, 4)))
    end = start + dt.timedelta(days=days - 1)
    total = sum(row[3] for row in rows)
    total_engaged = sum(row[4] for row in rows)
    by_day = np.bincount([row[0] for row in rows], weights=[row[3] for row in rows], minlength=days)
    chart = [("Nth day", "Sessions"), *((f"{day:04d}", str(int(by_day[day]))) for day in range(days))]
    preamble = (
        "# ----------------------------------------\n"
        "# Traffic acquisition: Session source / medium\n"
        f"# Account: {site.domain}\n"
        f"# Property: {site.domain} - GA4\n"
        "# ----------------------------------------\n"
        "#\n"
        "# All Users\n"
        f"# Start date: {start:%Y%m%d}\n"
        f"# End date: {end:%Y%m%d}\n"
        "# ----------------------------------------\n"
    )
    header = (
        "Date",
        "Landing page + query string",
        "Session source / medium",
        "Sessions",
        "Engaged sessions",
        "Average engagement time per session",
        "Bounce rate",
    )
    table = [
        header,
        ("", "", "", str(total), str(total_engaged), "", str(round(1 - total_engaged / total, 4))),
        *(
            (f"{start + dt.timedelta(days=day):%Y%m%d}", path, source, str(s), str(e), str(t), str(b))
            for day, path, source, s, e, t, b in rows
        ),
    ]
    blocks = (csv_text(chart, lineterminator="\n"), csv_text(table, lineterminator="\n"))
    return (preamble + "\n" + "\n".join(blocks)).encode("utf-8")


def _results_pages(value: FloatArray, rows_of: Sequence[Sequence[int]]) -> npt.NDArray[np.int64]:
    """Integer positions per keyword and day, one page per place, as on a results page."""
    positions = np.zeros(value.shape, dtype=np.int64)
    for members in rows_of:
        for day in range(value.shape[1]):
            # Ties go to the next free place.
            previous = 0
            for i in sorted(members, key=lambda m: float(value[m, day])):
                previous = max(round(float(value[i, day])), previous + 1, 1)
                positions[i, day] = previous
    return positions


def _mean_or_none(values: npt.NDArray[np.int64], keep: npt.NDArray[np.bool_]) -> float | None:
    return float(values[keep].mean()) if keep.any() else None


def _planted_shift(site: Site, shares: Sequence[Share], spec: WorldSpec, days: int) -> FloatArray:
    """Per page and day, the planted latent position change from the page's first link per platform."""
    shift = np.zeros((len(site.pages), days))
    for effect in spec.effects:
        for share in _by_platform(shares, effect.platform):
            if not share.repeat:
                shift[share.page] += [effect.at(day - share.day) for day in range(days)]
    return shift
