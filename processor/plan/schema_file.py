"""SCHEMA_FILE and --write-schema: column types fixed by a file instead of planned from samples.

Two formats are read.  The importer's own, which ``--write-schema`` writes::

    {"columns": {"LMK_KEY": "text", "TOTAL_FLOOR_AREA": "decimal(10,2)", "UPRN": "integer"},
     "primary_key": ["LMK_KEY"], "not_null": ["UPRN"]}

and a CSV on the Web (CSVW) metadata file such as a publisher's ``schema.json``: its
``tableSchema.columns`` (each found in the header by one of its ``titles``, else its ``name``),
their ``datatype`` mapped to the importer's kinds, ``required`` as NOT NULL and
``tableSchema.primaryKey``.  A value the fixed type does not hold is a rejected row, as always.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from processor.errors import ConfigError, SchemaError
from processor.kinds import (
    BINARY,
    BOOLEAN,
    DATE,
    DECIMAL,
    FLOAT,
    INTEGER,
    INTERVAL,
    TEXT,
    TIME,
    TIMESTAMP,
    ColumnType,
    Kind,
    bounded_decimal,
    integer_range,
)
from processor.records import SchemaFile, TablePlan

if TYPE_CHECKING:
    from processor.backends import Backend

#: The importer's type spellings (``decimal(10,2)`` and ``varchar(8)`` take bounds).
SPELLINGS = {
    "integer": INTEGER,
    "bigint": INTEGER,
    "int": integer_range(32),
    "smallint": integer_range(16),
    "float": FLOAT,
    "double": FLOAT,
    "real": replace(FLOAT, bits=32),
    "decimal": DECIMAL,
    "date": DATE,
    "timestamp": TIMESTAMP,
    "boolean": BOOLEAN,
    "text": TEXT,
    # A typed file's kinds (Parquet, Arrow IPC), as --write-schema writes them.
    "binary": BINARY,
    "time": TIME,
    "interval": INTERVAL,
}
BOUNDED = re.compile(r"(decimal|numeric)\((\d+),\s*(\d+)\)|varchar\((\d+)\)")
#: Timestamps as a typed file (Parquet, Arrow) declares them: ``timestamp(n)`` keeps ``n`` digits
#: of a second (at most 6, microseconds: no database here keeps more), ``timestamptz`` and
#: ``timestamptz(n)`` the instant of a zoned time (where the database has no such type, text).
MOMENT = re.compile(r"(timestamp|timestamptz)(?:\((\d+)\))?")
MOST_FRACTION_DIGITS = 6
#: CSVW (XML Schema) datatypes and the kinds that hold them; any other is loaded as text.
CSVW_TYPES = {
    **dict.fromkeys(["integer", "long", "int", "short", "byte", "nonNegativeInteger"], INTEGER),
    **dict.fromkeys(["positiveInteger", "negativeInteger", "nonPositiveInteger"], INTEGER),
    **dict.fromkeys(["unsignedInt", "unsignedShort", "unsignedByte"], INTEGER),
    **dict.fromkeys(["double", "float", "number"], FLOAT),
    "decimal": DECIMAL,
    "boolean": BOOLEAN,
    "date": DATE,
    **dict.fromkeys(["dateTime", "datetime"], TIMESTAMP),
}


def read_schema_file(path: Path) -> SchemaFile:
    """Read SCHEMA_FILE (either format); a file that cannot be read or understood is a ConfigError."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"SCHEMA_FILE cannot be read: {path}: {error.strerror}") from None
    except ValueError as error:
        raise ConfigError(f"SCHEMA_FILE is not JSON: {path}: {error}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"SCHEMA_FILE must hold a JSON object: {path}")
    try:
        if "columns" in document:
            return _own(str(path), document)
        return _csvw(str(path), document)
    except (TypeError, AttributeError, KeyError) as error:
        raise ConfigError(
            f"SCHEMA_FILE {path}: unexpected structure ({type(error).__name__}: {error})"
        ) from None


def _own(path: str, document: Mapping[str, Any]) -> SchemaFile:
    columns = document["columns"]
    if not isinstance(columns, dict):
        raise ConfigError(f'SCHEMA_FILE {path}: "columns" must map column names to types')
    types = tuple((str(name), _spelled(path, str(name), spelling)) for name, spelling in columns.items())
    return SchemaFile(
        path, types, _names(document.get("primary_key", ())), _names(document.get("not_null", ()))
    )


def _spelled(path: str, name: str, spelling: object) -> ColumnType:
    text = str(spelling).strip().lower()
    if text in SPELLINGS:
        return SPELLINGS[text]
    moment = MOMENT.fullmatch(text)
    if moment and int(moment.group(2) or 0) <= MOST_FRACTION_DIGITS:
        return replace(TIMESTAMP, fraction=int(moment.group(2) or 0), zoned=moment.group(1) == "timestamptz")
    bounded = BOUNDED.fullmatch(text)
    if bounded and bounded.group(4):
        return replace(TEXT, max_chars=int(bounded.group(4)))
    if bounded:
        precision, scale = int(bounded.group(2)), int(bounded.group(3))
        if precision > 0 and scale <= precision:
            return bounded_decimal(precision, scale)
    moments = ["timestamp(n)", "timestamptz", "timestamptz(n)"]
    known = ", ".join([*SPELLINGS, "decimal(p,s)", "varchar(n)", *moments])
    raise ConfigError(f"SCHEMA_FILE {path}: column {name!r} has type {spelling!r}; known types: {known}")


def _names(value: object) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)  # type: ignore[attr-defined]


