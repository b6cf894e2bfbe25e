"""LinkedIn page analytics, content export (``.xls``/``.xlsx``): the "All posts" sheet.

A description row sits above the header (``All posts data for … Data for individual posts``), then
``Post title, Post link, Post type, ..., Created date, ..., Impressions, Views (excluding off-site video
views), ..., Clicks, Click through rate (CTR), Likes, Comments, Reposts, Follows, Engagement rate, ...``.
The post id is the number in the link's ``urn:li:…`` (as for ``Shares.csv``). German and French
headers below are best effort.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from pipeline.sources.analytics_common import EngagementExport
from pipeline.sources.tabular import AliasTable, Table, TableRow

PLATFORM = "linkedin"
LINKEDIN_POSTS = AliasTable(
    {
        "title": ("Post title", "Beitragstitel", "Titre du post", "Titre de la publication"),
        "permalink": ("Post link", "Beitragslink", "Lien du post", "Lien de la publication"),
        "created": ("Created date", "Erstellungsdatum", "Date de création"),
        "impressions": ("Impressions", "Impressionen"),
        "views": ("Views (excluding off-site video views)", "Views"),
        "clicks": ("Clicks", "Klicks", "Clics"),
        "likes": ("Likes", "Reactions", "Reaktionen", "Réactions"),
        "replies": ("Comments", "Kommentare", "Commentaires"),
        "reposts": ("Reposts", "Shares", "Geteilte Inhalte", "Partages"),
    },
    required=("title", "permalink", "impressions"),
)
_URN = re.compile(r"urn:li:(?:share|ugcPost|activity):(\d+)")


class LinkedInPageAnalytics(EngagementExport):
    name = "linkedin_page_analytics"
    table = LINKEDIN_POSTS

    def identify(self, table: Table, row: TableRow) -> tuple[str, str | None, str | None]:
        link = row.text(table.columns, "permalink")
        urn = _URN.search(unquote(link))
        return PLATFORM, urn.group(1) if urn else None, link or None
