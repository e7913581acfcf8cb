"""Issue 20, "A documented Python API": ``import_folder`` and its siblings on real databases.

Oracles are plain: the rows read back through the driver (``Database.rows``), the exit statuses
as the README's table states them (written out below, not taken from ``processor.errors``),
``signal.getsignal`` before, during and after a run, and the README's own example run verbatim.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, SERVERS, Database, need_server, write

import processor
from processor import ConfigError, ImporterError, import_folder
from processor.publish.target import staging_name
from processor.settings import keyword_settings, load_settings

#: Called by the TRANSFORM file below with each chunk, in the run's own process (WORKERS=1).
ON_CHUNK: list[Callable[[], None]] = []
HOOK = """
import test_api


def hook(frame):
    for on_chunk in test_api.ON_CHUNK:
        on_chunk()
    return frame
"""
SEED = "id,name\n1,one\n2,two\n3,three\n"
SEEDED = [(1, "one"), (2, "two"), (3, "three")]


def seed(tmp_path: Path, db: Database, table: str) -> Path:
    """A table of three rows, loaded through the API; the folder the failing runs read."""
    write(tmp_path / "seed", "s.csv", SEED)
    report = import_folder(tmp_path / "seed", db.url, table, workers=1)
    assert report.rows == 3
    assert report.error is None
    assert sorted(db.rows(table)) == SEEDED
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


def hook_file(tmp_path: Path) -> str:
    path = tmp_path / "hook.py"
    path.write_text(HOOK)
    return f"{path}:hook"


def test_import_returns_the_report_with_its_rows(db: Database, table: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write(folder, "a.csv", "id,name\n1,x\n2,y\n")
    write(folder, "sub/b.csv", "id,name\n3,z\n")
    report = import_folder(folder, db.url, table, workers=2, if_exists="replace", na_values=["NA"])
    assert isinstance(report, processor.RunReport)
    assert report.error is None
    assert report.status == "ok"
    assert report.published
    assert report.rows == 3
    assert sorted(f.name for f in report.files) == ["a.csv", "sub/b.csv"]
    assert sorted(db.rows(table)) == [(1, "x"), (2, "y"), (3, "z")]


#: The failures, each with the exit status the README's table gives it and what makes it: the
#: files of the failing run and its keywords (``{folder}``/``{hook}`` filled in by the test).
FAILURES: dict[str, tuple[type[ImporterError], int, dict[str, str], dict[str, Any]]] = {
    "config": (ConfigError, 2, {"a.csv": "id,name\n4,four\n"}, {"chunk_size": 0}),
    "source": (processor.SourceError, 3, {"a.csv": "id,name\n4,four\n"}, {"src_file_name": "*.tsv"}),
    "schema": (processor.SchemaError, 4, {"a.csv": "id,name\n4,x\n", "b.csv": "id,other\n5,y\n"}, {}),
    "rejects": (processor.RejectLimitError, 5, {"a.csv": "id,name\n4,x\n5,y,extra\n"}, {}),
    "exists": (processor.TargetExistsError, 7, {"a.csv": "id,name\n4,four\n"}, {"if_exists": "fail"}),
    "transform": (processor.TransformError, 10, {"a.csv": "id,name\n4,four\n"}, {"transform": "{hook}"}),
    "shrink": (processor.ShrinkError, 11, {"a.csv": "id,name\n4,four\n"}, {}),
    "side output": (
        processor.SideOutputError,
        12,
        {"a.csv": "id,name\n4,x\n5,y,extra\n6,z\n"},
        {"max_errors": 5, "rejects_path": "/dev/full"},
    ),
}


@pytest.mark.parametrize("kind", FAILURES)
def test_each_failure_raises_its_error_and_leaves_the_target(
    kind: str, db: Database, table: str, tmp_path: Path
) -> None:
    error_type, exit_code, files, keywords = FAILURES[kind]
    folder = seed(tmp_path, db, table)
    for name, text in files.items():
        write(folder, name, text)
    keywords = {
        "rejects_path": tmp_path / "rejects.csv",  # not the default, beside the current folder
        **{k: v.format(hook=hook_file(tmp_path)) if isinstance(v, str) else v for k, v in keywords.items()},
    }

    def fail() -> None:
        raise ValueError("the function failed")

    ON_CHUNK.append(fail)
    try:
        with pytest.raises(error_type) as raised:
            import_folder(folder, db.url, table, **{"workers": 1, "if_exists": "replace", **keywords})
    finally:
        ON_CHUNK.remove(fail)
    error = raised.value
    assert error.exit_code == exit_code
    assert error.report is not None
    assert error.report.status == "failed"
    assert error.report.error is error
    assert error.report.exit_code == exit_code
    assert not error.report.published
    assert sorted(db.rows(table)) == SEEDED


def test_a_locked_table_raises_lock_error(db: Database, table: str, tmp_path: Path) -> None:
    folder = seed(tmp_path, db, table)
    write(folder, "a.csv", SEED + "4,four\n")
    with db.import_lock(table), pytest.raises(processor.LockError) as raised:
        import_folder(folder, db.url, table, workers=1, if_exists="replace", lock_timeout=0)
    assert raised.value.exit_code == 9
    assert sorted(db.rows(table)) == SEEDED


def test_a_crashed_worker_raises_worker_crashed(db: Database, table: str, tmp_path: Path) -> None:
    folder = seed(tmp_path, db, table)
    write(folder, "a.csv", SEED + "4,four\n")
    write(folder, "b.csv", "id,name\n5,five\n")  # two files: a pool of two (one runs inline)
    kill = tmp_path / "kill.py"  # kills a pool worker, never this process
    kill.write_text(
        f"import os, signal\n\ndef hook(frame):\n    if os.getpid() != {os.getpid()}:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n    return frame\n"
    )
    with pytest.raises(processor.WorkerCrashed) as raised:
        import_folder(folder, db.url, table, workers=2, if_exists="replace", transform=f"{kill}:hook")
    assert raised.value.exit_code == 8
    assert sorted(db.rows(table)) == SEEDED


def test_an_unreachable_database_raises_database_error(tmp_path: Path) -> None:
    write(tmp_path / "in", "a.csv", SEED)
    unreachable = "postgresql://postgres@127.0.0.1:1/test"  # port 1: nothing listens
    with pytest.raises(processor.DatabaseError) as raised:
        import_folder(tmp_path / "in", unreachable, "t", workers=1)
    assert raised.value.exit_code == 6
    assert "127.0.0.1" in str(raised.value)


def test_a_signal_with_handle_signals_raises_interrupted(db: Database, table: str, tmp_path: Path) -> None:
    folder = seed(tmp_path, db, table)
    write(folder, "a.csv", SEED + "4,four\n")
    ON_CHUNK.append(lambda: os.kill(os.getpid(), signal.SIGTERM))
    try:
        with pytest.raises(processor.Interrupted) as raised:
            import_folder(
                folder,
                db.url,
                table,
                workers=1,
                if_exists="replace",
                transform=hook_file(tmp_path),
                handle_signals=True,
            )
    finally:
        ON_CHUNK.clear()
    assert raised.value.exit_code == 130
    assert sorted(db.rows(table)) == SEEDED


def test_signal_handlers_are_left_alone_unless_asked(tmp_path: Path) -> None:
    write(tmp_path / "in", "a.csv", SEED)
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    during: list[dict[int, Any]] = []
    ON_CHUNK.append(lambda: during.append({s: signal.getsignal(s) for s in before}))
    url = f"sqlite:///{tmp_path / 'a.db'}"
    try:
        import_folder(tmp_path / "in", url, "t", workers=1, transform=hook_file(tmp_path))
        assert during
        assert all(seen == before for seen in during)
        assert {s: signal.getsignal(s) for s in before} == before
        # Asked for, they are the run's own while it runs (so the check above could fail).
        during.clear()
        import_folder(
            tmp_path / "in",
            url,
            "t",
            workers=1,
            if_exists="replace",
            transform=hook_file(tmp_path),
            handle_signals=True,
        )
        assert during
        assert all(seen[signal.SIGTERM] != before[signal.SIGTERM] for seen in during)
        assert {s: signal.getsignal(s) for s in before} == before
    finally:
        ON_CHUNK.clear()


def test_called_twice_in_one_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    write(tmp_path / "in", "a.csv", "id\n1\n")
    write(tmp_path / "in", "a2.csv", "id\n2\n")
    assert import_folder(tmp_path / "in", url, "t", workers=2).rows == 2
    with pytest.raises(processor.TargetExistsError):
        import_folder(tmp_path / "in", url, "t", workers=2)
    write(tmp_path / "in", "b.csv", "id\n3\n")
    report = import_folder(tmp_path / "in", url, "t", workers=2, if_exists="append")
    assert report.rows == 1
    assert report.skipped == ["a.csv", "a2.csv"]
    with sqlite3.connect(tmp_path / "twice.db") as conn:
        assert sorted(conn.execute('SELECT "id" FROM "t"')) == [(1,), (2,), (3,)]


@pytest.mark.parametrize("workers", [1, 2])
def test_works_off_the_main_thread(workers: int, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'thread.db'}"
    write(tmp_path / "in", "a.csv", "id,name\n1,one\n2,two\n")
    write(tmp_path / "in", "b.csv", "id,name\n3,three\n")  # two files: WORKERS=2 is a pool
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(import_folder(tmp_path / "in", url, "t", workers=workers))
        except BaseException as error:  # shown by the assertion below
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], processor.RunReport), outcome
    assert outcome[0].rows == 3
    with sqlite3.connect(tmp_path / "thread.db") as conn:
        assert sorted(conn.execute('SELECT "id", "name" FROM "t"')) == SEEDED


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"workerz": 2}, "workerz is not a setting; did you mean workers? (nothing was imported)"),
        (
            {"IF_EXISTS": "append"},
            "IF_EXISTS is not a setting; did you mean if_exists? (nothing was imported)",
        ),
        (
            {"src_folder": "x"},
            "src_folder is not a setting; did you mean src_data_folder? (nothing was imported)",
        ),
        ({"batch": 10}, "batch is not a setting; did you mean quiet? (nothing was imported)"),
        ({"workers": 0}, "workers must be a positive integer, got '0'"),
        (
            {"if_exists": "upsert"},
            "if_exists must be one of fail, replace, append, merge, delete_rows; got 'upsert'",
        ),
        ({"workers": 2.5}, "workers must be a positive integer, got '2.5'"),
        (
            {"max_errors": {"a": 1}},
            "max_errors must be text, a number, true or false, a path or a list; got dict",
        ),
        ({"dest_sql": "sqlite://"}, "dest_sql is import_folder's 'dest' argument: give it there"),
        ({"dest": None}, "import_folder's 'dest' is None: give the database URL, or dest_sql_file"),
        ({"if_exists": "merge"}, "IF_EXISTS=merge needs PRIMARY_KEY (the key column or columns)"),
    ],
)
def test_invalid_keywords_are_config_errors(
    keywords: dict[str, Any], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "in", "a.csv", SEED)
    monkeypatch.chdir(tmp_path)  # where the default database, import.db, would be
    report_path = tmp_path / "report.json"
    keywords = {"dest": f"sqlite:///{tmp_path / 'k.db'}", **keywords}
    with pytest.raises(ConfigError) as raised:
        import_folder(tmp_path / "in", table="t", report_path=report_path, **keywords)
    assert str(raised.value) == message
    assert raised.value.exit_code == 2
    assert raised.value.report is not None
    assert raised.value.report.status == "failed"
    assert '"exit_code": 2' in report_path.read_text()  # reported as the command reports it
    assert not (tmp_path / "k.db").exists()
    assert not (tmp_path / "import.db").exists()


def test_keywords_mean_what_their_variables_mean(tmp_path: Path) -> None:
    """Python values and the variables' text give the same Settings."""
    schema = write(tmp_path, "s.json", '{"columns": {"a": "integer", "b": "text", "c": "text"}}')
    env = {
        "SRC_DATA_FOLDER": str(tmp_path),
        "DEST_SQL": "sqlite:///x.db",
        "WORKERS": "3",
        "CHUNK_SIZE": "1_000",
        "MAX_SHRINK": "0",
        "NA_VALUES": "NA,-",
        "INDEXES": "a;b,c",
        "PRIMARY_KEY": "a,b",
        "IF_EXISTS": "merge",
        "RELOAD_CHANGED": "true",
        "SPLIT_BYTES": "1MiB",
        "SCHEMA_FILE": str(schema),
        "SRC_DELIMITER": "\\t",
    }
    keywords = {
        "src_data_folder": tmp_path,
        "dest_sql": "sqlite:///x.db",
        "workers": 3,
        "chunk_size": 1000,
        "max_shrink": 0,
        "na_values": ["NA", "-"],
        "indexes": ["a", ["b", "c"]],
        "primary_key": ("a", "b"),
        "if_exists": "MERGE",
        "reload_changed": True,
        "split_bytes": 1 << 20,
        "schema_file": schema,
        "src_delimiter": "\t",
        "src_header": None,  # None: the default
    }
    assert keyword_settings(keywords) == load_settings([], env)
    assert keyword_settings(keywords).progress_bar is True  # Settings' default; import_folder's is False


