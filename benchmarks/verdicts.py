"""Verdicts end to end: scores against truth, the fleet path's time and the on-call scan's time.

    python benchmarks/verdicts.py --hosts 1000 [--seed 2027] [--keep DIR]  # generate, ingest, analyze, report, eval
    python benchmarks/verdicts.py --scan-mb 50                               # one big node bundle, `triage scan`

Fleet: a freshly generated fleet (seed other than the sample's) is ingested, then `triage analyze`
(rules, detectors with the shipped baseline, diagnosis) and `triage report --format json` run as
the CLI runs them, each timed, and the report is scored by `triage eval`. Targets (issue 7):
host-status accuracy >= 0.97, root-cause macro-F1 >= 0.90, false-RMA rate <= 0.5%, no missed fault,
analyze + report under 2 minutes for 1,000 nodes.

Scan: one node bundle of the sample fleet (node0006: a GPU that fell off the bus) with its kernel
log grown to `--scan-mb` MB (the same boot repeated, each copy shifted by a day), through
`triage scan DIR --format json` in a subprocess (start-up included); the target is under 5 s.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "datasets"))

from generate import write_fleet  # noqa: E402

from triage.evaluate import evaluate  # noqa: E402

BASELINE = REPO / "rules" / "baselines" / "h100-80gb-hbm3.yaml"
TRIAGE = [sys.executable, "-m", "triage"]
_STAMP = re.compile(r"^\[(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})\]")


def fleet(out: Path, hosts: int, seed: int) -> int:
    """Generate, ingest, analyze, report and score one fleet; 1 if a target is missed."""
    started = time.perf_counter()
    write_fleet(out, hosts, seed, 0.4)
    print(f"generate: {hosts} hosts (seed {seed}) in {time.perf_counter() - started:.1f} s")
    db = out / "fleet.duckdb"
    took = run([*TRIAGE, "ingest", str(out / "hosts"), "--db", str(db)], "ingest")
    analyze = run([*TRIAGE, "analyze", "--db", str(db), "--baseline", str(BASELINE)], "analyze")
    report = out / "report.json"
    rendered = run([*TRIAGE, "report", "--db", str(db), "--format", "json", "-o", str(report)], "report")
    result = evaluate(out / "truth.csv", report=report)
    print(
        f"\nstatus accuracy {result.status_accuracy:.4f}  macro-F1 {result.macro_f1:.4f}  "
        f"false-RMA {result.false_rma_rate:.4f}  missed {result.missed_fault_rate:.4f}"
    )
    print(f"ingest {took:.1f} s, analyze + report {analyze + rendered:.1f} s")
    ok = (
        result.status_accuracy >= 0.97
        and result.macro_f1 >= 0.90
        and result.false_rma_rate <= 0.005
        and result.missed_fault_rate == 0
        and analyze + rendered < 120
    )
    print("targets: " + ("met" if ok else "NOT met"))
    return 0 if ok else 1


def scan(megabytes: int) -> int:
    """Time `triage scan` of one node bundle grown to `megabytes`; 1 if over 5 s."""
    with tempfile.TemporaryDirectory(prefix="triage-scan-") as tmp:
        bundle = Path(tmp) / "node0006"
        shutil.copytree(REPO / "datasets" / "sample-fleet" / "hosts" / "node0006", bundle)
        dmesg = bundle / "dmesg.log"
        boot = dmesg.read_text().splitlines()
        with dmesg.open("w") as out:
            day = 0
            while out.tell() < megabytes * 1_000_000:
                for line in boot:
                    out.write(_shift(line, day) + "\n")
                day += 1
        size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file()) / 1e6
        started = time.perf_counter()
        done = subprocess.run([*TRIAGE, "scan", str(bundle), "--format", "json"], capture_output=True, text=True)
        took = time.perf_counter() - started
        document = json.loads(done.stdout)
        verdict = document["hosts"][0]
        print(f"scan: {size:.1f} MB bundle ({day} copies of the boot) in {took:.2f} s, exit {done.returncode}")
        for d in verdict["diagnoses"][:3]:
            print(f"  {verdict['host']} {verdict['status']}: {d['device']} {d['root_cause']} {d['action']}")
            print(f"    {d['summary']}")
        return 0 if took < 5 else 1


def run(command: list[str], name: str) -> float:
    """Run one CLI step, print its last line and wall time, return the time."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    took = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{name} failed: {done.stderr.strip()}")
    last = (done.stdout.strip() or done.stderr.strip()).splitlines()[-1:]
    print(f"{name}: {took:.1f} s  {last[0] if last else ''}")
    return took


def _shift(line: str, days: int) -> str:
    match = _STAMP.match(line)
    if not match or not days:
        return line
    when = datetime.strptime(match.group(1), "%a %b %d %H:%M:%S %Y") + timedelta(days=days)
    return f"[{when.strftime('%a %b %d %H:%M:%S %Y')}]" + line[match.end() :]


def main(argv: list[str] | None = None) -> int:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=1000, help="nodes to generate (default 1000)")
    parser.add_argument("--seed", type=int, default=2027, help="generator seed (default 2027)")
    parser.add_argument("--keep", type=Path, help="write the fleet, store and report here and keep them")
    parser.add_argument("--scan-mb", type=int, help="instead: time `triage scan` of one node bundle of this size")
    args = parser.parse_args(argv)
    if args.scan_mb:
        return scan(args.scan_mb)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return fleet(args.keep, args.hosts, args.seed)
    with tempfile.TemporaryDirectory(prefix="triage-verdicts-") as tmp:
        return fleet(Path(tmp), args.hosts, args.seed)


if __name__ == "__main__":
    sys.exit(main())
