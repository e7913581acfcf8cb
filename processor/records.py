"""The records that pass between the stages of a run: a leaf that imports no stage.

The planner hands a ``TablePlan`` to the backends, the loader and the publish step; a worker
hands back a ``FileResult`` (with its ``RejectedRow``s) that the report adds up.  Keeping them
here, apart from the code that makes or reads them, keeps the imports pointing one way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

    from processor.env_file import EnvFile
    from processor.kinds import ColumnType, Spelling

#: The URL query parameter that carries DEST_SCHEMA to every engine (never to the driver).
SCHEMA_QUERY = "csv_sql_importer_schema"

#: ON_NEW_COLUMNS and ON_MISSING_COLUMNS: what a column some files (or the table) lack means.
ON_NEW_CHOICES = ("fail", "add", "ignore")
ON_MISSING_CHOICES = ("fail", "null")
#: ON_TYPE_CHANGE: what an existing column whose sampled values it cannot hold means.
ON_TYPE_CHANGE_CHOICES = ("fail", "widen")


class IfExists(enum.StrEnum):
    """IF_EXISTS: what a run does with a target table that exists already.  What each value
    means for the plan, the ledger and the publish step is answered here, once; the value
    prints as the setting is spelled (``f"IF_EXISTS={value}"``)."""

    #: The run fails before it loads anything.
    FAIL = "fail"
    #: A new table is built and swapped in for the old one, in one step.
    REPLACE = "replace"
    #: The rows are inserted into the table; files the ledger says it holds are skipped.
    APPEND = "append"
    #: The rows are upserted on the primary key; files the ledger holds are skipped, changed ones
    #: loaded again.
    MERGE = "merge"
    #: The table's rows are deleted and the new ones inserted, in one transaction.
    DELETE_ROWS = "delete_rows"

    @property
    def into_existing(self) -> bool:
        """The rows go into the existing table (its types, its indexes), not into a new one."""
        return self in (IfExists.APPEND, IfExists.MERGE, IfExists.DELETE_ROWS)

    @property
    def skips_held(self) -> bool:
        """Files the ledger says the table holds already are not loaded again."""
        return self in (IfExists.APPEND, IfExists.MERGE)

    @property
    def removes_rows(self) -> bool:
        """The existing table's rows go: dependents are checked first, MAX_SHRINK guards them."""
        return self in (IfExists.REPLACE, IfExists.DELETE_ROWS)

    @property
    def upserts(self) -> bool:
        """Rows are matched on the primary key, which the table must have."""
        return self is IfExists.MERGE


@dataclass(frozen=True)
class SourceFile:
    """One file to import: where it is, how it is compressed, and how its fields are separated."""

    path: str
    name: str
    size: int
    compression: str | None
    delimiter: str
    #: The name of its format in ``processor/sources/formats`` (``csv``, ``ndjson``), from its name.
    data_format: str = "csv"
    #: A member of the archive at ``path``: its kind (``zip``, ``tar``, ``tar.gz``, ...), its
    #: path inside, where its bytes start in a tar's stream, and a zip's fingerprint from the
    #: archive's directory (``processor/sources/archive.py``).  ``path`` may be a URL (an
    #: object in a store, ``processor/sources/remote.py``); ``checksum`` is then the object's
    #: ETag, size and time as listed, its fingerprint without reading it.
    archive: str | None = None
    member: str | None = None
    offset: int = 0
    checksum: str | None = None
    #: Whether a CSV file's first line names the columns (SRC_HEADER=false: it is data).
    header: bool = True

    @property
    def relative_path(self) -> str:
        """The file's path relative to SRC_DATA_FOLDER, or to the archive it is in."""
        return self.member if self.member is not None else self.name

    @property
    def stem(self) -> str:
        """The name without compression and data suffixes: ``title.basics.tsv.gz`` -> ``title.basics``."""
        name = Path(self.name).name
        if self.compression:
            name = name.rsplit(".", 1)[0]
        return name.rsplit(".", 1)[0] if "." in name else name


@dataclass(frozen=True)
class SchemaFile:
    """Fixed types (by column name), NOT NULL columns and a primary key, read from SCHEMA_FILE
    (``processor/plan/schema_file.py``)."""

    path: str
    types: tuple[tuple[str, ColumnType], ...]
    primary_key: tuple[str, ...] = ()
    not_null: tuple[str, ...] = ()


