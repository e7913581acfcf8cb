"""Plan the table once, before any write: check every header, choose one kind per column.

Headers are matched by name across files (``matching.py``), and the names must be ones the
database can hold as written, checked here so that a bad file fails the run before anything is
loaded.
Kinds come from a sample of every file (``profile_table`` runs in the workers) merged in the
parent, so that no chunk and no file ever decides a column's type on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from processor.counts import counted
from processor.errors import SchemaError, SourceError
from processor.kinds import PLAIN, ColumnProfile, ColumnType, Spelling, choose_type, classify_columns, explain
from processor.plan.declared import declared_profile
from processor.records import SourceFile, TablePlan
from processor.sources.formats import format_of
from processor.sources.read import read_header, sample_rows
from processor.sources.text import TextFormat

if TYPE_CHECKING:
    from processor.backends import Backend


#: What the sample of one file says of each of its columns.
FileProfile = tuple[ColumnProfile, ...]


@dataclass(frozen=True)
class SampleSize:
    """How much of a file its sample read: rows, and the bytes of their text (values, one
    delimiter between them and a line end each; quotes not counted), for the dry run's estimate
    of a file's rows.  ``whole``: ``rows`` are the file's, exactly (the sample is the whole file,
    or its format stores its count: ``Format.row_count``)."""

    rows: int
    text_bytes: int
    whole: bool

    def estimated_rows(self, source: SourceFile) -> int | None:
        """The file's rows: exact when the sample read it all, else its size over the sample's
        bytes per row; None for a compressed file, whose stored size says little of its text."""
        if self.whole:
            return self.rows
        if source.compression or not self.text_bytes:
            return None
        return round(source.size * self.rows / self.text_bytes)


def read_headers(
    files: Sequence[SourceFile],
    fmt: TextFormat,
    sample_rows: int = 0,
    names: Sequence[str] | None = None,
) -> dict[str, tuple[str, ...]]:
    """Each file's header, by file name, exactly as written (``matching.py`` matches them by name).

    NDJSON files have keys, not a header: the columns are the keys of each file's first
    ``sample_rows`` objects (0: all), in the order first met, the same for every file (a key an
    object lacks is NULL).  Files without a header line (SRC_HEADER=false) take ``names``,
    every field's name in file order; their first record shows how many fields they have.
    """
    formats = {source.data_format for source in files}
    if len(formats) > 1:
        raise SchemaError(f"the matched files mix formats ({', '.join(sorted(formats))}): match one kind")
    if format_of(files[0]).keyed:
        keys: dict[str, None] = {}
        for source in files:
            keys.update(dict.fromkeys(read_header(source, fmt, sample_rows) or ()))
        if not keys:
            raise SourceError(f"{files[0].name}: {format_of(files[0]).no_columns}")
        return {source.name: tuple(keys) for source in files}
    headers = {}
    for source in files:
        header = read_header(source, fmt)
        if not header:
            raise SourceError(f"{source.name}: {format_of(source).no_columns}")
        if names is not None:
            header = _named(source, header, names)
        headers[source.name] = tuple(header)
    return headers


def _named(source: SourceFile, record: Sequence[str], names: Sequence[str]) -> list[str]:
    """The header of a file without one: ``names``, one per field of its first ``record``, and an
    empty name for a last field that is empty (a trailing delimiter, as a header would have it)."""
    if len(record) == len(names):
        return list(names)
    if len(record) == len(names) + 1 and record[-1] == "":
        return [*names, ""]
    raise SchemaError(
        f"{source.name}: line 1 has {counted(len(record), 'field')}, but {counted(len(names), 'column')} "
        f"{'is' if len(names) == 1 else 'are'} named "
        "(SRC_HEADER=false: SRC_COLUMNS, or SCHEMA_FILE, names every field in file order)"
    )


def _difference(expected: Sequence[str], found: Sequence[str], fold: Callable[[str], str] = str) -> str:
    """The names one list has and the other lacks, compared as ``fold`` gives them."""
    expected_folded, found_folded = set(map(fold, expected)), set(map(fold, found))
    missing = [n for n in expected if fold(n) not in found_folded]
    extra = [n for n in found if fold(n) not in expected_folded]
    parts = []
    if missing:
        parts.append("missing " + ", ".join(map(repr, missing)))
    if extra:
        parts.append("unexpected " + ", ".join(map(repr, extra)))
    return "; ".join(parts) or "same columns in another order"


def check_identifiers(
    table: str, names: Sequence[str], primary_key: Sequence[str], backend: Backend, source: str
) -> None:
    """Raise SchemaError where the database could not hold a name exactly as written, or as
    many columns as the header has; ``source`` (the file the names come from) starts the
    message of a column's fault."""
    backend.check_name(table, "table name")
    limit = backend.max_columns
    if limit is not None and len(names) > limit:
        raise SchemaError(
            f"{source}: table {table!r} cannot hold the header's {len(names):,} columns: "
            f"{backend.name} allows at most {limit:,}"
        )
    key_columns(names, primary_key, backend)
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        label = f"{source}: column {position} ({name!r})"
        if name == "":
            raise SchemaError(f"{source}: column {position} has an empty name in the header")
        backend.check_name(name, label)
        key = backend.fold_name(name)
        if key in seen:
            how = "" if names[seen[key] - 1] == name else f" ({backend.name} ignores case)"
            raise SchemaError(f"{label} repeats the name of column {seen[key]}{how}")
        seen[key] = position


