from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pipeline.sources.base import ParseContext
from tests.conftest import mastodon_create, mastodon_outbox, of_kind, parse_all, write_zip

LINK_HTML = (
    '<p>New guide: <a href="https://www.example.com/guide?utm_source=mastodon" rel="nofollow noopener" '
    'target="_blank"><span class="invisible">https://www.</span><span class="ellipsis">example.com/gui</span>'
    '<span class="invisible">de?utm_source=mastodon</span></a> '
    '<a href="https://social.example/tags/seo" class="mention hashtag" rel="tag">#<span>seo</span></a> '
    '<span class="h-card"><a href="https://other.example/@paul" class="u-url mention">@<span>paul</span></a>'
    "</span></p>"
    "<p>Second line<br>and https://example.com/plain in text</p>"
)
ITEMS: list[object] = [
    mastodon_create(1, "2026-01-05T10:00:00Z", LINK_HTML),
    {
        "id": "https://social.example/users/dana/statuses/2/activity",
        "type": "Announce",
        "actor": "https://social.example/users/dana",
        "published": "2026-01-06T11:00:00Z",
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
        "object": "https://other.example/users/paul/statuses/99",
    },
    mastodon_create(
        3,
        "2026-01-07T12:00:00Z",
        '<p>secret <a href="https://example.com/dm">dm</a> dana@example.org</p>',
        to="direct",
    ),
    {"type": "Create", "to": ["as:Public"], "object": {"content": "<p>no id</p>"}},
    "garbage",
]


def test_outbox_posts_links_boosts_and_the_duplicate_key(tmp_path: Path, context: ParseContext) -> None:
    archive = write_zip(
        tmp_path / "archive-20260110.zip",
        {"outbox.json": mastodon_outbox(ITEMS), "actor.json": "{}", "likes.json": "{}"},
    )
    name, records, rejected = parse_all(archive, context)
    assert name == "mastodon_outbox"
    posts = {row["post_id"]: row for row in of_kind(records, "post")}
    note = posts["https://social.example/users/dana/statuses/1"]
    assert note["permalink"] == "https://social.example/@dana/1"
    assert note["posted_at"] == dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC)
    assert note["text"] == (
        "New guide: https://www.example.com/guide?utm_source=mastodon #seo @paul\n\nSecond line\n"
        "and https://example.com/plain in text"
    )
    assert note["is_repost"] is False
    boost = posts["https://social.example/users/dana/statuses/2/activity"]
    assert (boost["is_repost"], boost["text"], boost["permalink"]) == (
        True,
        None,
        "https://other.example/users/paul/statuses/99",
    )
    links = [(row["canonical_url"], row["link_kind"]) for row in of_kind(records, "link")]
    # Hashtags and mentions are not outbound; the boost has no links of its own.
    assert links == [("https://example.com/guide", "html"), ("https://example.com/plain", "text")]
    # The direct message leaves nothing behind, not even in the quarantine.
    assert "statuses/3" not in json.dumps([r.row for r in records], default=str) + repr(rejected)
    assert [item.location for item in rejected] == ["orderedItems[3]", "orderedItems[4]"]


def test_single_ordered_items_key_and_unzipped_folder(tmp_path: Path, context: ParseContext) -> None:
    folder = tmp_path / "mastodon-archive"
    folder.mkdir()
    (folder / "outbox.json").write_text(mastodon_outbox(ITEMS[:1], duplicate_key=False))
    name, records, _ = parse_all(folder, context)
    assert name == "mastodon_outbox"
    assert len(of_kind(records, "post")) == 1
