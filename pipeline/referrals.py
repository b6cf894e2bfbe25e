"""Which traffic source is which social platform or channel: the one reference the warehouse classifies by.

The platforms and the other channels themselves are vars of ``sql/dbt_project.yml`` (``platforms``,
``channels``; :func:`pipeline.project.var`): this table says which hosts and names are which of them.

The build writes these rows to ``staging.referral_sources`` (bound parameters, a fixed statement), and
``sql/models/core/traffic_source_channels.sql`` applies them, in a fixed order of precedence, to every
(session source, medium, channel group) the analytics exports hold:

1. no source, medium or channel group at all (a tool's per-page totals): ``all_sources``;
2. a paid medium (``cpc``...) or a paid GA4 channel group: ``paid``, whatever the platform;
3. a social host (the source, or its referrer host, is one of ``HOSTS`` or a subdomain of one; the
   hosts of the ingested Mastodon posts' permalinks count as ``mastodon``) or a social source name
   (``NAMES``: ``facebook``, ``ig``... as UTM tags write them): that platform;
4. GA4's ``Organic Social`` channel group or the ``social`` medium with no known platform: ``social_other``;
5. a search engine (``SEARCH``), the ``organic`` medium or ``Organic Search``: ``organic``;
6. ``email``, then ``direct`` (``(direct)`` / ``(none)``), then ``referral``; anything else ``other``.

No maintained referrer dataset installs from the package registry with today's platforms (Snowplow's
referer-parser data as packaged dates from 2016 and lacks x.com, bsky.app, threads, TikTok and
Mastodon): this table is kept here, small and documented (docs/decisions.md). Sites add hosts in
``socialrank.toml`` (``[traffic] social_hosts``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the configuration imports this module, and DAG files import the configuration
    import duckdb

# Referrer hosts of each platform; a subdomain of one is that platform too (l.facebook.com, old.reddit.com).
HOSTS: Mapping[str, str] = {
    "t.co": "x",
    "x.com": "x",
    "twitter.com": "x",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "fb.me": "facebook",
    "instagram.com": "instagram",
    "threads.net": "threads",
    "threads.com": "threads",
    "lnkd.in": "linkedin",
    "linkedin.com": "linkedin",
    "reddit.com": "reddit",
    "redd.it": "reddit",
    "youtube.com": "youtube",
    "youtu.be": "youtube",
    "bsky.app": "bluesky",
    "tiktok.com": "tiktok",
    "mastodon.social": "mastodon",
    "mastodon.online": "mastodon",
}
# Source names without a host, as UTM tags and Plausible write them.
NAMES: Mapping[str, str] = {
    "twitter": "x",
    "x": "x",
    "facebook": "facebook",
    "fb": "facebook",
    "instagram": "instagram",
    "ig": "instagram",
    "threads": "threads",
    "linkedin": "linkedin",
    "reddit": "reddit",
    "youtube": "youtube",
    "bluesky": "bluesky",
    "bsky": "bluesky",
    "tiktok": "tiktok",
    "mastodon": "mastodon",
}
# Search engines, by host (subdomains included) or name: their referrals are organic search.
SEARCH = (
    "google",
    "google.com",
    "bing",
    "bing.com",
    "duckduckgo",
    "duckduckgo.com",
    "yahoo",
    "search.yahoo.com",
    "ecosia",
    "ecosia.org",
    "baidu",
    "baidu.com",
    "yandex",
    "yandex.ru",
    "naver",
    "search.naver.com",
    "qwant",
    "qwant.com",
    "search.brave.com",
    "startpage.com",
)
MEDIUMS: Mapping[str, str] = {
    "cpc": "paid",
    "ppc": "paid",
    "paid": "paid",
    "paidsearch": "paid",
    "paid_social": "paid",
    "paidsocial": "paid",
    "cpm": "paid",
    "cpv": "paid",
    "display": "paid",
    "social": "social_other",
    "organic": "organic",
    "email": "email",
    "e-mail": "email",
    "newsletter": "email",
    "(none)": "direct",
    "referral": "referral",
}
# GA4's default channel groups (lower case).
CHANNEL_GROUPS: Mapping[str, str] = {
    "organic social": "social_other",
    "organic search": "organic",
    "paid search": "paid",
    "paid social": "paid",
    "paid video": "paid",
    "paid shopping": "paid",
    "paid other": "paid",
    "display": "paid",
    "cross-network": "paid",
    "email": "email",
    "direct": "direct",
    "referral": "referral",
}


def reference_rows(extra_hosts: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(kind, key, channel) rows: ``host``, ``name``, ``search``, ``medium``, ``channel_group``; the
    configured hosts after the built-in ones (a configured host overrides a built-in one)."""
    hosts = {**HOSTS, **extra_hosts}
    return [
        *(("host", host, platform) for host, platform in sorted(hosts.items())),
        *(("name", name, platform) for name, platform in sorted(NAMES.items())),
        *(("search", key, "organic") for key in SEARCH),
        *(("medium", medium, channel) for medium, channel in sorted(MEDIUMS.items())),
        *(("channel_group", group, channel) for group, channel in sorted(CHANNEL_GROUPS.items())),
    ]


def write_reference(con: duckdb.DuckDBPyConnection, extra_hosts: Mapping[str, str]) -> None:
    """Write ``staging.referral_sources`` into a build (fixed statements, rows as bound parameters)."""
    con.execute(
        "CREATE OR REPLACE TABLE staging.referral_sources (kind VARCHAR NOT NULL, key VARCHAR NOT NULL, "
        "channel VARCHAR NOT NULL, PRIMARY KEY (kind, key))"
    )
    con.executemany("INSERT INTO staging.referral_sources VALUES (?, ?, ?)", reference_rows(extra_hosts))
