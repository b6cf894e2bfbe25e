"""The one place for lake schemas: every Parquet dataset's explicit Arrow schema and partition key.

Each dataset is Hive-partitioned by one date column, by day (``<column>=YYYY-MM-DD`` folders) or, for
the social datasets whose days hold a handful of rows over many years, by month
(``<column>_month=YYYY-MM``). The column stays inside the files too, so readers need no partition
inference and an empty dataset still has its full schema (``_schema.parquet``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa


@dataclass(frozen=True)
class LakeDataset:
    name: str
    schema: pa.Schema
    partition_column: str
    partition_by: Literal["day", "month"] = "day"
    # Columns whose values rarely repeat (ids, texts, permalinks): written without a Parquet
    # dictionary, which would be built for every page only to be dropped (a sixth of a write's time).
    mostly_distinct: tuple[str, ...] = ()

    @property
    def dictionary_columns(self) -> list[str]:
        return [name for name in self.schema.names if name not in self.mostly_distinct]


UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

SOCIAL_POSTS = LakeDataset(
    "social_posts",
    pa.schema(
        [
            pa.field("platform", pa.string(), nullable=False),
            pa.field("post_id", pa.string(), nullable=False),
            pa.field("permalink", pa.string()),
            pa.field("posted_at", UTC_TIMESTAMP, nullable=False),
            pa.field("post_date", pa.date32(), nullable=False),
            pa.field("text", pa.string()),
            pa.field("is_repost", pa.bool_(), nullable=False),
            pa.field("delivery_id", pa.string(), nullable=False),
            pa.field("source_file", pa.string(), nullable=False),
        ]
    ),
    "post_date",
    "month",
    mostly_distinct=("post_id", "permalink", "text"),
)

SOCIAL_LINKS = LakeDataset(
    "social_links",
    pa.schema(
        [
            pa.field("platform", pa.string(), nullable=False),
            pa.field("post_id", pa.string(), nullable=False),
            pa.field("permalink", pa.string()),
            pa.field("posted_at", UTC_TIMESTAMP, nullable=False),
            pa.field("post_date", pa.date32(), nullable=False),
            pa.field("url", pa.string(), nullable=False),
            pa.field("canonical_url", pa.string()),
            pa.field("link_kind", pa.string(), nullable=False),
            pa.field("is_shortener", pa.bool_(), nullable=False),
            pa.field("is_repost", pa.bool_(), nullable=False),
            pa.field("delivery_id", pa.string(), nullable=False),
        ]
    ),
    "post_date",
    "month",
    mostly_distinct=("post_id", "permalink", "url"),
)

ENGAGEMENT_SNAPSHOTS = LakeDataset(
    "engagement_snapshots",
    pa.schema(
        [
            pa.field("platform", pa.string(), nullable=False),
            # NULL when an analytics export names the post only by its permalink (joined on that instead).
            pa.field("post_id", pa.string()),
            pa.field("permalink", pa.string()),
            pa.field("snapshot_date", pa.date32(), nullable=False),
            pa.field("likes", pa.int64()),
            pa.field("reposts", pa.int64()),
            pa.field("replies", pa.int64()),
            pa.field("impressions", pa.int64()),
            pa.field("clicks", pa.int64()),
            pa.field("delivery_id", pa.string(), nullable=False),
            pa.field("views", pa.int64()),
            pa.field("shares", pa.int64()),
        ]
    ),
    "snapshot_date",
    "month",
    mostly_distinct=("post_id", "permalink"),
)

BACKLINKS = LakeDataset(
    "backlinks",
    pa.schema(
        [
            pa.field("tool", pa.string(), nullable=False),
            pa.field("source_url", pa.string(), nullable=False),
            pa.field("source_canonical", pa.string(), nullable=False),
            pa.field("source_domain", pa.string(), nullable=False),
            # NULL where the tool does not say which page is linked (Search Console's "Latest links").
            pa.field("target_url", pa.string()),
            pa.field("target_canonical", pa.string()),
            pa.field("anchor", pa.string()),
            pa.field("nofollow", pa.bool_(), nullable=False),
            pa.field("ugc", pa.bool_(), nullable=False),
            pa.field("sponsored", pa.bool_(), nullable=False),
            pa.field("first_seen", pa.date32()),
            pa.field("last_seen", pa.date32()),
            pa.field("lost", pa.bool_()),
            pa.field("source_domain_rating", pa.float64()),
            pa.field("snapshot_date", pa.date32(), nullable=False),
            pa.field("delivery_id", pa.string(), nullable=False),
        ]
    ),
    "snapshot_date",
)

RANKINGS = LakeDataset(
    "rankings",
    pa.schema(
        [
            pa.field("source", pa.string(), nullable=False),
            pa.field("ranking_date", pa.date32(), nullable=False),
            pa.field("query", pa.string(), nullable=False),
            # A rank tracker's "not ranked" row (outside the tracked depth) has no position and, when the
            # tracker names no page, no URL: it says the query was tracked that day (censoring, not a gap).
            pa.field("url", pa.string()),
            pa.field("canonical_url", pa.string()),
            pa.field("position", pa.float64()),
            pa.field("clicks", pa.int64()),
            pa.field("impressions", pa.int64()),
            pa.field("search_engine", pa.string()),
            pa.field("device", pa.string()),
            pa.field("country", pa.string()),
            pa.field("search_volume", pa.int64()),
            pa.field("delivery_id", pa.string(), nullable=False),
        ]
    ),
    "ranking_date",
    # A tracker's export spans months with thousands of rows a day: daily folders made a file per day per
    # delivery (365 for a year's export), and writing them was most of the ingest's time.
    "month",
)

# Web-analytics sessions (landing/traffic/): one row per day, landing page, session source and medium as an
# analytics tool reports them. A NULL dimension is one the tool did not break the sessions down by
# (Plausible's export has per-source and per-entry-page tables, never both at once: docs/decisions.md).
TRAFFIC_SESSIONS = LakeDataset(
    "traffic_sessions",
    pa.schema(
        [
            pa.field("format", pa.string(), nullable=False),
            # The analytics tool that counted the sessions ("ga4", "plausible"), whatever the format: tools
            # define a session differently, so their counts are never added together.
            pa.field("tool", pa.string(), nullable=False),
            # The analytics property or site as the source names it: a GA4 property id (API), the
            # property's name (a report download's "# Property:" line), a Plausible site; NULL if unsaid.
            pa.field("property", pa.string()),
            # The day in the property's own time zone, as the tool reports it.
            pa.field("traffic_date", pa.date32(), nullable=False),
            pa.field("landing_page", pa.string()),
            pa.field("canonical_url", pa.string()),
            pa.field("session_source", pa.string()),
            pa.field("session_medium", pa.string()),
            pa.field("channel_group", pa.string()),
            pa.field("sessions", pa.int64(), nullable=False),
            pa.field("engaged_sessions", pa.int64()),
            # Seconds, averaged over the row's sessions. Session duration (first to last hit) and GA4's
            # engagement time (foreground time) are different measures: each is kept as reported.
            pa.field("average_session_duration", pa.float64()),
            pa.field("average_engagement_time", pa.float64()),
            # A share of the row's sessions, 0..1.
            pa.field("bounce_rate", pa.float64()),
            pa.field("delivery_id", pa.string(), nullable=False),
        ]
    ),
    "traffic_date",
    "month",
)

INGEST_LEDGER = LakeDataset(
    "ingest_ledger",
    pa.schema(
        [
            pa.field("delivery_id", pa.string(), nullable=False),
            pa.field("landing_path", pa.string(), nullable=False),
            pa.field("format", pa.string()),
            pa.field("size_bytes", pa.int64(), nullable=False),
            pa.field("status", pa.string(), nullable=False),
            pa.field("message", pa.string()),
            pa.field("records_read", pa.int64(), nullable=False),
            pa.field("records_kept", pa.int64(), nullable=False),
            pa.field("records_quarantined", pa.int64(), nullable=False),
            pa.field("ingested_at", UTC_TIMESTAMP, nullable=False),
            pa.field("ingest_date", pa.date32(), nullable=False),
        ]
    ),
    "ingest_date",
)

QUARANTINED_RECORDS = LakeDataset(
    "quarantined_records",
    pa.schema(
        [
            pa.field("delivery_id", pa.string(), nullable=False),
            pa.field("landing_path", pa.string(), nullable=False),
            pa.field("member", pa.string()),
            pa.field("location", pa.string(), nullable=False),
            pa.field("reason", pa.string(), nullable=False),
            pa.field("excerpt", pa.string()),
            pa.field("quarantined_at", UTC_TIMESTAMP, nullable=False),
            pa.field("ingest_date", pa.date32(), nullable=False),
        ]
    ),
    "ingest_date",
)

REDIRECT_HOP = pa.struct(
    [pa.field("url", pa.string()), pa.field("status", pa.int32()), pa.field("kind", pa.string())]
)

# One row per URL the crawler fetched (pipeline.crawl): the redirect chain and what the final page says.
CRAWL_FETCHES = LakeDataset(
    "crawl_fetches",
    pa.schema(
        [
            pa.field("fetch_id", pa.string(), nullable=False),
            pa.field("crawl_id", pa.string(), nullable=False),
            pa.field("purpose", pa.string(), nullable=False),
            pa.field("url", pa.string(), nullable=False),
            pa.field("url_canonical", pa.string(), nullable=False),
            pa.field("final_url", pa.string()),
            pa.field("final_canonical", pa.string()),
            pa.field("status", pa.int32()),
            pa.field("content_type", pa.string()),
            pa.field("redirects", pa.list_(REDIRECT_HOP), nullable=False),
            pa.field("canonical", pa.string()),
            pa.field("canonical_canonical", pa.string()),
            pa.field("canonical_html", pa.string()),
            pa.field("canonical_header", pa.string()),
            pa.field("meta_robots", pa.list_(pa.string()), nullable=False),
            pa.field("x_robots_tag", pa.list_(pa.string()), nullable=False),
            pa.field("noindex", pa.bool_(), nullable=False),
            pa.field("nofollow", pa.bool_(), nullable=False),
            pa.field("robots_allowed", pa.bool_()),
            pa.field("links_extracted", pa.bool_(), nullable=False),
            pa.field("links_found", pa.int32(), nullable=False),
            pa.field("error", pa.string()),
            pa.field("error_kind", pa.string()),
            pa.field("truncated", pa.bool_(), nullable=False),
            pa.field("not_modified", pa.bool_(), nullable=False),
            pa.field("body_bytes", pa.int64(), nullable=False),
            pa.field("attempts", pa.int32(), nullable=False),
            pa.field("elapsed_ms", pa.float64(), nullable=False),
            pa.field("fetched_at", UTC_TIMESTAMP, nullable=False),
            pa.field("fetch_date", pa.date32(), nullable=False),
        ]
    ),
    "fetch_date",
)

# One row per outlink of a crawled page (owned pages, and linking pages where configured).
CRAWL_LINKS = LakeDataset(
    "crawl_links",
    pa.schema(
        [
            pa.field("fetch_id", pa.string(), nullable=False),
            pa.field("crawl_id", pa.string(), nullable=False),
            pa.field("source_url", pa.string(), nullable=False),
            pa.field("source_canonical", pa.string(), nullable=False),
            pa.field("source_domain", pa.string(), nullable=False),
            pa.field("page_url", pa.string(), nullable=False),
            pa.field("position", pa.int32(), nullable=False),
            pa.field("target_url", pa.string(), nullable=False),
            pa.field("target_canonical", pa.string()),
            pa.field("anchor", pa.string()),
            pa.field("rel", pa.list_(pa.string()), nullable=False),
            pa.field("nofollow", pa.bool_(), nullable=False),
            pa.field("ugc", pa.bool_(), nullable=False),
            pa.field("sponsored", pa.bool_(), nullable=False),
            pa.field("page_nofollow", pa.bool_(), nullable=False),
            pa.field("fetched_at", UTC_TIMESTAMP, nullable=False),
            pa.field("fetch_date", pa.date32(), nullable=False),
        ]
    ),
    "fetch_date",
)

# Datasets that parsers fill, by the record kind a parser yields.
RECORD_DATASETS: dict[str, LakeDataset] = {
    "post": SOCIAL_POSTS,
    "link": SOCIAL_LINKS,
    "engagement": ENGAGEMENT_SNAPSHOTS,
    "backlink": BACKLINKS,
    "ranking": RANKINGS,
    "traffic": TRAFFIC_SESSIONS,
}

ALL_DATASETS: tuple[LakeDataset, ...] = (
    SOCIAL_POSTS,
    SOCIAL_LINKS,
    ENGAGEMENT_SNAPSHOTS,
    BACKLINKS,
    RANKINGS,
    TRAFFIC_SESSIONS,
    INGEST_LEDGER,
    QUARANTINED_RECORDS,
    CRAWL_FETCHES,
    CRAWL_LINKS,
)
