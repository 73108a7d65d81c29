"""Reports and the Python API on a big store: how long each report format and each table query takes.

    python benchmarks/report.py --hosts 1000 [--seed 2029]   # generate, ingest, analyze, then time
    python benchmarks/report.py --db fleet.duckdb            # an analyzed store of yours

Every report format is rendered through `Fleet.report` (what `triage report` calls), then `triage
report --format html` runs once as a subprocess (start-up included). The HTML page's size and the
process's peak RSS are printed. Target (issue 8): the HTML report of 1,000 nodes in seconds (under 10 s).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "datasets"))

import triage  # noqa: E402

BASELINE = REPO / "rules" / "baselines" / "h100-80gb-hbm3.yaml"


def build(out: Path, hosts: int, seed: int) -> Path:
    """A generated fleet of `hosts` nodes, ingested and analyzed into `out/fleet.duckdb`."""
    from generate import write_fleet

    started = time.perf_counter()
    write_fleet(out, hosts, seed, 0.4)
    db = out / "fleet.duckdb"
    with triage.open(db) as fleet:
        fleet.ingest([out / "hosts"])
        fleet.analyze(baseline=BASELINE)
    print(
        f"built: {hosts} hosts (seed {seed}) generated, ingested and analyzed in {time.perf_counter() - started:.1f} s"
    )
    return db


def timed(name: str, call: Callable[[], Any]) -> tuple[float, Any]:
    """Run `call`, print its wall time, return (seconds, result)."""
    started = time.perf_counter()
    result = call()
    took = time.perf_counter() - started
    size = f"  {len(result) / 1e6:.2f} MB" if isinstance(result, str) else ""
    rows = f"  {result.height:,} rows" if hasattr(result, "height") else ""
    print(f"{name:<34} {took:6.2f} s{size}{rows}")
    return took, result


def measure(db: Path) -> int:
    """Time the reports and queries over `db`; 1 if the HTML report misses its target."""
    with triage.open(db, read_only=True) as fleet:
        counts = fleet.status_counts()
        print(f"store: {db} ({sum(counts.values())} hosts: {counts})")
        for fmt in ("html", "md", "json", "csv"):
            timed(f"report {fmt}", lambda fmt=fmt: fleet.report(fmt))
        host = fleet.hosts(status="faulty")["host"][0]
        timed("hosts()", fleet.hosts)
        timed("diagnoses()", fleet.diagnoses)
        timed("anomalies(level='investigate')", lambda: fleet.anomalies(level="investigate"))
        timed(f"events(host={host!r})", lambda: fleet.events(host=host))
        timed("events(rule='xid-79')", lambda: fleet.events(rule="xid-79"))
        timed("measurements(metric='avg_busbw')", lambda: fleet.measurements(metric="avg_busbw"))
        timed(f"timeline({host!r})", lambda: fleet.timeline(host))
        timed("counter_deltas()", fleet.counter_deltas)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        started = time.perf_counter()
        command = [sys.executable, "-m", "triage", "report", "--db", str(db), "--format", "html", "-o", str(page)]
        subprocess.run(command, check=True, capture_output=True)
        cli = time.perf_counter() - started
        print(f"{'triage report --format html (CLI)':<34} {cli:6.2f} s  {page.stat().st_size / 1e6:.2f} MB")
    print(f"peak RSS of this process: {peak:.0f} MB")
    ok = cli < 10
    print("target (html under 10 s): " + ("met" if ok else "NOT met"))
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="an analyzed store (default: generate one)")
    parser.add_argument("--hosts", type=int, default=1000, help="nodes to generate (default 1000)")
    parser.add_argument("--seed", type=int, default=2029, help="generator seed (default 2029)")
    args = parser.parse_args(argv)
    if args.db is not None:
        return measure(args.db)
    with tempfile.TemporaryDirectory(prefix="triage-report-") as tmp:
        return measure(build(Path(tmp), args.hosts, args.seed))


if __name__ == "__main__":
    raise SystemExit(main())
