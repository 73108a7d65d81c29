"""nvbandwidth outputs for the parse benchmark: full 8-GPU runs of every testcase, text and JSON.

Per node: `nvbandwidth.log`, the v0.7 text output of all 35 single-node testcases on an 8 x H100
node (CPU x GPU rows, 8 x 8 device-to-device matrices with their `N/A` diagonal, the three matrices
of each bidirectional device-to-device testcase, latencies in ns), and `nvbandwidth.json`, the same
run as `nvbandwidth -j` with a stray warning line before the document. `scale` multiplies the nodes.
"""

from __future__ import annotations

import json
import random
from typing import Any

NODES_PER_SCALE = 8
GPUS = 8
BUS_IDS = ["18", "2A", "3A", "5D", "9A", "AB", "BA", "DB"]

# (testcase, title without engine, GPU x GPU, qualifiers of its matrices, typical value)
_MATRICES: list[tuple[str, str, bool, tuple[str, ...], float]] = [
    ("host_to_device_memcpy", "CPU(row) -> GPU(column) bandwidth (GB/s)", False, ("",), 55.0),
    ("device_to_host_memcpy", "CPU(row) <- GPU(column) bandwidth (GB/s)", False, ("",), 55.0),
    ("host_to_device_bidirectional_memcpy", "CPU(row) <-> GPU(column) bandwidth (GB/s)", False, ("",), 46.0),
    ("device_to_host_bidirectional_memcpy", "CPU(row) <-> GPU(column) bandwidth (GB/s)", False, ("",), 46.0),
    ("device_to_device_memcpy_read", "GPU(row) -> GPU(column) bandwidth (GB/s)", True, ("",), 390.0),
    ("device_to_device_memcpy_write", "GPU(row) <- GPU(column) bandwidth (GB/s)", True, ("",), 390.0),
    ("device_to_device_bidirectional_memcpy_read", "GPU(row) <-> GPU(column) {q}bandwidth (GB/s)", True,
     ("Read1", "Read2", "Total"), 370.0),
    ("device_to_device_bidirectional_memcpy_write", "GPU(row) <-> GPU(column) {q}bandwidth (GB/s)", True,
     ("Write1", "Write2", "Total"), 370.0),
    ("all_to_host_memcpy", "CPU(row) <- GPU(column) bandwidth (GB/s)", False, ("",), 50.0),
    ("all_to_host_bidirectional_memcpy", "CPU(row) <-> GPU(column) bandwidth (GB/s)", False, ("",), 40.0),
    ("host_to_all_memcpy", "CPU(row) -> GPU(column) bandwidth (GB/s)", False, ("",), 50.0),
    ("host_to_all_bidirectional_memcpy", "CPU(row) <-> GPU(column) bandwidth (GB/s)", False, ("",), 40.0),
    ("all_to_one_write", "GPU(row) <- GPU(column) bandwidth (GB/s)", False, ("",), 360.0),
    ("all_to_one_read", "GPU(row) -> GPU(column) bandwidth (GB/s)", False, ("",), 360.0),
    ("one_to_all_write", "GPU(row) -> GPU(column) bandwidth (GB/s)", False, ("",), 360.0),
    ("one_to_all_read", "GPU(row) <- GPU(column) bandwidth (GB/s)", False, ("",), 360.0),
]  # fmt: skip


def make(scale: int = 1) -> list[tuple[str, bytes]]:
    """Files (name, content) for `NODES_PER_SCALE * scale` nodes; deterministic."""
    files = []
    for node in range(NODES_PER_SCALE * scale):
        host = f"gpu-node{node:04d}"
        testcases = _testcases(random.Random(node))
        files.append((f"{host}/nvbandwidth.log", _text(testcases).encode()))
        files.append((f"{host}/nvbandwidth.json", _json(testcases).encode()))
    return files


