"""PostgreSQL: binary COPY from Arrow chunks (pgpq), advisory locks,
transactional DDL, SQLSTATE retries."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Dialect, Engine

from processor.backends.base import Backend, Check, Record
from processor.backends.carry import Carried, Dependent, Grant, Index
from processor.backends.chunk import WriteMethod, arrow_of
from processor.backends.features import Features
from processor.backends.locks import LockCheck, lock_key, release, session_check, wait_for
from processor.backends.names import NamedType, formatted, quoted
from processor.backends.postgresql_fields import interval_fields
from processor.backends.postgresql_numeric import numeric_for_copy
from processor.backends.postgresql_types import column_type as pg_column_type
from processor.backends.postgresql_types import money_type, read_columns
from processor.backends.typemap import TypeMap
from processor.backends.writers import ChunkWriter, SessionWriter
from processor.errors import SchemaError, driver_error
from processor.kinds import DECIMAL, ColumnType, Kind, is_bytes_type
from processor.records import TablePlan

# "needed" quotes every string and no number; nulls are unquoted empty fields.  A string is
# therefore never a lone unquoted `\.` line, which would end COPY's data early.  Numbers
# unquoted also save the server a little parsing against "all_valid".
CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="needed")
# psycopg2 sends the buffer in pieces of this size; its default of 8 KiB costs a Python call
# per piece.
COPY_PIECE_BYTES = 1 << 20
# SQLSTATEs after which the server has rolled back: serialization_failure, deadlock_detected,
# lock_not_available.
TRANSIENT = {"40001", "40P01", "55P03"}
# Identifiers hold at most NAMEDATALEN - 1 = 63 bytes.
NAME_BYTES = 63
# NUMERIC holds up to 131072 digits before the point and 16383 after.
NUMERIC_WHOLE_DIGITS, NUMERIC_SCALE = 131072, 16383
NUL = "\x00"
# Drivers built on libpq, which takes client_encoding as a connection parameter.
LIBPQ = {"psycopg2", "psycopg"}
# A table holds at most MaxHeapAttributeNumber columns.
MAX_COLUMNS = 1600
# How the run's sessions and its workers' writing sessions show in pg_stat_activity, unless
# DEST_SQL names an application_name of its own.
APPLICATION = "csv-sql-importer"
WRITER_APPLICATION = "csv-sql-importer-writer"  # no space: libpq URIs do not read "+" as one


class PostgreSQLTypeMap(TypeMap):
    """PostgreSQL's types: NUMERIC is exact up to 131072 digits before the point and 16383
    after; text cannot hold a NUL character;
    an existing column's type is read from the catalogue (``postgresql_types``)."""

    def decimal_type(self, whole_digits: int, scale: int) -> ColumnType | None:
        # Unconstrained NUMERIC keeps each value's own scale: 1.50 stays 1.50, 1.5 stays 1.5.
        return DECIMAL if whole_digits <= NUMERIC_WHOLE_DIGITS and scale <= NUMERIC_SCALE else None

    zoned_timestamps = True  # timestamptz: the instant, shown in the session's zone
    intervals = True  # interval: months, days and microseconds, each signed

    def holds(self, column: ColumnType) -> ColumnType:
        column = super().holds(column)
        if column.kind is Kind.TEXT:
            return replace(
                column,
                forbidden_character=NUL,
                forbidden_what="a NUL character (PostgreSQL text holds none)",
            )
        if column.kind is Kind.DECIMAL and column.precision is None:
            return replace(column, digit_limits=(NUMERIC_WHOLE_DIGITS, NUMERIC_SCALE))
        return column

    def column_type(self, column: ColumnType, key: bool = False) -> sa.types.TypeEngine:
        if column.foreign is not None:  # an existing column's type: the staging column has it too
            # Text from the catalogue, in DDL that psycopg2 formats (a type may be named "a %").
            return NamedType(formatted(self.dialect, column.foreign.sql))
        return super().column_type(column, key)

    def existing_types(self, table: str) -> dict[str, ColumnType]:
        """Each column's type as the catalogue has it (``postgresql_types``): what it holds
        exactly; a column of a type whose values cannot be checked is a SchemaError before
        anything is loaded."""
        with self.backend.engine.connect() as conn:
            columns = read_columns(conn, table)
            money = self._money(conn) if any(c.type_name == "money" for c in columns) else None
        found = {}
        for column in columns:
            held = pg_column_type(column, money)
            if isinstance(held, str):
                raise SchemaError(
                    f"table {table!r}: column {column.name!r} has type {column.sql}, which the importer "
                    f"cannot check before loading: {held}. Nothing was loaded; load the file into a new "
                    "DEST_TABLE (SCHEMA_FILE chooses its types, SRC_COLUMNS picks and renames the file's "
                    "columns) and move the rows with SQL, or change the column's type"
                )
            found[column.name] = replace(self.holds(held), nullable=not column.not_null)
        return found

    @staticmethod
    def _money(conn: Connection) -> ColumnType | None:
        """What a money column holds under the server's lc_monetary: plain decimals, where it reads
        ``1.5`` as one and a half (not 15, as where the point groups thousands); else None."""
        reads, digits = conn.exec_driver_sql(
            "SELECT '1.5'::money::numeric = 1.5, scale('0'::money::numeric)"
        ).one()
        return money_type(digits) if reads else None


