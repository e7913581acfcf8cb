"""PostgreSQL's built-in column types: what text each holds exactly, or why it is refused.

An append, merge or delete_rows onto an existing table checks each value against the real
type of its column, as the catalogue names it (``pg_attribute``, ``format_type``), before any
row is written: a value the type would change (rounded, truncated, read in the session's time
zone or locale, resolved against the catalogue) or cannot parse is a rejected row, and a type
whose values cannot be checked here is refused before loading.  The checks accept the
spellings whose meaning no session setting changes (ISO dates with an explicit offset, not
``DateStyle``'s ``01/02/2021``; no ``now``, ``today`` or ``epoch``); a value spelled otherwise
is rejected, never guessed.  ``test/test_existing_types_postgresql.py`` has the whole catalogue.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Unpack

import sqlalchemy as sa

from processor.kinds import (
    BINARY,
    BOOLEAN,
    DATE,
    DECIMAL,
    FLOAT,
    INTERVAL,
    TEXT,
    TIME,
    ColumnType,
    Foreign,
    ForeignChecks,
    bounded_decimal,
    integer_range,
)

VARHDRSZ = 4  # the length word that varchar's, bpchar's and numeric's typmod counts
NAME_BYTES = 63
SECOND_DIGITS = 6  # timestamps, times and intervals keep microseconds
INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1
# An offset from UTC, as far as PostgreSQL takes one (±15:59).
OFFSET = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)"
MOMENT_RE = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2}[ T])?(?P<h>[0-9]{2}):(?P<m>[0-9]{2})"
    r"(:(?P<s>[0-9]{2})(\.(?P<f>[0-9]+))?)?(?P<zone>Z|[+-](?P<zh>[0-9]{2})(:?(?P<zm>[0-9]{2}))?)?"
)
# PostgreSQL's own output of an interval (IntervalStyle postgres), and ISO 8601 with designators.
INTERVAL_RE = re.compile(
    r"((?P<y>[+-]?[0-9]+) years? ?)?((?P<mo>[+-]?[0-9]+) mons? ?)?((?P<d>[+-]?[0-9]+) days? ?)?"
    r"((?P<ts>[+-]?)(?P<h>[0-9]+):(?P<m>[0-9]{2}):(?P<s>[0-9]{2})(\.(?P<f>[0-9]+))?)?"
)
ISO_INTERVAL_RE = re.compile(
    r"P((?P<y>[0-9]+)Y)?((?P<mo>[0-9]+)M)?((?P<w>[0-9]+)W)?((?P<d>[0-9]+)D)?"
    r"(T((?P<h>[0-9]+)H)?((?P<m>[0-9]+)M)?((?P<s>[0-9]+)(\.(?P<f>[0-9]+))?S)?)?"
)
HEX = "[0-9a-fA-F]"
UUID_SHAPE = f"^{HEX}{{8}}-{HEX}{{4}}-{HEX}{{4}}-{HEX}{{4}}-{HEX}{{12}}$"
# Six or eight bytes as hex pairs, one separator throughout.
MAC_SHAPES = {
    n: "^(" + "|".join(f"{HEX}{{2}}({s}{HEX}{{2}}){{{n - 1}}}" for s in (":", "-")) + ")$" for n in (6, 8)
}
# Hex (``\x...``, what PostgreSQL prints), or ASCII text without a backslash: its bytes (other
# characters would be the bytes of the database's encoding).
BYTEA_SHAPE = rf"^(\\x({HEX}{{2}})*|[\x{{01}}-\x{{5b}}\x{{5d}}-\x{{7f}}]*)$"
UNSIGNED = "^(0|[1-9][0-9]*)$"
INET_SHAPE = r"^[0-9a-fA-F:.]+(/(0|[1-9][0-9]{0,2}))?$"
# JSON numbers a jsonb (numeric) holds without overflow, with room to spare.
JSON_NUMBER_DIGITS = 1000

# Why each refused built-in type is refused (the message of exit 4 quotes it).
REFUSED = {
    **dict.fromkeys(
        (
            *("regclass", "regcollation", "regconfig", "regdictionary", "regnamespace", "regoper"),
            *("regoperator", "regproc", "regprocedure", "regrole", "regtype"),
        ),
        "its values are names looked up in the catalogue by the session's search_path",
    ),
    **dict.fromkeys(
        ("tsvector", "tsquery", "jsonpath"), "its input is rewritten (sorted, deduplicated, normalised)"
    ),
    "xml": "its values are parsed by libxml under the session's xmloption, not checked here",
    "money": "its input and rounding follow the server's lc_monetary, which does not read 1.5 as 1.5 here",
}
# The built-in ranges and their elements; each multirange and its range.
RANGE_ELEMENTS = {
    "int4range": "int4",
    "int8range": "int8",
    "numrange": "numeric",
    "daterange": "date",
    "tsrange": "timestamp",
    "tstzrange": "timestamptz",
}
MULTIRANGES = {"int4multirange": "int4range", "int8multirange": "int8range", "nummultirange": "numrange"}
MULTIRANGES |= {"datemultirange": "daterange", "tsmultirange": "tsrange", "tstzmultirange": "tstzrange"}
# One range: its bracket, each bound unquoted (no space, comma, bracket, quote or backslash; empty:
# unbounded) or double-quoted (without a quote or backslash inside), and its closing bracket.
BOUND = r'("[^"\\]+"|[^\s,()\[\]"\\]*)'
LOWER, UPPER = (BOUND.replace("(", f"(?P<{name}>", 1) for name in ("lower", "upper"))
RANGE_RE = re.compile(rf"(?P<open>[\[(]){LOWER},{UPPER}(?P<close>[\])])")
ANY_RANGE = rf"(empty|[\[(]{BOUND},{BOUND}[\])])"
MULTIRANGE_RE = re.compile(rf"\{{\s*({ANY_RANGE}(\s*,\s*{ANY_RANGE})*)?\s*\}}")
# The geometric types as PostgreSQL prints them (no spaces), numbers as NUMBER: the shape of
# each and what it is, in words.  Each number must be a double whose text comes back the same.
NUMBER = r"[^(),\[\]{}<>\s]+"
POINT = rf"\({NUMBER},{NUMBER}\)"
GEOMETRY = {
    "point": (rf"^{POINT}$", "(x,y)"),
    "lseg": (rf"^\[{POINT},{POINT}\]$", "[(x1,y1),(x2,y2)]"),
    "box": (rf"^{POINT},{POINT}$", "(x1,y1),(x2,y2) (printed upper right corner first)"),
    "path": (
        rf"^(\[{POINT}(,{POINT})*\]|\({POINT}(,{POINT})*\))$",
        "[(x1,y1),...] open or ((x1,y1),...) closed",
    ),
    "polygon": (rf"^\({POINT}(,{POINT})*\)$", "((x1,y1),...)"),
    "circle": (rf"^<{POINT},{NUMBER}>$", "<(x,y),r>, r not negative"),
    "line": (rf"^\{{{NUMBER},{NUMBER},{NUMBER}\}}$", "{A,B,C}, A and B not both zero"),
}
NUMBER_RE = re.compile(NUMBER)
# The rest of pg_catalog's types are the system's own (aclitem, tid, int2vector, pg_snapshot, ...).
SYSTEM = "a type of the system's own catalogues"


@dataclass(frozen=True)
class CatalogColumn:
    """One column as ``COLUMNS`` reads it from the catalogue."""

    name: str
    sql: str  # format_type: the type as PostgreSQL writes it
    typmod: int
    not_null: bool
    #: The type's name, kind (pg_type.typtype: b(ase), e(num), d(omain), r(ange), m(ultirange),
    #: c(omposite)) and whether it is in pg_catalog; of the element type for an array.
    type_name: str
    type_kind: str
    builtin: bool
    array: bool
    labels: tuple[str, ...]  # an enum's labels (of the element's type, for an array of one)
    generated: bool  # GENERATED ALWAYS (AS an expression, or AS IDENTITY): it takes no values
    #: A domain's base type: its name, kind, whether it is in pg_catalog, the domain's typmod;
    #: whether the domain has CHECK constraints (not checked here) or is NOT NULL.
    base: tuple[str, str, bool, int] | None = None
    domain_checks: bool = False
    domain_not_null: bool = False


# Each column of the table, its type as the catalogue has it; an array's element type; a
# domain's base type (its enum labels, for a domain over an enum) and constraints.
COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypmod, a.attnotnull,
  coalesce(e.typname, t.typname), coalesce(e.typtype, t.typtype),
  coalesce(e.typnamespace, t.typnamespace) = 'pg_catalog'::regnamespace,
  e.oid IS NOT NULL,
  ARRAY(SELECT l.enumlabel::text FROM pg_enum l WHERE l.enumtypid = coalesce(b.oid, e.oid, t.oid)
        ORDER BY l.enumsortorder),
  a.attgenerated <> '' OR a.attidentity = 'a',
  b.typname, b.typtype, b.typnamespace = 'pg_catalog'::regnamespace,
  coalesce(e.typtypmod, t.typtypmod),
  EXISTS (SELECT FROM pg_constraint c WHERE c.contypid = coalesce(e.oid, t.oid) AND c.contype = 'c'),
  coalesce(e.typnotnull, t.typnotnull)
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type e ON e.typarray = t.oid
LEFT JOIN pg_type b ON b.oid = coalesce(e.typbasetype, t.typbasetype) AND coalesce(e.typtype, t.typtype) = 'd'
WHERE a.attrelid = to_regclass(quote_ident(current_schema()) || '.' || quote_ident(%(table)s))
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


def read_columns(conn: sa.Connection, table: str) -> list[CatalogColumn]:
    """The columns of ``table`` (in the connection's current schema) from the catalogue."""
    rows = conn.exec_driver_sql(COLUMNS, {"table": table}).all()
    return [_catalog_column(row) for row in rows]


def _catalog_column(row: Sequence[Any]) -> CatalogColumn:
    """A row of ``COLUMNS`` as a ``CatalogColumn``."""
    name, sql, typmod, not_null, type_name, type_kind, builtin, is_array, labels = row[:9]
    generated, base_name, base_kind, base_builtin, domain_typmod, checks, domain_not_null = row[9:]
    base = None if base_name is None else (base_name, base_kind, base_builtin, domain_typmod)
    return CatalogColumn(
        name=name,
        sql=sql,
        typmod=typmod,
        not_null=not_null or (domain_not_null and not is_array),
        type_name=type_name,
        type_kind=type_kind,
        builtin=builtin,
        array=is_array,
        labels=tuple(labels),
        generated=generated,
        base=base,
        domain_checks=checks,
        domain_not_null=domain_not_null,
    )


def column_type(column: CatalogColumn, money: ColumnType | None) -> ColumnType | str:
    """What ``column`` holds exactly, or why it cannot be checked (refused before loading).

    ``money``: what the server's lc_monetary lets a money column hold, or None (refused)."""
    if column.generated:
        return "a column GENERATED ALWAYS, which takes no values from a file"
    base = _domain_type(column, money) if column.type_kind == "d" else None
    if base is None:
        typmod = column.typmod
        base = _base_type(column.type_name, column.type_kind, column.builtin, typmod, column.labels, money)
    if isinstance(base, str) or (base.foreign is None and not column.array):
        return base
    if not column.array and base.foreign is not None:
        # The type as the catalogue writes it: schema-qualified where it must be.
        return replace(base, foreign=replace(base.foreign, sql=column.sql))
    what = f"an array literal ({{...}}, one dimension) of values that are each {base.describe()}"
    check = functools.partial(array_fits, base)
    return replace(TEXT, foreign=Foreign(sql=column.sql, what=what, shape=r"^\{.*\}$", check=check))


def _domain_type(column: CatalogColumn, money: ColumnType | None) -> ColumnType | str | None:
    """A domain over a type of pg_catalog (not an array), an enum, a range or a multirange,
    without CHECK constraints, holds what its base type holds (its NOT NULL is the column's);
    None: refused as a domain."""
    if column.base is None or column.domain_checks:
        return None
    name, kind, builtin, typmod = column.base
    if kind not in ("b", "e", "r", "m") or name.startswith("_"):  # over a domain, composite, array
        return None
    return _base_type(name, kind, builtin, typmod, column.labels, money)


def _base_type(
    name: str, kind: str, builtin: bool, typmod: int, labels: tuple[str, ...], money: ColumnType | None
) -> ColumnType | str:
    if kind == "e":
        shown = ", ".join(map(repr, labels[:8])) + (", ..." if len(labels) > 8 else "")
        return _foreign(name, f"one of the labels of enum {name} ({shown}), byte for byte", members=labels)
    if kind == "d":
        return (
            "a domain with CHECK constraints or over a domain, composite or array, not checked before loading"
        )
    if not builtin:
        return "a type from an extension or a user-defined type, which the importer cannot check"
    if name == "money" and money is not None:
        return money
    if name in REFUSED:
        return REFUSED[name]
    found = _builtin(name, typmod)
    return SYSTEM if found is None else found


def _builtin(name: str, typmod: int) -> ColumnType | str | None:
    """The built-in types checked here, with the column's typmod; None: a system type; text:
    why this one is refused."""
    if name in ("int2", "int4", "int8"):
        return integer_range({"int2": 16, "int4": 32, "int8": 64}[name])
    if name in ("float4", "float8"):
        return replace(FLOAT, bits=32 if name == "float4" else 64)
    if name == "numeric":
        return DECIMAL if typmod < 0 else bounded_decimal(*numeric_bounds(typmod))
    if name == "bool":
        return BOOLEAN
    if name == "date":
        return DATE
    if name in ("text", "refcursor"):
        return TEXT
    if name == "varchar":
        return TEXT if typmod < 0 else replace(TEXT, max_chars=typmod - VARHDRSZ)
    if name == "bpchar":
        if typmod < 0:  # bpchar without a length: trailing spaces do not count, so they go
            return replace(TEXT, forbidden=" $", forbidden_what="trailing spaces (bpchar drops them)")
        # character(n) pads shorter values with spaces: only full-length values come back.
        return replace(TEXT, min_chars=typmod - VARHDRSZ, max_chars=typmod - VARHDRSZ)
    if name == "name":  # longer names are cut to 63 bytes
        return replace(TEXT, max_bytes=NAME_BYTES)
    if name == "char":  # "char": one byte
        return replace(TEXT, max_bytes=1)
    return _foreign_builtin(name, typmod)


def _foreign_builtin(name: str, typmod: int) -> ColumnType | str | None:
    digits = SECOND_DIGITS if typmod < 0 else typmod
    moments = {  # dated, zoned, spelling
        "timestamp": (True, False, "YYYY-MM-DD HH:MM:SS[.f], no offset (or infinity, -infinity)"),
        "timestamptz": (
            True,
            True,
            "YYYY-MM-DD HH:MM:SS[.f] with an offset (Z, +HH:MM) (or infinity, -infinity)",
        ),
        "time": (False, False, "HH:MM[:SS[.f]], no offset"),
        "timetz": (False, True, "HH:MM[:SS[.f]] with an offset (Z, +HH:MM)"),
    }
    if name in moments:
        dated, zoned, spelling = moments[name]
        what = f"a valid {name} written {spelling}, at most {digits} digits after the second"
        typed = replace(TIME, fraction=digits) if name == "time" else None  # a typed file's time64
        return _foreign(name, what, check=functools.partial(moment_fits, dated, zoned, digits), typed=typed)
    if name == "interval":
        return _interval(typmod)
    simple = {
        "uuid": (UUID_SHAPE, None, "a uuid written as 32 hex digits in groups of 8-4-4-4-12"),
        "json": (None, functools.partial(json_fits, False), "valid JSON"),
        "jsonb": (None, functools.partial(json_fits, True), "valid JSON without a repeated key or \\u0000"),
        "inet": (INET_SHAPE, functools.partial(address_fits, False), "an IP address, optionally /prefix"),
        "cidr": (INET_SHAPE, functools.partial(address_fits, True), "an IP network without host bits"),
        "macaddr": (MAC_SHAPES[6], None, "a MAC address of 6 hex pairs separated by : or -"),
        "macaddr8": (MAC_SHAPES[8], None, "a MAC address of 8 hex pairs separated by : or -"),
        "bytea": (BYTEA_SHAPE, None, "\\x and hex digit pairs, or ASCII text without a backslash"),
        "oid": (UNSIGNED, functools.partial(unsigned_fits, 32), "an integer from 0 to 4294967295"),
        "xid": (UNSIGNED, functools.partial(unsigned_fits, 32), "an integer from 0 to 4294967295"),
        "cid": (UNSIGNED, functools.partial(unsigned_fits, 32), "an integer from 0 to 4294967295"),
        "xid8": (UNSIGNED, functools.partial(unsigned_fits, 64), "an integer from 0 to 2**64 - 1"),
        "pg_lsn": (f"^{HEX}{{1,8}}/{HEX}{{1,8}}$", None, "a WAL position written XXXXXXXX/XXXXXXXX in hex"),
    }
    if name in simple:
        shape, check, what = simple[name]
        return _foreign(name, what, shape=shape, check=check, typed=BINARY if name == "bytea" else None)
    if name in ("bit", "varbit"):
        return _bits(name, typmod)
    if name in RANGE_ELEMENTS or name in MULTIRANGES:
        return _range(name)
    if name in GEOMETRY:
        shape, spelled = GEOMETRY[name]
        what = f"a {name} written {spelled}, each number a double that reads back as written"
        return _foreign(name, what, shape=shape, check=functools.partial(geometry_fits, name))
    return None


def _range(name: str) -> ColumnType:
    """A range (or a multirange: ``{range, ...}``) whose bounds each fit its element type, the
    lower not above the upper; the discrete ones (int, date) print ``[a,b]`` as ``[a,b+1)``,
    the same range."""
    multi = name in MULTIRANGES
    range_name = MULTIRANGES.get(name, name)
    element = RANGE_ELEMENTS[range_name]
    held = _builtin(element, -1)
    assert isinstance(held, ColumnType)
    spelled = "[lower,upper) with [ or ( and ] or ), a bound empty for none or double-quoted"
    what = f"a {range_name} written {spelled} (or empty), each bound {held.describe()}, the lower first"
    if multi:
        what = f"a {name} written {{range, ...}}, each range {what[2:]}"
    return _foreign(name, what, check=functools.partial(range_fits, element, multi))


def _interval(typmod: int) -> ColumnType | str:
    fields, precision = (typmod >> 16) & 0x7FFF, typmod & 0xFFFF
    if typmod >= 0 and fields != 0x7FFF:
        return "an interval restricted to some fields drops the others (INTERVAL YEAR TO MONTH drops days)"
    digits = SECOND_DIGITS if typmod < 0 or precision == 0xFFFF else precision
    what = (
        "an interval written as PostgreSQL prints it ('1 year 2 mons -3 days +04:05:06') or as ISO 8601 "
        f"('P1Y2M3DT4H5M6S'), a sign on every field if the first is negative, at most {digits} digits after "
        "the second"
    )
    # A typed file's durations and intervals, exactly where the second keeps its microseconds.
    typed = INTERVAL if digits == SECOND_DIGITS else None
    return _foreign("interval", what, check=functools.partial(interval_fits, digits), typed=typed)


def _bits(name: str, typmod: int) -> ColumnType:
    if typmod < 0:
        return _foreign(name, "a string of 0s and 1s", shape="^[01]*$")
    fixed = name == "bit"
    what = f"a string of {'exactly' if fixed else 'at most'} {typmod} 0s and 1s"
    column = _foreign(name, what, shape="^[01]*$")
    return replace(column, min_chars=typmod if fixed else 0, max_chars=typmod)


def _foreign(sql: str, what: str, **checks: Unpack[ForeignChecks]) -> ColumnType:
    return replace(TEXT, foreign=Foreign(sql=sql, what=what, **checks))


def numeric_bounds(typmod: int) -> tuple[int, int]:
    """NUMERIC's precision and scale from its typmod (PostgreSQL 15: an 11-bit signed scale)."""
    packed = typmod - VARHDRSZ
    return (packed >> 16) & 0xFFFF, ((packed & 0x7FF) ^ 1024) - 1024


def money_type(frac_digits: int) -> ColumnType:
    """What a money column holds where lc_monetary reads ``1.5`` as one and a half with
    ``frac_digits`` digits after the point: plain decimals within its range, none rounded."""
    fraction = rf"(\.[0-9]{{1,{frac_digits}}}0*)?" if frac_digits else r"(\.0+)?"
    shape = rf"^-?(0|[1-9][0-9]{{0,14}}){fraction}$"
    what = f"a decimal of at most 15 digits before the point and {frac_digits} after"
    return _foreign("money", what, shape=shape)


# -- the checks of one value (run in the workers: top-level functions, pickled by name) -----------


def _fraction_fits(fraction: str | None, digits: int) -> bool:
    """Digits after the second beyond ``digits`` would be rounded away unless they are zeros."""
    return not fraction or not fraction[digits:].strip("0")


def moment_fits(dated: bool, zoned: bool, digits: int, text: str) -> bool:
    """A timestamp or time written in ISO 8601 that names a real moment, with an offset exactly
    where the type keeps one (a timestamp without time zone would drop it silently, and one with
    a time zone would read a value without it in the session's TimeZone)."""
    if dated and text in ("infinity", "-infinity"):  # held as such, printed the same
        return True
    found = MOMENT_RE.fullmatch(text)
    if found is None or (found["date"] is not None) != dated or (found["zone"] is not None) != zoned:
        return False
    if not _fraction_fits(found["f"], digits):
        return False
    if found["zone"] not in (None, "Z") and (int(found["zh"]) > 15 or int(found["zm"] or 0) > 59):
        return False
    if dated:
        datetime.date.fromisoformat(found["date"][:10])  # a real day of the years 1 to 9999
    return int(found["h"]) <= 23 and int(found["m"]) <= 59 and int(found["s"] or 0) <= 59


def _iso_seconds_exact(seconds: str) -> bool:
    """Whether PostgreSQL reads ISO 8601's ``<seconds>.<fraction>S`` as written: it parses the
    number as a double and rounds its fraction to microseconds (``PT123456789012.345678S`` reads
    ``...:12.345673``), so only a number whose double is within half a microsecond stays."""
    return abs(Decimal(float(seconds)) - Decimal(seconds)) * 10**6 < Decimal("0.49")


def interval_fits(digits: int, text: str) -> bool:
    """An interval in PostgreSQL's own spelling or ISO 8601's, within its fields' ranges; where the
    first field is negative every field carries its sign (IntervalStyle sql_standard would
    otherwise apply that sign to the unsigned fields after it)."""
    found = INTERVAL_RE.fullmatch(text) or ISO_INTERVAL_RE.fullmatch(text)
    if found is None or text.endswith(" "):
        return False
    parts = found.groupdict()
    if not any(parts.get(k) for k in ("y", "mo", "w", "d", "h", "m", "s")):
        return False
    if not _fraction_fits(parts["f"], digits):
        return False
    if "w" in parts and parts["f"] and not _iso_seconds_exact(f"{parts['s']}.{parts['f']}"):
        return False
    if "ts" in parts:
        numbers = [parts[k] for k in ("y", "mo", "d") if parts[k] is not None]
        if parts["h"] is not None:
            numbers.append(parts["ts"] + parts["h"])
            if int(parts["m"]) > 59 or int(parts["s"]) > 59:
                return False
        if numbers and numbers[0].startswith("-") and not all(n[0] in "+-" for n in numbers):
            return False
    value = {k: int(v) for k, v in parts.items() if v and k not in ("f", "ts")}
    if parts.get("ts") == "-":
        value["h"] = -value.get("h", 0)
    months = value.get("y", 0) * 12 + value.get("mo", 0)
    days = value.get("w", 0) * 7 + value.get("d", 0)
    seconds = value.get("h", 0) * 3600 + value.get("m", 0) * 60 + value.get("s", 0)
    return abs(months) <= INT32_MAX and abs(days) <= INT32_MAX and abs(seconds) * 10**6 < INT64_MAX // 2


def json_fits(binary: bool, text: str) -> bool:
    """JSON as PostgreSQL's parser takes it (no NaN or Infinity); for jsonb, also no repeated key
    (jsonb would keep only the last one), no \\u0000 or lone surrogate, numbers numeric holds."""

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        if binary and len({key for key, _ in items}) != len(items):
            raise ValueError("a repeated key")
        return dict(items)

    def number(spelled: str) -> Decimal:
        value = Decimal(spelled)
        if binary and (len(spelled) > JSON_NUMBER_DIGITS or abs(value.adjusted()) > JSON_NUMBER_DIGITS):
            raise ValueError("beyond numeric")
        return value

    def constant(spelled: str) -> None:
        raise ValueError(f"{spelled} is not JSON")

    try:
        value = json.loads(
            text, object_pairs_hook=pairs, parse_float=number, parse_int=number, parse_constant=constant
        )
    except RecursionError:
        return False
    return not binary or _strings_fit(value)


def _strings_fit(value: object) -> bool:
    """Whether every string of a JSON value (keys too) is text jsonb holds: no NUL, no lone
    surrogate (``\\ud800``, which json keeps as written)."""
    if isinstance(value, str):
        return "\x00" not in value and not re.search("[\ud800-\udfff]", value)
    if isinstance(value, dict):
        return all(_strings_fit(k) and _strings_fit(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_strings_fit(v) for v in value)
    return True


def address_fits(network: bool, text: str) -> bool:
    """An IPv4 or IPv6 address (inet: with an optional prefix; cidr: a network without host bits)."""
    if network:
        ipaddress.ip_network(text, strict=True)
    else:
        ipaddress.ip_interface(text)
    return True


def unsigned_fits(bits: int, text: str) -> bool:
    return int(text) < 2**bits


def geometry_fits(name: str, text: str) -> bool:
    """Whether each number of a geometric value (``GEOMETRY``'s shape) is a double that reads
    back as written, and the value one PostgreSQL takes (a circle's radius not negative, a
    line's A and B not both zero)."""
    import pyarrow as pa

    numbers = NUMBER_RE.findall(text)
    mask = FLOAT.fit_mask(pa.array(numbers, pa.string()))
    if mask is not None and not all(mask.to_pylist()):
        return False
    if name == "circle":
        return not numbers[-1].startswith("-")
    if name == "line":
        return float(numbers[0]) != 0 or float(numbers[1]) != 0
    return True


def range_fits(element: str, multi: bool, text: str) -> bool:
    """A range literal (``multi``: a multirange's ``{...}``) PostgreSQL reads without an error
    and whose bounds are each held exactly by ``element``."""
    if multi:
        if MULTIRANGE_RE.fullmatch(text) is None:
            return False
        return all(_bounds_fit(element, found) for found in RANGE_RE.finditer(text))
    if text == "empty":
        return True
    found = RANGE_RE.fullmatch(text)
    return found is not None and _bounds_fit(element, found)


def _bounds_fit(element: str, found: re.Match[str]) -> bool:
    import pyarrow as pa

    held = _builtin(element, -1)
    assert isinstance(held, ColumnType)
    bounds = [found["lower"], found["upper"]]
    values = [b[1:-1] if b.startswith('"') else b or None for b in bounds]
    present = [v for v in values if v is not None]
    mask = held.fit_mask(pa.array(present, pa.string()))
    if mask is not None and not all(mask.to_pylist()):
        return False
    order = RANGE_ORDER[element]
    lower, upper = (None if v is None else order(v) for v in values)
    if lower is not None and upper is not None and lower > upper:
        return False  # PostgreSQL refuses the range ("lower bound must be less than or equal")
    if element in ("int4", "int8"):  # a discrete range's canonical form adds one: not past the top
        top = INT32_MAX if element == "int4" else INT64_MAX
        return not (found["close"] == "]" and upper == top) and not (found["open"] == "(" and lower == top)
    return True


# How each range's bounds compare (the bounds already fit their element type).
RANGE_ORDER: dict[str, Any] = {
    "int4": int,
    "int8": int,
    "numeric": Decimal,
    "date": str,  # ISO dates of four-digit years compare as text
    "timestamp": datetime.datetime.fromisoformat,
    "timestamptz": datetime.datetime.fromisoformat,
}


def array_fits(element: ColumnType, text: str) -> bool:
    """A one-dimensional array literal whose elements each fit ``element`` (NULL unquoted is a
    null element)."""
    import pyarrow as pa

    values = parse_array(text)
    if values is None:
        return False
    mask = element.fit_mask(pa.array(values, pa.string()))
    return mask is None or all(mask.to_pylist())


def parse_array(text: str) -> list[str | None] | None:
    """The elements of a one-dimensional array literal as PostgreSQL reads them (quotes and
    backslashes removed, an unquoted element's surrounding whitespace dropped), or None where
    it is not one."""
    if not (text.startswith("{") and text.endswith("}")):
        return None
    body = text[1:-1]
    if not body.strip():
        return [] if body == "" or body.isspace() else None
    elements: list[str | None] = []
    for raw in _ELEMENT_RE.finditer(body + ","):
        if raw["q"] is not None:
            elements.append(_ESCAPE_RE.sub(r"\1", raw["q"]))
            continue
        unquoted = raw["u"].strip(" \t\n\r\v\f")
        if not unquoted or "\\" in unquoted:  # an escaped space at the end would be kept: not worth it
            return None
        elements.append(None if unquoted.upper() == "NULL" else unquoted)
    consumed = sum(len(m[0]) for m in _ELEMENT_RE.finditer(body + ","))
    return elements if consumed == len(body) + 1 else None


_ESCAPE_RE = re.compile(r"\\(.)", re.S)
# One element and the comma after it: quoted (with surrounding whitespace), or unquoted without
# braces, quotes or unescaped commas.
_ELEMENT_RE = re.compile(
    r'[ \t\n\r\v\f]*"(?P<q>(?:[^"\\]|\\.)*)"[ \t\n\r\v\f]*,|(?P<u>(?:[^{}",\\]|\\.)*),', re.S
)
