"""Raw Search Console API responses, as landed by :mod:`pipeline.crawl.search_console`.

A delivery is a folder (or a zip of it) with ``manifest.json`` (``"format":
"socialrank.search_console_api/1"``, the property, day, ``dataState``, dimensions and the page files in
order) and the ``searchAnalytics.query`` responses as received. Each row's ``keys`` follow the manifest's
dimensions; ``position`` is Search Console's average position (1 is best), ``clicks`` and
``impressions`` are counts, ``country`` an ISO 3166-1 alpha-3 code, ``device`` DESKTOP/MOBILE/TABLET.
Rows past position 100 are outside the panel the warehouse covers (like a rank tracker's "not in top
100") and are skipped, not quarantined.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from typing import Any

from pipeline.canonical import try_canonicalize
from pipeline.delivery import Delivery
from pipeline.sources.base import Extracted, MalformedInput, ParseContext, Record, Rejected, redacted_excerpt

SOURCE = "search_console_api"
FORMAT_MARKER = "socialrank.search_console_api/1"
MANIFEST = "manifest.json"
MAX_POSITION = 100.0


def _manifest_member(delivery: Delivery) -> str | None:
    for member in delivery.find(MANIFEST):
        if member.rsplit("/", 1)[-1] == MANIFEST and FORMAT_MARKER.encode() in delivery.head(member, 512):
            return member
    return None


def _count(value: Any) -> int | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number) or number < 0 or number != round(number):  # 1e400 is inf
        raise ValueError(f"not a count: {value!r}")
    return int(number)


class SearchConsoleApiResponses:
    name = "search_console_api"

    def detect(self, delivery: Delivery) -> bool:
        return _manifest_member(delivery) is not None

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        member = _manifest_member(delivery)
        if member is None:
            return
        try:
            manifest = json.loads(delivery.read(member))
            dimensions = [str(name) for name in manifest["dimensions"]]
            pages = [str(name) for name in manifest["pages"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise MalformedInput(member, "manifest", f"not a usable manifest: {exc}") from exc
        if not {"date", "page", "query"} <= set(dimensions):
            raise MalformedInput(member, "manifest", f"dimensions {dimensions} lack date, page or query")
        folder = member.rsplit("/", 1)[0] + "/" if "/" in member else ""
        for page in pages:
            page_member = folder + page
            try:
                data = json.loads(delivery.read(page_member))
                rows = data.get("rows", [])
            except (ValueError, AttributeError) as exc:
                yield Rejected(page_member, "whole page", f"not a searchAnalytics.query response: {exc}")
                continue
            for index, row in enumerate(rows):
                location = f"row {index}"
                record = self._row(row, dimensions, context)
                if isinstance(record, str):
                    yield Rejected(page_member, location, record, redacted_excerpt(json.dumps(row)))
                elif record is not None:
                    yield record

    @staticmethod
    def _row(row: Any, dimensions: list[str], context: ParseContext) -> Record | str | None:
        """A ranking record, ``None`` for a row outside the top 100, or why the row is unusable."""
        try:
            keys = dict(zip(dimensions, row["keys"], strict=True))
            day = dt.date.fromisoformat(keys["date"])
            position = float(row["position"])
            if not math.isfinite(position):
                raise ValueError(f"not a position: {row['position']!r}")
            clicks, impressions = _count(row.get("clicks")), _count(row.get("impressions"))
        except (KeyError, TypeError, ValueError) as exc:
            return f"unusable row: {type(exc).__name__}: {exc}"
        query = str(keys["query"]).strip()
        canonical = try_canonicalize(str(keys["page"]), context.www_policy)
        if not query or canonical is None:
            return f"empty query or not a web URL ({keys['page']!r})"
        if position < 1.0:
            return f"position {position} below 1"
        if position > MAX_POSITION:
            return None
        return Record(
            "ranking",
            {
                "source": SOURCE,
                "ranking_date": day,
                "query": query,
                "url": str(keys["page"]),
                "canonical_url": canonical,
                "position": position,
                "clicks": clicks,
                "impressions": impressions,
                "search_engine": "google",
                "device": str(keys["device"]).lower() if "device" in keys else None,
                "country": str(keys["country"]).lower() if "country" in keys else None,
                "search_volume": None,
            },
        )