class PostgreSQL(Backend):
    """PostgreSQL: quoted names are case-sensitive and counted in bytes; NUMERIC is exact at
    any precision; text cannot hold a NUL character."""

    features = Features(
        alters_column_types=True,
        names_in_bytes=True,
        max_name_length=NAME_BYTES,
        max_columns=MAX_COLUMNS,
        max_parameters=65535,
    )
    types_class = PostgreSQLTypeMap

    @classmethod
    def engine_arguments(cls, url: URL) -> dict[str, Any]:
        if url.get_driver_name() not in LIBPQ:
            return {}
        # The client speaks UTF-8 whatever PGCLIENTENCODING or the server's default says.
        connect_args = {"client_encoding": "utf8"}
        if "application_name" not in url.query:
            connect_args["application_name"] = APPLICATION
        return {"connect_args": connect_args}

    @classmethod
    def schema_url(cls, url: URL, schema: str) -> URL:
        return url

    @classmethod
    def use_schema(cls, engine: Engine, schema: str) -> None:
        """``search_path`` is the schema alone: every name the importer uses resolves there."""
        statement = f"SET search_path TO {quoted(engine.dialect, schema)}"  # sent unformatted

        # First among the listeners, so that SQLAlchemy's own first look (the default schema)
        # sees it; committed, so that no rollback undoes it.
        @event.listens_for(engine, "connect", insert=True)
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            with contextlib.closing(dbapi_connection.cursor()) as cursor:
                cursor.execute(statement)
            dbapi_connection.commit()

    @classmethod
    def worker_url(cls, url: URL) -> URL:
        if "application_name" in url.query:
            return url
        return url.update_query_dict({"application_name": WRITER_APPLICATION})

    def chunk_writer(self, staging: str, plan: TablePlan, isolated: bool = False) -> ChunkWriter:
        """Binary COPY of the Arrow chunk (encoded by pgpq, in Rust: a third of the client's CPU
        that ADBC's driver spent on the same bytes; exact decimals in numeric's own binary form,
        each value with the scale it was written with: ``postgresql_numeric``), except where a
        column is of an existing column's type the importer does not plan (``Foreign``): its
        text goes through CSV COPY, for the column's own type to read it; also without pgpq (the
        ``postgresql`` extra installs it).  Intervals, which pgpq does not encode, go as
        ``interval``'s own binary fields (``postgresql_fields``)."""
        if (
            self.dialect.driver != "psycopg2"
            or any(t.foreign is not None for t in plan.types)
            or not _has_pgpq()
        ):
            return super().chunk_writer(staging, plan, isolated)
        method = WriteMethod(copy_binary, takes_rows=False, label="binary COPY from Arrow (pgpq, psycopg2)")
        cast = functools.partial(_binary_copy_types, plan.types)
        return SessionWriter(self.engine, method, staging, plan.names, cast=cast, hold=True)

    def writer(self) -> WriteMethod:
        if self.dialect.driver == "psycopg2":
            return WriteMethod(copy_csv, takes_rows=False, label="COPY FROM STDIN in CSV (psycopg2)")
        return super().writer()

    @contextlib.contextmanager
    def import_lock(self, table: str, timeout: int) -> Iterator[LockCheck]:
        """A session-level advisory lock (advisory locks are scoped to the database)."""
        key = int.from_bytes(lock_key("", self.fold_table(table))[:8], "big", signed=True)
        with self.engine.connect() as conn:

            def take() -> bool:
                taken = conn.exec_driver_sql("SELECT pg_try_advisory_lock(%s)", (key,)).scalar()
                conn.commit()
                return bool(taken)

            wait_for(take, table, timeout)
            held = (
                "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND pid = pg_backend_pid() AND objsubid = 1"
                " AND ((classid::bigint << 32) | objid::bigint) = %s"
            )
            try:
                yield session_check(conn, table, held, key)
            finally:
                release(conn, "SELECT pg_advisory_unlock(%s)", key)

    # -- replace, delete_rows and table identity -------------------------------------------------

    def _regclass(self, table: str) -> str:
        """``table`` as ``to_regclass`` reads it: quoted, and a parameter's value, not SQL text
        (no ``%`` doubled)."""
        return quoted(self.dialect, table)

    def table_identity(self, conn: Connection, table: str) -> str | None:
        """The table's oid: kept by ALTER TABLE RENAME (and TRUNCATE), new after DROP/CREATE."""
        found = conn.exec_driver_sql("SELECT to_regclass(%s)::oid", (self._regclass(table),)).scalar()
        return None if found is None else str(found)

    def type_change_blockers(self, table: str, columns: Sequence[str]) -> list[str]:
        """Views and rules reading the columns: PostgreSQL changes no type under them."""
        with self.engine.connect() as conn:
            found = conn.exec_driver_sql(TYPE_CHANGE_BLOCKERS, (self._regclass(table), list(columns))).all()
        return [f"view {view} (on {column!r})" for view, column in found]

    def dependents(self, table: str) -> list[Dependent]:
        """What pg_depend says needs the table: views (through their rewrite rule), other tables'
        foreign keys, inheriting tables, functions with SQL-standard bodies."""
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(DEPENDENTS, {"table": self._regclass(table)}).all()
        return [Dependent(kind, name) for kind, name in rows]

    def carried_over(self, table: str, primary_key: Sequence[str] = ()) -> Carried:
        """Indexes as ``pg_get_indexdef`` writes them (expressions, predicates and operator
        classes included), grants from ``aclexplode(relacl)``; constraints, triggers, rules,
        policies, comments, defaults, column grants and a different owner are named as lost."""
        with self.engine.connect() as conn:
            found = conn.exec_driver_sql(INDEXES, {"table": self._regclass(table)}).all()
            grants = conn.exec_driver_sql(GRANTS, {"table": self._regclass(table)}).all()
            lost = [
                str(what)
                for what, columns in conn.exec_driver_sql(LOST, {"table": self._regclass(table)})
                if columns is None or sorted(columns) != sorted(primary_key)
            ]
        indexes = []
        for name, unique, definition, prefix, columns in found:
            if definition.startswith(prefix):
                # Names as the catalog writes them, for exec_driver_sql.
                tail = formatted(self.dialect, definition[len(prefix) :].strip())
                indexes.append(Index(name, unique, tuple(columns), tail))
            else:
                lost.append(f"index {name} ({definition})")
        return Carried(
            indexes=tuple(indexes),
            grants=tuple(
                Grant(privilege, formatted(self.dialect, grantee), grantable)
                for privilege, grantee, grantable in grants
            ),
            lost=tuple(lost),
        )

    def prepare_replace(self, stage: str, carried: Carried) -> None:
        """Build the indexes on the staging table under temporary names (index names are unique
        per schema while the old table keeps its own), so the swap only renames them."""
        with self.engine.begin() as conn:
            for number, index in enumerate(carried.indexes):
                conn.exec_driver_sql(self.index_sql(index, stage, _temporary(stage, number)))

    def finish_indexes(self, conn: Connection, stage: str, target: str, carried: Carried) -> None:
        """The indexes ``prepare_replace`` built: renamed to their names; and the primary key,
        which PostgreSQL named after the staging table, to the name it gives the target's own
        (``<table>_pkey``) where no other index has it."""
        q = self.quote
        for number, index in enumerate(carried.indexes):
            conn.exec_driver_sql(f"ALTER INDEX {q(_temporary(stage, number))} RENAME TO {q(index.name)}")
        wanted = _object_name(target, "pkey")
        found = conn.exec_driver_sql(PRIMARY_KEY, {"table": self._regclass(target), "wanted": wanted}).first()
        if found is not None and found.free:
            conn.exec_driver_sql(f"ALTER TABLE {q(target)} RENAME CONSTRAINT {q(found.name)} TO {q(wanted)}")

    def replace(
        self, stage: str, target: str, carried: Carried, record: Record, check: Check | None = None
    ) -> None:
        q = self.quote
        with self.engine.begin() as conn:
            if check is not None:
                check(conn)
            conn.exec_driver_sql(f"DROP TABLE {q(target)}")
            conn.exec_driver_sql(self.rename_sql(stage, target))
            self.finish_indexes(conn, stage, target, carried)
            for grant in carried.grants:
                option = " WITH GRANT OPTION" if grant.grantable else ""
                conn.exec_driver_sql(f"GRANT {grant.privilege} ON {q(target)} TO {grant.grantee}{option}")
            record(conn, True, target)

    def refresh_statistics(self, table: str) -> None:
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"ANALYZE {self.quote(table)}")

    @classmethod
    def is_transient(cls, error: BaseException) -> bool:
        original = driver_error(error)
        return (getattr(original, "pgcode", None) or getattr(original, "sqlstate", None)) in TRANSIENT


