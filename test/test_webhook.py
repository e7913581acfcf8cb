"""NOTIFY_URL: the report POSTed to a real HTTP server on loopback on success and on failure, without
the password; a failing or missing webhook is a warning, never the run's failure.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import test_progress
from conftest import SERVERS, need_server
from test_progress import _count

from processor.settings import parse_url

folder = test_progress.folder  # the fixture of test_progress.py: two files of 300 rows


class _Hook:
    """A webhook on 127.0.0.1: records each POST's JSON body, answers with ``status``."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.bodies: list[dict] = []
        self.authorizations: list[str | None] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(length)))
                hook.authorizations.append(self.headers["Authorization"])
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[_Hook]:
    server = _Hook(204)
    yield server
    server.close()


def test_webhook_gets_the_report_on_success_and_on_failure(folder, tmp_path, hook, cli):
    env = {"SRC_DATA_FOLDER": str(folder), "DEST_SQL": f"sqlite:///{tmp_path / 'o.db'}", "DEST_TABLE": "t"}
    code, _, err = cli(["--notify-url", hook.url], env)
    assert code == 0, err
    code, _, _ = cli(["--notify-url", hook.url], env)  # the table exists
    assert code == 7
    ok, failed = hook.bodies
    assert (ok["status"], ok["exit_code"], ok["rows"]) == ("ok", 0, _count(tmp_path / "o.db", "t"))
    assert (failed["status"], failed["exit_code"]) == ("failed", 7)
    assert failed["error"] == "table 't' already exists; set IF_EXISTS=replace or IF_EXISTS=append"


def test_webhook_report_hides_the_password(folder, tmp_path, hook, cli):
    need_server("postgresql")
    url = parse_url(SERVERS["postgresql"]).set(password="Hookpw5x", host="127.0.0.1", port=1)
    env = {"SRC_DATA_FOLDER": str(folder), "DEST_SQL": url.render_as_string(hide_password=False)}
    with_user = hook.url.replace("http://", "http://hook%40user:Hk5%3Apw@")
    code, _, err = cli(["--notify-url", with_user], env)  # nothing listens on port 1
    assert code == 6
    [body] = hook.bodies
    # The URL's user and password are HTTP Basic credentials, and no output shows the password.
    assert hook.authorizations == ["Basic " + base64.b64encode(b"hook@user:Hk5:pw").decode()]
    assert "Hk5" not in json.dumps(body) + err
    # All after the host may be a token: shown as ***.
    address = hook.url.removesuffix("/hook").replace("http://", "http://hook%40user:***@")
    assert body["settings"]["NOTIFY_URL"] == address + "/***"
    assert "Hookpw5x" not in json.dumps(body)
    assert body["destination"] == f"postgresql+psycopg2://{url.username}:***@127.0.0.1:1/{url.database}"
    assert body["settings"]["DEST_SQL"] == body["destination"]


def test_failing_or_missing_webhook_is_a_warning(folder, tmp_path, cli):
    refusing = _Hook(500)
    try:
        env = {
            "SRC_DATA_FOLDER": str(folder),
            "DEST_SQL": f"sqlite:///{tmp_path / 'o.db'}",
            "DEST_TABLE": "t",
        }
        code, out, err = cli(["--notify-url", refusing.url], env)
    finally:
        refusing.close()
    assert (code, out[:17]) == (0, "imported 600 rows"), err
    assert len(refusing.bodies) == 2  # tried, and retried once
    shown = refusing.url.replace("/hook", "/***")  # all after the host may be a token
    assert f"NOTIFY_URL {shown}: the run report could not be delivered (2 attempts): HTTP 500" in err
    # Nothing listens there any more: refused, retried, a warning, the exit status unchanged.
    code, _, err = cli(["--notify-url", refusing.url, "--if-exists", "replace"], env)
    assert code == 0
    assert "the run report could not be delivered (2 attempts): [Errno 111] Connection refused" in err
