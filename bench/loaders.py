"""Each database's own bulk loader, run by its command-line client, and its statistics step.

These are the yardsticks: ``psql \\copy``, MariaDB's ``LOAD DATA LOCAL INFILE`` and the sqlite3
shell's ``.import``, file after file, and DuckDB's ``read_csv`` of every file in one statement
(``bench/duckdb_csv.py``, a Python process: there is no DuckDB shell in the project's
requirements), each into a table created beforehand with the importer's planned types.  A gzip
file is decompressed by ``gzip -dc`` into the loader, as a user would pipe it (DuckDB reads it
itself).

The importer ends with the statistics of the table it published (``refresh_statistics`` of its
backends: ``ANALYZE``); ``run_statistics`` is the same statement by the loader's client, so a
loader's figure can be given with and without it.  SQLite's importer analyzes only a table with
indexes, which neither table has, so its loader has no statistics step either.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import URL

DUCKDB_CSV = Path(__file__).resolve().parent / "duckdb_csv.py"

#: What each loader is called in the printed table.
LABELS = {
    "postgresql": "psql \\copy",
    "mysql": "LOAD DATA LOCAL INFILE",
    "mariadb": "LOAD DATA LOCAL INFILE",
    "sqlite": "sqlite3 .import",
    "duckdb": "DuckDB read_csv",
}


def loader_label(url: URL) -> str:
    return LABELS.get(url.get_backend_name(), url.get_backend_name())


def run_loader(url: URL, table: str, files: list[Path]) -> None:
    """Load ``files`` into ``table``, one after another, with the database's own loader."""
    backend = url.get_backend_name()
    if backend == "duckdb":
        _run([sys.executable, str(DUCKDB_CSV), str(url.database), table, *map(str, files)])
        return
    for path in files:
        if backend == "postgresql":
            _run(_psql(url, f"\\copy {table} from {_source(path)} with (format csv, header true)"))
        elif backend in ("mysql", "mariadb"):
            _run(_mariadb(url, _load_data(table, path)), gzip_input=path if path.suffix == ".gz" else None)
        elif backend == "sqlite":
            source = f"'|gzip -dc {path}'" if path.suffix == ".gz" else str(path)
            _run(["sqlite3", str(url.database), f".import --csv --skip 1 {source} {table}"])
        else:
            raise ValueError(f"no bulk loader known for {backend}")


def has_statistics_step(url: URL) -> bool:
    """Whether the importer refreshes the statistics of its table on this database (see above)."""
    return url.get_backend_name() in ("postgresql", "mysql", "mariadb", "duckdb")


def run_statistics(url: URL, table: str) -> None:
    """``ANALYZE`` the loaded table with the loader's client, as the importer does after its publish."""
    backend = url.get_backend_name()
    if backend == "postgresql":
        _run(_psql(url, f"ANALYZE {table}"))
    elif backend in ("mysql", "mariadb"):
        _run(_mariadb(url, f"ANALYZE TABLE {table}"))
    elif backend == "duckdb":
        _run([sys.executable, str(DUCKDB_CSV), "--analyze", str(url.database), table])
    else:
        raise ValueError(f"no statistics step for {backend}")


def _run(command: list[str], gzip_input: Path | None = None) -> None:
    if gzip_input is None:
        subprocess.run(command, check=True, capture_output=True)
        return
    with subprocess.Popen(["gzip", "-dc", str(gzip_input)], stdout=subprocess.PIPE) as unzip:
        subprocess.run(command, check=True, capture_output=True, stdin=unzip.stdout)
    if unzip.returncode:
        raise subprocess.CalledProcessError(unzip.returncode, "gzip -dc")


def _source(path: Path) -> str:
    return f"program 'gzip -dc {path}'" if path.suffix == ".gz" else f"'{path}'"


def _psql(url: URL, command: str) -> list[str]:
    return [
        "psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(url.host), "-p", str(url.port or 5432),
        "-U", str(url.username), "-d", str(url.database), "-c", command,
    ]  # fmt: skip


def _load_data(table: str, path: Path) -> str:
    source = "/dev/stdin" if path.suffix == ".gz" else str(path)
    return (
        f"LOAD DATA LOCAL INFILE '{source}' INTO TABLE {table} CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES"
    )


def _mariadb(url: URL, statement: str) -> list[str]:
    return [
        "mariadb", "--local-infile=1", "-h", str(url.host), "-P", str(url.port or 3306),
        "-u", str(url.username), f"--password={url.password or ''}", str(url.database), "-e", statement,
    ]  # fmt: skip
