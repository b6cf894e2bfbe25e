"""One URL through the crawler's whole path, against real servers on loopback."""

from __future__ import annotations

import itertools
from urllib.parse import quote

import pytest

from pipeline.crawl.fetcher import PageFetcher
from pipeline.crawl.page import x_robots_tag
from tests.http_servers import LoopbackServer, Reply, fast_crawler_settings, loopback_names, page_fetcher

HOSTS = ("site.test", "short.test", "t.co", "lnkd.in", "l.facebook.com", "other.test")


@pytest.fixture
def fetcher() -> PageFetcher:
    return page_fetcher(fast_crawler_settings(), loopback_names(*HOSTS))


def test_redirect_chain_is_recorded_hop_by_hop(loopback: LoopbackServer, fetcher: PageFetcher) -> None:
    final = loopback.route("site.test", "/final", Reply(200, "<title>final</title>"))
    third = loopback.route("site.test", "/c", Reply(307, headers={"Location": "/final"}))
    second = loopback.route("other.test", "/b", Reply(302, headers={"Location": third}))
    first = loopback.route("site.test", "/a", Reply(301, headers={"Location": second}))
    result = fetcher.fetch(first)
    assert [(hop.url, hop.status, hop.kind) for hop in result.redirects] == [
        (first, 301, "redirect"),
        (second, 302, "redirect"),
        (third, 307, "redirect"),
    ]
    assert result.final_url == final and result.status == 200 and result.error is None
    assert result.robots_allowed is True


def test_redirect_loop_and_too_many_redirects(loopback: LoopbackServer) -> None:
    one = loopback.route("site.test", "/one", Reply(301, headers={"Location": "/two"}))
    loopback.route("site.test", "/two", Reply(308, headers={"Location": "/one"}))
    fetcher = page_fetcher(fast_crawler_settings(max_redirects=3), loopback_names(*HOSTS))
    looped = fetcher.fetch(one)
    assert looped.error_kind == "redirect_loop" and looped.final_url is None
    assert [hop.status for hop in looped.redirects] == [301, 308]
    for step in range(6):
        loopback.route("site.test", f"/hop{step}", Reply(302, headers={"Location": f"/hop{step + 1}"}))
    endless = fetcher.fetch(loopback.url("site.test", "/hop0"))
    assert endless.error_kind == "too_many_redirects" and len(endless.redirects) == 4


def test_a_shortener_resolves_to_its_target(loopback: LoopbackServer, fetcher: PageFetcher) -> None:
    target = loopback.route("site.test", "/article", Reply(200, "<title>article</title>"))
    short = loopback.route("t.co", "/AbC123", Reply(301, headers={"Location": target}))
    result = fetcher.fetch(short)
    assert result.final_url == target and [hop.status for hop in result.redirects] == [301]


def test_facebook_link_shim_is_unwrapped_without_asking_it(
    loopback: LoopbackServer, fetcher: PageFetcher
) -> None:
    target = loopback.route("site.test", "/post", Reply(200, "<title>post</title>"))
    shim = f"http://l.facebook.com/l.php?u={quote(target, safe='')}&h=AT0abc"
    result = fetcher.fetch(shim)
    assert result.final_url == target and result.status == 200
    assert [(hop.url, hop.status, hop.kind) for hop in result.redirects] == [(shim, None, "shim")]
    assert loopback.hits_for("l.facebook.com") == []


def test_meta_refresh_on_a_200_is_followed(loopback: LoopbackServer, fetcher: PageFetcher) -> None:
    target = loopback.route("site.test", "/landing", Reply(200, "<title>landing</title>"))
    refresh = f'<html><head><meta http-equiv="refresh" content="0; URL={target}"></head></html>'
    start = loopback.route("t.co", "/Xyz", Reply(200, refresh))
    slow = loopback.route("site.test", "/reloads", Reply(200, '<meta http-equiv="refresh" content="300">'))
    result = fetcher.fetch(start)
    assert result.final_url == target
    assert [(hop.status, hop.kind) for hop in result.redirects] == [(200, "meta_refresh")]
    assert fetcher.fetch(slow).final_url == slow  # a page that reloads itself is not a redirect


