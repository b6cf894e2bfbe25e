from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import build_parser
from pipeline.cli_support import json_output
from pipeline.config import Settings
from pipeline.inspect_export import inspect_path
from tests.conftest import csv_bytes, write_zip, x_manifest, x_tweet, x_tweets_js


def _archive(tmp_path: Path) -> Path:
    tweets = [
        {
            "tweet": x_tweet(
                "1",
                "Fri Feb 20 09:10:58 +0000 2026",
                "guide https://t.co/a",
                [("https://t.co/a", "https://www.example.com/guide")],
            )
        },
        {
            "tweet": x_tweet(
                "2",
                "Fri Feb 20 10:10:58 +0000 2026",
                "elsewhere https://t.co/b",
                [("https://t.co/b", "https://other.org/")],
            )
        },
        {"tweet": {"id_str": "3", "created_at": "never"}},
    ]
    return write_zip(
        tmp_path / "twitter.zip", {"data/manifest.js": x_manifest(), "data/tweets.js": x_tweets_js(tweets)}
    )


def _run(settings: Settings, argv: list[str]) -> int:
    """``socialrank inspect ...`` through the CLI's own parser, with these settings."""
    args = build_parser().parse_args(argv)
    json_output.printed = False  # a new command, as in the CLI's main
    code: int = args.handler(settings, args)
    return code


def test_inspect_counts_what_the_ingest_would_see_and_writes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    before = sorted(settings.data.root.rglob("*"))
    result = inspect_path(settings, _archive(tmp_path))
    assert {
        key: result[key]
        for key in (
            "kind",
            "format",
            "posts",
            "links",
            "owned_links",
            "engagement",
            "backlinks",
            "rankings",
            "quarantined",
        )
    } == {
        "kind": "zip",
        "format": "x_archive",
        "posts": 2,
        "links": 2,
        "owned_links": 1,
        "engagement": 2,
        "backlinks": 0,
        "rankings": 0,
        "quarantined": 1,
    }
    assert result["platforms"] == {"x": 2}
    assert len(result["reasons"]) == 1 and result["reasons"][0].startswith("data/tweets.js item 2 at line ")
    assert "unparseable created_at" in result["reasons"][0]
    assert sorted(settings.data.root.rglob("*")) == before


def test_inspect_json_and_text_output_and_exit_codes(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = _archive(tmp_path)
    assert _run(settings, ["inspect", str(archive), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["format"], printed["posts"], printed["quarantined"], printed["error"]) == (
        "x_archive",
        2,
        1,
        None,
    )

    assert _run(settings, ["inspect", str(archive)]) == 0
    text = capsys.readouterr().out
    assert "x_archive" in text and "posts 2 (x 2)" in text and "quarantined 1:" in text

    notes = tmp_path / "notes.txt"
    notes.write_text("just some notes\n")
    assert _run(settings, ["inspect", str(notes), "--json"]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["format"] is None and "not a known export format" in printed["error"]

    assert _run(settings, ["inspect", str(tmp_path / "missing.zip")]) == 2
    assert "no such file or folder" in capsys.readouterr().out


def test_inspect_reports_a_damaged_member_with_its_place(settings: Settings, tmp_path: Path) -> None:
    rows = csv_bytes(
        [["date", "keyword", "url", "position"], ["2026-01-01", "k", "https://example.com/", "3"]]
    ).decode()
    path = tmp_path / "ranks.csv"
    path.write_text(rows + '2026-01-02,"k,https://example.com/,4\n')
    result = inspect_path(settings, path)
    assert (result["format"], result["rankings"], result["quarantined"]) == ("rank_tracker_csv", 1, 1)
    assert result["reasons"][0].startswith("ranks.csv line 3: ")