def _testcases(rng: random.Random) -> list[dict[str, Any]]:
    """Every testcase with its matrices: (title, key, rows of values or None)."""
    out = []
    for engine in ("CE", "SM"):
        for base, axes, pairs, qualifiers, typical in _MATRICES:
            name = f"{base}_{engine.lower()}"
            matrices = []
            for qualifier in qualifiers:
                title = f"memcpy {engine} " + axes.format(q=f"{qualifier} " if qualifier else "")
                key = f"{name}_{qualifier.lower()}" if qualifier else name
                level = typical * (2 if qualifier == "Total" else 1)
                matrices.append((title, key, _values(rng, pairs, level)))
            out.append({"name": name, "matrices": matrices})
    out.append(
        {
            "name": "host_device_latency_sm",
            "matrices": [("memory latency SM CPU(row) <-> GPU(column) (ns)", "host_device_latency_sm",
                          _values(rng, False, 770.0))],
        }
    )  # fmt: skip
    out.append(
        {
            "name": "device_to_device_latency_sm",
            "matrices": [("Device to Device Latency SM GPU(row) <-> GPU(column) (ns)", "device_to_device_latency_sm",
                          _values(rng, True, 910.0))],
        }
    )  # fmt: skip
    out.append(
        {
            "name": "device_local_copy",
            "matrices": [
                ("memcpy local GPU(column) bandwidth (GB/s)", "device_local_copy", _values(rng, False, 1450.0))
            ],
        }
    )
    return out


def _values(rng: random.Random, pairs: bool, level: float) -> list[list[float | None]]:
    if not pairs:
        return [[round(level * rng.uniform(0.97, 1.02), 2) for _ in range(GPUS)]]
    return [[None if r == c else round(level * rng.uniform(0.97, 1.02), 2) for c in range(GPUS)] for r in range(GPUS)]


def _text(testcases: list[dict[str, Any]]) -> str:
    lines = [
        "nvbandwidth Version: v0.7",
        "Built from Git version: v0.7",
        "",
        "CUDA Runtime Version: 12060",
        "CUDA Driver Version: 12060",
        "Driver Version: 560.35.03",
        "",
    ]
    lines += [f"Device {i}: NVIDIA H100 80GB HBM3 (00000000:{bus}:00)" for i, bus in enumerate(BUS_IDS)]
    lines.append("")
    lines += ["Waived: ", "Waived: "]  # paired device-to-device testcases need NVSwitch peers
    for testcase in testcases:
        lines.append(f"Running {testcase['name']}.")
        for title, key, rows in testcase["matrices"]:
            lines.append(title)
            lines.append("  " + "".join(f"{c:>10}" for c in range(GPUS)))
            for r, row in enumerate(rows):
                lines.append(f"{r:>2}" + "".join(f"{'N/A' if v is None else f'{v:.2f}':>10}" for v in row))
            total = sum(v for row in rows for v in row if v is not None)
            lines += ["", f"SUM {key} {total:.2f}", ""]
    lines += [
        "NOTE: The reported results may not reflect the full capabilities of the platform.",
        "Performance can vary with software drivers, hardware clocks, and system topology.",
    ]
    return "\n".join(lines) + "\n"


def _json(testcases: list[dict[str, Any]]) -> str:
    entries = []
    for testcase in testcases:
        matrices = testcase["matrices"]
        rows = [["N/A" if v is None else f"{v:g}" for v in row] for _, _, m in matrices for row in m]
        last = matrices[-1][2]
        entries.append(
            {
                "bandwidth_description": matrices[-1][0] + " ",
                "bandwidth_matrix": rows,
                "name": testcase["name"],
                "status": "Passed",
                "sum": sum(v for row in last for v in row if v is not None),
            }
        )
    document = {
        "nvbandwidth": {
            "CUDA Runtime Version": 12060,
            "Driver Version": "560.35.03",
            "git_version": "v0.7",
            "testcases": entries,
            "version": "v0.7",
        }
    }
    warning = "WARNING: Failed to acquire log file lock. File is in use by a different instance\n"
    return warning + json.dumps(document, indent="\t", separators=(",", " : ")) + "\n"
