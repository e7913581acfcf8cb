"""Columns matched by name across files, and onto an existing table, planned before any write.

Files whose headers hold the same names in any order load into one table: each file gets its
own ``ColumnMap`` onto the run's columns.  Names match byte for byte between files (as headers
are kept) and, onto an existing table, as that database compares names (``Backend.fold_name``).
Where headers differ, ON_NEW_COLUMNS says what becomes of a column the reference (the existing
table, else the first file) lacks: ``fail``, ``add`` (NULL for the rows of files without it) or
``ignore`` (not read); ON_MISSING_COLUMNS what becomes of a reference column a file lacks:
``fail`` or ``null``.  Every decision is made here, from the headers, before a row is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from processor.errors import SchemaError
from processor.plan.columns import ColumnMap, map_columns


@dataclass(frozen=True)
class FileColumns:
    """What the matching decided for one file: the run's columns it lacks (NULL in its rows),
    its columns that are added to the table, and those it has that are not loaded."""

    missing: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    #: Existing columns its sample needs widened (ON_TYPE_CHANGE=widen, ``widening.py``).
    widened: tuple[str, ...] = ()

    def describe(self) -> str:
        """The decisions in words (empty: the file has exactly the run's columns)."""
        parts = []
        if self.added:
            parts.append("adds " + ", ".join(map(repr, self.added)))
        if self.missing:
            parts.append("lacks " + ", ".join(map(repr, self.missing)) + " (NULL)")
        if self.ignored:
            parts.append("ignores " + ", ".join(map(repr, self.ignored)))
        if self.widened:
            parts.append("widens " + ", ".join(map(repr, self.widened)))
        return "; ".join(parts)

    def to_json(self) -> dict[str, list[str]]:
        return {
            "added": list(self.added),
            "missing": list(self.missing),
            "ignored": list(self.ignored),
            "widened": list(self.widened),
        }


@dataclass(frozen=True)
class Matched:
    """The run's columns and how each file's fields become them."""

    #: Every header's names, the first file's first, then those first met in later files.
    header: tuple[str, ...]
    #: Each file's ColumnMap (by file name); all give the same ``columns``.
    layouts: dict[str, ColumnMap]
    #: Each file's decisions (by file name).
    decisions: dict[str, FileColumns] = field(default_factory=dict)
    #: Columns the table gains (ON_NEW_COLUMNS=add): not in the reference.
    added: tuple[str, ...] = ()
    #: Columns some file has that are not loaded (ON_NEW_COLUMNS=ignore).
    ignored: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The names of the columns every file's rows are shaped into."""
        return next(iter(self.layouts.values())).columns


def match_columns(
    names: Sequence[str],
    headers: Mapping[str, Sequence[str]],
    selection: Sequence[str],
    path_column: str | None,
    on_new: str = "fail",
    on_missing: str = "fail",
    table: tuple[str, Sequence[str], Callable[[str], str]] | None = None,
) -> Matched:
    """Match the header of each file of ``names`` (file names, in file order; ``headers`` by
    file name) by name: onto ``table`` (its name, its columns and the database's folding of
    names) when the run loads into an existing table, else onto the first file's header.

    SRC_COLUMNS (``selection``) names the columns: each file must have them (or, with
    ON_MISSING_COLUMNS=null, loads NULL for those it lacks), and they are the reference where
    no table is.  A difference the settings do not allow is a SchemaError naming the file.
    """
    first = names[0]
    fields = {name: _fields(name, headers, names, selection) for name in names}
    fold: Callable[[str], str] = table[2] if table is not None else str
    if table is not None:
        reference = list(table[1])
    elif selection:
        reference = [new for _, new in _entries(selection, headers, names)]
    else:
        reference = list(fields[first])
    known = {fold(n) for n in reference}
    union: dict[str, None] = {}
    for name in names:
        union.update(dict.fromkeys(fields[name]))
    new = [n for n in union if fold(n) not in known]
    loaded = [n for n in union if fold(n) in known or on_new == "add"]
    present = {fold(n) for n in union}
    # Reference columns no file has: NULL in every row (or a missing column, which fails below).
    loaded += [n for n in reference if fold(n) not in present and on_missing == "null"]
    if selection and table is None:
        loaded = reference  # in SRC_COLUMNS's order
    layouts, decisions = {}, {}
    for name in names:
        own = fields[name]
        folded = {fold(n) for n in own}
        missing = [n for n in reference if fold(n) not in folded]
        extra = [n for n in own if fold(n) not in known]
        if (missing and on_missing == "fail") or (extra and on_new == "fail"):
            if selection and table is None:
                shown = ", ".join(map(repr, headers[name]))
                raise SchemaError(
                    f"SRC_COLUMNS names {_old_of(missing[0], selection, headers, names)!r}, which is not "
                    f"in the header of {name}: {shown}; ON_MISSING_COLUMNS=null loads NULL for it"
                )
            raise SchemaError(_refusal(name, first, table, reference, list(own), fold, on_new, on_missing))
        base = map_columns(headers[name], (), path_column, name)
        picks = tuple(own.get(n) for n in loaded)
        layouts[name] = ColumnMap(base.header, picks, tuple(loaded), base.path_column, base.unnamed)
        decisions[name] = FileColumns(
            missing=tuple(n for n in loaded if n not in own),
            added=tuple(n for n in extra if on_new == "add"),
            ignored=tuple(n for n in extra if on_new == "ignore"),
        )
    added = tuple(new) if on_new == "add" else ()
    ignored = tuple(new) if on_new == "ignore" else ()
    return Matched(tuple(union), layouts, decisions, added, ignored)


def _fields(
    name: str, headers: Mapping[str, Sequence[str]], names: Sequence[str], selection: Sequence[str]
) -> dict[str, int]:
    """A file's columns and the field each is read from: its header's names (less an empty last
    one: the header ends with the delimiter), or those of SRC_COLUMNS it has, renamed."""
    header = list(headers[name])
    position = {n: i for i, n in reversed(list(enumerate(header)))}
    if not selection:
        named = header[:-1] if len(header) > 1 and header[-1] == "" else header
        for i, n in enumerate(named):
            if position[n] != i:  # a name is a column only where the header has it once
                if n == "":
                    raise SchemaError(f"{name}: column {position[n] + 1} has an empty name in the header")
                earlier = position[n] + 1
                raise SchemaError(f"{name}: column {i + 1} ({n!r}) repeats the name of column {earlier}")
        return {n: position[n] for n in named}
    return {new: position[old] for old, new in _entries(selection, headers, names) if old in position}


def _entries(
    selection: Sequence[str], headers: Mapping[str, Sequence[str]], names: Sequence[str]
) -> list[tuple[str, str]]:
    """SRC_COLUMNS as (name in the header, name loaded): an entry that some header holds as it
    is is that column, else ``old:new`` renames ``old``.  A name no header has is a SchemaError."""
    everywhere = {n for name in names for n in headers[name]}
    entries = [(e, e) if e in everywhere else _renaming(e) for e in selection]
    for old, _ in entries:
        if old not in everywhere:
            shown = ", ".join(map(repr, headers[names[0]]))
            raise SchemaError(f"SRC_COLUMNS names {old!r}, which is not in the header of {names[0]}: {shown}")
    return entries


def _old_of(
    new: str, selection: Sequence[str], headers: Mapping[str, Sequence[str]], names: Sequence[str]
) -> str:
    return next(old for old, loaded in _entries(selection, headers, names) if loaded == new)


def _renaming(entry: str) -> tuple[str, str]:
    old, colon, new = entry.rpartition(":")
    return (old, new) if colon and old and new else (entry, entry)


def _refusal(
    name: str,
    first: str,
    table: tuple[str, Sequence[str], Callable[[str], str]] | None,
    reference: Sequence[str],
    own: Sequence[str],
    fold: Callable[[str], str],
    on_new: str,
    on_missing: str,
) -> str:
    """The message of a file whose header the settings do not let load."""
    found = {fold(n) for n in own}
    expected = {fold(n) for n in reference}
    parts = []
    missing = [n for n in reference if fold(n) not in found]
    extra = [n for n in own if fold(n) not in expected]
    if missing:
        parts.append("missing " + ", ".join(map(repr, missing)))
    if extra:
        parts.append("unexpected " + ", ".join(map(repr, extra)))
    hints = []
    if missing and on_missing == "fail":
        hints.append("ON_MISSING_COLUMNS=null loads NULL for a missing column")
    if extra and on_new == "fail":
        hints.append("ON_NEW_COLUMNS=add adds a new one, ignore leaves it out")
    where = (
        f"header differs from {first}"
        if table is None
        else (f"header does not match the columns of table {table[0]!r}")
    )
    return f"{name}: {where}: {'; '.join(parts)} ({'; '.join(hints)})"
