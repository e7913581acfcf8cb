"""The secrets of DEST_SQL and NOTIFY_URL, and text with them hidden: no output may ever show one.

A database URL's secrets are its password and the values of query parameters named like a
password, a secret, a token or a key (``password``, ``sslpassword``, ``auth_token``,
``aws_secret_key``).  A webhook's are its password and everything after its host: its path and
query are often the token itself (``/services/T000/B000/XXXX``).  Each is masked as written and
as a URL writes it (percent-encoded), because a driver's message may repeat either; masking
follows the text, so a secret is hidden wherever it occurs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

if TYPE_CHECKING:
    from sqlalchemy.engine import URL  # only named here: --help imports this module, not SQLAlchemy

MASK = "***"
_SECRET_WORDS = "pass|pwd|secret|token|key|credential"
#: Query parameters whose values are secrets, by name (case-insensitive).
SECRET_PARAMETER = re.compile(_SECRET_WORDS, re.IGNORECASE)
# A secret query parameter in a URL that did not parse: name=value up to the next & or #.
_SECRET_PAIR = re.compile(rf"([?&][^=&#]*(?:{_SECRET_WORDS})[^=&#]*=)[^&#]*", re.IGNORECASE)
# The password of a database URL as written, where SQLAlchemy finds it: after the user, up to the
# first "@" (SQLAlchemy's own pattern).
_WRITTEN_PASSWORD = re.compile(r"^[\w+]+://[^:/]*:([^@]*)@")


def url_secrets(url: URL, written: str = "") -> tuple[str, ...]:
    """The password and the secret query values of ``url``, each also as a URL encodes it, and
    as ``written`` (the URL's text, if known) spells them (``%61bc`` for ``abc``)."""
    values = [str(url.password)] if url.password else []
    for name, value in url.query.items():
        if SECRET_PARAMETER.search(name):
            values.extend([value] if isinstance(value, str) else value)
    return _forms(values + _written_secrets(written))


def _written_secrets(text: str) -> list[str]:
    """The password and the secret query values as they are spelt in a URL's text."""
    found = _WRITTEN_PASSWORD.match(text)
    values = [found.group(1)] if found else []
    for pair in text.partition("?")[2].split("&"):
        name, equals, value = pair.partition("=")
        if equals and SECRET_PARAMETER.search(unquote(name)):
            values.append(value)
    return values


def _forms(values: Iterable[str]) -> tuple[str, ...]:
    """Each value as written, and as URLs encode it: SQLAlchemy's userinfo, its query, fully
    percent-encoded; the longest first (a secret may hold another)."""
    forms = {
        form
        for value in values
        if value
        for form in (value, quote(value, safe=" +"), quote_plus(value), quote(value, safe=""))
    }
    return tuple(sorted(forms, key=len, reverse=True))


#: A webhook's path or query shorter than this is no token: masked where the URL is shown
#: (``shown_notify_url``), not in every text (``/hook`` would be masked in ``http://hook...``).
TOKEN_CHARACTERS = 8


def notify_secrets(text: str) -> tuple[str, ...]:
    """NOTIFY_URL's password and everything after its host (path, query, fragment), as written
    and decoded: a webhook's address is often its token."""
    parts = urlsplit(text.strip())
    values = [parts.password or "", unquote(parts.password or "")] if parts.netloc else [text.strip()]
    if parts.netloc:
        tail = text.strip().partition(parts.netloc)[2]
        # The whole of it, and its path and its query each alone, as a message may show them.
        for part in {tail, parts.path, parts.query, parts.fragment}:
            values += [part, unquote(part)] if len(part) >= TOKEN_CHARACTERS else []
    return _forms(values)


def shown_notify_url(text: str) -> str:
    """NOTIFY_URL as it may be shown: its scheme, user, host and port, the password and all that
    follows the host as ``***`` (``https://hooks.example.org/***``)."""
    parts = urlsplit(text.strip())
    if not parts.netloc:
        return MASK
    userinfo, at, host = parts.netloc.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    shown = f"{parts.scheme}://{user}{':' + MASK if colon else ''}{at}{host}"
    tail = text.strip().partition(parts.netloc)[2]
    return shown + tail if tail in ("", "/") else f"{shown}/{MASK}"


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def mask_values(value: Any, secrets: Iterable[str]) -> Any:
    """A JSON-like value (dicts, lists, strings) with its strings masked, before it is encoded
    (JSON's escapes would hide a secret from a search in the encoded text)."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, dict):
        return {mask_values(k, secrets): mask_values(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_values(v, secrets) for v in value]
    return value


def shown_url(url: URL) -> str:
    """``url`` as it may be shown: its password and secret query values as ``***``."""
    return mask(url.render_as_string(hide_password=True), url_secrets(url))


def mask_url_text(text: str) -> str:
    """A string that failed to parse as a URL, with what looks like its secrets hidden.

    The password may itself hold ``:`` and ``@``, so the user ends at the first ``:`` after
    ``//`` and the password at the last ``@``.
    """
    text = _SECRET_PAIR.sub(lambda found: found.group(1) + MASK, text)
    head, at, tail = text.rpartition("@")
    scheme, slashes, userinfo = head.rpartition("//")
    user, colon, _password = userinfo.partition(":")
    if not at or not colon:
        return text
    return f"{scheme}{slashes}{user}:{MASK}@{tail}"
