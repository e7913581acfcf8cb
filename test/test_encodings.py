"""Byte-order marks and encodings (issue 19): every codec's BOM dropped, with or without a header;
Excel's Unicode text on every database; an encoding error suggests the likely encoding.
"""

from __future__ import annotations

import codecs
import encodings
import encodings.aliases
import pkgutil

import pytest
from conftest import Database, load, write
from test_quotes import nothing_written

BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)


def codecs_with_a_bom() -> list[str]:
    """Every codec Python has whose U+FEFF is a byte-order mark (found, not listed by hand)."""
    modules = {m.name for m in pkgutil.iter_modules(encodings.__path__)}
    names = set(encodings.aliases.aliases.values()) | modules
    found = set()
    for name in names:
        try:
            info = codecs.lookup(name)
            marked = codecs.encode("\ufeff", info.name)
        except (LookupError, UnicodeError, TypeError, ValueError):
            continue
        if isinstance(marked, bytes) and marked.startswith(BOMS):
            found.add(info.name)
    return sorted(found)


def with_bom(text: str, encoding: str) -> bytes:
    """``text`` in ``encoding``, led by its byte-order mark (once: some codecs write their own)."""
    plain = text.encode(encoding)
    return plain if plain.startswith(BOMS) else ("\ufeff" + text).encode(encoding)


def test_the_class_of_codecs_with_a_bom():
    assert codecs_with_a_bom() == [
        "utf-16",
        "utf-16-be",
        "utf-16-le",
        "utf-32",
        "utf-32-be",
        "utf-32-le",
        "utf-8",
        "utf-8-sig",
    ]


@pytest.mark.parametrize("encoding", codecs_with_a_bom())
@pytest.mark.parametrize("header", [True, False])
def test_every_byte_order_mark_is_dropped(tmp_path, encoding, header):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")
    text = ("name,v\n" if header else "") + "é1,x\nb,y\n"
    write(tmp_path / "src", "a.csv", with_bom(text, encoding))
    overrides: dict[str, object] = {"src_encoding": encoding}
    if not header:
        overrides |= {"src_header": False, "src_columns": ("name", "v")}
    report = load(tmp_path / "src", db, "t", **overrides)
    assert report.error is None, report.error
    assert db.columns("t") == ["name", "v"]
    assert db.rows("t", order_by="v") == [("é1", "x"), ("b", "y")]


def test_excel_unicode_text_with_its_bom_on_every_database(db, table, tmp_path):
    write(tmp_path / "src", "a.txt", with_bom("id\tname\n1\tÅsa\n", "utf-16-le"))
    report = load(tmp_path / "src", db, table, src_file_name="*.txt", src_encoding="utf-16-le")
    assert report.error is None, report.error
    assert db.columns(table) == ["id", "name"]
    assert db.rows(table) == [(1, "Åsa")]


@pytest.mark.parametrize(
    ("content", "named", "likely"),
    [
        (with_bom("n,t\n1,café\n", "utf-16-le"), "utf-8", "utf-16"),  # its byte-order mark
        (with_bom("n,t\n1,café\n", "utf-32-be"), "utf-8", "utf-32"),
        ("n,t\n1,café\n".encode("utf-16-le"), "utf-8", "utf-16-le"),  # NUL every other byte
        ("n,t\n1,café\n".encode("utf-16-be"), "utf-8", "utf-16-be"),
        (b"n,t\n1,caf\xe9 \x80\n", "utf-8", "cp1252"),  # the euro sign of cp1252
        (b"n,t\n1,caf\xe9 \x81\n", "utf-8", "latin-1"),  # \x81: no character of cp1252
        ("n,t\n1,café\n".encode(), "ascii", "utf-8"),
    ],
)
def test_an_encoding_error_suggests_the_likely_encoding(tmp_path, content, named, likely):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")
    write(tmp_path / "src", "a.csv", content)
    report = load(tmp_path / "src", db, "t", src_encoding=named)
    assert report.exit_code == 3
    message = str(report.error)
    assert message.startswith("a.csv: ")
    assert f"bytes not valid {codecs.lookup(named).name}; set SRC_ENCODING to the files' encoding" in message
    assert message.endswith(f"(it looks like {likely}: SRC_ENCODING={likely})")
    assert nothing_written(db, "t")
