"""YouTube in Google Takeout: ``YouTube and YouTube Music/video metadata/videos.csv``.

Columns (by name): ``Video ID``, ``Video Title (Original)``, ``Video Description (Original)``,
``Privacy``, ``Video Create Timestamp``, ``Video Publish Timestamp``, then as many ``Tag N`` columns
as the channel's most-tagged video needs (rows may stop early or run into them). Links are in the
descriptions. Private videos are skipped: nobody, search engines included, sees their links.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.delivery import Delivery
from pipeline.sources.base import (
    Extracted,
    HeaderLayout,
    ParseContext,
    Record,
    Rejected,
    post_links,
    post_record,
    redacted_excerpt,
)
from pipeline.sources.tabular import AliasTable, TableRow, is_blank, parse_datetime, tables

PLATFORM = "youtube"
VIDEOS = AliasTable(
    {
        "video_id": ("Video ID", "Video Id"),
        "title": ("Video Title (Original)", "Video Title", "Approx Title"),
        "description": ("Video Description (Original)", "Video Description"),
        "privacy": ("Privacy", "Video Privacy"),
        "published": ("Video Publish Timestamp", "Video Published Timestamp", "Video Create Timestamp"),
        "created": ("Video Create Timestamp",),
    },
    required=("video_id", "published"),
)
PRIVATE = "private"


class YouTubeTakeout:
    name = "youtube_takeout"

    def _members(self, delivery: Delivery) -> list[str]:
        return [
            m
            for m in delivery.find(".csv")
            if m.rsplit("/", 1)[-1].lower() == "videos.csv" or delivery.kind == "file"
        ]

    def detect(self, delivery: Delivery) -> bool:
        return any(next(tables(delivery, m, VIDEOS), None) is not None for m in self._members(delivery))

    def header_layouts(self) -> tuple[HeaderLayout, ...]:
        return (VIDEOS.layout("videos.csv"),)

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for member in self._members(delivery):
            for table in tables(delivery, member, VIDEOS):
                # Tag N columns vary in number: a row needs the fixed columns, not the header's width.
                fixed_width = 1 + max(position for field, position in table.columns.items())
                for row in table.rows:
                    if isinstance(row, Rejected):
                        yield row
                        continue
                    if is_blank(row):
                        continue
                    if len(row.cells) < fixed_width:
                        yield Rejected(
                            member,
                            row.location,
                            f"{len(row.cells)} columns, the video's fields need {fixed_width}",
                            redacted_excerpt(",".join(str(c) for c in row.cells)),
                        )
                        continue
                    yield from self._video(row, table.columns, member, context)

    def _video(
        self, row: TableRow, columns: dict[str, int], member: str, context: ParseContext
    ) -> Iterator[Extracted]:
        video_id = row.text(columns, "video_id")
        if not video_id:
            yield Rejected(member, row.location, "empty Video ID")
            return
        if row.text(columns, "privacy").lower() == PRIVATE:
            return
        try:
            published = parse_datetime(row.get(columns, "published")) or parse_datetime(
                row.get(columns, "created")
            )
        except ValueError as exc:
            yield Rejected(member, row.location, f"unreadable publish time ({exc})")
            return
        if published is None:
            yield Rejected(member, row.location, "no publish or create timestamp")
            return
        title, description = row.text(columns, "title"), row.text(columns, "description")
        post = post_record(
            PLATFORM,
            video_id,
            f"https://www.youtube.com/watch?v={video_id}",
            published,
            "\n\n".join(part for part in (title, description) if part) or None,
            False,
            context.www_policy,
        )
        yield Record("post", post)
        yield from post_links(post, [], context.www_policy)
