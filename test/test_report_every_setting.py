"""The JSON report shows every setting as JSON holds it (a run with SCHEMA_FILE and REPORT_PATH
ended with exit 1, "Object of type SchemaFile is not JSON serializable", before anything ran).

Every variable is set, from the command line as a user sets it, and the report must hold each
one as text, a number, a boolean or a list: never a Python object's name.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import write

ROOT = Path(__file__).resolve().parent.parent


def test_a_report_shows_every_setting_with_a_schema_file(tmp_path):
    data = tmp_path / "data"
    write(data, "a.csv", "id,amount,name\n1,2.50,x\n2,3.75,y\n")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"columns": {"amount": "text"}, "primary_key": ["id"]}))
    transform = tmp_path / "shape.py"
    transform.write_text("def shape(df):\n    return df\n")
    report = tmp_path / "report.json"
    env_file = tmp_path / "job.env"
    env_file.write_text("LOCK_TIMEOUT=5\n")
    flags = {
        "--src-data-folder": str(data),
        "--src-file-name": "*.csv",
        "--dest-sql": f"sqlite:///{tmp_path / 'out.db'}",
        "--dest-table": "amounts",
        "--if-exists": "replace",
        "--workers": "1",
        "--chunk-size": "1000",
        "--sample-rows": "100",
        "--src-delimiter": ",",
        "--schema-file": str(schema),
        "--write-schema": str(tmp_path / "written.json"),
        "--transform": f"{transform}:shape",
        "--na-values": "NA,n/a",
        "--max-errors": "3",
        "--max-shrink": "0.9",
        "--rejects-path": str(tmp_path / "rejects.csv"),
        "--report-path": str(report),
        "--indexes": "name",
        "--progress-seconds": "5",
        "--env-file": str(env_file),
    }
    command = [sys.executable, str(ROOT / "index.py"), *(x for pair in flags.items() for x in pair)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    shown = json.loads(report.read_text())["settings"]
    assert shown["SCHEMA_FILE"] == str(schema)
    assert shown["TRANSFORM"] == f"{transform}:shape"
    assert shown["NA_VALUES"] == ["NA", "n/a"]
    assert shown["INDEXES"] == [["name"]]
    assert shown["IF_EXISTS"] == "replace"
    assert shown["ENV_FILE"] == str(env_file)
    assert shown["LOCK_TIMEOUT"] == 5

    def plain(value) -> bool:
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, str | int | float | bool)

    assert all(plain(v) for v in shown.values()), shown
