"""Reruns, merges, locks and leftovers: the importer is safe to run again, and beside others."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from conftest import load, write

from processor.errors import LockError, SourceError
from processor.kinds import INTEGER
from processor.publish.target import create_staging, staging_name
from processor.records import TablePlan


def staging_tables(db, table):
    prefix = staging_name(table, "")
    return [t for t in db.tables() if t.startswith(prefix)]


def make_leftover(db, table, run_id):
    """A staging table as a run killed with kill -9 leaves it, and its receipts table: their
    names, sorted."""
    backend = db.backend
    leftover = staging_name(table, run_id)
    create_staging(backend, leftover, TablePlan(names=("n",), types=(INTEGER,)), (), table)
    backend.engine.dispose()
    return [leftover, f"{leftover}_chunks"]


def test_append_rerun_skips_loaded_files(db, table, tmp_path):
    src = tmp_path / "src"
    write(src, "a.csv", "n\n1\n2\n")
    first = load(src, db, table, if_exists="append")
    assert first.error is None, first.error
    write(src, "b.csv", "n\n3\n")
    second = load(src, db, table, if_exists="append")
    assert second.error is None, second.error
    assert second.skipped == ["a.csv"]
    assert [f.name for f in second.files] == ["b.csv"]
    third = load(src, db, table, if_exists="append")
    assert third.error is None, third.error
    assert third.skipped == ["a.csv", "b.csv"]
    assert third.files == []
    assert sorted(db.rows(table)) == [(1,), (2,), (3,)]


def test_changed_file_is_refused_unless_reloaded(db, table, tmp_path):
    src = tmp_path / "src"
    write(src, "a.csv", "n\n1\n")
    assert load(src, db, table, if_exists="append").error is None
    write(src, "a.csv", "n\n1\n5\n")
    refused = load(src, db, table, if_exists="append")
    assert isinstance(refused.error, SourceError)
    assert refused.error.exit_code == 3
    assert str(refused.error).startswith(f"a.csv: changed since it was loaded into {table!r} (run ")
    assert str(refused.error).endswith("set RELOAD_CHANGED=true to append it again")
    assert db.rows(table) == [(1,)]
    reloaded = load(src, db, table, if_exists="append", reload_changed=True)
    assert reloaded.error is None, reloaded.error
    assert sorted(db.rows(table)) == [(1,), (1,), (5,)]
    again = load(src, db, table, if_exists="append")
    assert again.error is None
    assert again.skipped == ["a.csv"]


def test_replace_starts_a_fresh_ledger(db, table, tmp_path):
    src = tmp_path / "src"
    write(src, "a.csv", "n\n1\n")
    assert load(src, db, table, if_exists="append").error is None
    write(src, "a.csv", "n\n7\n")
    assert load(src, db, table, if_exists="replace").error is None
    rerun = load(src, db, table, if_exists="append")
    assert rerun.error is None, rerun.error
    assert rerun.skipped == ["a.csv"]
    assert db.rows(table) == [(7,)]


def test_merge_upserts_on_the_primary_key(db, table, tmp_path):
    write(tmp_path / "one", "a.csv", "id,name,score\n001,ann,1\n002,bob,2\n")
    first = load(tmp_path / "one", db, table, if_exists="merge", primary_key=("id",))
    assert first.error is None, first.error
    write(tmp_path / "two", "b.csv", "id,name,score\n002,bobby,20\n003,cy,3\n")
    second = load(tmp_path / "two", db, table, if_exists="merge", primary_key=("id",))
    assert second.error is None, second.error
    assert db.rows(table, order_by="id") == [("001", "ann", 1), ("002", "bobby", 20), ("003", "cy", 3)]
    # The key is the table's primary key: a duplicate insert by someone else is refused.
    with pytest.raises(sa.exc.IntegrityError):
        db.execute(f"INSERT INTO {db.quote(table)} VALUES ('001', 'dup', 9)")


def test_merge_with_a_repeated_key_in_one_run_fails_cleanly(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "id,v\n1,a\n1,b\n")
    report = load(tmp_path / "src", db, table, if_exists="merge", primary_key=("id",))
    assert report.error is not None
    assert report.error.exit_code == 4
    assert str(report.error) == (
        "a.csv: line 3: PRIMARY_KEY id = 1 was found before, in a.csv: line 2; "
        "each key may occur once (nothing was published)"
    )
    assert not db.exists(table)
    assert staging_tables(db, table) == []


def test_leftover_staging_tables_are_removed_by_the_next_run(db, table, tmp_path):
    leftover = make_leftover(db, table, "deadbeef")
    assert sorted(staging_tables(db, table)) == leftover
    write(tmp_path / "src", "a.csv", "n\n1\n")
    report = load(tmp_path / "src", db, table)
    assert report.error is None, report.error
    assert sorted(report.cleaned) == leftover
    assert staging_tables(db, table) == []
    assert db.rows(table) == [(1,)]


def test_cleanup_action_only_removes_leftovers(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    assert load(tmp_path / "src", db, table).error is None
    leftover = make_leftover(db, table, "0badc0de")
    report = load(tmp_path / "src", db, table, cleanup=True)
    assert report.error is None, report.error
    assert sorted(report.cleaned) == leftover
    assert report.files == []
    assert staging_tables(db, table) == []
    assert db.rows(table) == [(1,)]


def test_second_import_into_the_same_table_fails_on_the_lock(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    with db.import_lock(table):
        report = load(tmp_path / "src", db, table)
    assert isinstance(report.error, LockError)
    assert report.error.exit_code == 9
    assert str(report.error) == f"another import into table {table!r} is running (set LOCK_TIMEOUT to wait)"
    assert not db.exists(table)


def test_second_import_waits_for_the_lock_with_a_timeout(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    held = threading.Event()

    def hold_briefly():
        with db.import_lock(table):
            held.set()
            time.sleep(1.0)

    holder = threading.Thread(target=hold_briefly)
    holder.start()
    try:
        held.wait(10)
        report = load(tmp_path / "src", db, table, lock_timeout=20)
    finally:
        holder.join()
    assert report.error is None, report.error
    assert db.rows(table) == [(1,)]


def test_hostile_names_are_only_names(db, table, tmp_path):
    victim = f"{table}_victim"
    db.execute(f"CREATE TABLE {db.quote(victim)} (n INTEGER)")
    db.execute(f"INSERT INTO {db.quote(victim)} VALUES (42)")
    hostile = f'x"; DROP TABLE {victim}; --'
    header = '"' + hostile.replace('"', '""') + '",`b`; DROP TABLE x'
    write(tmp_path / "src", "a.csv", header + "\n1,2\n")
    report = load(tmp_path / "src", db, table)
    assert report.error is None, report.error
    assert db.columns(table) == [hostile, "`b`; DROP TABLE x"]
    assert db.rows(table) == [(1, 2)]
    assert db.rows(victim) == [(42,)]
    db.drop(victim)


def test_cleanup_with_dest_table_needs_no_source_folder(db, table, tmp_path):
    leftover = make_leftover(db, table, "feedface")
    report = load(tmp_path / "no-such-folder", db, table, cleanup=True)
    assert report.error is None, report.error
    assert sorted(report.cleaned) == leftover
    assert staging_tables(db, table) == []


def test_merge_into_a_table_without_that_key_fails(db, table, tmp_path):
    write(tmp_path / "one", "a.csv", "id,v\n1,a\n")
    assert load(tmp_path / "one", db, table).error is None
    write(tmp_path / "two", "b.csv", "id,v\n1,b\n")
    report = load(tmp_path / "two", db, table, if_exists="merge", primary_key=("id",))
    assert report.error is not None
    if db.name == "duckdb":
        # duckdb_engine cannot reflect constraints: DuckDB itself refuses the upsert at publish.
        assert report.error.exit_code == 6
    else:
        assert report.error.exit_code == 4
        assert str(report.error) == (
            f"IF_EXISTS=merge: table {table!r} has no primary key or unique constraint on (id), "
            "so rows cannot be matched"
        )
    assert db.rows(table) == [(1, "a")]
    assert staging_tables(db, table) == []
