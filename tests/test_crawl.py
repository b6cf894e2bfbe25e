"""Crawl runs end to end: lake in, lake out, the warehouse joins, and a killed crawl that resumes."""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow.dataset as ds
import pytest

from pipeline import lake, stages, warehouse
from pipeline.canonical import canonicalize, registrable_domain
from pipeline.config import DataRoot, Settings
from pipeline.crawl.addresses import StaticResolver
from pipeline.crawl.crawler import Crawler
from pipeline.crawl.settings import CrawlerSettings
from pipeline.schemas import BACKLINKS, SOCIAL_LINKS
from pipeline.warehouse import define_macros, load_models
from tests.conftest import PROJECT_DIR, keep_build, write_delivery_rows
from tests.http_servers import LoopbackServer, Reply, fast_crawler_settings, loopback_names
from tests.pipeline_runs import differing, table_checksums

RUN_DATE = dt.date(2026, 11, 1)
POSTED = dt.datetime(2026, 10, 20, 15, 0, tzinfo=dt.UTC)
HOSTS = ("example.com", "lnkd.in", "t.co", "other.test", "blog.test", "internal.test")


def crawl_settings(root: Path, **crawler: Any) -> Settings:
    data = DataRoot(root / "data")
    data.ensure()
    return Settings(
        data=data,
        owned_sites=("example.com",),
        timezone=ZoneInfo("America/Los_Angeles"),
        crawler=fast_crawler_settings(**crawler),
    )


def social_link(number: int, url: str, platform: str = "linkedin") -> dict[str, Any]:
    return {
        "platform": platform,
        "post_id": f"post-{number}",
        "permalink": f"https://www.linkedin.com/feed/update/urn:li:share:{number}",
        "posted_at": POSTED,
        "post_date": POSTED.date(),
        "url": url,
        "canonical_url": canonicalize(url),
        "link_kind": "explicit",
        "is_shortener": True,
        "is_repost": False,
        "delivery_id": "delivery-1",
    }


def read_lake(settings: Settings, name: str) -> list[dict[str, Any]]:
    dataset = ds.dataset(settings.data.lake / name, format="parquet", exclude_invalid_files=True)
    rows: list[dict[str, Any]] = dataset.to_table().to_pylist()
    return rows


@pytest.fixture
def site(loopback: LoopbackServer) -> dict[str, str]:
    """A small web: shorteners to an owned page, a linking blog, a refused host, a robots-disallowed page."""
    owned_page = loopback.route(
        "example.com",
        "/gear/boots",
        Reply(
            200,
            '<head><link rel="canonical" href="/gear/boots"></head>'
            '<a href="/gear/tents">tents</a><a href="https://other.test/review" rel="nofollow">review</a>',
        ),
    )
    blog = loopback.route(
        "blog.test",
        "/best-boots",
        Reply(200, f'<p>Read <a href="{owned_page}?utm_source=blog" rel="UGC nofollow">these boots</a></p>'),
    )
    loopback.route(
        "blog.test", "/robots.txt", Reply(200, "User-agent: *\nDisallow: /private\n", "text/plain")
    )
    return {
        "owned_page": owned_page,
        "blog": blog,
        "lnkd": loopback.route(
            "lnkd.in", "/gBoots1", Reply(301, headers={"Location": owned_page + "?trk=li"})
        ),
        "tco": loopback.route(
            "t.co", "/b00ts", Reply(200, f'<meta http-equiv="refresh" content="0;URL={owned_page}">')
        ),
        "other": loopback.route("other.test", "/news", Reply(200, '<a href="https://x.test/">elsewhere</a>')),
        "refused": f"http://internal.test:{loopback.port}/admin",
        "disallowed": loopback.url("blog.test", "/private/page"),
    }


