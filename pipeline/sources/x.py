"""X (Twitter) "download your data" archive, every generation of it.

- 2020+: ``data/manifest.js`` (``window.__THAR_CONFIG = {...}``) names the tweet files
  (``data/tweets.js``; older ``data/tweet.js``; large accounts ``data/tweets-part1.js``...) and the
  archive's generation date, which dates the like and repost counts (a snapshot, stored as engagement).
  Each file is ``window.YTD.tweets.partN = [ {"tweet": {...}} ]``; before 2020 without the wrapper.
  Counts and ids are strings. Long posts keep their full text in ``data/note-tweet.js`` (no tweet id:
  matched on the creation second and the visible text).
- Before 2019: ``tweets.csv`` (``tweet_id,...,timestamp,...,text,...,expanded_urls``), no counts.

Tweet files are streamed (:mod:`pipeline.sources.jsonstream`) and each item is decoded into the few
fields used, so a gigabyte ``tweets.js`` never becomes Python objects at once. Only the tweet, note and
manifest members are opened: direct messages, IP audits and the account's e-mail stay in the zip.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.canonical import try_canonicalize
from pipeline.delivery import Delivery
from pipeline.sources.base import (
    MAX_TEXT_CHARS,
    Columns,
    Extracted,
    HeaderLayout,
    MalformedInput,
    ParallelSection,
    ParseContext,
    Record,
    RecordKind,
    Rejected,
    is_shortener,
    link_canonical,
    parse_inline,
    post_links,
    post_record,
    redacted_excerpt,
)
from pipeline.sources.jsonfiles import load_json_member
from pipeline.sources.jsonstream import ArrayItem, ItemBlock, iter_array_blocks, iter_array_items
from pipeline.sources.tabular import MAX_COUNT
from pipeline.sources.textfiles import csv_dict_rows, header_of

PLATFORM = "x"
CREATED_AT_FORMAT = "%a %b %d %H:%M:%S %z %Y"
MANIFEST_SUFFIX = "data/manifest.js"
TWEET_GLOBALS = (b"window.YTD.tweets.", b"window.YTD.tweet.")
NOTE_GLOBAL = b"window.YTD.note_tweet."
TWEET_DATA_TYPES = ("tweets", "tweet")
NOTE_DATA_TYPES = ("noteTweet",)
CSV_NAME = "tweets.csv"
CSV_COLUMNS = frozenset({"tweet_id", "timestamp", "text"})
USER_DETAILS_SUFFIX = "data/js/user_details.js"
UNKNOWN_USER = "i/web"
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_URL_LIST_SPLIT = re.compile(r",(?=\s*https?://)")
_SCREEN_NAME = re.compile(rb'"screen_name"\s*:\s*"([A-Za-z0-9_]{1,50})"')
# The visible part of a long post: its text minus the trailing ellipsis and link to the note.
_NOTE_TEASER_END = re.compile(r"(?:\s*https://t\.co/\w+)*\s*…?\s*$")
NOTE_MATCH_PREFIX = 40


class _UrlEntity(msgspec.Struct, gc=False):
    url: str | None = None
    expanded_url: str | None = None


class _Entities(msgspec.Struct, gc=False):
    urls: list[_UrlEntity] = msgspec.field(default_factory=list)


class _Tweet(msgspec.Struct, gc=False):
    id_str: str | int | None = None
    id: str | int | None = None
    created_at: str | None = None
    full_text: str | None = None
    text: str | None = None
    favorite_count: str | int | None = None
    retweet_count: str | int | None = None
    entities: _Entities | None = None


class _TweetItem(_Tweet):
    """An array item: ``{"tweet": {...}}`` since 2020, the tweet's own fields before."""

    tweet: _Tweet | None = None


class _NoteUrl(msgspec.Struct):
    shortUrl: str | None = None
    expandedUrl: str | None = None


class _NoteCore(msgspec.Struct):
    text: str | None = None
    urls: list[_NoteUrl] = msgspec.field(default_factory=list)


class _Note(msgspec.Struct):
    createdAt: str | None = None
    core: _NoteCore | None = None


