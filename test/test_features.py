"""A backend's ``features`` say what its database does: checked here against the database itself,
so that tests and code may choose by capability instead of by name."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from processor.backends import backend_for


def test_ddl_joins_the_transaction_exactly_where_the_features_say(db, table):
    """A CREATE TABLE rolled back with its transaction is gone where DDL is transactional; where it
    commits the transaction by itself, the table stays."""
    engine = db.engine
    try:
        features = backend_for(engine).features
        with engine.connect() as conn:
            transaction = conn.begin()
            conn.exec_driver_sql(f"CREATE TABLE {db.quote(table)} (n INTEGER)")
            transaction.rollback()
        assert db.exists(table) is (not features.transactional_ddl)
    finally:
        engine.dispose()
        db.drop(table)


def test_one_process_writes_at_a_time_where_the_database_is_a_file(db, table):
    """A single writer is a database in a file of its own, not a server."""
    db.execute(f"CREATE TABLE {db.quote(table)} (n INTEGER)")
    try:
        database = sa.make_url(db.url).database or ""
        in_a_file = Path(database).is_absolute() and Path(database).is_file()
        engine = db.engine
        try:
            assert backend_for(engine).features.single_writer is in_a_file
        finally:
            engine.dispose()
    finally:
        db.drop(table)
