"""One validated ``Settings`` value, built from the environment and command-line flags.

Every setting is an environment variable and the matching ``--flag`` (a flag wins).  Values are
checked here, once, at the edge: the engine behind it never reads the environment, and every
message names the variable a user has to change.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import os
import re
import sys
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

from processor.cpus import available_cpus
from processor.env_file import EnvFile, read_env_file
from processor.errors import EXIT_STATUSES, ConfigError
from processor.masking import mask_url_text, notify_secrets, shown_notify_url, shown_url, url_secrets
from processor.package import ShowVersion, install_hint
from processor.records import (
    ON_MISSING_CHOICES,
    ON_NEW_CHOICES,
    ON_TYPE_CHANGE_CHOICES,
    SCHEMA_QUERY,
    DryRunOptions,
    IfExists,
    LoadOptions,
    PlanOptions,
    PublishOptions,
)
from processor.sources.pipe import check_pipe_settings, reads_stdin
from processor.sources.remote import is_url
from processor.sources.remote import shown_url as shown_source
from processor.sources.remote import url_secrets as source_secrets

# SQLAlchemy, the schema file's types and TRANSFORM's pandas are imported where a value is
# parsed, not here: ``--help`` builds the parser from this module and must import none of them.
if TYPE_CHECKING:
    from sqlalchemy.engine import URL

    from processor.kinds import Spelling
    from processor.records import SchemaFile

IF_EXISTS_CHOICES = tuple(IfExists)
QUOTING_CHOICES = ("csv", "none")
LOG_FORMAT_CHOICES = ("text", "json")
LOG_LEVEL_CHOICES = ("DEBUG", "INFO", "WARNING", "ERROR")
EXECUTOR_CHOICES = ("pool", "dask")
# Rows per chunk.  On 94-column rows of ~1.2 KB, 5,000 rows keep every process near 215-235 MB
# at its peak, for a 20 MB file as for a 2 GB one (20,000 reached ~330 MB), and load as fast:
# a chunk costs one statement.  Arrow's allocator keeps freed pages for the next chunk; making
# it return them at once (jemalloc, decay 0) saved ~30 MB but cost 3.5 s of page faults per
# 400,000 rows.
DEFAULT_CHUNK_SIZE = 5_000
DEFAULT_SAMPLE_ROWS = 10_000
# A file larger than this is loaded as several tasks.  128 MiB is a few seconds of one worker's
# time (about 25-35 MB/s on EPC-like rows), long enough that a task's fixed cost is small, short
# enough that a 10 GB file is 80 tasks for a cluster's workers to share.
DEFAULT_SPLIT_BYTES = 128 << 20
SIZE_UNITS = {"": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20}
SIZE_UNITS |= {"mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}
# SRC_DECIMAL's values: the character before a number's decimals.
DECIMAL_MARKS = (".", ",")
# The directives a date (timestamp) format is made of, each once; anything else in it is literal
# text.  No two-digit years (the century would be a guess), no month names (the locale's).
DATE_DIRECTIVES = ("%d", "%m", "%Y")
TIMESTAMP_DIRECTIVES = (*DATE_DIRECTIVES, "%H", "%M", "%S")

# URL schemes as users write them, mapped to the drivers this project installs (SQLAlchemy
# 2.1 would otherwise pick psycopg 3 for postgresql://).
SCHEME_ALIASES = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "mysql": "mysql+mysqldb",
    "mariadb": "mariadb+mysqldb",
}


@dataclass(frozen=True)
class Settings:
    """Everything one run needs; see README.md for each setting's meaning."""

    #: A local folder or archive (a Path), or a URL that fsspec reads (a str: ``s3://bucket/prefix``).
    src_data_folder: Path | str = Path("data")
    src_file_name: str = "**/*.csv"
    dest_sql: str = "sqlite:///import.db"
    #: The file DEST_SQL was read from (DEST_SQL_FILE, read by load_settings), so that no process
    #: list shows the URL.
    dest_sql_file: Path | None = None
    dest_table: str | None = None
    #: The schema (MySQL/MariaDB: database) of the table, its staging tables and the ledger.
    dest_schema: str | None = None
    if_exists: IfExists = IfExists.FAIL
    workers: int = field(default_factory=lambda: available_cpus())
    chunk_size: int = DEFAULT_CHUNK_SIZE
    sample_rows: int = DEFAULT_SAMPLE_ROWS
    src_delimiter: str | None = None
    #: Whether each file's first line names the columns (SRC_HEADER=false: SRC_COLUMNS or SCHEMA_FILE does).
    src_header: bool = True
    src_columns: tuple[str, ...] = ()
    src_path_column: str | None = None
    #: A column some files have and the table (or the first file) lacks: fail, add or ignore.
    on_new_columns: str = "fail"
    #: A column of the table (or of the first file) that a file lacks: fail, or null.
    on_missing_columns: str = "fail"
    #: An existing column whose sampled values it cannot hold: fail (rejected rows), or widen.
    on_type_change: str = "fail"
    transform: str | None = None
    schema_file: SchemaFile | None = None
    write_schema: Path | None = None
    src_quoting: str = "csv"
    src_encoding: str = "utf-8"
    #: The character before a number's decimals in the files: "." or "," (SRC_DECIMAL).
    src_decimal: str = "."
    #: How the files write dates and timestamps (strftime formats); None: ISO.
    src_date_format: str | None = None
    src_timestamp_format: str | None = None
    na_values: tuple[str, ...] = ()
    max_errors: int = 0
    #: replace and delete_rows refuse to leave fewer rows than this fraction of the table's (0: never).
    max_shrink: float = 0.5
    rejects_path: Path | None = None
    report_path: Path | None = None
    log_format: str = "text"
    log_level: str = "INFO"
    executor: str = "pool"
    dask_scheduler: str | None = None
    max_connections: int | None = None
    split_bytes: int = DEFAULT_SPLIT_BYTES
    primary_key: tuple[str, ...] = ()
    reload_changed: bool = False
    lock_timeout: int = 0
    #: Column lists, each indexed on the new table before it is published (INDEXES).
    indexes: tuple[tuple[str, ...], ...] = ()
    #: Plan and show the plan, but write nothing to the database (DRY_RUN, --dry-run).
    dry_run: bool = False
    progress_seconds: float = 10.0
    notify_url: str | None = None
    runs_table: str | None = None
    verbose: bool = False
    quiet: bool = False
    cleanup: bool = False
    #: The --env-file the settings were read from too, and its lines.
    env_file: EnvFile | None = None
    #: Draw the live progress bar when stderr is a terminal: the command does; the Python API
    #: only when asked (a library does not draw on its caller's terminal).
    progress_bar: bool = True
    #: The Python API's binary file object read in place of standard input (SRC_DATA_FOLDER=-);
    #: no variable sets it.
    src_stream: IO[bytes] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.if_exists, IfExists):  # text, as IF_EXISTS or a Python caller gives it
            parsed = IfExists(_choice(IF_EXISTS_CHOICES)("IF_EXISTS", self.if_exists))
            object.__setattr__(self, "if_exists", parsed)
        if self.if_exists.upserts and not self.key:
            raise ConfigError("IF_EXISTS=merge needs PRIMARY_KEY (the key column or columns)")
        if self.dry_run and self.cleanup:
            raise ConfigError("--cleanup drops tables, which DRY_RUN never does; a dry run alone names them")
        if not self.src_header and not self.src_columns and self.schema_file is None:
            raise ConfigError(
                "SRC_HEADER=false needs the columns' names: SRC_COLUMNS (every column, in file order) "
                "or SCHEMA_FILE"
            )
        if self.dask_scheduler and self.executor != "dask":
            raise ConfigError("DASK_SCHEDULER is set, but EXECUTOR is not dask; set EXECUTOR=dask")
        if self.src_decimal == "," and self.src_delimiter == ",":
            raise ConfigError(
                "SRC_DECIMAL=, needs another field delimiter than ',': set SRC_DELIMITER (e.g. ;)"
            )
        if self.from_stdin:
            check_pipe_settings(self.src_file_name, self.dask_scheduler)

    @property
    def spelling(self) -> Spelling:
        """How the files write numbers and dates (SRC_DECIMAL, SRC_DATE_FORMAT, SRC_TIMESTAMP_FORMAT)."""
        from processor.kinds import Spelling  # Arrow's: not for --help

        return Spelling(self.src_decimal, self.src_date_format, self.src_timestamp_format)

    @property
    def from_stdin(self) -> bool:
        """The one file to import is piped to standard input (SRC_DATA_FOLDER=-)."""
        return reads_stdin(self.src_data_folder)

    @property
    def key(self) -> tuple[str, ...]:
        """The primary key: PRIMARY_KEY, else SCHEMA_FILE's."""
        return self.primary_key or (self.schema_file.primary_key if self.schema_file else ())

    @property
    def url(self) -> URL:
        """DEST_SQL parsed, with the user's scheme aliases resolved, and DEST_SCHEMA for every
        engine made from it, in any process (``database.create_engine``)."""
        url = parse_url(self.dest_sql)
        return url if self.dest_schema is None else url.update_query_dict({SCHEMA_QUERY: self.dest_schema})

    @property
    def masked_url(self) -> str:
        """DEST_SQL as it may be shown: its secrets replaced by ``***``, wherever they occur."""
        return shown_url(parse_url(self.dest_sql))

    @property
    def secrets(self) -> tuple[str, ...]:
        """DEST_SQL's password and secret parameters, and NOTIFY_URL's password and everything
        after its host, which no output may show."""
        try:
            found = url_secrets(self.url, self.dest_sql)
        except ConfigError:
            found = ()
        source = self.src_data_folder
        found += source_secrets(source) if isinstance(source, str) and is_url(source) else ()
        return found + (notify_secrets(self.notify_url) if self.notify_url else ())

    @property
    def shown_source(self) -> str | None:
        """SRC_DATA_FOLDER where it is a URL, as it may be shown (its password and query as
        ``***``); None where it is a local path."""
        source = self.src_data_folder
        return shown_source(source) if isinstance(source, str) and is_url(source) else None

    def shown(self) -> dict[str, Any]:
        """Every setting as the report shows it, by its variable's name; DEST_SQL and NOTIFY_URL
        without their secrets."""
        values = {option.env: getattr(self, option.attr) for option in OPTIONS}
        values |= {"VERBOSE": self.verbose, "QUIET": self.quiet, "CLEANUP": self.cleanup}
        if self.env_file is not None:
            values["ENV_FILE"] = self.env_file.path
        values["DEST_SQL"] = self.masked_url
        values["SRC_DATA_FOLDER"] = self.shown_source or self.src_data_folder
        if self.notify_url is not None:
            values["NOTIFY_URL"] = shown_notify_url(self.notify_url)
        return {name: _plain(value) for name, value in values.items()}

    def resolved_rejects_path(self, table: str) -> Path:
        """Where rejected rows go: REJECTS_PATH, else beside the report, else ``<table>.rejects.csv``."""
        if self.rejects_path is not None:
            return self.rejects_path
        if self.report_path is not None:
            return self.report_path.with_name(self.report_path.stem + ".rejects.csv")
        return Path(f"{table}.rejects.csv")

    def plan_options(self) -> PlanOptions:
        """What the plan reads of these settings."""
        return PlanOptions(
            if_exists=self.if_exists,
            key=self.key,
            indexes=self.indexes,
            sample_rows=self.sample_rows,
            split_bytes=self.split_bytes,
            transform=self.transform,
            schema_file=self.schema_file,
            write_schema=self.write_schema,
            src_columns=self.src_columns,
            src_path_column=self.src_path_column,
            on_new_columns=self.on_new_columns,
            on_missing_columns=self.on_missing_columns,
            on_type_change=self.on_type_change,
            reload_changed=self.reload_changed,
            dry_run=self.dry_run,
            masked_url=self.masked_url,
            spelling=self.spelling,
        )

    def load_options(self, table: str) -> LoadOptions:
        """What the load into a staging table for ``table`` reads of these settings."""
        return LoadOptions(
            chunk_size=self.chunk_size,
            max_errors=self.max_errors,
            split_bytes=self.split_bytes,
            transform=self.transform,
            key=self.key,
            sample_rows=self.sample_rows,
            quiet=self.quiet,
            log_format=self.log_format,
            progress_bar=self.progress_bar,
            progress_seconds=self.progress_seconds,
            rejects_path=self.resolved_rejects_path(table),
            secrets=self.secrets,
        )

    def publish_options(self) -> PublishOptions:
        """What the publish reads of these settings."""
        return PublishOptions(
            if_exists=self.if_exists, key=self.key, indexes=self.indexes, max_shrink=self.max_shrink
        )

    def dry_run_options(self) -> DryRunOptions:
        """What the dry run's account reads of these settings."""
        return DryRunOptions(
            url=self.url,
            masked_url=self.masked_url,
            shown_source=self.shown_source,
            if_exists=self.if_exists,
            key=self.key,
            indexes=self.indexes,
            max_shrink=self.max_shrink,
            env_file=self.env_file,
            secrets=self.secrets,
            spelling=self.spelling,
            from_stdin=self.from_stdin,
        )


