"""INDEXES are on the published table and survive a replace; statistics are refreshed after a load
(issue 10).

Oracles read each database's catalog through its driver: the indexes of the published table and the
statistics the database keeps.
"""

from __future__ import annotations

import pytest
from conftest import SERVERS, Database, load, need_server, write
from test_dryrun import A_CSV, B_CSV, columns_and_indexes

from processor.errors import SchemaError


def test_indexes_are_on_the_published_table_and_survive_a_replace(db, table, tmp_path):
    folder = tmp_path / "data"
    write(folder, "a.csv", A_CSV)
    write(folder, "b.csv", B_CSV)
    expected = {
        f"ix_{table}_zip": (False, ("zip",)),
        f"ix_{table}_day_id": (False, ("day", "id")),
    }
    for if_exists in ("fail", "replace"):
        report = load(folder, db, table, if_exists=if_exists, indexes=(("zip",), ("day", "id")))
        assert report.error is None, report.error
        assert columns_and_indexes(db, table)[1] == expected
        assert sorted(r[0] for r in db.rows(table)) == [1, 2, 3, 4, 5]


def test_an_index_on_a_column_the_header_lacks_fails_before_loading(tmp_path):
    folder = tmp_path / "data"
    write(folder, "a.csv", A_CSV)
    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")

    report = load(folder, db, "t", indexes=(("zip",), ("postcode",)))

    assert isinstance(report.error, SchemaError)
    assert report.exit_code == 4
    assert str(report.error) == "INDEXES names columns the header does not have: 'postcode'"
    assert not db.exists("t")


@pytest.mark.parametrize("name", ["sqlite", "postgresql"])
def test_statistics_are_refreshed_after_the_load(name, table, tmp_path):
    """The statistics tables hold rows for the table only once something analysed it (too
    soon after the load for PostgreSQL's autovacuum)."""
    folder = tmp_path / "data"
    write(folder, "a.csv", A_CSV)
    if name == "sqlite":
        db = Database(name, f"sqlite:///{tmp_path / 'test.db'}")
        query = f"SELECT count(*) FROM sqlite_stat1 WHERE tbl = '{table}'"
    else:
        need_server(name)
        db = Database(name, SERVERS[name])
        query = f"SELECT count(*) FROM pg_stats WHERE tablename = '{table}'"
    try:
        # SQLite keeps statistics of indexed tables only.
        assert load(folder, db, table, indexes=(("zip",),)).error is None
        assert db._query(query).rows_list[0][0] > 0
    finally:
        if name in SERVERS:
            db.drop(table)
