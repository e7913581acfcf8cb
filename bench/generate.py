"""Generate an EPC-like dataset: folders of ``certificates.csv`` with the traps real data has.

The traps are the ones that broke the naive importer: 28-digit keys (beyond 64 bits),
zero-padded ids, integer columns with empty fields, quoted text holding commas, quotes and
non-ASCII letters.  The output is deterministic for a given seed, so runs can be compared.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

STREETS = np.array(["High Street", "Station Road", "Church Lane", "Mill Road", "Côté Close", "Ōtaki Way"])
TOWNS = np.array(["LONDON", "LEEDS", "BRISTOL", "YORK", "Ynys Môn", "ST. IVES"])
RATINGS = np.array(list("ABCDEFG"))
PROPERTY_TYPES = np.array(["House", "Flat", "Maisonette", "Bungalow", "Park home"])
TENURES = np.array(["owner-occupied", "rental (private)", "rental (social)", "NO DATA!", "NA"])
GLAZING = np.array(["double glazing installed during or after 2002", "single glazing", ""])
DESCRIPTIONS = np.array(
    [
        "Cavity wall, filled cavity",
        "Solid brick, as built, no insulation (assumed)",
        "Pitched, 270 mm loft insulation",
        'Room heaters, "electric"',
        "Boiler and radiators, mains gas\nsecond line",
        "Suspended, no insulation (assumed)",
    ]
)

# (name prefix, kind, count): 94 columns in all, in the proportions of the real download.
LAYOUT = [
    ("INT", "int", 17),
    ("INT_SPARSE", "int_sparse", 13),
    ("FLOAT", "float", 15),
    ("RATING", "rating", 6),
    ("DESC", "description", 22),
    ("FLAG", "flag", 10),
]


def _digits(rng: np.random.Generator, rows: int, width: int, lead_zero: bool) -> np.ndarray:
    digits = rng.integers(0, 10, size=(rows, width), dtype=np.uint8) + ord("0")
    if lead_zero:
        digits[:, :3] = ord("0")
    else:
        digits[:, 0] = rng.integers(1, 10, size=rows, dtype=np.uint8) + ord("0")
    return digits.view(f"S{width}").ravel().astype(str)


def _with_blanks(rng: np.random.Generator, values: np.ndarray, share: float) -> pa.Array:
    mask = rng.random(len(values)) < share
    return pa.array(values, mask=mask)


def make_table(rows: int, seed: int) -> pa.Table:
    """Build one file's rows as an Arrow table of strings and numbers."""
    rng = np.random.default_rng(seed)
    cols: dict[str, pa.Array] = {
        "LMK_KEY": pa.array(_digits(rng, rows, 28, lead_zero=False)),
        "BUILDING_REFERENCE_NUMBER": pa.array(_digits(rng, rows, 10, lead_zero=True)),
        "ADDRESS1": pa.array(
            np.char.add(
                np.char.add(rng.integers(1, 300, rows).astype(str), ", "),
                rng.choice(STREETS, rows),
            )
        ),
        "ADDRESS2": _with_blanks(
            rng, np.char.add('The "Old" ', rng.choice(["Mill", "Forge", "Dairy"], rows)), 0.5
        ),
        "POSTTOWN": pa.array(rng.choice(TOWNS, rows)),
        "POSTCODE": pa.array(np.char.add("SW1A ", rng.integers(0, 10, rows).astype(str))),
        "UPRN": _with_blanks(rng, rng.integers(10**10, 10**12, rows), 0.1),
        "INSPECTION_DATE": pa.array(
            np.datetime_as_string(
                np.datetime64("2008-10-01") + rng.integers(0, 5000, rows).astype("timedelta64[D]")
            )
        ),
        "PROPERTY_TYPE": pa.array(rng.choice(PROPERTY_TYPES, rows)),
        "TENURE": pa.array(rng.choice(TENURES, rows)),
        "WINDOWS_DESCRIPTION": _with_blanks(rng, rng.choice(GLAZING, rows), 0.2),
    }
    for prefix, kind, count in LAYOUT:
        for i in range(count):
            name = f"{prefix}_{i + 1}"
            if kind == "int":
                cols[name] = pa.array(rng.integers(-50, 1000, rows))
            elif kind == "int_sparse":
                cols[name] = _with_blanks(rng, rng.integers(0, 100000, rows), 0.3)
            elif kind == "float":
                # + 0.0 turns -0.0 into 0.0: "-0" is text under the data contract, not a float.
                cols[name] = pa.array(np.round(rng.normal(100, 40, rows), 3) + 0.0)
            elif kind == "rating":
                cols[name] = pa.array(rng.choice(RATINGS, rows))
            elif kind == "description":
                cols[name] = _with_blanks(rng, rng.choice(DESCRIPTIONS, rows), 0.05)
            else:
                cols[name] = pa.array(rng.choice(["Y", "N", "NA", "null"], rows))
    return pa.table(cols)


# Rows built in memory at a time: a 2 GB file is written piece by piece.
PIECE_ROWS = 50_000


def generate(out: Path, files: int, rows: int, seed: int = 1) -> list[Path]:
    """Write ``files`` folders under ``out``, each with a ``certificates.csv`` of ``rows`` rows."""
    paths = []
    for n in range(files):
        folder = out / f"domestic-E{n:08d}-District-{n}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "certificates.csv"
        write_file(path, rows, seed + n * 1000)
        paths.append(path)
    return paths


def write_file(path: Path, rows: int, seed: int) -> None:
    """One CSV file of ``rows`` rows, built and written ``PIECE_ROWS`` at a time."""
    schema = make_table(1, seed).schema
    with pacsv.CSVWriter(path, schema) as writer:
        for piece, start in enumerate(range(0, rows, PIECE_ROWS)):
            writer.write_table(make_table(min(PIECE_ROWS, rows - start), seed + piece).cast(schema))


#: The amounts file's columns besides its amounts, and its amounts (two decimals each).
AMOUNT_COLUMNS = 11


def write_amounts(path: Path, rows: int, seed: int = 1) -> None:
    """One CSV file of ``rows`` rows of an id, two texts, a code and ``AMOUNT_COLUMNS``
    amounts in pence (``-1234.05``: every value two decimals, up to ten digits before the
    point), for the decimals-against-doubles case."""
    with pacsv.CSVWriter(path, _amounts(1, seed).schema) as writer:
        for piece, start in enumerate(range(0, rows, PIECE_ROWS)):
            writer.write_table(_amounts(min(PIECE_ROWS, rows - start), seed + piece, start))


def _amounts(rows: int, seed: int, first: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    cols = {
        "ID": pa.array(np.arange(first, first + rows)),
        "STREET": pa.array(rng.choice(STREETS, rows)),
        "CODE": pa.array(rng.integers(0, 99_999, rows)),
        "TOWN": pa.array(rng.choice(TOWNS, rows)),
    }
    for n in range(AMOUNT_COLUMNS):
        pence = rng.integers(-(10**11), 10**12, rows)
        whole = pc.cast(pa.array(np.abs(pence) // 100), pa.string())
        cents = pc.utf8_lpad(pc.cast(pa.array(np.abs(pence) % 100), pa.string()), 2, "0")
        sign = pa.array(np.where(pence < 0, "-", ""))
        cols[f"AMOUNT_{n}"] = pc.binary_join_element_wise(sign, whole, ".", cents, "")
    return pa.table(cols)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--rows", type=int, default=20000, help="rows per file")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    paths = generate(args.out, args.files, args.rows, args.seed)
    size = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} files, {args.files * args.rows} rows, {size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
