"""What each MySQL/MariaDB column type holds exactly, from ``information_schema.COLUMNS``.

A column of an existing table (append, merge, delete_rows) takes a value only where the value
read back is the one in the file: the same text byte for byte, or for numbers and times the same
value.  Each built-in type of MariaDB 10.11 (and MySQL 8) has its rule here; a type without one
(spatial types, MySQL's JSON, which reorders keys, a character set whose characters the importer
does not know) is refused before anything loads (``refused_type``), never given the text and left
to the server's parser.  The values travel as the planned kinds do: numbers, dates and timestamps
typed, the rest as text, which ``INSERT ... SELECT`` converts to the column's type.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from processor.errors import SchemaError
from processor.kinds import (
    BINARY,
    DATE,
    FLOAT,
    TEXT,
    TIME,
    TIMESTAMP,
    TIMESTAMP_FORMAT,
    TIMESTAMP_SHAPE,
    ColumnType,
    Foreign,
    bounded_decimal,
    integer_range,
)

INTEGER_BITS = {"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "bigint": 64}
TEXT_TYPES = {"tinytext", "text", "mediumtext", "longtext"}
BINARY_TYPES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
# MariaDB prints a FLOAT (without M,D) in 6 significant digits: 1234567 comes back as 1234570.
FLOAT_PRINTED_DIGITS = 6
# TIMESTAMP counts seconds since 1970 in 32 bits; sessions run in UTC (mysql.SESSION).
TIMESTAMP_RANGE = ("1970-01-01 00:00:01", "2038-01-19 03:14:07")
# Unicode character sets: the characters each cannot hold (RE2), and bytes per character where
# their TEXT types' sizes count other bytes than UTF-8's (utf16: 4, a surrogate pair, to be safe).
BEYOND_BMP = r"[\x{10000}-\x{10ffff}]"
UNICODE_OUTSIDE = {"utf8mb4": None, "utf8mb3": BEYOND_BMP, "utf8": BEYOND_BMP, "ucs2": BEYOND_BMP}
UNICODE_OUTSIDE |= {"utf16": None, "utf16le": None, "utf32": None}
UNICODE_BYTES_PER_CHARACTER = {"ucs2": 2, "utf16": 4, "utf16le": 4, "utf32": 4}
# TIME: -838:59:59 to 838:59:59, printed with at least two digits of hours.
TIME_HOURS = r"([0-9]{2}|[1-7][0-9]{2}|8[0-2][0-9]|83[0-7])"
IPV4_PART = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
# MariaDB's json_valid refuses documents nested deeper than this.
JSON_DEPTH = 31
# A quoted member of ENUM(...) or SET(...) in COLUMN_TYPE, and the escapes the catalog writes there.
MEMBER_RE = re.compile(r"'((?:[^'\\]|''|\\.)*)'")
MEMBER_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}


@dataclass(frozen=True)
class CatalogColumn:
    """One row of ``information_schema.COLUMNS`` (``mysql.CATALOG_COLUMNS``)."""

    name: str
    data_type: str
    column_type: str
    charset: str | None
    max_chars: int | None
    max_bytes: int | None
    precision: int | None
    scale: int | None
    fsp: int | None
    nullable: str
    extra: str  # "VIRTUAL GENERATED", "auto_increment", ...

    @property
    def generated(self) -> bool:
        """Whether the server computes the column's values (it takes none from an INSERT)."""
        return "GENERATED" in self.extra.upper()


