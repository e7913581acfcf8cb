"""A source file's fingerprint for the ledger: the SHA-256 of its bytes as stored.

It is taken while the file is read for loading (``StreamDigest`` sees the stored, still
compressed bytes go by), so a run reads each file once.  A file gets a pass of its own
(``fingerprint``) only where something needs it before loading: a rerun of an append, for a file
the ledger already names with the same size (skipped when it matches), and a file loaded in
parts (split into byte ranges, found in that same pass, or a compressed one handed out in
blocks), which no single reading sees whole.  A zip member (its CRC-32 and size) and an object in
a store (its ETag, size and time, ``remote.py``) have a fingerprint from their listing instead.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import IO

# Bytes hashed between two checks for a stop: a file of gigabytes stops within milliseconds.
BLOCK_BYTES = 1 << 20
PREFIX = "sha256:"


def fingerprint(
    opened: IO[bytes], check: Callable[[], None] = lambda: None, also: Callable[[bytes], None] | None = None
) -> str:
    """Hash a whole file (``opened`` at its start, closed here) in a pass of its own;
    ``check()`` runs before each block and may raise to stop early (the run is failing);
    ``also`` is given every block too (finding where to split a large file in the same
    reading)."""
    digest = hashlib.sha256()
    with opened as stream:
        while block := stream.read(BLOCK_BYTES):
            check()
            digest.update(block)
            if also is not None:
                also(block)
    return PREFIX + digest.hexdigest()


class StreamDigest:
    """The fingerprint of a file taken while something else reads it.

    ``wrap`` is called each time the file is opened for a reading from its start (a reader may
    start over); the fingerprint exists once a reading has reached the end of the file.
    """

    def __init__(self) -> None:
        self._reading: _HashingReader | None = None

    def wrap(self, raw: IO[bytes]) -> IO[bytes]:
        self._reading = _HashingReader(raw)
        return self._reading  # type: ignore[return-value]

    @property
    def value(self) -> str | None:
        """The fingerprint, or None when no reading has reached the end of the file."""
        reading = self._reading
        return PREFIX + reading.digest.hexdigest() if reading is not None and reading.at_end else None


class _HashingReader(io.RawIOBase):
    """A binary stream that hashes what is read through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        self._raw = raw
        self.digest = hashlib.sha256()
        self.at_end = False

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        if data:
            self.digest.update(data)
            buffer[: len(data)] = data
        elif len(buffer):
            self.at_end = True
        return len(data)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()
