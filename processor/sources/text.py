"""Opening a source file as bytes and as text, and the errors of reading one.

Every format reads through here: the stored bytes (a plain file, a member of an archive, a
compressed stream inflated), a part of them, and the text they decode to with the byte-order
mark of the named encoding dropped.  A file that cannot be decoded or read to its end is one
SourceError naming the file and, where found, its line and the likely encoding.
"""

from __future__ import annotations

import bz2
import codecs
import io
import lzma
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, cast

import pyarrow as pa
from isal import igzip, isal_zlib

from processor.errors import SourceError, first_line
from processor.sources.archive import open_member, zip_file
from processor.sources.fingerprint import StreamDigest
from processor.sources.inflate import open_zip_member
from processor.sources.parts import WHOLE, Part, bounded, closing_both, slice_stream
from processor.sources.remote import open_path

if TYPE_CHECKING:  # discovery picks each file's format, whose reader this module is
    from processor.records import SourceFile


# isal's stub declares ``error: Exception`` (an instance); it is the class of ISA-L's errors.
ISAL_ERROR: type[Exception] = isal_zlib.error  # type: ignore[assignment]
# What a damaged or truncated compressed file raises while it is read (BadGzipFile is an
# OSError; a truncated stream ends in EOFError; ISA-L's inflate raises its own error).
DAMAGED = (OSError, EOFError, zlib.error, ISAL_ERROR, lzma.LZMAError, zipfile.BadZipFile)

# Arrow parses a block of this many bytes at a time; rechunk() joins blocks into CHUNK_SIZE rows.
# Its streaming reader queues up to 32 blocks ahead on an I/O thread (not configurable), so the
# block size sets that read-ahead's memory: 32 MB here.  4 MB blocks parsed ~10% faster but held
# a worker near 330 MB on a large file.
BLOCK_BYTES = 1 << 20
# Blocks read ahead of the consumer: Arrow's 32 at the default size, fewer at larger ones.
READ_AHEAD_BYTES = 32 * BLOCK_BYTES
# The record limit: no record (nor line) is read that is larger than this; a larger one is a
# SourceError, as it is more likely a quote that is never closed than a record.
MAX_BLOCK_BYTES = 256 << 20
# Characters of a line that Python's csv or json module reads, read at a time (bounded_lines).
LINE_PIECE = 1 << 20
# The byte-order marks that an encoding's own decoder keeps as a character (U+FEFF), dropped
# from a file's start (``utf-16``, ``utf-32`` and ``utf-8-sig`` read and drop theirs).
BYTE_ORDER_MARKS = {
    "utf-8": codecs.BOM_UTF8,
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
}
# A file's encoding as its first bytes' byte-order mark names it (longest first: UTF-32-LE's
# begins with UTF-16-LE's).
MARKED_ENCODINGS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Bytes of a file's start looked at to guess its encoding (error path only).
GUESS_BYTES = 1 << 16
# The resolution of holds_record_over: a record boundary is looked for every this many bytes.


@dataclass(frozen=True)
class TextFormat:
    """How every source file's text is read: the parts of the format that are set per run."""

    quoting: str = "csv"
    encoding: str = "utf-8"
    na_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class InvalidRow:
    """A row Arrow could not split into the header's number of fields."""

    record: int
    fields: int
    #: Why it is no row, where that is not its number of fields (an NDJSON line).
    reason: str = ""


@dataclass(frozen=True)
class ReadRequest:
    """What one reading of a file (or of one ``part`` of it) asks of the file's format."""

    #: Fields a record has (the header's number; a keyed format's: its keys').
    columns: int
    #: Told of each record that is no row (ragged, unreadable), in record order.
    on_invalid: Callable[[InvalidRow], None]
    part: Part = WHOLE
    #: Fingerprints the whole file on the way (the ledger's, without a second reading).
    digest: StreamDigest | None = None
    #: Bytes read at most beyond the batches taken: a sample takes few.
    read_ahead: int = READ_AHEAD_BYTES
    #: The fields to read, by position (default: all).
    include: Sequence[int] | None = None
    #: A keyed format's columns: the keys its records give (``Format.keyed``).
    keys: Sequence[str] = ()
    #: Whether text after a closing quote is a rejected row; a sample, which the load reads
    #: again, leaves that to the load.
    quotes: bool = True


