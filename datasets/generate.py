"""Write a generated burn-in fleet with injected faults and its ground truth.

    python datasets/generate.py --out DIR --hosts N --seed S [--fault-rate F]

Writes DIR/hosts/<host>/... (what a burn-in bundle holds: kernel log, nvidia-smi -q, nccl-tests
all_reduce, dcgmi diag, HPL, nvbandwidth, InfiniBand counter snapshots before and after the run,
ibstat) and DIR/truth.csv (host, device, root_cause, action, fault: one row per faulty device,
one row with an empty device and root_cause `none` per healthy host). The same seed writes the
same bytes. How faults are drawn and what each leaves behind: datasets/README.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleetgen import dcgm, hpl, infiniband, kernel, nccl, nvbandwidth, smi
from fleetgen.model import Node
from fleetgen.plan import plan_fleet

WRITERS = [kernel, smi, nccl, dcgm, hpl, nvbandwidth, infiniband]
TRUTH_COLUMNS = ["host", "device", "root_cause", "action", "fault"]


def node_files(node: Node) -> dict[str, bytes]:
    """Every file of one node's bundle: path relative to its folder -> content."""
    files: dict[str, bytes] = {}
    for writer in WRITERS:
        files.update(writer.write(node))
    return files


def truth_rows(nodes: list[Node]) -> list[dict[str, str]]:
    """The ground truth: one row per faulty device, one `none` row per healthy host."""
    rows = []
    for node in nodes:
        if not node.faults:
            rows.append({"host": node.host, "device": "", "root_cause": "none", "action": "none", "fault": ""})
        for fault in node.faults:
            rows.append(
                {
                    "host": node.host,
                    "device": fault.device,
                    "root_cause": fault.root_cause,
                    "action": fault.action,
                    "fault": fault.kind,
                }
            )
    return rows


def truth_csv(nodes: list[Node]) -> bytes:
    """truth.csv as bytes (`\\n` line ends)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, TRUTH_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(truth_rows(nodes))
    return out.getvalue().encode()


def write_fleet(out: Path, hosts: int, seed: int, fault_rate: float = 0.4) -> list[Node]:
    """Plan a fleet and write its files and truth under `out`; returns the nodes."""
    nodes = plan_fleet(hosts, seed, fault_rate)
    out.mkdir(parents=True, exist_ok=True)
    for node in nodes:
        stamp = node.timeline.collected.timestamp()
        for rel, data in sorted(node_files(node).items()):
            path = out / "hosts" / node.host / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            os.utime(path, (stamp, stamp))
    (out / "truth.csv").write_bytes(truth_csv(nodes))
    return nodes


def main(argv: list[str] | None = None) -> int:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder to write (created)")
    parser.add_argument("--hosts", required=True, type=int, help="number of nodes")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--fault-rate", type=float, default=0.4, help="share of nodes with a fault (default 0.4)")
    args = parser.parse_args(argv)
    if args.hosts < 1:
        parser.error("--hosts must be at least 1")
    if not 0 <= args.fault_rate <= 1:
        parser.error("--fault-rate must be between 0 and 1")
    nodes = write_fleet(args.out, args.hosts, args.seed, args.fault_rate)
    faulty = sum(1 for n in nodes if n.faults)
    print(f"wrote {len(nodes)} hosts ({faulty} with faults) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