def _plain(value: Any) -> Any:
    """A setting's value as JSON holds it."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, IfExists):
        return value.value
    from processor.records import SchemaFile  # as the run has it: the report comes after the parse

    if isinstance(value, SchemaFile):  # the file's name, as it was set
        return value.path
    return value


def parse_url(text: str, name: str = "DEST_SQL") -> URL:
    """Parse a SQLAlchemy URL, accepting ``postgres://`` and ``mysql://`` as users write them."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ConfigError(f"{name} is not a database URL: {mask_url_text(text)!r}") from None
    if url.host and "@" in url.host:  # the password's own "@", unencoded: the rest would show as the host
        raise ConfigError(f"{name}: an @ in the password must be written %40: {mask_url_text(text)!r}")
    return url.set(drivername=SCHEME_ALIASES.get(url.drivername, url.drivername))


def _positive_int(name: str, text: str) -> int:
    return _int_at_least(name, text, 1, "a positive integer")


def _non_negative_int(name: str, text: str) -> int:
    return _int_at_least(name, text, 0, "a whole number, 0 or more")


def _int_at_least(name: str, text: str, low: int, what: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise ConfigError(f"{name} must be {what}, got {text!r}") from None
    if value < low:
        raise ConfigError(f"{name} must be {what}, got {text!r}")
    return value


def _choice(choices: Sequence[str], upper: bool = False) -> Callable[[str, str], str]:
    def parse(name: str, text: str) -> str:
        value = text.upper() if upper else text.lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {text!r}")
        return value

    return parse


def _positive_seconds(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise ConfigError(f"{name} must be a positive number of seconds, got {text!r}")
    return value


def _size(name: str, text: str) -> int:
    """A number of bytes, with an optional unit: ``134217728``, ``128MiB``, ``1G``."""
    number = text.replace(" ", "").replace("_", "").lower()
    digits = number.rstrip("kmgib")
    unit = SIZE_UNITS.get(number[len(digits) :].strip())
    if not digits.isdigit() or unit is None or int(digits) == 0:
        raise ConfigError(f"{name} must be a positive number of bytes (134217728, 128MiB), got {text!r}")
    return int(digits) * unit


def _address(name: str, text: str) -> str:
    """A Dask scheduler's address: ``tcp://host:port`` (or another protocol Dask speaks)."""
    scheme, _, rest = text.strip().rpartition("://")
    if not rest or ":" not in rest:
        raise ConfigError(f"{name} must be a scheduler address such as tcp://scheduler:8786, got {text!r}")
    return f"{scheme or 'tcp'}://{rest}"


def _delimiter(name: str, text: str) -> str:
    value = {"\\t": "\t", "tab": "\t"}.get(text.lower(), text)
    if len(value) != 1 or value in '\r\n"':
        raise ConfigError(f"{name} must be one character (or \\t for tab), got {text!r}")
    return value


def _encoding(name: str, text: str) -> str:
    try:
        found = codecs.lookup(text).name
    except LookupError:
        raise ConfigError(f"{name} names an unknown encoding: {text!r}") from None
    try:
        "".encode(found)  # Python's codecs also hold bytes-to-bytes ones (base64, rot13)
    except LookupError:
        raise ConfigError(f"{name} names no text encoding: {text!r} (a bytes-to-bytes codec)") from None
    return found


def _url(name: str, text: str) -> str:
    """A URL whose scheme names a dialect and a driver that are installed (checked before any work)."""
    from sqlalchemy.exc import NoSuchModuleError

    url = parse_url(text, name)
    try:
        url.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise ConfigError(f"{name} names an unknown database scheme: {url.drivername!r}") from None
    except ModuleNotFoundError as error:
        raise ConfigError(
            f"{name} scheme {url.drivername!r} needs the Python package {error.name!r}, "
            f"which is not installed{install_hint(error.name)}"
        ) from None
    return text


def _http_url(name: str, text: str) -> str:
    """An http:// or https:// URL with a host (where the run report is POSTed)."""
    parts = urllib.parse.urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http:// or https:// URL, got {shown_notify_url(text)!r}")
    return text.strip()


def _fraction(name: str, text: str) -> float:
    """A fraction from 0 to 1 (MAX_SHRINK)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise ConfigError(f"{name} must be a fraction from 0 to 1 (0 turns the check off), got {text!r}")
    return value


def check_format(fmt: str, directives: tuple[str, ...]) -> bool:
    """Whether ``fmt`` is a date or timestamp format of each of ``directives`` once, and of no
    other directive (the rest is literal text)."""
    found = re.findall(r"%.?", fmt)
    return sorted(found) == sorted(directives)


def _decimal_mark(name: str, text: str) -> str:
    if text not in DECIMAL_MARKS:
        raise ConfigError(f"{name} must be . or , (the character before a number's decimals), got {text!r}")
    return text


def _date_format(name: str, text: str) -> str:
    if not check_format(text, DATE_DIRECTIVES):
        raise ConfigError(
            f"{name} must hold %d, %m and %Y once each and no other % directive (e.g. %d/%m/%Y), got {text!r}"
        )
    return text


def _timestamp_format(name: str, text: str) -> str:
    if not check_format(text, TIMESTAMP_DIRECTIVES):
        raise ConfigError(
            f"{name} must hold %d, %m, %Y, %H, %M and %S once each and no other % directive "
            f"(e.g. %d/%m/%Y %H:%M:%S), got {text!r}"
        )
    return text


def _na_values(name: str, text: str) -> tuple[str, ...]:
    return tuple(value for value in text.split(",") if value != "")


def _table(name: str, text: str) -> str:
    if not text.strip():
        raise ConfigError(f"{name} must not be empty")
    return text


def _columns(name: str, text: str) -> tuple[str, ...]:
    columns = tuple(part.strip() for part in text.split(","))
    if not all(columns):
        raise ConfigError(f"{name} must be column names separated by commas, got {text!r}")
    return columns


def _indexes(name: str, text: str) -> tuple[tuple[str, ...], ...]:
    """``col[,col...][;col...]``: one index per ``;``-separated part, on its comma-separated columns."""
    return tuple(_columns(name, part) for part in text.split(";"))


def _selection(name: str, text: str) -> tuple[str, ...]:
    """SRC_COLUMNS: ``a,b:new_b`` -- header names, each optionally renamed ``old:new``."""
    columns = tuple(part.strip() for part in text.split(","))
    # A name may hold ":" (``:name``): each entry is matched to the header first (columns.py).
    if not all(columns):
        raise ConfigError(f"{name} must be column names (or old:new) separated by commas, got {text!r}")
    return columns


def _transform(name: str, text: str) -> str:
    """TRANSFORM: ``module:function`` or ``file.py:function``, loaded now to fail before any work."""
    from processor.load.transform import load_transform

    load_transform(text.strip())
    return text.strip()


def _boolean(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {text!r}")


def _text(name: str, text: str) -> str:
    return text


def _path(name: str, text: str) -> Path:
    return Path(text)


def _source(name: str, text: str) -> Path | str:
    """A local folder or archive, or a URL (``s3://``, ``https://``: kept as written, as a path
    would fold its ``//``)."""
    return text if is_url(text) else Path(text)


def _schema_file(name: str, text: str) -> SchemaFile:
    from processor.plan.schema_file import read_schema_file

    return read_schema_file(Path(text))


@dataclass(frozen=True)
class Option:
    """One setting: its environment variable, how to parse it, and its help text."""

    env: str
    parse: Callable[[str, str], Any]
    help: str
    #: The default as ``--help`` states it, where the Settings field's value does not say it.
    default: str | None = None
    #: A flag without a value (``--dry-run``); its environment variable is true or false.
    switch: bool = False

    @property
    def attr(self) -> str:
        return self.env.lower()

    @property
    def flag(self) -> str:
        return "--" + self.env.lower().replace("_", "-")


OPTIONS = (
    Option(
        "SRC_DATA_FOLDER",
        _source,
        "folder (or archive) to search for source files; a URL: s3://bucket/prefix, "
        "https://host/file.csv; or -: one file piped to stdin, named by SRC_FILE_NAME",
    ),
    Option(
        "SRC_FILE_NAME",
        _text,
        "glob below the folder; ** recurses; .gz .bz2 .xz .zst .zip are read compressed",
    ),
    Option("DEST_SQL", _url, "SQLAlchemy database URL (postgres:// and mysql:// accepted)"),
    Option(
        "DEST_SQL_FILE",
        _path,
        "a file holding DEST_SQL (a mounted secret; one trailing newline is ignored)",
        "none",
    ),
    Option("DEST_TABLE", _table, "target table", "the matched files' common name stem"),
    Option(
        "DEST_SCHEMA",
        _table,
        "schema of the table, its staging tables and the ledger (MySQL/MariaDB: database)",
        "the connection's default",
    ),
    Option(
        "IF_EXISTS",
        _choice(IF_EXISTS_CHOICES),
        "fail, replace (atomic swap), append (skips files already loaded), merge (upsert on PRIMARY_KEY) "
        "or delete_rows (empty and refill the table in one transaction)",
    ),
    Option("PRIMARY_KEY", _columns, "key column(s) for IF_EXISTS=merge, comma separated"),
    Option(
        "RELOAD_CHANGED", _boolean, "with append: load a file again although it changed since it was loaded"
    ),
    Option("LOCK_TIMEOUT", _non_negative_int, "seconds to wait for another import into the same table"),
    Option(
        "INDEXES",
        _indexes,
        "indexes built on the new table before it is published: columns by commas, indexes by "
        "semicolons (postcode;lmk_key,uprn)",
    ),
    Option(
        "DRY_RUN",
        _boolean,
        "connect, sample and print the plan (types, DDL, write path, what IF_EXISTS would do); write nothing",
        switch=True,
    ),
    Option(
        "WORKERS",
        _positive_int,
        "processes that read and write in parallel",
        f"the number of CPUs, {available_cpus()} here",
    ),
    Option("CHUNK_SIZE", _positive_int, "rows read, converted and written at a time"),
    Option("SAMPLE_ROWS", _non_negative_int, "rows per file sampled to plan column types (0: every row)"),
    Option(
        "SRC_DELIMITER",
        _delimiter,
        "field separator",
        "detected per file among , ; tab | (tab first for .tsv files)",
    ),
    Option(
        "SRC_HEADER",
        _boolean,
        "false: the files have no header line; SRC_COLUMNS (or SCHEMA_FILE) names every column in file order",
    ),
    Option(
        "SRC_COLUMNS",
        _selection,
        "the header's columns to load, in this order, comma separated; old:new renames one",
        "every column",
    ),
    Option(
        "SRC_PATH_COLUMN",
        _table,
        "add a text column of this name holding each row's file path (relative to the folder or archive)",
        "none",
    ),
    Option(
        "ON_NEW_COLUMNS",
        _choice(ON_NEW_CHOICES),
        "a column some files have and the table (else the first file) lacks: fail, add (NULL for the "
        "rows of files without it) or ignore (not loaded)",
    ),
    Option(
        "ON_MISSING_COLUMNS",
        _choice(ON_MISSING_CHOICES),
        "a column of the table (else of the first file) that a file lacks: fail, or null",
    ),
    Option(
        "ON_TYPE_CHANGE",
        _choice(ON_TYPE_CHANGE_CHOICES),
        "an existing column whose sampled values it cannot hold: fail (those rows are rejected), or "
        "widen (integer -> bigint -> decimal -> text, exactly, in the publishing transaction)",
    ),
    Option(
        "TRANSFORM",
        _transform,
        "a pandas function applied to every chunk: module:function or path/to/file.py:function",
        "none",
    ),
    Option(
        "SCHEMA_FILE",
        _schema_file,
        "JSON file fixing column types (and NOT NULL, primary key): the importer's own format or CSVW",
        "none: types planned from samples",
    ),
    Option(
        "WRITE_SCHEMA", _path, "write the run's planned column types to this JSON file (SCHEMA_FILE format)"
    ),
    Option("SRC_QUOTING", _choice(QUOTING_CHOICES), 'csv, or none when " is an ordinary character'),
    Option("SRC_ENCODING", _encoding, "encoding of the files (a byte-order mark is dropped)"),
    Option(
        "SRC_DECIMAL",
        _decimal_mark,
        ". or , before a number's decimals (with ,: 1234,56 is a number, 1.5 and 1.234,56 are text; "
        "the delimiter must not be ,)",
    ),
    Option(
        "SRC_DATE_FORMAT",
        _date_format,
        "how the files write dates, of %d %m %Y (e.g. %d/%m/%Y); only such dates are dates",
        "ISO: %Y-%m-%d",
    ),
    Option(
        "SRC_TIMESTAMP_FORMAT",
        _timestamp_format,
        "how the files write timestamps, of %d %m %Y %H %M %S (e.g. %d/%m/%Y %H:%M:%S)",
        "ISO: %Y-%m-%d %H:%M:%S",
    ),
    Option(
        "NA_VALUES",
        _na_values,
        "extra markers read as NULL, comma separated (e.g. \\N)",
        "none: only an empty field is NULL",
    ),
    Option("MAX_ERRORS", _non_negative_int, "rejected rows tolerated before the run fails"),
    Option(
        "MAX_SHRINK",
        _fraction,
        "replace and delete_rows refuse to publish fewer rows than this fraction of the table's (0: off)",
    ),
    Option(
        "REJECTS_PATH",
        _path,
        "CSV of rejected rows",
        "beside REPORT_PATH, else <table>.rejects.csv",
    ),
    Option("REPORT_PATH", _path, "JSON summary of the run"),
    Option("LOG_FORMAT", _choice(LOG_FORMAT_CHOICES), "text, or json for log shippers"),
    Option("LOG_LEVEL", _choice(LOG_LEVEL_CHOICES, upper=True), "DEBUG, INFO, WARNING or ERROR"),
    Option(
        "EXECUTOR",
        _choice(EXECUTOR_CHOICES),
        "how tasks run: pool (a process pool; WORKERS=1 runs inline) or dask (a Dask cluster)",
    ),
    Option(
        "DASK_SCHEDULER",
        _address,
        "with EXECUTOR=dask: the scheduler's address, tcp://host:port",
        "none: a local cluster of WORKERS processes",
    ),
    Option(
        "MAX_CONNECTIONS",
        _positive_int,
        "at most this many tasks hold a database connection at once, across the pool or cluster",
        "no limit",
    ),
    Option("SPLIT_BYTES", _size, "files larger than this are loaded in parts of about this size", "128MiB"),
    Option(
        "PROGRESS_SECONDS",
        _positive_seconds,
        "seconds between progress log lines when stderr is not a terminal or LOG_FORMAT=json",
    ),
    Option("NOTIFY_URL", _http_url, "POST the JSON run report to this http(s) URL when a run ends"),
    Option("RUNS_TABLE", _table, "record each run's summary as a row of this table in DEST_SQL", "none"),
)


def _program() -> str:
    """The command as the user ran it, for ``--help``'s usage line: the installed
    ``csv-sql-import``, else a checkout's ``python index.py``."""
    name = Path(sys.argv[0]).name
    return name if name.startswith("csv-sql-import") else "python index.py"


class _Parser(argparse.ArgumentParser):
    """argparse, whose mistakes (an unknown flag, a flag without its value) are ConfigErrors:
    one line and exit status 2, reported like any other invalid setting."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def build_parser() -> argparse.ArgumentParser:
    """The command's flags, one per setting, with defaults shown in ``--help``."""
    parser = _Parser(
        prog=_program(),
        # No abbreviations: --src-data would otherwise be --src-data-folder, and a later flag
        # sharing its start would silently take its place (or make it an error).
        allow_abbrev=False,
        description="Import a folder of CSV files into one SQL table.",
        epilog=help_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,  # the epilog's table and commands as written
    )
    defaults = Settings()
    for option in OPTIONS:
        shown = option.default or _shown(getattr(defaults, option.attr))
        # argparse %-formats help: a date format's %d is text here.
        help_text = f"{option.help} (default: {shown})".replace("%", "%%")
        if option.switch:
            parser.add_argument(option.flag, action="store_const", const="true", help=help_text)
            continue
        parser.add_argument(option.flag, metavar=option.env, default=None, help=help_text)
    parser.add_argument(
        "--env-file",
        metavar="PATH",
        action="append",
        help="read settings from this file of NAME=value lines too, as Docker's --env-file reads them; "
        "the environment and flags win over it (README: Settings from a file)",
    )
    parser.add_argument("--verbose", action="store_true", help="show full tracebacks and debug logs")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no progress log lines")
    parser.add_argument(
        "--cleanup",
        action="store_true",
        help="only remove staging tables that crashed runs left for DEST_TABLE, then exit",
    )
    parser.add_argument("--version", action=ShowVersion, help="print the importer's version and exit")
    return parser


#: The commands --help ends with (``%(prog)s`` is the command's name), each after what it does.
HELP_EXAMPLES = (
    ("the bundled sample (data/) into import.db (SQLite)", "%(prog)s"),
    (
        "a folder into PostgreSQL, replacing the table in one step",
        "%(prog)s --src-data-folder /srv/epc --dest-sql postgresql://loader@db.example.org/epc "
        "--if-exists replace",
    ),
    (
        "a job's settings in a file of NAME=value lines, a flag winning over one; plan only",
        "%(prog)s --env-file /etc/csv-sql-importer/epc.env --workers 4 --dry-run",
    ),
)


def help_epilog() -> str:
    """The end of --help: where settings come from, the exit statuses (errors.EXIT_STATUSES, as
    the README's table) and the examples."""
    statuses = [f"  {status:>3}  {meaning}" for status, meaning in EXIT_STATUSES.items()]
    examples = [f"  # {what}\n  {command}" for what, command in HELP_EXAMPLES]
    return "\n".join(
        [
            "Every flag can also be given as the environment variable named in capitals, or as a",
            "NAME=value line of an --env-file; a flag wins over the environment, the environment",
            "over the file.",
            "",
            "exit statuses:",
            *statuses,
            "",
            "examples:",
            *examples,
        ]
    )


def answer_help(argv: Sequence[str]) -> None:
    """Print ``--help`` and exit 0 when the flags ask for it, and return otherwise: called before
    the command starts its worker server or imports the pipeline, which help needs neither of.
    Flags that cannot be read are left for ``load_settings`` to report."""
    with contextlib.suppress(ConfigError):
        build_parser().parse_args(list(argv))


def _shown(default: Any) -> str:
    if isinstance(default, bool):
        return str(default).lower()  # as RELOAD_CHANGED=true/false is written
    if isinstance(default, tuple):
        default = ",".join(default)
    return "none" if default in (None, "") else str(default)


def load_settings(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """Build Settings from flags (first) and environment variables; raise ConfigError if invalid.

    Nothing is read before every variable is known to be a setting or no look-alike of one.  An
    ``--env-file`` gives the settings that neither a flag nor the environment gives."""
    args = build_parser().parse_args(list(argv))
    check_names(environ)
    env_file = _read_env_file(args)
    values, used = {}, set()
    for option, text, line in _given(args, environ, env_file):
        where = f"--env-file {args.env_file[0]}: line {line}: " if line else ""
        values[option.attr] = _parsed(option, text, where)
        if line:
            used.add(option.env)
    values = _with_url_file(values)
    if "dest_sql" in values and "src_data_folder" not in values and not args.cleanup:
        raise ConfigError(
            "SRC_DATA_FOLDER is not set: the bundled sample (data/) is a demonstration, loaded only "
            "into the default database (sqlite:///import.db), never into DEST_SQL's; set "
            "SRC_DATA_FOLDER to the folder (or archive) to import"
        )
    return _settings(values, args, replace(env_file, used=frozenset(used)) if env_file else None)


def _read_env_file(args: argparse.Namespace) -> EnvFile | None:
    """The --env-file's lines, each name a setting (a misspelt one is the error it is in the
    environment, with the file's line); None without --env-file."""
    if not args.env_file:
        return None
    if len(args.env_file) > 1:
        raise ConfigError("--env-file is given more than once; give one file")
    path = Path(args.env_file[0])
    lines = read_env_file(path)
    for entry in lines:
        if entry.name not in SETTING_NAMES:
            problem = misnamed(entry.name) or (
                f"{entry.name} is not a setting; an env file holds the importer's settings only "
                "(other variables belong in the environment)"
            )
            raise ConfigError(f"--env-file {path}: line {entry.line}: {problem} (nothing was imported)")
    return EnvFile(path, lines)


def _parsed(option: Option, text: str, where: str) -> Any:
    """A setting's value parsed; ``where`` (the env file and line it came from) leads its error."""
    try:
        return option.parse(option.env, text)
    except ConfigError as error:
        error.message = where + error.message
        raise


#: The settings' variables, as the environment and an --env-file name them.
SETTING_NAMES = tuple(option.env for option in OPTIONS)
#: Variables starting so are the importer's (misspelt, or of another version) whatever follows.
OWN_PREFIXES = ("SRC_", "DEST_", "IF_")
#: A variable within this many edits of a setting's name (case aside) is taken for a misspelling.
TYPO_EDITS = 2


def check_names(environ: Mapping[str, str]) -> None:
    """Refuse variables that look like settings but are none (``SRC_DATA_FOLDR``, ``DEST_SQl``,
    ``IF_EXIST``): ignoring one would run with the default in its place.  Other software's
    variables (``PATH``, ``DASK_*``, ``LOG_DIR``) are more than two edits from every setting's name."""
    found = [problem for variable in sorted(environ) if (problem := misnamed(variable))]
    if found:
        raise ConfigError("; ".join(found) + " (nothing was imported)")


def misnamed(variable: str) -> str | None:
    """``X is not a setting; did you mean Y?`` for a variable that is no setting but looks like
    one (check_names); None for a setting, and for a variable like none."""
    if variable in SETTING_NAMES:
        return None
    nearest = nearest_setting(variable)
    return None if nearest is None else f"{variable} is not a setting; did you mean {nearest}?"


def nearest_setting(variable: str) -> str | None:
    """The setting's variable that ``variable`` (any case) is taken for a misspelling of, or
    None when it looks like no setting: more than two edits from each, and no prefix of ours."""
    names = SETTING_NAMES
    upper = variable.upper()
    near = [(d, name) for name in names if (d := _edits(upper, name, TYPO_EDITS)) <= TYPO_EDITS]
    if near:
        return min(near)[1]
    prefix = next((p for p in OWN_PREFIXES if upper.startswith(p)), None)
    if prefix is None:
        return None
    # No misspelling: the setting of that prefix sharing most words.
    words = set(upper.split("_"))
    alike = [name for name in names if name.startswith(prefix)] or names
    return min(alike, key=lambda name: (-len(words & set(name.split("_"))), _edits(upper, name)))


def _edits(a: str, b: str, bound: int | None = None) -> int:
    """Damerau-Levenshtein distance (optimal string alignment): the letters deleted, inserted,
    replaced or swapped with a neighbour that turn ``a`` into ``b``; past ``bound``, only that
    it is more (every variable of the environment is compared with every setting at start)."""
    if bound is not None and abs(len(a) - len(b)) > bound:
        return bound + 1
    before, row = None, list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (char != other))
            if before is not None and j > 1 and char == b[j - 2] and a[i - 2] == other:
                cost = min(cost, before[j - 2] + 1)
            current.append(cost)
        if bound is not None and min(current) > bound:
            return bound + 1
        before, row = row, current
    return row[-1]


def _with_url_file(values: dict[str, Any]) -> dict[str, Any]:
    """DEST_SQL read from DEST_SQL_FILE, as container secrets are mounted (one trailing newline,
    which editors and ``echo`` add, is not part of it)."""
    path = values.get("dest_sql_file")
    if path is None:
        return values
    if "dest_sql" in values:
        raise ConfigError("DEST_SQL and DEST_SQL_FILE are both set; set only one of them")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"DEST_SQL_FILE cannot be read: {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"DEST_SQL_FILE {path} is not UTF-8 text") from None
    text = text.removesuffix("\n")  # read_text reads "\r\n" as "\n"
    if not text:
        raise ConfigError(f"DEST_SQL_FILE {path} is empty")
    if "\n" in text:  # no URL holds one: a second line would become part of it
        raise ConfigError(f"DEST_SQL_FILE {path} holds more than one line; it must hold the URL alone")
    return values | {"dest_sql": _url(f"DEST_SQL_FILE {path}", text)}


#: What a run with invalid settings still needs: where and how to report, what to mask.
SALVAGED = ("report_path", "log_format", "log_level", "dest_sql", "dest_sql_file", "dest_table", "notify_url")


def salvage_settings(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    """The settings a run needs to report that its settings are invalid (``SALVAGED``): each as
    given if it is valid itself, else its default.  Never raises."""
    try:
        args, _unknown = build_parser().parse_known_args(list(argv))
    except ConfigError:  # the flags cannot be read at all: the environment alone
        args = argparse.Namespace(verbose=False, quiet=False, cleanup=False, env_file=None)
    # The env file's readable lines, whatever their names (its DEST_SQL's secrets are masked too).
    lines = read_env_file(Path(args.env_file[-1]), lenient=True) if args.env_file else ()
    env_file = EnvFile(Path(args.env_file[-1]), lines) if args.env_file else None
    values = {}
    for option, text, _line in _given(args, environ, env_file):
        if option.attr in SALVAGED:
            with contextlib.suppress(ConfigError):
                values[option.attr] = option.parse(option.env, text)
    with contextlib.suppress(ConfigError):
        values = _with_url_file(values)  # its URL's secrets are masked like DEST_SQL's
    return _settings(values, args, env_file)


def _given(
    args: argparse.Namespace, environ: Mapping[str, str], env_file: EnvFile | None = None
) -> Iterator[tuple[Option, str, int | None]]:
    """Each setting that is given, as text, with the env file's line it came from (else None):
    its flag, else its environment variable, else the env file's line.  An empty value is not
    given (but NA_VALUES', which says: no marker)."""
    in_file = {entry.name: entry for entry in env_file.lines} if env_file else {}
    for option in OPTIONS:
        flag_value = getattr(args, option.attr, None)
        text = flag_value if flag_value is not None else environ.get(option.env)
        line = None
        if _unset(option, text) and (entry := in_file.get(option.env)) is not None:
            text, line = entry.value, entry.line
        if text is not None and not _unset(option, text):
            yield option, text, line


def _unset(option: Option, text: str | None) -> bool:
    return text is None or (text == "" and option.env != "NA_VALUES")


def _settings(values: dict[str, Any], args: argparse.Namespace, env_file: EnvFile | None) -> Settings:
    values["env_file"] = env_file
    values["verbose"] = args.verbose
    values["quiet"] = args.quiet
    values["cleanup"] = args.cleanup
    if values["verbose"]:
        values["log_level"] = "DEBUG"
    return Settings(**values)


#: Keywords of the Python API that are no variable: the command's switches, and the bar.
KEYWORD_SWITCHES = ("verbose", "quiet", "progress_bar")
#: Settings whose variable is a comma-separated list (INDEXES: ``;`` between indexes), which a
#: keyword may give as a Python list instead.
LIST_SETTINGS = ("src_columns", "na_values", "primary_key", "indexes")


def keyword_settings(values: Mapping[str, Any]) -> Settings:
    """Settings from Python keywords (the Python API): each setting's variable in lower case
    (``if_exists="replace"``, ``workers=2``), its value parsed by that variable's own parser,
    so that a keyword means what its variable means; ConfigError naming the keyword if invalid.

    A value is the variable's text, or a number, a bool, a path, a list (a comma-separated
    setting; INDEXES a list of column lists); None leaves the default.  An unknown keyword is a
    ConfigError naming the nearest setting, as a misspelled variable is."""
    check_keywords(values)
    parsed = {name: _keyword_value(name, value) for name, value in values.items() if value is not None}
    parsed = _with_url_file(parsed)
    if parsed.get("verbose"):
        parsed["log_level"] = "DEBUG"
    return Settings(**parsed)


def salvage_keywords(values: Mapping[str, Any]) -> Settings:
    """``salvage_settings`` for keywords: those of SALVAGED that are valid, else defaults."""
    parsed = {}
    for name in SALVAGED:
        if values.get(name) is not None:
            with contextlib.suppress(ConfigError):
                parsed[name] = _keyword_value(name, values[name])
    with contextlib.suppress(ConfigError):
        parsed = _with_url_file(parsed)
    return Settings(**parsed)


def check_keywords(values: Mapping[str, Any]) -> None:
    """Refuse keywords that are no setting, each with the nearest setting's keyword."""
    known = [option.attr for option in OPTIONS] + list(KEYWORD_SWITCHES)
    found = []
    for name in values:
        if name in known:
            continue
        nearest = nearest_setting(name)
        suggestion = nearest.lower() if nearest else min(known, key=lambda other: _edits(name.lower(), other))
        found.append(f"{name} is not a setting; did you mean {suggestion}?")
    if found:
        raise ConfigError("; ".join(found) + " (nothing was imported)")


def _keyword_value(name: str, value: Any) -> Any:
    """One keyword's value, parsed as its variable's text."""
    if name in KEYWORD_SWITCHES:
        return _boolean(name, _keyword_text(name, value))
    option = next(option for option in OPTIONS if option.attr == name)
    if name in LIST_SETTINGS and isinstance(value, (list, tuple)):
        if name == "indexes":  # a list of indexes, each a column or a list of columns
            value = ";".join(item if isinstance(item, str) else ",".join(map(str, item)) for item in value)
        else:
            value = ",".join(_keyword_text(name, item) for item in value)
    return option.parse(name, _keyword_text(name, value))


def _keyword_text(name: str, value: Any) -> str:
    """A Python value as its variable would be written: ``true``, ``2``, ``0.5``, a path."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    kind = type(value).__name__
    raise ConfigError(f"{name} must be text, a number, true or false, a path or a list; got {kind}")