def _object_name(table: str, suffix: str) -> str:
    """The name PostgreSQL gives a table's object by default: ``<table>_<suffix>``, the table's
    part cut (on a character) to fit the 63 bytes of a name."""
    room = NAME_BYTES - len(suffix) - 1
    return f"{table.encode()[:room].decode(errors='ignore')}_{suffix}"


def _temporary(stage: str, number: int) -> str:
    """The name a kept index has on the staging table until the swap renames it."""
    return f"{stage}_i{number}"


# Views (through their _RETURN rule), other tables' foreign keys, inheriting tables and anything
# else pg_depend records as needing the table; not its own rules and constraints.
DEPENDENTS = """
SELECT DISTINCT
  CASE WHEN d.classid = 'pg_rewrite'::regclass
       THEN CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END
       WHEN d.classid = 'pg_constraint'::regclass THEN 'foreign key'
       ELSE 'object' END,
  CASE WHEN d.classid = 'pg_rewrite'::regclass THEN v.oid::regclass::text
       WHEN d.classid = 'pg_constraint'::regclass
       THEN quote_ident(k.conname) || ' of table ' || k.conrelid::regclass::text
       ELSE pg_describe_object(d.classid, d.objid, 0) END
FROM pg_depend d
LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
LEFT JOIN pg_class v ON v.oid = r.ev_class
LEFT JOIN pg_constraint k ON d.classid = 'pg_constraint'::regclass AND k.oid = d.objid
WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = to_regclass(%(table)s)
  AND d.deptype = 'n'
  AND v.oid IS DISTINCT FROM d.refobjid AND k.conrelid IS DISTINCT FROM d.refobjid
ORDER BY 1, 2
"""

