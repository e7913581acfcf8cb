"""One INSERT statement that reads a load's chunks as they are handed over (``WriteMethod.streams``).

DuckDB spends about 12 ms of its own per INSERT ... SELECT of a 5,000-row Arrow chunk beyond
what appending the rows takes (94 columns; 80 statements: 5.7 s of CPU, one statement reading
the same 80 chunks from an Arrow stream: 3.6 s, and no longer faster with more memory).  So the
held writer runs one statement over a ``RecordBatchReader`` whose batches are the chunks the
tasks hand over, in a thread of its own.  A chunk's answer comes when the database asks for the
rows after it: it has read it (the last of its rows may wait for the next chunk's to fill a
vector), or the statement failed, and that error is the answer.  So an error is the load's,
told to whichever call is waiting; the statement's rows stand only once its transaction commits.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

#: What the statement's thread answers for a chunk the database has read (else: its error).
TAKEN = "taken"


class ArrowStream:
    """A statement running in its own thread over the chunks ``append`` gives it, until ``end``.

    ``run(reader)`` executes the statement (it returns when the reader is exhausted).  Calls
    are made one at a time (the held writer's lock): each ``append`` waits for its chunk's
    answer before the next chunk is handed over.
    """

    def __init__(self, schema: pa.Schema, run: Callable[[pa.RecordBatchReader], Any]) -> None:
        self.schema = schema
        self._handed: queue.SimpleQueue[pa.Table | None] = queue.SimpleQueue()
        self._answers: queue.SimpleQueue[str | BaseException] = queue.SimpleQueue()
        #: The statement has ended (failed, or ``end`` was called): it takes no more chunks.
        self.ended = False
        self._thread = threading.Thread(target=self._execute, args=(run,), name="arrow-stream", daemon=True)
        self._thread.start()

    def append(self, chunk: pa.Table) -> None:
        """Hand ``chunk`` to the statement; raise the database's error if it failed meanwhile."""
        self._handed.put(chunk)
        self._raise_if_failed(self._answers.get())

    def end(self) -> None:
        """Let the statement finish; raise its error if it failed at its end."""
        if self.ended:
            return
        self.ended = True
        self._handed.put(None)
        answer = self._answers.get()
        self._thread.join()
        self._raise_if_failed(answer)

    def _batches(self) -> Iterator[pa.RecordBatch]:
        while (chunk := self._handed.get()) is not None:
            yield from chunk.to_batches()
            # The database asks for the next batch once it has read the last one.
            self._answers.put(TAKEN)

    def _execute(self, run: Callable[[pa.RecordBatchReader], Any]) -> None:
        try:
            run(pa.RecordBatchReader.from_batches(self.schema, self._batches()))
        except BaseException as error:  # the answer to the chunk it failed on, or to ``end``
            self._answers.put(error)
        else:
            self._answers.put(TAKEN)

    def _raise_if_failed(self, answer: str | BaseException) -> None:
        if isinstance(answer, BaseException):
            self.ended = True  # its thread is over
            raise answer
