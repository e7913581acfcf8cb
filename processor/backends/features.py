"""What a database can do, gathered in one place (as Django's ``DatabaseFeatures``).

The run, the executors and the tests ask a backend's ``features``, never its name: a database
added later says what it can do here, and every branch follows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Features:
    """The capabilities the code branches on; the defaults are a server's."""

    #: An embedded database that one process writes at a time: the pool's workers parse in
    #: parallel and write in turn.
    single_writer: bool = False
    #: DDL joins the transaction (else it commits it): a publish can drop its staging table in it.
    transactional_ddl: bool = True