def test_lnkd_in_interstitial_leads_to_the_external_link(
    loopback: LoopbackServer, fetcher: PageFetcher
) -> None:
    target = loopback.route("site.test", "/shared", Reply(200, "<title>shared</title>"))
    page = (
        "<html><body><p>This link will take you to a page that's not on LinkedIn</p>"
        '<a href="https://www.linkedin.com/legal/user-agreement">terms</a>'
        f'<a data-tracking-control-name="external_url_click" href="{target}">{target}</a></body></html>'
    )
    start = loopback.route("lnkd.in", "/gAbCdEf", Reply(200, page))
    result = fetcher.fetch(start)
    assert result.final_url == target
    assert [(hop.url, hop.kind) for hop in result.redirects] == [(start, "interstitial")]


def test_canonical_from_html_and_from_the_link_header(loopback: LoopbackServer, fetcher: PageFetcher) -> None:
    html_only = loopback.route(
        "site.test", "/p?utm_source=x", Reply(200, '<head><link rel="canonical" href="/p"></head>')
    )
    header_only = loopback.route(
        "site.test", "/doc.html", Reply(200, "<p>doc</p>", headers={"Link": '</doc>; rel="canonical"'})
    )
    conflicting = loopback.route(
        "site.test",
        "/both",
        Reply(
            200, '<head><link rel="canonical" href="/a"></head>', headers={"Link": '</b>; rel="canonical"'}
        ),
    )
    assert fetcher.fetch(html_only).canonical == loopback.url("site.test", "/p")
    assert fetcher.fetch(header_only).canonical == loopback.url("site.test", "/doc")
    both = fetcher.fetch(conflicting)
    assert both.canonical is None  # conflicting hints: no canonical, both kept
    assert both.canonical_html == loopback.url("site.test", "/a")
    assert both.canonical_header == loopback.url("site.test", "/b")


def test_meta_robots_and_x_robots_tag(loopback: LoopbackServer, fetcher: PageFetcher) -> None:
    url = loopback.route(
        "site.test",
        "/private-ish",
        Reply(
            200,
            '<head><meta name="robots" content="noindex, NOFOLLOW">'
            '<meta name="googlebot" content="noarchive"></head>',
            headers={"X-Robots-Tag": "noarchive, otherbot: noindex, socialrank-test: nosnippet"},
        ),
    )
    result = fetcher.fetch(url)
    assert result.meta_robots == ("nofollow", "noindex")
    assert result.x_robots_tag == ("noarchive", "nosnippet")
    assert x_robots_tag({"x-robots-tag": "unavailable_after: 2030-01-01, none"}, "bot") == (
        "none",
        "unavailable_after: 2030-01-01",
    )


def test_outlinks_with_anchor_text_and_rel_token_sets(loopback: LoopbackServer, fetcher: PageFetcher) -> None:
    page = """<html><head><base href="http://site.test/docs/"></head><body>
      <a href="guide" rel="nofollow UGC nofollow">The   <b>guide</b></a>
      <a href="https://other.test/x?utm_source=a" rel="sponsored">ad</a>
      <a href="https://other.test/img"><img src="i.png" alt="Logo of Other"></a>
      <a href="#top">top</a><a href="mailto:a@b.test">mail</a><a href="javascript:void(0)">js</a>
      <area href="/map" rel="noopener">
    </body></html>"""
    url = loopback.route("site.test", "/docs/index", Reply(200, page))
    result = fetcher.fetch(url, extract_links=True)
    assert [(link.url, link.text, link.rel) for link in result.links] == [
        ("http://site.test/docs/guide", "The guide", ("nofollow", "ugc")),
        ("https://other.test/x?utm_source=a", "ad", ("sponsored",)),
        ("https://other.test/img", "Logo of Other", ()),
        ("http://site.test/map", "", ("noopener",)),
    ]
    assert fetcher.fetch(url, extract_links=False).links == ()