def test_crawl_writes_fetches_and_links_to_the_lake(
    tmp_path: Path, loopback: LoopbackServer, site: dict[str, str]
) -> None:
    settings = crawl_settings(tmp_path)
    links = [
        social_link(n, site[key]) for n, key in enumerate(("lnkd", "tco", "other", "refused", "disallowed"))
    ]
    lake.write_partitioned(settings.data.lake, SOCIAL_LINKS, links, "delivery-1")
    resolver = StaticResolver(dict.fromkeys(HOSTS, "127.0.0.1") | {"internal.test": "10.0.0.7"})
    summary = Crawler(settings, resolver).run(RUN_DATE)

    assert summary.fetched == 5 and summary.fetch_rows_written == 5 and not summary.resumed
    assert summary.outcomes == {"status_2xx": 3, "blocked": 1, "robots": 1}
    fetches = {row["url"]: row for row in read_lake(settings, "crawl_fetches")}
    lnkd = fetches[site["lnkd"]]
    assert lnkd["final_url"] == site["owned_page"] + "?trk=li" and lnkd["status"] == 200
    assert lnkd["redirects"] == [{"url": site["lnkd"], "status": 301, "kind": "redirect"}]
    assert lnkd["canonical_canonical"] == canonicalize(site["owned_page"])
    assert lnkd["links_extracted"] and lnkd["links_found"] == 2  # an owned page: its outlinks are read
    assert fetches[site["tco"]]["redirects"][0]["kind"] == "meta_refresh"
    assert not fetches[site["other"]]["links_extracted"]  # not owned, not a linking page
    assert (
        fetches[site["refused"]]["error_kind"] == "blocked" and fetches[site["refused"]]["final_url"] is None
    )
    assert fetches[site["disallowed"]]["robots_allowed"] is False
    crawled_links = read_lake(settings, "crawl_links")
    assert {(row["target_url"], tuple(row["rel"])) for row in crawled_links} == {
        (loopback.url("example.com", "/gear/tents"), ()),
        ("https://other.test/review", ("nofollow",)),
    }
    assert loopback.hits_for("internal.test") == []

    hits_before = len(loopback.hits)
    again = Crawler(settings, resolver).run(RUN_DATE)
    assert again.fetched == 0 and again.seeded == 5  # fetched recently: not fetched again
    assert len(loopback.hits) == hits_before


def run_models(settings: Settings, names: set[str]) -> duckdb.DuckDBPyConnection:
    """The warehouse's own SQL files for ``names`` (and the staging views, with the build's lists of the lake
    files they read), on a real DuckDB file."""
    lake.ensure_datasets(settings.data.lake)
    con = duckdb.connect(
        str(settings.data.root / "models.duckdb"), config={"file_search_path": str(settings.data.root)}
    )
    for layer in ("staging", "core", "meta"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {layer}")
    # Crawl days are real days: the models' window has to reach today.
    con.execute("SET VARIABLE as_of = ?", [dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)])
    define_macros(con, settings)
    models = load_models(PROJECT_DIR / "sql")
    relations = {model.name: model.relation for model in models}
    wanted = names | {model.relation for model in models if model.schema == "staging"}
    wanted |= {relations[up] for model in models if model.relation in wanted for up in model.depends_on}
    for model in models:
        if model.relation in wanted:
            model.run(con, incremental=False)
    return con


def _land_links(settings: Settings, site: dict[str, str]) -> None:
    """Two posts linking the owned page through shorteners, and a tool's link from the blog to it."""
    write_delivery_rows(
        settings, SOCIAL_LINKS, [social_link(1, site["lnkd"]), social_link(2, site["tco"])], "delivery-1"
    )
    tool_row = {name: None for name in BACKLINKS.schema.names} | {
        "tool": "ahrefs",
        "source_url": site["blog"],
        "source_canonical": canonicalize(site["blog"]),
        "source_domain": registrable_domain("blog.test"),
        "target_url": site["owned_page"],
        "target_canonical": canonicalize(site["owned_page"]),
        "anchor": "boots",
        "nofollow": False,
        "ugc": False,
        "sponsored": False,
        "snapshot_date": dt.date(2026, 9, 1),
        "delivery_id": "ahrefs-1",
    }
    write_delivery_rows(settings, BACKLINKS, [tool_row], "ahrefs-1")


def test_warehouse_resolves_shortened_links_and_reads_rel_flags(
    tmp_path: Path, loopback: LoopbackServer, site: dict[str, str]
) -> None:
    settings = crawl_settings(tmp_path, crawl_linking_pages=True)
    owned = canonicalize(site["owned_page"])
    blog = canonicalize(site["blog"])
    _land_links(settings, site)
    Crawler(settings, loopback_names(*HOSTS)).run(RUN_DATE)

    con = run_models(
        settings, {"core.url_resolution", "core.social_links", "core.crawled_links", "core.backlinks"}
    )
    resolution = dict(con.execute("SELECT url, resolved_url FROM core.url_resolution").fetchall())
    assert resolution[canonicalize(site["lnkd"])] == owned  # redirect, tracking parameter dropped
    assert resolution[canonicalize(site["tco"])] == owned  # meta refresh
    social = con.execute(
        "SELECT post_id, canonical_url, is_owned FROM core.social_links ORDER BY 1"
    ).fetchall()
    assert social == [("post-1", owned, True), ("post-2", owned, True)]
    backlinks = con.execute(
        "SELECT source_url, target_url, found_by, nofollow, ugc, sponsored, anchor, lost FROM core.backlinks "
        "WHERE source_url = ?",
        [blog],
    ).fetchall()
    # The crawler read the blog (a known linking page): its rel tokens are newer than the tool's export.
    assert backlinks == [(blog, owned, ["ahrefs", "crawler"], True, True, False, "these boots", False)]
    con.close()


