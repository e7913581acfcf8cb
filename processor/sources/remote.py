"""Object storage and HTTP as the source: SRC_DATA_FOLDER as a URL that fsspec reads.

``s3://bucket/prefix`` (and ``gs://``, ``az://``, any scheme fsspec knows) is a folder whose
objects are globbed as a local folder's files are; ``https://host/file.csv.gz`` (or any URL of
one object) is one file, or an archive whose members are globbed.  Everything else is as for a
local file, because every byte is read through ``open_path``: compression, archives, the
splitting of a large object (its parts read by ranged requests, as fsspec's files seek), and the
Dask executor, whose workers receive the URL (a string) and open it with their own credentials.

An object's identity for the ledger is its ETag, size and modification time together, as the
store lists them: an ETag alone is no content hash (a multipart upload's is not an MD5 of the
bytes), and any change of the three is a changed file.  Where a store gives no ETag (a plain
HTTP server), the bytes are hashed as a local file's are.

Credentials come from each store's own environment and configuration (``AWS_ACCESS_KEY_ID``,
``AWS_ENDPOINT_URL``, ``~/.aws``, ``GOOGLE_APPLICATION_CREDENTIALS``, ``AZURE_STORAGE_*``); the
errors of a missing credential, a refused one, or a missing bucket are one SourceError each,
which names the URL as it may be shown and never repeats what the store's library said of the
request (it may quote signed headers).
"""

from __future__ import annotations

import datetime
import io
import posixpath
import re
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from processor.errors import ConfigError, SourceError, first_line
from processor.masking import MASK, mask
from processor.package import install_hint

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

#: A URL: a scheme, then ``://`` (``C:\\data`` and ``data/x`` are local paths).
URL_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: The package each scheme's fsspec implementation imports (named by a missing one's message).
PACKAGES = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "az": "adlfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
    "http": "aiohttp",
    "https": "aiohttp",
}
#: Bytes fetched per request while an object is read in order (fsspec's read-ahead): large
#: enough that a request's latency is small beside its transfer, small enough that reading a
#: sample, a zip's directory or a part's first bytes fetches little more than it needs.
BLOCK_BYTES = 8 << 20
#: The keys under which fsspec's implementations give an object's ETag and modification time.
ETAG_KEYS = ("ETag", "etag", "Etag", "md5Hash")
MODIFIED_KEYS = ("LastModified", "last_modified", "Last-Modified", "updated", "mtime")
#: Why an HTTP server's file could not be read from an offset (a part of it, a zip's directory).
NO_RANGES = (
    "the server does not answer byte-range requests, which reading it from an offset needs "
    "(a part of it: set SPLIT_BYTES above its size; a .zip: serve it from a server that does)"
)
#: The exceptions of a store's library that found no credentials to sign a request with.
NO_CREDENTIALS = (
    "NoCredentialsError",
    "PartialCredentialsError",
    "DefaultCredentialsError",
    "CredentialUnavailableError",
)
#: Where each store's library finds credentials (by its package), for the message of none or
#: refused ones.
CREDENTIALS = {
    "s3fs": "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or ~/.aws/credentials (AWS_PROFILE)",
    "gcsfs": "GOOGLE_APPLICATION_CREDENTIALS, or gcloud auth application-default login",
    "adlfs": "AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY",
}
#: Schemes whose URLs name one object each: a folder of them cannot be listed.
SINGLE_OBJECT = frozenset({"http", "https"})


@dataclass(frozen=True)
class RemoteObject:
    """One object found at a URL: its URL, its name relative to the folder, size and identity."""

    url: str
    name: str
    size: int
    #: Its ETag, size and modification time as one string (None: the store gives no ETag).
    identity: str | None


def is_url(path: object) -> bool:
    """Whether SRC_DATA_FOLDER (or a source file's path) is a URL rather than a local path."""
    return isinstance(path, str) and "://" in path and URL_PATTERN.match(path) is not None


def open_path(path: str) -> IO[bytes]:
    """A source's stored bytes, opened for reading: a local file, or an object through fsspec
    (seekable where the store serves byte ranges, as S3, GCS, Azure and most HTTP servers do)."""
    if "://" not in path:  # the local path: no other work
        return open(path, "rb")  # closed with what reads it
    fs, inside = filesystem(path)
    try:
        opened = fs.open(inside, "rb", block_size=BLOCK_BYTES, cache_type="readahead")
    except Exception as error:
        raise remote_error(path, error) from None
    return cast(IO[bytes], _ObjectFile(opened, path))


class _ObjectFile(io.RawIOBase):
    """An object's fsspec file whose failures while it is read are OSErrors, as a local file's
    are (a source that cannot be read: exit 3), not each library's own exception: an HTTP server
    that ignores byte ranges (fsspec's ValueError), a connection lost mid-read (botocore's)."""

    def __init__(self, opened: Any, url: str) -> None:
        super().__init__()
        self._file = opened
        self._url = url

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        try:
            data = self._file.read(len(buffer))
        except OSError:
            raise
        except Exception as error:
            if "range requests" in str(error):  # fsspec's advice to its caller is no user's
                raise OSError(NO_RANGES) from None
            raise OSError(mask(first_line(error), url_secrets(self._url))) from None
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return int(self._file.seek(offset, whence))

    def tell(self) -> int:
        return int(self._file.tell())

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


