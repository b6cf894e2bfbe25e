"""The one URL canonicaliser (SPEC section 6). Every join between datasets uses its output.

Rules, in order: trim; add ``https://`` to scheme-less links; lower-case scheme and host;
``http`` becomes ``https`` (the same page is shared both ways); IDN hosts to punycode; default
ports dropped; ``www.`` stripped (or kept, by policy); fragment dropped; tracking parameters
removed; percent-encoding normalised and query arguments sorted (w3lib, Scrapy's canonicaliser);
an empty path becomes ``/``. Hosts follow :func:`pipeline.hosts.canonical_host`, which the owned-site
rule shares. Redirects and ``rel=canonical`` found by the crawler are applied on
top of this in the warehouse, through the crawl tables.
"""

from __future__ import annotations

import ipaddress
import re
from functools import cache, lru_cache
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

from pipeline.hosts import NotAHostName, apply_www_policy, canonical_host

if TYPE_CHECKING:
    import tldextract

TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ref_src",
        "ref_url",
        "s_cid",
        "si",
    }
)
TRACKING_PREFIXES = ("utm_", "hsa_", "pk_", "mtm_")
DEFAULT_PORTS = {"http": 80, "https": 443}

# A scheme is letters then ":"; "example.com:8080/x" has a port there, not a scheme.
_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:(?!\d)")
# A canonical URL's host when it is plain (no port, no IPv6 brackets): no parsing needed to read it.
_PLAIN_HOST = re.compile(r"https?://([a-z0-9.-]+)(?:[/?#]|\Z)")
# Most shared links: lower-case ASCII host, no port, a path of unreserved characters without dot
# segments, simple ``name=value`` arguments. Their canonical form needs no parsing or re-encoding
# (the general rules give the same result, which the tests check); anything else takes the rules.
_UNRESERVED = r"[A-Za-z0-9\-_.~]"
_PLAIN_URL = re.compile(
    rf"https?://(?P<host>[a-z0-9-]{{1,63}}(?:\.[a-z0-9-]{{1,63}})+)"
    rf"(?P<path>/(?!\.)(?:{_UNRESERVED}|/(?!\.))*)?"
    rf"(?:\?(?P<query>{_UNRESERVED}+={_UNRESERVED}*(?:&{_UNRESERVED}+={_UNRESERVED}*)*))?",
    re.ASCII,
)


class NotAWebUrl(ValueError):
    """The text is not an http(s) URL with a host."""


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMETERS or lowered.startswith(TRACKING_PREFIXES)


def _host(parts: SplitResult, www_policy: str) -> str:
    host = parts.hostname or ""
    if ":" in host:
        return host
    try:
        return canonical_host(host, www_policy)
    except NotAHostName as exc:
        raise NotAWebUrl(str(exc)) from exc


def is_loopback(host: str) -> bool:
    """``localhost`` and its subdomains, ``127.0.0.0/8``, ``::1``, ``0.0.0.0``: this machine, never a
    page someone shared."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    if ":" not in host and not host[-1:].isdigit():
        return False  # a name (IPv4 addresses end in a digit, IPv6 ones hold a colon): no parse needed
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


@lru_cache(maxsize=200_000)
def canonicalize(url: str, www_policy: str = "strip") -> str:
    """Return the canonical form of an http(s) URL; raise :class:`NotAWebUrl` for anything else."""
    text = url.strip()
    if not text:
        raise NotAWebUrl("empty URL")
    plain = _PLAIN_URL.fullmatch(text)
    if plain is not None:
        return _plain_canonical(plain, www_policy)
    return canonical_by_rules(text, www_policy)


def canonical_by_rules(text: str, www_policy: str) -> str:
    """The canonical form by the general rules (any URL; :func:`canonicalize` takes a short cut for
    plain ones)."""
    if not _SCHEME_RE.match(text):
        if text.startswith("//"):
            text = "https:" + text
        elif "." in text.split("/", 1)[0]:
            text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise NotAWebUrl(f"unparseable URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise NotAWebUrl(f"scheme {scheme!r} is not http(s)")
    host = _host(parts, www_policy)
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    )
    rebuilt = urlunsplit(("https", netloc, parts.path or "/", query, ""))
    try:
        return canonicalize_url(rebuilt, keep_fragments=False)
    except ValueError as exc:
        raise NotAWebUrl(f"unparseable URL: {exc}") from exc


def _plain_canonical(plain: re.Match[str], www_policy: str) -> str:
    host = apply_www_policy(plain["host"], www_policy)
    arguments = sorted(
        (name, value)
        for name, value in (
            argument.split("=", 1) for argument in (plain["query"] or "").split("&") if argument
        )
        if not _is_tracking(name)
    )
    query = "&".join(f"{name}={value}" for name, value in arguments)
    return f"https://{host}{plain['path'] or '/'}{'?' if query else ''}{query}"


def try_canonicalize(url: str | None, www_policy: str = "strip") -> str | None:
    """Canonical form, or ``None`` when the text is not a web URL."""
    if not url:
        return None
    try:
        return canonicalize(url, www_policy)
    except NotAWebUrl:
        return None


def host_of(canonical_url: str) -> str:
    plain = _PLAIN_HOST.match(canonical_url)
    if plain is not None:
        return plain[1]
    return urlsplit(canonical_url).hostname or ""


@cache
def _domain_extractor() -> tldextract.TLDExtract:
    """Offline: the public-suffix snapshot bundled with tldextract, never a download at run time. Made on
    first use: tldextract imports requests, half a second of every command's start otherwise."""
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=())


@lru_cache(maxsize=100_000)
def registrable_domain(host: str) -> str:
    """``blog.example.co.uk`` -> ``example.co.uk`` (public suffix list); the host itself if unknown."""
    extracted = _domain_extractor()(host)
    return extracted.top_domain_under_public_suffix or host
