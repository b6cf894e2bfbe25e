from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.canonical import (
    _PLAIN_URL,
    NotAWebUrl,
    canonical_by_rules,
    canonicalize,
    host_of,
    registrable_domain,
    try_canonicalize,
)
from pipeline.hosts import is_owned


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://WWW.Example.COM:80/a/b?x=1#section", "https://example.com/a/b?x=1"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://example.com/p?utm_source=x&utm_medium=social&id=7", "https://example.com/p?id=7"),
        ("https://example.com/p?fbclid=abc&gclid=def&b=2&a=1", "https://example.com/p?a=1&b=2"),
        ("example.com/guide", "https://example.com/guide"),
        ("//cdn.example.com/x", "https://cdn.example.com/x"),
        ("https://example.com/a%7eb", "https://example.com/a~b"),
        ("http://bücher.de/straße", "https://xn--bcher-kva.de/stra%C3%9Fe"),
        ("  https://example.com/padded  ", "https://example.com/padded"),
    ],
)
def test_canonical_form(raw: str, expected: str) -> None:
    assert canonicalize(raw) == expected


def test_www_policy_keep_leaves_the_host_alone() -> None:
    assert canonicalize("https://www.example.com/x", www_policy="keep") == "https://www.example.com/x"


def test_equivalent_urls_join_on_one_form() -> None:
    forms = {
        "http://www.example.com/guide?utm_campaign=spring",
        "https://example.com/guide#top",
        "HTTPS://EXAMPLE.COM:443/guide",
    }
    assert len({canonicalize(form) for form in forms}) == 1


@pytest.mark.parametrize(
    "raw", ["", "mailto:someone@example.com", "ftp://example.com/file", "https://", "hello"]
)
def test_non_web_urls_are_refused(raw: str) -> None:
    with pytest.raises(NotAWebUrl):
        canonicalize(raw)
    assert try_canonicalize(raw) is None


def test_registrable_domain_uses_the_public_suffix_list() -> None:
    assert registrable_domain("blog.example.co.uk") == "example.co.uk"
    assert registrable_domain("news.bbc.com") == "bbc.com"


def test_owned_sites_include_subdomains_only() -> None:
    owned = ("example.com",)
    assert is_owned("https://example.com/x", owned)
    assert is_owned("https://shop.example.com/x", owned)
    assert not is_owned("https://notexample.com/x", owned)
    assert not is_owned("https://example.com.evil.net/x", owned)


def test_a_port_is_not_mistaken_for_a_scheme_and_credentials_are_dropped() -> None:
    assert canonicalize("example.com:8080/x") == "https://example.com:8080/x"
    assert canonicalize("https://user:secret@example.com/x") == "https://example.com/x"


@st.composite
def _urls(draw: st.DrawFn) -> str:
    """URLs near the short cut's border: half of them plain, the rest with one messy part or more."""
    plain = draw(st.booleans())
    unreserved = "aZ09-_.~"
    label = st.text(alphabet="abcxyz019-" if plain else "abcXYZ019-é", min_size=1, max_size=70)
    segment = st.text(alphabet=unreserved + ("" if plain else "%7e+!:@é"), max_size=8)
    value = st.text(alphabet=unreserved + ("" if plain else "+%="), max_size=6)
    name = st.one_of(st.sampled_from(["utm_source", "fbclid", "id", "a", "b", "UTM_Medium"]), segment)
    schemes = ["https://", "http://"] + ([] if plain else ["HTTP://", "", "//", "ftp://"])
    scheme = draw(st.sampled_from(schemes))
    host = ".".join(draw(st.lists(st.one_of(label, st.just("www")), min_size=1, max_size=4)))
    port = "" if plain else draw(st.sampled_from(["", ":443", ":80", ":8080"]))
    path = "".join("/" + part for part in draw(st.lists(segment, max_size=4)))
    arguments = draw(st.lists(st.tuples(name, value), max_size=4))
    query = ("?" + "&".join(f"{key}={val}" for key, val in arguments)) if arguments else ""
    fragment = "" if plain else draw(st.sampled_from(["", "#top"]))
    return scheme + host + port + path + query + fragment


def _outcome(function: Callable[[], str]) -> str:
    try:
        return function()
    except NotAWebUrl:
        return "not a web URL"


@settings(max_examples=2000, deadline=None)
@given(url=_urls(), www_policy=st.sampled_from(["strip", "keep"]))
def test_the_short_cut_for_plain_urls_gives_what_the_rules_give(url: str, www_policy: str) -> None:
    assert _outcome(lambda: canonicalize(url, www_policy)) == _outcome(
        lambda: canonical_by_rules(url, www_policy)
    )


def test_the_short_cut_is_taken_for_typical_shared_links() -> None:
    for url in (
        "https://www.example.com/guide/2024/brew-v60.html?utm_source=x&id=7",
        "http://blog.example.co.uk/",
        "https://example.com",
    ):
        assert _PLAIN_URL.fullmatch(url), url


@settings(max_examples=1000, deadline=None)
@given(url=_urls())
def test_the_host_of_a_url_is_what_urlsplit_reads(url: str) -> None:
    assert host_of(url) == (urlsplit(url).hostname or "")
