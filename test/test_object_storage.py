"""Object storage and HTTP as the source (``processor/sources/remote.py``): a real S3-compatible
server on loopback (moto's server mode, with IAM authentication on, so wrong credentials are
refused as S3 refuses them) and a loopback HTTP server that serves byte ranges.

Objects are written with boto3 (not through the importer's fsspec) and the tables read back by
each database's own driver; values are compared as the text that was uploaded.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlalchemy as sa
from conftest import ROOT, Database, csv_text, unavailable, user_env
from moto.server import ThreadedMotoServer

from processor import RunReport, Settings, run_import
from processor.publish.ledger import LEDGER_TABLE
from processor.sources.remote import NO_RANGES

REGION = "us-east-1"
# Text that must come back byte for byte: unicode, a quoted comma, quote and line break,
# leading zeros and spaces, words that are no NULL.
TRICKY = ["é ü 中文 🙂", 'a,"b"\nc', "007", "  padded  ", "NA", "null"]


@dataclass(frozen=True)
class S3:
    """The loopback S3 server: its endpoint, a key it accepts, and a boto3 client of that key."""

    endpoint: str
    key_id: str
    secret: str

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret,
        )

    def bucket(self) -> str:
        """A new bucket no other test uses."""
        name = f"b-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def put(self, bucket: str, key: str, data: bytes | str) -> None:
        self.client().put_object(
            Bucket=bucket, Key=key, Body=data.encode() if isinstance(data, str) else data
        )


def forget_filesystems() -> None:
    """Drop fsspec's cached S3 filesystems (made with the credentials of their time)."""
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture(scope="session")
def s3() -> Iterator[S3]:
    """moto's S3 server on 127.0.0.1, an IAM user allowed s3:* and its key, then authentication on;
    the importer finds the server and key in the standard AWS variables, as a user's run does."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    setup = {"aws_access_key_id": "setup", "aws_secret_access_key": "setup", "region_name": REGION}
    iam = boto3.client("iam", endpoint_url=endpoint, **setup)
    iam.create_user(UserName="importer")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_user_policy(UserName="importer", PolicyName="s3", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="importer")["AccessKey"]
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
    )
    urllib.request.urlopen(request, timeout=10).read()
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(
        AWS_ACCESS_KEY_ID=key["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"],
        AWS_ENDPOINT_URL=endpoint,
        AWS_DEFAULT_REGION=REGION,
    )
    forget_filesystems()
    try:
        yield S3(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        forget_filesystems()
        server.stop()


def settings_for(source: str, db: Database, table: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "src_data_folder": source,
        "src_file_name": "**/*.csv",
        "dest_sql": db.url,
        "dest_table": table,
        "workers": 1,
        "rejects_path": tmp_path / f"{table}.rejects.csv",
    }
    return Settings(**(values | overrides))


def load_url(source: str, db: Database, table: str, tmp_path: Path, **overrides: Any) -> RunReport:
    return run_import(settings_for(source, db, table, tmp_path, **overrides))


def sqlite(tmp_path: Path) -> Database:
    return Database("sqlite", f"sqlite:///{tmp_path / 'test.db'}")


def rows_text(first: int, count: int) -> list[list[str]]:
    """Rows ``id, text``: each id once, the tricky texts in turn."""
    return [[str(i), f"{TRICKY[i % len(TRICKY)]} {i}"] for i in range(first, first + count)]


def expected(rows: list[list[str]]) -> list[tuple[int, str]]:
    return sorted((int(i), text) for i, text in rows)


def loaded(db: Database, table: str) -> list[tuple[int, str]]:
    return sorted((int(i), str(text)) for i, text in db.rows(table))


# --- S3 --------------------------------------------------------------------------------------


def test_a_glob_below_a_prefix_loads_every_matching_object_into_each_database(db, table, tmp_path, s3):
    bucket = s3.bucket()
    a, b, c = rows_text(0, 7), rows_text(100, 5), rows_text(200, 3)
    s3.put(bucket, "data/a.csv", csv_text(["id", "text"], a))
    s3.put(bucket, "data/2024/q1/b.csv", csv_text(["id", "text"], b))
    s3.put(bucket, "data/notes.txt", "not a csv")
    s3.put(bucket, "other/c.csv", csv_text(["id", "text"], c))  # outside the prefix
    report = load_url(f"s3://{bucket}/data", db, table, tmp_path)
    assert report.error is None, report.error
    assert loaded(db, table) == expected(a + b)
    assert sorted(f.name for f in report.files) == ["2024/q1/b.csv", "a.csv"]


def test_gzip_objects_and_a_zip_archive_object(table, tmp_path, s3):
    db = sqlite(tmp_path)
    bucket = s3.bucket()
    a, b, c = rows_text(0, 50), rows_text(50, 40), rows_text(90, 30)
    s3.put(bucket, "in/a.csv.gz", gzip.compress(csv_text(["id", "text"], a).encode()))
    s3.put(bucket, "in/b.csv", csv_text(["id", "text"], b))
    report = load_url(f"s3://{bucket}/in/", db, table, tmp_path, src_file_name="*.csv*")
    assert report.error is None, report.error
    assert loaded(db, table) == expected(a + b)

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("2023/x.csv", csv_text(["id", "text"], a))
        out.writestr("2024/y.csv", csv_text(["id", "text"], c))
        out.writestr("readme.txt", "skip me")
    s3.put(bucket, "archives/epc.zip", archive.getvalue())
    report = load_url(f"s3://{bucket}/archives/epc.zip", db, table, tmp_path, if_exists="replace")
    assert report.error is None, report.error
    assert loaded(db, table) == expected(a + c)
    assert sorted(f.name for f in report.files) == ["epc.zip!/2023/x.csv", "epc.zip!/2024/y.csv"]

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as out:
        for name, rows in (("q/x.csv", b), ("q/y.csv", c)):
            data = csv_text(["id", "text"], rows).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    s3.put(bucket, "archives/epc.tar.gz", archive.getvalue())
    report = load_url(f"s3://{bucket}/archives/epc.tar.gz", db, table, tmp_path, if_exists="replace")
    assert report.error is None, report.error
    assert loaded(db, table) == expected(b + c)

    single = io.BytesIO()
    with zipfile.ZipFile(single, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("only.csv", csv_text(["id", "text"], a))
    s3.put(bucket, "one/only.csv.zip", single.getvalue())
    report = load_url(f"s3://{bucket}/one", db, table, tmp_path, if_exists="replace", src_file_name="*.zip")
    assert report.error is None, report.error
    assert loaded(db, table) == expected(a)


def test_a_large_object_is_split_by_ranged_reads_and_every_row_loads_once(table, tmp_path, s3, caplog):
    db = sqlite(tmp_path)
    bucket = s3.bucket()
    rows = rows_text(0, 3000)
    s3.put(bucket, "big/all.csv", csv_text(["id", "text"], rows))
    caplog.set_level("INFO", logger="werkzeug")  # the S3 server's log of its requests

    def gets(**options: Any) -> int:
        """The GET requests of the object a run makes (each opening of it is one, or more)."""
        caplog.clear()
        report = load_url(f"s3://{bucket}/big", db, table, tmp_path, if_exists="replace", **options)
        assert report.error is None, report.error
        assert loaded(db, table) == expected(rows)  # each id once: none lost, none twice
        assert [(f.name, f.rows) for f in report.files] == [("all.csv", 3000)]
        return sum(f"GET /{bucket}/big/all.csv " in r.getMessage() for r in caplog.records)

    whole = gets()
    split = gets(split_bytes=20_000, workers=2, chunk_size=500)
    assert split >= whole + 2  # three parts or more, each read from its own offset


def test_headerless_objects_load_with_the_columns_named_and_split_by_ranged_reads(db, table, tmp_path, s3):
    """SRC_HEADER=false through a store: every record is data, in the whole object and in each
    part of a split one (TPC-H's shape: '|' separated, a trailing delimiter)."""
    bucket = s3.bucket()
    rows = rows_text(0, 1500)
    text = "".join(f"{i}|{t.replace(chr(10), ' ').replace('|', '/')}|\n" for i, t in rows)
    s3.put(bucket, "tbl/part.tbl", text)
    report = load_url(
        f"s3://{bucket}/tbl",
        db,
        table,
        tmp_path,
        src_file_name="*.tbl",
        src_header=False,
        src_columns=("id", "text"),
        src_delimiter="|",
        src_quoting="none",
        split_bytes=8_000,
        workers=2,
    )
    assert report.error is None, report.error
    want = sorted((int(i), t.replace("\n", " ").replace("|", "/")) for i, t in rows)
    assert loaded(db, table) == want  # record 1 is data too: none lost, none twice
    assert [(f.name, f.rows) for f in report.files] == [("part.tbl", 1500)]


def ledger_fingerprints(db: Database, table: str) -> dict[str, str]:
    engine = sa.create_engine(db.url)
    with engine.connect() as conn:
        found = conn.execute(
            sa.text(f"SELECT source, fingerprint FROM {LEDGER_TABLE} WHERE target = :t"), {"t": table}
        )
        result: dict[str, str] = {source: fingerprint for source, fingerprint in found}
    engine.dispose()
    return result


def test_the_ledger_knows_an_object_by_etag_size_and_time(table, tmp_path, s3):
    db = sqlite(tmp_path)
    bucket = s3.bucket()
    a, b = rows_text(0, 10), rows_text(10, 10)
    s3.put(bucket, "feed/a.csv", csv_text(["id", "text"], a))
    s3.put(bucket, "feed/b.csv", csv_text(["id", "text"], b))
    url = f"s3://{bucket}/feed"
    first = load_url(url, db, table, tmp_path, if_exists="append")
    assert first.error is None, first.error
    etag = s3.client().head_object(Bucket=bucket, Key="feed/a.csv")["ETag"].strip('"')
    fingerprints = ledger_fingerprints(db, table)
    assert fingerprints["a.csv"].startswith(f"object:{etag}:{len(csv_text(['id', 'text'], a).encode())}:")

    again = load_url(url, db, table, tmp_path, if_exists="append")
    assert again.error is None, again.error
    assert sorted(again.skipped) == ["a.csv", "b.csv"]
    assert loaded(db, table) == expected(a + b)

    changed = [[i, text.upper()] for i, text in a]  # the same size, other bytes: a new ETag
    assert len(csv_text(["id", "text"], changed)) == len(csv_text(["id", "text"], a))
    s3.put(bucket, "feed/a.csv", csv_text(["id", "text"], changed))
    refused = load_url(url, db, table, tmp_path, if_exists="append")
    assert refused.error is not None
    assert refused.error.exit_code == 3
    assert "a.csv: changed since it was loaded" in str(refused.error)
    assert loaded(db, table) == expected(a + b)

    reloaded = load_url(url, db, table, tmp_path, if_exists="append", reload_changed=True)
    assert reloaded.error is None, reloaded.error
    assert reloaded.skipped == ["b.csv"]
    assert loaded(db, table) == sorted(expected(a + b) + expected(changed))


@pytest.mark.slow
def test_a_dask_cluster_reads_the_objects(table, tmp_path, s3):
    from test_dask import start_cluster, stop_cluster

    db = sqlite(tmp_path)
    bucket = s3.bucket()
    a, b = rows_text(0, 400), rows_text(400, 300)
    s3.put(bucket, "d/a.csv", csv_text(["id", "text"], a))
    s3.put(bucket, "d/b.csv.gz", gzip.compress(csv_text(["id", "text"], b).encode()))
    (tmp_path / "cluster").mkdir()
    processes, address = start_cluster(tmp_path / "cluster")  # its workers: the AWS variables set
    try:
        report = load_url(
            f"s3://{bucket}/d",
            db,
            table,
            tmp_path,
            src_file_name="*.csv*",
            executor="dask",
            dask_scheduler=address,
            split_bytes=5_000,
        )
    finally:
        stop_cluster(processes)
    assert report.error is None, report.error
    assert loaded(db, table) == expected(a + b)


def run_cli(env: dict[str, str], tmp_path: Path) -> tuple[int, str, str, str]:
    """``python index.py`` as a user runs it; its exit status, stdout, stderr and JSON report."""
    report = tmp_path / "report.json"
    env = user_env(DEST_SQL=f"sqlite:///{tmp_path / 'cli.db'}", REPORT_PATH=str(report), **env)
    done = subprocess.run(
        [sys.executable, str(ROOT / "index.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    return done.returncode, done.stdout, done.stderr, report.read_text() if report.exists() else ""


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_a_missing_bucket_is_one_line_and_status_3(tmp_path, s3):
    code, _out, err, _report = run_cli({"SRC_DATA_FOLDER": "s3://no-such-bucket-here/x"}, tmp_path)
    assert code == 3, err
    assert error_lines(err) == [
        "error: s3://no-such-bucket-here/x: not found (no such bucket, container or object)"
    ]
    assert "Traceback" not in err


def test_wrong_credentials_are_one_line_and_status_3_and_never_shown(tmp_path, s3):
    bucket = s3.bucket()
    s3.put(bucket, "p/a.csv", "id\n1\n")
    wrong = "wR0ngS3cretKeyThatMustNeverBeShown"
    code, out, err, report = run_cli(
        {"SRC_DATA_FOLDER": f"s3://{bucket}/p", "AWS_SECRET_ACCESS_KEY": wrong, "LOG_LEVEL": "DEBUG"},
        tmp_path,
    )
    assert code == 3, err
    assert len(error_lines(err)) == 1
    assert error_lines(err)[0].startswith(f"error: s3://{bucket}/p: access denied")
    for text in (out, err, report):
        assert wrong not in text
        assert s3.secret not in text
    assert report  # the report was written, without the secret


@pytest.mark.slow
def test_no_credentials_at_all_is_one_line_and_status_3(tmp_path, s3):
    bucket = s3.bucket()
    s3.put(bucket, "p/a.csv", "id\n1\n")
    env = user_env(
        SRC_DATA_FOLDER=f"s3://{bucket}/p",
        DEST_SQL=f"sqlite:///{tmp_path / 'cli.db'}",
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "index.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 3, done.stderr
    assert len(error_lines(done.stderr)) == 1
    assert error_lines(done.stderr)[0].startswith(f"error: s3://{bucket}/p: no credentials found: ")


def test_a_missing_store_package_names_the_extra_to_install(tmp_path):
    code = (
        "import sys; sys.modules['s3fs'] = None; sys.path.insert(0, sys.argv[1]); import index; "
        "sys.exit(index.main([], {'SRC_DATA_FOLDER': 's3://bucket/x', 'DEST_SQL': 'sqlite:///x.db'}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 2, done.stderr
    assert error_lines(done.stderr) == [
        "error: SRC_DATA_FOLDER s3://bucket/x: s3:// needs s3fs; install the importer's 's3' extra "
        "(pip install '.[s3]' in its checkout)"
    ]


# --- Google Cloud Storage ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def gcs() -> Iterator[Any]:
    """gcp-storage-emulator on 127.0.0.1, found through STORAGE_EMULATOR_HOST (as gcsfs and
    Google's clients find an emulator); gcsfs's bucket-layout probe over gRPC, which the emulator
    does not serve, off.  Yields a gcsfs filesystem to write objects with."""
    from gcp_storage_emulator.server import create_server

    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = create_server("127.0.0.1", port, in_memory=True)
    server.start()
    names = {
        "STORAGE_EMULATOR_HOST": f"http://127.0.0.1:{port}",
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
    }
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(names)
    import gcsfs

    gcsfs.GCSFileSystem.clear_instance_cache()
    try:
        yield gcsfs.GCSFileSystem(token="anon", project="test", skip_instance_cache=True)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        gcsfs.GCSFileSystem.clear_instance_cache()
        server.stop()


def check_store(
    scheme: str, fs: Any, table: str, tmp_path: Path, etag_of: Callable[[dict[str, Any]], str]
) -> None:
    """What s3:// is tested for, through another store's fsspec filesystem ``fs``: a glob below
    a prefix (a plain and a gzip object, one outside it), split by ranged reads; the ledger
    knowing each object by its ETag, so an append skips both unread; a missing bucket."""
    db = sqlite(tmp_path)
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    a, b = rows_text(0, 2000), rows_text(2000, 300)
    fs.pipe(f"{bucket}/q/2024/a.csv", csv_text(["id", "text"], a).encode())
    fs.pipe(f"{bucket}/q/b.csv.gz", gzip.compress(csv_text(["id", "text"], b).encode()))
    fs.pipe(f"{bucket}/elsewhere/c.csv", b"id,text\n9999,no\n")
    url = f"{scheme}://{bucket}/q"
    report = load_url(url, db, table, tmp_path, src_file_name="**/*.csv*", split_bytes=16_000, workers=2)
    assert report.error is None, report.error
    assert loaded(db, table) == expected(a + b)
    assert sorted(f.name for f in report.files) == ["2024/a.csv", "b.csv.gz"]
    etag = etag_of(fs.info(f"{bucket}/q/2024/a.csv"))
    assert ledger_fingerprints(db, table)["2024/a.csv"].startswith(f"object:{etag}:")

    again = load_url(url, db, table, tmp_path, src_file_name="**/*.csv*", if_exists="append")
    assert again.error is None, again.error
    assert sorted(again.skipped) == ["2024/a.csv", "b.csv.gz"]
    assert loaded(db, table) == expected(a + b)

    missing = load_url(f"{scheme}://no-{bucket}/q", db, table, tmp_path, if_exists="append")
    assert missing.error is not None
    assert missing.error.exit_code == 3
    assert str(missing.error) == f"{scheme}://no-{bucket}/q: not found (no such bucket, container or object)"


def test_gs_urls_glob_split_and_skip_as_s3_does(table, tmp_path, gcs):
    check_store("gs", gcs, table, tmp_path, lambda info: info["etag"])


# --- Azure Blob Storage ------------------------------------------------------------------------

#: Azurite's well-known development account (its documentation's; no secret of anyone's).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@pytest.fixture(scope="session")
def azure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Azurite's blob service on 127.0.0.1 (from the npm registry: ``npm install -g azurite``,
    which .ci/run does), found through AZURE_STORAGE_CONNECTION_STRING as adlfs finds a real
    account's.  Yields an adlfs filesystem to write blobs with."""
    command = shutil.which("azurite-blob")
    if command is None:
        unavailable("azurite-blob is not installed (npm install -g azurite@3.37.0)")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = subprocess.Popen(
        [
            command,
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--silent",
            "--skipApiVersionCheck",
        ],
        cwd=tmp_path_factory.mktemp("azurite"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "Azurite did not start"
            time.sleep(0.2)
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    )
    saved = os.environ.get("AZURE_STORAGE_CONNECTION_STRING")
    os.environ["AZURE_STORAGE_CONNECTION_STRING"] = connection
    from adlfs import AzureBlobFileSystem

    AzureBlobFileSystem.clear_instance_cache()
    try:
        yield AzureBlobFileSystem(connection_string=connection, skip_instance_cache=True)
    finally:
        if saved is None:
            os.environ.pop("AZURE_STORAGE_CONNECTION_STRING", None)
        else:
            os.environ["AZURE_STORAGE_CONNECTION_STRING"] = saved
        AzureBlobFileSystem.clear_instance_cache()
        server.terminate()  # Azurite closes its connections first; killed where it takes long
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=20)


def test_az_urls_glob_split_and_skip_as_s3_does(table, tmp_path, azure):
    check_store("az", azure, table, tmp_path, lambda info: info["etag"].strip('"'))


# --- HTTP ------------------------------------------------------------------------------------


class Served:
    """Files served on loopback by path, with byte ranges (``Range: bytes=a-b``) as S3 serves them."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.ranges: list[str] = []
        #: Answer every GET with the whole file, as a server without range support does.
        self.ranges_ignored = False


def handler_for(served: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _body(self) -> bytes | None:
            data = served.files.get(self.path.split("?")[0])
            if data is None:
                self.send_error(404)
            return data

        def do_HEAD(self) -> None:
            data = self._body()
            if data is not None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()

        def do_GET(self) -> None:
            data = self._body()
            if data is None:
                return
            wanted = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
            if wanted is None or served.ranges_ignored:
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            served.ranges.append(wanted.group(0))
            start = int(wanted.group(1))
            end = min(int(wanted.group(2)) if wanted.group(2) else len(data) - 1, len(data) - 1)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            self.send_header("Content-Length", str(end - start + 1))
            self.end_headers()
            self.wfile.write(data[start : end + 1])

    return Handler


@pytest.fixture
def http() -> Iterator[tuple[Served, str]]:
    served = Served()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(served))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_one_file_and_one_gzip_file_over_http(table, tmp_path, http):
    served, base = http
    db = sqlite(tmp_path)
    a, b = rows_text(0, 30), rows_text(30, 20)
    served.files["/exports/a.csv"] = csv_text(["id", "text"], a).encode()
    served.files["/exports/b.csv.gz"] = gzip.compress(csv_text(["id", "text"], b).encode())
    report = load_url(f"{base}/exports/a.csv", db, table, tmp_path)
    assert report.error is None, report.error
    assert loaded(db, table) == expected(a)
    assert [f.name for f in report.files] == ["a.csv"]
    report = load_url(f"{base}/exports/b.csv.gz", db, table, tmp_path, if_exists="append")
    assert report.error is None, report.error
    assert loaded(db, table) == expected(a + b)
    # No ETag from this server: the ledger has each file's hash, and a rerun skips it by that.
    again = load_url(f"{base}/exports/b.csv.gz", db, table, tmp_path, if_exists="append")
    assert again.error is None, again.error
    assert again.skipped == ["b.csv.gz"]
    assert loaded(db, table) == expected(a + b)
    assert ledger_fingerprints(db, table)["b.csv.gz"].startswith("sha256:")


def test_a_large_file_over_http_is_split_by_ranged_reads(table, tmp_path, http):
    served, base = http
    db = sqlite(tmp_path)
    rows = rows_text(0, 2000)
    served.files["/big.csv"] = csv_text(["id", "text"], rows).encode()
    report = load_url(f"{base}/big.csv", db, table, tmp_path, split_bytes=16_000, workers=2)
    assert report.error is None, report.error
    assert loaded(db, table) == expected(rows)
    assert any(not r.startswith("bytes=0-") for r in served.ranges)  # a part read from its middle


def test_a_server_that_ignores_ranges_cannot_have_a_file_split(table, tmp_path, http):
    """Splitting needs byte ranges: a server that answers every request with the whole file
    fails the run with one line naming the URL's file, exit 3 (SPLIT_BYTES above the file's size
    loads it whole, as the README says)."""
    served, base = http
    served.ranges_ignored = True
    db = sqlite(tmp_path)
    rows = rows_text(0, 2000)
    served.files["/big.csv"] = csv_text(["id", "text"], rows).encode()
    report = load_url(f"{base}/big.csv", db, table, tmp_path, split_bytes=16_000, workers=2)
    assert report.error is not None
    assert report.error.exit_code == 3
    assert str(report.error) == f"big.csv: cannot be read: {NO_RANGES}"
    assert not db.exists(table)
    whole = load_url(f"{base}/big.csv", db, table, tmp_path)
    assert whole.error is None, whole.error
    assert loaded(db, table) == expected(rows)


@pytest.mark.slow
def test_a_missing_http_file_is_one_line_and_status_3(tmp_path, http):
    _served, base = http
    code, _out, err, _report = run_cli({"SRC_DATA_FOLDER": f"{base}/nothing.csv"}, tmp_path)
    assert code == 3, err
    assert error_lines(err) == [f"error: {base}/nothing.csv: not found (no such bucket, container or object)"]


def test_the_dry_run_shows_the_url_without_its_secrets(tmp_path, http):
    served, base = http
    served.files["/a.csv"] = csv_text(["id", "text"], rows_text(0, 5)).encode()
    host = base.removeprefix("http://")
    url = f"http://reader:pAssw0rdXYZ@{host}/a.csv?token=t0kenABCDEF&sig=s1gnature"
    code, out, err, report = run_cli({"SRC_DATA_FOLDER": url, "DRY_RUN": "true"}, tmp_path)
    assert code == 0, err
    assert f"source: http://reader:***@{host}/a.csv?***" in out
    for text in (out, err, report):
        for secret in ("pAssw0rdXYZ", "t0kenABCDEF", "s1gnature"):
            assert secret not in text