# Indexes not made by a constraint: name, unique, definition, the definition's start up to the
# table's name, and the columns they read.
INDEXES = """
SELECT c.relname, i.indisunique, pg_get_indexdef(i.indexrelid),
  'CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' || quote_ident(c.relname)
    || ' ON ' || quote_ident(n.nspname) || '.' || quote_ident(t.relname) || ' ',
  ARRAY(SELECT a.attname FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid
        AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid AND d.refobjsubid > 0
        ORDER BY a.attnum)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE i.indrelid = to_regclass(%(table)s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)
ORDER BY c.relname
"""

# Table privileges, except the new owner's own (implicit).
GRANTS = """
SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,
  a.is_grantable
FROM pg_class c, aclexplode(c.relacl) a
WHERE c.oid = to_regclass(%(table)s) AND a.grantee <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
ORDER BY 2, 1
"""

# The table's primary key, and whether ``wanted`` is free among its schema's relations.
PRIMARY_KEY = """
SELECT k.conname AS name,
       NOT EXISTS (SELECT 1 FROM pg_class c
                   WHERE c.relname = %(wanted)s AND c.relnamespace = k.connamespace) AS free
FROM pg_constraint k
WHERE k.conrelid = to_regclass(%(table)s) AND k.contype = 'p'
"""

