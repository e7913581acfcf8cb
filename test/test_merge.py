"""IF_EXISTS=merge: an upsert on the primary key; a key found twice fails cleanly, naming both files and
lines (issue 19), and for a composite key its columns and values; a table without that key fails.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import Database, load, write
from test_recovery import staging_tables
from test_transform_failures import _env


def _twice(err: str, key: str) -> tuple[str, str]:
    """The two places an error names for a key found twice: (where, found before)."""
    assert err.endswith("; each key may occur once (nothing was published)\n"), err
    where, _, rest = err.removeprefix("error: ").partition(f": PRIMARY_KEY {key} was found before, in ")
    return where, rest.partition(";")[0]


ONE_FILE = {"a.csv": "id,v\n1,a\n2,b\n1,c\n"}
TWO_FILES = {"a.csv": "id,v\n1,a\n2,b\n", "b.csv": "id,v\n3,c\n1,d\n"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("files", "chunk_size", "workers", "places"),
    [
        (ONE_FILE, "1000", "1", {"a.csv: line 2", "a.csv: line 4"}),  # in one chunk
        (ONE_FILE, "1", "1", {"a.csv: line 2", "a.csv: line 4"}),  # the staging table holds the first
        (TWO_FILES, "1000", "1", {"a.csv: line 2", "b.csv: line 3"}),
        (TWO_FILES, "1000", "2", {"a.csv: line 2", "b.csv: line 3"}),  # either may be written first
    ],
)
def test_a_merge_key_found_twice_names_both_files_and_lines(
    db, table, tmp_path, cli, files, chunk_size, workers, places
):
    db.execute(f"CREATE TABLE {db.quote(table)} (id INTEGER PRIMARY KEY, v VARCHAR(10))")
    db.execute(f"INSERT INTO {db.quote(table)} VALUES (9, 'old')")
    for name, text in files.items():
        write(tmp_path / "src", name, text)
    env = {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": db.url,
        "DEST_TABLE": table,
        "IF_EXISTS": "merge",
        "PRIMARY_KEY": "id",
        "CHUNK_SIZE": chunk_size,
        "WORKERS": workers,
    }
    code, out, err = cli([], env)
    assert (code, out) == (4, "")
    assert set(_twice(err, "id = 1")) == places
    assert [(int(r[0]), r[1]) for r in db.rows(table)] == [(9, "old")]


def test_a_composite_key_found_twice_names_its_columns_and_values(tmp_path, cli):
    write(tmp_path / "src", "a.csv", "id,part,v\n1,x,a\n1,y,b\n")
    write(tmp_path / "src", "b.csv", "id,part,v\n2,x,c\n1,y,d\n")
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    env = _env(tmp_path, database, IF_EXISTS="replace", PRIMARY_KEY="id,part")
    code, _, err = cli([], env)
    assert code == 4
    assert _twice(err, "(id, part) = (1, 'y')") == ("b.csv: line 3", "a.csv: line 3")
    assert "t" not in database.tables()


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
