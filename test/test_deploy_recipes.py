"""The deploy recipes' operator polish (issue 20): the folders the image's uid 10001 writes, the
compose databases' healthchecks that the importers wait on, the CronJob's optional webhook and
versioned image, and the systemd recipe's user, install folder and EnvironmentFile, each as the
README tells an operator to set it up."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from conftest import ROOT, SERVERS, need_server, unavailable, user_env, write
from test_deploy import _as_user, image_user, systemd_unit

README = (ROOT / "README.md").read_text(encoding="utf-8")
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def readme_section(title: str) -> str:
    """The README's text under the heading ``title``, up to the next heading of any level."""
    start = README.index(f"\n{title}\n")
    end = re.compile(r"^#{2,3} ", re.MULTILINE).search(README, start + len(title) + 2)
    return README[start : end.start() if end else len(README)]


def shell_commands(section: str) -> Iterator[list[str]]:
    """The commands of a section's ``sh`` blocks, split as the shell does (comments dropped,
    backslash continuations joined, ``&&`` chains split), each without its ``sudo`` and the
    variables set before it."""
    for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words:
                command = words[: words.index("&&")] if "&&" in words else words
                words = words[len(command) + 1 :]
                command = command[1:] if command[:1] == ["sudo"] else command
                while command and re.fullmatch(r"[A-Z_]+=\S*", command[0]):  # VAR=value cmd
                    command = command[1:]
                yield command


# -- Docker: folders the image's uid writes ---------------------------------------------------


def _docker_steps() -> tuple[list[str], str, Path]:
    """The README's Docker section: its `install -d` of the reports folder, the uid it gives it,
    and the host folder mounted at the report's folder."""
    commands = list(shell_commands(readme_section("## Docker")))
    (install,) = [c for c in commands if c[:2] == ["install", "-d"]]
    (run,) = [c for c in commands if c[:2] == ["docker", "run"]]
    env = dict(run[i + 1].split("=", 1) for i, word in enumerate(run) if word == "-e")
    report_folder = str(Path(env["REPORT_PATH"]).parent)
    mounts = [run[i + 1].split(":") for i, word in enumerate(run) if word == "-v"]
    (host,) = [m[0] for m in mounts if m[1] == report_folder]
    return install, install[install.index("-o") + 1], Path(host)


def test_readme_makes_the_reports_folder_for_the_image_uid():
    install, owner, host = _docker_steps()
    assert owner == image_user() == "10001"
    assert install[install.index("-g") + 1] == owner
    assert Path(install[-1]) == host  # the folder mounted at the report's folder
    assert '--user "$(id -u):$(id -g)"' in readme_section("## Docker")  # the other way


