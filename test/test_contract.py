"""The data contract of DESIGN.md, on every database: nothing lost, nothing invented.

Each test loads real files into a real database and reads the table back.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from conftest import load, write

from processor.publish.target import staging_name


def test_column_names_kept_exactly(db, table, tmp_path):
    header = ["first name", "e.mail", "CamelCase", "naïve", "select", "order", "x-y"]
    write(tmp_path / "src", "a.csv", ",".join(f'"{h}"' for h in header) + "\n1,2,3,4,5,6,7\n")
    report = load(tmp_path / "src", db, table)
    assert report.error is None, report.error
    assert db.columns(table) == header
    assert db.rows(table) == [(1, 2, 3, 4, 5, 6, 7)]


def test_every_row_once_across_files(db, table, tmp_path):
    for n in range(3):
        rows = "".join(f"{n}-{i},{i}\n" for i in range(50))
        write(tmp_path / "src", f"part{n}/data.csv", "key,value\n" + rows)
    report = load(tmp_path / "src", db, table)
    assert report.error is None, report.error
    keys = sorted(r[0] for r in db.rows(table))
    assert keys == sorted(f"{n}-{i}" for n in range(3) for i in range(50))
    assert report.rows == 150


def test_leading_zeros_and_signs_stay_text(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "zip,plus,negzero,plain\n00123,+5,-0,7\n00001,+6,-0,8\n")
    assert load(tmp_path / "src", db, table).error is None
    assert db.rows(table, order_by="zip") == [("00001", "+6", "-0", 8), ("00123", "+5", "-0", 7)]


def test_big_integers_exact(db, table, tmp_path):
    big = 2**53 + 1
    write(
        tmp_path / "src",
        "a.csv",
        f"id,small,huge\n{big},1,{10**30}\n{-(2**63)},2,{10**30 + 1}\n{2**63 - 1},3,5\n",
    )
    assert load(tmp_path / "src", db, table).error is None
    rows = db.rows(table, order_by="small")
    assert [r[0] for r in rows] == [big, -(2**63), 2**63 - 1]
    assert [r[2] for r in rows] == [str(10**30), str(10**30 + 1), "5"]


def test_floats_round_trip(db, table, tmp_path):
    values = ["0.1", "1e-300", "123456.789012345", "-2.5", "3", "1.7976931348623157e308"]
    write(tmp_path / "src", "a.csv", "n,x\n" + "".join(f"{i},{v}\n" for i, v in enumerate(values)))
    assert load(tmp_path / "src", db, table).error is None
    got = [r[1] for r in db.rows(table, order_by="n")]
    assert got == [float(v) for v in values]
    assert all(isinstance(v, float) for v in got)


def test_only_empty_is_null(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", 'n,t\n1,NA\n2,null\n3,None\n4,\n5,""\n6, \n7,nan\n')
    assert load(tmp_path / "src", db, table).error is None
    assert [r[1] for r in db.rows(table, order_by="n")] == ["NA", "null", "None", None, None, " ", "nan"]


def test_na_values_setting(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "n,t\n1,NA\n2,-\n3,x\n")
    assert load(tmp_path / "src", db, table, na_values=("NA", "-")).error is None
    assert [r[1] for r in db.rows(table, order_by="n")] == [None, None, "x"]


def test_quotes_delimiters_newlines_in_fields(db, table, tmp_path):
    text = 'n,t\r\n1,"a, b"\r\n2,"say ""hi"""\r\n3,"line1\r\nline2"\r\n4,"  inner  space  "\r\n5,\\N\r\n'
    write(tmp_path / "src", "a.csv", text)
    assert load(tmp_path / "src", db, table).error is None
    assert [r[1] for r in db.rows(table, order_by="n")] == [
        "a, b",
        'say "hi"',
        "line1\r\nline2",
        "  inner  space  ",
        "\\N",
    ]


