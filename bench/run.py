"""Benchmark: this importer against each database's own bulk loader on the same files.

    python -m bench.run --rows 400000 --files 20

Generates (or reuses) an EPC-like dataset under bench/out, then per database runs the importer
as users run it (``python index.py`` in a subprocess) and the database's loader into a table of
the same planned schema, alternating A B A B, and reports the best run of each: seconds, rows/s,
the ratio to the loader and the importer's peak RSS (largest process, and the sum over its
processes).  The naive design (Pool + ``to_sql`` default INSERTs) runs on a subset for reference;
``--sizes`` adds a throughput-versus-file-size check on one database.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bench.generate import generate
from bench.loaders import loader_commands, run_loader
from bench.naive import load_naive
from bench.rss import RunResult, run_measured
from processor.backends import backend_for
from processor.database import create_engine
from processor.discover import discover_files
from processor.read import TextFormat
from processor.schema import TablePlan, plan_types, profile_file, read_headers
from processor.settings import parse_url

ROOT = Path(__file__).resolve().parent.parent
SERVERS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432/bench",
    "mariadb": "mysql://root@127.0.0.1:3306/bench",
}
TOOL_TABLE, LOADER_TABLE, NAIVE_TABLE = "bench_tool", "bench_loader", "bench_naive"
BYTES_PER_ROW = 1230  # of the generated files, to turn --sizes megabytes into rows


@dataclass
class Line:
    """One database's result: the best importer and loader runs, the importer's memory peak."""

    database: str
    rows: int
    seconds: float
    loader_seconds: float
    peak_rss_mb: float
    total_rss_mb: float
    naive_rows_per_second: float | None


def create_bench_databases(names: list[str]) -> None:
    """Create the servers' ``bench`` databases if missing, so one command runs on a fresh machine."""
    for name in names:
        if name not in SERVERS:
            continue
        url = parse_url(SERVERS[name])
        engine = sa.create_engine(url.set(database="postgres" if name == "postgresql" else ""))
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                if name == "postgresql":
                    exists = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = 'bench'").first()
                    if not exists:
                        conn.exec_driver_sql("CREATE DATABASE bench")
                else:
                    conn.exec_driver_sql("CREATE DATABASE IF NOT EXISTS bench")
        finally:
            engine.dispose()


def database_url(name: str, out: Path) -> str:
    """Where the benchmark loads ``name``: the servers' ``bench`` databases, or a file under ``out``."""
    return f"sqlite:///{out / 'bench.sqlite'}" if name == "sqlite" else SERVERS[name]


def dataset(out: Path, files: int, rows_per_file: int) -> list[Path]:
    """The generated files for this shape, written once and reused by later runs."""
    folder = out / f"epc-{files}x{rows_per_file}"
    marker = folder / ".complete"
    if not marker.exists():
        print(f"generating {files} files of {rows_per_file:,} rows in {folder} ...", flush=True)
        generate(folder, files, rows_per_file)
        marker.touch()
    return sorted(folder.glob("*/certificates.csv"))


def plan_for(files: list[Path], url: str) -> TablePlan:
    """The importer's own schema plan, so the loaders load into the same column types."""
    sources = discover_files(files[0].parent.parent, "*/certificates.csv", None)
    fmt = TextFormat()
    names = read_headers(sources, fmt)
    backend = backend_for(create_engine(parse_url(url)))
    try:
        return plan_types(names, [profile_file(s, fmt, len(names), 10_000) for s in sources], backend)
    finally:
        backend.engine.dispose()


def fresh_table(url: str, table: str, plan: TablePlan | None) -> None:
    """Drop ``table``; create it empty with the plan's types when a plan is given."""
    backend = backend_for(create_engine(parse_url(url)))
    try:
        with backend.engine.begin() as conn:
            plan_table = backend.table(table, plan or TablePlan((), ()))
            plan_table.drop(conn, checkfirst=True)
            if plan is not None:
                plan_table.create(conn)
    finally:
        backend.engine.dispose()


def count_rows(url: str, table: str) -> int:
    engine = create_engine(parse_url(url))
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(sa.table(table))).scalar_one()
    finally:
        engine.dispose()


def run_tool(url: str, folder: Path, table: str, extra: list[str]) -> RunResult:
    """``python index.py`` as a user runs it, into a table that does not exist yet."""
    fresh_table(url, table, None)
    command = [sys.executable, str(ROOT / "index.py"), "--src-data-folder", str(folder)]
    command += ["--src-file-name", "*/certificates.csv", "--dest-sql", url, "--dest-table", table, *extra]
    result = run_measured(command, env={**os.environ, "LOG_LEVEL": "WARNING"})
    if result.returncode != 0:
        raise SystemExit(f"importer failed:\n{result.output}")
    return result


def run_loader_once(url: str, files: list[Path], plan: TablePlan) -> float:
    """The database's own loader, file after file, into a fresh table of the planned types."""
    if url.startswith("sqlite"):
        Path(parse_url(url).database or "").unlink(missing_ok=True)
    fresh_table(url, LOADER_TABLE, plan)
    commands = loader_commands(parse_url(url), LOADER_TABLE, files)
    started = time.perf_counter()
    run_loader(commands)
    return time.perf_counter() - started