def key_columns(names: Sequence[str], primary_key: Sequence[str], backend: Backend) -> tuple[str, ...]:
    """PRIMARY_KEY's columns as the header spells them: each key name matched to the column whose
    name the database takes for it (``Backend.fold_name``, as the header is matched onto an
    existing table's columns: ``K`` is column ``k`` on SQLite, DuckDB and MySQL/MariaDB, not on
    PostgreSQL).  A key name no column matches, or two, and a column named twice, are a
    SchemaError."""
    fold = backend.fold_name
    found: list[str] = []
    unknown = []
    for key in primary_key:
        matching = [n for n in names if fold(n) == fold(key)]
        if len(matching) > 1:
            raise SchemaError(
                f"PRIMARY_KEY names {key!r}, which is more than one column to {backend.name}: "
                f"{', '.join(map(repr, matching))}; rename one of them"
            )
        if matching and matching[0] in found:
            raise SchemaError(f"PRIMARY_KEY names column {matching[0]!r} twice")
        if matching:
            found.append(matching[0])
        else:
            unknown.append(key)
    if unknown:
        how = f" ({backend.name} compares names ignoring case)" if fold("A") == fold("a") else ""
        raise SchemaError(
            f"PRIMARY_KEY names columns the header does not have: {', '.join(map(repr, unknown))}{how}"
        )
    return tuple(found)


def check_indexes(names: Sequence[str], indexes: Sequence[Sequence[str]], backend: Backend) -> None:
    """Raise SchemaError (before loading) where INDEXES names a column the header does not have."""
    known = {backend.fold_name(n) for n in names}
    unknown = [c for columns in indexes for c in columns if backend.fold_name(c) not in known]
    if unknown:
        raise SchemaError(f"INDEXES names columns the header does not have: {', '.join(map(repr, unknown))}")


def profile_file(
    source: SourceFile, fmt: TextFormat, columns: int, rows: int, check: Callable[[], None] = lambda: None
) -> tuple[FileProfile, SampleSize]:
    """Classify each column of one file's sample, every column as read (no SRC_COLUMNS, no
    TRANSFORM: the benchmark's plan), and measure the sample."""
    sample = sample_rows(source, fmt, columns, rows, check)
    return profile_table(sample), measure_sample(sample, rows, every_field=True)


def measure_sample(sample: pa.Table, rows: int, every_field: bool) -> SampleSize:
    """How much of its file a sample of at most ``rows`` rows (0: all) read, as read from the
    file (before a TRANSFORM shapes it).  A sample of only some fields (SRC_COLUMNS) does not
    say how long the file's records are: no bytes are counted, so no row estimate is made."""
    text_bytes = sum(
        pc.sum(pc.binary_length(column)).as_py() or 0
        for column in sample.columns
        if pa.types.is_string(column.type)  # a typed file's numbers, dates, ...: no text measured
    )
    return SampleSize(
        rows=sample.num_rows,
        # the values, and a delimiter or the line end after each
        text_bytes=text_bytes + sample.num_rows * sample.num_columns if every_field else 0,
        whole=rows == 0 or sample.num_rows < rows,
    )


