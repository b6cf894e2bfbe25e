from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipeline.sources.base import ParseContext
from pipeline.sources.facebook import post_key
from pipeline.sources.jsonfiles import fix_mojibake
from tests.conftest import facebook_post, meta_json, mojibake, of_kind, parse_all, parse_safely, write_zip

POSTS = [
    facebook_post(
        1767225600, "Notre guide du café ☕ est en ligne", link="https://www.example.com/guide?fbclid=abc"
    ),
    facebook_post(1767312000, "Read this: https://example.com/pricing. Thoughts? 👀"),
    facebook_post(1767398400, "", title="Dana Demo shared Paul's post."),
    {"timestamp": "yesterday", "data": [{"post": "no usable time"}]},
    "not an object",
]


@pytest.mark.parametrize(
    "member",
    [
        "posts/your_posts_1.json",
        "your_activity_across_facebook/posts/your_posts_1.json",
        "your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json",
        "this_profile's_activity_across_facebook/posts/profile_posts_1.json",
    ],
)
def test_every_folder_layout_and_page_exports(tmp_path: Path, context: ParseContext, member: str) -> None:
    archive = write_zip(
        tmp_path / "facebook-dana.zip",
        {
            member: meta_json(POSTS),
            "your_facebook_activity/messages/inbox/paul/message_1.json": '{"messages": []}',
        },
    )
    name, records, rejected = parse_all(archive, context)
    assert name == "facebook_posts"
    posts = of_kind(records, "post")
    assert [row["text"] for row in posts] == [
        "Notre guide du café ☕ est en ligne",
        "Read this: https://example.com/pricing. Thoughts? 👀",
        None,
    ]
    assert posts[0]["posted_at"] == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert posts[0]["post_id"] == post_key(1767225600, "Notre guide du café ☕ est en ligne")
    assert posts[0]["permalink"] is None
    assert [row["is_repost"] for row in posts] == [False, False, True]
    links = {(row["post_id"], row["canonical_url"], row["link_kind"]) for row in of_kind(records, "link")}
    assert links == {
        (posts[0]["post_id"], "https://example.com/guide", "attachment"),
        (posts[1]["post_id"], "https://example.com/pricing", "text"),
    }
    assert [(item.location.split(" at ")[0], item.reason.split(" ")[0]) for item in rejected] == [
        ("item 3", "missing"),
        ("item 4", "post"),
    ]
    assert all(item.member == member for item in rejected)


def test_unzipped_folder_with_several_files(tmp_path: Path, context: ParseContext) -> None:
    folder = tmp_path / "facebook-dana"
    (folder / "posts").mkdir(parents=True)
    (folder / "posts" / "your_posts_1.json").write_text(meta_json(POSTS[:1]))
    (folder / "posts" / "your_posts_2.json").write_text(meta_json(POSTS[1:2]))
    name, records, rejected = parse_all(folder, context)
    assert name == "facebook_posts" and rejected == []
    assert len(of_kind(records, "post")) == 2


def test_an_object_wrapping_the_posts_is_accepted(tmp_path: Path, context: ParseContext) -> None:
    archive = write_zip(
        tmp_path / "fb.zip", {"posts/your_posts_1.json": meta_json({"status_updates_v2": POSTS[:2]})}
    )
    _, records, _ = parse_all(archive, context)
    assert len(of_kind(records, "post")) == 2


def test_mojibake_is_repaired_without_losing_characters() -> None:
    original = "Déjà vu – naïve café 😀 ½"
    assert fix_mojibake(mojibake(original)) == original
    # Correct text is left as it is: a lone Latin-1 letter, characters above U+00FF, plain ASCII.
    assert fix_mojibake("café") == "café"
    assert fix_mojibake("Ωμέγα 😀 ok") == "Ωμέγα 😀 ok"
    # A run that is partly valid UTF-8 repairs the valid part and keeps the stray byte's letter.
    assert fix_mojibake(mojibake("é") + "\xe9") == "é\xe9"
    assert json.loads(meta_json({"t": mojibake("☕")}))["t"] == "\u00e2\u0098\u0095"


def test_truncated_file_keeps_the_posts_before_the_damage(tmp_path: Path, context: ParseContext) -> None:
    text = meta_json(POSTS[:2])
    archive = write_zip(
        tmp_path / "fb.zip", {"posts/your_posts_1.json": text[: text.rindex('"timestamp"') + 5]}
    )
    _, records, rejected = parse_safely(archive, context)
    assert len(of_kind(records, "post")) == 1
    assert [item.member for item in rejected] == ["posts/your_posts_1.json"]
    damaged_item_line = text[: text.rindex('"timestamp"')].count("\n")
    assert rejected[0].location == f"line {damaged_item_line}"
    assert "truncated" in rejected[0].reason
