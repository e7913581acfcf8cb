"""The importer as an installable package (issue 20): ``--version`` and the version in the report,
a SQLite-only install that has no other driver and no Dask, the wheel that ``pip install .``
builds (its command, its code, the bundled sample), installed into a fresh virtual environment,
and the README's Dask cluster recipe run as written against that install, on loopback.

The wheel is built without the network (``--no-build-isolation``: the setuptools of this
environment, pinned in requirements-dev.txt), from the files the Dockerfile's build stage copies.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import site
import socket
import sqlite3
import subprocess
import sys
import time
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import distributed
import pytest
from conftest import ROOT, user_env, write
from test_dask import WORKERS, start_cluster, stop_cluster

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
#: Read from the file's text, not through the package's own reading of it.
VERSION_LINE = re.search(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
assert VERSION_LINE is not None, "pyproject.toml names no version"
VERSION = VERSION_LINE[1]
#: What a SQLite user does not install: every other database's driver, and Dask.
OPTIONAL: tuple[str, ...] = ("psycopg2", "MySQLdb", "pgpq", "duckdb", "duckdb_engine", "dask", "distributed")
# Object storage and HTTP (SRC_DATA_FOLDER as a URL): a local folder imports none of them.
OPTIONAL += ("fsspec", "s3fs", "gcsfs", "adlfs", "aiohttp")
SAMPLE = sorted((ROOT / "data").glob("**/*.csv"))

BLOCKER = '''
import importlib.abc
import sys

BLOCKED = {blocked!r}


class Blocked(importlib.abc.MetaPathFinder):
    """These modules are not installed, as far as this process (and its children) can tell."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, Blocked())