def open_bytes(source: SourceFile, digest: StreamDigest | None = None) -> IO[bytes]:
    """Open a source file for reading, decompressing it on the fly; ``digest`` fingerprints the
    stored bytes as they are read (not a .zip's: its member is read, not the whole archive; an
    archive's member: its own bytes)."""
    try:
        if source.compression == "zip":
            return _open_zip_member(source)
        raw = open_stored(source)
        if digest is not None:
            raw = digest.wrap(raw)
        if source.compression == "gzip":  # ISA-L's inflate: a third of zlib's CPU, the same text
            # typeshed does not declare GzipFile (IGzipFile's base) an IO[bytes]; it is one.
            return closing_both(cast(IO[bytes], igzip.IGzipFile(fileobj=raw, mode="rb")), raw)
        if source.compression == "bz2":
            return closing_both(bz2.BZ2File(raw), raw)
        if source.compression == "xz":
            return closing_both(lzma.LZMAFile(raw), raw)
        if source.compression == "zstd":
            return pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), "zstd")
        return raw
    except OSError as exc:
        raise SourceError(f"{source.name}: cannot be opened: {exc.strerror or exc}") from exc


def open_stored(source: SourceFile) -> IO[bytes]:
    """A source file's bytes as stored (still compressed if it is): the file, or its archive's member."""
    if source.archive is not None and source.member is not None:
        return open_member(source.path, source.archive, source.member, source.offset, source.size)
    return open_path(source.path)  # closed with what reads it


def seekable(source: SourceFile) -> bool:
    """Whether a part of the file can be reached by seeking (not decompressing up to it)."""
    return source.compression is None and source.archive is None


def hashed_while_read(source: SourceFile) -> bool:
    """Whether reading ``source`` through ``open_bytes`` reads (and can fingerprint) all of its
    stored bytes: not a .zip, whose member is read rather than the archive."""
    return source.compression != "zip"


def _open_zip_member(source: SourceFile) -> IO[bytes]:
    try:
        archive = zip_file(source.path)
    except zipfile.BadZipFile as exc:
        raise SourceError(f"{source.name}: cannot be opened: {exc}") from exc
    # Closing the archive now leaves its file open until a member's stream from it is closed.
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) != 1:
            held = len(members)
            raise SourceError(f"{source.name}: a .zip source must hold exactly one file, it holds {held}")
        return open_zip_member(source.path, archive, members[0])


def open_part(
    source: SourceFile, fmt: TextFormat, part: Part = WHOLE, digest: StreamDigest | None = None
) -> IO[bytes]:
    """Open the bytes of one part of a source file (all of it by default), decompressed, less
    the file's byte-order mark; ``digest`` fingerprints a whole file on the way."""
    if part.data is not None:
        opened: IO[bytes] = io.BytesIO(part.data)
    else:
        opened = open_bytes(source, digest if part.whole else None)
        opened = slice_stream(opened, part, seekable=seekable(source))
    mark = BYTE_ORDER_MARKS.get(codecs.lookup(fmt.encoding).name)
    return _without_mark(opened, mark) if mark and part.header else opened


def _without_mark(raw: IO[bytes], mark: bytes) -> IO[bytes]:
    """``raw`` less ``mark`` where it starts with it (seen through a buffer, without reading on)."""
    buffered = raw if isinstance(raw, io.BufferedReader) else bounded(raw, None)
    if buffered.peek(len(mark))[: len(mark)] == mark:
        buffered.read(len(mark))
    return buffered


def open_text(
    source: SourceFile,
    fmt: TextFormat,
    part: Part = WHOLE,
    errors: str = "strict",
    digest: StreamDigest | None = None,
) -> IO[str]:
    """Open a source file (or a part of it) as text for Python's csv and json modules; ``errors``
    as ``open`` takes it; ``digest`` as ``open_part`` takes it."""
    return _text(open_part(source, fmt, part, digest), fmt, errors)


