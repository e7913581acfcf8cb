"""Each database's own bulk loader, run file after file by its command-line client.

These are the yardsticks: ``psql \\copy``, MariaDB's ``LOAD DATA LOCAL INFILE`` and the sqlite3
shell's ``.import``, each into a table created beforehand with the importer's planned types.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy.engine import URL


def loader_commands(url: URL, table: str, files: list[Path]) -> list[list[str]]:
    """One command per file that loads it into ``table`` with the database's own loader."""
    backend = url.get_backend_name()
    if backend == "postgresql":
        return [_psql(url, table, path) for path in files]
    if backend in ("mysql", "mariadb"):
        return [_mariadb(url, table, path) for path in files]
    if backend == "sqlite":
        return [["sqlite3", str(url.database), f".import --csv --skip 1 {path} {table}"] for path in files]
    raise ValueError(f"no bulk loader known for {backend}")


def run_loader(commands: list[list[str]]) -> None:
    for command in commands:
        subprocess.run(command, check=True, capture_output=True)


def _psql(url: URL, table: str, path: Path) -> list[str]:
    copy = f"\\copy {table} from '{path}' with (format csv, header true)"
    return [
        "psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(url.host), "-p", str(url.port or 5432),
        "-U", str(url.username), "-d", str(url.database), "-c", copy,
    ]  # fmt: skip


def _mariadb(url: URL, table: str, path: Path) -> list[str]:
    load = (
        f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE {table} CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES"
    )
    return [
        "mariadb", "--local-infile=1", "-h", str(url.host), "-P", str(url.port or 3306),
        "-u", str(url.username), f"--password={url.password or ''}", str(url.database), "-e", load,
    ]  # fmt: skip
