"""Input formats, one module each. A delivery's format is detected from its content, in this order.

Social archives come first (their members are recognised by path and content), then engagement
exports, backlink tools, ranking data and web-analytics traffic (tables recognised by their headers).
Where two formats could claim the same header, the more specific one is earlier: Semrush positions and
the generic rank tracker before Search Console's performance tables, whose first column can be ``Date``.
GA4's BigQuery event export is recognised from its first line (or Parquet schema) alone and comes before
Reddit's export and the tables, whose detection would first sniff the text of a gigabyte of events.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.delivery import Delivery
from pipeline.sources.ahrefs import AhrefsBacklinks
from pipeline.sources.analytics_linkedin import LinkedInPageAnalytics
from pipeline.sources.analytics_meta import MetaBusinessPosts
from pipeline.sources.analytics_x import XPostAnalytics
from pipeline.sources.analytics_youtube import YouTubeStudioTable
from pipeline.sources.base import HeaderLayout, SourceFormat, TableFormat
from pipeline.sources.bluesky import BlueskyRepository
from pipeline.sources.facebook import FacebookPosts
from pipeline.sources.ga4_api import Ga4ApiResponses
from pipeline.sources.ga4_bigquery_export import Ga4BigQueryExport
from pipeline.sources.ga4_report_csv import Ga4ReportCsv
from pipeline.sources.instagram import InstagramExport
from pipeline.sources.linkedin import LinkedInShares
from pipeline.sources.majestic import MajesticBacklinks
from pipeline.sources.mastodon import MastodonOutbox
from pipeline.sources.matomo_export import MatomoExport
from pipeline.sources.moz import MozLinks
from pipeline.sources.plausible_export import PlausibleExport
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


@dataclass(frozen=True)
class Registration:
    """A format, what a person calls its exports and where they land (SPEC section 4)."""

    source_format: SourceFormat
    label: str  # with its article, as a sentence names it: "a rank-tracker CSV"
    folder: str  # "<family>/<source>" below landing/

    @property
    def header_layouts(self) -> tuple[HeaderLayout, ...]:
        found = self.source_format
        return found.header_layouts() if isinstance(found, TableFormat) else ()


REGISTRATIONS: tuple[Registration, ...] = (
    Registration(XArchive(), "an X archive", "social/x"),
    Registration(FacebookPosts(), "a Facebook export", "social/facebook"),
    Registration(InstagramExport(), "an Instagram export", "social/instagram"),
    Registration(MastodonOutbox(), "a Mastodon outbox", "social/mastodon"),
    Registration(BlueskyRepository(), "a Bluesky repository (CAR file)", "social/bluesky"),
    Registration(TikTokExport(), "a TikTok export", "social/tiktok"),
    Registration(YouTubeTakeout(), "a YouTube Takeout export", "social/youtube"),
    Registration(LinkedInShares(), "a LinkedIn Shares export", "social/linkedin"),
    Registration(Ga4BigQueryExport(), "a GA4 BigQuery event export", "traffic/ga4_bigquery"),
    Registration(RedditExport(), "a Reddit export", "social/reddit"),
    Registration(XPostAnalytics(), "an X post analytics export", "analytics/x"),
    Registration(MetaBusinessPosts(), "a Meta Business Suite posts export", "analytics/meta"),
    Registration(LinkedInPageAnalytics(), "a LinkedIn page analytics export", "analytics/linkedin"),
    Registration(YouTubeStudioTable(), "a YouTube Studio table", "analytics/youtube"),
    Registration(AhrefsBacklinks(), "an Ahrefs backlinks export", "backlinks/ahrefs"),
    Registration(MajesticBacklinks(), "a Majestic backlinks export", "backlinks/majestic"),
    Registration(SemrushBacklinks(), "a Semrush backlinks export", "backlinks/semrush"),
    Registration(MozLinks(), "a Moz links export", "backlinks/moz"),
    Registration(ScreamingFrogLinks(), "a Screaming Frog links export", "backlinks/screaming_frog"),
    Registration(SearchConsoleLinks(), "a Search Console Links export", "backlinks/search_console"),
    Registration(SemrushPositions(), "a Semrush positions export", "rankings/semrush"),
    Registration(RankTrackerCsv(), "a rank-tracker CSV", "rankings/rank_tracker"),
    Registration(
        SearchConsolePerformance(), "a Search Console Performance export", "rankings/search_console"
    ),
    Registration(SearchConsoleApiResponses(), "a Search Console API response", "rankings/search_console_api"),
    Registration(Ga4ApiResponses(), "a GA4 Data API response", "traffic/ga4_api"),
    Registration(Ga4ReportCsv(), "a GA4 report download (CSV)", "traffic/ga4"),
    Registration(PlausibleExport(), "a Plausible CSV export", "traffic/plausible"),
    Registration(MatomoExport(), "a Matomo report export (CSV or TSV)", "traffic/matomo"),
)
FORMATS: tuple[SourceFormat, ...] = tuple(registration.source_format for registration in REGISTRATIONS)
_BY_NAME = {registration.source_format.name: registration for registration in REGISTRATIONS}


def registration_of(format_name: str) -> Registration:
    return _BY_NAME[format_name]


def detect_format(delivery: Delivery) -> SourceFormat | None:
    """The first format that recognises the delivery's content, or ``None``."""
    for source_format in FORMATS:
        if source_format.detect(delivery):
            return source_format
    return None
