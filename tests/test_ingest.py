from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from pipeline import ingest
from pipeline.config import DataRoot, Settings
from pipeline.delivery import Delivery
from pipeline.ingest import run_ingest
from pipeline.sources import jsonstream
from tests.conftest import write_zip, x_manifest, x_tweet, x_tweets_js

RANKINGS = (
    "date,keyword,url,position\n"
    "2026-01-01,shoes,https://example.com/s,3\n"
    "2026-01-02,shoes,https://example.com/s,not-a-number\n"
    "2026-01-03,shoes,https://example.com/s,4\n"
)


def land(settings: Settings, relative: str, content: str | bytes) -> Path:
    path = settings.data.landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def lake_rows(settings: Settings, dataset: str) -> list[tuple[object, ...]]:
    pattern = str(settings.data.lake / dataset / "**" / "*.parquet")
    return duckdb.sql(f"SELECT * FROM read_parquet('{pattern}', union_by_name = true)").fetchall()


def test_same_bytes_twice_ingest_once(settings: Settings) -> None:
    land(settings, "rankings/tracker/positions.csv", RANKINGS)
    first = run_ingest(settings)
    assert [r.status for r in first.results] == ["ingested"]
    land(settings, "rankings/tracker/positions-copy.csv", RANKINGS)
    second = run_ingest(settings)
    statuses = {r.landing_path: r.status for r in second.results}
    assert statuses == {
        "rankings/tracker/positions.csv": "duplicate",
        "rankings/tracker/positions-copy.csv": "duplicate",
    }
    assert len(lake_rows(settings, "rankings")) == 2
    assert len(lake_rows(settings, "ingest_ledger")) == 1


def test_malformed_record_is_quarantined_and_the_rest_kept(settings: Settings) -> None:
    land(settings, "rankings/tracker/positions.csv", RANKINGS)
    report = run_ingest(settings)
    result = report.results[0]
    assert (result.read, result.kept, result.quarantined) == (3, 2, 1)
    assert result.reasons == [
        "positions.csv line 3: unreadable position or number in "
        + result.reasons[0].split("unreadable position or number in ", 1)[1]
    ]
    quarantined = duckdb.sql(
        "SELECT landing_path, location, reason "
        f"FROM read_parquet('{settings.data.lake}/quarantined_records/**/*.parquet')"
    ).fetchall()
    assert [(path, location) for path, location, _ in quarantined] == [
        ("rankings/tracker/positions.csv", "line 3")
    ]
    ledger = duckdb.sql(
        f"SELECT status, records_read, records_kept, records_quarantined "
        f"FROM read_parquet('{settings.data.lake}/ingest_ledger/**/*.parquet')"
    ).fetchall()
    assert ledger == [("ingested", 3, 2, 1)]


def test_unknown_and_corrupt_files_are_quarantined_and_nothing_else_is_lost(settings: Settings) -> None:
    land(settings, "rankings/tracker/positions.csv", RANKINGS)
    land(settings, "social/x/notes.txt", "just some notes, not an export\n")
    land(settings, "social/x/broken.zip", b"PK\x03\x04 this is not really a zip")
    archive = write_zip(
        settings.data.root / "tmp" / "archive.zip",
        {
            "data/manifest.js": x_manifest(),
            "data/tweets.js": x_tweets_js(
                [{"tweet": x_tweet("1", "Fri Feb 20 09:10:58 +0000 2026", "hi", [])}]
            ),
        },
    )
    land(settings, "social/x/archive.zip", archive.read_bytes()[:-40])  # truncated: central directory cut
    report = run_ingest(settings)
    statuses = {r.landing_path: r.status for r in report.results}
    assert statuses == {
        "rankings/tracker/positions.csv": "ingested",
        "social/x/notes.txt": "quarantined",
        "social/x/broken.zip": "quarantined",
        "social/x/archive.zip": "quarantined",
    }
    messages = {r.landing_path: r.message for r in report.results}
    assert "not a known export format" in str(messages["social/x/notes.txt"])
    for result in report.results:
        if result.status == "quarantined":
            kept = settings.data.quarantine / "files" / str(result.delivery_id)
            reason = json.loads((kept / "reason.json").read_text())
            assert reason["landing_path"].endswith(result.landing_path)
            assert (kept / Path(result.landing_path).name).exists()
    assert len(lake_rows(settings, "rankings")) == 2
    # Quarantined deliveries are in the ledger: the same bad bytes are not retried every night.
    assert {r.status for r in run_ingest(settings).results} == {"duplicate"}


def test_unzipped_folder_delivery_and_partitions(settings: Settings) -> None:
    folder = settings.data.landing / "social" / "x" / "twitter-2026"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "manifest.js").write_text(x_manifest())
    (folder / "data" / "tweets.js").write_text(
        x_tweets_js(
            [
                {
                    "tweet": x_tweet(
                        "1",
                        "Fri Feb 20 09:10:58 +0000 2026",
                        "a https://t.co/a",
                        [("https://t.co/a", "https://example.com/a")],
                    )
                },
                {"tweet": x_tweet("2", "Sat Feb 21 23:59:59 +0000 2026", "b", [])},
            ]
        )
    )
    report = run_ingest(settings)
    assert report.results[0].status == "ingested"
    partitions = sorted(p.name for p in (settings.data.lake / "social_posts").iterdir() if p.is_dir())
    assert partitions == ["post_date_month=2026-02"]
    assert not list(settings.data.lake.rglob("*.inprogress"))
    rows = duckdb.sql(
        "SELECT post_id, post_date "
        f"FROM read_parquet('{settings.data.lake}/social_posts/**/*.parquet') ORDER BY 1"
    ).fetchall()
    assert rows == [("1", dt.date(2026, 2, 20)), ("2", dt.date(2026, 2, 21))]


