"""Parse throughput per structured format: nccl-tests, dcgmi, HPL, nvbandwidth, nvidia-smi, IB, NHC, Prometheus.

    python benchmarks/parsers.py [--scale N] [--repeat R] [--only nccl_tests,dcgm] [--json]
    python benchmarks/parsers.py --ingest [--scale N]     # whole ingest of the same files into a store

For every module in `benchmarks/formats/` (one per source), its `make(scale)` writes realistic files
(generation is not timed); each file is then sniffed and parsed with `triage.sources.reading.parse_bytes`,
the same code path as `triage ingest` without the store, best of `--repeat`. The table gives per
format: files, MB, rows produced (events + measurements + test_runs + assets), seconds, MB/s and
rows/s, and checks that every file was recognised as its format and parsed without error.
With `--ingest` the files are written to a temporary fleet folder (one host per 10 files) and
`triage.ingest.ingest` reads them into a fresh DuckDB store, timed once, to show the cost per file
(sniff, parse, dedup bookkeeping and the batched commits) on top of parsing.
MB means 10**6 bytes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from triage.sources.reading import parse_bytes  # noqa: E402

FORMATS = REPO / "benchmarks" / "formats"
MB = 1_000_000


@dataclass
class Result:
    """Timing of one format."""

    format: str
    files: int
    mb: float
    rows: int
    seconds: float
    problems: list[str]

    @property
    def mb_per_s(self) -> float:
        return self.mb / self.seconds if self.seconds else 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def modules(only: set[str] | None) -> list[str]:
    """Names of the format generators present, optionally filtered."""
    names = sorted(p.stem for p in FORMATS.glob("*.py") if p.stem != "__init__")
    return [n for n in names if only is None or n in only]


def run(name: str, scale: int, repeat: int) -> Result:
    """Generate the files of one format and time parsing them, best of `repeat`."""
    files = importlib.import_module(f"benchmarks.formats.{name}").make(scale)
    best = float("inf")
    rows = 0
    problems: list[str] = []
    for _ in range(repeat):
        started = time.perf_counter()
        parsed = [(file_name, parse_bytes(data, file_name)) for file_name, data in files]
        best = min(best, time.perf_counter() - started)
        rows = sum(frame.height for _, p in parsed for frame in p.tables.values())
        problems = [f"{f}: kind {p.kind}" for f, p in parsed if p.kind != name] + [
            f"{f}: {p.error}" for f, p in parsed if p.error
        ]
    size = sum(len(data) for _, data in files) / MB
    return Result(name, len(files), size, rows, best, problems)


def ingest_fleet(names: list[str], scale: int) -> None:
    """Write every format's files as a fleet and time one ingest of it."""
    from triage.ingest import ingest
    from triage.store import Store

    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
        fleet = Path(tmp) / "fleet"
        count = size = 0
        for name in names:
            for file_name, data in importlib.import_module(f"benchmarks.formats.{name}").make(scale):
                path = fleet / f"node{count // 10:05d}" / f"{count}-{Path(file_name).name}"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                count, size = count + 1, size + len(data)
        with Store.open(Path(tmp) / "bench.duckdb") as store:
            started = time.perf_counter()
            summary = ingest(store, [str(fleet)])
            seconds = time.perf_counter() - started
    print(
        f"ingest: {count} files, {size / MB:.1f} MB, {len(summary.hosts)} hosts in {seconds:.2f} s "
        f"({count / seconds:,.0f} files/s, {size / MB / seconds:.1f} MB/s, {1000 * seconds / count:.1f} ms/file); "
        f"rows {summary.rows}, {len(summary.errors)} error(s)"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1, help="multiply the generated files (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many parses (default 3)")
    parser.add_argument("--only", help="comma-separated formats (module names in benchmarks/formats)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--ingest", action="store_true", help="time a whole ingest of the files instead")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    if args.ingest:
        ingest_fleet(modules(only), args.scale)
        return 0
    results = [run(name, args.scale, args.repeat) for name in modules(only)]
    if args.json:
        print(json.dumps([asdict(r) | {"mb_per_s": r.mb_per_s, "rows_per_s": r.rows_per_s} for r in results], indent=2))
    else:
        print(f"{'format':<14} {'files':>6} {'MB':>8} {'rows':>10} {'s':>7} {'MB/s':>8} {'rows/s':>10}  problems")
        for r in results:
            print(
                f"{r.format:<14} {r.files:>6} {r.mb:>8.2f} {r.rows:>10} {r.seconds:>7.3f} "
                f"{r.mb_per_s:>8.1f} {r.rows_per_s:>10.0f}  {len(r.problems)}"
            )
            for problem in r.problems[:5]:
                print(f"    {problem}")
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