@dataclass(frozen=True)
class TablePlan:
    """The target table's columns, in header order, with the type each is loaded as."""

    names: tuple[str, ...]
    types: tuple[ColumnType, ...]
    #: Why each column has its type, in words (``kinds.explain``; the dry run shows them).
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class RejectedRow:
    """A source row that was not loaded, and why."""

    file: str
    line: int
    reason: str
    text: str
    #: A value that does not fit its column's planned type (not a ragged row): the reason a
    #: plan from samples can be wrong.  Not a column of the rejects file.
    misfit: bool = False
    #: Why, as a key of ``ops.report.REJECT_KINDS``, and the column of the misfitting value (None:
    #: no column's), for the counts by reason and by column.  Not columns of the rejects file either.
    kind: str = "field_count"
    column: str | None = None


@dataclass(frozen=True)
class FileResult:
    """One file's outcome, returned by the worker that loaded it."""

    name: str
    rows: int
    rejects: tuple[RejectedRow, ...]
    seconds: float
    #: The file's fingerprint for the ledger, taken while it was read (None: not read to its end).
    fingerprint: str | None = None
    #: Data rows read (written, rejected, or left unread after MAX_ERRORS was passed: not counted).
    read: int = 0
    #: The file's size as stored (compressed, if it is).
    bytes: int = 0
    #: How its chunks were written (``ChunkWriter.path``).
    write_path: str | None = None
    #: The delimiter its fields were split on (detected, or SRC_DELIMITER); None: NDJSON.
    delimiter: str | None = None
    #: CPU seconds its loading took, by stage (``load/cpu.py``'s STAGES), its parts' together.
    cpu: dict[str, float] = field(default_factory=dict)


# The options each stage of a run reads, built from ``Settings`` in one place (its ``*_options``
# methods): a stage takes these, never the whole ``Settings`` (the layers contract keeps it so).


@dataclass(frozen=True)
class PlanOptions:
    """What planning reads: which columns fit, how files are sampled, how types are decided."""

    if_exists: IfExists
    #: The primary key: PRIMARY_KEY, else SCHEMA_FILE's.
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...]
    sample_rows: int
    split_bytes: int
    transform: str | None
    schema_file: SchemaFile | None
    write_schema: Path | None
    src_columns: tuple[str, ...]
    src_path_column: str | None
    on_new_columns: str
    on_missing_columns: str
    reload_changed: bool
    #: A dry run plans without writing (no ledger made, no parts or fingerprints for a load).
    dry_run: bool
    #: DEST_SQL as it may be shown (in the log line that starts the plan).
    masked_url: str
    #: How the files write numbers and dates (SRC_DECIMAL, SRC_DATE_FORMAT, SRC_TIMESTAMP_FORMAT):
    #: the samples are classified, and the planned columns read, as it says.
    spelling: Spelling
    #: ON_TYPE_CHANGE: ``widen`` an existing column the samples do not fit (``plan.widening``).
    on_type_change: str = "fail"


@dataclass(frozen=True)
class LoadOptions:
    """What loading the files into a staging table reads, up to the rejects file it writes
    before the publish."""

    chunk_size: int
    max_errors: int
    split_bytes: int
    transform: str | None
    key: tuple[str, ...]
    sample_rows: int
    #: How the load shows its progress (``progress.progress_mode``'s inputs) and how often.
    quiet: bool
    log_format: str
    progress_bar: bool
    progress_seconds: float
    #: Where the rejected rows go (REJECTS_PATH resolved for the table), and what no output shows.
    rejects_path: Path
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class PublishOptions:
    """What the publish of a loaded staging table into the target reads."""

    if_exists: IfExists
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...]
    max_shrink: float


@dataclass(frozen=True)
class DryRunOptions:
    """What the dry run's account of a plan reads."""

    #: DEST_SQL: the write path shown is the one an engine of it takes.
    url: URL
    masked_url: str
    #: SRC_DATA_FOLDER where it is a URL, as it may be shown (without its secrets); None: a path.
    shown_source: str | None
    if_exists: IfExists
    key: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...]
    max_shrink: float
    #: The --env-file, whose lines the dry run shows (masked).
    env_file: EnvFile | None
    secrets: tuple[str, ...]
    #: How the files write numbers and dates, shown where it is not the default.
    spelling: Spelling
    #: The file was piped to standard input (SRC_DATA_FOLDER=-), which the dry run says.
    from_stdin: bool = False
