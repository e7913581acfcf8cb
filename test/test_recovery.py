"""Reruns and leftovers: an append skips the files the ledger has loaded, a changed file is refused unless
reloaded, a replace starts a fresh ledger; staging tables a killed run left are removed (by the next
run or --cleanup); hostile names are only names."""

from __future__ import annotations

from conftest import load, write

from processor.errors import SourceError
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
