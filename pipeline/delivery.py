"""A landed delivery: a single file, a zip archive or an unzipped folder, read member by member.

Zip members are read straight from the archive (never extracted to disk), so a parser touches
only the members it needs: personal exports hold far more than posts. Limits on entry count,
total uncompressed size and compression ratio stop zip bombs; names that escape the archive
(zip-slip) are refused.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

HASH_CHUNK = 1 << 20


class UnreadableDelivery(Exception):
    """The delivery cannot be read at all (corrupt archive, limits exceeded, unreadable file)."""


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

    @property
    def kind(self) -> str:
        if self.path.is_dir():
            return "folder"
        return "zip" if zipfile.is_zipfile(self.path) else "file"

    def _archive(self) -> zipfile.ZipFile:
        if self._zip is None:
            try:
                archive = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise UnreadableDelivery(f"{self.path}: not a readable zip archive ({exc})") from exc
            self._check_limits(archive)
            self._zip = archive
        return self._zip

    def _check_limits(self, archive: zipfile.ZipFile) -> None:
        infos = archive.infolist()
        if len(infos) > self.limits.max_entries:
            raise UnreadableDelivery(
                f"{self.path}: {len(infos)} entries exceed the limit of {self.limits.max_entries}"
            )
        total = sum(info.file_size for info in infos)
        if total > self.limits.max_total_bytes:
            raise UnreadableDelivery(f"{self.path}: {total} uncompressed bytes exceed the limit")
        for info in infos:
            if not _safe_member_name(info.filename):
                raise UnreadableDelivery(
                    f"{self.path}: member {info.filename!r} escapes the archive (zip-slip)"
                )
            if info.compress_size and info.file_size / info.compress_size > self.limits.max_ratio:
                raise UnreadableDelivery(
                    f"{self.path}: member {info.filename!r} expands "
                    f"{info.file_size / info.compress_size:.0f}x "
                    f"(limit {self.limits.max_ratio:.0f}x): refusing a likely zip bomb"
                )

    def members(self) -> list[str]:
        """Member names relative to the delivery, '/'-separated; a single file is its own member."""
        kind = self.kind
        if kind == "zip":
            return [info.filename for info in self._archive().infolist() if not info.is_dir()]
        if kind == "folder":
            return sorted(
                p.relative_to(self.path).as_posix()
                for p in self.path.rglob("*")
                if p.is_file() and not p.name.startswith(".")
            )
        return [self.path.name]

    def find(self, *suffixes: str) -> list[str]:
        """Members whose path ends with any of ``suffixes`` (case-insensitive), in archive order."""
        lowered = tuple(s.lower() for s in suffixes)
        return [m for m in self.members() if m.lower().endswith(lowered)]

    @contextmanager
    def open(self, member: str) -> Iterator[IO[bytes]]:
        kind = self.kind
        try:
            if kind == "zip":
                with self._archive().open(member) as handle:
                    yield handle
            elif kind == "folder":
                target = (self.path / member).resolve()
                if not target.is_relative_to(self.path.resolve()):
                    raise UnreadableDelivery(f"{self.path}: member {member!r} escapes the folder")
                with target.open("rb") as handle:
                    yield handle
            else:
                with self.path.open("rb") as handle:
                    yield handle
        except (OSError, zipfile.BadZipFile) as exc:
            raise UnreadableDelivery(f"{self.path}: cannot read {member!r} ({exc})") from exc

    def read(self, member: str) -> bytes:
        with self.open(member) as handle:
            return handle.read()

    def head(self, member: str, size: int = 4096) -> bytes:
        with self.open(member) as handle:
            return handle.read(size)

    def close(self) -> None:
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


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(HASH_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise UnreadableDelivery(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return digest.hexdigest()
