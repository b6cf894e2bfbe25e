"""Host names as canonical URLs carry them, and the owned-site rule built on them.

The owned-site rule has one definition, :func:`owned_url_pattern`: a regular expression over canonical
URLs. Python (:func:`is_owned`), the warehouse's SQL (the ``is_owned`` macro reads it as the DuckDB
variable ``owned_url_pattern``) and the crawler's seed query (a bound parameter) all match that one
expression. A configured site is normalised by :func:`owned_hosts` exactly as a URL's host is by the
canonicaliser (:func:`canonical_host`: IDNA, lower case, ``www.`` by policy), so ``www.mysite.io``
under ``www_policy = "strip"`` owns the URLs canonicalised to ``https://mysite.io/...``.

No URL libraries here: settings, and so DAG files, import this module when they load.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

WWW_POLICIES = ("strip", "keep")
# Labels of letters, digits, hyphens (underscores: some real subdomains have them); no spaces.
HOST_NAME = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
# Matches nothing: the pattern of no owned sites (RE2 and Python both read it).
_NOTHING = r"[^\s\S]"


class NotAHostName(ValueError):
    """The text is not a host name a canonical URL can carry."""


def apply_www_policy(host: str, www_policy: str) -> str:
    """``www.example.com`` -> ``example.com`` under ``strip``; the host as it is under ``keep``."""
    if www_policy == "strip" and host.startswith("www."):
        return host[4:]
    return host


def canonical_host(host: str, www_policy: str) -> str:
    """A host name as canonical URLs carry it: no trailing dot, IDN labels in punycode, lower case,
    ``www.`` by policy. Raises :class:`NotAHostName` for anything else."""
    host = host.rstrip(".")
    if not host:
        raise NotAHostName("no host")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise NotAHostName(f"host {host!r} is not a valid domain name") from exc
    host = host.lower()
    if not HOST_NAME.fullmatch(host):
        raise NotAHostName(f"host {host!r} is not a valid domain name")
    return apply_www_policy(host, www_policy)


def owned_host(site: str, www_policy: str) -> str:
    """One configured owned site as the host of its canonical URLs (``WWW.MySite.io`` -> ``mysite.io``
    under ``strip``). Raises :class:`NotAHostName` saying what to write instead."""
    text = site.strip()
    example = "a domain name such as 'mysite.io'"
    if any(mark in text for mark in "/:@"):
        named = urlsplit(text if "://" in text else "//" + text).hostname
        if named:
            raise NotAHostName(
                f"{site!r} is not a bare domain name: write {named!r} (no scheme, path or port: every page "
                "and port of the site counts)"
            )
        raise NotAHostName(f"{site!r} is not {example}")
    if text.startswith("*."):
        raise NotAHostName(f"{site!r}: write {text[2:]!r} (its subdomains count as owned already)")
    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        raise NotAHostName(f"{site!r} is an IP address, not {example}")
    try:
        host = canonical_host(text, www_policy)
    except NotAHostName as exc:
        raise NotAHostName(f"{site!r} is not {example}") from exc
    if "." not in host:
        raise NotAHostName(f"{site!r} is not {example} (a name with at least one dot)")
    return host


def owned_hosts(sites: Iterable[str], www_policy: str) -> tuple[str, ...]:
    """Configured owned sites as canonical hosts, first spelling first, each once."""
    return tuple(dict.fromkeys(owned_host(site, www_policy) for site in sites))


@lru_cache(maxsize=64)
def owned_url_pattern(hosts: tuple[str, ...]) -> str:
    """The owned-site rule: a canonical URL is owned when its host is one of ``hosts`` (canonical hosts,
    see :func:`owned_hosts`) or a subdomain of one, on any port. Written for both Python's ``re`` and
    DuckDB's RE2."""
    if not hosts:
        return _NOTHING
    alternatives = "|".join(re.escape(host) for host in hosts)
    return rf"^https?://([a-z0-9_-]+\.)*({alternatives})(:[0-9]+)?([/?#]|$)"


@lru_cache(maxsize=64)
def _owned_url_regex(hosts: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(owned_url_pattern(hosts))


def is_owned(canonical_url: str, hosts: tuple[str, ...]) -> bool:
    """Whether a canonical URL is on one of the owned sites (``hosts`` as :func:`owned_hosts` gives them)."""
    return _owned_url_regex(hosts).match(canonical_url) is not None
