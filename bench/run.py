"""Benchmark: this importer against each database's own bulk loader on the same files.

    python -m bench.run --rows 400000 --files 16 --gz-rows 400000

Generates (or reuses) an EPC-like dataset under bench/out, then per database runs the importer
as users run it (``python index.py`` in a subprocess) and the database's loader into a table of
the same planned schema, alternating A B A B, and reports the median of each: seconds, rows/s,
the ratio to the loader (also without the ``ANALYZE`` after the importer's publish, which the
loaders do not do; read from its JSON report) and the importer's peak RSS (its largest process,
the sum over its processes).  ``--gz-rows`` adds a case of one large gzip file (the loaders read it through
``gzip -dc``).  The naive design (Pool + ``to_sql`` default INSERTs) runs on a subset for
reference; ``--sizes`` adds a throughput-versus-file-size check on one database.  The results
are also written as JSON (``--json``, default ``<out>/results.json``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy as sa

from bench.generate import generate
from bench.loaders import run_loader
from bench.naive import load_naive
from bench.rss import RunResult, run_measured
from processor.backends import backend_for
from processor.backends.database import create_engine
from processor.plan.schema import plan_types, profile_file, read_headers
from processor.records import TablePlan
from processor.settings import parse_url
from processor.sources.discover import discover_files
from processor.sources.text import TextFormat

ROOT = Path(__file__).resolve().parent.parent
SERVERS = {
    "postgresql": "postgresql://postgres@127.0.0.1:5432/bench",
    "mariadb": "mysql://root@127.0.0.1:3306/bench",
}
TOOL_TABLE, LOADER_TABLE, NAIVE_TABLE = "bench_tool", "bench_loader", "bench_naive"
BYTES_PER_ROW = 1230  # of the generated files, to turn --sizes megabytes into rows


@dataclass
class Line:
    """One case on one database: medians of the importer's and the loader's runs, and the
    importer's memory (its largest process, the sum over its processes, their number)."""

    case: str
    database: str
    rows: int
    seconds: float
    loader_seconds: float
    peak_rss_mb: float
    total_rss_mb: float
    processes: int
    #: Of the importer's seconds, the ANALYZE after its publish (the report's ``statistics``
    #: phase), which the loaders do not do.
    statistics_seconds: float = 0.0
    naive_rows_per_second: float | None = None

    @property
    def ratio(self) -> float:
        return self.seconds / self.loader_seconds

    @property
    def ratio_without_statistics(self) -> float:
        return (self.seconds - self.statistics_seconds) / self.loader_seconds


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


def gz_dataset(out: Path, rows: int) -> list[Path]:
    """One large gzip-compressed file of ``rows`` rows, written once and reused."""
    folder = out / f"epc-gz-{rows}"
    marker = folder / ".complete"
    if not marker.exists():
        print(f"generating one .gz file of {rows:,} rows in {folder} ...", flush=True)
        (plain,) = generate(folder, 1, rows)
        with (
            plain.open("rb") as source,
            gzip.open(plain.with_suffix(".csv.gz"), "wb", compresslevel=6) as out_,
        ):
            shutil.copyfileobj(source, out_, 1 << 20)
        plain.unlink()
        marker.touch()
    return sorted(folder.glob("*/certificates.csv.gz"))


def plan_for(files: list[Path], url: str) -> TablePlan:
    """The importer's own schema plan, so the loaders load into the same column types."""
    folder = files[0].parent.parent
    sources = discover_files(folder, f"*/{files[0].name}", None)
    fmt = TextFormat()
    # The benchmark's files share one header: the first file's is every file's.
    names = next(iter(read_headers(sources, fmt).values()))
    backend = backend_for(create_engine(parse_url(url)))
    try:
        return plan_types(names, [profile_file(s, fmt, len(names), 10_000)[0] for s in sources], backend)
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


def run_tool(url: str, files: list[Path], table: str, extra: list[str]) -> tuple[RunResult, dict[str, float]]:
    """``python index.py`` as a user runs it, into a table that does not exist yet; its
    measurements, and the phases of its JSON report."""
    fresh_table(url, table, None)
    report = files[0].parent.parent.parent / "report.json"
    command = [sys.executable, str(ROOT / "index.py"), "--src-data-folder", str(files[0].parent.parent)]
    command += ["--src-file-name", f"*/{files[0].name}", "--dest-sql", url, "--dest-table", table]
    command += ["--report-path", str(report), *extra]
    result = run_measured(command, env={**os.environ, "LOG_LEVEL": "WARNING"})
    if result.returncode != 0:
        raise SystemExit(f"importer failed:\n{result.output}")
    return result, json.loads(report.read_text())["phases"]


def run_loader_once(url: str, files: list[Path], plan: TablePlan) -> float:
    """The database's own loader, file after file, into a fresh table of the planned types."""
    if url.startswith("sqlite"):
        Path(parse_url(url).database or "").unlink(missing_ok=True)
    fresh_table(url, LOADER_TABLE, plan)
    started = time.perf_counter()
    run_loader(parse_url(url), LOADER_TABLE, files)
    return time.perf_counter() - started