def _run_as_image_user(uid: int, app: Path, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The importer (the image's files, copied) run as ``uid`` with the report in ``folder``."""
    command = [sys.executable, str(app / "index.py")]
    if os.geteuid() == 0:
        command = [*_as_user(uid), *command]
    return subprocess.run(
        command,
        cwd=app,
        env=user_env(REPORT_PATH=str(folder / "report.json"), WORKERS="1", HOME=str(app), **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_the_readme_reports_folder_takes_the_report_and_the_rejects_of_its_uid():
    """The README's `install -d -o 10001 ...` run for real (as root; else for this test's own
    uid, which it can give a folder): the importer run as that uid writes the report and the
    rejected rows there; in a folder made without it, it fails at once with exit 2."""
    install, owner, _ = _docker_steps()
    uid = int(owner) if os.geteuid() == 0 else os.geteuid()
    base = Path(tempfile.mkdtemp(prefix="reports-uid-"))
    try:
        base.chmod(0o755)
        app = base / "app"
        app.mkdir()
        shutil.copy(ROOT / "index.py", app / "index.py")
        shutil.copytree(ROOT / "processor", app / "processor", ignore=shutil.ignore_patterns("__pycache__"))
        source = write(base / "src", "t.csv", "a,b\n1,2\n3\n").parent
        given = base / "reports"
        steps = [*install[:-1], str(given)]
        steps[steps.index("-o") + 1] = str(uid)
        steps[steps.index("-g") + 1] = str(uid if os.geteuid() == 0 else os.getegid())
        subprocess.run(steps, check=True)
        env = {"SRC_DATA_FOLDER": str(source), "DEST_SQL": f"sqlite:///{given / 'o.db'}", "MAX_ERRORS": "1"}
        ran = _run_as_image_user(uid, app, given, env)
        assert ran.returncode == 0, ran.stderr
        assert f"; 1 row rejected (1 with the wrong number of fields), written to {given}" in ran.stdout
        for name in ("report.json", "report.rejects.csv"):
            assert (given / name).stat().st_uid == uid, name
        # A folder not made for the uid: refused before any work, naming the path.
        other = base / "not-given"
        other.mkdir(mode=0o755)
        if os.geteuid() != 0:
            other.chmod(0o555)  # this user owns it: only its mode can refuse it
        env["DEST_SQL"] = f"sqlite:///{given / 'p.db'}"
        refused = _run_as_image_user(uid, app, other, env)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.endswith(
            f"error: REPORT_PATH cannot be written: {other / 'report.json'}: Permission denied\n"
        )
        assert not (given / "p.db").exists()
    finally:
        shutil.rmtree(base)


# -- docker-compose.yml: healthy databases first ----------------------------------------------


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_compose_importers_wait_for_healthy_databases():
    services = _compose()["services"]
    databases = {
        name for name, s in services.items() if s.get("image", "").startswith(("postgres:", "mariadb:"))
    }
    assert databases == {"db", "mariadb"}
    for name in databases:
        check = services[name]["healthcheck"]
        assert check["test"][0] == "CMD"
        assert int(check["retries"]) >= 3
        assert {"interval", "timeout", "start_period"} <= set(check)
    importers = {name: s for name, s in services.items() if name.startswith("importer")}
    assert len(importers) == 3
    for name, service in importers.items():
        depends = service["depends_on"]
        assert isinstance(depends, dict), name  # the long form: a condition for each
        host = sa.engine.make_url(service["environment"]["DEST_SQL"]).host
        assert depends[host] == {"condition": "service_healthy"}, name
        for other, condition in depends.items():
            expected = "service_healthy" if other in databases else "service_started"
            assert condition == {"condition": expected}, (name, other)


def test_the_readme_makes_the_compose_reports_folder_for_the_image_uid():
    """The host folder of the importers' report mount is made for the image's uid before a run."""
    reports = "/out"
    volumes = _compose()["x-importer"]["volumes"]
    (host,) = [v.split(":")[0] for v in volumes if v.split(":")[1] == reports]
    commands = list(shell_commands(readme_section("### A local trial with Docker Compose")))
    (install,) = [c for c in commands if c[:2] == ["install", "-d"]]
    owner = image_user()
    assert (install[install.index("-o") + 1], install[install.index("-g") + 1]) == (owner, owner)
    assert Path(install[-1]) == Path(host)
    runs = [i for i, c in enumerate(commands) if c[:3] == ["docker", "compose", "run"]]
    assert runs
    assert commands.index(install) < min(runs)
    for service in ("importer", "importer-mariadb", "importer-dask"):
        assert str(Path(_compose()["services"][service]["environment"]["REPORT_PATH"]).parent) == reports


def test_the_mariadb_healthcheck_waits_for_innodb():
    test = _compose()["services"]["mariadb"]["healthcheck"]["test"]
    assert test[1] == "healthcheck.sh"  # the official image's own script
    assert {"--connect", "--innodb_initialized"} <= set(test[2:])


def test_the_postgres_healthcheck_command_checks_that_database_over_tcp():
    """``pg_isready`` with the compose file's arguments, pointed at the test server (its user and
    database in place of the compose file's): ready; at a port where nothing listens: not."""
    db = _compose()["services"]["db"]
    test = db["healthcheck"]["test"]
    assert test[1] == "pg_isready"
    args = test[2:]
    options = dict(zip(args[::2], args[1::2], strict=True))
    environment = db["environment"]
    assert options == {
        "--host": "127.0.0.1",  # not the socket: the image's first start has a server there early
        "--username": environment["POSTGRES_USER"],
        "--dbname": environment["POSTGRES_DB"],
    }
    pg_isready = shutil.which("pg_isready")
    if pg_isready is None:
        unavailable("pg_isready is not installed")
    need_server("postgresql")
    url = sa.engine.make_url(SERVERS["postgresql"])
    here = {
        "--host": url.host or "127.0.0.1",
        "--username": url.username or "",
        "--dbname": url.database or "",
    }
    command = [pg_isready, *(word for option in options for word in (option, here[option]))]
    ready = subprocess.run([*command, "--port", str(url.port or 5432)], capture_output=True, text=True)
    assert ready.returncode == 0, ready.stdout + ready.stderr
    with socket_without_listener() as port:
        down = subprocess.run([*command, "--port", str(port), "--timeout", "3"], capture_output=True)
    assert down.returncode != 0


@contextlib.contextmanager
def socket_without_listener() -> Iterator[int]:
    """A loopback port bound but not listening: a connection to it is refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield bound.getsockname()[1]


# -- Kubernetes CronJob -----------------------------------------------------------------------


def _container() -> dict:
    documents = yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / "cronjob.yaml").read_text())
    (cronjob,) = [d for d in documents if d and d["kind"] == "CronJob"]
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return container


def test_the_cronjob_webhook_secret_is_optional_and_the_url_is_not():
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in _container()["env"] if "valueFrom" in e}
    assert refs["NOTIFY_URL"]["optional"] is True
    assert refs["DEST_SQL"].get("optional", False) is False  # no run without its database


def test_the_cronjob_image_is_tagged_with_the_project_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", VERSION)
    image = _container()["image"]
    name, _, tag = image.rpartition(":")
    assert (name.rsplit("/", 1)[-1], tag) == ("csv-sql-importer", VERSION)
    # The README builds and pushes that very tag.
    builds = [
        c for c in shell_commands(readme_section("### Kubernetes CronJob")) if c[:2] == ["docker", "build"]
    ]
    assert [c[c.index("-t") + 1] for c in builds] == [image]


# -- systemd ----------------------------------------------------------------------------------


def test_the_systemd_readme_steps_make_what_the_unit_needs():
    """The unit's user, install folder, interpreter and EnvironmentFile are each made by the
    README's steps, in an order that works (the user and folder before the install, the timer
    enabled last)."""
    service = systemd_unit("csv-sql-importer.service")["Service"]
    commands = list(shell_commands(readme_section("### Scheduled refresh with systemd")))

    def position(predicate: object) -> int:
        found = [i for i, c in enumerate(commands) if predicate(c)]  # type: ignore[operator]
        assert found, predicate
        return found[0]

    user = position(lambda c: c[0] == "useradd")
    useradd = commands[user]
    assert useradd[-1] == service["User"]
    assert {"--system", "--user-group"} <= set(useradd)
    assert service["Group"] == service["User"]  # --user-group makes it
    assert useradd[useradd.index("--shell") + 1].endswith("nologin")
    home = service["WorkingDirectory"]
    folder = position(lambda c: c[:2] == ["install", "-d"] and c[-1] == home)
    copied = position(lambda c: c[:2] == ["cp", "-r"] and c[-1].rstrip("/") == home)
    venv = position(lambda c: c[1:3] == ["-m", "venv"])
    python = Path(commands[venv][-1]) / "bin" / "python"
    interpreter, script = shlex.split(service["ExecStart"])
    assert Path(interpreter) == python
    assert script in commands[copied]  # index.py, relative to WorkingDirectory
    assert "processor" in commands[copied]
    pip = position(lambda c: c[0] == str(python.parent / "pip"))
    requirements = commands[pip][commands[pip].index("-r") + 1]
    assert Path(requirements) == Path(home) / "requirements.txt"
    assert "requirements.txt" in commands[copied]
    environment_file = service["EnvironmentFile"]
    secret_folder = position(
        lambda c: c[:2] == ["install", "-d"] and c[-1] == str(Path(environment_file).parent)
    )
    secret = position(lambda c: c[0] == "install" and c[-2:] == ["/dev/null", environment_file])
    assert commands[secret][commands[secret].index("-m") + 1] == "600"
    enable = position(lambda c: c[:2] == ["systemctl", "daemon-reload"] or c[:2] == ["systemctl", "enable"])
    assert user < folder < copied < venv < pip < enable
    assert secret_folder < secret < enable
