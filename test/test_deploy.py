"""The deploy recipes are what they claim (issue 10): each file parses, every setting it names is
one the importer has and takes its value, the recipes refresh unattended (IF_EXISTS=replace,
LOCK_TIMEOUT, REPORT_PATH, NOTIFY_URL), and the Dockerfile's runtime steps work outside Docker
as its non-root user."""

from __future__ import annotations

import configparser
import contextlib
import csv
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from processor.settings import OPTIONS, load_settings

SETTINGS = {option.env for option in OPTIONS}
UNATTENDED = {"IF_EXISTS", "LOCK_TIMEOUT", "REPORT_PATH", "NOTIFY_URL"}
# What the runtime image holds besides the installed requirements.
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def check_settings(env: dict[str, str]) -> None:
    """Every variable is a setting, the unattended ones are there, and the values are valid."""
    assert set(env) <= SETTINGS, set(env) - SETTINGS
    assert set(env) >= UNATTENDED, UNATTENDED - set(env)
    settings = load_settings([], {"DEST_SQL": "sqlite:///recipe.db", **env})
    assert settings.if_exists == "replace"
    assert settings.lock_timeout > 0
    assert settings.report_path is not None
    assert settings.report_path.is_absolute()


def systemd_unit(name: str) -> configparser.ConfigParser:
    # systemd repeats keys (Environment=); strict=False keeps the last, so they are read apart.
    unit = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string((ROOT / "deploy" / "systemd" / name).read_text(encoding="utf-8"))
    return unit


def systemd_environment(name: str) -> dict[str, str]:
    """The service's Environment= assignments (quoted ones unquoted), in order."""
    text = (ROOT / "deploy" / "systemd" / name).read_text(encoding="utf-8")
    env = {}
    for line in text.splitlines():
        if line.startswith("Environment="):
            assignment = line.removeprefix("Environment=").strip()
            key, _, value = assignment.strip('"').partition("=")
            env[key] = value
    return env


def test_systemd_service_and_timer():
    service = systemd_unit("csv-sql-importer.service")
    timer = systemd_unit("csv-sql-importer.timer")
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["User"] != "root"
    assert service["Service"]["ExecStart"].endswith("python index.py")
    assert service["Service"]["EnvironmentFile"].startswith("/etc/")  # DEST_SQL, out of the unit
    env = systemd_environment("csv-sql-importer.service")
    assert "DEST_SQL" not in env  # its password stays in the EnvironmentFile
    check_settings(env)
    # The report is written where the service may write (its StateDirectory).
    state = Path("/var/lib") / service["Service"]["StateDirectory"]
    assert Path(env["REPORT_PATH"]).parent == state
    assert timer["Timer"]["Unit"] == "csv-sql-importer.service"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["OnCalendar"] == "*-01,04,07,10-02 03:00:00"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_kubernetes_cronjob():
    documents = list(yaml.safe_load_all((ROOT / "deploy" / "kubernetes" / "cronjob.yaml").read_text()))
    (cronjob,) = [d for d in documents if d and d["kind"] == "CronJob"]
    assert cronjob["apiVersion"] == "batch/v1"
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    minute, hour, day, months, weekday = spec["schedule"].split()
    assert (minute, hour, day, months, weekday) == ("0", "3", "2", "1,4,7,10", "*")
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert spec["jobTemplate"]["spec"]["backoffLimit"] == 0
    # The image's own user (Dockerfile: USER 10001), not root.
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert str(pod["securityContext"]["runAsUser"]) == image_user()
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    secrets = {e["name"] for e in container["env"] if "valueFrom" in e}
    assert {"DEST_SQL", "NOTIFY_URL"} <= secrets
    check_settings({k: v for k, v in env.items() if k not in secrets} | {"NOTIFY_URL": ""})
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"] for v in pod["volumes"]}
    assert {m["name"] for m in mounts.values()} <= volumes
    assert mounts[env["SRC_DATA_FOLDER"]]["readOnly"] is True
    assert str(Path(env["REPORT_PATH"]).parent) in mounts  # the report outlives the pod


def unset_interpolated(value: str) -> str:
    """A compose value as ``docker compose`` gives it when the variables it names are unset:
    ``${NAME:-default}`` is the default, ``${NAME}`` is empty."""
    return re.sub(r"\$\{\w+(?::?-([^}]*))?\}", lambda m: m.group(1) or "", value)


