"""Reddit data request: ``posts.csv`` and ``comments.csv``.

``posts.csv``: ``id,permalink,date,ip,subreddit,gildings,title,url,body``; ``url`` is the outbound
link of a link post (a self post points at itself). ``comments.csv``:
``id,permalink,date,ip,subreddit,gildings,link,parent,body,media``. The ``ip`` column is never read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from pipeline.canonical import host_of, try_canonicalize
from pipeline.delivery import Delivery
from pipeline.sources.base import (
    Extracted,
    HeaderLayout,
    ParseContext,
    Record,
    Rejected,
    post_links,
    post_record,
)
from pipeline.sources.textfiles import csv_dict_rows, header_of

PLATFORM = "reddit"
POST_COLUMNS = ("id", "permalink", "date", "ip", "subreddit", "gildings", "title", "url", "body")
COMMENT_COLUMNS = ("id", "permalink", "date", "ip", "subreddit", "gildings", "link", "parent", "body")
REDDIT_HOSTS = ("reddit.com", "redd.it")
EXPORT_FILES = ("posts.csv", "comments.csv")


def _permalink(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    return (
        value
        if value.startswith("http")
        else "https://www.reddit.com" + ("" if value.startswith("/") else "/") + value
    )


def _parse_date(value: str) -> dt.datetime:
    text = value.strip().removesuffix(" UTC")
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _is_reddit(url: str, www_policy: str) -> bool:
    canonical = try_canonicalize(url, www_policy)
    return canonical is not None and host_of(canonical).endswith(REDDIT_HOSTS)


class RedditExport:
    name = "reddit"

    def _kind(self, delivery: Delivery, member: str) -> str | None:
        header = tuple(header_of(delivery, member))
        if header[: len(POST_COLUMNS)] == POST_COLUMNS:
            return "posts"
        if header[: len(COMMENT_COLUMNS)] == COMMENT_COLUMNS:
            return "comments"
        return None

    def _candidates(self, delivery: Delivery) -> list[str]:
        """In a data request only posts.csv and comments.csv are opened: messages, IP logs and the rest
        are never read. A single landed CSV is recognised by its header whatever its name."""
        if delivery.kind == "file":
            return delivery.members()
        return [m for m in delivery.find(".csv") if m.rsplit("/", 1)[-1].lower() in EXPORT_FILES]

    def detect(self, delivery: Delivery) -> bool:
        return any(self._kind(delivery, m) for m in self._candidates(delivery))

    def header_layouts(self) -> tuple[HeaderLayout, ...]:
        return tuple(
            HeaderLayout(tuple((name,) for name in columns), str.strip, table)
            for columns, table in ((POST_COLUMNS, "posts.csv"), (COMMENT_COLUMNS, "comments.csv"))
        )

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for member in self._candidates(delivery):
            kind = self._kind(delivery, member)
            if kind is None:
                continue
            header = header_of(delivery, member)
            with csv_dict_rows(delivery, member, header) as rows:
                for item in rows:
                    if isinstance(item, Rejected):
                        yield item
                        continue
                    location, row = item
                    row.pop("ip", None)
                    try:
                        posted_at = _parse_date(row["date"])
                    except ValueError:
                        expected = "YYYY-MM-DD HH:MM:SS UTC"
                        yield Rejected(
                            member, location, f"unparseable date {row['date']!r} (expected {expected})"
                        )
                        continue
                    if not row["id"].strip():
                        yield Rejected(member, location, "empty id")
                        continue
                    yield from self._item(kind, row, posted_at, context)

    def _item(
        self, kind: str, row: dict[str, str], posted_at: dt.datetime, context: ParseContext
    ) -> Iterator[Extracted]:
        text = "\n\n".join(part for part in (row.get("title", ""), row.get("body", "")) if part.strip())
        post_id = ("t3_" if kind == "posts" else "t1_") + row["id"].strip()
        post = post_record(
            PLATFORM, post_id, _permalink(row["permalink"]), posted_at, text, False, context.www_policy
        )
        yield Record("post", post)
        outbound = row.get("url", "").strip()
        explicit = (
            [(outbound, "link_post")] if outbound and not _is_reddit(outbound, context.www_policy) else []
        )
        yield from post_links(post, explicit, context.www_policy)
