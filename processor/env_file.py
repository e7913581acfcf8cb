"""``--env-file PATH``: settings read from a file of ``KEY=value`` lines.

The file is read as Docker's ``docker run --env-file`` reads one, and a line is accepted only
where python-dotenv (and a shell's ``source``) would read it the same: a file shared with either
means the same here.  Where they differ (quotes, ``export``, spaces around ``=``, a `` #``
comment after a value, ``${VAR}``), the line is refused with its number, never guessed at:

- the file is UTF-8 text (a byte-order mark at its start is dropped); lines end with ``\\n`` or
  ``\\r\\n``; leading spaces and tabs of a line are ignored;
- a blank line, or one whose first character is ``#``, is ignored;
- ``NAME=value``: ``NAME`` (letters, digits and ``_``, not starting with a digit) up to the first
  ``=``; the value is every character after it, as written (``=`` and ``#`` included);
- ``NAME`` alone, without ``=``: Docker passes the variable of its own environment; the importer
  reads the environment anyway, so it sets nothing (its name is still checked).

This module reads only the syntax; which names are settings is ``settings.py``'s to check.
Messages never quote a line (it may hold a password), only a name that is well formed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from processor.errors import ConfigError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BOM = b"\xef\xbb\xbf"
# Characters no value may hold: python-dotenv ends a line at "\r", and the others are invisible.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


@dataclass(frozen=True)
class FileSetting:
    """One ``NAME=value`` line of the file; ``value`` is None for a name alone."""

    name: str
    value: str | None
    line: int


@dataclass(frozen=True)
class EnvFile:
    """The file a run read settings from, and which of its lines gave a setting its value
    (``used``; the others were overridden by a flag or the environment, or hold no value)."""

    path: Path
    lines: tuple[FileSetting, ...]
    used: frozenset[str] = frozenset()


def read_env_file(path: Path, lenient: bool = False) -> tuple[FileSetting, ...]:
    """The ``NAME=value`` lines of ``path``; a line that cannot be read so, or a name given twice,
    raises ConfigError naming the file and line (exit 2).  ``lenient``: such lines, and a file
    that cannot be read, are skipped instead (to report an invalid run as far as possible)."""
    where = f"--env-file {path}"
    try:
        data = path.read_bytes()
    except OSError as error:
        if lenient:
            return ()
        raise ConfigError(f"{where} cannot be read: {error.strerror}") from None
    found: dict[str, FileSetting] = {}
    for number, raw in enumerate(data.removeprefix(_BOM).split(b"\n"), 1):
        try:
            text = raw.removesuffix(b"\r").decode("utf-8")
            entry = _entry(text, number)
            if entry is not None and entry.name in found:
                first = found[entry.name].line
                raise ConfigError(f"{entry.name} is set again (first on line {first}); set each setting once")
        except (UnicodeDecodeError, ConfigError) as error:
            if lenient:
                continue
            problem = "is not UTF-8 text" if isinstance(error, UnicodeDecodeError) else str(error)
            raise ConfigError(f"{where}: line {number}: {problem}") from None
        if entry is not None:
            found[entry.name] = entry
    return tuple(found.values())


def _entry(text: str, number: int) -> FileSetting | None:
    """The setting a line gives, None for a blank or comment line; ConfigError if unreadable."""
    line = text.lstrip(" \t")
    if not line or line.startswith("#"):
        return None
    name, equals, value = line.partition("=")
    if _NAME.fullmatch(name) is None:
        raise ConfigError(_bad_name(name, bool(equals)))
    if not equals:
        return FileSetting(name, None, number)
    if _CONTROL.search(value):
        raise ConfigError(f"the value of {name} holds a control character (a carriage return, a NUL, ...)")
    if value[:1] in ("'", '"'):
        raise ConfigError(
            f"the value of {name} begins with a quote, which Docker's --env-file keeps as part of the "
            "value (docker/cli#3630) and python-dotenv removes; write the value without quotes"
        )
    if value != value.strip(" \t"):
        raise ConfigError(
            f"the value of {name} begins or ends with a space or tab, which Docker's --env-file keeps "
            "and python-dotenv drops; remove it"
        )
    if re.search(r"[ \t]#", value):
        raise ConfigError(
            f"the value of {name} holds ' #', which python-dotenv reads as the start of a comment and "
            "Docker's --env-file as part of the value; put comments on lines of their own"
        )
    if "${" in value:
        raise ConfigError(
            f"the value of {name} holds '${{', which python-dotenv replaces by a variable's value and "
            "Docker's --env-file keeps as written"
        )
    return FileSetting(name, value, number)


def _bad_name(name: str, equals: bool) -> str:
    """Why the text before ``=`` (or the whole line) is no name, quoting it only if it is one."""
    words = name.split()
    if len(words) == 2 and words[0] == "export" and _NAME.fullmatch(words[1]):
        return f"write {words[1]}=value without 'export' (Docker's --env-file refuses it)"
    if equals and _NAME.fullmatch(name.rstrip(" \t")):
        return f"a space before the '=' after {name.rstrip()}; write NAME=value without spaces"
    if equals and not name:
        return "no name before the '='"
    return "not NAME=value (a name of letters, digits and _, then '=' and the value)"
