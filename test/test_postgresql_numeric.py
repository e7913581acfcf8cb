"""Exact decimals go to PostgreSQL by binary COPY, each value with the scale it was written with.

Issue 22: a table with decimal columns left binary COPY for CSV COPY (twice the server's CPU).
``postgresql_numeric`` encodes the checked decimal text in ``numeric``'s binary form; the oracle
is the server's own text output of what it stored, compared byte for byte with the input.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from conftest import load, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pgpq import ArrowToPostgresBinaryEncoder

from processor.backends.postgresql_numeric import numeric_binary, numeric_for_copy, scaled_integers
from processor.shapes import bytes_of, decimal_places


def always_binary(values: pa.Array) -> pa.Array:
    """numeric's own binary form whatever the scales (``numeric_for_copy`` takes decimal128
    where a chunk's scales are all one)."""
    text = pc.cast(
        values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values, pa.large_string()
    )
    return numeric_binary(text, *decimal_places(bytes_of(text)))


ENCODERS = pytest.mark.parametrize("encode", [numeric_for_copy, always_binary], ids=["chosen", "binary"])

EDGES = [
    "0",
    "1",
    "-1",
    "0.5",
    "-0.0001",
    "9999",
    "10000",
    "-10000.0000",
    "0.00000",
    "0.00010000",
    "12340000",
    "1.50",
    "1.5",
    "100000000.000000001",
    "-98765432109876543210.0123456789",
    "9" * 1000 + "." + "9" * 1000,
    "1" + "0" * 4000,
    "0." + "0" * 3999 + "1",
]


def stored_text(
    db, values: pa.Array, column_type: str = "numeric", encode=numeric_for_copy
) -> list[str | None]:
    """Binary COPY the encoded values into a temporary table; the server's text of each row."""
    table = pa.table({"d": encode(values)})
    encoder = ArrowToPostgresBinaryEncoder(table.schema)
    data = bytes(encoder.write_header())
    data += b"".join(bytes(encoder.write_batch(b)) for b in table.to_batches())
    data += bytes(encoder.finish())
    connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(f"CREATE TEMPORARY TABLE n (i serial, d {column_type})")
        cursor.copy_expert("COPY n (d) FROM STDIN WITH (FORMAT binary)", io.BytesIO(data))
        cursor.execute("SELECT d::text FROM n ORDER BY i")
        return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()
        db.engine.dispose()


def plain_decimal() -> st.SearchStrategy[str]:
    whole = st.one_of(st.just("0"), st.from_regex(r"[1-9][0-9]{0,45}", fullmatch=True))
    fraction = st.one_of(st.just(""), st.from_regex(r"\.[0-9]{1,45}", fullmatch=True))
    sign = st.sampled_from(["", "-"])

    def joined(parts: tuple[str, str, str]) -> str:
        text = "".join(parts)
        return text[1:] if text.startswith("-") and text.strip("-0.") == "" else text  # no -0

    return st.tuples(sign, whole, fraction).map(joined)


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
@ENCODERS
def test_edge_values_are_stored_as_written(db, encode):
    values = [*EDGES, None, *(None for _ in range(3))]
    assert stored_text(db, pa.array(values), encode=encode) == values


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
@ENCODERS
def test_a_slice_with_nulls_an_empty_and_an_all_null_array(db, encode):
    values = pa.array([None, "1.25", None, "-7", "0.001", None])
    assert stored_text(db, values.slice(1, 4), encode=encode) == ["1.25", None, "-7", "0.001"]
    assert stored_text(db, values.slice(1, 1), encode=encode) == ["1.25"]
    assert stored_text(db, pa.array([None, None], pa.string()), encode=encode) == [None, None]
    assert stored_text(db, pa.array([], pa.string()), encode=encode) == []
    chunked = pa.chunked_array([pa.array(["1.0"]), pa.array(["-2.50", None])])
    assert stored_text(db, chunked, encode=encode) == ["1.0", "-2.50", None]


