"""Real databases for the tests: a SQLite file, DuckDB file, PostgreSQL and MariaDB servers.

The servers are the ones this project's machines run (README, "Running the tests"):
PostgreSQL at 127.0.0.1:5432 (trust auth, database ``test``) and MariaDB at 127.0.0.1:3306
(root, empty password, database ``test``).  TEST_POSTGRES_URL and TEST_MARIADB_URL point
elsewhere.  A server that does not answer skips its tests with the reason, except under
CI=true, where it fails them: CI must never pass by testing less.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import index  # noqa: E402
from processor import RunReport, Settings, run_import  # noqa: E402
from processor.backends import Backend, Features, backend_class, backend_for  # noqa: E402
from processor.backends.database import create_engine  # noqa: E402
from processor.publish.target import staging_name  # noqa: E402
from processor.settings import OPTIONS, parse_url  # noqa: E402

SERVERS = {
    "postgresql": os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    "mariadb": os.environ.get("TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test"),
}
DATABASES = ["sqlite", "duckdb", "postgresql", "mariadb"]
_reachable: dict[str, str | None] = {}


def _server_problem(name: str) -> str | None:
    """None when the server answers, else why not (checked once per session)."""
    if name not in _reachable:
        try:
            engine = create_engine(parse_url(SERVERS[name]))
            with engine.connect():
                pass
            engine.dispose()
            _reachable[name] = None
        except Exception as error:
            _reachable[name] = f"{name} at {SERVERS[name]} is not reachable: {str(error).splitlines()[0]}"
    return _reachable[name]


@dataclass(frozen=True)
class Fetched:
    """A query's column names and rows, read before its connection was given back."""

    keys_list: list[str]
    rows_list: list[tuple[Any, ...]]


@dataclass
class Database:
    """One test database: its URL, and helpers to read back what the importer wrote."""

    name: str
    url: str

    @property
    def engine(self) -> sa.Engine:
        return create_engine(parse_url(self.url))

    @property
    def backend(self) -> Backend:
        """The importer's backend for this database, on an engine of its own (dispose it)."""
        return backend_for(self.engine)

    @property
    def features(self) -> Features:
        """What the database can do (its backend's flags): a test of a capability asks this, not the name."""
        return backend_class(parse_url(self.url).get_backend_name()).features

    def _query(self, sql: str) -> Fetched:
        engine = self.engine
        try:
            with engine.connect() as conn:
                result = conn.exec_driver_sql(sql)
                return Fetched(list(result.keys()), [tuple(r) for r in result])
        finally:
            engine.dispose()

    def quote(self, name: str) -> str:
        engine = self.engine
        try:
            return engine.dialect.identifier_preparer.quote(name)
        finally:
            engine.dispose()

    def rows(self, table: str, order_by: str | None = None) -> list[tuple[Any, ...]]:
        """The table's rows as the driver returns them (no SQLAlchemy type processing)."""
        sql = f"SELECT * FROM {self.quote(table)}"
        if order_by is not None:
            sql += f" ORDER BY {self.quote(order_by)}"
        return self._query(sql).rows_list

    def columns(self, table: str) -> list[str]:
        return self._query(f"SELECT * FROM {self.quote(table)} WHERE 1 = 0").keys_list

    def tables(self) -> set[str]:
        engine = self.engine
        try:
            return set(sa.inspect(engine).get_table_names())
        finally:
            engine.dispose()

    def exists(self, table: str) -> bool:
        return table in self.tables()

    def execute(self, sql: str) -> None:
        engine = self.engine
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(sql)
        finally:
            engine.dispose()

    @contextlib.contextmanager
    def import_lock(self, table: str) -> Iterator[None]:
        """Hold the importer's own lock on ``table``, as another import into it would."""
        engine = self.engine
        try:
            with backend_for(engine).import_lock(table, timeout=0):
                yield
        finally:
            engine.dispose()

    def drop(self, table: str) -> None:
        engine = self.engine
        try:
            with engine.begin() as conn:
                sa.Table(table, sa.MetaData(), quote=True).drop(conn, checkfirst=True)
        finally:
            engine.dispose()


@pytest.fixture(params=DATABASES)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """Each test that takes ``db`` runs once per database."""
    name = request.param
    if name == "sqlite":
        yield Database(name, f"sqlite:///{tmp_path / 'test.db'}")
        return
    if name == "duckdb":
        yield Database(name, f"duckdb:///{tmp_path / 'test.duckdb'}")
        return
    need_server(name)
    yield Database(name, SERVERS[name])


# DuckDB opens its file in about 20 ms (the importer opens it a dozen times a run, DuckDB's own
# cost, not the test's), which makes the DuckDB case of a ``db`` test the slowest of its four.
# The fast subset (-m "not slow") keeps it in these files, which cover DuckDB's own code (the
# load, replace and append, the merge, the API's failures), beside the DuckDB-only files; in the
# others it is marked slow: SQLite, the other embedded file database, runs the same behaviour
# there, and the whole suite (CI) still runs every case.
DUCKDB_IN_FAST_SUBSET = {"test_contract.py", "test_api.py", "test_merge.py", "test_type_widening.py"}
# Files whose ``db`` tests are about where the bytes come from (a pipe, an object store), not about
# the database: their SQLite case stays in the fast subset, the servers' cases run in the whole suite.
SQLITE_ONLY_IN_FAST_SUBSET = {"test_pipe_source.py", "test_pipe_archive.py", "test_object_storage.py"}


