"""Input formats, one module each. A delivery's format is detected from its content, in this order."""

from __future__ import annotations

from pipeline.delivery import Delivery
from pipeline.sources.ahrefs import AhrefsBacklinks
from pipeline.sources.base import SourceFormat
from pipeline.sources.linkedin import LinkedInShares
from pipeline.sources.rank_tracker import RankTrackerCsv
from pipeline.sources.reddit import RedditExport
from pipeline.sources.x import XArchive

FORMATS: tuple[SourceFormat, ...] = (
    XArchive(),
    LinkedInShares(),
    RedditExport(),
    AhrefsBacklinks(),
    RankTrackerCsv(),
)


def detect_format(delivery: Delivery) -> SourceFormat | None:
    """The first format that recognises the delivery's content, or ``None``."""
    for source_format in FORMATS:
        if source_format.detect(delivery):
            return source_format
    return None
