"""Find the source files: a glob below SRC_DATA_FOLDER (a folder or an archive), in a stable
order, with their format.

Discovery decides everything that is known from a file's name (compression, the delimiter a
``.tsv`` suggests) so that readers get a plain, picklable ``SourceFile``; ``dialect.py`` then
settles each file's delimiter from its text, once, before any reader needs it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path, PurePath, PurePosixPath

from processor.errors import ConfigError, SourceError
from processor.records import SourceFile
from processor.sources.archive import archive_kind, list_members, matches, member_name
from processor.sources.formats import format_for
from processor.sources.remote import is_url, list_folder, locate, shown_url

log = logging.getLogger(__name__)

COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}


def discover_files(folder: Path | str, pattern: str, delimiter: str | None) -> list[SourceFile]:
    """Glob ``pattern`` below ``folder``; return readable, non-empty files sorted by relative path.

    Empty (0-byte) files are skipped with a warning.  Files whose real location lies outside the
    folder (a symlink leading elsewhere) are refused, so a glob can never read beyond it.  A URL
    (``s3://bucket/prefix``, ``https://host/file.csv``) is read through fsspec (``remote.py``).
    """
    if is_url(folder):
        return _discover_remote(str(folder), pattern, delimiter)
    folder = Path(folder)
    if not folder.exists():
        raise SourceError(f"SRC_DATA_FOLDER does not exist: {folder}")
    kind = archive_kind(folder)
    if kind is not None and folder.is_file():
        if not os.access(folder, os.R_OK):
            raise SourceError(f"{folder.name}: cannot be read (permission denied)")
        return _discover_members(str(folder), folder, kind, pattern, delimiter)
    if not folder.is_dir():
        raise SourceError(f"SRC_DATA_FOLDER is not a folder: {folder}")
    root = folder.resolve()
    found: list[SourceFile] = []
    empty = 0
    try:
        matches = sorted(folder.glob(pattern), key=lambda p: p.relative_to(folder).as_posix())
    except (NotImplementedError, ValueError) as error:
        raise ConfigError(f"SRC_FILE_NAME must be a glob relative to SRC_DATA_FOLDER: {error}") from None
    for path in matches:
        if path.is_dir():
            continue  # a folder whose name matches; the files in it match by their own names
        name = path.relative_to(folder).as_posix()
        if not path.is_file():
            raise SourceError(f"{name}: cannot be read: {_not_a_file(path)}")
        if not path.resolve().is_relative_to(root):
            raise SourceError(f"{name}: refusing a file outside SRC_DATA_FOLDER ({path.resolve()})")
        if not os.access(path, os.R_OK):
            raise SourceError(f"{name}: cannot be read (permission denied)")
        size = path.stat().st_size
        if size == 0:
            log.warning("%s: empty file (0 bytes), skipped", name)
            empty += 1
            continue
        compression, field_delimiter, data_format = _format(name, delimiter)
        found.append(SourceFile(str(path), name, size, compression, field_delimiter, data_format))
    return _found(found, pattern, folder, empty)


def _not_a_file(path: Path) -> str:
    """Why a matched name holds no file to read: refused rather than skipped, as the glob meant it."""
    if path.is_symlink() and not path.exists():
        return f"a symbolic link to {os.readlink(path)}, which leads to no file"
    return "not a regular file (a named pipe, socket or device)"


def _format(name: str, delimiter: str | None) -> tuple[str | None, str, str]:
    """A file's compression, delimiter (``.tsv``: tab, unless SRC_DELIMITER is set) and data
    format (the registry's for its data suffix: ``.jsonl``, ``.ndjson``: line-delimited JSON),
    from its name."""
    path = Path(name)
    compression = COMPRESSIONS.get(path.suffix.lower())
    data_suffix = (Path(path.stem).suffix if compression else path.suffix).lower()
    data_format = format_for(data_suffix)
    return compression, delimiter or data_format.default_delimiter(data_suffix), data_format.name


def _discover_remote(url: str, pattern: str, delimiter: str | None) -> list[SourceFile]:
    """The objects below a URL matching ``pattern``; a URL of one object is that file (whatever
    the pattern: it is named), or the archive whose members are globbed."""
    single = locate(url)
    if single is not None:
        name = PurePosixPath(single.name)
        kind = archive_kind(name)
        if kind is not None:
            return _discover_members(url, name, kind, pattern, delimiter, single.size)
        objects = [single]
    else:
        objects = [o for o in list_folder(url) if matches(o.name, pattern)]
    found: list[SourceFile] = []
    empty = 0
    for item in objects:
        if item.size == 0:
            log.warning("%s: empty file (0 bytes), skipped", item.name)
            empty += 1
            continue
        compression, field_delimiter, data_format = _format(item.name, delimiter)
        source = SourceFile(item.url, item.name, item.size, compression, field_delimiter, data_format)
        found.append(replace(source, checksum=item.identity))
    return _found(found, pattern, shown_url(url), empty)


def _found(found: list[SourceFile], pattern: str, folder: PurePath | str, empty: int) -> list[SourceFile]:
    if not found:
        skipped = f" (only {empty} empty file{'s' if empty > 1 else ''}, skipped)" if empty else ""
        raise SourceError(f"no file matches SRC_FILE_NAME={pattern!r} in {folder}{skipped}")
    return found


def _discover_members(
    path: str, archive: PurePath, kind: str, pattern: str, delimiter: str | None, size: int | None = None
) -> list[SourceFile]:
    """The members matching ``pattern`` of the archive at ``path`` (named ``archive``); empty ones
    are skipped with a warning."""
    if size == 0:
        raise SourceError(f"{archive.name}: cannot be read as a {kind} archive: it is empty (0 bytes)")
    found: list[SourceFile] = []
    empty = 0
    for member in list_members(path, kind, pattern):
        name = member_name(archive, member.name)
        if member.size == 0:
            log.warning("%s: empty file (0 bytes), skipped", name)
            empty += 1
            continue
        compression, field_delimiter, data_format = _format(member.name, delimiter)
        if compression == "zip":
            raise SourceError(f"{name}: a .zip inside an archive is not read; match the files inside it")
        found.append(
            SourceFile(
                path,
                name,
                member.size,
                compression,
                field_delimiter,
                data_format,
                archive=kind,
                member=member.name,
                offset=member.offset,
                checksum=member.checksum,
            )
        )
    return _found(found, pattern, shown_url(path) if is_url(path) else archive, empty)


def common_stem(files: list[SourceFile]) -> str:
    """The default DEST_TABLE: the name stem all matched files share (``certificates``)."""
    stems = sorted({f.stem for f in files})
    if len(stems) > 1:
        shown = ", ".join(stems[:3]) + (", ..." if len(stems) > 3 else "")
        raise ConfigError(f"DEST_TABLE is required: the matched files have different names ({shown})")
    return stems[0]
