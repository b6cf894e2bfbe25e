"""GA4's BigQuery event export (``events_YYYYMMDD`` tables) as users export them to files: BigQuery's
extract writes newline-delimited JSON (often gzip-compressed, ``.json.gz`` shards) or Parquet.

One row is one event: ``event_date`` (``YYYYMMDD``, the property's time zone), ``event_timestamp`` (INT64
microseconds, UTC; a JSON export writes INT64 values as strings), ``event_name``, ``user_pseudo_id``,
``event_params`` (a list of ``{key, value: {string_value, int_value, float_value, double_value}}``),
``traffic_source`` (``name, medium, source``: the user's first acquisition) and, in exports since 2023,
``session_traffic_source_last_click`` (``manual_campaign`` and, since 2024, ``cross_channel_campaign``
with ``source, medium, default_channel_group``: the session's own last-click source). Other columns
(device, geo, items...) are not read.

Sessions are rebuilt from (``user_pseudo_id``, ``ga_session_id`` event param) per ``event_date``: a
session that runs past midnight counts on each day it has events, as GA4's own daily reports count it
(docs/decisions.md). A day's session lands on the ``page_location`` of its first ``page_view`` (none that
day: ``(not set)``); its source and medium are the earliest event's ``session_traffic_source_last_click``
(``cross_channel_campaign``, else ``manual_campaign``), else ``traffic_source``, which older exports
alone have and which is first-user scope, not the session's. It is engaged when an event carries
``session_engaged`` = 1 (without that parameter: 10 s of ``engagement_time_msec``, GA4's default); its
duration runs from its first to its last event. Rows are per day, landing page, source and medium.

Memory is bounded by the delivery's sessions (a few hundred bytes each), not by its bytes: JSON is read
in blocks and decoded a line at a time, Parquet a batch of the needed columns at a time. Events without
a session (no ``ga_session_id`` or ``user_pseudo_id``: measurement-protocol hits, cookieless pings) are
skipped, not quarantined; a line or row that cannot be read is quarantined alone with its place.
"""

from __future__ import annotations

import datetime as dt
import gzip
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from functools import lru_cache
from typing import IO, Any, Literal, NamedTuple

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.delivery import Delivery, UnreadableDelivery
from pipeline.sources.base import (
    Extracted,
    MalformedInput,
    ParseContext,
    Rejected,
    Skipped,
    redacted_excerpt,
)
from pipeline.sources.traffic_common import TrafficRow, traffic_record

FORMAT = "ga4_bigquery_export"
TOOL = "ga4"
GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
# The export's first columns are event_date, event_timestamp and event_name: a member's first line shows
# them within this much, so no more of a member that is not an export is read.
HEAD_BYTES = 16 * 1024
# Members named as BigQuery's extract writes them (the destination's pattern; gzip adds .gz): only these are
# opened, so an archive's other files (a data request's messages) are never read to be recognised.
MEMBER_SUFFIXES = (".json", ".jsonl", ".ndjson", ".gz", ".parquet")
BLOCK_BYTES = 8 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024 * 1024
BATCH_ROWS = 65_536
REQUIRED = ("event_date", "event_timestamp", "event_name")
PARQUET_COLUMNS = (
    *REQUIRED,
    "user_pseudo_id",
    "event_params",
    "traffic_source",
    "session_traffic_source_last_click",
)
# GA4's default: a session with 10 seconds of engagement is engaged (used only without session_engaged).
ENGAGED_MSEC = 10_000
NOT_SET = "(not set)"
NO_SESSION = Skipped()
Kind = Literal["json", "parquet"]
# Errors of a damaged gzip stream or Parquet file while it is read.
READ_ERRORS = (OSError, EOFError, zlib.error, pa.ArrowException)


class _Value(msgspec.Struct):
    string_value: str | None = None
    int_value: int | None = None


class _Param(msgspec.Struct):
    key: str | None = None
    value: _Value | None = None


class _Campaign(msgspec.Struct):
    source: str | None = None
    medium: str | None = None
    default_channel_group: str | None = None


class _LastClick(msgspec.Struct):
    manual_campaign: _Campaign | None = None
    cross_channel_campaign: _Campaign | None = None


class _Event(msgspec.Struct):
    event_date: str
    event_timestamp: int
    event_name: str
    user_pseudo_id: str | None = None
    event_params: list[_Param] | None = None
    traffic_source: _Campaign | None = None
    session_traffic_source_last_click: _LastClick | None = None


# Not strict: BigQuery's JSON export writes INT64 values as strings ("1762000000000000").
_DECODE_EVENT = msgspec.json.Decoder(_Event, strict=False).decode