# What a replace cannot keep, and for constraints the columns (a primary key the new table also
# has is not lost).
LOST = """
WITH t AS (SELECT to_regclass(%(table)s) AS oid)
SELECT 'constraint ' || quote_ident(k.conname) || ' (' || pg_get_constraintdef(k.oid) || ')',
  CASE WHEN k.contype = 'p' THEN ARRAY(SELECT a.attname::text FROM pg_attribute a
    WHERE a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)) END
FROM pg_constraint k, t WHERE k.conrelid = t.oid
UNION ALL SELECT 'trigger ' || quote_ident(g.tgname), NULL FROM pg_trigger g, t
  WHERE g.tgrelid = t.oid AND NOT g.tgisinternal
UNION ALL SELECT 'rule ' || quote_ident(r.rulename), NULL FROM pg_rewrite r, t WHERE r.ev_class = t.oid
UNION ALL SELECT 'policy ' || quote_ident(p.polname), NULL FROM pg_policy p, t WHERE p.polrelid = t.oid
UNION ALL SELECT 'row level security', NULL FROM pg_class c, t WHERE c.oid = t.oid AND c.relrowsecurity
UNION ALL SELECT 'comment on the table', NULL FROM t WHERE obj_description(t.oid, 'pg_class') IS NOT NULL
UNION ALL SELECT 'comment on column ' || quote_ident(a.attname), NULL FROM pg_attribute a, t
  WHERE a.attrelid = t.oid AND a.attnum > 0 AND col_description(t.oid, a.attnum) IS NOT NULL
UNION ALL SELECT 'default of column ' || quote_ident(a.attname), NULL FROM pg_attrdef d
  JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum, t WHERE d.adrelid = t.oid
UNION ALL SELECT 'privileges on column ' || quote_ident(a.attname), NULL FROM pg_attribute a, t
  WHERE a.attrelid = t.oid AND a.attnum > 0 AND a.attacl IS NOT NULL
UNION ALL SELECT 'owner ' || c.relowner::regrole::text, NULL FROM pg_class c, t
  WHERE c.oid = t.oid AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
"""


def _binary_copy_types(types: Sequence[ColumnType], chunk: pa.Table) -> pa.Table:
    """Dates and timestamps, checked as ISO text, as the Arrow types binary COPY maps to them;
    exact decimals and intervals as their types' binary fields."""
    arrays = list(chunk.columns)
    for i, column in enumerate(types):
        if column.kind is Kind.DECIMAL:
            arrays[i] = numeric_for_copy(arrays[i])
        elif column.kind is Kind.DATE:
            arrays[i] = pc.cast(arrays[i], pa.date32())
        elif column.kind is Kind.INTERVAL:
            arrays[i] = interval_fields(arrays[i])
        elif column.kind is Kind.TIMESTAMP:  # a typed file's have microseconds; zoned: Z (UTC)
            arrays[i] = pc.cast(arrays[i], pa.timestamp("us", "UTC" if column.zoned else None))
    return pa.table(arrays, names=chunk.column_names)


def _csv_types(chunk: pa.Table) -> pa.Table:
    """Bytes and intervals as the text COPY reads into bytea and interval: ``\\x`` and hex
    digits; ``<months> months <days> days <hours>:MM:SS.ffffff`` with every part signed (under
    IntervalStyle sql_standard a leading sign would otherwise carry over to unsigned parts)."""
    for i, field in enumerate(chunk.schema):
        if is_bytes_type(field.type):
            values = chunk.column(i).to_pylist()
            text = pa.array([None if v is None else "\\x" + v.hex() for v in values], pa.string())
            chunk = chunk.set_column(i, field.name, text)
        elif field.type == pa.month_day_nano_interval():
            values = chunk.column(i).to_pylist()
            text = pa.array([None if v is None else interval_text(*v) for v in values], pa.string())
            chunk = chunk.set_column(i, field.name, text)
    return chunk


