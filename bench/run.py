"""Benchmark: this importer against each database's own bulk loader on the same files.

    python -m bench.run --rows 400000 --files 16 --gz-rows 400000

Generates (or reuses) an EPC-like dataset under bench/out, then per database runs the importer
as users run it (``python index.py`` in a subprocess) and the database's loader into a table of
the same planned schema, alternating A B A B, and reports the median of each: seconds, rows/s,
the ratio to the loader (also without the ``ANALYZE`` after the importer's publish, read from
its JSON report, and against the loader followed by the same ``ANALYZE``) and the importer's
peak RSS (its largest process, the sum over its processes).  Every run is also accounted for
in CPU (``bench/account.py``): the client's CPU seconds (the importer's main process and its
workers apart), the database server's, and the share of the machine's cores they kept busy;
that account is printed as a markdown table.  ``--gz-rows`` adds a case of one large gzip file
(the loaders read it through ``gzip -dc``); ``--scale N`` a case of the same files N times over.
The naive design (Pool + ``to_sql`` default INSERTs) runs on a subset for reference; ``--sizes``
adds a throughput-versus-file-size check on one database; ``--decimal-rows`` a file of amounts
loaded as exact decimals and as doubles (PostgreSQL by default).  The results are also written as JSON
(``--json``, default ``<out>/results.json``).
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import json
import os
import shutil
import statistics
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.account import Account, measure
from bench.generate import AMOUNT_COLUMNS, generate, write_amounts
from bench.loaders import has_statistics_step, loader_label, run_loader, run_statistics
from bench.naive import load_naive
from bench.rss import RunResult, run_measured
from bench.servers import ServerCpu, server_cpu
from processor.backends import backend_for
from processor.backends.database import create_engine
from processor.cpus import available_cpus
from processor.kinds import DECIMAL, FLOAT
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
#: The databases in a file under --out: the importer's, and the loader's beside it (so that
#: neither run pays for the other's pages).
FILES = {"sqlite": "bench.sqlite", "duckdb": "bench.duckdb"}
#: Databases the naive design cannot load: its pool's processes write at once, and a DuckDB
#: file takes one writing process at a time.
NO_NAIVE = {"duckdb"}
TOOL_TABLE, LOADER_TABLE, NAIVE_TABLE = "bench_tool", "bench_loader", "bench_naive"
BYTES_PER_ROW = 1230  # of the generated files, to turn --sizes megabytes into rows


@dataclass
class Line:
    """One case on one database: medians of the importer's and the loader's runs, the
    importer's memory (its largest process, the sum over its processes, their number) and the
    CPU account of each (medians of each figure over the rounds)."""

    case: str
    database: str
    rows: int
    seconds: float
    loader_seconds: float
    peak_rss_mb: float
    total_rss_mb: float
    processes: int
    importer: Account
    #: The loader's load alone; its ``ANALYZE`` is ``loader_statistics`` (None: it has none).
    loader: Account
    loader_statistics: Account | None = None
    loader_name: str = ""
    #: The cores the machine gives this process, for the machine use.
    cores: int = 1
    #: Of the importer's seconds, the ANALYZE after its publish (the report's ``statistics``
    #: phase).
    statistics_seconds: float = 0.0
    #: The loader's ``ANALYZE`` after its load, as the importer's (0: it has none).
    loader_statistics_seconds: float = 0.0
    naive_rows_per_second: float | None = None
    #: The importer's report's ``cpu``: its sampling's and each load stage's CPU seconds, in the
    #: processes that ran them (medians of the rounds).
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """Against the loader alone (``psql \\copy`` file after file, ...)."""
        return self.seconds / self.loader_seconds

    @property
    def ratio_without_statistics(self) -> float:
        return (self.seconds - self.statistics_seconds) / self.loader_seconds

    @property
    def ratio_with_loader_statistics(self) -> float:
        """Against the loader followed by its ``ANALYZE``: the same work, as the importer's
        table comes analyzed."""
        return self.seconds / (self.loader_seconds + self.loader_statistics_seconds)

    @property
    def loader_total(self) -> Account:
        """The loader's load and its ``ANALYZE``, as one run."""
        return self.loader.plus(self.loader_statistics) if self.loader_statistics else self.loader

    @property
    def cpu_ratio(self) -> float:
        """The importer's CPU seconds (client and server) over the loader's, ``ANALYZE`` included."""
        return self.importer.cpu / self.loader_total.cpu if self.loader_total.cpu > 0 else 0.0

    def as_json(self) -> dict[str, object]:
        return asdict(self) | {
            "ratio": self.ratio,
            "ratio_without_statistics": self.ratio_without_statistics,
            "ratio_with_loader_statistics": self.ratio_with_loader_statistics,
            "cpu_ratio": self.cpu_ratio,
            "importer_utilisation": self.importer.utilisation(self.cores),
            "loader_utilisation": self.loader_total.utilisation(self.cores),
            "loader_total": asdict(self.loader_total),
        }


