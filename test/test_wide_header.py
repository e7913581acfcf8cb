"""A header wider than the database allows (issue 7): one clear error naming the limit, nothing left
behind, on every database; MariaDB's row size limit for text columns.
"""

from __future__ import annotations

import pytest
from conftest import load, write
from test_errors import stages

LIMITS = {"sqlite": 2000, "postgresql": 1600, "mariadb": 1017}


def test_a_header_wider_than_the_database_allows(db, table, tmp_path):
    """A schema error before any row is read: a row with bytes that are not UTF-8, far past the
    header, would otherwise fail the sampling (exit 3)."""
    limit = LIMITS.get(db.name)
    columns = 9074 if db.name in ("sqlite", "duckdb") or limit is None else limit + 1
    header = ",".join(f"column_{i}" for i in range(columns))
    rows = "".join(",".join(str(i) for _ in range(columns)) + "\n" for i in range(20))
    bad = b"\xff" + b",1" * (columns - 1) + b"\n"
    write(tmp_path / "src", "a.csv", header.encode() + b"\n" + rows.encode() + bad)
    report = load(tmp_path / "src", db, table)
    if limit is None:  # DuckDB has no column limit: the run gets as far as the bad bytes
        assert str(report.error) == (
            "a.csv: line 22: bytes not valid utf-8; set SRC_ENCODING to the files' encoding "
            "(it looks like cp1252: SRC_ENCODING=cp1252)"
        )
        return
    dialect = "mysql" if db.name == "mariadb" else db.name
    assert report.exit_code == 4
    assert str(report.error) == (
        f"a.csv: table {table!r} cannot hold the header's {columns:,} columns: "
        f"{dialect} allows at most {limit:,}"
    )
    assert not db.exists(table)
    assert stages(db, table) == []


@pytest.mark.parametrize("db", ["mariadb"], indirect=True)  # InnoDB's row of at most 8,126 bytes
def test_more_text_columns_than_a_mariadb_row_holds(db, table, tmp_path):
    """500 text columns are within MariaDB's column limit, not its row size: a schema error that
    names the table, with nothing created."""
    header = ",".join(f"c{i}" for i in range(500))
    write(tmp_path / "src", "a.csv", header + "\n" + ",".join("x" for _ in range(500)) + "\n")
    report = load(tmp_path / "src", db, table)
    assert report.exit_code == 4
    message = str(report.error)
    assert message.startswith(
        f"table {table!r} cannot be created with the planned 500 columns: mysql refuses"
    )
    assert "(error 1118)" in message
    assert message.endswith("load fewer columns (SRC_COLUMNS)")
    assert not db.exists(table)
    assert stages(db, table) == []
