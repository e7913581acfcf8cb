"""Each database's own bulk loader, run file after file by its command-line client.

These are the yardsticks: ``psql \\copy``, MariaDB's ``LOAD DATA LOCAL INFILE`` and the sqlite3
shell's ``.import``, each into a table created beforehand with the importer's planned types.  A
gzip file is decompressed by ``gzip -dc`` into the loader, as a user would pipe it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy.engine import URL


def run_loader(url: URL, table: str, files: list[Path]) -> None:
    """Load ``files`` into ``table``, one after another, with the database's own loader."""
    backend = url.get_backend_name()
    for path in files:
        if backend == "postgresql":
            _run(_psql(url, table, path))
        elif backend in ("mysql", "mariadb"):
            _run(_mariadb(url, table, path), gzip_input=path if path.suffix == ".gz" else None)
        elif backend == "sqlite":
            source = f"'|gzip -dc {path}'" if path.suffix == ".gz" else str(path)
            _run(["sqlite3", str(url.database), f".import --csv --skip 1 {source} {table}"])
        else:
            raise ValueError(f"no bulk loader known for {backend}")


def _run(command: list[str], gzip_input: Path | None = None) -> None:
    if gzip_input is None:
        subprocess.run(command, check=True, capture_output=True)
        return
    with subprocess.Popen(["gzip", "-dc", str(gzip_input)], stdout=subprocess.PIPE) as unzip:
        subprocess.run(command, check=True, capture_output=True, stdin=unzip.stdout)
    if unzip.returncode:
        raise subprocess.CalledProcessError(unzip.returncode, "gzip -dc")


def _psql(url: URL, table: str, path: Path) -> list[str]:
    source = f"program 'gzip -dc {path}'" if path.suffix == ".gz" else f"'{path}'"
    copy = f"\\copy {table} from {source} with (format csv, header true)"
    return [
        "psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(url.host), "-p", str(url.port or 5432),
        "-U", str(url.username), "-d", str(url.database), "-c", copy,
    ]  # fmt: skip


def _mariadb(url: URL, table: str, path: Path) -> list[str]:
    source = "/dev/stdin" if path.suffix == ".gz" else str(path)
    load = (
        f"LOAD DATA LOCAL INFILE '{source}' INTO TABLE {table} CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES"
    )
    return [
        "mariadb", "--local-infile=1", "-h", str(url.host), "-P", str(url.port or 3306),
        "-u", str(url.username), f"--password={url.password or ''}", str(url.database), "-e", load,
    ]  # fmt: skip
