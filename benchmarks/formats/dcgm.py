"""DCGM outputs for the parse benchmark: `dcgmi diag` tables (3.x and 4.x) and JSON, health reports, dmon logs.

Per node (8 GPUs): `dcgmi_diag_r3.txt`, a DCGM 3.3 level-3 table (`Pass - All`, per-GPU
`Fail - GPU: n` rows with wrapped warnings); `dcgmi_diag_r2.txt`, a DCGM 4.x table with one row per
GPU; `dcgmi_diag_r3.json`, the 4.x `-j` document of a level-3 run with pcie info lines;
`dcgmi_health.json`, `dcgmi health -c -j`; and `dcgmi_dmon.log`, 600 samples of 6 fields per GPU
(`dcgmi dmon -e 230,155,150,252,100,101`). Every fifth node has a failing GPU (memory, pcie or thermal
warnings, a health incident, an Xid in dmon). `scale` multiplies the nodes.
"""

from __future__ import annotations

import json
import random

NODES_PER_SCALE = 8
GPUS = 8
DMON_SAMPLES = 600
WRAP = 45
SECTIONS_3X = [
    ("Integration", ["PCIe"]),
    ("Hardware", ["GPU Memory", "Diagnostic"]),
    ("Stress", ["Targeted Stress", "Targeted Power", "Memory Bandwidth", "EUD Test"]),
]
BORDER = "+---------------------------+------------------------------------------------+"


def make(scale: int = 1) -> list[tuple[str, bytes]]:
    """Files (name, content) for `NODES_PER_SCALE * scale` nodes; deterministic."""
    files = []
    for node in range(NODES_PER_SCALE * scale):
        rng = random.Random(node)
        host = f"gpu-node{node:04d}"
        bad = rng.randrange(GPUS) if node % 5 == 4 else None
        files += [
            (f"{host}/dcgmi_diag_r3.txt", _diag_3x(rng, bad).encode()),
            (f"{host}/dcgmi_diag_r2.txt", _diag_4x(bad).encode()),
            (f"{host}/dcgmi_diag_r3.json", _diag_json(rng, bad).encode()),
            (f"{host}/dcgmi_health.json", _health_json(bad).encode()),
            (f"{host}/dcgmi_dmon.log", _dmon(rng, bad).encode()),
        ]
    return files


def _row(name: str, value: str) -> str:
    return f"| {name:<25} | {value:<46} |"


def _wrapped(label: str, text: str) -> list[str]:
    """A message cell as dcgmi prints it: 45 characters per row, the label on the first."""
    chunks = [text[i : i + WRAP] for i in range(0, len(text), WRAP)]
    return [_row(label if i == 0 else "", chunk) for i, chunk in enumerate(chunks)]


def _section(name: str, bar: str = "+") -> str:
    left = f"{bar}-----  {name}  ".ljust(28, "-")
    return f"{left}+{'-' * 48}{bar}"


def _header(version: str, driver: str) -> list[str]:
    return [
        "Successfully ran diagnostic for group.",
        BORDER,
        _row("Diagnostic", "Result"),
        "+===========================+================================================+",
        _section("Metadata", "|"),
        _row("DCGM Version", version),
        _row("Driver Version Detected", driver),
        _row("GPU Device IDs Detected", ",".join(["2330"] * GPUS)),
    ]


def _diag_3x(rng: random.Random, bad: int | None) -> str:
    lines = ["$ dcgmi diag -r 3", *_header("3.3.5", "550.54.15"), _section("Deployment", "|")]
    for check in ("Denylist", "NVML Library", "CUDA Main Library", "Permissions and OS Blocks", "Persistence Mode",
                  "Environment Variables", "Page Retirement/Row Remap", "Graphics Processes", "Inforom"):  # fmt: skip
        lines.append(_row(check, "Pass"))
    for section, tests in SECTIONS_3X:
        lines.append(_section(section))
        for test in tests:
            if test == "EUD Test":
                lines.append(_row(test, "Skip - All"))
            elif bad is None or test != "GPU Memory":
                lines.append(_row(test, "Pass - All"))
            else:
                good = ", ".join(str(g) for g in range(GPUS) if g != bad)
                lines += [_row(test, f"Pass - GPUs: {good}"), _row("", f"Fail - GPU: {bad}")]
                faults = rng.randrange(2, 40)
                lines += _wrapped("Warning", f"GPU {bad} Found {faults} faulty memory elements on GPU {bad}")
    lines.append(BORDER)
    return "\n".join(lines) + "\n"