def bench_database(name: str, files: list[Path], rows: int, args: argparse.Namespace) -> Line:
    url = database_url(name, args.out)
    plan = plan_for(files, url)
    folder = files[0].parent.parent
    tools: list[RunResult] = []
    loaders: list[float] = []
    for round_ in range(args.repeat):
        if url.startswith("sqlite"):
            Path(parse_url(url).database or "").unlink(missing_ok=True)
        tools.append(run_tool(url, folder, TOOL_TABLE, args.extra))
        loaders.append(run_loader_once(_loader_url(url), files, plan))
        print(
            f"  {name} round {round_ + 1}: importer {tools[-1].seconds:.1f} s, loader {loaders[-1]:.1f} s",
            flush=True,
        )
    for table, url_ in ((TOOL_TABLE, url), (LOADER_TABLE, _loader_url(url))):
        if (found := count_rows(url_, table)) != rows:
            raise SystemExit(f"{name}: {table} holds {found:,} rows, expected {rows:,}")
    naive = None
    if args.naive_files:
        subset = files[: args.naive_files]
        naive_rows = rows // len(files) * len(subset)
        # pysqlite's default 5 s lock timeout would fail the naive design's concurrent writers.
        naive_url = url + "?timeout=600" if name == "sqlite" else url
        seconds = load_naive(parse_url(naive_url), NAIVE_TABLE, subset, workers=os.cpu_count() or 1)
        naive = naive_rows / seconds
        fresh_table(url, NAIVE_TABLE, None)
    return Line(
        database=name,
        rows=rows,
        seconds=min(r.seconds for r in tools),
        loader_seconds=min(loaders),
        peak_rss_mb=max(r.peak_rss_mb for r in tools),
        total_rss_mb=max(r.total_rss_mb for r in tools),
        naive_rows_per_second=naive,
    )


def _loader_url(url: str) -> str:
    """SQLite's loader writes its own file, so neither run pays for the other's pages."""
    return url.replace("bench.sqlite", "loader.sqlite")


def size_check(name: str, sizes_mb: list[int], args: argparse.Namespace) -> None:
    """rows/s and peak RSS for one file of each size: memory must not grow with the file."""
    url = database_url(name, args.out)
    print(f"\nthroughput vs file size ({name}, one file each)")
    print(f"{'size':>8} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'peak RSS':>9}")
    for size in sizes_mb:
        rows = size * 1_000_000 // BYTES_PER_ROW
        files = dataset(args.out, 1, rows)
        if url.startswith("sqlite"):
            Path(parse_url(url).database or "").unlink(missing_ok=True)
        result = run_tool(url, files[0].parent.parent, TOOL_TABLE, args.extra)
        megabytes = files[0].stat().st_size / 1e6
        print(
            f"{megabytes:>6.0f}MB {rows:>10,} {result.seconds:>8.1f} {rows / result.seconds:>9,.0f} "
            f"{result.peak_rss_mb:>7.0f}MB",
            flush=True,
        )
        fresh_table(url, TOOL_TABLE, None)


def print_table(lines: list[Line]) -> None:
    print(
        f"\n{'database':<11} {'rows':>9} {'importer s':>10} {'rows/s':>8} {'loader s':>9} {'ratio':>6} "
        f"{'peak RSS':>9} {'sum RSS':>8} {'naive rows/s':>12} {'vs naive':>8}"
    )
    for line in lines:
        naive = line.naive_rows_per_second
        rate = line.rows / line.seconds
        print(
            f"{line.database:<11} {line.rows:>9,} {line.seconds:>10.1f} {rate:>8,.0f} "
            f"{line.loader_seconds:>9.1f} {line.seconds / line.loader_seconds:>5.2f}x "
            f"{line.peak_rss_mb:>7.0f}MB {line.total_rss_mb:>6.0f}MB "
            f"{(f'{naive:,.0f}' if naive else '-'):>12} {(f'{rate / naive:.0f}x' if naive else '-'):>8}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000, help="rows in all")
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--databases", default="postgresql,mariadb,sqlite")
    parser.add_argument("--repeat", type=int, default=2, help="A B rounds per database")
    parser.add_argument("--naive-files", type=int, default=2, help="files the naive design loads (0: skip)")
    parser.add_argument("--sizes", default="", help="MB per file for the size check, e.g. 40,400,2000")
    parser.add_argument("--size-database", default="postgresql")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="data and SQLite files")
    parser.add_argument("extra", nargs="*", help="more importer flags after --, e.g. -- --workers 3")
    args = parser.parse_args(argv)
    create_bench_databases(args.databases.split(",") + [args.size_database] * bool(args.sizes))
    files = dataset(args.out, args.files, args.rows // args.files)
    rows = args.rows // args.files * args.files
    lines = [bench_database(name, files, rows, args) for name in args.databases.split(",") if name]
    print_table(lines)
    if args.sizes:
        size_check(args.size_database, [int(s) for s in args.sizes.split(",")], args)


if __name__ == "__main__":
    main()
