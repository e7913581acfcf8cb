"""Planned from a sample: a value past the sample that does not fit says how to plan from every row
(or which NA_VALUES would load it), where the sample is to blame and only there; profiling stops
when the run fails.
"""

from __future__ import annotations

import threading

import pytest
from conftest import Database, load, write

from processor.errors import Interrupted
from processor.executors import TaskContext, WorkerSetup
from processor.load.worker import ProfileTask, profile
from processor.plan.columns import map_columns
from processor.settings import parse_url
from processor.sources.discover import discover_files
from processor.sources.text import TextFormat


def test_a_misfit_past_the_sample_says_how_to_plan_from_every_row(db, table, tmp_path):
    write(tmp_path / "src", "a.csv", "n,v\n" + "".join(f"{i},{i}\n" for i in range(30)) + "30,N/A\n")
    report = load(tmp_path / "src", db, table, sample_rows=10)
    assert report.exit_code == 5
    assert str(report.error) == (
        "a.csv: line 32: column 'v': 'N/A' is not a 64-bit integer "
        "(1 row rejected so far, MAX_ERRORS=0; nothing was loaded); "
        "'N/A' is a common spelling of a missing value: NA_VALUES=N/A loads it as NULL"
    )


def test_a_misfit_against_an_existing_table_does_not_blame_the_sample(db, table, tmp_path):
    write(tmp_path / "old", "a.csv", "n,v\n1,1\n")
    write(tmp_path / "new", "b.csv", "n,v\n2,N/A\n")
    assert load(tmp_path / "old", db, table).error is None
    report = load(tmp_path / "new", db, table, if_exists="append")
    assert str(report.error) == (
        "b.csv: line 2: column 'v': 'N/A' is not a 64-bit integer "
        "(1 row rejected so far, MAX_ERRORS=0; nothing was loaded); "
        "'N/A' is a common spelling of a missing value: NA_VALUES=N/A loads it as NULL"
    )
    assert db.rows(table) == [(1, 1)]


def test_ragged_rows_do_not_blame_the_sample(tmp_path):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    write(tmp_path / "src", "a.csv", "n,v\n1,1\n2\n")
    report = load(tmp_path / "src", db, "t")
    assert str(report.error) == (
        "a.csv: line 3: expected 2 fields, found 1 (1 row rejected so far, MAX_ERRORS=0; nothing was loaded)"
    )


def test_profiling_stops_when_the_run_fails(tmp_path):
    """The stop event the parent sets when a task fails: a profile task sees it, like a load."""
    path = write(tmp_path / "src", "a.csv", "n\n" + "".join(f"{i}\n" for i in range(1000)))
    (source,) = discover_files(path.parent, "*.csv", None)
    stop = threading.Event()
    setup = WorkerSetup(parse_url(f"sqlite:///{tmp_path / 'o.db'}"), "INFO", "text", single_writer=True)
    context = TaskContext(setup.backend(), isolated=False, stopped=stop.is_set)
    task = ProfileTask(source, TextFormat(), map_columns(("n",), (), None, source.name), 0)
    assert profile(task, context).profile  # it runs while the run is well
    stop.set()
    with pytest.raises(Interrupted, match=r"^a\.csv: stopped because the run is failing or was interrupted$"):
        profile(task, context)


MARKERS = ["NA", "N/A", "n/a", "NULL", "null", "None", "-", "--", "?", "NaN", "#N/A", "\\N", "nan", "."]


@pytest.mark.parametrize("marker", MARKERS)
def test_a_late_missing_value_marker_suggests_na_values(tmp_path, marker):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    write(tmp_path / "src", "a.csv", "n,v\n" + "".join(f"{i},{i}\n" for i in range(5)) + f"5,{marker}\n")
    report = load(tmp_path / "src", db, "t", sample_rows=3)
    assert report.exit_code == 5
    assert str(report.error).endswith(
        f"(1 row rejected so far, MAX_ERRORS=0; nothing was loaded); {marker!r} is a common spelling "
        f"of a missing value: NA_VALUES={marker} loads it as NULL"
    )
    # The hint leads somewhere: with it, the run loads the marker as NULL.
    assert load(tmp_path / "src", db, "t", sample_rows=3, na_values=(marker,)).error is None
    assert db.rows("t", "n")[-1] == (5, None)


@pytest.mark.parametrize("value", ["2.5", "12a", "NAN!", "na"])
def test_a_late_value_that_is_no_marker_suggests_planning_from_every_row(tmp_path, value):
    db = Database("sqlite", f"sqlite:///{tmp_path / 'o.db'}")
    write(tmp_path / "src", "a.csv", "n,v\n" + "".join(f"{i},{i}\n" for i in range(5)) + f"5,{value}\n")
    report = load(tmp_path / "src", db, "t", sample_rows=3)
    assert str(report.error) == (
        f"a.csv: line 7: column 'v': {value!r} is not a 64-bit integer "
        "(1 row rejected so far, MAX_ERRORS=0; nothing was loaded); "
        "column types were planned from the first 3 rows of each file, "
        "SAMPLE_ROWS=0 plans them from every row"
    )
    assert load(tmp_path / "src", db, "t", sample_rows=0).error is None