def test_utf8_bom_and_unicode(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "\ufeffname,city\nZoë,Ōsaka\n😀,Møn\n")
    assert load(tmp_path / "src", db, table).error is None
    assert db.columns(table) == ["name", "city"]
    assert sorted(db.rows(table)) == [("Zoë", "Ōsaka"), ("😀", "Møn")]


def test_latin1_with_encoding_setting(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "name,n\nCôté,1\nGrüße,2\n", encoding="latin-1")
    assert load(tmp_path / "src", db, table, src_encoding="latin-1").error is None
    assert db.rows(table, order_by="n") == [("Côté", 1), ("Grüße", 2)]


def test_imdb_style_tsv(db, table, tmp_path):
    text = (
        "tconst\ttitle\tyear\n"
        'tt0000001\tThe "Great" Train\t1903\n'
        "tt0000002\t\\N\t\\N\n"
        'tt0000003\t"Quoted\t1999\n'
    )
    write(tmp_path / "src", "title.basics.tsv", text)
    report = load(tmp_path / "src", db, table, src_file_name="*.tsv", src_quoting="none", na_values=("\\N",))
    assert report.error is None, report.error
    assert db.rows(table, order_by="tconst") == [
        ("tt0000001", 'The "Great" Train', 1903),
        ("tt0000002", None, None),
        ("tt0000003", '"Quoted', 1999),
    ]


def test_late_text_in_integer_column_fails_cleanly(db, table, tmp_path):
    rows = "".join(f"{i},{i}\n" for i in range(30))
    write(tmp_path / "src", "a.csv", "n,v\n" + rows + "30,N/A\n")
    report = load(tmp_path / "src", db, table, sample_rows=10, chunk_size=7)
    assert report.error is not None
    assert report.error.exit_code == 5
    assert "a.csv: line 32:" in str(report.error)
    assert "'N/A' is not a 64-bit integer" in str(report.error)
    assert not db.exists(table)
    assert not [t for t in db.tables() if t.startswith(staging_name(table, ""))]


def test_late_text_rejected_within_max_errors(db, table, tmp_path):
    rows = "".join(f"{i},{i}\n" for i in range(30))
    write(tmp_path / "src", "a.csv", "n,v\n" + rows + '30,"N/A"\n31,31\n')
    report = load(tmp_path / "src", db, table, sample_rows=10, chunk_size=7, max_errors=1)
    assert report.error is None, report.error
    assert [r[0] for r in db.rows(table, order_by="n")] == [*range(30), 31]
    rejects = (tmp_path / f"{table}.rejects.csv").read_text()
    assert rejects.splitlines()[1] == 'a.csv,32,column \'v\': \'N/A\' is not a 64-bit integer,"30,""N/A"""'


def test_sample_rows_zero_plans_from_every_row(db, table, tmp_path):
    rows = "".join(f"{i},{i}\n" for i in range(30))
    write(tmp_path / "src", "a.csv", "n,v\n" + rows + "30,N/A\n")
    report = load(tmp_path / "src", db, table, sample_rows=0, chunk_size=7)
    assert report.error is None, report.error
    values = [r[1] for r in db.rows(table, order_by="n")]
    assert values == [str(i) for i in range(30)] + ["N/A"]


def test_types_planned_from_all_files(db, table, tmp_path):
    write(tmp_path / "src", "1.csv", "a,b,c\n1,1,\n2,2,\n")
    write(tmp_path / "src", "2.csv", "a,b,c\n3,x,\n4,4.5,\n")
    assert load(tmp_path / "src", db, table).error is None
    assert sorted(db.rows(table)) == [(1, "1", None), (2, "2", None), (3, "x", None), (4, "4.5", None)]


def test_mixed_int_and_float_column_is_float(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "n,x\n1,1\n2,2.5\n3,\n")
    assert load(tmp_path / "src", db, table).error is None
    rows = db.rows(table, order_by="n")
    assert rows == [(1, 1.0), (2, 2.5), (3, None)]
    assert isinstance(rows[0][1], float)


