"""What a fetched page says about itself and its links: canonical, robots directives, meta refresh, outlinks.

HTML is decoded the way browsers (and Scrapy) do it, with w3lib (HTTP header, BOM, ``<meta charset>``,
then detection), parsed with selectolax (the lexbor HTML5 parser), and meta refresh read by w3lib.
``rel=canonical`` comes from the HTML ``<head>`` and from the ``Link`` header; when both are present and
disagree, the page has no usable canonical (search engines ignore conflicting hints too) and both are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from requests.utils import parse_header_links
from selectolax.lexbor import LexborHTMLParser, LexborNode
from w3lib.encoding import html_to_unicode
from w3lib.html import get_meta_refresh

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_LIMIT = 500
IGNORED_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "sms:", "ftp:", "file:")
# X-Robots-Tag directives that carry a value after a colon (so the colon does not name a user agent).
_VALUED_DIRECTIVES = frozenset({"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"})
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Outlink:
    url: str
    text: str
    rel: tuple[str, ...]


@dataclass(frozen=True)
class PageInfo:
    canonical_html: str | None = None
    meta_robots: tuple[str, ...] = ()
    meta_refresh: str | None = None
    meta_refresh_delay: float | None = None
    links: tuple[Outlink, ...] = ()
    links_truncated: bool = False


def is_html(content_type: str | None) -> bool:
    return content_type in HTML_TYPES


def _absolute(base: str, href: str | None) -> str | None:
    """An absolute http(s) URL for ``href``, or ``None`` for fragments, other schemes and junk."""
    text = (href or "").strip()
    if not text or text.startswith("#") or text.lower().startswith(IGNORED_SCHEMES):
        return None
    try:
        absolute = urljoin(base, text)
        scheme = urlsplit(absolute).scheme
    except ValueError:
        return None
    return absolute if scheme in ("http", "https") else None


def _tokens(value: str | None, separator: str | None = None) -> tuple[str, ...]:
    items = (value or "").lower().split(separator) if separator else (value or "").lower().split()
    return tuple(sorted({item.strip() for item in items if item.strip()}))


def _anchor_text(node: LexborNode) -> str:
    text = _SPACES.sub(" ", node.text(deep=True, separator=" ")).strip()
    if not text:
        # An image link's anchor text is its image's alt text.
        text = " ".join(
            alt.strip()
            for image in node.css("img[alt]")
            if (alt := image.attributes.get("alt") or "").strip()
        )
    return text[:TEXT_LIMIT]


def analyse_html(
    body: bytes,
    url: str,
    content_type_header: str | None,
    *,
    token: str,
    extract_links: bool,
    max_links: int = 1000,
) -> PageInfo:
    """Canonical, meta robots, meta refresh and (when asked) outlinks of an HTML page at ``url``."""
    _, text = html_to_unicode(content_type_header, body)
    tree = LexborHTMLParser(text)
    base_node = tree.css_first("base[href]")
    base = _absolute(url, base_node.attributes.get("href")) if base_node is not None else None
    base = base or url

    canonical = None
    for node in tree.css("head link[rel][href]"):
        if "canonical" in _tokens(node.attributes.get("rel")):
            canonical = _absolute(base, node.attributes.get("href"))
            break

    robots: set[str] = set()
    for node in tree.css("meta[name][content]"):
        if (node.attributes.get("name") or "").strip().lower() in ("robots", token):
            robots.update(_tokens(node.attributes.get("content"), ","))

    delay, refresh = get_meta_refresh(text, url, ignore_tags=("script", "noscript"))

    links: list[Outlink] = []
    truncated = False
    if extract_links:
        for node in tree.css("a[href], area[href]"):
            target = _absolute(base, node.attributes.get("href"))
            if target is None:
                continue
            if len(links) >= max_links:
                truncated = True
                break
            links.append(Outlink(target, _anchor_text(node), _tokens(node.attributes.get("rel"))))
    return PageInfo(
        canonical_html=canonical,
        meta_robots=tuple(sorted(robots)),
        meta_refresh=refresh,
        meta_refresh_delay=delay,
        links=tuple(links),
        links_truncated=truncated,
    )


def header_canonical(headers: Mapping[str, str], url: str) -> str | None:
    """``Link: <...>; rel="canonical"`` (RFC 8288), resolved against the response URL."""
    value = headers.get("link")
    if not value:
        return None
    for link in parse_header_links(value):
        if "canonical" in _tokens(link.get("rel")):
            return _absolute(url, link.get("url"))
    return None


def x_robots_tag(headers: Mapping[str, str], token: str) -> tuple[str, ...]:
    """Directives of ``X-Robots-Tag`` that apply to this crawler (unprefixed, or prefixed with its token).

    Several headers arrive joined by commas; ``googlebot: noindex, nofollow`` scopes the directives after
    it to that user agent until the next prefix.
    """
    value = headers.get("x-robots-tag")
    if not value:
        return ()
    applies = True
    found: set[str] = set()
    for part in value.split(","):
        item = part.strip().lower()
        if not item:
            continue
        name, colon, rest = item.partition(":")
        if colon and name.strip() not in _VALUED_DIRECTIVES:
            applies = name.strip() in (token, "*")
            item = rest.strip()
            if not item:
                continue
        if applies:
            found.add(item)
    return tuple(sorted(found))


def choose_canonical(from_html: str | None, from_header: str | None) -> str | None:
    """The page's canonical: the one given, or the agreed one; conflicting hints give none."""
    if from_html and from_header and from_html != from_header:
        return None
    return from_html or from_header


def has_directive(directives: Iterable[str], name: str) -> bool:
    """``noindex``/``nofollow`` also come as ``none`` (both)."""
    found = set(directives)
    return name in found or "none" in found
