"""The bundled sample is a demonstration (issue 19): it never goes into a named database, and the
README's quick start and its replace keep working.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, user_env
from test_setting_typos import _count

SAMPLE_REFUSED = (
    "error: SRC_DATA_FOLDER is not set: the bundled sample (data/) is a demonstration, loaded only "
    "into the default database (sqlite:///import.db), never into DEST_SQL's; set SRC_DATA_FOLDER to "
    "the folder (or archive) to import\n"
)


@pytest.mark.parametrize("how", ["env", "flag", "file", "dry run"])
def test_the_bundled_sample_never_goes_into_a_named_database(how, cli, tmp_path):
    shutil.copytree(ROOT / "data", "data")  # the default folder, as in the checkout
    url = f"sqlite:///{tmp_path / 'named.db'}"
    (tmp_path / "url").write_text(url + "\n")
    argv, env = {
        "env": ([], {"DEST_SQL": url}),
        "flag": (["--dest-sql", url], {}),
        "file": ([], {"DEST_SQL_FILE": str(tmp_path / "url")}),
        "dry run": (["--dry-run"], {"DEST_SQL": url}),
    }[how]
    code, out, err = cli(argv, {**env, "IF_EXISTS": "replace"})
    assert (code, out, err) == (2, "", SAMPLE_REFUSED)
    assert not (tmp_path / "named.db").exists()
    # Named, the same folder loads: the rule is about the default, not about the files.
    code, out, _ = cli([*argv, "--src-data-folder", "data"], {**env, "IF_EXISTS": "replace"})
    assert code == 0
    if how != "dry run":
        assert _count(tmp_path / "named.db", "certificates") == 450


@pytest.mark.slow
def test_readme_quick_start_and_its_replace_keep_working(tmp_path):
    """README "Quick start": ``python index.py``, then ``IF_EXISTS=replace python index.py``, on the
    default database, as a user runs them (the bundled sample in the working folder)."""
    shutil.copytree(ROOT / "data", tmp_path / "data")
    for env in (user_env(WORKERS="1"), user_env(WORKERS="1", IF_EXISTS="replace")):
        done = subprocess.run(
            [sys.executable, str(ROOT / "index.py")], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(
            "imported 450 rows from 3 files into table 'certificates' at sqlite:///"
        )
    assert _count(tmp_path / "import.db", "certificates") == 450