def create_bench_databases(names: list[str]) -> None:
    """Create the servers' databases (``bench``) if missing, so one command runs on a fresh machine."""
    for name in names:
        if name not in SERVERS:
            continue
        url = parse_url(SERVERS[name])
        database = url.database or ""
        engine = sa.create_engine(url.set(database="postgres" if name == "postgresql" else ""))
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                quoted = engine.dialect.identifier_preparer.quote(database)
                if name == "postgresql":
                    found = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
                    if not found.first():
                        conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
                else:
                    conn.exec_driver_sql(f"CREATE DATABASE IF NOT EXISTS {quoted}")
        finally:
            engine.dispose()


def database_url(name: str, out: Path) -> str:
    """Where the benchmark loads ``name``: the servers' ``bench`` databases, or a file under ``out``."""
    return f"{name}:///{out / FILES[name]}" if name in FILES else SERVERS[name]


def _loader_url(name: str, url: str) -> str:
    """A file database's loader writes its own file, so neither run pays for the other's pages."""
    return url.replace("/bench.", "/loader.") if name in FILES else url


def _remove_file_database(name: str, url: str) -> None:
    """Start a file database's run from no file (and no DuckDB write-ahead log)."""
    if name in FILES:
        database = Path(parse_url(url).database or "")
        database.unlink(missing_ok=True)
        database.with_name(database.name + ".wal").unlink(missing_ok=True)


def dataset(out: Path, files: int, rows_per_file: int) -> list[Path]:
    """The generated files for this shape, written once and reused by later runs."""
    folder = out / f"epc-{files}x{rows_per_file}"
    marker = folder / ".complete"
    if not marker.exists():
        print(f"generating {files} files of {rows_per_file:,} rows in {folder} ...", flush=True)
        generate(folder, files, rows_per_file)
        marker.touch()
    return sorted(folder.glob("*/certificates.csv"))


def scaled_dataset(out: Path, files: list[Path], scale: int) -> list[Path]:
    """``files`` ``scale`` times over, each copy in a folder of its own: hard links to the same
    files (copies where the file system has none), so no data is generated or stored again."""
    base = files[0].parent.parent
    folder = out / f"{base.name}-times-{scale}"
    marker = folder / ".complete"
    if not marker.exists():
        print(f"linking {len(files)} files {scale} times over in {folder} ...", flush=True)
        for copy in range(scale):
            for path in files:
                target = folder / f"{path.parent.name}-copy-{copy:03d}" / path.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.unlink(missing_ok=True)
                try:
                    os.link(path, target)
                except OSError:  # another file system, or one without hard links
                    shutil.copyfile(path, target)
        marker.touch()
    return sorted(folder.glob(f"*/{files[0].name}"))


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


def check_and_drop(name: str, url: str, table: str, rows: int) -> None:
    """Stop if ``table`` does not hold ``rows`` rows; then drop it (a file database: remove the
    file, which a DROP would not shrink), so that a database holds one copy of the data at a time
    (the ``--scale`` case's tables are gigabytes each)."""
    if (found := count_rows(url, table)) != rows:
        raise SystemExit(f"{name}: {table} holds {found:,} rows, expected {rows:,}")
    if name in FILES:
        _remove_file_database(name, url)
    else:
        fresh_table(url, table, None)


def compile_importer() -> None:
    """Compile the importer's modules to bytecode first, as an installed package (and the Docker
    image) has them and as a checkout's first run leaves them: where PYTHONDONTWRITEBYTECODE is
    set, every run would otherwise compile them again, in its main process and its worker server
    (about 0.2 s each, a cost no user's second run pays)."""
    if not compileall.compile_dir(ROOT / "processor", quiet=1):
        raise SystemExit("the importer's modules do not compile")