def test_non_html_body_is_not_read_or_parsed(loopback: LoopbackServer, fetcher: PageFetcher) -> None:
    url = loopback.route("site.test", "/report.pdf", Reply(200, b"%PDF-1.7 <a href='/x'>", "application/pdf"))
    result = fetcher.fetch(url, extract_links=True)
    assert result.status == 200 and result.content_type == "application/pdf"
    assert result.links == () and result.body_bytes == 0 and result.canonical is None


def test_robots_wildcards_and_allow_wins_a_tie(loopback: LoopbackServer, fetcher: PageFetcher) -> None:
    loopback.route(
        "site.test",
        "/robots.txt",
        Reply(
            200,
            "User-agent: *\nDisallow: /\n\n"
            "User-agent: socialrank-test\nDisallow: /*.pdf$\nDisallow: /tie\nAllow: /tie\n"
            "Disallow: /shop/\nAllow: /shop/*/public\n",
            "text/plain",
        ),
    )
    for path in ("/tie", "/file.pdf", "/file.pdfx", "/shop/a/public", "/shop/a/private", "/open"):
        loopback.route("site.test", path, Reply(200, "<p>page</p>"))
    verdicts = {
        path: fetcher.fetch(loopback.url("site.test", path)).robots_allowed
        for path in ("/tie", "/file.pdf", "/file.pdfx", "/shop/a/public", "/shop/a/private", "/open")
    }
    assert verdicts == {
        "/tie": True,  # Allow and Disallow equally long: Allow wins
        "/file.pdf": False,  # "$" anchors the end
        "/file.pdfx": True,
        "/shop/a/public": True,  # the longer (wildcard) Allow beats the shorter Disallow
        "/shop/a/private": False,
        "/open": True,  # our own group applies, not the "*" group
    }
    refused = fetcher.fetch(loopback.url("site.test", "/file.pdf"))
    assert refused.error_kind == "robots" and "disallows /file.pdf" in (refused.error or "")
    assert len(loopback.hits_for("site.test", "/robots.txt")) == 1  # cached per origin
    assert loopback.hits_for("site.test", "/file.pdf") == []  # never requested


def test_robots_404_allows_everything(loopback: LoopbackServer, fetcher: PageFetcher) -> None:
    url = loopback.route("site.test", "/page", Reply(200, "<p>ok</p>"))
    result = fetcher.fetch(url)
    assert result.robots_allowed is True and result.status == 200


def test_robots_503_disallows_everything(loopback: LoopbackServer, fetcher: PageFetcher) -> None:
    loopback.route("site.test", "/robots.txt", Reply(503, "down", "text/plain"))
    url = loopback.route("site.test", "/page", Reply(200, "<p>ok</p>"))
    result = fetcher.fetch(url)
    assert result.robots_allowed is False and result.error_kind == "robots"
    assert "503" in (result.error or "") and loopback.hits_for("site.test", "/page") == []
    assert len(loopback.hits_for("site.test", "/robots.txt")) == 3  # the HTTP layer retried twice


def test_robots_crawl_delay_slows_the_host_down(loopback: LoopbackServer) -> None:
    loopback.route("site.test", "/robots.txt", Reply(200, "User-agent: *\nCrawl-delay: 0.3\n", "text/plain"))
    for path in ("/1", "/2", "/3"):
        loopback.route("site.test", path, Reply(200, "<p>x</p>"))
    fetcher = page_fetcher(fast_crawler_settings(per_host_delay=0.01), loopback_names(*HOSTS))
    for path in ("/1", "/2", "/3"):
        fetcher.fetch(loopback.url("site.test", path))
    pages = [hit.at for hit in loopback.hits if hit.path in ("/1", "/2", "/3")]
    assert all(later - earlier >= 0.29 for earlier, later in itertools.pairwise(pages))
    assert fetcher.politeness is not None and fetcher.politeness.delay("site.test") == 0.3
