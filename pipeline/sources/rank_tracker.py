"""The generic rank-tracker CSV: ``date,keyword,url,position`` required;
``search_engine,device,country,search_volume`` (and ``clicks,impressions``) optional.

A row whose position says "not ranked" (empty, ``-``, ``>100`` ...) is kept with no position: it records
that the query was tracked that day and the page (or, with no URL, any page) was outside the tracked
depth. The impact estimate counts such days as censored, not missing (docs/impact.md).

Named tracker formats map their headers onto this contract through :data:`HEADER_ALIASES`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from pipeline.canonical import try_canonicalize
from pipeline.delivery import Delivery
from pipeline.sources.base import Extracted, ParseContext, Record, Rejected
from pipeline.sources.textfiles import csv_dict_rows, header_of

SOURCE = "rank_tracker"
REQUIRED = ("date", "keyword", "url", "position")
OPTIONAL_INTEGERS = ("search_volume", "clicks", "impressions")
OPTIONAL_TEXT = ("search_engine", "device", "country")
HEADER_ALIASES = {
    "query": "keyword",
    "landing page": "url",
    "rank": "position",
    "engine": "search_engine",
    "volume": "search_volume",
}
MAX_POSITION = 1000.0
# Trackers write these when the page is outside the tracked depth: no ranking, not an error.
NOT_RANKED = frozenset({"", "-", "n/a", "not in top 100", ">100"})


def normalise_header(header: list[str]) -> list[str]:
    names = [column.strip().lower() for column in header]
    return [HEADER_ALIASES.get(name, name) for name in names]


INT64_MAX = 2**63 - 1


def _optional_int(value: str | None) -> int | None:
    text = (value or "").strip().replace(",", "")
    if not text:
        return None
    number = int(float(text))
    if not 0 <= number <= INT64_MAX:
        raise ValueError(f"{text} is not a count")
    return number


class RankTrackerCsv:
    name = "rank_tracker_csv"

    def _members(self, delivery: Delivery) -> list[str]:
        return [
            m for m in delivery.find(".csv") if set(REQUIRED) <= set(normalise_header(header_of(delivery, m)))
        ]

    def detect(self, delivery: Delivery) -> bool:
        return bool(self._members(delivery))

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for member in self._members(delivery):
            header = normalise_header(header_of(delivery, member))
            with csv_dict_rows(delivery, member, header) as rows:
                for item in rows:
                    if isinstance(item, Rejected):
                        yield item
                        continue
                    location, row = item
                    yield self._row(row, member, location, context)

    def _row(self, row: dict[str, str], member: str, location: str, context: ParseContext) -> Extracted:
        try:
            day = dt.date.fromisoformat(row["date"].strip()[:10])
        except ValueError:
            return Rejected(member, location, f"unparseable date {row['date']!r} (expected YYYY-MM-DD)")
        keyword = row["keyword"].strip()
        ranked = row["position"].strip().lower() not in NOT_RANKED
        canonical = try_canonicalize(row["url"], context.www_policy)
        if not keyword or (canonical is None and (ranked or row["url"].strip())):
            return Rejected(member, location, f"empty keyword or not a web URL ({row['url']!r})")
        try:
            position = float(row["position"].strip().replace(",", ".")) if ranked else None
            extras = {name: _optional_int(row.get(name)) for name in OPTIONAL_INTEGERS}
        except ValueError:
            return Rejected(member, location, f"unreadable position or number in {row!r}"[:200])
        if position is not None and not 1.0 <= position <= MAX_POSITION:
            return Rejected(member, location, f"position {position} outside 1..{MAX_POSITION:.0f}")
        return Record(
            "ranking",
            {
                "source": SOURCE,
                "ranking_date": day,
                "query": keyword,
                "url": row["url"].strip() or None,
                "canonical_url": canonical,
                "position": position,
                "clicks": extras["clicks"],
                "impressions": extras["impressions"],
                "search_engine": row.get("search_engine") or None,
                "device": row.get("device") or None,
                "country": row.get("country") or None,
                "search_volume": extras["search_volume"],
            },
        )