def run_tool(
    url: str, files: list[Path], table: str, extra: list[str], server: ServerCpu | None = None
) -> tuple[RunResult, dict[str, Any], Account]:
    """``python index.py`` as a user runs it, into a table that does not exist yet; its
    measurements, its JSON report, and its CPU account."""
    fresh_table(url, table, None)
    report = files[0].parent.parent.parent / "report.json"
    command = [sys.executable, str(ROOT / "index.py"), "--src-data-folder", str(files[0].parent.parent)]
    command += ["--src-file-name", f"*/{files[0].name}", "--dest-sql", url, "--dest-table", table]
    command += ["--report-path", str(report), *extra]
    server_before = server() if server else None
    result = run_measured(command, env={**os.environ, "LOG_LEVEL": "WARNING"})
    server_seconds = server() - server_before if server and server_before is not None else None
    if result.returncode != 0:
        raise SystemExit(f"importer failed:\n{result.output}")
    account = Account(
        seconds=result.seconds,
        client_cpu=result.cpu_seconds,
        server_cpu=server_seconds,
        main_cpu=result.main_cpu_seconds,
        workers_cpu=result.workers_cpu_seconds,
    )
    return result, json.loads(report.read_text()), account


def run_loader_once(
    url: str, files: list[Path], plan: TablePlan, server: ServerCpu | None = None
) -> tuple[Account, Account | None]:
    """The database's own loader, file after file, into a fresh table of the planned types,
    then its ``ANALYZE`` where the importer does one: the account of each."""
    fresh_table(url, LOADER_TABLE, plan)
    parsed = parse_url(url)
    load = measure(lambda: run_loader(parsed, LOADER_TABLE, files), server)
    analyze = None
    if has_statistics_step(parsed):
        analyze = measure(lambda: run_statistics(parsed, LOADER_TABLE), server)
    return load, analyze


def bench_case(name: str, case: str, files: list[Path], rows: int, args: argparse.Namespace) -> Line:
    """Importer and loader in turn (A B A B ...) on the same files; medians of each."""
    url = database_url(name, args.out)
    loader_url = _loader_url(name, url)
    plan = plan_for(files, url)
    server = server_cpu(parse_url(url))
    tools: list[RunResult] = []
    analyzing: list[float] = []
    importers: list[Account] = []
    loads: list[Account] = []
    loader_analyzes: list[Account] = []
    stages: list[dict[str, float]] = []
    for round_ in range(args.repeat):
        _remove_file_database(name, url)
        result, report, account = run_tool(url, files, TOOL_TABLE, args.extra, server)
        check_and_drop(name, url, TOOL_TABLE, rows)
        tools.append(result)
        importers.append(account)
        analyzing.append(report["phases"].get("statistics", 0.0))
        stages.append(report["cpu"])
        _remove_file_database(name, loader_url)
        load, analyze = run_loader_once(loader_url, files, plan, server)
        check_and_drop(name, loader_url, LOADER_TABLE, rows)
        loads.append(load)
        if analyze is not None:
            loader_analyzes.append(analyze)
        print(
            f"  {name}, {case}, round {round_ + 1}: importer {account.seconds:.1f} s "
            f"(CPU {account.client_cpu:.1f} s + server {_seconds(account.server_cpu)}), "
            f"loader {load.seconds:.1f} s "
            f"(CPU {load.client_cpu:.1f} s + server {_seconds(load.server_cpu)})"
            + (f", its ANALYZE {analyze.seconds:.1f} s" if analyze else ""),
            flush=True,
        )
    naive = None
    if args.naive_files and len(files) > 1 and name not in NO_NAIVE:
        subset = files[: args.naive_files]
        naive_rows = rows // len(files) * len(subset)
        # pysqlite's default 5 s lock timeout would fail the naive design's concurrent writers.
        naive_url = url + "?timeout=600" if name == "sqlite" else url
        seconds = load_naive(parse_url(naive_url), NAIVE_TABLE, subset, workers=os.cpu_count() or 1)
        naive = naive_rows / seconds
        fresh_table(url, NAIVE_TABLE, None)
    loader_statistics = Account.median(loader_analyzes) if loader_analyzes else None
    return Line(
        case=case,
        database=name,
        rows=rows,
        seconds=statistics.median(r.seconds for r in tools),
        loader_seconds=statistics.median(a.seconds for a in loads),
        peak_rss_mb=max(r.peak_rss_mb for r in tools),
        total_rss_mb=max(r.total_rss_mb for r in tools),
        processes=max(r.processes for r in tools),
        importer=Account.median(importers),
        loader=Account.median(loads),
        loader_statistics=loader_statistics,
        loader_name=loader_label(parse_url(url)),
        cores=available_cpus(),
        statistics_seconds=statistics.median(analyzing),
        loader_statistics_seconds=loader_statistics.seconds if loader_statistics else 0.0,
        naive_rows_per_second=naive,
        stages={stage: statistics.median(s[stage] for s in stages) for stage in stages[0]},
    )