@lru_cache(maxsize=4096)
def _day(text: str) -> dt.date:
    if len(text) != 8 or not text.isdigit():
        raise ValueError(f"event_date {text[:20]!r} is not YYYYMMDD")
    return dt.datetime.strptime(text, "%Y%m%d").date()


class _Params(NamedTuple):
    """The event params a session is rebuilt from (a tuple: one is made per event)."""

    session_id: int | None
    page_location: str | None
    engaged: bool | None  # None: the event has no session_engaged
    engagement_msec: int


def _params(params: list[_Param] | None) -> _Params:
    session_id = page = engaged = None
    msec = 0
    for param in params or ():
        value = param.value
        if value is None:
            continue
        key = param.key
        if key == "ga_session_id":
            session_id = _session_id(value.int_value, value.string_value)
        elif key == "page_location":
            page = value.string_value
        elif key == "session_engaged":
            engaged = value.string_value == "1" or value.int_value == 1
        elif key == "engagement_time_msec" and value.int_value:
            msec = value.int_value
    return _Params(session_id, page, engaged, msec)


def _session_id(number: int | None, text: str | None) -> int | None:
    if number is not None:
        return number
    return int(text) if text and text.isdigit() else None


Source = tuple[str | None, str | None, str | None]
NO_SOURCE: Source = (None, None, None)


def _source(last_click: _Campaign | None, manual: _Campaign | None, first_user: _Campaign | None) -> Source:
    """(source, medium, channel group): the session's last click (cross-channel, else manual), else the
    user's first acquisition (older exports)."""
    for campaign in (last_click, manual):
        if campaign is not None and (campaign.source or campaign.medium):
            return campaign.source, campaign.medium, campaign.default_channel_group
    if first_user is not None and (first_user.source or first_user.medium):
        return first_user.source, first_user.medium, None
    return NO_SOURCE


class _Session:
    """One session's events on one day, reduced as they come (in any order)."""

    __slots__ = (
        "engaged",
        "engaged_known",
        "first",
        "last",
        "msec",
        "page",
        "page_at",
        "source",
        "source_at",
    )

    def __init__(self, at: int) -> None:
        self.first = self.last = at
        self.page: str | None = None
        self.page_at = 0
        self.source = NO_SOURCE
        self.source_at = 0
        self.engaged = self.engaged_known = False
        self.msec = 0