def _csvw(path: str, document: Mapping[str, Any]) -> SchemaFile:
    tables = document.get("tables")
    table = tables[0] if tables else document
    schema = table.get("tableSchema")
    if not isinstance(schema, dict) or not isinstance(schema.get("columns"), list):
        raise ConfigError(f'SCHEMA_FILE {path}: neither "columns" nor a CSVW "tableSchema" with "columns"')
    types, not_null, names = [], [], {}
    for column in schema["columns"]:
        if column.get("virtual") or column.get("suppressOutput"):
            continue
        title = _first_title(column.get("titles"))
        header_name = str(title or column.get("name"))
        names[column.get("name", header_name)] = header_name
        types.append((header_name, _csvw_type(column.get("datatype", "string"))))
        if column.get("required"):
            not_null.append(header_name)
    key = tuple(names.get(k, k) for k in _names(schema.get("primaryKey", ())))
    return SchemaFile(path, tuple(types), key, tuple(not_null))


def _first_title(titles: object) -> str | None:
    """A CSVW column's first title: ``titles`` is a string, a list, or a map of languages."""
    if isinstance(titles, dict):
        titles = next(iter(titles.values()), None)
    if isinstance(titles, list):
        titles = titles[0] if titles else None
    return None if titles is None else str(titles)


def _csvw_type(datatype: object) -> ColumnType:
    """A CSVW datatype's kind: a name, or an object with a ``base`` (and ``maxLength``)."""
    if isinstance(datatype, dict):
        base = str(datatype.get("base", "string"))
        if base == "string" and isinstance(datatype.get("maxLength"), int):
            return replace(TEXT, max_chars=datatype["maxLength"])
        datatype = base
    return CSVW_TYPES.get(str(datatype), TEXT)


def apply_schema_file(plan: TablePlan, schema: SchemaFile, backend: Backend) -> TablePlan:
    """The plan with the file's types (as the database holds them) and NOT NULL columns.

    Every column the file names must be one the run loads; the others keep their planned type.
    Its primary key's names are matched as PRIMARY_KEY's are (``schema.key_columns``: as the
    database compares names).
    """
    fixed = dict(schema.types)
    fold = backend.fold_name
    keyed, loaded = {fold(k) for k in schema.primary_key}, {fold(n) for n in plan.names}
    unknown = [name for name in [*fixed, *schema.not_null] if name not in plan.names]
    unknown += [key for key in schema.primary_key if fold(key) not in loaded]
    if unknown:
        raise SchemaError(
            f"SCHEMA_FILE {schema.path} names columns the run does not load: {', '.join(map(repr, unknown))} "
            f"(the columns: {', '.join(map(repr, plan.names))})"
        )
    types = []
    for name, planned in zip(plan.names, plan.types, strict=True):
        column = _held(name, fixed[name], backend, schema.path) if name in fixed else planned
        nullable = name not in schema.not_null and fold(name) not in keyed
        types.append(replace(column, nullable=nullable))
    return TablePlan(plan.names, tuple(types))


def _held(name: str, column: ColumnType, backend: Backend, path: str) -> ColumnType:
    """A fixed type as the database holds it; a decimal it has no exact type for is an error."""
    if column.kind is Kind.DECIMAL:
        whole, scale = (column.precision or 0) - (column.scale or 0), column.scale or 0
        exact = backend.types.decimal_type(whole, scale)
        if exact is None or (column.precision is None and exact.precision is not None):
            raise SchemaError(
                f"SCHEMA_FILE {path}: column {name!r}: {backend.name} has no exact decimal type "
                f"for {_spelling(column)}; give decimal(p,s) within its bounds, or text"
            )
    return backend.types.holds(column)


def _spelling(column: ColumnType) -> str:
    """How the importer's own format spells a column type."""
    if column.kind is Kind.INTEGER:
        for spelling in ("smallint", "int"):
            if (column.low, column.high) == (SPELLINGS[spelling].low, SPELLINGS[spelling].high):
                return spelling
        return "integer"
    if column.kind is Kind.FLOAT:
        return "real" if column.bits == 32 else "float"
    if column.kind is Kind.DECIMAL:
        return "decimal" if column.precision is None else f"decimal({column.precision},{column.scale or 0})"
    if column.kind is Kind.TEXT and column.max_chars is not None:
        return f"varchar({column.max_chars})"
    if column.kind is Kind.TIMESTAMP and (column.fraction or column.zoned):
        name = "timestamptz" if column.zoned else "timestamp"
        return f"{name}({column.fraction})" if column.fraction else name
    return column.kind.value


def write_schema_file(path: Path, plan: TablePlan, primary_key: Sequence[str]) -> None:
    """Write the run's plan in the importer's own format (SCHEMA_FILE reads it back)."""
    document: dict[str, Any] = {
        "columns": {n: _spelling(t) for n, t in zip(plan.names, plan.types, strict=True)}
    }
    if primary_key:
        document["primary_key"] = list(primary_key)
    not_null = [
        n for n, t in zip(plan.names, plan.types, strict=True) if not t.nullable and n not in primary_key
    ]
    if not_null:
        document["not_null"] = not_null
    try:
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"WRITE_SCHEMA cannot be written: {path}: {error.strerror}") from None
