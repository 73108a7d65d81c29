"""A generated fleet end to end: generate, ingest and analyze it.

    python benchmarks/fleet.py --hosts 1000 [--seed 1] [--keep DIR]

Steps, each timed (wall clock) in this process:
  1. `datasets/generate.py` writes `--hosts` nodes (bundles and truth.csv) to a temp folder;
  2. `triage ingest` of `hosts/` into a fresh DuckDB store;
  3. `triage analyze` (rule signatures) over it.
Prints files, MB, rows and seconds per step, and the peak RSS of the process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "datasets"))

from generate import write_fleet  # noqa: E402

from triage.ingest import ingest  # noqa: E402
from triage.signatures.analyze import analyze  # noqa: E402
from triage.signatures.loader import load_rules  # noqa: E402
from triage.store import Store  # noqa: E402


def run(out: Path, hosts: int, seed: int) -> None:
    """Generate, ingest and analyze one fleet under `out`, printing what each step took."""
    started = time.perf_counter()
    nodes = write_fleet(out, hosts, seed)
    generated = time.perf_counter() - started
    files = [p for p in (out / "hosts").rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files) / 1e6
    faulty = sum(1 for n in nodes if n.faults)
    print(f"generate: {hosts} hosts ({faulty} faulty), {len(files)} files, {size:.1f} MB in {generated:.1f} s")

    with Store.open(out / "bench.duckdb") as store:
        started = time.perf_counter()
        summary = ingest(store, [str(out / "hosts")])
        took = time.perf_counter() - started
        print(
            f"ingest:   {summary.ingested} files, {summary.lines:,} lines, rows {summary.rows}, "
            f"{len(summary.errors)} error(s) in {took:.1f} s ({summary.ingested / took:,.0f} files/s)"
        )
        started = time.perf_counter()
        result = analyze(store, load_rules())
        took = time.perf_counter() - started
        print(f"analyze:  {result.events:,} events, {result.findings} findings in {took:.1f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:,.0f} MB")


def main(argv: list[str] | None = None) -> int:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000, help="nodes to generate (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--keep", type=Path, help="write the fleet and store here and keep them")
    args = parser.parse_args(argv)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        run(args.keep, args.hosts, args.seed)
    else:
        with tempfile.TemporaryDirectory(prefix="triage-fleet-") as tmp:
            run(Path(tmp), args.hosts, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
