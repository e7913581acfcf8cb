"""Standard input as the source (SRC_DATA_FOLDER=-): one file, named by SRC_FILE_NAME.

A pipe can be read once, but a run reads its source more than once: the plan samples each
file before anything is written, the load reads it again (workers read the parts of a large
file side by side), and a failure may read it once more to name a row.  So the stream is
spooled to a temporary file as it arrives, a block at a time (memory stays bounded whatever
its size), and hashed on the way: the ledger keys the pipe by its name and that SHA-256, as it
keys a local file by its path and the SHA-256 of its bytes.  From then on the run reads the
spool as any local file of that name (its compression and format from the name); the spool
is removed when the run ends, however it ends (a failure, Ctrl-C, SIGTERM; not SIGKILL).

A piped archive (``data.zip``, ``data.tar.gz``, ...: ``piped_archive``) is spooled the same way
and then read as SRC_DATA_FOLDER naming a local archive is: its members matching a glob (given
after the name, ``data.zip!/**/*.tsv``; else SRC_FILE_NAME's default, ``**/*.csv``) are the
files, each named ``data.zip!/member`` and fingerprinted as a local archive's member is.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import select
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO

from processor.errors import ConfigError, SourceError, unwritable
from processor.records import SourceFile
from processor.sources.fingerprint import PREFIX

log = logging.getLogger(__name__)

#: SRC_DATA_FOLDER's value that means standard input.
STDIN = "-"
#: Characters that make SRC_FILE_NAME a glob (pathlib's), which a pipe's single name must not be.
GLOB_CHARACTERS = frozenset("*?[")
#: Bytes read from the pipe (and written to the spool) at a time: the memory the spooling takes.
BLOCK_BYTES = 1 << 20
#: How the spool's folder in TMPDIR begins (one left by a killed run can be found by it).
SPOOL_PREFIX = "csv-sql-importer-stdin-"
#: What separates a piped archive's name from the glob of its members (as it separates the
#: archive from a member in the names the ledger gives them: ``archive.SEPARATOR``).
SEPARATOR = "!/"
#: The members of a piped archive loaded where SRC_FILE_NAME gives no glob after its name
#: (SRC_FILE_NAME's own default, as for SRC_DATA_FOLDER naming an archive).
MEMBERS = "**/*.csv"


def reads_stdin(folder: Path | str) -> bool:
    """Whether SRC_DATA_FOLDER means standard input (``-``; a folder named so is given by its
    absolute path)."""
    return str(folder) == STDIN


def piped_archive(name: str) -> tuple[str, str] | None:
    """The archive's name and the glob its loaded members match, where SRC_FILE_NAME names a
    piped archive: ``data.zip``, ``data.tar.gz``, ``data.tgz`` ... (``!/`` and a glob may
    follow: ``data.zip!/**/*.tsv``); else None.  A ``.zip`` whose name says what file it
    compresses (``title.csv.zip``: a suffix before ``.zip``) is that one file, read compressed,
    as in a folder, unless a glob follows."""
    from processor.sources.archive import archive_kind  # its readers: not for --help's settings

    archive, separator, members = name.partition(SEPARATOR)
    kind = archive_kind(Path(archive))
    if kind is None or (kind == "zip" and not separator and Path(Path(archive).stem).suffix):
        return None
    return archive, members if separator else MEMBERS


def check_pipe_settings(name: str, dask_scheduler: str | None) -> None:
    """Refuse settings a pipe cannot work with: SRC_FILE_NAME must be the piped file's plain
    name (no folder, no glob: it names one file, and its suffixes give its compression and
    format; an archive's may be followed by ``!/`` and the glob of its members to load), and a
    Dask cluster elsewhere (DASK_SCHEDULER) cannot read this machine's spool."""
    archive = piped_archive(name)
    plain = archive[0] if archive else name
    if not plain or plain in (".", "..") or "/" in plain or GLOB_CHARACTERS.intersection(plain):
        raise ConfigError(
            "SRC_DATA_FOLDER=- reads one file from standard input: SRC_FILE_NAME must be its plain "
            f"name (no folder, no * ? [), as in title.basics.tsv.gz, got {name!r}"
        )
    if archive is not None and not archive[1]:
        raise ConfigError(
            f"SRC_FILE_NAME={name!r}: a glob of the archive's members must follow {SEPARATOR!r}, "
            f"as in {plain}{SEPARATOR}**/*.csv"
        )
    if dask_scheduler:
        raise ConfigError(
            "SRC_DATA_FOLDER=- cannot be read on a Dask cluster (DASK_SCHEDULER): its workers cannot "
            "read standard input's spool on this machine; leave DASK_SCHEDULER unset (a local "
            "cluster) or use EXECUTOR=pool"
        )


@contextlib.contextmanager
def spooled_stdin(
    name: str, delimiter: str | None, stream: IO[bytes] | None = None
) -> Iterator[list[SourceFile]]:
    """The file piped to standard input (or ``stream``), named ``name``, spooled to a temporary
    file in TMPDIR for the duration: a ``SourceFile`` as discovery makes one for a local file
    of that name, its SHA-256 already taken (``checksum``, the ledger's fingerprint); or, for
    an archive (``piped_archive``), its members as discovery makes them for a local archive."""
    archive = piped_archive(name)
    if archive is not None:
        name = archive[0]
    if stream is None:
        stream = _stdin()
    if getattr(stream, "isatty", lambda: False)():
        raise ConfigError(
            "SRC_DATA_FOLDER=- reads standard input, but nothing is piped to it (it is a terminal); "
            "pipe the file in, as in: curl -s URL | python index.py --src-data-folder - "
            f"--src-file-name {name}"
        )
    try:
        folder = Path(tempfile.mkdtemp(prefix=SPOOL_PREFIX))
    except OSError as error:
        raise unwritable(
            f"standard input cannot be spooled in {tempfile.gettempdir()} (TMPDIR)", error
        ) from None
    try:
        size, digest = _spool(stream, folder / name)
        if size == 0:
            log.warning("%s (standard input): empty file (0 bytes), skipped", name)
            raise SourceError(f"no file matches SRC_FILE_NAME={name!r} in - (only 1 empty file, skipped)")
        from processor.sources.discover import discover_files  # its formats: not for --help's settings

        log.info("%s (standard input): %s bytes spooled to %s", name, f"{size:,}", folder)
        if archive is not None:
            spool = folder / name
            try:
                members = discover_files(spool, archive[1], delimiter)
            except SourceError as error:  # named as piped, not by the spool's path
                raise SourceError(str(error).replace(str(spool), f"{name} (standard input)")) from None
            yield members
            return
        [source] = discover_files(folder, name, delimiter)  # a plain name matches the spool alone
        yield [replace(source, checksum=digest)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _stdin() -> IO[bytes]:
    """The process's standard input, as bytes."""
    stream = sys.stdin
    if stream is None:  # started without one (``<&-``), and not through the command
        raise ConfigError("SRC_DATA_FOLDER=- reads standard input, but the process has none")
    return stream.buffer


def _spool(stream: IO[bytes], path: Path) -> tuple[int, str]:
    """Copy ``stream`` to ``path`` a block at a time; its size and fingerprint.  The spool is
    written unbuffered, so that a full disk fails the write that meets it (not a later close)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "xb", buffering=0) as spool:
        while True:
            try:
                block = stream.read(BLOCK_BYTES)
            except BlockingIOError:
                block = None
            except OSError as error:
                raise SourceError(
                    f"{path.name} (standard input): cannot be read after {size:,} bytes: "
                    f"{error.strerror or error}"
                ) from None
            if block is None:  # a non-blocking descriptor with nothing yet: more may come, wait
                select.select([stream], [], [])
                continue
            if not block:
                return size, PREFIX + digest.hexdigest()
            if not isinstance(block, bytes | bytearray | memoryview):
                raise ConfigError(
                    f"{path.name}: the source stream gives text, not bytes: open it in binary mode"
                )
            digest.update(block)
            view = memoryview(block)
            try:
                while view:
                    view = view[spool.write(view) :]
            except OSError as error:
                written = size + len(block) - len(view)
                problem = (
                    f"standard input cannot be spooled to {path} ({written:,} bytes written; "
                    "TMPDIR says where)"
                )
                raise unwritable(problem, error) from None
            size += len(block)