class _Sessions:
    """Every session of a delivery, by (user, session id, day); interned texts keep repeats cheap."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, int, str], _Session] = {}
        self._texts: dict[str, str] = {}

    def _intern(self, text: str | None) -> str | None:
        return None if text is None else self._texts.setdefault(text, text)

    def add(self, user: str, day: str, at: int, name: str, params: _Params, source: Source) -> None:
        key = (user, params.session_id or 0, day)
        session = self.open.get(key)
        if session is None:
            session = self.open[key] = _Session(at)
        elif at < session.first:
            session.first = at
        elif at > session.last:
            session.last = at
        if name == "page_view" and params.page_location and (session.page is None or at < session.page_at):
            session.page, session.page_at = self._intern(params.page_location), at
        if source is not NO_SOURCE and (session.source is NO_SOURCE or at < session.source_at):
            session.source = (self._intern(source[0]), self._intern(source[1]), self._intern(source[2]))
            session.source_at = at
        if params.engaged is not None:
            session.engaged_known = True
            session.engaged = session.engaged or params.engaged
        session.msec += params.engagement_msec

    def rows(self) -> Iterator[tuple[tuple[str, str, Source], list[int]]]:
        """Per (day, landing page, source): sessions, engaged, summed duration (µs) and engagement (ms)."""
        grouped: dict[tuple[str, str, Source], list[int]] = {}
        while self.open:
            (_, _, day), session = self.open.popitem()
            totals = grouped.setdefault((day, session.page or NOT_SET, session.source), [0, 0, 0, 0])
            engaged = session.engaged if session.engaged_known else session.msec >= ENGAGED_MSEC
            totals[0] += 1
            totals[1] += engaged
            totals[2] += session.last - session.first
            totals[3] += session.msec
        yield from sorted(grouped.items(), key=lambda item: (item[0][0], item[0][1], str(item[0][2])))


class Ga4BigQueryExport:
    name = FORMAT

    @staticmethod
    def _kind(delivery: Delivery, member: str) -> Kind | None:
        """``json`` or ``parquet`` when the member is a table of GA4 events, else ``None``."""
        try:
            with delivery.open(member) as handle:
                magic = handle.read(4)
                if magic == PARQUET_MAGIC:
                    names = set(pq.ParquetFile(handle).schema_arrow.names)
                    return "parquet" if set(REQUIRED) <= names and "event_params" in names else None
                handle.seek(0)
                stream: IO[bytes] | gzip.GzipFile = (
                    gzip.GzipFile(fileobj=handle) if magic[:2] == GZIP_MAGIC else handle
                )
                head = stream.read(HEAD_BYTES)
        except (*READ_ERRORS, UnreadableDelivery):
            return None
        line = head.lstrip().split(b"\n", 1)[0]
        keys = (f'"{key}"'.encode() for key in REQUIRED)
        return "json" if line.startswith(b"{") and all(key in line for key in keys) else None

    def _members(self, delivery: Delivery) -> list[tuple[str, Kind]]:
        found = []
        for member in delivery.find(*MEMBER_SUFFIXES):
            kind = self._kind(delivery, member)
            if kind is not None:
                found.append((member, kind))
        return found

    def detect(self, delivery: Delivery) -> bool:
        return any(self._kind(delivery, member) is not None for member in delivery.find(*MEMBER_SUFFIXES))

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        sessions = _Sessions()
        for member, kind in self._members(delivery):
            reader = _json_events if kind == "json" else _parquet_events
            try:
                yield from reader(delivery, member, sessions)
            except MalformedInput as exc:
                # Sessions read so far stay: the member's damage ends the member, not the delivery.
                yield Rejected(exc.member, exc.location, f"{exc.reason}; the rest of the member was skipped")
        for (day, page, (source, medium, channel)), (count, engaged, micros, msec) in sessions.rows():
            try:
                yield traffic_record(
                    FORMAT,
                    TOOL,
                    None,
                    TrafficRow(
                        day=_day(day),
                        landing_page=page,
                        sessions=count,
                        source=source,
                        medium=medium,
                        channel_group=channel,
                        engaged_sessions=engaged,
                        average_session_duration=micros / 1e6 / count,
                        average_engagement_time=msec / 1e3 / count,
                        bounce_rate=1 - engaged / count,
                    ),
                    context,
                )
            except ValueError as exc:
                yield Rejected("(sessions)", f"{day} {page[:200]}", str(exc))


def _json_events(delivery: Delivery, member: str, sessions: _Sessions) -> Iterator[Extracted]:
    """Each line an event; a line that is not one is quarantined alone."""
    number = 0
    with ExitStack() as stack:
        handle = stack.enter_context(delivery.open(member))
        stream: IO[bytes] | gzip.GzipFile = handle
        if handle.read(2) == GZIP_MAGIC:
            stream = stack.enter_context(gzip.GzipFile(fileobj=handle))
        handle.seek(0)
        rest = b""
        while True:
            try:
                block = stream.read(BLOCK_BYTES)
            except READ_ERRORS as exc:
                raise MalformedInput(member, f"line {number + 1}", f"unreadable ({exc})") from exc
            lines = (rest + block).split(b"\n")
            rest = lines.pop() if block else b""
            if len(rest) > MAX_LINE_BYTES:  # no event is near this: damage, and memory stays bounded
                raise MalformedInput(
                    member, f"line {number + len(lines) + 1}", "a line of over 64 MB: no event"
                )
            for line in lines:
                number += 1
                if line.strip() and (found := _json_event(member, number, line, sessions)) is not None:
                    yield found
            if not block:
                return


def _json_event(member: str, number: int, line: bytes, sessions: _Sessions) -> Extracted | None:
    """What the line is when it is no session's event; ``None`` once it is added to its session."""
    try:
        event = _DECODE_EVENT(line)
        _day(event.event_date)
    except (msgspec.DecodeError, ValueError) as exc:
        return Rejected(member, f"line {number}", f"not a GA4 event: {exc}", _excerpt(line))
    params = _params(event.event_params)
    if params.session_id is None or not event.user_pseudo_id:
        return NO_SESSION
    last_click = event.session_traffic_source_last_click
    source = _source(
        last_click.cross_channel_campaign if last_click else None,
        last_click.manual_campaign if last_click else None,
        event.traffic_source,
    )
    sessions.add(
        event.user_pseudo_id, event.event_date, event.event_timestamp, event.event_name, params, source
    )
    return None


def _excerpt(line: bytes) -> str:
    return redacted_excerpt(line[:1000].decode("utf-8", "replace"))