def _text(raw: IO[bytes], fmt: TextFormat, errors: str = "strict") -> IO[str]:
    encoding = "utf-8-sig" if fmt.encoding == "utf-8" else fmt.encoding
    return io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="")


def bounded_lines(stream: IO[str], source: SourceFile, first_line: int = 1) -> Iterator[str]:
    """The lines of ``stream`` (numbered from ``first_line``) for Python's csv and json modules,
    which would read a line whole however long: one longer than the record limit is a
    SourceError once that much of it is read, in pieces (never the whole line at once)."""
    number = first_line
    while piece := stream.readline(LINE_PIECE):
        pieces, size = [piece], len(piece)
        while len(piece) == LINE_PIECE and piece[-1] not in "\r\n":
            piece = stream.readline(LINE_PIECE)
            pieces.append(piece)
            size += len(piece)
            if size > MAX_BLOCK_BYTES:
                raise SourceError(f"{source.name}: line {number} is longer than {MAX_BLOCK_BYTES >> 20} MiB")
        yield "".join(pieces)
        number += 1


def reading_error(source: SourceFile, fmt: TextFormat, exc: BaseException) -> SourceError:
    """The SourceError of text that cannot be decoded, or of a file that cannot be read."""
    return undecodable(source, fmt) if isinstance(exc, UnicodeDecodeError) else damaged(source, exc)


def undecodable(source: SourceFile, fmt: TextFormat) -> SourceError:
    line, text = find_undecodable_line(source, fmt.encoding)
    where = f"line {line}: " if line else ""
    with open_bytes(source) as stream:
        head = stream.read(GUESS_BYTES)
    likely = likely_encoding(head, text, fmt.encoding)
    hint = f" (it looks like {likely}: SRC_ENCODING={likely})" if likely else ""
    return SourceError(
        f"{source.name}: {where}bytes not valid {fmt.encoding}; set SRC_ENCODING to the files' encoding{hint}"
    )


def likely_encoding(head: bytes, line: bytes, named: str) -> str | None:
    """The encoding a file's first bytes (``head``) and a line that ``named`` could not decode
    (``line``) suggest, if not ``named``: the one a byte-order mark names; UTF-16 where every
    other byte is NUL (text mostly ASCII); else the first of UTF-8, cp1252 and latin-1 that
    decodes the line (latin-1 decodes any bytes)."""
    guess = next((name for mark, name in MARKED_ENCODINGS if head.startswith(mark)), None)
    if guess is None:
        guess = _nul_pattern(head)
    if guess is None:
        guess = next((name for name in ("utf-8", "cp1252", "latin-1") if _decodes(line, name)), None)
    return None if guess is None or codecs.lookup(guess).name == codecs.lookup(named).name else guess


def _nul_pattern(head: bytes) -> str | None:
    """utf-16-le (-be) where most odd (even) bytes, and few others, are NUL."""
    even, odd = head[0::2], head[1::2]
    if len(odd) < 2:
        return None
    if odd.count(0) > len(odd) // 2 and even.count(0) < len(even) // 8:
        return "utf-16-le"
    if even.count(0) > len(even) // 2 and odd.count(0) < len(odd) // 8:
        return "utf-16-be"
    return None


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def damaged(source: SourceFile, exc: BaseException) -> SourceError:
    """A file that cannot be read to its end: a damaged or truncated compressed file."""
    what = getattr(exc, "strerror", None) or first_line(exc)
    return SourceError(f"{source.name}: cannot be read: {what}")


def find_undecodable_line(source: SourceFile, encoding: str) -> tuple[int | None, bytes]:
    """The first physical line whose bytes do not decode in ``encoding``, and its bytes (error
    path only); (None, b"") where none is found line by line (a multi-byte encoding)."""
    with open_bytes(source) as stream:
        for number, raw in enumerate(stream, start=1):
            if not _decodes(raw, encoding):
                return number, raw
    return None, b""
