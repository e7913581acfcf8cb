"""A zip member's deflated bytes, inflated by ISA-L and checked as zipfile checks them.

zipfile inflates with zlib, which takes about three times ISA-L's CPU for the same bytes, and
the EPC download is a .zip of deflated members.  A deflated member that is not encrypted is
read here from the end of its local header, inflated by the ``isal`` package, and checked at
its end against the CRC-32 and size of the archive's directory, as zipfile does.  Any other
member (stored, bzip2, lzma, encrypted) is left to zipfile.
"""

from __future__ import annotations

import io
import struct
import zipfile
from typing import IO

from isal import isal_zlib

from processor.sources.remote import open_path

#: A local file header (APPNOTE 4.3.7): signature, versions, flags, method, time, date, CRC-32,
#: sizes, and the lengths of the name and the extra field that follow it.
LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
LOCAL_SIGNATURE = b"PK\x03\x04"
ENCRYPTED = 0x1
#: Compressed bytes read at a time.
READ_BYTES = 1 << 16
#: Raw deflate: no zlib or gzip header.
RAW_DEFLATE = -15


def open_zip_member(path: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> IO[bytes]:
    """The member's bytes, decompressed: inflated here where it is deflated and not encrypted,
    else by ``archive``."""
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & ENCRYPTED:
        return archive.open(info)
    raw = open_path(path)  # closed with the member's stream
    try:
        raw.seek(info.header_offset)
        header = raw.read(LOCAL_HEADER.size)
        if len(header) < LOCAL_HEADER.size or header[:4] != LOCAL_SIGNATURE:
            raise zipfile.BadZipFile(f"Bad magic number for file header of {info.filename!r}")
        *_, name_bytes, extra_bytes = LOCAL_HEADER.unpack(header)
        raw.seek(info.header_offset + LOCAL_HEADER.size + name_bytes + extra_bytes)
    except BaseException:
        raw.close()
        raise
    return io.BufferedReader(_Inflated(raw, info), buffer_size=1 << 20)


class _Inflated(io.RawIOBase):
    """The inflated bytes of the ``info.compress_size`` bytes of ``raw`` from where it stands."""

    def __init__(self, raw: IO[bytes], info: zipfile.ZipInfo) -> None:
        super().__init__()
        self._raw = raw
        self._name = info.filename
        self._left = info.compress_size
        self._expected = (info.CRC, info.file_size)
        self._inflate = isal_zlib.decompressobj(RAW_DEFLATE)
        self._crc = self._size = 0
        self._checked = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._inflate.eof:
            data = self._inflate.unconsumed_tail or self._compressed()
            out = self._inflate.decompress(data, len(buffer))
            if out:
                self._crc = isal_zlib.crc32(out, self._crc)
                self._size += len(out)
                buffer[: len(out)] = out
                return len(out)
            if not data and not self._inflate.eof:
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
        self._check()
        return 0

    def _compressed(self) -> bytes:
        data = self._raw.read(min(READ_BYTES, self._left))
        self._left -= len(data)
        return data

    def _check(self) -> None:
        if self._checked:
            return
        if self._crc != self._expected[0]:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {self._name!r}")
        if self._size != self._expected[1]:
            raise zipfile.BadZipFile(f"Bad size for file {self._name!r}")
        self._checked = True

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()
