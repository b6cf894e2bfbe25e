"""Input formats, one module each. A delivery's format is detected from its content, in this order.

Social archives come first (their members are recognised by path and content), then engagement
exports, backlink tools and ranking data (tables recognised by their headers). Where two formats could
claim the same header, the more specific one is earlier: Semrush positions and the generic rank
tracker before Search Console's performance tables, whose first column can be ``Date``.
"""

from __future__ import annotations

from pipeline.delivery import Delivery
from pipeline.sources.ahrefs import AhrefsBacklinks
from pipeline.sources.analytics_linkedin import LinkedInPageAnalytics
from pipeline.sources.analytics_meta import MetaBusinessPosts
from pipeline.sources.analytics_x import XPostAnalytics
from pipeline.sources.analytics_youtube import YouTubeStudioTable
from pipeline.sources.base import SourceFormat
from pipeline.sources.bluesky import BlueskyRepository
from pipeline.sources.facebook import FacebookPosts
from pipeline.sources.instagram import InstagramExport
from pipeline.sources.linkedin import LinkedInShares
from pipeline.sources.majestic import MajesticBacklinks
from pipeline.sources.mastodon import MastodonOutbox
from pipeline.sources.moz import MozLinks
from pipeline.sources.rank_tracker import RankTrackerCsv
from pipeline.sources.reddit import RedditExport
from pipeline.sources.screaming_frog import ScreamingFrogLinks
from pipeline.sources.search_console_api import SearchConsoleApiResponses
from pipeline.sources.search_console_export import SearchConsolePerformance
from pipeline.sources.search_console_links import SearchConsoleLinks
from pipeline.sources.semrush import SemrushBacklinks, SemrushPositions
from pipeline.sources.tiktok import TikTokExport
from pipeline.sources.x import XArchive
from pipeline.sources.youtube import YouTubeTakeout

FORMATS: tuple[SourceFormat, ...] = (
    XArchive(),
    FacebookPosts(),
    InstagramExport(),
    MastodonOutbox(),
    BlueskyRepository(),
    TikTokExport(),
    YouTubeTakeout(),
    LinkedInShares(),
    RedditExport(),
    XPostAnalytics(),
    MetaBusinessPosts(),
    LinkedInPageAnalytics(),
    YouTubeStudioTable(),
    AhrefsBacklinks(),
    MajesticBacklinks(),
    SemrushBacklinks(),
    MozLinks(),
    ScreamingFrogLinks(),
    SearchConsoleLinks(),
    SemrushPositions(),
    RankTrackerCsv(),
    SearchConsolePerformance(),
    SearchConsoleApiResponses(),
)


def detect_format(delivery: Delivery) -> SourceFormat | None:
    """The first format that recognises the delivery's content, or ``None``."""
    for source_format in FORMATS:
        if source_format.detect(delivery):
            return source_format
    return None
