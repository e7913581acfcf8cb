"""DuckDB's own CSV loader, run as its own process the way a user runs it from Python:

    python bench/duckdb_csv.py DATABASE TABLE FILE...      INSERT ... SELECT * FROM read_csv
    python bench/duckdb_csv.py --analyze DATABASE TABLE    ANALYZE

The table exists already with the importer's planned types; ``read_csv`` is given those types
(``columns=``) so that it parses each field once into its column's type, with every file in
one statement, which DuckDB reads in parallel on all cores.  It reads ``.gz`` files itself.
Only ``duckdb`` is imported here, so the process's start costs what the module's import costs.
"""

from __future__ import annotations

import sys

import duckdb


def load(database: str, table: str, files: list[str]) -> None:
    with duckdb.connect(database) as conn:
        described = conn.execute(f'DESCRIBE "{table}"').fetchall()
        types = ", ".join(f"{_text(name)}: {_text(kind)}" for name, kind, *_ in described)
        paths = ", ".join(_text(path) for path in files)
        read = f"read_csv([{paths}], header = true, columns = {{{types}}})"
        conn.execute(f'INSERT INTO "{table}" SELECT * FROM {read}')


def _text(value: str) -> str:
    """A SQL string literal: read_csv's arguments are constants, not parameters."""
    return "'" + value.replace("'", "''") + "'"


def analyze(database: str, table: str) -> None:
    with duckdb.connect(database) as conn:
        conn.execute(f'ANALYZE "{table}"')


if __name__ == "__main__":
    if sys.argv[1] == "--analyze":
        analyze(sys.argv[2], sys.argv[3])
    else:
        load(sys.argv[1], sys.argv[2], sys.argv[3:])