@pytest.mark.parametrize("chunk_size", [1, 3, 1000])
def test_chunk_size_does_not_change_the_table(db, table, tmp_path, chunk_size):
    rows = "".join(f'{i},"v{i}, x",{i * 0.5}\n' for i in range(25))
    write(tmp_path / "src", "a.csv", "n,t,f\n" + rows)
    assert load(tmp_path / "src", db, table, chunk_size=chunk_size).error is None
    assert db.rows(table, order_by="n") == [(i, f"v{i}, x", i * 0.5) for i in range(25)]


def test_two_workers_give_the_same_table(db, table, tmp_path):
    for n in range(4):
        rows = "".join(f"{n * 100 + i},{'0' * (i % 3)}{i},{math.pi * i}\n" for i in range(40))
        write(tmp_path / "src", f"d{n}/c.csv", "n,code,f\n" + rows)
    one = load(tmp_path / "src", db, table, workers=1, chunk_size=9)
    assert one.error is None, one.error
    expected = db.rows(table, order_by="n")
    two = load(tmp_path / "src", db, table, workers=2, chunk_size=9, if_exists="replace")
    assert two.error is None, two.error
    assert db.rows(table, order_by="n") == expected
    assert len(expected) == 160


def test_header_only_file_adds_no_rows(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "n,t\n1,x\n")
    write(tmp_path / "src", "b.csv", "n,t\n")
    report = load(tmp_path / "src", db, table)
    assert report.error is None, report.error
    assert db.rows(table) == [(1, "x")]
    assert {f.name: f.rows for f in report.files} == {"a.csv": 1, "b.csv": 0}


def test_empty_file_is_skipped(db, table, tmp_path, caplog):
    write(tmp_path / "src", "a.csv", "n,t\n1,x\n")
    write(tmp_path / "src", "b.csv", "")
    report = load(tmp_path / "src", db, table)
    assert report.error is None, report.error
    assert db.rows(table) == [(1, "x")]
    assert "b.csv: empty file (0 bytes), skipped" in caplog.text


def test_compressed_files(db, table, tmp_path):
    import bz2
    import gzip
    import lzma
    import zipfile

    src = tmp_path / "src"
    src.mkdir()
    (src / "a.csv.gz").write_bytes(gzip.compress(b"n,t\n1,gz\n"))
    (src / "b.csv.bz2").write_bytes(bz2.compress(b"n,t\n2,bz2\n"))
    (src / "c.csv.xz").write_bytes(lzma.compress(b"n,t\n3,xz\n"))
    with zipfile.ZipFile(src / "d.csv.zip", "w") as archive:
        archive.writestr("d.csv", "n,t\n4,zip\n")
    assert load(src, db, table, src_file_name="*.csv.*").error is None
    assert db.rows(table, order_by="n") == [(1, "gz"), (2, "bz2"), (3, "xz"), (4, "zip")]


def test_replace_swaps_and_append_adds(db, table, tmp_path):
    write(tmp_path / "one", "a.csv", "n\n1\n2\n")
    write(tmp_path / "two", "b.csv", "n\n3\n")
    assert load(tmp_path / "one", db, table).error is None
    assert load(tmp_path / "two", db, table, if_exists="append").error is None
    assert sorted(db.rows(table)) == [(1,), (2,), (3,)]
    # 1 row for 3: MAX_SHRINK (test_max_shrink.py) would refuse it
    assert load(tmp_path / "two", db, table, if_exists="replace", max_shrink=0).error is None
    assert db.rows(table) == [(3,)]
    assert not [t for t in db.tables() if t.startswith(staging_name(table, ""))]


def test_long_integers_and_floats_in_different_files_stay_exact(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "n,x\n1,9007199254740993\n")  # 2**53 + 1: no double holds it
    write(tmp_path / "src", "b.csv", "n,x\n2,1.5\n")
    report = load(tmp_path / "src", db, table)
    assert report.error is None, report.error
    values = [x for _, x in db.rows(table, order_by="n")]
    assert not any(isinstance(x, float) for x in values)
    assert [Decimal(str(x)) for x in values] == [Decimal("9007199254740993"), Decimal("1.5")]
