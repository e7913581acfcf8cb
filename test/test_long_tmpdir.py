"""A TMPDIR too long for a Unix socket's path (over ~100 bytes, as deep CI folders give) still
lets the pool start: its server's socket goes to a short folder, the run's other temporary
files stay in TMPDIR.  Before, the run ended with exit 1 and ``OSError: AF_UNIX path too long``."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from conftest import ROOT, user_env


def test_a_pool_starts_under_a_tmpdir_too_long_for_a_socket(tmp_path):
    long_tmp = tmp_path / ("t" * 120)
    long_tmp.mkdir()
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.csv").write_bytes(b"id,name\n1,\xc3\xa9t\xc3\xa9\n2,x\n")
    (src / "b.csv").write_bytes(b"id,name\n3,y\n")
    db = tmp_path / "t.db"
    env = user_env(
        TMPDIR=str(long_tmp),
        SRC_DATA_FOLDER=str(src),
        DEST_SQL=f"sqlite:///{db}",
        DEST_TABLE="t",
        WORKERS="2",
    )
    result = subprocess.run(
        [sys.executable, str(ROOT / "index.py")], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, CAST(name AS BLOB) FROM t ORDER BY id").fetchall()
    assert rows == [(1, b"\xc3\xa9t\xc3\xa9"), (2, b"x"), (3, b"y")]