def _parquet_events(delivery: Delivery, member: str, sessions: _Sessions) -> Iterator[Extracted]:
    """Batches of the needed columns; a row without its date, time or name is quarantined alone."""
    row = 0
    with delivery.open(member) as handle:
        try:
            table = pq.ParquetFile(handle)
            present = set(table.schema_arrow.names)
            columns = [name for name in PARQUET_COLUMNS if name in present]
            for batch in table.iter_batches(batch_size=BATCH_ROWS, columns=columns):
                yield from _parquet_batch(member, row, batch, sessions)
                row += batch.num_rows
        except (*READ_ERRORS, AttributeError, KeyError, TypeError) as exc:
            # A column of another type than the export's (event_params not a list of key/value records).
            raise MalformedInput(
                member, f"row {row}", f"unreadable Parquet ({type(exc).__name__}: {exc})"
            ) from exc


def _parquet_batch(
    member: str, first_row: int, batch: pa.RecordBatch, sessions: _Sessions
) -> Iterator[Extracted]:
    count = batch.num_rows
    days = _text(batch.column("event_date"))
    times = batch.column("event_timestamp").cast(pa.int64()).to_pylist()
    names = _text(batch.column("event_name"))
    users = (
        _text(batch.column("user_pseudo_id")) if "user_pseudo_id" in batch.schema.names else [None] * count
    )
    params = _parquet_params(batch.column("event_params"), count)
    sources = _parquet_sources(batch, count)
    for index in range(count):
        day, at, name = days[index], times[index], names[index]
        try:
            if day is None or at is None or name is None:
                raise ValueError("event_date, event_timestamp or event_name is empty")
            _day(day)
        except ValueError as exc:
            yield Rejected(member, f"row {first_row + index}", f"not a GA4 event: {exc}")
            continue
        user, found = users[index], params[index]
        if found.session_id is None or not user:
            yield NO_SESSION
            continue
        sessions.add(user, day, at, name, found, sources[index])


def _text(column: Any) -> list[Any]:
    return list(column.cast(pa.string()).to_pylist())


def _parquet_params(column: Any, count: int) -> list[_Params]:
    """Each row's params, found column-wise: the list is flattened once and each key picked by a mask."""
    flat, parents = column.flatten(), pc.list_parent_indices(column)
    keys, values = flat.field("key"), flat.field("value")
    found: dict[str, list[Any]] = {}
    for key, field in (
        ("ga_session_id", "int_value"),
        ("ga_session_id", "string_value"),
        ("page_location", "string_value"),
        ("session_engaged", "string_value"),
        ("session_engaged", "int_value"),
        ("engagement_time_msec", "int_value"),
    ):
        column_values: list[Any] = [None] * count
        if field in {value.name for value in values.type}:
            mask = pc.equal(keys, key)
            picked = pc.filter(pc.struct_field(values, field), mask).to_pylist()
            for parent, value in zip(pc.filter(parents, mask).to_pylist(), picked, strict=True):
                if value is not None:
                    column_values[parent] = value
        found[f"{key}.{field}"] = column_values
    engaged_text, engaged_number = found["session_engaged.string_value"], found["session_engaged.int_value"]
    return [
        _Params(
            _session_id(found["ga_session_id.int_value"][i], found["ga_session_id.string_value"][i]),
            found["page_location.string_value"][i],
            None
            if engaged_text[i] is None and engaged_number[i] is None
            else engaged_text[i] == "1" or engaged_number[i] == 1,
            found["engagement_time_msec.int_value"][i] or 0,
        )
        for i in range(count)
    ]


def _parquet_sources(batch: pa.RecordBatch, count: int) -> list[Source]:
    def fields(column: str, *path: str) -> list[list[Any]] | None:
        if column not in batch.schema.names:
            return None
        array = batch.column(column)
        for step in path:
            if step not in {field.name for field in array.type}:
                return None
            array = pc.struct_field(array, step)
        names = ("source", "medium", "default_channel_group")
        return [
            pc.struct_field(array, name).to_pylist()
            if name in {f.name for f in array.type}
            else [None] * count
            for name in names
        ]

    campaigns = [
        fields("session_traffic_source_last_click", "cross_channel_campaign"),
        fields("session_traffic_source_last_click", "manual_campaign"),
        fields("traffic_source"),
    ]
    sources: list[Source] = []
    for i in range(count):
        found = NO_SOURCE
        for position, campaign in enumerate(campaigns):
            if campaign is not None and (campaign[0][i] or campaign[1][i]):
                channel = campaign[2][i] if position < 2 else None
                found = (campaign[0][i], campaign[1][i], channel)
                break
        sources.append(found)
    return sources