def test_plan_import_writes_nothing(db: Database, table: str, tmp_path: Path) -> None:
    write(tmp_path / "in", "a.csv", "id,name\n1,x\n")
    plan = processor.plan_import(tmp_path / "in", db.url, table, workers=1)
    assert isinstance(plan, processor.DryRun)
    assert plan.text().startswith("dry run: nothing was written to ")
    assert [c["name"] for c in plan.to_json()["columns"]] == ["id", "name"]
    assert not db.exists(table)


def test_clean_up_drops_leftover_staging_tables(db: Database, table: str, tmp_path: Path) -> None:
    leftover = staging_name(table, "deadbeef")
    db.execute(f"CREATE TABLE {db.quote(leftover)} (id INTEGER)")
    assert processor.clean_up(db.url, table) == [leftover]
    assert leftover not in db.tables()
    assert processor.clean_up(db.url, table) == []


def test_a_url_object_and_a_password_file(tmp_path: Path) -> None:
    need_server("postgresql")
    from sqlalchemy.engine import make_url

    write(tmp_path / "in", "a.csv", "id\n1\n")
    table = f"t_api_{os.getpid()}"
    url = make_url(SERVERS["postgresql"])
    try:
        assert import_folder(tmp_path / "in", url, table, workers=1).rows == 1
        secret = write(tmp_path, "dest.url", SERVERS["postgresql"] + "\n")
        report = import_folder(
            tmp_path / "in", None, table, workers=1, if_exists="replace", dest_sql_file=secret
        )
        assert report.rows == 1
    finally:
        Database("postgresql", SERVERS["postgresql"]).drop(table)


