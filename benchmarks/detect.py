"""Anomaly detectors on a generated fleet: speed, what they find, and what they flag wrongly.

    python benchmarks/detect.py --hosts 1000 [--seed 7] [--fault-rate 0.4] [--keep DIR] [--baseline FILE]
    python benchmarks/detect.py --db FLEET.duckdb --truth FLEET/truth.csv   # an already ingested fleet

Steps: generate the fleet (datasets/generate.py), ingest it, run the rules, then run the
detectors (timed on their own, per detector, in this process) and score the anomalies
against the fleet's truth.csv:
  - per fault kind: how many of its hosts got an anomaly, by any detector, at any level;
  - performance-only faults (kind `performance`: nccl busbw low, nothing else): all must be found;
  - healthy hosts (no fault in truth.csv) with any anomaly: the target is under 1%.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "datasets"))

from generate import write_fleet  # noqa: E402

from triage.detect import Detectors, find_anomalies  # noqa: E402
from triage.detect.baseline import load as load_baseline  # noqa: E402
from triage.ingest import ingest  # noqa: E402
from triage.signatures.analyze import analyze  # noqa: E402
from triage.signatures.loader import load_rules  # noqa: E402
from triage.store import Store  # noqa: E402

PERFORMANCE_ONLY = {"performance"}


def prepare(out: Path, hosts: int, seed: int, fault_rate: float) -> tuple[Path, Path]:
    """Generate and ingest a fleet under `out`; the store and truth paths."""
    started = time.perf_counter()
    write_fleet(out, hosts, seed, fault_rate)
    print(f"generate: {hosts} hosts in {time.perf_counter() - started:.1f} s")
    db = out / "bench.duckdb"
    with Store.open(db) as store:
        started = time.perf_counter()
        summary = ingest(store, [str(out / "hosts")])
        print(f"ingest:   {summary.ingested} files, {summary.lines:,} lines in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        result = analyze(store, load_rules())
        print(f"rules:    {result.findings} findings in {time.perf_counter() - started:.1f} s")
    return db, out / "truth.csv"


def score(db: Path, truth: Path, baseline: Path | None) -> int:
    """Run the detectors over `db` and compare with `truth`; 1 if a target is missed."""
    kinds: dict[str, set[str]] = defaultdict(set)
    healthy: set[str] = set()
    with truth.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["root_cause"] == "none":
                healthy.add(row["host"])
            else:
                kinds[row["fault"]].add(row["host"])
    with Store.open(db, read_only=True) as store:
        started = time.perf_counter()
        found, summary = find_anomalies(store, Detectors.load(), load_baseline(baseline) if baseline else None)
        took = time.perf_counter() - started
    per_detector = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in summary.seconds.items())
    print(f"detect:   {found.height} anomalies on {summary.hosts_flagged} hosts in {took:.1f} s ({per_detector})")
    for note in summary.notes:
        print(f"          note: {note}")
    flagged: dict[str, set[str]] = defaultdict(set)
    for host, detector in found.select("host", "detector").unique().iter_rows():
        flagged[host].add(detector)
    print(f"\n{'fault kind':<22} {'hosts':>5} {'found':>5}  by detector")
    missed_performance = 0
    for kind in sorted(kinds):
        hosts = kinds[kind]
        hit = [h for h in hosts if flagged.get(h)]
        by = Counter(d for h in hosts for d in flagged.get(h, ()))
        print(f"{kind:<22} {len(hosts):>5} {len(hit):>5}  " + ", ".join(f"{d} {n}" for d, n in sorted(by.items())))
        if kind in PERFORMANCE_ONLY:
            missed_performance += len(hosts) - len(hit)
    wrong = sorted(h for h in healthy if flagged.get(h))
    share = len(wrong) / len(healthy) if healthy else 0.0
    by = Counter(d for h in wrong for d in flagged[h])
    print(
        f"\nhealthy hosts flagged: {len(wrong)} of {len(healthy)} ({share:.2%})"
        + (" by " + ", ".join(f"{d} {n}" for d, n in sorted(by.items())) if by else "")
    )
    if wrong:
        for host in wrong[:10]:
            rows = found.filter(found["host"] == host).select("detector", "metric", "level", "detail").rows()
            for detector, metric, level, detail in rows[:3]:
                print(f"  {host} {detector} {metric} {level}: {detail}")
    print(f"performance-only faults missed: {missed_performance}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    ok = missed_performance == 0 and share < 0.01 and took < 30
    verdict = "met" if ok else "NOT met"
    print(f"targets: {verdict} (all performance-only faults found, <1% healthy flagged, <30 s)")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000, help="nodes to generate (default 1000)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument("--fault-rate", type=float, default=0.4, help="share of faulty nodes (default 0.4)")
    parser.add_argument("--keep", type=Path, help="write the fleet and store here and keep them")
    parser.add_argument("--db", type=Path, help="score an already ingested and analysed store instead")
    parser.add_argument("--truth", type=Path, help="truth.csv of --db's fleet")
    parser.add_argument("--baseline", type=Path, help="also apply this baseline file")
    args = parser.parse_args(argv)
    if args.db is not None:
        if args.truth is None:
            parser.error("--db needs --truth")
        return score(args.db, args.truth, args.baseline)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return score(*prepare(args.keep, args.hosts, args.seed, args.fault_rate), args.baseline)
    with tempfile.TemporaryDirectory(prefix="triage-detect-") as tmp:
        return score(*prepare(Path(tmp), args.hosts, args.seed, args.fault_rate), args.baseline)


if __name__ == "__main__":
    sys.exit(main())
