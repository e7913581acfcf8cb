"""The hand-off: tasks give their checked chunks to the run's one writer (``Features.one_writer``).

A DuckDB file takes one writing process at a time, and every close checkpoints it; so rather
than each task opening the file in turn around each chunk, the run holds one connection for the
whole load (``HeldWriter``) and the tasks hand their chunks over to it:

- inline, the task writes through the held writer itself (``TaskContext.held``);
- in a pool, each task connects to a Unix socket the run listens on (``serve``) and sends each
  chunk as an Arrow IPC stream; the run's thread for that task appends it and answers whether it
  was written, or what the database said, before the task reads its next chunk.  The workers go
  on parsing and checking in parallel; the one writer appends chunk after chunk.

A Dask cluster's workers may be on other machines: they take turns instead (no hand-off).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import multiprocessing.util
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Client, Connection
from typing import Any

import pyarrow as pa

from processor.backends.writers import HeldWriter, Receipt
from processor.errors import describe

log = logging.getLogger(__name__)

#: How often the accepting thread looks whether the load is over.
ACCEPT_SECONDS = 0.2


@dataclass(frozen=True)
class HandOff:
    """Where a load task hands its chunks: the run's socket (``address``, ``authkey``), or the
    held writer of the task's own process (``address`` None: inline)."""

    address: str | None = None
    authkey: bytes = b""


class HandOffRefused(Exception):
    """The run's writer did not write a handed chunk: what the database (or the writer) said."""


class HandedWriter:
    """A pool task's ``ChunkWriter``: each chunk goes to the run's one writer, which answers.

    The answer is read when the next chunk is handed over (or at ``flush``), so that the task
    parses its next chunk while the writer appends this one.  A pool task runs once, so the
    writer never finds a chunk written already: its answer is only whether it was appended.
    """

    errors: tuple[type[BaseException], ...] = (HandOffRefused,)

    def __init__(self, hand_off: HandOff, path: str) -> None:
        assert hand_off.address is not None
        self._hand_off = hand_off
        self._conn: Connection | None = None
        self._pending = False  # a chunk handed over whose answer is not read yet
        self.path = path

    def prepare(self, chunk: pa.Table) -> pa.Buffer:
        """The chunk as an Arrow IPC stream (only the chunk's own rows of a sliced table)."""
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, chunk.schema) as stream:
            stream.write_table(chunk)
        return sink.getvalue()

    def write(self, prepared: pa.Buffer, receipt: Receipt) -> bool:
        self.flush()
        conn = self._connection()
        conn.send(("write", receipt, prepared.size))
        conn.send_bytes(prepared)
        self._pending = True
        return True

    def flush(self) -> None:
        if not self._pending:
            return
        self._pending = False
        assert self._conn is not None
        if not self._answer(self._conn):
            raise HandOffRefused("the run's writer had this task's chunk already (a task runs once)")

    def read(self, query: Callable[[Any], Any]) -> Any:
        """``query(conn)`` (picklable) run by the writer on its held connection."""
        self.flush()
        conn = self._connection()
        conn.send(("read", query))
        return self._answer(conn)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        self._pending = False
        if conn is not None:
            conn.close()

    def _connection(self) -> Connection:
        if self._conn is None:
            address = self._hand_off.address
            assert address is not None
            try:
                self._conn = Client(address, family="AF_UNIX")
                self._conn.send_bytes(self._hand_off.authkey)
            except OSError as error:
                raise HandOffRefused(f"the run's writer is gone ({error})") from None
        return self._conn

    def _answer(self, conn: Connection) -> Any:
        try:
            status, value = conn.recv()
        except (EOFError, OSError) as error:
            self.close()
            raise HandOffRefused(f"the run's writer is gone ({error or 'closed'})") from None
        if status != "ok":
            raise HandOffRefused(value)
        return value


class _Server:
    """The run's side: a thread accepts each task's connection, a thread per connection serves
    it (the held writer appends one chunk at a time, whichever thread hands it over).  The
    socket is in multiprocessing's private temporary folder; a task's first message is the run's
    key, or its connection is closed."""

    def __init__(self, writer: HeldWriter) -> None:
        self._writer = writer
        authkey = os.urandom(32)
        address = os.path.join(multiprocessing.util.get_temp_dir(), f"hand-off-{os.urandom(6).hex()}")
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.bind(address)
        self._socket.listen()
        self._socket.settimeout(ACCEPT_SECONDS)  # so that the accepting thread sees ``close``
        self.hand_off = HandOff(address, authkey)
        self._closed = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, name="hand-off", daemon=True)
        self._acceptor.start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                accepted, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:  # closed
                return
            accepted.settimeout(None)
            conn = Connection(accepted.detach())
            threading.Thread(target=self._serve, args=(conn,), name="hand-off-task", daemon=True).start()

    def _serve(self, conn: Connection) -> None:
        with conn:
            try:
                if not hmac.compare_digest(conn.recv_bytes(64), self.hand_off.authkey):
                    return
            except (EOFError, OSError):
                return
            while True:
                try:
                    request = conn.recv()
                    if request[0] == "write":
                        # A buffer of Arrow's own allocator, not a 5 MB bytes object per chunk,
                        # which Python's allocator's arenas would keep; the chunk's columns are
                        # views of it, freed once the database has taken them.
                        buffer = pa.allocate_buffer(request[2])
                        conn.recv_bytes_into(buffer)
                        chunk = pa.ipc.open_stream(buffer).read_all()
                        del buffer
                except (EOFError, OSError, pa.ArrowInvalid):
                    return  # the task closed its writer (or its process ended, mid-chunk)
                try:
                    if request[0] == "write":
                        reply: tuple[str, Any] = ("ok", self._writer.write(chunk, request[1]))
                        del chunk
                    else:
                        reply = ("ok", self._writer.read(request[1]))
                except Exception as error:  # the database's refusal goes back to the task that asked
                    reply = ("error", describe(error))
                try:
                    conn.send(reply)
                except OSError:
                    return

    def close(self) -> None:
        """Accept no more tasks; those connected find the writer stopped (``HeldWriter``)."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._acceptor.join()
        self._socket.close()
        with contextlib.suppress(OSError):
            os.unlink(str(self.hand_off.address))


@contextlib.contextmanager
def serve(writer: HeldWriter) -> Iterator[HandOff]:
    """Listen for the pool's tasks' chunks while the load runs; yield where tasks hand them."""
    server = _Server(writer)
    try:
        yield server.hand_off
    finally:
        server.close()