def size_check(name: str, sizes_mb: list[int], args: argparse.Namespace) -> None:
    """rows/s and peak RSS for one file of each size: memory must not grow with the file."""
    url = database_url(name, args.out)
    print(f"\nthroughput vs file size ({name}, one file each)")
    print(f"{'size':>8} {'rows':>10} {'seconds':>8} {'rows/s':>9} {'peak RSS':>9}")
    for size in sizes_mb:
        rows = size * 1_000_000 // BYTES_PER_ROW
        files = dataset(args.out, 1, rows)
        _remove_file_database(name, url)
        result, _, _ = run_tool(url, files, TOOL_TABLE, args.extra)
        megabytes = files[0].stat().st_size / 1e6
        print(
            f"{megabytes:>6.0f}MB {rows:>10,} {result.seconds:>8.1f} {rows / result.seconds:>9,.0f} "
            f"{result.peak_rss_mb:>7.0f}MB",
            flush=True,
        )
        fresh_table(url, TOOL_TABLE, None)


def decimals_check(name: str, rows: int, args: argparse.Namespace) -> dict[str, Any]:
    """One file of amounts loaded with them typed as exact decimals and as doubles (a schema
    file each), alternating: issue 22 asks that exact decimals load no slower.  Medians of
    the wall seconds, the load and ``ANALYZE`` phases, the write stage's CPU, the client's and
    the server's CPU; and the database's own loader into a table of each type, with its
    ``ANALYZE``, for what the type itself costs the database."""
    url = database_url(name, args.out)
    folder = args.out / f"amounts-{rows}"
    path = folder / "amounts" / "amounts.csv"
    if not (folder / ".complete").exists():
        print(f"generating one amounts file of {rows:,} rows in {folder} ...", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_amounts(path, rows)
        (folder / ".complete").touch()
    server = server_cpu(parse_url(url))
    runs: dict[str, list[dict[str, float]]] = {"decimal": [], "double": []}
    planned: dict[str, set[str]] = {}
    plan = plan_for([path], url)
    amounts = {"decimal": DECIMAL, "double": FLOAT}
    for _ in range(args.repeat):
        for kind, found in runs.items():
            schema = folder / f"{kind}.json"
            schema.write_text(json.dumps({"columns": {f"AMOUNT_{n}": kind for n in range(AMOUNT_COLUMNS)}}))
            _remove_file_database(name, url)
            result, report, account = run_tool(
                url, [path], TOOL_TABLE, [*args.extra, "--schema-file", str(schema)], server
            )
            check_and_drop(name, url, TOOL_TABLE, rows)
            planned[kind] = {c["type"] for c in report["plan"] if c["name"].startswith("AMOUNT_")}
            typed = TablePlan(
                plan.names,
                tuple(
                    amounts[kind] if n.startswith("AMOUNT_") else t
                    for n, t in zip(plan.names, plan.types, strict=True)
                ),
            )
            load, analyze = run_loader_once(url, [path], typed, server)
            check_and_drop(name, url, LOADER_TABLE, rows)
            found.append(
                {
                    "seconds": result.seconds,
                    "load": report["phases"]["load"],
                    "statistics": report["phases"].get("statistics", 0.0),
                    "write_cpu": report["cpu"]["write"],
                    "client_cpu": account.client_cpu,
                    "server_cpu": account.server_cpu or 0.0,
                    "loader_seconds": load.plus(analyze).seconds if analyze else load.seconds,
                }
            )
    medians = {
        kind: {k: statistics.median(r[k] for r in found) for k in found[0]} for kind, found in runs.items()
    }
    print(
        f"\nexact decimals against doubles ({name}, one file of {rows:,} rows, "
        f"{AMOUNT_COLUMNS} amounts; medians)"
    )
    print(
        f"{'type':<8} {'seconds':>8} {'load':>6} {'ANALYZE':>8} {'write CPU':>9} "
        f"{'client CPU':>10} {'server CPU':>10} {'loader s':>9}"
    )
    for kind, m in medians.items():
        print(
            f"{kind:<8} {m['seconds']:>8.2f} {m['load']:>6.2f} {m['statistics']:>8.2f} "
            f"{m['write_cpu']:>9.2f} {m['client_cpu']:>10.2f} {m['server_cpu']:>10.2f} "
            f"{m['loader_seconds']:>9.2f}"
        )
    ratio = medians["decimal"]["seconds"] / medians["double"]["seconds"]
    loader_ratio = medians["decimal"]["loader_seconds"] / medians["double"]["loader_seconds"]
    print(f"decimals / doubles: {ratio:.2f}x (the loader, with its ANALYZE: {loader_ratio:.2f}x)", flush=True)
    types = {kind: sorted(found) for kind, found in planned.items()}
    return {
        "database": name,
        "rows": rows,
        "types": types,
        "runs": runs,
        "medians": medians,
        "ratio": ratio,
        "loader_ratio": loader_ratio,
    }


def print_table(lines: list[Line]) -> None:
    print(
        f"\n{'case':<12} {'database':<11} {'rows':>9} {'importer s':>10} {'ANALYZE s':>9} {'rows/s':>8} "
        f"{'loader s':>9} {'ratio':>6} {'w/o ANALYZE':>11} {'vs +ANALYZE':>11} {'peak RSS':>9} {'procs':>5} "
        f"{'sum RSS':>8} {'naive rows/s':>12}"
    )
    for line in lines:
        naive = line.naive_rows_per_second
        print(
            f"{line.case:<12} {line.database:<11} {line.rows:>9,} {line.seconds:>10.1f} "
            f"{line.statistics_seconds:>9.1f} {line.rows / line.seconds:>8,.0f} {line.loader_seconds:>9.1f} "
            f"{line.ratio:>5.2f}x {line.ratio_without_statistics:>10.2f}x "
            f"{line.ratio_with_loader_statistics:>10.2f}x {line.peak_rss_mb:>7.0f}MB "
            f"{line.processes:>5} {line.total_rss_mb:>6.0f}MB {(f'{naive:,.0f}' if naive else '-'):>12}"
        )


def cpu_table(lines: list[Line]) -> str:
    """The CPU account as a markdown table, one row per case and database."""
    rows = [
        "| case | database | importer s (of it `ANALYZE`) | its CPU s: main + workers = client; server "
        "| machine use | loader | loader s (of it `ANALYZE`) | its CPU s: client; server | machine use "
        "| ratio vs loader | vs loader + `ANALYZE` | CPU ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for line in lines:
        importer, loader = line.importer, line.loader_total
        rows.append(
            f"| {line.case} | {line.database} | {importer.seconds:.1f} ({line.statistics_seconds:.1f}) "
            f"| {_seconds(importer.main_cpu)} + {_seconds(importer.workers_cpu)} "
            f"= {importer.client_cpu:.1f}; "
            f"{_seconds(importer.server_cpu)} | {importer.utilisation(line.cores):.0%} "
            f"| {line.loader_name} "
            f"| {loader.seconds:.1f} ({line.loader_statistics_seconds:.1f}) "
            f"| {loader.client_cpu:.1f}; {_seconds(loader.server_cpu)} "
            f"| {loader.utilisation(line.cores):.0%} "
            f"| {line.ratio:.2f}x | {line.ratio_with_loader_statistics:.2f}x | {line.cpu_ratio:.2f}x |"
        )
    return "\n".join(rows)


def stage_table(lines: list[Line]) -> str:
    """Where the importer's workers spent their CPU, by stage (the report's ``cpu``), as a
    markdown table beside the workers' CPU measured from /proc."""
    names = list(lines[0].stages) if lines else []
    rows = [
        "| case | database | " + " | ".join(names) + " | of the workers' CPU |",
        "|---|---|" + "---|" * len(names) + "---|",
    ]
    for line in lines:
        counted = sum(line.stages.values())
        measured = line.importer.workers_cpu
        share = f"{counted / measured:.0%}" if measured else "-"
        cells = " | ".join(f"{line.stages[name]:.1f}" for name in names)
        rows.append(f"| {line.case} | {line.database} | {cells} | {share} of {_seconds(measured)} |")
    return "\n".join(rows)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def sample_fixed_cost(out: Path, rounds: int = 5) -> dict[str, float]:
    """The bundled sample (data/, 450 rows) into a new SQLite file, as the README's first command
    runs it: medians of the run's own seconds (its JSON report), of the command's wall time
    (interpreter start and imports included) and of its CPU seconds (all processes)."""
    own, wall, cpu = [], [], []
    for round_ in range(rounds):
        database, report = out / f"sample-{round_}.sqlite", out / f"sample-{round_}.json"
        database.unlink(missing_ok=True)
        command = [sys.executable, str(ROOT / "index.py"), "--src-data-folder", str(ROOT / "data")]
        command += ["--dest-sql", f"sqlite:///{database}", "--report-path", str(report)]
        result = run_measured(command)
        if result.returncode != 0:
            raise SystemExit(f"the bundled sample failed (exit {result.returncode}):\n{result.output}")
        own.append(json.loads(report.read_text())["seconds"])
        wall.append(result.seconds)
        cpu.append(result.cpu_seconds)
        database.unlink()
        report.unlink()
    return {
        "own_seconds": statistics.median(own),
        "wall_seconds": statistics.median(wall),
        "cpu_seconds": statistics.median(cpu),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000, help="rows in all, over --files files")
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--gz-rows", type=int, default=0, help="rows of the single large .gz file case")
    parser.add_argument(
        "--scale",
        type=int,
        default=0,
        help="add a case of the --files files N times over (hard links, no new data): --scale 10 "
        "is 160 files, 4,000,000 rows with the defaults; it takes about 5 GB of disk in each "
        "database at a time (one table: the benchmark drops each table once counted)",
    )
    parser.add_argument(
        "--scale-databases", help="the databases of the --scale case (default: those of --databases)"
    )
    parser.add_argument(
        "--databases", default="postgresql,mariadb,sqlite,duckdb", help="comma-separated, of these four"
    )
    parser.add_argument("--repeat", type=int, default=2, help="importer/loader rounds per case (A B A B)")
    parser.add_argument("--naive-files", type=int, default=2, help="files the naive design loads (0: skip)")
    parser.add_argument("--sizes", default="", help="MB per file for the size check, e.g. 40,400,2000")
    parser.add_argument("--size-database", default="postgresql")
    parser.add_argument(
        "--decimal-rows", type=int, default=0, help="rows of the decimals-against-doubles case (0: skip)"
    )
    parser.add_argument("--decimal-database", default="postgresql")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "out", help="data, SQLite and DuckDB files"
    )
    parser.add_argument("--json", type=Path, help="also write the results here (default: <out>/results.json)")
    parser.add_argument("extra", nargs="*", help="more importer flags after --, e.g. -- --workers 3")
    args = parser.parse_args(argv)
    names = [name for name in args.databases.split(",") if name]
    scale_names = [name for name in (args.scale_databases or args.databases).split(",") if name]
    servers = names + scale_names * (args.scale > 1) + [args.size_database] * bool(args.sizes)
    servers += [args.decimal_database] * bool(args.decimal_rows)
    create_bench_databases(servers)
    compile_importer()
    files = dataset(args.out, args.files, args.rows // args.files)
    rows = args.rows // args.files * args.files
    cases = [(f"{args.files} files", files, rows, names)]
    if args.gz_rows:
        cases.append(("1 .gz file", gz_dataset(args.out, args.gz_rows), args.gz_rows, names))
    if args.scale > 1:
        scaled = scaled_dataset(args.out, files, args.scale)
        cases.append((f"{len(scaled)} files", scaled, rows * args.scale, scale_names))
    sample = sample_fixed_cost(args.out)
    print(
        f"bundled sample (450 rows into a new SQLite file, medians of 5): {sample['own_seconds']:.2f} s "
        f"of its own (the report's), {sample['wall_seconds']:.2f} s wall with the interpreter's start, "
        f"{sample['cpu_seconds']:.2f} s of CPU",
        flush=True,
    )
    lines = []
    for index, (case, case_files, case_rows, case_names) in enumerate(cases):
        # The naive design is for reference: on the first case only (the .gz case skips it anyway).
        case_args = argparse.Namespace(**vars(args) | ({"naive_files": 0} if index else {}))
        lines += [bench_case(name, case, case_files, case_rows, case_args) for name in case_names]
    print_table(lines)
    print("\nCPU account (seconds; machine use = CPU / (wall x cores); medians of the rounds):\n")
    print(cpu_table(lines))
    print("\nThe workers' CPU by stage (the importer's report, `cpu`; seconds, medians of the rounds):\n")
    print(stage_table(lines))
    machine = {"cpus": os.cpu_count(), "cores_used": available_cpus(), "load_average_at_end": os.getloadavg()}
    results = {"machine": machine, "bundled_sample": sample, "lines": [line.as_json() for line in lines]}
    if args.decimal_rows:
        results["decimals"] = decimals_check(args.decimal_database, args.decimal_rows, args)
    (args.json or args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    if args.sizes:
        size_check(args.size_database, [int(s) for s in args.sizes.split(",")], args)


if __name__ == "__main__":
    main()
