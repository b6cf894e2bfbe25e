"""What the web-analytics traffic formats share: a landing page made a URL, and the checks a
``traffic`` record passes whatever tool reported it.

Analytics tools name a landing page by its path and query string (``/blog/post?utm_source=x``). Its URL
takes the host from the export where the export names one (a hostname column, an absolute URL), else
the one owned site; with several owned sites and no hostname, which site a path is on is unknown and
the row is quarantined saying so, never guessed. Placeholders (``(not set)``, ``(other)``) are
sessions on no known page: kept, with no canonical URL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipeline.canonical import try_canonicalize
from pipeline.sources.base import ParseContext, Record

PLACEHOLDERS = frozenset({"(not set)", "(other)", "(not provided)", "(none)", "(entrance)"})


class UnknownHost(ValueError):
    """A landing page given as a path, with no host in the export and not exactly one owned site."""


@dataclass(frozen=True)
class TrafficRow:
    """One row of sessions as a format read it, before the shared checks."""

    day: dt.date
    landing_page: str | None
    sessions: int
    source: str | None = None
    medium: str | None = None
    channel_group: str | None = None
    engaged_sessions: int | None = None
    average_session_duration: float | None = None
    average_engagement_time: float | None = None
    bounce_rate: float | None = None
    hostname: str | None = None


def landing_url(page: str, hostname: str | None, context: ParseContext) -> str | None:
    """The canonical URL of a landing page; ``None`` for a placeholder. :class:`UnknownHost` when the
    page is a path and neither the export nor the configuration says which site it is on."""
    text = page.strip()
    if not text or text.lower() in PLACEHOLDERS:
        return None
    if "://" in text:
        return try_canonicalize(text, context.www_policy)
    if hostname:
        host = hostname.strip().lower()
    elif len(context.owned_sites) == 1:
        host = context.owned_sites[0]
    else:
        sites = (
            f"{len(context.owned_sites)} owned sites are configured"
            if context.owned_sites
            else ("no owned site is configured")
        )
        raise UnknownHost(
            f"landing page {text[:80]!r} is a path, the export names no hostname and {sites}: "
            "add the Hostname dimension to the report (or configure the one owned site)"
        )
    path = text if text.startswith("/") else "/" + text
    return try_canonicalize(f"https://{host}{path}", context.www_policy)


def traffic_record(
    format_name: str, tool: str, prop: str | None, row: TrafficRow, context: ParseContext
) -> Record:
    """A ``traffic`` record; ``ValueError`` saying what is wrong with a row no tool could report."""
    if row.sessions < 0:
        raise ValueError(f"negative sessions ({row.sessions})")
    if row.engaged_sessions is not None and not 0 <= row.engaged_sessions <= row.sessions:
        raise ValueError(f"engaged sessions {row.engaged_sessions} outside 0..{row.sessions} sessions")
    if row.bounce_rate is not None and not 0.0 <= row.bounce_rate <= 1.0:
        raise ValueError(f"bounce rate {row.bounce_rate} outside 0..1")
    for name, seconds in (
        ("average session duration", row.average_session_duration),
        ("average engagement time", row.average_engagement_time),
    ):
        if seconds is not None and seconds < 0:
            raise ValueError(f"negative {name} ({seconds})")
    canonical = landing_url(row.landing_page, row.hostname, context) if row.landing_page else None
    return Record(
        "traffic",
        {
            "format": format_name,
            "tool": tool,
            "property": prop,
            "traffic_date": row.day,
            "landing_page": row.landing_page,
            "canonical_url": canonical,
            "session_source": row.source,
            "session_medium": row.medium,
            "channel_group": row.channel_group,
            "sessions": row.sessions,
            "engaged_sessions": row.engaged_sessions,
            "average_session_duration": row.average_session_duration,
            "average_engagement_time": row.average_engagement_time,
            "bounce_rate": row.bounce_rate,
        },
    )