def profile_table(
    sample: pa.Table,
    settled: frozenset[int] = frozenset(),
    left_out: bool = False,
    spelling: Spelling = PLAIN,
    typed: bool = False,
) -> FileProfile:
    """Classify each column of one file's sample, as read and shaped (runs in a worker), its
    numbers and dates as ``spelling`` says they are written; the ``settled`` columns (by
    position, see ``ColumnProfile.settled``) are passed over, also where they were ``left_out``
    of the sample, which then holds only the others, in order.  A ``typed`` format's columns are
    what their Arrow types declare (``declared.py``), text too."""
    if typed:
        return tuple(declared_profile(column) for column in sample.columns)
    columns: list[pa.ChunkedArray | None] = list(sample.columns)
    if left_out:
        others = iter(sample.columns)
        columns = [None if i in settled else next(others) for i in range(len(columns) + len(settled))]
    # Classified together (``classify_columns``): the same profiles as column by column.
    asked = {
        i: column.combine_chunks()
        for i, column in enumerate(columns)
        if i not in settled and column is not None
    }
    profiles = dict(zip(asked, classify_columns(list(asked.values()), spelling), strict=True))
    return tuple(profiles.get(i, ColumnProfile()) for i in range(len(columns)))


def merge_profiles(profiles: Iterable[FileProfile], columns: int) -> list[ColumnProfile]:
    """What the files' samples say together of each of ``columns`` columns, in the given order
    (the first file's values are the ones a plan cites)."""
    merged = [ColumnProfile()] * columns
    for profile in profiles:
        merged = [a.merge(b) for a, b in zip(merged, profile, strict=True)]
    return merged


def plan_types(
    names: Sequence[str], profiles: Iterable[FileProfile], backend: Backend, spelling: Spelling = PLAIN
) -> TablePlan:
    """One type per column, the narrowest that holds every file's sample (``choose_type``),
    reading its values as ``spelling`` says they are written.

    The profiles merge first, so that a column is a float only where a float holds every
    file's values: a 16-digit key in one file and ``1.5`` in another make an exact decimal (or
    text), never a float that would change the key.
    """
    merged = merge_profiles(profiles, len(names))
    chosen = [backend.types.holds(spelling.spell(choose_type(p, backend.types.decimal_type))) for p in merged]
    return TablePlan(
        names=tuple(names),
        types=tuple(chosen),
        # As the database holds them: a typed file's kind it has no type for says so.
        reasons=tuple(explain(p, t) for p, t in zip(merged, chosen, strict=True)),
    )


def plan_from_table(
    names: Sequence[str],
    existing: dict[str, ColumnType],
    table: str,
    source_name: str,
    backend: Backend,
    sampled: TablePlan | None = None,
) -> TablePlan:
    """For IF_EXISTS=append, merge and delete_rows: the existing table's types, if its columns
    match the header as the database compares names (``Backend.fold_name``: ``k`` is column ``K``
    where the database says so).  The plan keeps the header's spelling: the database finds the
    table's column by it, as it would in any statement.  ``sampled``: the plan of ``names`` from
    the samples, whose columns the table lacks are added (ON_NEW_COLUMNS=add) with its types."""
    fold = backend.fold_name
    columns = {fold(n): t for n, t in existing.items()}
    known = [n for n in names if fold(n) in columns]
    new = [n for n in names if fold(n) not in columns]
    if sorted(columns) != sorted(map(fold, known)) or (new and sampled is None):
        raise SchemaError(
            f"{source_name}: header does not match the columns of table {table!r}: "
            f"{_difference(list(existing), names, fold)}"
        )
    types, reasons = [], []
    for name in names:
        if fold(name) in columns:
            types.append(columns[fold(name)])
            reasons.append("the existing table's column")
        else:
            assert sampled is not None
            i = sampled.names.index(name)
            types.append(sampled.types[i])
            reasons.append(f"added to the table (ON_NEW_COLUMNS=add): {sampled.reasons[i]}")
    return TablePlan(names=tuple(names), types=tuple(types), reasons=tuple(reasons))


def spell_plan(plan: TablePlan, spelling: Spelling) -> TablePlan:
    """The plan's columns reading their values as ``spelling`` says the files write them,
    whichever planned them (the samples, an existing table, SCHEMA_FILE): a late value is
    checked and converted as the sampled ones were."""
    return replace(plan, types=tuple(spelling.spell(t) for t in plan.types))