def test_an_incremental_build_after_a_crawl_equals_a_full_build(
    tmp_path: Path, loopback: LoopbackServer, site: dict[str, str]
) -> None:
    """The crawl resolves the posts' shorteners and reads the blog's rel flags: an incremental build
    redoes the backlinks whose social or crawler links changed."""
    settings = crawl_settings(tmp_path, crawl_linking_pages=True)
    _land_links(settings, site)
    run_date = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)  # crawl days are real days
    before_crawl = warehouse.build(settings, run_date, full=True)
    stages.publish_build(settings, before_crawl.path, {"success": True})
    Crawler(settings, loopback_names(*HOSTS)).run(RUN_DATE)

    incremental = keep_build(warehouse.build(settings, run_date))
    full = warehouse.build(settings, run_date, full=True)
    assert incremental.mode == "incremental"
    owned, blog = canonicalize(site["owned_page"]), canonicalize(site["blog"])
    con = warehouse.connect_read_only(incremental.path)
    try:
        redone = set(con.execute("SELECT source_url, target_url FROM meta.changed_backlinks").fetchall())
        found_by = con.execute("SELECT found_by FROM core.backlinks WHERE source_url = ?", [blog]).fetchone()
    finally:
        con.close()
    assert (blog, owned) in redone  # the crawler's reading of the blog
    assert found_by == (["ahrefs", "crawler"],)
    assert not differing(table_checksums(incremental.path, 12), table_checksums(full.path, 12))


def test_crawl_stage_is_skipped_when_the_crawler_is_off(settings: Settings, loopback: LoopbackServer) -> None:
    assert settings.crawler == CrawlerSettings() and not settings.crawler.enabled
    summary = stages.crawl(settings, RUN_DATE)
    assert summary == {
        "skipped": True,
        "reason": "the crawler is off ([crawler] enabled = false in socialrank.toml)",
    }
    assert loopback.hits == []


KILLED_CRAWL = """
import datetime as dt, sys
from pathlib import Path
from zoneinfo import ZoneInfo
from pipeline.config import DataRoot, Settings
from pipeline.crawl.addresses import StaticResolver
from pipeline.crawl.crawler import Crawler
from tests.http_servers import fast_crawler_settings, loopback_names

settings = Settings(
    data=DataRoot(Path(sys.argv[1])),
    owned_sites=("example.com",),
    timezone=ZoneInfo("America/Los_Angeles"),
    crawler=fast_crawler_settings(per_host_concurrency=1, workers=4),
)
Crawler(settings, loopback_names("h0.test", "h1.test", "h2.test", "h3.test")).run(dt.date(2026, 11, 1))
"""


def done_keys(frontier: Path) -> set[str]:
    with sqlite3.connect(f"file:{frontier}?mode=ro", uri=True) as db:
        try:
            return {row[0] for row in db.execute("SELECT key FROM urls WHERE pending = 0")}
        except sqlite3.OperationalError:  # the crawl has created the file but not its table yet
            return set()


def test_a_killed_crawl_resumes_without_refetching(tmp_path: Path, loopback: LoopbackServer) -> None:
    urls = []
    for number in range(48):
        host = f"h{number % 4}.test"
        urls.append(loopback.route(host, f"/page/{number}", Reply(200, f"<p>{number}</p>", delay=0.05)))
    settings = crawl_settings(tmp_path, per_host_concurrency=1, workers=4)
    rows = [social_link(number, url, "reddit") for number, url in enumerate(urls)]
    lake.write_partitioned(settings.data.lake, SOCIAL_LINKS, rows, "delivery-1")
    frontier = settings.data.state / "crawl" / "frontier.sqlite3"

    crawl = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_CRAWL), str(settings.data.root)],
        cwd=PROJECT_DIR,
        env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not frontier.exists() or len(done_keys(frontier)) < 16):
        time.sleep(0.02)
    crawl.send_signal(signal.SIGKILL)
    crawl.wait()
    killed_at = time.monotonic()
    recorded = done_keys(frontier)
    assert 16 <= len(recorded) < 48, "the crawl was not killed halfway"
    assert read_lake(settings, "crawl_fetches") == []  # recorded in the frontier, not yet in the lake

    summary = Crawler(settings, loopback_names("h0.test", "h1.test", "h2.test", "h3.test")).run(RUN_DATE)
    assert summary.resumed
    refetched = {
        canonicalize(f"http://{hit.host}:{loopback.port}{hit.path}")
        for hit in loopback.hits
        if hit.at > killed_at and hit.path.startswith("/page/")
    }
    assert refetched.isdisjoint(recorded)
    assert len(refetched) == 48 - len(recorded)
    assert [hit for hit in loopback.hits if hit.at > killed_at and hit.path == "/robots.txt"] == []
    fetched = read_lake(settings, "crawl_fetches")
    assert sorted(row["url"] for row in fetched) == sorted(urls)  # every URL exactly once
    assert {row["crawl_id"] for row in fetched} == {summary.crawl_id}
