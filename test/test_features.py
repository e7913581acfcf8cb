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


def test_names_are_measured_and_limited_where_the_features_say(db, table):
    """The database itself keeps a column name of ``max_name_length`` units exactly (bytes where
    ``names_in_bytes``: "é" is two of them), and refuses or cuts one a character longer; where
    the features give no limit of their own, a name of 200 characters is kept."""
    features = db.features
    limit = features.max_name_length
    count = 200 if limit is None else limit // 2 if features.names_in_bytes else limit
    db.execute(f"CREATE TABLE {db.quote(table)} ({db.quote('é' * count)} INTEGER)")
    try:
        assert db.columns(table) == ["é" * count]
    finally:
        db.drop(table)
    if limit is None:
        return
    longer = "é" * (count + 1)
    try:
        db.execute(f"CREATE TABLE {db.quote(table)} ({db.quote(longer)} INTEGER)")
    except sa.exc.DBAPIError:
        assert not db.exists(table)
        return
    try:
        assert db.columns(table) != [longer]
    finally:
        db.drop(table)
