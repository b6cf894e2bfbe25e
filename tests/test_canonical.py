from __future__ import annotations

import pytest

from pipeline.canonical import NotAWebUrl, canonicalize, is_owned, registrable_domain, try_canonicalize


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
