"""TRANSFORM (issue 11): the user's pandas function adds columns typed like any other, filters rows
while rejected rows keep their lines, and a function that raises or cannot be loaded is one error.

Oracles are the rows as written in the source, read back with plain SQL.
"""

from __future__ import annotations

from conftest import Database, load, write
from test_archives import FOLDERS

TRANSFORMS = """
def add_postcode_area(frame):
    frame["postcode_area"] = frame["POSTCODE"].str.extract(r"^([A-Z]{1,2})", expand=False)
    return frame


def skip_york(frame):
    return frame[frame["POSTCODE"].str.startswith("YO") == False]  # noqa: E712


def explode(frame):
    raise KeyError("POSTCODE_TYPO")
"""


def test_a_transform_adds_a_column_typed_like_any_other(db, table, tmp_path):
    for name, text in FOLDERS.items():
        write(tmp_path / "src", name, text)
    module = write(tmp_path, "cleanup.py", TRANSFORMS)
    report = load(tmp_path / "src", db, table, transform=f"{module}:add_postcode_area")
    assert report.error is None, report.error
    assert db.columns(table)[-1] == "postcode_area"
    assert sorted((str(r[0]), str(r[-1])) for r in db.rows(table)) == [
        ("k1", "LS"),
        ("k2", "LS"),
        ("k3", "YO"),
    ]


def test_rows_a_transform_filters_out_keep_rejected_rows_on_their_lines(tmp_path, table):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")  # bookkeeping, not the database's
    text = "LMK_KEY,POSTCODE,EFF\nk1,YO1 1AA,5\nk2,LS1 1AA,7\nk3,YO2 2BB,x\nk4,LS2 2BB,bad\n"
    write(tmp_path / "src", "a.csv", text)
    module = write(tmp_path, "cleanup.py", TRANSFORMS)
    report = load(tmp_path / "src", db, table, transform=f"{module}:skip_york", sample_rows=2, max_errors=1)
    assert report.error is None, report.error
    assert [(r.line, r.text) for r in report.rejects] == [(5, "k4,LS2 2BB,bad")]
    assert db.rows(table) == [("k2", "LS1 1AA", 7)]


def test_a_transform_that_raises_is_exit_10_naming_the_file_and_lines(tmp_path, cli):
    write(tmp_path / "src", "a.csv", 'LMK_KEY,POSTCODE\nk1,"LS1\n1AA"\nk2,YO1 1AA\n')
    module = write(tmp_path, "cleanup.py", TRANSFORMS)
    env = {"SRC_DATA_FOLDER": str(tmp_path / "src"), "TRANSFORM": f"{module}:explode"}
    code, _, err = cli([], env)
    assert code == 10
    assert err == f"error: a.csv: lines 2-4: TRANSFORM {module}:explode: KeyError: 'POSTCODE_TYPO'\n"
    code, _, err = cli(["--verbose"], env)
    assert code == 10
    assert 'raise KeyError("POSTCODE_TYPO")' in err
    assert "a" not in Database("sqlite", "sqlite:///import.db").tables()


def test_a_transform_that_cannot_be_loaded_is_exit_2(tmp_path, cli):
    module = write(tmp_path, "cleanup.py", TRANSFORMS)
    code, _, err = cli([], {"TRANSFORM": f"{module}:missing"})
    assert (code, err) == (2, f"error: TRANSFORM '{module}:missing': {module} has no function 'missing'\n")