def scaled(values: Sequence[str | None]) -> tuple[list[int], int] | None:
    text = pa.array(values, pa.large_string())
    found = scaled_integers(text, np.asarray(pc.is_valid(text).to_numpy(zero_copy_only=False), dtype=bool))
    return None if found is None else (found[0].tolist(), found[1])


def test_each_chunk_goes_in_the_cheapest_form_that_holds_it():
    """One scale and at most 15 digits: integers read through doubles, in fields of one width;
    one scale and more digits: decimal128 (pgpq); several scales: numeric's form from the text."""
    assert scaled(["1.50", None, "-20.00"]) == ([150, 0, -2000], 2)
    assert scaled(["999999999999999", "-999999999999999"]) == ([10**15 - 1, 1 - 10**15], 0)
    assert scaled(["0.99999999999999", "-1.00000000000000"]) == ([10**14 - 1, -(10**14)], 14)
    fixed = numeric_for_copy(pa.array(["1.50", None, "-20.00", "123456789.25"]))
    assert fixed.type == pa.large_binary()
    assert len({len(v) for v in fixed.to_pylist() if v is not None}) == 1
    assert scaled(["0.000000000000001", "-0.100000000000000"]) == ([1, -(10**14)], 15)
    for other in (["1.5", "-20.00"], ["1000000000000000"], ["0.0000000000000001"], ["-1", "1.0"], [None]):
        assert scaled(other) is None, other  # several scales; 16 digits; 16 after the point; all null
    assert numeric_for_copy(pa.array(["1000000000000000.5", "-1.0"])).type == pa.decimal128(38, 1)
    assert numeric_for_copy(pa.array(["1.5", "-20.00"])).type == pa.large_binary()
    assert numeric_for_copy(pa.array(["1" * 37 + ".25"])).type == pa.large_binary()  # 39 digits


@pytest.mark.parametrize("scale", range(16))
def test_short_decimals_of_one_scale_read_as_doubles_are_the_exact_integers(scale):
    """Every digit count up to 15 at every scale, with random digits and the extremes: the
    integers are the digits without the point, read by Python (no double in the oracle)."""
    rng = random.Random(scale)
    values = []
    for digits in range(max(scale, 1), 16):
        for _ in range(200):
            number = rng.randrange(10 ** (digits - 1) if digits > 1 else 0, 10**digits)
            values.append(number)
        values += [10**digits - 1, 10 ** (digits - 1)]
    texts = []
    for number in values:
        padded = f"{number:0{scale + 1}d}"
        text = f"{padded[:-scale]}.{padded[-scale:]}" if scale else padded
        texts += [text, "-" + text if number else text]
    assert scaled(texts) == ([int(t.replace(".", "")) for t in texts], scale)


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 15), st.data())
def test_short_decimals_of_one_scale_are_stored_as_written(db, scale, data):
    digits = st.integers(0, 10 ** (15 - scale) - 1)
    whole = data.draw(st.lists(st.one_of(st.none(), st.tuples(st.booleans(), digits)), max_size=40))
    fraction = "7" * scale
    values = [
        None if w is None else f"{'-' if w[0] else ''}{w[1]}{'.' + fraction if scale else ''}" for w in whole
    ]
    values = [None if v is None else "0" if v == "-0" else v for v in values]  # no -0
    assert stored_text(db, pa.array(values, pa.string())) == values


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.none(), plain_decimal()), max_size=60), st.integers(0, 20))
def test_any_plain_decimals_are_stored_as_written(db, values, scale):
    assert stored_text(db, pa.array(values, pa.string()), encode=always_binary) == values
    same_scale = [
        v if v is None else f"{v.split('.')[0]}.{'7' * scale}" if scale else v.split(".")[0] for v in values
    ]
    same_scale = [
        v[1:] if v is not None and v.startswith("-") and v.strip("-0.") == "" else v for v in same_scale
    ]
    assert stored_text(db, pa.array(same_scale, pa.string())) == same_scale


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
@ENCODERS
def test_a_bounded_column_reads_them_as_from_text(db, encode):
    """NUMERIC(10,2) rounds a value's zeros past its scale away, as from text; never a digit."""
    assert stored_text(db, pa.array(["1.500", "-12345678.90", "3"]), "numeric(10,2)", encode) == [
        "1.50",
        "-12345678.90",
        "3.00",
    ]
    # One scale each (the doubles' path, where ``encode`` chooses): as from text too.
    assert stored_text(db, pa.array(["1.500", "-2.250", None]), "numeric(10,2)", encode) == [
        "1.50",
        "-2.25",
        None,
    ]
    assert stored_text(db, pa.array(["3", "-40"]), "numeric(10,2)", encode) == ["3.00", "-40.00"]


