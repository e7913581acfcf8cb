"""Archives as the source: SRC_DATA_FOLDER may be a .zip, .tar, .tar.gz, .tar.bz2 or .tar.xz.

Members are listed once, in the parent, from the archive's directory (a zip's central directory,
a tar's headers); each is then opened by whichever worker loads it and streamed, never extracted
to disk.  A zip member is found through the central directory; a tar member through its data
offset, seeked to in a plain .tar and read up to in a compressed one (its stream has no index,
so a compressed tar costs a decompression up to each member: prefer .zip or .tar for large
archives).  A zip member's fingerprint comes from its directory entry (CRC-32 and size), so the
ledger can skip it without reading it; a tar member is hashed while it is read, like a file.
"""

from __future__ import annotations

import bz2
import lzma
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, cast

from isal import igzip
from wcmatch import glob

from processor.errors import SourceError
from processor.sources.inflate import open_zip_member
from processor.sources.parts import bounded, closing_both
from processor.sources.remote import is_url, open_path

#: Archive kinds by the end of their file's name, longest first.
ARCHIVE_SUFFIXES = (
    (".tar.gz", "tar.gz"),
    (".tgz", "tar.gz"),
    (".tar.bz2", "tar.bz2"),
    (".tar.xz", "tar.xz"),
    (".tar", "tar"),
    (".zip", "zip"),
)
#: ``**`` crosses folders, ``*`` matches names starting with a dot, as pathlib's glob does.
GLOB_FLAGS = glob.GLOBSTAR | glob.DOTGLOB
#: How names of members are spelled in the ledger, report and rejects: ``data.zip!/a/b.csv``.
SEPARATOR = "!/"


@dataclass(frozen=True)
class Member:
    """One file inside an archive, as its directory describes it."""

    name: str
    size: int
    #: Where its bytes start in the (decompressed) tar stream; 0 for a zip member.
    offset: int = 0
    #: A zip member's fingerprint from the central directory; None: hash it while reading.
    checksum: str | None = None


def archive_kind(path: PurePath) -> str | None:
    """The kind of archive ``path`` names (``zip``, ``tar``, ``tar.gz``, ...), or None."""
    lower = path.name.lower()
    return next((kind for suffix, kind in ARCHIVE_SUFFIXES if lower.endswith(suffix)), None)


def list_members(path: str, kind: str, pattern: str) -> list[Member]:
    """The archive's files (at a local path or a URL) whose paths match the glob ``pattern``,
    sorted by path."""
    try:
        members = _zip_members(path) if kind == "zip" else _tar_members(path)
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, lzma.LZMAError) as error:
        raise SourceError(f"{PurePath(path).name}: cannot be read as a {kind} archive: {error}") from error
    return sorted((m for m in members if matches(m.name, pattern)), key=lambda m: m.name)


def matches(name: str, pattern: str) -> bool:
    """Whether a member's path matches SRC_FILE_NAME, read as pathlib's glob reads it."""
    return glob.globmatch(name, pattern, flags=GLOB_FLAGS)


def member_name(archive: PurePath, member: str) -> str:
    """The name the ledger, report and rejects give a member: ``archive.zip!/folder/file.csv``."""
    return f"{archive.name}{SEPARATOR}{member}"


def _zip_members(path: str) -> list[Member]:
    with open_path(path) as raw, zipfile.ZipFile(raw) as archive:
        return [
            Member(info.filename, info.file_size, checksum=f"crc32:{info.CRC:08x}:{info.file_size}")
            for info in archive.infolist()
            if not info.is_dir()
        ]


def _tar_members(path: str) -> list[Member]:
    # Stream mode: one pass over the archive, however it is compressed.  ``tar -C dir .`` names
    # members ``./a/b.csv``: they are matched and named as ``a/b.csv``.
    with open_path(path) as raw, tarfile.open(fileobj=raw, mode="r|*") as archive:
        return [
            Member(info.name.removeprefix("./"), info.size, offset=info.offset_data)
            for info in archive
            if info.isfile()
        ]


def open_member(path: str, kind: str, member: str, offset: int, size: int) -> IO[bytes]:
    """A member's bytes as a stream (for a tar: ``size`` bytes at ``offset`` of its stream)."""
    if kind == "zip":
        # Closing the archive now leaves its file open until the member's stream is closed.
        with zip_file(path) as archive:
            try:
                return open_zip_member(path, archive, archive.getinfo(member))
            except KeyError:
                name = member_name(PurePath(path), member)
                raise SourceError(f"{name}: no longer in the archive") from None
    stream = _decompressed(path, kind)
    if kind == "tar":
        stream.seek(offset)
    else:
        _skip(stream, offset)
    return bounded(stream, size)


def zip_file(path: str) -> zipfile.ZipFile:
    """A zip archive at a local path or a URL (read through ``open_path``, by ranged reads).
    Closing it leaves its file open until a member's stream from it is closed (a local one);
    an object's file holds no descriptor and goes with its last reader."""
    return zipfile.ZipFile(open_path(path) if is_url(path) else path)


def _decompressed(path: str, kind: str) -> IO[bytes]:
    if is_url(path):
        raw = open_path(path)
        if kind == "tar":
            return raw
        if kind == "tar.gz":
            return closing_both(cast(IO[bytes], igzip.IGzipFile(fileobj=raw, mode="rb")), raw)
        return closing_both(bz2.BZ2File(raw) if kind == "tar.bz2" else lzma.LZMAFile(raw), raw)
    if kind == "tar.gz":
        return igzip.open(path, "rb")
    if kind == "tar.bz2":
        return bz2.open(path, "rb")
    if kind == "tar.xz":
        return lzma.open(path, "rb")
    return open(path, "rb")  # closed with the member's stream


def _skip(stream: IO[bytes], count: int) -> None:
    while count:
        passed = stream.read(min(count, 1 << 20))
        if not passed:
            raise EOFError("the archive ends before the member")
        count -= len(passed)
