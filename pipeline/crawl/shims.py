"""Platform link shims and shortener interstitials: where a link really goes, without asking the shim.

Shims (``l.facebook.com/l.php?u=...``) carry the target in a query parameter and often answer a crawler
with a login or warning page, so the target is read from the URL itself. Shorteners (t.co, bit.ly,
lnkd.in) answer with ordinary redirects, followed hop by hop by the fetcher; some answer a non-browser
with a 200 page instead: a meta refresh (t.co), or an "external link" interstitial (lnkd.in) whose one
outbound link is the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

from pipeline.canonical import registrable_domain
from pipeline.crawl.page import Outlink

# (host, path) -> the query parameter holding the target. Hosts are compared lower-case.
SHIMS: dict[tuple[str, str], str] = {
    ("l.facebook.com", "/l.php"): "u",
    ("lm.facebook.com", "/l.php"): "u",
    ("m.facebook.com", "/l.php"): "u",
    ("www.facebook.com", "/l.php"): "u",
    ("l.messenger.com", "/l.php"): "u",
    ("l.instagram.com", "/"): "u",
    ("l.threads.net", "/"): "u",
    ("l.threads.com", "/"): "u",
    ("www.linkedin.com", "/redir/redirect"): "url",
    ("www.google.com", "/url"): "q",
    ("www.youtube.com", "/redirect"): "q",
    ("out.reddit.com", ""): "url",
}
# Shorteners known to answer with an interstitial page, and the domains that are their own, not targets.
INTERSTITIAL_OWN_DOMAINS: dict[str, frozenset[str]] = {
    "lnkd.in": frozenset({"lnkd.in", "linkedin.com", "licdn.com"}),
}


def unwrap_shim(url: str) -> str | None:
    """The target of a shim URL (an absolute http(s) URL), or ``None`` when ``url`` is not a shim."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    parameter = SHIMS.get((host, parts.path)) or SHIMS.get((host, ""))
    if parameter is None:
        return None
    values = parse_qs(parts.query).get(parameter)
    if not values:
        return None
    target = values[0].strip()
    return target if urlsplit(target).scheme in ("http", "https") else None


def interstitial_target(url: str, links: Sequence[Outlink]) -> str | None:
    """On a shortener's interstitial page, the first link that leaves the shortener's own domains."""
    host = (urlsplit(url).hostname or "").lower()
    own = INTERSTITIAL_OWN_DOMAINS.get(host)
    if own is None:
        return None
    for link in links:
        if registrable_domain((urlsplit(link.url).hostname or "").lower()) not in own:
            return link.url
    return None
