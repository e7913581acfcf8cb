"""Source files that are not what they seemed (issue 19): a matched name that is no file (a broken
symlink, a loop, a FIFO), a folder that loops back on itself, a file deleted during the run: exit 3,
never skipped and never "unexpected error".
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import Database, write
from test_transform_failures import _env


def _source_with(tmp_path: Path, kind: str) -> str:
    """A source folder holding a.csv and a b.csv that is no file to read; b.csv's message."""
    write(tmp_path / "src", "a.csv", "n\n1\n")
    b = tmp_path / "src" / "b.csv"
    if kind == "broken symlink":
        b.symlink_to(tmp_path / "gone.csv")
        return f"b.csv: cannot be read: a symbolic link to {tmp_path / 'gone.csv'}, which leads to no file"
    if kind == "symlink loop":
        b.symlink_to("b.csv")
        return "b.csv: cannot be read: a symbolic link to b.csv, which leads to no file"
    os.mkfifo(b)
    return "b.csv: cannot be read: not a regular file (a named pipe, socket or device)"


@pytest.mark.parametrize("kind", ["broken symlink", "symlink loop", "fifo"])
def test_a_matched_name_that_is_no_file_is_exit_3_not_skipped(tmp_path, cli, kind):
    message = _source_with(tmp_path, kind)
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    code, out, err = cli([], _env(tmp_path, database))
    assert (code, out, err) == (3, "", f"error: {message}\n")
    assert not (tmp_path / "out.db").exists()


def test_a_folder_that_loops_back_on_itself_is_exit_3(tmp_path, cli):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "self").symlink_to(tmp_path / "src")
    code, _, err = cli([], {"SRC_DATA_FOLDER": str(tmp_path / "src"), "SRC_FILE_NAME": "**/*.csv"})
    assert (code, err) == (3, f"error: no file matches SRC_FILE_NAME='**/*.csv' in {tmp_path / 'src'}\n")


# Deletes b.csv at the n-th chunk it is given: 1 is a.csv's sample, 3 is a.csv's load (WORKERS=1).
DELETE = """
import pathlib

calls = 0


def delete_b(frame):
    global calls
    calls += 1
    if calls == {at}:
        pathlib.Path(__file__).with_name("src").joinpath("b.csv").unlink()
    return frame
"""


@pytest.mark.parametrize("at", [1, 3])
def test_a_source_file_deleted_during_the_run_is_exit_3(tmp_path, cli, at):
    write(tmp_path / "src", "a.csv", "n\n1\n")
    b = write(tmp_path / "src", "b.csv", "n\n2\n")
    module = write(tmp_path, "delete.py", DELETE.replace("{at}", str(at)))
    database = Database("sqlite", f"sqlite:///{tmp_path / 'out.db'}")
    code, out, err = cli([], _env(tmp_path, database, TRANSFORM=f"{module}:delete_b"))
    assert (code, out) == (3, "")
    assert err == f"error: b.csv: no longer found at {b}: deleted or moved during the run\n"
    assert "t" not in database.tables()
