"""A landed delivery: a single file, a zip archive or an unzipped folder, read member by member.

Zip members are read straight from the archive (never extracted to disk), so a parser touches
only the members it needs: personal exports hold far more than posts. Limits on entry count,
total uncompressed size and compression ratio stop zip bombs; names that escape the archive
(zip-slip) are refused. A zip inside the delivery (platforms ship multi-part exports as a zip of
zips, and people zip a folder that holds the downloaded zip) is opened in place, to a bounded
depth, and its members are listed as ``<inner.zip>/<member>``; the same limits count across all
levels.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

HASH_CHUNK = 1 << 20
# A zip in a zip in a zip is as deep as real exports go; deeper archives are left unopened.
MAX_NESTED_DEPTH = 2
# What a damaged archive raises while a member is opened or read (unsupported methods included).
ZIP_ERRORS = (OSError, KeyError, EOFError, NotImplementedError, zlib.error, zipfile.BadZipFile)


class UnreadableDelivery(Exception):
    """The delivery cannot be read at all (corrupt archive, limits exceeded, unreadable file)."""


class LimitExceeded(UnreadableDelivery):
    """The delivery breaks a limit on size or count: refused whole, with the limit named, even
    while formats are still being tried (it would break the limit for every one of them)."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int = 100_000
    max_total_bytes: int = 20 * 1024**3
    max_ratio: float = 200.0