def existing_type(
    column: CatalogColumn, json_checked: bool, single_byte: Callable[[str], str | None]
) -> ColumnType | None:
    """What ``column`` holds exactly, or None where no rule here can tell.

    ``json_checked``: MariaDB's JSON (LONGTEXT with a ``json_valid`` CHECK); ``single_byte``:
    the characters of a single-byte character set, as the server maps them (None: not one).
    """
    data_type = column.data_type.lower()
    unsigned = " unsigned" in column.column_type.lower()
    if column.generated:
        return None
    if data_type in INTEGER_BITS:
        bits = INTEGER_BITS[data_type]
        return replace(integer_range(bits), low=0, high=2**bits - 1) if unsigned else integer_range(bits)
    if data_type == "bit":  # BIT(n) takes the integers 0 to 2**n - 1
        return replace(integer_range(64), low=0, high=2 ** (column.precision or 1) - 1)
    if data_type == "year":  # YEAR(2), of old tables, prints two digits of four: refused
        return None if "(2)" in column.column_type else replace(integer_range(16), low=1901, high=2155)
    if data_type == "decimal":
        return replace(bounded_decimal(column.precision or 10, column.scale or 0), nonnegative=unsigned)
    if data_type in ("float", "double"):
        return replace(_float(column), nonnegative=unsigned)
    if data_type == "date":
        return DATE
    if data_type == "datetime":
        return _datetime(column, None, None)
    if data_type == "timestamp":
        return _datetime(column, *TIMESTAMP_RANGE)
    if data_type == "time":
        return _time(column)
    if data_type in BINARY_TYPES:
        # Bytes (a typed file's), or text as its UTF-8 bytes; BINARY(n) pads shorter values with
        # zero bytes, so only n fit.
        fixed = column.max_bytes if data_type == "binary" else 0
        return replace(BINARY, max_bytes=column.max_bytes, min_bytes=fixed or 0)
    if data_type in ("enum", "set"):
        return _members(column)
    if data_type == "uuid":
        return _foreign(column, "a UUID written in lowercase with hyphens", shape=UUID_PATTERN)
    if data_type == "inet4":
        pattern = rf"^({IPV4_PART}\.){{3}}{IPV4_PART}$"
        return _foreign(column, "an IPv4 address written a.b.c.d without leading zeros", shape=pattern)
    if data_type == "inet6":
        return _foreign(column, "an IPv6 address as MariaDB prints it (RFC 5952)", check=canonical_ipv6)
    if data_type in ("char", "varchar") or data_type in TEXT_TYPES:
        text = _text(column, single_byte)
        if text is not None and json_checked:
            what = f"valid JSON ({JSON_DEPTH} levels at most)"
            return replace(text, foreign=Foreign(column.column_type, what, check=valid_json))
        return text
    return None  # spatial types, MySQL's JSON, types of later versions


def refused_type(table: str, column: CatalogColumn) -> SchemaError:
    """The error for a column whose type ``existing_type`` cannot check."""
    charset = f" CHARACTER SET {column.charset}" if column.charset else ""
    what = f"{column.column_type.upper()}{charset}, whose values the importer cannot check before loading"
    if column.generated:
        what = f"{column.column_type.upper()} {column.extra.upper()}, whose values the server computes"
    return SchemaError(
        f"column {column.name!r} of table {table!r} is {what}; nothing was loaded. Load into a table "
        "of other column types (a new DEST_TABLE, with SCHEMA_FILE to choose them), or leave the "
        "column out of both the table and SRC_COLUMNS"
    )


def _foreign(
    column: CatalogColumn,
    what: str,
    shape: str | None = None,
    members: tuple[str, ...] | None = None,
    check: Callable[[str], bool] | None = None,
) -> ColumnType:
    """A type the importer does not plan: its values are sent as text (staged in LONGTEXT), which
    ``INSERT ... SELECT`` converts; only the text it gives back as it was fits."""
    return replace(TEXT, foreign=Foreign(column.column_type, what, shape, members, check))


def _float(column: CatalogColumn) -> ColumnType:
    bits = 32 if column.data_type.lower() == "float" else 64
    if column.scale is not None:  # FLOAT(M,D), DOUBLE(M,D): rounded to D decimals
        return replace(FLOAT, bits=bits, precision=column.precision, scale=column.scale)
    return replace(FLOAT, bits=bits, precision=FLOAT_PRINTED_DIGITS if bits == 32 else None)


def _datetime(column: CatalogColumn, earliest: str | None, latest: str | None) -> ColumnType:
    """DATETIME(fsp) and TIMESTAMP(fsp): a timestamp, with a fraction of at most ``fsp`` digits
    (passed on as text, which the server reads exactly; more digits it would round)."""
    fsp = column.fsp or 0
    if not fsp:
        return replace(TIMESTAMP, earliest=earliest, latest=latest)
    within = f" from {earliest} to {latest}" if earliest and latest else ""
    return _foreign(
        column,
        f"a valid timestamp written YYYY-MM-DD HH:MM:SS[.{'f' * fsp}]{within}",
        shape=rf"{TIMESTAMP_SHAPE[:-1]}(\.[0-9]{{1,{fsp}}})?$",
        check=functools.partial(real_time, earliest, latest),
    )


def real_time(earliest: str | None, latest: str | None, text: str) -> bool:
    """Whether ``text`` (shaped as a timestamp, maybe with a fraction) names a real moment in the
    range (ISO text compares as the times do)."""
    try:
        dt.datetime.strptime(text, TIMESTAMP_FORMAT + (".%f" if "." in text else ""))
    except ValueError:
        return False
    return (earliest is None or text >= earliest) and (latest is None or text <= latest)