class _NoteItem(msgspec.Struct):
    noteTweet: _Note | None = None


_TWEET_DECODER = msgspec.json.Decoder(_TweetItem)
_LONE_SURROGATE_ESCAPE = re.compile(
    rb"(?<!\\)\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})(?<!\\)\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_TWEET_LIST_DECODER = msgspec.json.Decoder(list[_TweetItem])
# created_at as X writes it, in UTC; the block path parses this layout only (others go item by item).
_CREATED_AT_UTC_LAYOUT = (
    r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"(?:0[1-9]|[12][0-9]|3[01]) (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9] \+0000 [0-9]{4}$"
)
_DIGITS = r"^[0-9]+$"
# Month names as their three bytes in one number, sorted (for np.searchsorted), and each one's month.
_MONTH_BY_KEY = {(ord(name[0]) << 16) | (ord(name[1]) << 8) | ord(name[2]): n for name, n in _MONTHS.items()}
_MONTH_KEYS = np.array(sorted(_MONTH_BY_KEY))
_MONTH_NUMBERS = np.array([_MONTH_BY_KEY[key] for key in sorted(_MONTH_BY_KEY)])
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_NOTE_DECODER = msgspec.json.Decoder(_NoteItem)


def _int_or_none(value: Any) -> int | None:
    """A count as the archive writes it (a string); unreadable or beyond int64 is unknown."""
    try:
        count = int(value)
    except (TypeError, ValueError):
        return None
    return count if abs(count) <= MAX_COUNT else None


def _count_column(values: list[Any]) -> pa.Array | None:
    """Counts as :func:`_int_or_none` reads them, for a whole block; ``None`` when one needs it."""
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None
    if pa.types.is_string(array.type):
        try:
            array = array.cast(pa.int64())
        except pa.ArrowInvalid:
            return None
    elif pa.types.is_null(array.type):
        return array.cast(pa.int64())
    elif not pa.types.is_int64(array.type):
        return None
    # -2**63 is the one int64 beyond MAX_COUNT's magnitude: unknown, as item by item.
    return pc.if_else(pc.equal(array, -MAX_COUNT - 1), pa.scalar(None, pa.int64()), array)


def _utc_seconds(created: pa.StringArray) -> np.ndarray | None:
    """Seconds since 1970 of ``created_at`` values that all match ``_CREATED_AT_UTC_LAYOUT`` (30 ASCII
    bytes each, side by side in the array's buffer), read as digits with NumPy: Arrow's strptime takes
    about a microsecond a value, this a tenth of that. ``None`` when one names a day its month does not
    have or year 0, which :func:`parse_created_at` rejects."""
    count = len(created)
    start = int(np.frombuffer(created.buffers()[1], np.int32, 1, created.offset * 4)[0])
    text = np.frombuffer(created.buffers()[2], np.uint8, count * 30, start).reshape(count, 30)
    digits = text.astype(np.int64) - ord("0")

    def number(first: int, stop: int) -> np.ndarray:
        value = digits[:, first]
        for column in range(first + 1, stop):
            value = value * 10 + digits[:, column]
        return value

    year, day = number(26, 30), number(8, 10)
    names = (text[:, 4].astype(np.int64) << 16) | (text[:, 5].astype(np.int64) << 8) | text[:, 6]
    month = _MONTH_NUMBERS[np.searchsorted(_MONTH_KEYS, names)]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    if np.any(day > _MONTH_DAYS[month] + (leap & (month == 2))) or np.any(year < 1):
        return None
    # Days from the civil date (H. Hinnant's days_from_civil): years start in March, eras of 400 years.
    shifted = year - (month <= 2)
    era = shifted // 400
    year_of_era = shifted - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146_097 + day_of_era - 719_468
    seconds: np.ndarray = days * 86_400 + number(11, 13) * 3_600 + number(14, 16) * 60 + number(17, 19)
    return seconds


def parse_created_at(text: str) -> dt.datetime:
    """``Fri Feb 20 09:10:58 +0000 2026``; the fixed UTC layout without strptime (a million posts)."""
    if len(text) == 30 and text[19:26] == " +0000 " and text[4:7] in _MONTHS:
        try:
            return dt.datetime(
                int(text[26:30]),
                _MONTHS[text[4:7]],
                int(text[8:10]),
                int(text[11:13]),
                int(text[14:16]),
                int(text[17:19]),
                tzinfo=dt.UTC,
            )
        except ValueError:
            pass
    return dt.datetime.strptime(text, CREATED_AT_FORMAT)


def _decode(decoder: msgspec.json.Decoder[Any], item: ArrayItem) -> Any:
    """Decode an item; text that is not valid UTF-8, and escapes of half a UTF-16 surrogate pair
    (``\\ud83d`` alone: an emoji cut in two), are kept as replacement characters."""
    try:
        return decoder.decode(item.raw)
    except UnicodeDecodeError:
        return decoder.decode(bytes(item.raw).decode("utf-8", errors="replace").encode())
    except msgspec.DecodeError as exc:
        if "surrogate" not in str(exc):
            raise
        return decoder.decode(_LONE_SURROGATE_ESCAPE.sub(rb"\\ufffd", bytes(item.raw)))


def _starts_with(member: str, delivery: Delivery, prefixes: tuple[bytes, ...]) -> bool:
    return delivery.head(member, 64).lstrip(b"\xef\xbb\xbf").lstrip().startswith(prefixes)


class XArchive:
    name = "x_archive"

    def detect(self, delivery: Delivery) -> bool:
        manifests = delivery.find(MANIFEST_SUFFIX)
        if manifests:
            return b"__THAR_CONFIG" in delivery.head(manifests[0], 256)
        if any(_starts_with(m, delivery, TWEET_GLOBALS) for m in delivery.find(".js")):
            return True
        return any(self._is_tweets_csv(delivery, m) for m in delivery.find(".csv"))

    def _is_tweets_csv(self, delivery: Delivery, member: str) -> bool:
        # Only the archive's own tweets.csv is opened: other members of a personal export stay unread.
        named = member.rsplit("/", 1)[-1].lower() == CSV_NAME or delivery.kind == "file"
        return named and set(header_of(delivery, member)) >= CSV_COLUMNS

    def header_layouts(self) -> tuple[HeaderLayout, ...]:
        return (HeaderLayout(tuple((name,) for name in sorted(CSV_COLUMNS)), str.strip, CSV_NAME),)

    def _manifest(self, delivery: Delivery) -> tuple[str, dict[str, Any]]:
        """The folder the archive's paths are relative to, and the manifest (empty without one)."""
        manifests = delivery.find(MANIFEST_SUFFIX)
        if not manifests:
            return "", {}
        payload = load_json_member(delivery, manifests[0], assignment=True)
        prefix = manifests[0][: -len(MANIFEST_SUFFIX)]
        return prefix, payload if isinstance(payload, dict) else {}

    def _listed(
        self, delivery: Delivery, prefix: str, manifest: dict[str, Any], kinds: tuple[str, ...]
    ) -> list[str]:
        data_types = manifest.get("dataTypes")
        members = set(delivery.members())
        listed = []
        for kind in kinds:
            entry = data_types.get(kind) if isinstance(data_types, dict) else None
            files = entry.get("files") if isinstance(entry, dict) else None
            for file in files if isinstance(files, list) else []:
                name = file.get("fileName") if isinstance(file, dict) else None
                if isinstance(name, str) and prefix + name in members:
                    listed.append(prefix + name)
        return listed

    def parse(self, delivery: Delivery, context: ParseContext) -> Iterator[Extracted]:
        yield from parse_inline(self.parse_sections(delivery, context))

    def parse_sections(
        self, delivery: Delivery, context: ParseContext
    ) -> Iterator[Extracted | ParallelSection]:
        """Manifest, notes and the old CSV inline; the tweet files as sections of independent blocks."""
        try:
            prefix, manifest = self._manifest(delivery)
        except MalformedInput as exc:
            yield Rejected(
                exc.member, exc.location, f"{exc.reason}; tweet files recognised by content instead"
            )
            prefix, manifest = "", {}
        tweet_members = self._listed(delivery, prefix, manifest, TWEET_DATA_TYPES)
        note_members = self._listed(delivery, prefix, manifest, NOTE_DATA_TYPES)
        if not tweet_members:  # no manifest, or one that lists no tweet files: recognise them by content
            scripts = delivery.find(".js")
            tweet_members = [m for m in scripts if _starts_with(m, delivery, TWEET_GLOBALS)]
            note_members = [m for m in scripts if _starts_with(m, delivery, (NOTE_GLOBAL,))]
        user_info = manifest.get("userInfo")
        user = (user_info.get("userName") if isinstance(user_info, dict) else None) or self._old_user(
            delivery
        )
        archive_info = manifest.get("archiveInfo")
        generated = archive_info.get("generationDate") if isinstance(archive_info, dict) else None
        try:
            snapshot_date = dt.datetime.fromisoformat(str(generated).replace("Z", "+00:00")).date()
        except ValueError:
            snapshot_date = context.landed_on
        notes = _NoteIndex()
        for member in note_members:
            yield from notes.read(delivery, member)
        tweets = _TweetReader(user, snapshot_date, notes, context)
        for member in tweet_members:
            with delivery.open(member) as handle:
                yield ParallelSection(tweets, iter_array_blocks(handle, member, assignment=True))
        for member in delivery.find(".csv"):
            if self._is_tweets_csv(delivery, member):
                yield from tweets.csv_member(delivery, member)

    def _old_user(self, delivery: Delivery) -> str:
        """The screen name of a pre-2019 archive (``data/js/user_details.js``), read for nothing else."""
        for member in delivery.find(USER_DETAILS_SUFFIX):
            found = _SCREEN_NAME.search(delivery.head(member, 4096))
            if found:
                return found.group(1).decode()
        return UNKNOWN_USER


class _NoteIndex:
    """Full texts of long posts by creation second; a tweet claims the note whose text it begins."""

    def __init__(self) -> None:
        self.by_second: dict[int, list[tuple[str, list[str]]]] = defaultdict(list)

    def read(self, delivery: Delivery, member: str) -> Iterator[Rejected]:
        with delivery.open(member) as handle:
            for item in iter_array_items(handle, member, assignment=True):
                location = item.location
                try:
                    note = _decode(_NOTE_DECODER, item).noteTweet
                except msgspec.DecodeError as exc:  # a ValidationError too: wrong types
                    yield Rejected(member, location, f"unexpected note shape ({exc})")
                    continue
                if note is None or note.core is None or not note.core.text or not note.createdAt:
                    yield Rejected(member, location, "note without createdAt or text")
                    continue
                try:
                    created = dt.datetime.fromisoformat(note.createdAt.replace("Z", "+00:00"))
                except ValueError:
                    yield Rejected(member, location, f"unparseable createdAt {note.createdAt[:40]!r}")
                    continue
                urls = [url.expandedUrl for url in note.core.urls if url.expandedUrl]
                self.by_second[int(created.timestamp())].append((html.unescape(note.core.text), urls))

    def claim(self, posted_at: dt.datetime, teaser: str) -> tuple[str, list[str]] | None:
        candidates = self.by_second.get(int(posted_at.timestamp()))
        if not candidates:
            return None
        visible = " ".join(_NOTE_TEASER_END.sub("", teaser).split())[:NOTE_MATCH_PREFIX]
        for candidate in candidates:
            if " ".join(candidate[0].split()).startswith(visible):
                candidates.remove(candidate)
                return candidate
        return None


class _TweetReader:
    def __init__(self, user: str, snapshot_date: dt.date, notes: _NoteIndex, context: ParseContext) -> None:
        self.user = user
        self.snapshot_date = snapshot_date
        self.notes = notes
        self.context = context
        # Permalinks are built in canonical form; checked once instead of canonicalising a million.
        sample = f"https://x.com/{user}/status/1"
        self.permalinks_canonical = try_canonicalize(sample, context.www_policy) == sample

    def parse_block(self, block: ItemBlock) -> Iterator[Extracted]:
        for item in block.items():
            yield from self.item(item, block.member)

    def block_columns(self, block: ItemBlock) -> dict[RecordKind, Columns] | None:
        """The block decoded in one call and turned into columns with Arrow, which is several times
        faster than item by item; any item that would be rejected, parsed another way (an offset other
        than UTC, an integer id) or matched to a note sends the whole block item by item instead."""
        if not self.permalinks_canonical:
            return None
        try:
            decoded = block.decode_all(_TWEET_LIST_DECODER)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            return None
        if not decoded:
            return None
        tweets: list[_Tweet] = [item.tweet if item.tweet is not None else item for item in decoded]
        try:
            ids = pa.array([tweet.id_str or tweet.id or "" for tweet in tweets], pa.string())
            created = pa.array([tweet.created_at for tweet in tweets], pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
        if not pc.all(pc.match_substring_regex(ids, _DIGITS)).as_py() or created.null_count:
            return None
        if not pc.all(pc.match_substring_regex(created, _CREATED_AT_UTC_LAYOUT)).as_py():
            return None
        seconds = _utc_seconds(created)
        if seconds is None:
            return None
        posted_at = pa.array(seconds * 1_000_000, pa.timestamp("us", tz="UTC"))
        if self.notes.by_second and any(self.notes.by_second.get(second) for second in seconds.tolist()):
            return None
        likes = _count_column([tweet.favorite_count for tweet in tweets])
        reposts = _count_column([tweet.retweet_count for tweet in tweets])
        if likes is None or reposts is None:
            return None
        texts = [html.unescape(tweet.full_text or tweet.text or "") for tweet in tweets]
        text = pa.array(
            [value[:MAX_TEXT_CHARS] for value in texts]
            if any(len(value) > MAX_TEXT_CHARS for value in texts)
            else texts,
            pa.string(),
        )
        permalinks = pc.binary_join_element_wise(f"https://x.com/{self.user}/status/", ids, "")
        post_date = posted_at.cast(pa.date32())
        is_repost = pc.starts_with(text, "RT @")  # the bound keeps far more than the prefix
        posts = {
            "platform": PLATFORM,
            "post_id": ids,
            "permalink": permalinks,
            "posted_at": posted_at,
            "post_date": post_date,
            "text": text,
            "is_repost": is_repost,
        }
        engagement = {
            "platform": PLATFORM,
            "post_id": ids,
            "permalink": permalinks,
            "snapshot_date": self.snapshot_date,
            "likes": likes,
            "reposts": reposts,
        }
        columns: dict[RecordKind, Columns] = {
            "post": Columns(len(tweets), posts),
            "engagement": Columns(len(tweets), engagement),
        }
        links = self._link_columns(tweets)
        if links is not None:
            columns["link"] = links
        return columns

    def _link_columns(self, tweets: list[_Tweet]) -> Columns | None:
        """The links of a block's tweets, as :func:`post_links` finds them, with each one's tweet
        (``owner``, its position in the block); ``None`` when there are none."""
        policy = self.context.www_policy
        owners: list[int] = []
        urls: list[str] = []
        canonical_urls: list[str] = []
        for position, tweet in enumerate(tweets):
            if tweet.entities is None or not tweet.entities.urls:
                continue
            seen: set[str] = set()
            for entry in tweet.entities.urls:
                url = entry.expanded_url or entry.url
                if not url:
                    continue
                canonical = link_canonical(url, policy)
                if canonical is None or canonical in seen:
                    continue
                seen.add(canonical)
                owners.append(position)
                urls.append(url)
                canonical_urls.append(canonical)
        if not owners:
            return None
        return Columns(
            len(owners),
            {
                "owner": pa.array(owners, pa.int32()),
                "url": pa.array(urls, pa.string()),
                "canonical_url": pa.array(canonical_urls, pa.string()),
                "link_kind": "entity",
                "is_shortener": pa.array([is_shortener(url) for url in canonical_urls], pa.bool_()),
            },
            shared_from=("post", ("platform", "post_id", "permalink", "posted_at", "post_date", "is_repost")),
        )

    def item(self, item: ArrayItem, member: str) -> Iterator[Extracted]:
        try:
            decoded = _decode(_TWEET_DECODER, item)
        except msgspec.DecodeError as exc:  # a ValidationError too: wrong types
            yield Rejected(
                member, item.location, f"unexpected tweet shape ({exc})", redacted_excerpt(_raw_text(item))
            )
            return
        tweet: _Tweet = decoded.tweet if decoded.tweet is not None else decoded
        tweet_id = str(tweet.id_str or tweet.id or "")
        if not tweet_id.isdigit():
            yield Rejected(
                member, item.location, "missing or non-numeric id_str", redacted_excerpt(_raw_text(item))
            )
            return
        try:
            posted_at = parse_created_at(str(tweet.created_at))
        except ValueError:
            yield Rejected(
                member, f"{item.location} (id {tweet_id})", f"unparseable created_at {tweet.created_at!r}"
            )
            return
        text = html.unescape(tweet.full_text or tweet.text or "")
        links = [
            entry.expanded_url or entry.url or ""
            for entry in (tweet.entities.urls if tweet.entities else [])
            if entry.expanded_url or entry.url
        ]
        note = self.notes.claim(posted_at, text)
        if note is not None:
            text, links = note[0], [*note[1], *links]
        yield from self._post(tweet_id, posted_at, text, links)
        yield Record(
            "engagement",
            {
                "platform": PLATFORM,
                "post_id": tweet_id,
                "permalink": self._permalink(tweet_id),
                "snapshot_date": self.snapshot_date,
                "likes": _int_or_none(tweet.favorite_count),
                "reposts": _int_or_none(tweet.retweet_count),
                "replies": None,
                "impressions": None,
                "clicks": None,
            },
        )

    def _permalink(self, tweet_id: str) -> str:
        return f"https://x.com/{self.user}/status/{tweet_id}"

    def _post(
        self, tweet_id: str, posted_at: dt.datetime, text: str, links: list[str], is_repost: bool = False
    ) -> Iterator[Record]:
        permalink = self._permalink(tweet_id)
        post = post_record(
            PLATFORM,
            tweet_id,
            None if self.permalinks_canonical else permalink,
            posted_at,
            text,
            is_repost or text.startswith("RT @"),
            self.context.www_policy,
        )
        if self.permalinks_canonical:
            post["permalink"] = permalink
        yield Record("post", post)
        # Every t.co link in the text is listed in entities.urls, expanded: the text adds nothing.
        yield from post_links(
            post, [(url, "entity") for url in links], self.context.www_policy, scan_text=False
        )

    def csv_member(self, delivery: Delivery, member: str) -> Iterator[Extracted]:
        """A pre-2019 ``tweets.csv``: no counts; retweets carry ``retweeted_status_id``."""
        header = header_of(delivery, member)
        with csv_dict_rows(delivery, member, header) as rows:
            for item in rows:
                if isinstance(item, Rejected):
                    yield item
                    continue
                location, row = item
                tweet_id = row["tweet_id"].strip()
                if not tweet_id.isdigit():
                    yield Rejected(member, location, "missing or non-numeric tweet_id")
                    continue
                try:
                    posted_at = dt.datetime.strptime(row["timestamp"].strip(), "%Y-%m-%d %H:%M:%S %z")
                except ValueError:
                    expected = "YYYY-MM-DD HH:MM:SS +0000"
                    yield Rejected(
                        member,
                        location,
                        f"unparseable timestamp {row['timestamp'][:40]!r} (expected {expected})",
                    )
                    continue
                urls = [
                    url.strip() for url in _URL_LIST_SPLIT.split(row.get("expanded_urls", "")) if url.strip()
                ]
                is_repost = bool(row.get("retweeted_status_id", "").strip())
                yield from self._post(tweet_id, posted_at, html.unescape(row["text"]), urls, is_repost)


def _raw_text(item: ArrayItem) -> str:
    return bytes(item.raw)[:1000].decode("utf-8", errors="replace")