def _safe_member_name(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return not path.is_absolute() and ".." not in path.parts and not name.startswith("/")


@dataclass
class Delivery:
    """One landed delivery, addressed by its path below the landing zone."""

    path: Path
    limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    _zip: zipfile.ZipFile | None = field(default=None, init=False, repr=False)
    _kind: str | None = field(default=None, init=False, repr=False)
    _members: list[str] | None = field(default=None, init=False, repr=False)
    # Opened inner archives by their member path, and the handles that keep them open.
    _nested: dict[str, zipfile.ZipFile] = field(default_factory=dict, init=False, repr=False)
    _nested_handles: ExitStack = field(default_factory=ExitStack, init=False, repr=False)
    _entries_seen: int = field(default=0, init=False, repr=False)
    _bytes_seen: int = field(default=0, init=False, repr=False)
    # Symbolic links met among the members (in a folder or stored in a zip): never followed or read.
    links: list[str] = field(default_factory=list, init=False, repr=False)
    duplicates: list[str] = field(default_factory=list, init=False, repr=False)
    # Text encodings found per member (pipeline.sources.textfiles), so that a member is scanned once.
    text_encodings: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    @property
    def kind(self) -> str:
        if self._kind is None:
            if self.path.is_dir():
                self._kind = "folder"
            elif not zipfile.is_zipfile(self.path):
                self._kind = "file"
            else:
                # A spreadsheet (.xlsx) is a zip too, but one document: its parts are not members.
                self._kind = "file" if _is_office_document(self.path) else "zip"
        return self._kind

    def _archive(self) -> zipfile.ZipFile:
        if self._zip is None:
            try:
                archive = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise UnreadableDelivery(f"{self.path}: not a readable zip archive ({exc})") from exc
            self._check_limits(archive)
            self._zip = archive
        return self._zip

    def _check_limits(self, archive: zipfile.ZipFile, label: str = "") -> None:
        """Refuse a zip bomb or a zip-slip name; entries and bytes count across nested archives."""
        where = f"{self.path}{'!' + label if label else ''}"
        infos = archive.infolist()
        self._entries_seen += len(infos)
        if self._entries_seen > self.limits.max_entries:
            raise LimitExceeded(
                f"{where}: {self._entries_seen} entries exceed the limit of {self.limits.max_entries}"
            )
        self._bytes_seen += sum(info.file_size for info in infos)
        if self._bytes_seen > self.limits.max_total_bytes:
            raise LimitExceeded(
                f"{where}: {self._bytes_seen} uncompressed bytes exceed the limit of "
                f"{self.limits.max_total_bytes} bytes"
            )
        for info in infos:
            if not _safe_member_name(info.filename):
                raise UnreadableDelivery(f"{where}: member {info.filename!r} escapes the archive (zip-slip)")
            if info.compress_size and info.file_size / info.compress_size > self.limits.max_ratio:
                raise LimitExceeded(
                    f"{where}: member {info.filename!r} expands "
                    f"{info.file_size / info.compress_size:.0f}x "
                    f"(limit {self.limits.max_ratio:.0f}x): refusing a likely zip bomb"
                )

    def _expand_nested(self, names: list[str], depth: int) -> list[str]:
        """Replace each member that is itself a zip archive by the members inside it."""
        expanded: list[str] = []
        for name in names:
            if depth >= MAX_NESTED_DEPTH or not name.lower().endswith(".zip"):
                expanded.append(name)
                continue
            inner = self._open_nested(name)
            if inner is None:
                expanded.append(name)
                continue
            inner_names = [f"{name}/{entry}" for entry in self._file_entries(inner, f"{name}/")]
            expanded.extend(self._expand_nested(inner_names, depth + 1))
        return expanded

    def _file_entries(self, archive: zipfile.ZipFile, prefix: str = "") -> list[str]:
        """Names of an archive's files, each once; entries stored as symbolic links go to :attr:`links`,
        names stored more than once (only the last entry of a name can be read) to :attr:`duplicates`."""
        names: dict[str, None] = {}
        for info in archive.infolist():
            if stat.S_ISLNK(info.external_attr >> 16):
                self.links.append(prefix + info.filename)
            elif info.filename in names:
                self.duplicates.append(prefix + info.filename)
            elif not info.is_dir():
                names[info.filename] = None
        return list(names)

    def _open_nested(self, name: str) -> zipfile.ZipFile | None:
        """The inner archive at member ``name``, read in place (zip members are seekable), from the
        delivery or from the archive nested around it (a zip of the downloaded export zip, which
        holds ``data/tweets_media.zip``)."""
        container = self._container_of_listed(name)
        try:
            opened = (
                _open_member(self._nested[container], name[len(container) + 1 :])
                if container is not None
                else self._open_raw(name)
            )
            handle = self._nested_handles.enter_context(opened)
            if not zipfile.is_zipfile(handle):
                return None
            size = handle.seek(0, io.SEEK_END)
            handle.seek(0)
            inner = zipfile.ZipFile(handle)
        except ZIP_ERRORS as exc:
            raise UnreadableDelivery(f"{self.path}: nested archive {name!r} is unreadable ({exc})") from exc
        # Its bytes count once, as its members' bytes: a zip of media counted twice would break the limit.
        self._bytes_seen -= size
        self._check_limits(inner, name)
        self._nested[name] = inner
        return inner

    def members(self) -> list[str]:
        """Member names relative to the delivery, '/'-separated; a single file is its own member."""
        if self._members is None:
            kind = self.kind
            self.links, self.duplicates = [], []
            if kind == "zip":
                names = self._file_entries(self._archive())
            elif kind == "folder":
                names = []
                for path in sorted(self.path.rglob("*")):
                    name = path.relative_to(self.path).as_posix()
                    if path.is_symlink():
                        self.links.append(name)
                    elif path.is_file() and not path.name.startswith("."):
                        names.append(name)
            else:
                return [self.path.name]
            self._members = self._expand_nested(names, 0)
        return self._members

    def find(self, *suffixes: str) -> list[str]:
        """Members whose path ends with any of ``suffixes`` (case-insensitive), in archive order."""
        lowered = tuple(s.lower() for s in suffixes)
        return [m for m in self.members() if m.lower().endswith(lowered)]

    @contextmanager
    def open(self, member: str) -> Iterator[IO[bytes]]:
        container = self._container_of(member)
        if container is None:
            with self._open_raw(member) as handle:
                yield handle
            return
        try:
            with _open_member(self._nested[container], member[len(container) + 1 :]) as handle:
                yield handle
        except ZIP_ERRORS as exc:
            raise UnreadableDelivery(f"{self.path}: cannot read {member!r} ({exc})") from exc

    def _container_of(self, member: str) -> str | None:
        """The innermost opened nested archive that holds ``member``, if any."""
        if self._members is None and member.lower().count(".zip/"):
            self.members()
        return self._container_of_listed(member)

    def _container_of_listed(self, member: str) -> str | None:
        holders = [name for name in self._nested if member.startswith(name + "/")]
        return max(holders, key=len) if holders else None

    @contextmanager
    def _open_raw(self, member: str) -> Iterator[IO[bytes]]:
        kind = self.kind
        try:
            if kind == "zip":
                with _open_member(self._archive(), member) as handle:
                    yield handle
            elif kind == "folder":
                target = self.path / member
                if not target.resolve().is_relative_to(self.path.resolve()) or target.is_symlink():
                    raise UnreadableDelivery(f"{self.path}: member {member!r} escapes the folder")
                with _open_no_follow(target) as handle:
                    yield handle
            else:
                with _open_no_follow(self.path) as handle:
                    yield handle
        except ZIP_ERRORS as exc:
            raise UnreadableDelivery(f"{self.path}: cannot read {member!r} ({exc})") from exc

    def size_of(self, member: str) -> int:
        """Uncompressed size of a member, without reading it."""
        container = self._container_of(member)
        try:
            if container is not None:
                return self._nested[container].getinfo(member[len(container) + 1 :]).file_size
            kind = self.kind
            if kind == "zip":
                return self._archive().getinfo(member).file_size
            return (self.path / member if kind == "folder" else self.path).stat().st_size
        except (OSError, KeyError) as exc:
            raise UnreadableDelivery(f"{self.path}: cannot read {member!r} ({exc})") from exc

    def read(self, member: str) -> bytes:
        with self.open(member) as handle:
            return handle.read()

    def head(self, member: str, size: int = 4096) -> bytes:
        with self.open(member) as handle:
            return handle.read(size)

    def close(self) -> None:
        for inner in self._nested.values():
            inner.close()
        self._nested.clear()
        self._nested_handles.close()
        self._members = None
        self.links, self.duplicates = [], []
        self._entries_seen = self._bytes_seen = 0
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def content_hash(self) -> str:
        """SHA-256 of the bytes as landed; for a folder, of its sorted member names and their hashes."""
        if self.path.is_dir():
            outer = hashlib.sha256()
            for member in self.members():
                outer.update(member.encode())
                outer.update(b"\0")
                outer.update(_file_hash(self.path / member).encode())
            return outer.hexdigest()
        return _file_hash(self.path)


def tree_size(path: Path) -> int:
    """Bytes in a file, or in every file under a folder (symbolic links not followed)."""
    if path.is_dir():
        return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_symlink() and p.is_file())
    return path.lstat().st_size


def _open_no_follow(path: Path) -> IO[bytes]:
    """A file opened for reading, refused (ELOOP) when it is a symbolic link. Named by its path (as
    a string), so that block readers can read a plain file's blocks straight from it."""
    return open(str(path), "rb", opener=_no_follow_opener)


def _no_follow_opener(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


def _open_member(archive: zipfile.ZipFile, name: str) -> IO[bytes]:
    info = archive.getinfo(name)
    if info.flag_bits & 0x1:
        raise UnreadableDelivery(f"member {name!r} is encrypted")
    return archive.open(info)


def _is_office_document(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False
    return "[Content_Types].xml" in names and any(name.startswith(("xl/", "word/", "ppt/")) for name in names)


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with _open_no_follow(path) as handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise UnreadableDelivery(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return digest.hexdigest()
