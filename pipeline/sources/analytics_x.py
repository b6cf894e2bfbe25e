"""X post analytics exports (engagement per post).

- Current: ``account_analytics_content_<from>_<to>.csv``: ``Post id,Date,Post text,Post Link,
  Impressions,Likes,Engagements,Bookmarks,Shares,New follows,Replies,Reposts,Profile visits,
  Detail Expands,URL Clicks,Hashtag Clicks,Permalink Clicks``.
- Older tweet activity: ``"Tweet id","Tweet permalink","Tweet text","time","impressions",
  "engagements",...,"retweets","replies","likes",...,"url clicks",...``.
``clicks`` are clicks on the post's links (``URL Clicks``), the ones that can reach a site.
"""

from __future__ import annotations

from pipeline.sources.analytics_common import EngagementExport
from pipeline.sources.tabular import AliasTable, Table, TableRow

PLATFORM = "x"
X_ANALYTICS = AliasTable(
    {
        "post_id": ("Post id", "Tweet id", "Post ID", "Tweet-ID", "ID del post", "Identifiant du post"),
        "permalink": ("Post Link", "Tweet permalink", "Post permalink"),
        "impressions": ("Impressions", "Impressionen", "Impresiones"),
        "likes": ("Likes", "Gefällt mir", "Me gusta", "J'aime"),
        "reposts": ("Reposts", "Retweets"),
        "replies": ("Replies", "Antworten", "Respuestas", "Réponses"),
        "clicks": ("URL Clicks", "url clicks", "Link clicks"),
        "shares": ("Shares",),
    },
    required=("post_id", "impressions"),
)


class XPostAnalytics(EngagementExport):
    name = "x_post_analytics"
    table = X_ANALYTICS

    def identify(self, table: Table, row: TableRow) -> tuple[str, str | None, str | None]:
        post_id = row.text(table.columns, "post_id")
        return PLATFORM, post_id if post_id.isdigit() else None, row.text(table.columns, "permalink") or None
