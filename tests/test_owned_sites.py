"""The one owned-site rule (pipeline/hosts.py): Python, the warehouse's SQL and the crawler's seed query
give the same answer for the same canonical URLs, under either ``www_policy``, and the right one."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from pipeline.canonical import canonicalize
from pipeline.config import ConfigError, DataRoot, Settings, load_settings
from pipeline.crawl.crawler import seeds_from_lake
from pipeline.crawl.settings import CrawlerSettings
from pipeline.hosts import NotAHostName, is_owned, owned_host, owned_hosts
from pipeline.schemas import BACKLINKS
from pipeline.warehouse import define_macros
from tests.conftest import write_delivery_rows

# Owned sites as a user writes them: with www., in capitals, an IDN.
CONFIGURED = ("www.MySite.io", "bücher.de")

# Raw URL; owned under www_policy "strip"; owned under "keep" (where www.mysite.io is its own site).
CASES = [
    ("https://mysite.io/pricing", True, False),
    ("https://www.mysite.io/pricing", True, True),
    ("http://WWW.MYSITE.IO/Pricing?utm_source=x", True, True),
    ("https://www.mysite.io./trailing-dot", True, True),
    ("https://blog.mysite.io/post", True, False),
    ("https://shop.www.mysite.io/", True, True),
    ("https://mysite.io:8443/admin", True, False),
    ("https://www.mysite.io:8443/admin", True, True),
    ("https://user:secret@mysite.io/", True, False),
    ("https://notmysite.io/", False, False),
    ("https://wwwmysite.io/", False, False),
    ("https://mysite.io.evil.com/", False, False),
    ("https://www.mysite.io.evil.com/", False, False),
    ("https://mysite.iox/", False, False),
    ("https://mysite-io.com/", False, False),
    ("https://evil.com/mysite.io", False, False),
    ("https://evil.com/?next=https://www.mysite.io/", False, False),
    ("https://bücher.de/straße", True, True),
    ("https://WWW.BÜCHER.DE/", True, True),
    ("https://xn--bcher-kva.de/x", True, True),
    ("https://bucher.de/", False, False),
    ("https://[::1]/", False, False),
]


def _settings(root: Path, www_policy: str, sites: tuple[str, ...] = CONFIGURED) -> Settings:
    data = DataRoot(root / "data")
    data.ensure()
    return Settings(
        data=data,
        owned_sites=sites,
        timezone=ZoneInfo("UTC"),
        www_policy=www_policy,
        crawler=CrawlerSettings(crawl_linking_pages=True),
    )


def _by_sql(settings: Settings, urls: list[str]) -> dict[str, bool]:
    """The warehouse's ``is_owned`` macro, defined as a build defines it."""
    con = duckdb.connect()
    try:
        define_macros(con, settings)
        rows = con.execute("SELECT url, is_owned(url) FROM unnest(?::VARCHAR[]) AS t(url)", [urls]).fetchall()
    finally:
        con.close()
    return {str(url): bool(owned) for url, owned in rows}


def _by_crawler(settings: Settings, urls: list[str]) -> dict[str, bool]:
    """The crawler's linking-page seeds: a tool reports one linking page per target; the page is seeded
    when the crawler's query finds its target owned."""
    sources = {url: f"https://linker-{number}.example/page" for number, url in enumerate(urls)}
    rows = [
        {name: None for name in BACKLINKS.schema.names}
        | {
            "tool": "ahrefs",
            "source_url": source,
            "source_canonical": source,
            "source_domain": "example",
            "target_url": url,
            "target_canonical": url,
            "nofollow": False,
            "ugc": False,
            "sponsored": False,
            "snapshot_date": dt.date(2026, 9, 1),
            "delivery_id": "ahrefs-1",
        }
        for url, source in sources.items()
    ]
    write_delivery_rows(settings, BACKLINKS, rows, "ahrefs-1")
    seeded = {seed.key for seed in seeds_from_lake(settings) if seed.purpose == "linking_page"}
    return {url: source in seeded for url, source in sources.items()}


@pytest.mark.parametrize(("www_policy", "column"), [("strip", 1), ("keep", 2)])
def test_python_sql_and_crawler_agree_on_owned_urls(tmp_path: Path, www_policy: str, column: int) -> None:
    settings = _settings(tmp_path, www_policy)
    canonical = {raw: canonicalize(raw, www_policy) for raw, *_ in CASES}
    urls = sorted(set(canonical.values()))
    python = {url: is_owned(url, settings.owned_sites) for url in urls}
    sql = _by_sql(settings, urls)
    crawler = _by_crawler(settings, urls)
    expected = {canonical[case[0]]: case[column] for case in CASES}
    assert python == expected
    assert sql == expected
    assert crawler == expected


def test_a_www_site_owns_the_stripped_canonical_urls_in_the_warehouse_sql(tmp_path: Path) -> None:
    """What users saw: owned_sites = ["www.mysite.io"] matched no canonical URL in SQL (they carry
    mysite.io under www_policy "strip")."""
    settings = _settings(tmp_path, "strip", ("www.mysite.io",))
    url = canonicalize("https://www.mysite.io/pricing")
    assert url == "https://mysite.io/pricing"
    assert _by_sql(settings, [url]) == {url: True}


def test_configured_sites_are_normalised_as_canonical_hosts_are() -> None:
    assert owned_hosts(CONFIGURED, "strip") == ("mysite.io", "xn--bcher-kva.de")
    assert owned_hosts(CONFIGURED, "keep") == ("www.mysite.io", "xn--bcher-kva.de")
    # The same site twice (with and without www.) is one host under strip.
    assert owned_hosts(("mysite.io", "WWW.mysite.io."), "strip") == ("mysite.io",)
    assert owned_hosts(("mysite.io", "www.mysite.io"), "keep") == ("mysite.io", "www.mysite.io")


@pytest.mark.parametrize(
    ("site", "message"),
    [
        ("https://www.mysite.io/", "write 'www.mysite.io' (no scheme, path or port"),
        ("mysite.io/blog", "write 'mysite.io'"),
        ("mysite.io:8080", "write 'mysite.io'"),
        ("*.mysite.io", "write 'mysite.io' (its subdomains count as owned already)"),
        ("192.0.2.7", "is an IP address"),
        ("localhost", "a name with at least one dot"),
        ("my site.io", "is not a domain name such as 'mysite.io'"),
        ("", "is not a domain name such as 'mysite.io'"),
    ],
)
def test_a_site_that_is_not_a_domain_name_is_refused_with_what_to_write(site: str, message: str) -> None:
    with pytest.raises(NotAHostName, match=re.escape(message)):
        owned_host(site, "strip")


def test_the_configuration_file_names_the_bad_site(tmp_path: Path) -> None:
    config = tmp_path / "socialrank.toml"
    config.write_text('[site]\nowned_sites = ["https://www.mysite.io/"]\n')
    with pytest.raises(ConfigError, match=r"socialrank.toml: \[site\] owned_sites: 'https://www.mysite.io/'"):
        load_settings(config)
    config.write_text('[site]\nowned_sites = "mysite.io"\n')
    with pytest.raises(ConfigError, match=r'must be a list of domain names such as \["mysite.io"\]'):
        load_settings(config)
    config.write_text('[site]\nowned_sites = ["www.mysite.io"]\nwww_policy = "keep"\n')
    assert load_settings(config).owned_sites == ("www.mysite.io",)