def interval_text(months: int, days: int, nanoseconds: int) -> str:
    """An interval (whole microseconds) as PostgreSQL reads it exactly, whatever IntervalStyle:
    its own spelling with a sign on every part (ISO 8601's seconds are read as a double)."""
    micros = abs(nanoseconds) // 1000
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, fraction = divmod(rest, 1_000_000)
    sign = "-" if nanoseconds < 0 else "+"
    return f"{months:+d} months {days:+d} days {sign}{hours}:{minutes:02d}:{seconds:02d}.{fraction:06d}"


def copy_csv(pd_table: Any, conn: Any, keys: list[str], data_iter: Iterable[tuple[Any, ...]]) -> int:
    """Load the chunk with one COPY; return the number of rows."""
    arrow = _csv_types(arrow_of(pd_table))
    sink = pa.BufferOutputStream()
    pacsv.write_csv(arrow, sink, CSV_OPTIONS)
    sql = _copy_sql(conn.dialect, pd_table.name, tuple(keys))
    with conn.connection.cursor() as cursor:
        cursor.copy_expert(sql, pa.BufferReader(sink.getvalue()), size=COPY_PIECE_BYTES)
    return arrow.num_rows


@functools.cache
def _has_pgpq() -> bool:
    """Whether pgpq is installed: psycopg2 alone loads through CSV COPY (the report's write path
    says which was used)."""
    try:
        import pgpq  # noqa: F401
    except ImportError:
        return False
    return True


def copy_binary(pd_table: Any, conn: Any, keys: list[str], data_iter: Iterable[tuple[Any, ...]]) -> int:
    """Load the chunk with one binary COPY (its columns as ``_binary_copy_types`` gives them:
    64-bit integers and floats, booleans, dates, timestamps, text, numeric fields); return the
    number of rows.

    pgpq encodes each Arrow type as the PostgreSQL type the staging table has for it, so the
    server reads numbers as the bits they are and text byte for byte (it still checks UTF-8)."""
    from pgpq import ArrowToPostgresBinaryEncoder

    arrow = arrow_of(pd_table)
    encoder = ArrowToPostgresBinaryEncoder(arrow.schema)

    def pieces() -> Iterator[bytes]:
        yield encoder.write_header()
        for batch in arrow.to_batches():
            if piece := encoder.write_batch(batch):  # the encoder may hold a batch's bytes back
                yield piece
        yield encoder.finish()

    sql = _copy_sql(conn.dialect, pd_table.name, tuple(keys), "binary")
    with conn.connection.cursor() as cursor:
        cursor.copy_expert(sql, _Pieces(pieces()))
    return arrow.num_rows


class _Pieces:
    """COPY data as psycopg2 reads it, one non-empty piece per ``read`` (an empty one ends it):
    batches are encoded as they are sent, not all before the first is."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces

    def read(self, size: int = -1) -> bytes:
        return next(self._pieces, b"")


@functools.lru_cache(maxsize=16)
def _copy_sql(dialect: Dialect, table: str, keys: tuple[str, ...], form: str = "csv") -> str:
    # copy_expert sends the statement unformatted: names quoted as the server reads them.
    columns = ", ".join(quoted(dialect, k) for k in keys)
    into = f"{quoted(dialect, table)} ({columns})"
    encoding = ", ENCODING 'UTF8'" if form == "csv" else ""
    return f"COPY {into} FROM STDIN WITH (FORMAT {form}{encoding})"


# The views (their rewrite rules) that read a column of the table, by its name.
TYPE_CHANGE_BLOCKERS = """
SELECT DISTINCT v.oid::regclass::text, a.attname FROM pg_depend d
JOIN pg_rewrite r ON r.oid = d.objid
JOIN pg_class v ON v.oid = r.ev_class
JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = to_regclass(%s) AND a.attname = ANY(%s)
  AND v.oid <> d.refobjid
ORDER BY 1, 2
"""
