"""Find the source files: a glob below SRC_DATA_FOLDER, in a stable order, with their format.

Discovery decides everything that is known from a file's name (compression, delimiter) so that
readers get a plain, picklable ``SourceFile`` and never guess again.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from processor.errors import ConfigError, SourceError

log = logging.getLogger(__name__)

COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}


@dataclass(frozen=True)
class SourceFile:
    """One file to import: where it is, how it is compressed, and how its fields are separated."""

    path: str
    name: str
    size: int
    compression: str | None
    delimiter: str

    @property
    def stem(self) -> str:
        """The name without compression and data suffixes: ``title.basics.tsv.gz`` -> ``title.basics``."""
        name = Path(self.name).name
        if self.compression:
            name = name.rsplit(".", 1)[0]
        return name.rsplit(".", 1)[0] if "." in name else name


def discover_files(folder: Path, pattern: str, delimiter: str | None) -> list[SourceFile]:
    """Glob ``pattern`` below ``folder``; return readable, non-empty files sorted by relative path.

    Empty (0-byte) files are skipped with a warning.  Files whose real location lies outside the
    folder (a symlink leading elsewhere) are refused, so a glob can never read beyond it.
    """
    if not folder.exists():
        raise SourceError(f"SRC_DATA_FOLDER does not exist: {folder}")
    if not folder.is_dir():
        raise SourceError(f"SRC_DATA_FOLDER is not a folder: {folder}")
    root = folder.resolve()
    found: list[SourceFile] = []
    empty = 0
    try:
        matches = sorted(folder.glob(pattern), key=lambda p: p.relative_to(folder).as_posix())
    except (NotImplementedError, ValueError) as error:
        raise ConfigError(f"SRC_FILE_NAME must be a glob relative to SRC_DATA_FOLDER: {error}") from None
    for path in matches:
        if not path.is_file():
            continue
        name = path.relative_to(folder).as_posix()
        if not path.resolve().is_relative_to(root):
            raise SourceError(f"{name}: refusing a file outside SRC_DATA_FOLDER ({path.resolve()})")
        if not os.access(path, os.R_OK):
            raise SourceError(f"{name}: cannot be read (permission denied)")
        size = path.stat().st_size
        if size == 0:
            log.warning("%s: empty file (0 bytes), skipped", name)
            empty += 1
            continue
        compression = COMPRESSIONS.get(path.suffix.lower())
        data_suffix = Path(path.stem).suffix if compression else path.suffix
        found.append(
            SourceFile(
                path=str(path),
                name=name,
                size=size,
                compression=compression,
                delimiter=delimiter or ("\t" if data_suffix.lower() == ".tsv" else ","),
            )
        )
    if not found:
        skipped = f" (only {empty} empty file{'s' if empty > 1 else ''}, skipped)" if empty else ""
        raise SourceError(f"no file matches SRC_FILE_NAME={pattern!r} in {folder}{skipped}")
    return found


def common_stem(files: list[SourceFile]) -> str:
    """The default DEST_TABLE: the name stem all matched files share (``certificates``)."""
    stems = sorted({f.stem for f in files})
    if len(stems) > 1:
        shown = ", ".join(stems[:3]) + (", ..." if len(stems) > 3 else "")
        raise ConfigError(f"DEST_TABLE is required: the matched files have different names ({shown})")
    return stems[0]