def _big_archive(path: Path, tweets: int, odd_nesting: bool = False, folder: bool = False) -> None:
    items: list[object] = [
        {
            "tweet": x_tweet(
                str(1_000_000 + n),
                f"Mon Jan {1 + n % 28:02d} 10:00:00 +0000 2024",
                f"post {n} https://t.co/{n}",
                [(f"https://t.co/{n}", f"https://example.com/page/{n % 40}?utm_source=x")],
            )
        }
        for n in range(tweets)
    ]
    items[tweets // 2] = {"tweet": {"id_str": "not-a-number", "created_at": "never"}}
    text = x_tweets_js(items)
    if odd_nesting:
        # Each tweet's entities closed at the items' own indentation: a reader trusting that line as
        # the end of an item cuts in the middle of one.
        text = text.replace('"hashtags": [],', '"hashtags": {\n  },')
    cut = text.rindex('"tweet"')  # the file ends inside the last item: a truncated export
    members: dict[str, str | bytes] = {"data/manifest.js": x_manifest(), "data/tweets.js": text[:cut]}
    if not folder:
        write_zip(path, members)
        return
    for name, content in members.items():  # an unzipped archive: workers read blocks from the file
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(content.encode() if isinstance(content, str) else content)


def _lake_contents(settings: Settings) -> dict[str, list[tuple[object, ...]]]:
    return {
        dataset: sorted(
            tuple(str(value) for value in row)
            for row in duckdb.sql(
                "SELECT * EXCLUDE (filename), regexp_replace(filename, '^.*/lake/', '') AS file "
                f"FROM read_parquet('{settings.data.lake}/{dataset}/*/*.parquet', filename = true)"
            ).fetchall()
        )
        for dataset in ("social_posts", "social_links", "engagement_snapshots", "quarantined_records")
    }


@pytest.mark.parametrize(
    ("odd_nesting", "folder"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_parallel_parse_writes_what_an_inline_parse_writes(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, odd_nesting: bool, folder: bool
) -> None:
    """Blocks parsed in worker processes, with chunk boundaries falling inside blocks, give the same
    files, rows, counts and rejections (with the same item numbers and lines) as one process; a
    truncated tail is still reported; cuts guessed wrong are read again."""
    monkeypatch.setattr(jsonstream, "BLOCK_BYTES", 64 * 1024)
    monkeypatch.setattr(ingest, "CHUNK_ROWS", 700)
    inline_settings = replace(settings, data=DataRoot(tmp_path / "inline"))
    inline_settings.data.ensure()
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    for target in (settings, inline_settings):
        name = "archive" if folder else "archive.zip"
        _big_archive(target.data.landing / "social" / "x" / name, 3000, odd_nesting, folder)

    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 10**12)
    (inline,) = run_ingest(inline_settings, now=now).results
    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 0)
    (parallel,) = run_ingest(settings, now=now).results

    assert parallel.status == inline.status == "ingested"
    assert parallel.counts == inline.counts
    assert parallel.counts["post"] == 2998  # one bad item, one cut off by the truncation
    assert parallel.reasons == inline.reasons
    assert parallel.quarantined == inline.quarantined == 2
    archive = settings.data.landing / "social" / "x" / ("archive" if folder else "archive.zip")
    delivery = Delivery(archive)
    with delivery.open("data/tweets.js") as stream:
        text = stream.read().decode()
    delivery.close()
    bad_item = text.rindex("\n  {", 0, text.index("not-a-number")) + 1
    bad_line = text.count("\n", 0, bad_item) + 1
    assert parallel.reasons[0].startswith(f"data/tweets.js item 1500 at line {bad_line}:")
    assert "truncated" in parallel.reasons[-1]
    assert _lake_contents(settings) == _lake_contents(inline_settings)
    chunk_files = sorted(p.name for p in (settings.data.lake / "social_posts").glob("*/*.parquet"))
    assert len(chunk_files) == 5  # 2998 posts in chunks of 700, one month


def test_a_parallel_parse_in_a_process_that_had_started_a_fork_server(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parse worker is forked from the ingesting process and forks its block workers itself; a fork
    server the ingesting process had started (a script's, a test's) is neither used nor in the way."""
    from multiprocessing import forkserver

    forkserver.ensure_running()
    monkeypatch.setattr(jsonstream, "BLOCK_BYTES", 64 * 1024)
    monkeypatch.setattr(ingest, "PARALLEL_MIN_BYTES", 0)
    _big_archive(settings.data.landing / "social" / "x" / "archive.zip", 3000, False, False)
    (result,) = run_ingest(settings).results
    assert result.status == "ingested", result
    assert result.counts["post"] == 2998