@pytest.mark.parametrize("text", ["1e5", "+1", "1,5", "abc", " 1", "1.", ".5", "-", "--5", "5-", "1-5", ""])
def test_anything_but_plain_decimal_text_is_refused_or_the_same_number(text):
    """The pipeline hands over only plain decimals; anything else is refused, or (where Arrow's
    cast reads it, in a chunk of one scale) the very number it spells, never another."""
    with pytest.raises(ValueError, match="not plain decimal text"):
        numeric_for_copy(pa.array(["1.25", "-3", text]))  # several scales: numeric's own form
    try:
        encoded = numeric_for_copy(pa.array(["1", text]))
    except ValueError:
        return
    assert pa.types.is_decimal(encoded.type)
    assert Decimal(encoded[1].as_py()) == Decimal(text.replace(",", "."))


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
@pytest.mark.parametrize("text", ["1.2.55", "-1.55", "1-.55", "12-.5", "-.55", "..55", "-0.55"])
def test_text_with_the_point_in_its_place_and_no_other_character_is_still_a_number(db, text):
    """A chunk of one scale is recognised by the point's place from the end of each value and
    read as doubles: a second point or a stray minus sign is refused there, not misread."""
    try:
        stored = stored_text(db, pa.array(["1.25", text]))
    except ValueError:
        return
    assert stored == ["1.25", stored[1]]
    assert Decimal(str(stored[1])) == Decimal(text)


def test_a_number_beyond_numeric_is_refused_not_wrapped():
    with pytest.raises(ValueError, match="more digits than PostgreSQL's numeric holds"):
        numeric_for_copy(pa.array(["9" * 140_000]))


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_decimal_table_loads_by_binary_copy_and_rejects_what_numeric_cannot_hold(db, table, tmp_path):
    rng = random.Random(22)
    rows = [f"{rng.randrange(-(10**30), 10**30)}.{rng.randrange(0, 10**6):06d}" for _ in range(12_000)]
    rows[5] = "-0.000100"
    too_long = "9" * 140_000
    body = "\n".join(f"{i},{v},{v}" for i, v in enumerate(rows))
    write(tmp_path, "a.csv", f"i,d,e\n{body}\n{len(rows)},1.5,{too_long}\n")
    report = load(tmp_path, db, table, chunk_size=5000, max_errors=1)
    assert report.error is None, report.error
    assert report.write_paths == ["binary COPY from Arrow (pgpq, psycopg2)"]
    engine = db.engine
    try:
        with engine.connect() as conn:
            types = dict(
                conn.exec_driver_sql(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s",
                    (table,),
                ).all()
            )
            stored = conn.exec_driver_sql(f'SELECT i, d::text, e::text FROM "{table}" ORDER BY i').all()
    finally:
        engine.dispose()
    assert types == {"i": "bigint", "d": "numeric", "e": "numeric"}
    assert stored == [(i, v, v) for i, v in enumerate(rows)]
    limit = csv.field_size_limit(1 << 20)  # the rejected value is 140,000 digits long
    try:
        with open(tmp_path.parent / f"{table}.rejects.csv", newline="") as rejects:
            [(source, line, reason, _text)] = list(csv.reader(rejects))[1:]
    finally:
        csv.field_size_limit(limit)  # the importer's header reading counts on the default
    assert (source, line) == ("a.csv", str(len(rows) + 2))
    assert reason.endswith("is not a decimal of at most 131072 digits before the point and 16383 after")
