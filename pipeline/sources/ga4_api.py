"""Raw GA4 Data API ``runReport`` responses, as landed by :mod:`pipeline.crawl.ga4`.

A delivery is one JSON file per property and day (or a folder or zip of them) opening with ``"format":
"socialrank.ga4_api/1"``, with the ``property`` id, the ``date``, the ``request`` sent and the
``responses`` as received, one per page. Each response names its columns in ``dimensionHeaders`` and
``metricHeaders``; a row's ``dimensionValues[].value`` and ``metricValues[].value`` follow them, as
strings. ``date`` is ``YYYYMMDD`` in the property's time zone, ``landingPagePlusQueryString`` a path
(the host from ``hostName`` when present, else the one owned site), ``sessions`` and ``engagedSessions``
counts, ``averageSessionDuration`` seconds and ``bounceRate`` a fraction. ``(not set)`` landing pages are
kept without a URL (:mod:`traffic_common`); a row that cannot be read is quarantined alone.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from typing import Any

from pipeline.delivery import Delivery
from pipeline.sources.base import Extracted, MalformedInput, ParseContext, Rejected, redacted_excerpt
from pipeline.sources.traffic_common import TrafficRow, traffic_record

FORMAT = "ga4_api"
TOOL = "ga4"
FORMAT_MARKER = b'"format": "socialrank.ga4_api/1"'
REQUIRED = ("date", "landingPagePlusQueryString", "sessions")


# Beyond this a count is damage, not sessions (and would not fit the lake's 64-bit integers).
MAX_COUNT = 2**53


def _count(value: str | None) -> int | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number) or number != round(number) or abs(number) > MAX_COUNT:
        raise ValueError(f"not a count: {value!r}")
    return int(number)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a number: {value!r}")
    return number


def _text(value: str | None) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"not text: {value!r}")
    return value.strip() or None if value is not None else None


class Ga4ApiResponses:
    name = FORMAT

    @staticmethod
    def _members(delivery: Delivery) -> list[str]:
        return [member for member in delivery.find(".json") if FORMAT_MARKER in delivery.head(member, 256)]

    def detect(self, delivery: Delivery) -> bool:
        return bool(self._members(delivery))

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        for member in self._members(delivery):
            try:
                stored = json.loads(delivery.read(member))
                prop = str(stored["property"])
                responses = list(stored["responses"])
            except (ValueError, KeyError, TypeError) as exc:
                raise MalformedInput(member, "whole file", f"not a stored runReport answer: {exc}") from exc
            for number, response in enumerate(responses):
                yield from self._response(member, number, prop, response, context)

    def _response(
        self, member: str, number: int, prop: str, response: Any, context: ParseContext
    ) -> Iterator[Extracted]:
        where = f"response {number}"
        try:
            dimensions = [str(header["name"]) for header in response.get("dimensionHeaders", [])]
            metrics = [str(header["name"]) for header in response.get("metricHeaders", [])]
            rows = list(response.get("rows") or [])
        except (AttributeError, KeyError, TypeError) as exc:
            yield Rejected(member, where, f"not a runReport response: {type(exc).__name__}: {exc}")
            return
        if rows and not set(REQUIRED) <= {*dimensions, *metrics}:
            yield Rejected(member, where, f"columns {dimensions + metrics} lack one of {list(REQUIRED)}")
            return
        for index, row in enumerate(rows):
            location = f"{where} row {index}"
            try:
                values = dict(
                    zip(dimensions, (item["value"] for item in row["dimensionValues"]), strict=True)
                )
                values.update(zip(metrics, (item["value"] for item in row["metricValues"]), strict=True))
                yield traffic_record(FORMAT, TOOL, prop, self._row(values), context)
            except (KeyError, TypeError, ValueError) as exc:
                yield Rejected(member, location, f"unusable row: {exc}", redacted_excerpt(json.dumps(row)))

    @staticmethod
    def _row(values: dict[str, str]) -> TrafficRow:
        sessions = _count(values["sessions"])
        if sessions is None:
            raise ValueError("no sessions")
        return TrafficRow(
            day=dt.datetime.strptime(values["date"], "%Y%m%d").date(),
            landing_page=_text(values["landingPagePlusQueryString"]),
            sessions=sessions,
            source=_text(values.get("sessionSource")),
            medium=_text(values.get("sessionMedium")),
            channel_group=_text(values.get("sessionDefaultChannelGroup")),
            engaged_sessions=_count(values.get("engagedSessions")),
            average_session_duration=_number(values.get("averageSessionDuration")),
            bounce_rate=_number(values.get("bounceRate")),
            hostname=_text(values.get("hostName")),
        )