def test_readme_example_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """The README's Python API example, run verbatim on the bundled sample in a fresh folder."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Python API") :]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    shutil.copytree(ROOT / "data", tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    rows = 0
    for path in (tmp_path / "data").rglob("*.csv"):
        with path.open(newline="", encoding="utf-8") as text:
            rows += sum(1 for _ in csv.reader(text)) - 1  # the header
    exec(compile(code.group(1), "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{rows} rows from 3 files into certificates",
        "exit 7: table 'certificates' already exists; set IF_EXISTS=replace or IF_EXISTS=append "
        "(report: failed)",
    ]
    with sqlite3.connect(tmp_path / "sample.db") as conn:
        assert conn.execute('SELECT COUNT(*) FROM "certificates"').fetchone() == (rows,)


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, where the command would draw its progress bar."""

    def isatty(self) -> bool:
        return True


def test_no_progress_bar_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "in", "a.csv", SEED)
    url = f"sqlite:///{tmp_path / 'bar.db'}"
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    import_folder(tmp_path / "in", url, "t", workers=1)
    assert terminal.getvalue() == ""
    import_folder(tmp_path / "in", url, "t", workers=1, if_exists="replace", progress_bar=True)
    assert "1/1 file" in terminal.getvalue()  # the bar, asked for (so the check above could fail)


def test_ctrl_c_without_handlers_is_the_functions_error(tmp_path: Path) -> None:
    """Without the run's handlers, Ctrl-C in a TRANSFORM function is Python's KeyboardInterrupt
    there, which the run cannot tell from the function's own: exit 10, as the README says."""
    write(tmp_path / "in", "a.csv", SEED)
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    ON_CHUNK.append(lambda: os.kill(os.getpid(), signal.SIGINT))
    try:
        with pytest.raises(processor.TransformError) as raised:
            import_folder(tmp_path / "in", url, "t", workers=1, transform=hook_file(tmp_path))
    finally:
        ON_CHUNK.clear()
    assert raised.value.exit_code == 10
    assert "KeyboardInterrupt" in str(raised.value)
    assert not (tmp_path / "c.db").exists()  # the file the run created went with it