def _time(column: CatalogColumn) -> ColumnType:
    """TIME(fsp) as MariaDB prints it: [-]HH:MM:SS[.fraction], at most 838 hours; no -00:00:00."""
    fsp = column.fsp or 0
    fraction = rf"(\.[0-9]{{1,{fsp}}})?" if fsp else ""
    value = rf"({TIME_HOURS}:[0-5][0-9]:[0-5][0-9]{fraction}|838:[0-5][0-9]:[0-5][0-9])"
    what = f"a time written HH:MM:SS (hours -837 to 837, or 838 with no fraction; {fsp} decimals at most)"
    time = _foreign(column, what, shape=rf"^-?{value}$")
    assert time.foreign is not None
    # A typed file's time of day (time64) fits as it is, within the fsp digits.
    typed = replace(time.foreign, typed=replace(TIME, fraction=fsp))
    return replace(time, foreign=typed, forbidden=r"^-00:00:00(\.0*)?$", forbidden_what="a signed zero")


def _members(column: CatalogColumn) -> ColumnType:
    """ENUM: one member, byte for byte.  SET: members separated by commas, each once and in the
    definition's order (the server stores a set of bits and prints it so)."""
    members = tuple(_unescaped(m) for m in MEMBER_RE.findall(column.column_type))
    shown = ", ".join(repr(m) for m in members)
    if column.data_type.lower() == "enum":
        return _foreign(column, f"one of {shown}", members=members)
    literals = [_literal(m) for m in members]
    orders = [m + "".join(f"(,{later})?" for later in literals[i + 1 :]) for i, m in enumerate(literals)]
    what = f"members of {shown} separated by commas, each once, in this order"
    return _foreign(column, what, shape=f"^({'|'.join(orders)})$")


def _unescaped(member: str) -> str:
    out, characters = [], iter(member.replace("''", "'"))
    for character in characters:
        if character == "\\":
            following = next(characters, "")
            out.append(MEMBER_ESCAPES.get(following, following))
        else:
            out.append(character)
    return "".join(out)


def _literal(text: str) -> str:
    """``text`` as an RE2 pattern that matches it alone."""
    return "".join(c if c.isascii() and c.isalnum() else f"\\x{{{ord(c):x}}}" for c in text)


def _outside(characters: str) -> str:
    """An RE2 class matching any character not among ``characters``."""
    return "[^" + "".join(f"\\x{{{ord(c):x}}}" for c in characters) + "]"


def _text(column: CatalogColumn, single_byte: Callable[[str], str | None]) -> ColumnType | None:
    """CHAR, VARCHAR and the TEXT types in the column's character set; None where the importer
    does not know the set's characters (multi-byte sets other than Unicode: sjis, big5, ...)."""
    charset = (column.charset or "").lower()
    data_type = column.data_type.lower()
    if charset in UNICODE_OUTSIDE:
        outside = UNICODE_OUTSIDE[charset]
        per_character = UNICODE_BYTES_PER_CHARACTER.get(charset)
    else:
        characters = single_byte(charset)
        if characters is None:
            return None
        outside, per_character = _outside(characters), 1
    if data_type not in TEXT_TYPES:
        text = replace(TEXT, max_chars=column.max_chars)
    elif per_character and column.max_bytes:  # sizes in bytes of the column's character set
        text = replace(TEXT, max_chars=column.max_bytes // per_character)
    else:  # UTF-8's bytes
        text = replace(TEXT, max_bytes=column.max_bytes)
    forbidden, what = [], []
    if data_type == "char":
        forbidden.append(" $")
        what.append("trailing spaces (CHAR drops them)")
    if outside is not None:
        forbidden.append(outside)
        what.append(f"characters outside {charset}")
    if forbidden:
        text = replace(text, forbidden="|".join(forbidden), forbidden_what=" or ".join(what))
    return text


def valid_json(text: str) -> bool:
    """Whether MariaDB's ``json_valid`` takes ``text``: standard JSON (no NaN or Infinity, no
    lone surrogate escape), nested at most ``JSON_DEPTH`` levels."""
    try:
        document = json.loads(text, parse_constant=_no_constant)
        return _depth(document) <= JSON_DEPTH
    except (ValueError, RecursionError):  # UnicodeEncodeError: a lone surrogate
        return False


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _depth(document: object) -> int:
    """How deep ``document`` nests; raises UnicodeEncodeError for a string no UTF-8 holds."""
    if isinstance(document, dict):
        for key in document:
            key.encode()
        return 1 + max(map(_depth, document.values()), default=0)
    if isinstance(document, list):
        return 1 + max(map(_depth, document), default=0)
    if isinstance(document, str):
        document.encode()
    return 0


def canonical_ipv6(text: str) -> bool:
    """Whether MariaDB's INET6 prints ``text`` back as it is: RFC 5952's form (lowercase, the
    longest run of zero groups as ``::``), which Python's ``compressed`` writes too, except for
    the addresses MariaDB prints with an IPv4 part (IPv4-mapped and -compatible ones)."""
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        return False
    packed = address.packed
    with_ipv4 = packed[:10] == bytes(10) and packed[10:12] in (b"\xff\xff", b"\0\0") and int(address) > 1
    return not with_ipv4 and address.scope_id is None and address.compressed == text