def _diag_4x(bad: int | None) -> str:
    lines = ["$ dcgmi diag -r 2", *_header("4.2.3", "570.124.06")]
    for section, test in (("Deployment", "software"), ("Hardware", "memory"), ("Integration", "pcie")):
        lines.append(_section(section, "|" if section == "Deployment" else "+"))
        failed = bad is not None and test == "pcie"
        lines.append(_row(test, "Fail" if failed else "Pass"))
        for g in range(GPUS):
            lines.append(_row("", f"GPU{g}: {'Fail' if failed and g == bad else 'Pass'}"))
            if failed and g == bad:
                text = f"GPU {g} is running at PCI link width 8X, which is below the minimum allowed link generation of 16 (parameter 'pcie.min_pci_width')"  # noqa: E501
                lines += _wrapped(f"Warning: GPU{g}", text)
    lines.append(BORDER)
    return "\n".join(lines) + "\n"


def _diag_json(rng: random.Random, bad: int | None) -> str:
    def result(g: int, info: list[str] | None = None, warning: dict | None = None) -> dict:
        entry: dict = {"entity_group": "GPU", "entity_group_id": 1, "entity_id": g}
        if info:
            entry["info"] = info
        entry["status"] = "Fail" if warning else "Pass"
        if warning:
            entry["warnings"] = [warning]
        return entry

    def pcie_info(g: int) -> list[str]:
        d2h, h2d = rng.uniform(52, 56), rng.uniform(52, 56)
        return [
            f"GPU {g} GPU to Host bandwidth:\t\t{d2h:.2f} GB/s",
            f"GPU {g} Host to GPU bandwidth:\t\t{h2d:.2f} GB/s",
            f"GPU {g} bidirectional bandwidth:\t{d2h + h2d - rng.uniform(8, 12):.2f} GB/s",
            f"GPU {g} GPU to Host latency:\t\t{rng.uniform(1.8, 2.4):.3f} us",
            f"GPU {g} Host to GPU latency:\t\t{rng.uniform(1.8, 2.4):.3f} us",
            f"GPU {g} bidirectional latency:\t\t{rng.uniform(3.5, 4.5):.3f} us",
        ]

    thermal = {
        "error_category": 9, "error_id": 41, "error_severity": 1,
        "warning": f"Thermal violations totaling {rng.uniform(5, 20):.1f} seconds started at "
        f"{rng.uniform(1, 9):.1f} seconds into the test for GPU {bad}",
    }  # fmt: skip
    categories = []
    for category, tests in (("Deployment", ["software"]), ("Hardware", ["memory", "diagnostic"]),
                            ("Integration", ["pcie"]), ("Stress", ["targeted_stress", "targeted_power"])):  # fmt: skip
        entries = []
        for name in tests:
            failed = name == "diagnostic" and bad is not None
            results = [
                result(g, pcie_info(g) if name == "pcie" else None, thermal if failed and g == bad else None)
                for g in range(GPUS)
            ]
            entries.append({"name": name, "results": results, "test_summary": {"status": "Fail" if failed else "Pass"}})
        categories.append({"category": category, "tests": entries})
    doc = {
        "DCGM Diagnostic": {"test_categories": categories},
        "entity_groups": [{
            "entities": [{"device_id": "2330", "entity_id": g, "serial_num": f"165232{rng.randrange(10**7):07d}"}
                         for g in range(GPUS)],
            "entity_group": "GPU", "entity_group_id": 1,
        }],
        "metadata": {"Driver Version Detected": "570.124.06", "version": "4.2.3"},
    }  # fmt: skip
    return json.dumps(doc, indent="\t", sort_keys=True).replace('":', '" :') + "\n"


def _health_json(bad: int | None) -> str:
    body: dict = {"Overall Health": {"value": "Healthy" if bad is None else "Warning"}}
    if bad is not None:
        errors = {"PCIe system": {"overflow": [f"Detected more than 8 PCIe replays per minute for GPU {bad} :", "13"],
                                  "value": "Warning"}}  # fmt: skip
        body["GPU"] = {"children": {str(bad): {"children": {"Errors": {"children": errors}}, "value": "Warning"}}}
    doc = {"body": body, "header": ["Health Monitor Report"]}
    return json.dumps(doc, indent="\t", sort_keys=True).replace('":', '" :') + "\n"


def _dmon(rng: random.Random, bad: int | None) -> str:
    header = [
        "#Entity   XIDER  POWER    TMPTR  MMTMP  SMCLK  MMCLK",
        "ID                W        C      C      MHZ    MHZ",
    ]
    lines = ["$ dcgmi dmon -e 230,155,150,252,100,101"]
    for sample in range(DMON_SAMPLES):
        if sample % 14 == 0:
            lines += header
        for g in range(GPUS):
            xid = 79 if bad == g and sample > DMON_SAMPLES // 2 else 0
            power = rng.uniform(80, 700)
            lines.append(
                f"GPU {g:<6} {xid:<6} {power:<8.3f} {rng.randint(30, 80):<6} {rng.randint(30, 85):<6} "
                f"{rng.choice([1980, 1755, 345]):<6} 2619"
            )
    return "\n".join(lines) + "\n"