def filesystem(url: str) -> tuple[AbstractFileSystem, str]:
    """The fsspec filesystem of ``url`` (cached by fsspec per process) and the path inside it;
    a scheme whose package is not installed is a ConfigError naming the extra that brings it."""
    scheme = urlsplit(url).scheme.lower()
    try:
        import fsspec.core

        return cast("tuple[AbstractFileSystem, str]", fsspec.core.url_to_fs(url))
    except ImportError as error:
        package = PACKAGES.get(scheme, error.name or "its fsspec implementation")
        hint = install_hint(package) or f"; pip install {package}"
        raise ConfigError(f"SRC_DATA_FOLDER {shown_url(url)}: {scheme}:// needs {package}{hint}") from None
    except ValueError as error:  # "Protocol not known"
        raise ConfigError(f"SRC_DATA_FOLDER {shown_url(url)}: not a URL fsspec can read ({error})") from None


def locate(url: str) -> RemoteObject | None:
    """The object ``url`` names, or None where it names a folder (a prefix) to glob."""
    fs, inside = filesystem(url)
    try:
        fs.invalidate_cache()  # a listing of an earlier run in this process is no listing of now
        info = fs.info(inside)
    except Exception as error:
        raise remote_error(url, error) from None
    if info.get("type") == "directory":
        if urlsplit(url).scheme.lower() in SINGLE_OBJECT:
            raise SourceError(f"{shown_url(url)}: an http(s) URL must name one file or archive, not a page")
        return None
    return RemoteObject(url, base_name(url), int(info.get("size") or 0), identity(info))


def list_folder(url: str) -> list[RemoteObject]:
    """Every object below the folder ``url`` (a bucket, or a prefix taken as a folder), with its
    name relative to it, sorted by name; the caller globs the names."""
    fs, inside = filesystem(url)
    root = inside.rstrip("/")
    try:
        found = fs.find(root, detail=True)
    except Exception as error:
        raise remote_error(url, error) from None
    if not found and not fs.exists(root):
        raise SourceError(f"SRC_DATA_FOLDER does not exist: {shown_url(url)}")
    prefix = url.rstrip("/") + "/"
    objects = []
    for path, info in found.items():
        name = path[len(root) :].lstrip("/") if path.startswith(root) else posixpath.basename(path)
        if info.get("type") == "directory" or not name:
            continue
        objects.append(RemoteObject(prefix + name, name, int(info.get("size") or 0), identity(info)))
    return sorted(objects, key=lambda o: o.name)


def identity(info: dict[str, Any]) -> str | None:
    """An object's fingerprint for the ledger from its listing: ETag, size and modification
    time together (None where the store gives no ETag: its bytes are hashed as they are read)."""
    etag = next((str(info[k]).strip('"') for k in ETAG_KEYS if info.get(k)), None)
    if etag is None:  # a time alone (HTTP's Last-Modified, to the second) would miss a quick rewrite
        return None
    modified = next((info[k] for k in MODIFIED_KEYS if info.get(k)), None)
    if isinstance(modified, datetime.datetime):  # listed in local time, looked up in UTC: one instant
        modified = modified.timestamp()
    return f"object:{etag}:{info.get('size')}:{modified or ''}"


def base_name(url: str) -> str:
    """The last name of a URL's path (``https://host/a/b.csv.gz?x=1``: ``b.csv.gz``)."""
    return posixpath.basename(urlsplit(url).path.rstrip("/")) or urlsplit(url).netloc


def shown_url(url: str) -> str:
    """A source URL as it may be shown: a password in it and its query (a signed URL's
    signature) as ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}{':' + MASK if colon else ''}@{host}"
    query = f"?{MASK}" if parts.query else ""
    return f"{parts.scheme}://{netloc}{parts.path}{query}"


def url_secrets(url: str) -> tuple[str, ...]:
    """What no output may show of a source URL: its password and its query."""
    parts = urlsplit(url)
    found = [parts.password or "", parts.query]
    return tuple(value for value in found if value)


def remote_error(url: str, error: BaseException) -> SourceError:
    """The one-line error of a store that refused or could not serve ``url``; the library's own
    text is shown only where it is a plain reason (not found), never a request it quotes."""
    shown = shown_url(url)
    kind = type(error).__name__
    package = PACKAGES.get(urlsplit(url).scheme.lower(), "")
    hint = "set " + CREDENTIALS.get(package, "the store's standard variables or configuration")
    if isinstance(error, FileNotFoundError):
        return SourceError(f"{shown}: not found (no such bucket, container or object)")
    refused = kind == "ClientAuthenticationError" or getattr(error, "code", None) in (401, 403)
    if isinstance(error, PermissionError) or refused:  # S3's; Azure's; Google's HttpError
        return SourceError(f"{shown}: access denied: the store refused the credentials ({hint})")
    if kind in NO_CREDENTIALS:
        return SourceError(f"{shown}: no credentials found: {hint}")
    if kind == "ClientResponseError":  # aiohttp's, of an HTTP status: 404 is FileNotFoundError
        return SourceError(f"{shown}: the server answered HTTP {getattr(error, 'status', '?')}")
    if isinstance(error, OSError) or kind.endswith(("ConnectionError", "ConnectTimeoutError")):
        # a connection refused (botocore's names the endpoint), a store's plain reason
        return SourceError(f"{shown}: cannot be read: {mask(first_line(error), url_secrets(url))}")
    return SourceError(f"{shown}: cannot be read ({kind})")