'''


def without(folder: Path, modules: tuple[str, ...]) -> dict[str, str]:
    """The environment of a process (and of the processes it starts: the pool's, Dask's) in which
    ``modules`` cannot be imported: a ``sitecustomize`` on PYTHONPATH blocks them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(BLOCKER.format(blocked=set(modules)), encoding="utf-8")
    return {"PYTHONPATH": str(folder)}


def run_index(
    cwd: Path, env: dict[str, str], *args: str, timeout: int = 180
) -> subprocess.CompletedProcess[str]:
    """``python index.py`` of the checkout, as a user runs it."""
    command = [sys.executable, str(ROOT / "index.py"), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def sample_rows() -> int:
    """The bundled sample's data rows, as Python's csv module counts them."""
    with contextlib.ExitStack() as files:
        return sum(len(list(csv.reader(files.enter_context(f.open(newline=""))))) - 1 for f in SAMPLE)


def table_rows(database: Path, table: str) -> int:
    with contextlib.closing(sqlite3.connect(database)) as conn:
        return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


def two_files(folder: Path) -> int:
    """Two small CSV files of one table; the rows they hold."""
    write(folder, "a/items.csv", "id,name,price\n1,apple,0.50\n2,pear,1.25\n")
    write(folder, "b/items.csv", "id,name,price\n3,plum,2\n")
    return 3


def test_version_prints_the_version_of_pyproject(tmp_path):
    ran = run_index(tmp_path, user_env(SRC_DATA_FOLDR="typo, not read"), "--version")
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, f"csv-sql-importer {VERSION}\n", "")


def test_the_report_and_the_json_summary_carry_the_version(cli, tmp_path):
    two_files(tmp_path / "src")
    report = tmp_path / "report.json"
    env = {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": f"sqlite:///{tmp_path / 'v.db'}",
        "LOG_FORMAT": "json",
        "REPORT_PATH": str(report),
    }
    code, out, _ = cli([], env)
    assert code == 0
    summary = json.loads(out.splitlines()[-1])
    assert (summary["event"], summary["rows"], summary["version"]) == ("summary", 3, VERSION)
    written = json.loads(report.read_text())
    assert (written["status"], written["rows"], written["version"]) == ("ok", 3, VERSION)


@pytest.mark.slow
def test_a_sqlite_only_install_needs_no_other_driver_and_no_dask(tmp_path):
    """Every optional module blocked (in the pool's processes too): the import into SQLite runs."""
    env = user_env(**without(tmp_path / "site", OPTIONAL))
    for module in OPTIONAL:  # the blocker works: each is installed here, and cannot be imported
        assert subprocess.run([sys.executable, "-c", f"import {module}"], env=user_env()).returncode == 0
        probe = subprocess.run(
            [sys.executable, "-c", f"import {module}"], env=env, capture_output=True, text=True
        )
        assert f"ModuleNotFoundError: No module named '{module}'" in probe.stderr
    rows = two_files(tmp_path / "src")
    database = tmp_path / "only.db"
    settings = {"SRC_DATA_FOLDER": str(tmp_path / "src"), "DEST_SQL": f"sqlite:///{database}", "WORKERS": "2"}
    ran = run_index(tmp_path, {**env, **settings})
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith(f"imported {rows} rows from 2 files into table 'items'")
    assert table_rows(database, "items") == rows


@pytest.mark.parametrize(
    ("dest_sql", "extra_settings", "module", "extra"),
    [
        ("postgresql://loader:secret@db.example.org/epc", {}, "psycopg2", "postgresql"),
        # a driver like psycopg2 above (the same path, a process each): the whole suite runs them
        pytest.param(
            "mysql://loader:secret@db.example.org/epc", {}, "MySQLdb", "mysql", marks=pytest.mark.slow
        ),
        pytest.param("duckdb:///{tmp}/x.duckdb", {}, "duckdb_engine", "duckdb", marks=pytest.mark.slow),
        pytest.param("sqlite:///{tmp}/x.db", {"EXECUTOR": "dask"}, "dask", "dask", marks=pytest.mark.slow),
    ],
)
def test_a_missing_driver_or_dask_is_one_line_naming_its_extra(
    tmp_path, dest_sql, extra_settings, module, extra
):
    two_files(tmp_path / "src")
    settings = {
        "SRC_DATA_FOLDER": str(tmp_path / "src"),
        "DEST_SQL": dest_sql.format(tmp=tmp_path),
        "LOG_LEVEL": "WARNING",
        **extra_settings,
    }
    ran = run_index(tmp_path, user_env(**without(tmp_path / "site", OPTIONAL), **settings))
    assert ran.returncode == 2
    assert ran.stdout == ""
    [line] = ran.stderr.splitlines()
    assert line.startswith("error: ")
    assert f"needs the Python package {module!r}, which is not installed" in line
    assert f"install the importer's {extra!r} extra (pip install '.[{extra}]' in its checkout)" in line
    assert "secret" not in line
    assert not (tmp_path / "x.db").exists()


def test_the_package_lists_every_package_of_the_tree():
    """setuptools is given the packages by name (the sample is mapped from data/): a new folder
    of code that is not listed would be missing from the installed importer."""
    tree = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "processor").glob("**/__init__.py")
        if "__pycache__" not in init.parts
    }
    packages = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert packages == tree | {"processor.sample_data"}
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"processor.sample_data": "data"}


# The installed importer: a wheel, and a fresh virtual environment with it.


def build_stage_files() -> list[str]:
    """What the Dockerfile's build stage copies to /src before ``pip install /src``."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    build = dockerfile.split("FROM python", 2)[1]
    assert re.search(r"^RUN /opt/venv/bin/pip install --no-cache-dir --no-deps /src$", build, re.MULTILINE)
    copied = re.findall(r"^COPY (\S+) /src/(\S*)$", build, re.MULTILINE)
    for source, target in copied:
        assert target in ("", source), (source, target)  # each lands at its own path in /src
    return [source for source, _ in copied]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``pip install .`` builds, from a copy of the files the image builds it from
    (the build writes its build/ and .egg-info folders beside them)."""
    source = tmp_path_factory.mktemp("source")
    for name in build_stage_files():
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    built = subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    [found] = out.glob("*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed (``--no-deps``, no network).  The
    dependencies are this environment's, seen through a .pth file: ``--system-site-packages``
    would give the base interpreter's, and this environment may itself be a venv."""
    folder = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=300)
    [packages] = folder.glob("lib/python*/site-packages")
    (packages / "project-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    pip = [str(folder / "bin" / "pip"), "--disable-pip-version-check"]
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True, timeout=300
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    # The commands of the dependencies (``dask``), as their own install would make them here.
    for dependency in ("dask", "distributed"):
        for entry in metadata.distribution(dependency).entry_points.select(group="console_scripts"):
            module, _, function = entry.value.partition(":")
            script = folder / "bin" / entry.name
            lines = [
                f"#!{folder / 'bin' / 'python'}",
                "import sys",
                f"from {module} import {function}",
                "if __name__ == '__main__':",  # Dask's processes are spawned: they import this file
                f"    sys.exit({function}())",
            ]
            script.write_text("\n".join(lines) + "\n")
            script.chmod(0o755)
    return folder


def installed_env(venv: Path, **settings: str) -> dict[str, str]:
    """A user's environment with the venv's commands first and no PYTHONPATH: the importer can
    only come from the venv."""
    env = user_env(**settings)
    env.pop("PYTHONPATH", None)
    return {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}


@pytest.mark.slow
def test_the_wheel_holds_the_command_the_code_and_the_sample(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = archive.read(entry_points).decode()
        code = {
            f"processor/{p.relative_to(ROOT / 'processor').as_posix()}"
            for p in (ROOT / "processor").rglob("*.py")
        }
        assert code <= names, code - names
        for path in SAMPLE:
            inside = f"processor/sample_data/{path.relative_to(ROOT / 'data').as_posix()}"
            assert archive.read(inside) == path.read_bytes(), inside
        [metadata] = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = archive.read(metadata).decode()
    assert re.search(r"^csv-sql-import = processor\.cli:run$", scripts, re.MULTILINE)
    assert f"\nVersion: {VERSION}\n" in requires
    # The drivers of other databases and Dask are extras, not requirements.
    for name in ("psycopg2-binary", "mysqlclient", "pgpq", "duckdb", "dask", "distributed"):
        assert re.search(rf"^Requires-Dist: {name}\b.*; extra == ", requires, re.MULTILINE), name
        assert not re.search(rf"^Requires-Dist: {name}\b[^;]*$", requires, re.MULTILINE), name


@pytest.mark.slow
def test_the_installed_command_runs_from_any_folder(venv, tmp_path):
    env = installed_env(venv)
    version = subprocess.run(
        ["csv-sql-import", "--version"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert (version.returncode, version.stdout) == (0, f"csv-sql-importer {VERSION}\n"), version.stderr
    probe = "import processor, processor.package as p; print(processor.__file__); print(p.sample_folder())"
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert where.returncode == 0, where.stderr
    module, sample = (Path(line) for line in where.stdout.splitlines())
    assert module.is_relative_to(venv)  # the installed package, not the checkout
    assert sample == module.parent / "sample_data"
    # README "Install": the bundled sample, named, into the default database of the working folder.
    ran = subprocess.run(
        ["csv-sql-import", "--src-data-folder", str(sample)],
        cwd=tmp_path,
        env={**env, "WORKERS": "2"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith(
        f"imported {sample_rows()} rows from {len(SAMPLE)} files into table 'certificates'"
    )
    assert table_rows(tmp_path / "import.db", "certificates") == sample_rows()


def readme_dask_recipe() -> list[str]:
    """The commands of README "Running on a Dask cluster" (its first sh block), a line each."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Running on a Dask cluster", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    text = block.replace("\\\n", "")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "the scheduler exited"
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        assert time.monotonic() < deadline, "the scheduler did not start"
        time.sleep(0.2)


@pytest.mark.slow
def test_the_readme_dask_recipe_runs_as_written(venv, wheel, tmp_path):
    """Its install line, scheduler, worker and run, with the importer from the venv only (no
    PYTHONPATH; the scheduler and worker in a folder of their own): the host and port are
    loopback's, the source the installed sample, the database a SQLite file."""
    port = free_port()
    database = tmp_path / "epc.db"
    sample = next(Path(p) for p in (venv / "lib").glob("python*/site-packages/processor/sample_data"))
    replace = {
        "pip install '.[dask,postgresql]'": f"pip install --no-deps --no-index --force-reinstall {wheel}",
        "sched.example.org:8786": f"127.0.0.1:{port}",
        "--port 8786": f"--port {port}",
        "/mnt/epc": str(sample),
        "postgresql://loader:secret@db.example.org/epc": f"sqlite:///{database}",
    }
    recipe = "\n".join(readme_dask_recipe())
    for old, new in replace.items():
        assert old in recipe, old
        recipe = recipe.replace(old, new)
    install, scheduler_line, worker_line, run_line = recipe.splitlines()
    assert scheduler_line.startswith("dask scheduler ")
    assert worker_line.startswith("dask worker ")
    assert run_line.endswith(" csv-sql-import")
    cluster = tmp_path / "cluster"
    cluster.mkdir()
    env = installed_env(venv, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="20s")
    ran = subprocess.run(
        ["bash", "-c", install], cwd=cluster, env=env, capture_output=True, text=True, timeout=300
    )
    assert ran.returncode == 0, ran.stderr
    quiet = {"cwd": cluster, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen(["bash", "-c", f"exec {scheduler_line}"], **quiet)]
    try:
        wait_for_port(port, processes[0])
        processes.insert(0, subprocess.Popen(["bash", "-c", f"exec {worker_line}"], **quiet))
        with distributed.Client(f"tcp://127.0.0.1:{port}") as client:
            client.wait_for_workers(1, timeout=60)
        ran = subprocess.run(
            ["bash", "-c", run_line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
    finally:
        stop_cluster(processes)
    assert ran.returncode == 0, ran.stderr
    assert f"running tasks on Dask at tcp://127.0.0.1:{port}: 1 worker" in ran.stderr
    assert ran.stdout.startswith(f"imported {sample_rows()} rows from {len(SAMPLE)} files")
    assert table_rows(database, "certificates") == sample_rows()


@pytest.mark.slow
@pytest.mark.parametrize("lacking", ["scheduler", "worker"])
def test_a_cluster_that_cannot_import_the_importer_is_one_line(lacking, tmp_path):
    """A ``dask scheduler`` and ``dask worker`` of which the scheduler or the workers cannot
    import the importer: the run fails before anything is written, in one line naming them."""
    two_files(tmp_path / "src")
    with_it = {**os.environ, "PYTHONPATH": str(ROOT)}
    envs = {"scheduler_env": with_it, "worker_env": with_it}
    envs[f"{lacking}_env"] = {**os.environ, **without(tmp_path / "site", ("processor",))}
    database = tmp_path / "d.db"
    processes, address = start_cluster(tmp_path, **envs)
    try:
        env = user_env(
            EXECUTOR="dask",
            DASK_SCHEDULER=address,
            SRC_DATA_FOLDER=str(tmp_path / "src"),
            DEST_SQL=f"sqlite:///{database}",
            LOG_LEVEL="WARNING",
        )
        ran = run_index(tmp_path, env)
    finally:
        stop_cluster(processes)
    assert ran.returncode == 2
    [line] = ran.stderr.splitlines()
    missing = {
        "scheduler": f"the Dask scheduler at {address} cannot",
        "worker": f"{WORKERS} of the {WORKERS} Dask workers at {address} (tcp://127.0.0.1:",
    }[lacking]
    assert line.startswith(f"error: {missing}"), line
    assert (
        "cannot import the importer (no module 'processor'): install it on the scheduler and every worker"
        in line
    )
    assert line.endswith("; nothing was written")
    assert not database.exists()
