"""The hostile corpus (issue 16): one generated file per class of attack or damage, each landed beside a
good delivery, with what must happen to it. Whatever the file does, the run goes on: the good delivery
is ingested, the hostile one is quarantined (or kept in part) with a reason naming the file and what
it broke.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from pipeline.config import IngestLimits, Settings
from pipeline.delivery import ArchiveLimits, Delivery
from pipeline.ingest import DeliveryResult, run_ingest
from tests.conftest import (
    SAMPLE_CONFIG,
    csv_bytes,
    mastodon_create,
    mastodon_outbox,
    write_zip,
    x_manifest,
    x_tweet,
    x_tweets_js,
)
from tests.hostile_files import far_corner_xlsx, rank_csv, shared_subtree_car

GOOD = "rankings/tracker/good.csv"
DID = "did:plc:hostile"


def land(settings: Settings, relative: str, content: bytes) -> Path:
    path = settings.data.landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def ingest_beside_good(settings: Settings) -> dict[str, DeliveryResult]:
    """Land a good rank CSV beside what the test landed, ingest, check the good one was kept whole."""
    land(settings, GOOD, rank_csv(3))
    results = {result.landing_path: result for result in run_ingest(settings).results}
    good = results.pop(GOOD)
    assert (good.status, good.kept, good.quarantined) == ("ingested", 3, 0), good
    return results


def test_far_corner_xlsx_beside_a_good_csv_via_the_command(tmp_path: Path) -> None:
    """The 5 KB spreadsheet that made the xlsx reader ask for 512 GB and abort the whole run: the CSV
    beside it is ingested, the spreadsheet quarantined with the limit it broke, and the command exits
    0 (quarantined deliveries are reported, not failures; docs/decisions.md)."""
    home = tmp_path / "data"
    far_corner_xlsx(home / "landing" / "analytics" / "linkedin" / "far.xlsx")
    (home / "landing" / "rankings" / "tracker").mkdir(parents=True)
    (home / "landing" / GOOD).write_bytes(rank_csv(3))
    command = Path(sys.executable).with_name("socialrank")
    shutil.copyfile(SAMPLE_CONFIG, tmp_path / "socialrank.toml")
    env = {**os.environ, "SOCIALRANK_HOME": str(home)}
    done = subprocess.run(
        [str(command), "ingest", "--json"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    summary = json.loads(done.stdout)
    assert summary["by_status"] == {"ingested": 1, "quarantined": 1}
    assert summary["records"] == {"ranking": 3, "quarantined_records": 0}
    (kept,) = (home / "quarantine" / "files").iterdir()
    reason = json.loads((kept / "reason.json").read_text())
    assert reason["landing_path"].endswith("analytics/linkedin/far.xlsx")
    assert reason["reason"] == (
        "far.xlsx: sheet 'All posts' spans 1,048,576 rows x 16,384 columns from A1, "
        "over the limit of 20,000,000 cells: not read"
    )


def test_shared_subtree_car_reads_each_record_once(settings: Settings) -> None:
    """A record tree whose nodes each point twice at the one below: 61 records reached 2**60 times by
    a walk that expands every reference. Each node is read once; the sharing is reported."""
    land(settings, "social/bluesky/repo.car", shared_subtree_car(DID, 60))
    (car,) = ingest_beside_good(replace(settings, ingest=IngestLimits(wall_seconds=120))).values()
    assert car.status == "ingested", car.message
    assert car.counts["post"] == 61
    assert car.reasons == [
        "repo.car record tree: 60 references to tree nodes already read (a shared subtree): "
        "each node was read once"
    ]
    posts = duckdb.sql(
        "SELECT count(*), count(DISTINCT post_id) "
        f"FROM read_parquet('{settings.data.lake}/social_posts/*/*.parquet')"
    ).fetchone()
    assert posts == (61, 61)


def test_a_parser_over_its_cpu_limit_quarantines_its_delivery_only(settings: Settings) -> None:
    # Windows-1252 text is read row by row (UTF-8 in columns, in well under a second).
    land(settings, "rankings/tracker/huge.csv", rank_csv(400_000, keyword="café", encoding="cp1252"))
    limited = replace(settings, ingest=IngestLimits(cpu_seconds=1))
    (huge,) = ingest_beside_good(limited).values()
    assert huge.status == "quarantined"
    assert huge.message == (
        "rankings/tracker/huge.csv: the parser used more than the CPU limit of 1 s "
        "([ingest] cpu_limit_seconds); the worker was stopped"
    )
    assert not list((settings.data.lake / "rankings").glob(f"*/{huge.delivery_id}*"))


def test_a_parser_over_its_wall_time_limit_quarantines_its_delivery_only(settings: Settings) -> None:
    land(settings, "rankings/tracker/huge.csv", rank_csv(400_000, keyword="café", encoding="cp1252"))
    limited = replace(settings, ingest=IngestLimits(wall_seconds=1))
    results = ingest_beside_good(limited)
    huge = results["rankings/tracker/huge.csv"]
    assert huge.status == "quarantined"
    assert huge.message == (
        "rankings/tracker/huge.csv: parsing took longer than the wall-time limit of 1 s "
        "([ingest] wall_limit_seconds); the worker was stopped"
    )


def test_a_parser_over_its_memory_limit_quarantines_its_delivery_only(settings: Settings) -> None:
    """A 40 MB outbox (a JSON document read whole, as Mastodon's are) under a 16 MiB memory limit."""
    items: list[object] = [
        mastodon_create(n, "2026-01-05T10:00:00Z", f"<p>post {n} {'x' * 400}</p>") for n in range(40_000)
    ]
    land(settings, "social/mastodon/outbox.json", mastodon_outbox(items).encode())
    limited = replace(settings, ingest=IngestLimits(memory_mb=16))
    (big,) = ingest_beside_good(limited).values()
    assert big.status == "quarantined"
    assert big.message == (
        "social/mastodon/outbox.json: the parser breached the memory limit of 16 MiB "
        "([ingest] memory_limit_mb)"
    )


@pytest.mark.parametrize("levels", [3, 8])
def test_small_shared_subtree_car_gives_one_post_per_record(settings: Settings, levels: int) -> None:
    """The issue's small case: 4 records gave 15 posts."""
    land(settings, "social/bluesky/repo.car", shared_subtree_car(DID, levels))
    (car,) = ingest_beside_good(settings).values()
    assert car.counts["post"] == levels + 1


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:the password file\n")
    return secret


def test_links_in_a_quarantined_folder_are_not_copied(settings: Settings, tmp_path: Path) -> None:
    secret = _secret(tmp_path)
    folder = settings.data.landing / "social" / "x" / "export"
    (folder / "linked").mkdir(parents=True)
    (folder / "notes.txt").write_text("just some notes, not an export\n")
    (folder / "passwd").symlink_to(secret)
    (folder / "linked-folder").symlink_to(secret.parent, target_is_directory=True)
    (export,) = ingest_beside_good(settings).values()
    assert export.status == "quarantined"
    kept = settings.data.quarantine / "files" / str(export.delivery_id)
    copied = sorted(path.relative_to(kept).as_posix() for path in kept.rglob("*"))
    assert copied == ["export", "export/notes.txt", "reason.json"]
    assert not any("password" in path.read_text() for path in kept.rglob("*") if path.is_file())


def test_links_in_a_folder_export_are_reported_and_the_rest_ingested(
    settings: Settings, tmp_path: Path
) -> None:
    secret = _secret(tmp_path)
    folder = settings.data.landing / "rankings" / "tracker" / "export"
    folder.mkdir(parents=True)
    (folder / "positions.csv").write_bytes(rank_csv(2))
    (folder / "more.csv").symlink_to(secret)
    (export,) = ingest_beside_good(settings).values()
    assert (export.status, export.kept) == ("ingested", 2)
    assert export.reasons == ["more.csv whole file: a symbolic link: never followed"]


def test_a_delivery_that_is_a_link_is_not_read(settings: Settings, tmp_path: Path) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_bytes(rank_csv(5))
    link = settings.data.landing / "rankings" / "tracker" / "linked.csv"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    (linked,) = ingest_beside_good(settings).values()
    assert linked.status == "unreadable"
    assert linked.message == (
        f"rankings/tracker/linked.csv is a symbolic link to {outside}; links are never followed: "
        "land the file or folder itself"
    )
    assert not list((settings.data.quarantine / "files").glob("*"))


def test_a_link_stored_in_a_zip_is_not_a_member(settings: Settings) -> None:
    archive = settings.data.landing / "rankings" / "tracker" / "export.zip"
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("positions.csv", rank_csv(2))
        link = zipfile.ZipInfo("more.csv")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zipped.writestr(link, "/etc/passwd")
    (export,) = ingest_beside_good(settings).values()
    assert (export.status, export.kept) == ("ingested", 2)
    assert export.reasons == ["more.csv whole file: a symbolic link: never followed"]


PERSONAL = ("someone@example.org", "2001:db8::1", "203.0.113.9", "+44 20 7946 0958")


def test_personal_data_is_masked_in_every_reason_and_excerpt(settings: Settings) -> None:
    rows = (
        "date,keyword,url,position\n"
        "someone@example.org,kw,https://example.com/a,1\n"
        "2026-01-01,kw,https://example.com/a,2001:db8::1\n"
        "2026-01-01,kw,https://example.com/a,203.0.113.9\n"
        "2026-01-01,kw,https://example.com/a,+44 20 7946 0958\n"
        "2026-01-01,kw,https://example.com/a,1,someone@example.org\n"
        "2026-01-02,kw,https://example.com/a,3\n"
    )
    land(settings, "rankings/tracker/personal.csv", rows.encode())
    (personal,) = ingest_beside_good(settings).values()
    assert (personal.kept, personal.quarantined) == (1, 5)
    stored = duckdb.sql(
        "SELECT reason, coalesce(excerpt, '') "
        f"FROM read_parquet('{settings.data.lake}/quarantined_records/*/*.parquet') ORDER BY location"
    ).fetchall()
    text = " ".join(" ".join(row) for row in stored) + " ".join(personal.reasons)
    assert [value for value in PERSONAL if value in text] == []
    for mask in ("<email>", "<ip>", "<phone>"):
        assert mask in text


def test_one_damaged_json_item_is_quarantined_alone(settings: Settings) -> None:
    items: list[object] = [
        {"tweet": x_tweet(str(n), "Fri Feb 20 09:10:58 +0000 2026", f"post {n}", [])} for n in range(1, 6)
    ]
    tweets = x_tweets_js(items).replace('post 3"', 'post 3" "damage": ,', 1)
    archive = write_zip(
        settings.data.root / "tmp" / "x.zip", {"data/manifest.js": x_manifest(), "data/tweets.js": tweets}
    )
    land(settings, "social/x/archive.zip", archive.read_bytes())
    (x,) = ingest_beside_good(settings).values()
    assert (x.status, x.counts["post"], x.quarantined) == ("ingested", 4, 1)
    assert x.reasons[0].startswith(
        "data/tweets.js item 2 at line 30: unexpected tweet shape (JSON is malformed"
    )


def test_one_bad_csv_row_and_an_unclosed_quote_are_quarantined_alone(settings: Settings) -> None:
    """A field over 1,000,000 characters, a number like 1e400 and a quote left open are each one
    rejected row; every row after them is read."""
    rows = (
        "date,keyword,url,position\n"
        "2026-01-01,a,https://example.com/1,1\n"
        f'2026-01-02,"{"x" * 1_000_001}",https://example.com/2,2\n'
        "2026-01-03,b,https://example.com/3,1e400\n"
        '2026-01-04,"c,https://example.com/4,4\n'
        "2026-01-05,d,https://example.com/5,5\n"
        "2026-01-06,e,https://example.com/6,6\n"
    )
    land(settings, "rankings/tracker/damaged.csv", rows.encode())
    (damaged,) = ingest_beside_good(settings).values()
    assert (damaged.status, damaged.kept) == ("ingested", 3)
    assert damaged.reasons == [
        "damaged.csv line 3: unreadable CSV (field larger than field limit (1000000))",
        "damaged.csv line 4: position inf outside 1..1000",
        "damaged.csv line 5: a quote opened on this line is not closed; it swallowed lines 6-7, "
        "read again as rows",
    ]


_FILLER = "".join(
    f"2026-01-{1 + n % 28:02d},kw{n},https://example.com/p{n},{1 + n % 50}\n" for n in range(3000)
)


@pytest.mark.parametrize(
    ("encoding", "keyword"),
    [("cp1252", "Café crème"), ("shift_jis", "東京の天気"), ("iso-8859-2", "Zażółć gęślą jaźń")],
)
def test_the_encoding_comes_from_the_whole_file(settings: Settings, encoding: str, keyword: str) -> None:
    """The first character outside ASCII comes after the first 64 KB."""
    rows = "date,keyword,url,position\n" + _FILLER + f"2026-02-01,{keyword},https://example.com/x,3\n"
    assert len(_FILLER) > 64 * 1024
    land(settings, "rankings/tracker/legacy.csv", rows.encode(encoding))
    (legacy,) = ingest_beside_good(settings).values()
    assert (legacy.status, legacy.kept, legacy.quarantined) == ("ingested", 3001, 0)
    keywords = duckdb.sql(
        f"SELECT query FROM read_parquet('{settings.data.lake}/rankings/*/*.parquet') WHERE url LIKE '%/x'"
    ).fetchall()
    assert keywords == [(keyword,)]


def test_cr_only_line_endings(settings: Settings) -> None:
    land(
        settings,
        "rankings/tracker/classic-mac.csv",
        b"date,keyword,url,position\r2026-01-01,a,https://example.com/1,1\r2026-01-02,b,https://example.com/2,2\r",
    )
    (mac,) = ingest_beside_good(settings).values()
    assert (mac.status, mac.format, mac.kept) == ("ingested", "rank_tracker_csv", 2)


def test_a_lone_surrogate_escape_keeps_the_post(settings: Settings) -> None:
    items: list[object] = [
        {"tweet": x_tweet(str(n), "Fri Feb 20 09:10:58 +0000 2026", f"post {n} EMOJI", [])} for n in (1, 2)
    ]
    tweets = x_tweets_js(items).replace("EMOJI", "\\ud83d cut", 1).replace("EMOJI", "\\ud83d\\ude00 whole", 1)
    archive = write_zip(
        settings.data.root / "tmp" / "x.zip", {"data/manifest.js": x_manifest(), "data/tweets.js": tweets}
    )
    land(settings, "social/x/archive.zip", archive.read_bytes())
    (x,) = ingest_beside_good(settings).values()
    assert (x.status, x.counts["post"], x.quarantined) == ("ingested", 2, 0)
    texts = duckdb.sql(
        f"SELECT text FROM read_parquet('{settings.data.lake}/social_posts/*/*.parquet') ORDER BY post_id"
    ).fetchall()
    assert texts == [("post 1 \ufffd cut",), ("post 2 \U0001f600 whole",)]


OLD_SHARES_HEADER = [
    "Date",
    "Share Title",
    "Share Description",
    "Share Link",
    "Share Commentary",
    "Shared URL",
    "Media URL",
    "Type",
    "Visibility",
]
OLD_SHARE = [
    "2019-03-04 10:11:12",
    "",
    "",
    "https://www.linkedin.com/feed/update/urn:li:activity:6508000000000000000",
    "New guide on coffee https://lnkd.in/abc",
    "https://example.com/guide",
    "",
    "SHARE",
    "MEMBER_NETWORK",
]


@pytest.mark.parametrize(("delimiter", "encoding"), [("\t", "utf-16"), (",", "utf-8")])
def test_the_older_linkedin_shares_layout(settings: Settings, delimiter: str, encoding: str) -> None:
    """UTF-16 LE with tabs (as LinkedIn wrote it) and UTF-8 with commas (as it is also seen)."""
    content = csv_bytes([OLD_SHARES_HEADER, OLD_SHARE], delimiter=delimiter, encoding=encoding)
    land(settings, "social/linkedin/Shares.csv", content)
    (shares,) = ingest_beside_good(settings).values()
    assert (shares.status, shares.format, shares.quarantined) == ("ingested", "linkedin_shares", 0)
    assert shares.counts["post"] == 1
    links = duckdb.sql(
        f"SELECT post_id, canonical_url FROM read_parquet('{settings.data.lake}/social_links/*/*.parquet') "
        "ORDER BY canonical_url"
    ).fetchall()
    assert links == [
        ("6508000000000000000", "https://example.com/guide"),
        ("6508000000000000000", "https://lnkd.in/abc"),
    ]


def test_screaming_frog_rows_one_cell_short_are_skipped_not_quarantined(settings: Settings) -> None:
    """The older exporter writes non-hyperlink rows (images, CSS, scripts) one cell short."""
    header = ["Type", "Source", "Destination", "Alt Text", "Anchor", "Status Code", "Status", "Follow", "Rel"]
    rows = [
        header,
        [
            "Hyperlink",
            "https://blog.example.net/a",
            "https://example.com/p",
            "",
            "p",
            "200",
            "OK",
            "true",
            "",
        ],
        ["IMG", "https://blog.example.net/a", "https://example.com/i.png", "alt", "200", "OK", "true", ""],
        ["CSS", "https://blog.example.net/a", "https://example.com/s.css", "", "200", "OK", "true", ""],
        ["JS", "https://blog.example.net/a", "https://example.com/s.js", "", "200", "OK", "true", ""],
    ]
    land(settings, "backlinks/screaming_frog/all_inlinks.csv", csv_bytes(rows, bom=True, crlf=True))
    (crawl,) = ingest_beside_good(settings).values()
    assert (crawl.status, crawl.quarantined) == ("ingested", 0)
    assert crawl.counts == {"backlink": 1, "skipped": 3}


def _x_archive_zip_of_zip(root: Path) -> Path:
    """A zip of the downloaded X archive zip, which holds ``data/tweets_media.zip`` as real ones do."""
    media = write_zip(root / "tweets_media.zip", {f"{n}-photo.jpg": os.urandom(3000) for n in range(3)})
    items: list[object] = [
        {"tweet": x_tweet(str(n), "Fri Feb 20 09:10:58 +0000 2026", f"post {n}", [])} for n in (1, 2)
    ]
    archive = write_zip(
        root / "twitter-2026.zip",
        {
            "data/manifest.js": x_manifest(),
            "data/tweets.js": x_tweets_js(items),
            "data/tweets_media.zip": media.read_bytes(),
        },
    )
    return write_zip(root / "outer.zip", {"twitter-2026.zip": archive.read_bytes()})


def test_a_zip_of_an_x_archive_nesting_tweets_media_zip(settings: Settings) -> None:
    outer = _x_archive_zip_of_zip(settings.data.root / "tmp")
    land(settings, "social/x/archive.zip", outer.read_bytes())
    (x,) = ingest_beside_good(settings).values()
    assert (x.status, x.counts["post"], x.quarantined) == ("ingested", 2, 0)


def test_a_nested_zip_counts_its_bytes_once(tmp_path: Path) -> None:
    """The media inside ``tweets_media.zip`` count once against the total-size limit, not once as the
    inner zip and again as its members."""
    outer = _x_archive_zip_of_zip(tmp_path)
    members = Delivery(outer).members()
    media = [name for name in members if name.endswith(".jpg")]
    assert len(media) == 3
    with zipfile.ZipFile(outer) as archive, archive.open("twitter-2026.zip") as inner_file:
        inner_size = archive.getinfo("twitter-2026.zip").file_size
        with zipfile.ZipFile(inner_file) as inner:
            listed = sum(info.file_size for info in inner.infolist())
    limits = ArchiveLimits(max_total_bytes=listed + 3 * 3000 + 100)  # below a double count
    assert inner_size + listed > limits.max_total_bytes
    assert Delivery(outer, limits=limits).members() == members


def test_duplicate_member_names_are_reported(settings: Settings) -> None:
    archive = settings.data.landing / "rankings" / "tracker" / "export.zip"
    archive.parent.mkdir(parents=True)
    with zipfile.ZipFile(archive, "w") as zipped, pytest.warns(UserWarning, match="Duplicate name"):
        zipped.writestr("positions.csv", rank_csv(1))
        zipped.writestr("positions.csv", rank_csv(2))
    (export,) = ingest_beside_good(settings).values()
    assert (export.status, export.kept) == ("ingested", 2)
    assert export.reasons == [
        "positions.csv whole file: the archive holds 2 entries of this name: the last one was read"
    ]


def test_a_zip_bomb_is_refused_naming_the_limit(settings: Settings) -> None:
    inner = settings.data.root / "tmp" / "inner.zip"
    inner.parent.mkdir(parents=True)
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("Queries.csv", b"0" * 20_000_000)
    archive = write_zip(settings.data.root / "tmp" / "outer.zip", {"report/inner.zip": inner.read_bytes()})
    land(settings, "rankings/search_console/export.zip", archive.read_bytes())
    (bomb,) = ingest_beside_good(settings).values()
    assert bomb.status == "quarantined"
    assert bomb.message is not None
    assert bomb.message.startswith(str(settings.data.landing / "rankings/search_console/export.zip"))
    assert bomb.message.endswith(
        "!report/inner.zip: member 'Queries.csv' expands 1028x (limit 200x): refusing a likely zip bomb"
    )


def test_urls_with_a_space_in_the_host_or_a_loopback_host_are_not_links(settings: Settings) -> None:
    expanded = [
        "https://exa mple.com/a",
        "http://127.0.0.1:8080/admin",
        "http://localhost/x",
        "https://example.com/ok",
    ]
    entities = [(f"https://t.co/{n}", url) for n, url in enumerate(expanded)]
    items: list[object] = [{"tweet": x_tweet("1", "Fri Feb 20 09:10:58 +0000 2026", "see", entities)}]
    archive = write_zip(
        settings.data.root / "tmp" / "x.zip",
        {"data/manifest.js": x_manifest(), "data/tweets.js": x_tweets_js(items)},
    )
    land(settings, "social/x/archive.zip", archive.read_bytes())
    (x,) = ingest_beside_good(settings).values()
    assert (x.status, x.counts["link"]) == ("ingested", 1)
    links = duckdb.sql(
        f"SELECT canonical_url FROM read_parquet('{settings.data.lake}/social_links/*/*.parquet')"
    ).fetchall()
    assert links == [("https://example.com/ok",)]


def test_a_delivery_in_a_linked_folder_is_not_read(settings: Settings, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "positions.csv").write_bytes(rank_csv(4))
    (settings.data.landing / "rankings").mkdir(parents=True)
    (settings.data.landing / "rankings" / "linked").symlink_to(outside, target_is_directory=True)
    (linked,) = ingest_beside_good(settings).values()
    assert linked.status == "unreadable"
    assert linked.message == (
        f"rankings/linked/positions.csv is inside a linked folder, outside the landing zone "
        f"({outside / 'positions.csv'}); links are never followed: land the file or folder itself"
    )


def test_1e400_in_a_search_console_response_is_one_rejected_row(settings: Settings) -> None:
    """JSON reads 1e400 as infinity: a count or position of it is a reason for its row, not an
    OverflowError that loses the file."""
    folder = settings.data.landing / "rankings" / "search_console_api" / "2026-03-01"
    folder.mkdir(parents=True)
    manifest = {"format": "socialrank.search_console_api/1", "dimensions": ["date", "page", "query"]}
    (folder / "manifest.json").write_text(json.dumps({**manifest, "pages": ["page-0000.json"]}))
    row = (
        '{"keys": ["2026-03-01", "https://example.com/a", "shoes"], '
        '"clicks": %s, "impressions": 10, "position": %s}'
    )
    rows = [row % ("1", "3.5"), row % ("1e400", "3.5"), row % ("1", "1e400"), row % ("2", "4.0")]
    (folder / "page-0000.json").write_text('{"rows": [' + ", ".join(rows) + "]}")
    (responses,) = ingest_beside_good(settings).values()
    assert (responses.status, responses.kept, responses.quarantined) == ("ingested", 2, 2)
    assert responses.reasons == [
        "page-0000.json row 1: unusable row: ValueError: not a count: inf",
        "page-0000.json row 2: unusable row: ValueError: not a position: inf",
    ]


def _ingest_in_a_daemonic_process(settings: Settings, results: multiprocessing.Queue[object]) -> None:
    try:
        outcome = ingest_beside_good(settings)
        results.put({path: result.status for path, result in outcome.items()})
    except BaseException as failure:  # the parent asserts on what happened here
        results.put(repr(failure))


def test_the_bulkhead_works_where_the_ingest_runs_in_a_daemonic_process(settings: Settings) -> None:
    """Airflow's Celery workers run tasks in daemonic processes, where multiprocessing refuses to start
    children: the ingest there still parses each delivery in its worker."""
    far = settings.data.landing / "analytics" / "linkedin" / "far.xlsx"
    far.parent.mkdir(parents=True, exist_ok=True)
    far_corner_xlsx(far)
    context = multiprocessing.get_context("fork")
    results: multiprocessing.Queue[object] = context.Queue()
    process = context.Process(target=_ingest_in_a_daemonic_process, args=(settings, results), daemon=True)
    process.start()
    outcome = results.get(timeout=120)
    process.join(timeout=30)
    assert isinstance(outcome, dict), outcome
    assert outcome == {"analytics/linkedin/far.xlsx": "quarantined"}, outcome  # and the CSV beside it kept