@pytest.hookimpl(tryfirst=True)  # before -m "not slow" deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        db = callspec.params.get("db") if callspec is not None else None
        duckdb_elsewhere = db == "duckdb" and item.path.name not in DUCKDB_IN_FAST_SUBSET
        a_server = db not in (None, "sqlite", "duckdb") and item.path.name in SQLITE_ONLY_IN_FAST_SUBSET
        if duckdb_elsewhere or a_server:
            item.add_marker(pytest.mark.slow)


def need_server(name: str) -> None:
    """Go on only if the server ``name`` answers."""
    problem = _server_problem(name)
    if problem:
        unavailable(problem)


def unavailable(reason: str) -> NoReturn:
    """Something a test needs is missing: skip it, except under CI=true, where it fails."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: what a test needs must be there)")
    pytest.skip(reason)


@pytest.fixture
def table(request: pytest.FixtureRequest) -> Iterator[str]:
    """A table name no other test uses; on the servers it is dropped afterwards, with its staging tables."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    yield name
    if "db" in request.fixturenames:
        database: Database = request.getfixturevalue("db")
        if database.name in SERVERS:
            leftovers = {t for t in database.tables() if t == name or t.startswith(staging_name(name, ""))}
            for leftover in leftovers:
                database.drop(leftover)


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Run ``python index.py`` in-process from an empty working directory; restore logging after."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)

    def run(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
        code = index.main(argv, {"LOG_LEVEL": "WARNING", "WORKERS": "1", **env})
        out, err = capsys.readouterr()
        return code, out, err

    yield run
    root.handlers[:], root.level = saved


def user_env(**settings: str) -> dict[str, str]:
    """The environment without any of the importer's settings, plus ``settings``."""
    names = {option.env for option in OPTIONS}
    env = {k: v for k, v in os.environ.items() if k not in names}
    return {**env, **settings}


def write(folder: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    """Write a source file below ``folder`` (creating sub-folders), text or raw bytes."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode(encoding)
    path.write_bytes(content)
    return path


def settings(folder: Path, db: Database, table: str, **overrides: Any) -> Settings:
    """Settings for a test run: one worker unless told otherwise, rejects under the folder."""
    values: dict[str, Any] = {
        "src_data_folder": folder,
        "src_file_name": "**/*.csv",
        "dest_sql": db.url,
        "dest_table": table,
        "workers": 1,
        "rejects_path": folder.parent / f"{table}.rejects.csv",
    }
    values.update(overrides)
    return Settings(**values)


def parts_read(monkeypatch: pytest.MonkeyPatch, format_class: Any) -> list[int]:
    """The index of each part ``format_class`` reads in this process (all of them with one
    worker), as its ``read_batches`` is called."""
    read: list[int] = []
    reader = format_class.read_batches

    def spy(self: Any, source: Any, fmt: Any, request: Any) -> Any:
        read.append(request.part.index)
        return reader(self, source, fmt, request)

    monkeypatch.setattr(format_class, "read_batches", spy)
    return read


def load(folder: Path, db: Database, table: str, **overrides: Any) -> RunReport:
    """Run the importer in-process and return its report (errors are in ``report.error``)."""
    return run_import(settings(folder, db, table, **overrides))


def csv_text(header: list[str], rows: list[list[str]], terminator: str = "\n") -> str:
    """A CSV file's text as a careful writer makes it: a field is quoted when it holds a comma, a
    quote or any line-break character.  (Python's csv.writer quotes only the characters of its own
    line terminator, so with "\n" it leaves a lone "\r" bare, which every CSV reader takes for a
    line break.)  A row of one empty field is written ``""``, or it would be a blank line."""

    def field(value: str) -> str:
        if any(c in value for c in ',"\r\n'):
            return '"' + value.replace('"', '""') + '"'
        return value

    return "".join(
        ('""' if row == [""] else ",".join(field(value) for value in row)) + terminator
        for row in [header, *rows]
    )


def one_value_per_row(
    cases: list[list[tuple[str, str | None]]],
) -> tuple[list[list[str]], dict[int, tuple[int, str, str | None]]]:
    """Rows ``k, v0, v1, ...`` that each hold one case's value (the other columns empty), from
    each column's (value, expected) pairs; each key's (column position, value, expected)."""
    rows: list[list[str]] = []
    expected: dict[int, tuple[int, str, str | None]] = {}
    for position, values in enumerate(cases):
        for value, text in values:
            row = [""] * len(cases)
            row[position] = value
            expected[len(rows) + 1] = (position, value, text)
            rows.append([str(len(rows) + 1), *row])
    return rows, expected