def test_docker_compose_trial():
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        checked = subprocess.run(
            ["docker", "compose", "config", "--quiet"], cwd=ROOT, capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stderr
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert services["db"]["image"].startswith("postgres:")
    assert services["mariadb"]["image"].startswith("mariadb:")
    importers = {name: s for name, s in services.items() if name.startswith("importer")}
    assert set(importers) == {"importer", "importer-mariadb", "importer-dask"}
    for name, service in importers.items():
        env = {k: unset_interpolated(str(v)) for k, v in service["environment"].items()}
        assert set(service["depends_on"]) <= set(services), name
        url = load_settings([], env).url
        # The URL names a service of this file, with the user, password and database it creates.
        database = services[url.host]["environment"]
        prefix = "POSTGRES" if url.host == "db" else "MARIADB"
        assert (url.username, url.password, url.database) == (
            database[f"{prefix}_USER"],
            database[f"{prefix}_PASSWORD"],
            database.get(f"{prefix}_DB") or database.get(f"{prefix}_DATABASE"),
        ), name
        assert url.host in service["depends_on"], name
        check_settings({k: v for k, v in env.items() if k != "DEST_SQL"})


def image_user() -> str:
    """The runtime stage's USER, which must be the uid the image creates."""
    user = re.findall(r"^USER (\S+)$", DOCKERFILE, re.MULTILINE)[-1]
    assert re.search(rf"useradd .*--uid {user} ", DOCKERFILE)
    return user


def test_dockerfile_passes_hadolint():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    linted = subprocess.run([hadolint, "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.slow
def test_the_runtime_image_steps_work_outside_docker():
    """The runtime stage, step by step, without Docker: its files (the COPY lines) in an app
    folder owned by its user, run as that uid (setpriv, when the test runs as root; else as the
    test's own non-root user) with its ENV, importing the bundled sample into the default
    sqlite:///import.db in its working folder.

    Not a fresh ``pip install``: that needs the network and minutes.  What is checked instead is
    that the image installs exactly requirements.txt, and that the interpreter running the
    importer here has exactly those pins installed."""
    assert "COPY requirements.txt /tmp/requirements.txt" in DOCKERFILE
    assert "pip install --no-cache-dir -r /tmp/requirements.txt" in DOCKERFILE
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            assert metadata.version(name) == version, name

    copied = re.findall(r"^COPY (?!--from)(\S+) \S+$", DOCKERFILE.split("FROM python", 2)[2], re.MULTILINE)
    assert copied == ["index.py", "processor/", "data/"]
    env = dict(re.findall(r"(\w+)=(\S+)", DOCKERFILE.split("ENV ", 1)[1].split("USER", 1)[0]))
    uid = int(image_user())
    app = Path(tempfile.mkdtemp(prefix="image-app-"))
    try:
        for name in copied:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, app / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(source, app / name)
        assert "/opt/venv/bin/python -m compileall -q processor/" in DOCKERFILE
        subprocess.run([sys.executable, "-m", "compileall", "-q", "processor/"], cwd=app, check=True)
        command = [sys.executable, "index.py"]
        if os.geteuid() == 0:
            app.chmod(0o755)
            os.chown(app, uid, uid)  # the Dockerfile's `chown 10001 /app`
            command = [*_as_user(uid), *command]
        run_env = {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(app),
            "PYTHONUNBUFFERED": env["PYTHONUNBUFFERED"],
            "WORKERS": "1",
            "HOME": str(app),
        }
        assert env["PYTHONPATH"] == "/app"  # the image's folder, here ``app``
        helped = subprocess.run([*command, "--help"], cwd=app, env=run_env, capture_output=True, text=True)
        assert helped.returncode == 0, helped.stderr
        assert "--dry-run" in helped.stdout
        ran = subprocess.run(command, cwd=app, env=run_env, capture_output=True, text=True, timeout=120)
        assert ran.returncode == 0, ran.stderr
        sample = sorted((ROOT / "data").glob("**/*.csv"))
        with contextlib.ExitStack() as files:
            rows = sum(len(list(csv.reader(files.enter_context(f.open(newline=""))))) - 1 for f in sample)
        shown = f"imported {rows:,} rows from {len(sample)} files into table 'certificates' at sqlite:///import.db"
        assert ran.stdout.startswith(shown)
        database = app / "import.db"
        assert database.stat().st_uid == (uid if os.geteuid() == 0 else os.geteuid())
        assert database.stat().st_uid != 0
        with contextlib.closing(sqlite3.connect(database)) as conn:
            assert conn.execute("SELECT count(*) FROM certificates").fetchone() == (rows,)
    finally:
        shutil.rmtree(app)


def _as_user(uid: int) -> list[str]:
    """The setpriv prefix that runs a command as ``uid``.  Where that uid cannot read the
    interpreter's packages (a checkout inside a 0700 folder), it keeps CAP_DAC_READ_SEARCH: it
    reads and searches any folder, yet writes only where the uid may, which is what is tested."""
    prefix = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import pandas, sqlalchemy"], capture_output=True)
    if probe.returncode == 0:
        return prefix
    return [*prefix, "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]


@pytest.mark.parametrize(
    "recipe", ["deploy/systemd/csv-sql-importer.service", "deploy/kubernetes/cronjob.yaml"]
)
def test_recipes_hold_no_secret(recipe):
    text = (ROOT / recipe).read_text(encoding="utf-8")
    assert not re.search(r"://[^@\s/]*:[^@\s/]*@", _code(text))


def _code(text: str) -> str:
    """The recipe without its comments (which show how to create the secret)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