def bench_case(name: str, case: str, files: list[Path], rows: int, args: argparse.Namespace) -> Line:
    """Importer and loader in turn (A B A B ...) on the same files; medians of each."""
    url = database_url(name, args.out)
    plan = plan_for(files, url)
    tools: list[RunResult] = []
    analyzing: list[float] = []
    loaders: list[float] = []
    for round_ in range(args.repeat):
        if url.startswith("sqlite"):
            Path(parse_url(url).database or "").unlink(missing_ok=True)
        result, phases = run_tool(url, files, TOOL_TABLE, args.extra)
        tools.append(result)
        analyzing.append(phases.get("statistics", 0.0))
        loaders.append(run_loader_once(_loader_url(url), files, plan))
        print(
            f"  {name}, {case}, round {round_ + 1}: importer {tools[-1].seconds:.1f} s, "
            f"loader {loaders[-1]:.1f} s",
            flush=True,
        )
    for table, url_ in ((TOOL_TABLE, url), (LOADER_TABLE, _loader_url(url))):
        if (found := count_rows(url_, table)) != rows:
            raise SystemExit(f"{name}: {table} holds {found:,} rows, expected {rows:,}")
    naive = None
    if args.naive_files and len(files) > 1:
        subset = files[: args.naive_files]
        naive_rows = rows // len(files) * len(subset)
        # pysqlite's default 5 s lock timeout would fail the naive design's concurrent writers.
        naive_url = url + "?timeout=600" if name == "sqlite" else url
        seconds = load_naive(parse_url(naive_url), NAIVE_TABLE, subset, workers=os.cpu_count() or 1)
        naive = naive_rows / seconds
        fresh_table(url, NAIVE_TABLE, None)
    return Line(
        case=case,
        database=name,
        rows=rows,
        seconds=statistics.median(r.seconds for r in tools),
        loader_seconds=statistics.median(loaders),
        peak_rss_mb=max(r.peak_rss_mb for r in tools),
        total_rss_mb=max(r.total_rss_mb for r in tools),
        processes=max(r.processes for r in tools),
        statistics_seconds=statistics.median(analyzing),
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
        result, _ = run_tool(url, files, TOOL_TABLE, args.extra)
        megabytes = files[0].stat().st_size / 1e6
        print(
            f"{megabytes:>6.0f}MB {rows:>10,} {result.seconds:>8.1f} {rows / result.seconds:>9,.0f} "
            f"{result.peak_rss_mb:>7.0f}MB",
            flush=True,
        )
        fresh_table(url, TOOL_TABLE, None)


def print_table(lines: list[Line]) -> None:
    print(
        f"\n{'case':<12} {'database':<11} {'rows':>9} {'importer s':>10} {'ANALYZE s':>9} {'rows/s':>8} "
        f"{'loader s':>9} {'ratio':>6} {'w/o ANALYZE':>11} {'peak RSS':>9} {'procs':>5} {'sum RSS':>8} "
        f"{'naive rows/s':>12}"
    )
    for line in lines:
        naive = line.naive_rows_per_second
        print(
            f"{line.case:<12} {line.database:<11} {line.rows:>9,} {line.seconds:>10.1f} "
            f"{line.statistics_seconds:>9.1f} {line.rows / line.seconds:>8,.0f} {line.loader_seconds:>9.1f} "
            f"{line.ratio:>5.2f}x {line.ratio_without_statistics:>10.2f}x {line.peak_rss_mb:>7.0f}MB "
            f"{line.processes:>5} {line.total_rss_mb:>6.0f}MB {(f'{naive:,.0f}' if naive else '-'):>12}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000, help="rows in all, over --files files")
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--gz-rows", type=int, default=0, help="rows of the single large .gz file case")
    parser.add_argument("--databases", default="postgresql,mariadb,sqlite")
    parser.add_argument("--repeat", type=int, default=2, help="importer/loader rounds per case (A B A B)")
    parser.add_argument("--naive-files", type=int, default=2, help="files the naive design loads (0: skip)")
    parser.add_argument("--sizes", default="", help="MB per file for the size check, e.g. 40,400,2000")
    parser.add_argument("--size-database", default="postgresql")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="data and SQLite files")
    parser.add_argument("--json", type=Path, help="also write the results here (default: <out>/results.json)")
    parser.add_argument("extra", nargs="*", help="more importer flags after --, e.g. -- --workers 3")
    args = parser.parse_args(argv)
    names = [name for name in args.databases.split(",") if name]
    create_bench_databases(names + [args.size_database] * bool(args.sizes))
    cases = [(f"{args.files} files", dataset(args.out, args.files, args.rows // args.files))]
    if args.gz_rows:
        cases.append(("1 .gz file", gz_dataset(args.out, args.gz_rows)))
    lines = []
    for case, files in cases:
        rows = args.rows // args.files * args.files if len(files) > 1 else args.gz_rows
        lines += [bench_case(name, case, files, rows, args) for name in names]
    print_table(lines)
    machine = {"cpus": os.cpu_count(), "load_average_at_end": os.getloadavg()}
    results = {
        "machine": machine,
        "lines": [
            asdict(line) | {"ratio": line.ratio, "ratio_without_statistics": line.ratio_without_statistics}
            for line in lines
        ],
    }
    (args.json or args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    if args.sizes:
        size_check(args.size_database, [int(s) for s in args.sizes.split(",")], args)


if __name__ == "__main__":
    main()
