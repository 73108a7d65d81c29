"""`dcgmi diag -r 3` (DCGM 3.3) on the node's 8 GPUs, in the layout of `node.formats["dcgm"]`.

Layouts:
  text  `dcgm/dcgmi-diag-r3.txt`: the 3.x table (`Successfully ran diagnostic for group.`, Metadata,
        Deployment, Integration, Hardware and Stress sections; `Pass - All`, `Pass - GPUs: ...` and
        `Fail - GPU: 3` cells; `Error` / `Warning` rows wrapped every 45 characters, warnings starting
        `GPU <n> ` and ending with DCGM's suggested next step)
  json  `dcgm/dcgmi-diag-r3.json`: the 3.x `"DCGM GPU Diagnostic"` document (test_categories, one result per
        GPU with `gpu_ids`, `warnings` with `error_id` / `error_category` / `error_severity` and `info`
        lines), written as jsoncpp's styled writer prints it (3-space indent, `"key" : value`, sorted keys)

Fault kinds rendered (everything else passes; `info` lines carry what the node's state implies):
  hbm_remap_failure   Page Retirement/Row Remap and GPU Memory fail on the GPU: DCGM_FR_ROW_REMAP_FAILURE
  hbm_remap_pending   the same with DCGM_FR_PENDING_ROW_REMAP
  gpu_diag_failure    Diagnostic fails on the GPU (DCGM_FR_NAN_VALUE), sometimes Targeted Stress too
                      (DCGM_FR_XID_ERROR, XID 13)
  gpu_fallen_off_bus  GPU Memory fails with XID 79, the later tests with NVML's 'GPU is lost'
  gsp_timeout         GPU Memory fails with XID 119, the later tests with NVML's 'GPU requires reset'
  nvswitch_fatal      Targeted Stress fails on every GPU: fatal errors on the NVSwitch link of each GPU
  driver_mismatch     the diagnostic cannot run: `Error: Unable to complete diagnostic ... (-8) NVML error.`
  pcie_downtrained    (json info) the GPU's PCIe bandwidths about half the others, the test still passes
  gpu_thermal         (json info) the GPU's average temperature under targeted stress near the slowdown limit
No noise kind shows in this file.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

from fleetgen.model import Fault, Gpu, Node, NvSwitch

DCGM_VERSION = "3.3.5"
DEVICE_ID = "2330"  # H100 SXM5 80GB
ALL_GPUS_GROUP = 2147483647  # DCGM_GROUP_ALL_GPUS
WRAP = 45
SYSTEM_TRIAGE = "Check DCGM and system logs for errors. Reset GPU. Restart DCGM. Rerun diagnostics."
FIELD_DIAG = "Run a field diagnostic on the GPU."
DRAIN_RESET = "Drain the GPU and reset it or reboot the node."

# Deployment checks: (text name, json name).
DEPLOYMENT = [
    ("Denylist", "Denylist"),
    ("NVML Library", "NVML Library"),
    ("CUDA Main Library", "CUDA Main Library"),
    ("Permissions and OS Blocks", "Permissions and OS-related Blocks"),
    ("Persistence Mode", "Persistence Mode"),
    ("Environment Variables", "Environmental Variables"),
    ("Page Retirement/Row Remap", "Page Retirement/Row Remap"),
    ("Graphics Processes", "Graphics Processes"),
    ("Inforom", "Inforom"),
]
ROW_REMAP_CHECK = "Page Retirement/Row Remap"
# Per-GPU tests in run order: (section, text name, json name).
TESTS = [
    ("Integration", "PCIe", "pcie"),
    ("Hardware", "GPU Memory", "memory"),
    ("Hardware", "Diagnostic", "diagnostic"),
    ("Stress", "Targeted Stress", "targeted_stress"),
    ("Stress", "Targeted Power", "targeted_power"),
    ("Stress", "Memory Bandwidth", "memory_bandwidth"),
]
SECTIONS = ["Integration", "Hardware", "Stress"]
# DCGM error codes used here: code -> (category id, severity id, suggestion).
CODES = {
    15: (12, 2, FIELD_DIAG),  # DCGM_FR_NVSWITCH_FATAL_ERROR: HARDWARE_NVSWITCH, ISOLATE
    65: (8, 4, SYSTEM_TRIAGE),  # DCGM_FR_API_FAIL_GPU: SOFTWARE_OTHER, TRIAGE
    80: (10, 6, FIELD_DIAG),  # DCGM_FR_ROW_REMAP_FAILURE: HARDWARE_MEMORY, RESET
    85: (10, 6, DRAIN_RESET),  # DCGM_FR_PENDING_ROW_REMAP: HARDWARE_MEMORY, RESET
    101: (5, 4, SYSTEM_TRIAGE),  # DCGM_FR_XID_ERROR: SOFTWARE_XID, TRIAGE
    111: (10, 2, FIELD_DIAG),  # DCGM_FR_NAN_VALUE: HARDWARE_MEMORY, ISOLATE
}

TEXT_HEAD = (
    "Successfully ran diagnostic for group.\n"
    "+---------------------------+------------------------------------------------+\n"
    "| Diagnostic                | Result                                         |\n"
    "+===========================+================================================+\n"
)
TEXT_FOOT = "+---------------------------+------------------------------------------------+\n"
DRIVER_MISMATCH = f"Error: Unable to complete diagnostic for group {ALL_GPUS_GROUP}. Return: (-8) NVML error."


@dataclass(frozen=True)
class _Problem:
    """A failed result: DCGM's error code and message."""

    code: int
    message: str


@dataclass
class _Diag:
    """The outcome of the diagnostic: failures per check (node) and per test and GPU, and info lines."""

    checks: dict[str, list[tuple[int, _Problem]]] = field(default_factory=dict)  # check -> [(gpu, problem)]
    failures: dict[str, dict[int, _Problem]] = field(default_factory=dict)  # json test name -> gpu -> problem
    info: dict[str, dict[int, list[str]]] = field(default_factory=dict)  # json test name -> gpu -> lines

    def fail(self, test: str, gpu: int, problem: _Problem) -> None:
        """Record the first failure of `test` on `gpu` (a GPU reports one error per test)."""
        self.failures.setdefault(test, {}).setdefault(gpu, problem)


def write(node: Node) -> dict[str, bytes]:
    """The dcgmi diag output of `node`, in its chosen layout."""
    layout = node.formats["dcgm"]
    rng = node.rng("dcgm")
    diag = _diagnose(node, rng)
    if layout == "json":
        body = _json_error() if node.faults_of("driver_mismatch") else _json(node, diag)
        return {"dcgm/dcgmi-diag-r3.json": body.encode()}
    body = DRIVER_MISMATCH + "\n" if node.faults_of("driver_mismatch") else _text(node, diag)
    return {"dcgm/dcgmi-diag-r3.txt": body.encode()}


# -- what the diagnostic finds ------------------------------------------------------------------------------


def _diagnose(node: Node, rng: random.Random) -> _Diag:
    """Per-test results of the node's faults, and the info lines of every GPU."""
    diag = _Diag(info=_info(node, rng))
    nan_count = rng.randrange(3, 400)
    stress_fails = rng.random() < 0.5
    for fault in node.faults_of("hbm_remap_failure", "hbm_remap_pending"):
        g = _gpu(fault).index
        if fault.kind == "hbm_remap_failure":
            problem = _Problem(80, f"GPU {g} had uncorrectable memory errors and row remapping failed.")
        else:
            problem = _Problem(85, f"GPU {g} had memory errors and row remappings are pending")
        diag.checks.setdefault(ROW_REMAP_CHECK, []).append((g, problem))
        diag.fail("memory", g, problem)
    for fault in node.faults_of("gpu_diag_failure"):
        g = _gpu(fault).index
        diag.fail("diagnostic", g, _Problem(111, f"Found {nan_count} NaN-value memory elements on GPU {g}"))
        if stress_fails:
            diag.fail("targeted_stress", g, _Problem(101, f"Detected XID 13 for GPU {g}"))
    for fault in node.faults_of("gpu_fallen_off_bus", "gsp_timeout"):
        g = _gpu(fault).index
        xid, call, error = (
            (79, "nvmlDeviceGetHandleByIndex_v2", "GPU is lost")
            if fault.kind == "gpu_fallen_off_bus"
            else (119, "nvmlDeviceGetFieldValues", "GPU requires reset")
        )
        diag.fail("memory", g, _Problem(101, f"Detected XID {xid} for GPU {g}"))
        for test in ("diagnostic", "targeted_stress", "targeted_power", "memory_bandwidth"):
            diag.fail(test, g, _Problem(65, f"API call {call} failed for GPU {g}: '{error}'"))
    for fault in node.faults_of("nvswitch_fatal"):
        switch = _switch(fault)
        for gpu in node.gpus:
            link = _switch_link(gpu.index, switch.index)
            diag.fail(
                "targeted_stress",
                gpu.index,
                _Problem(15, f"Detected fatal errors on NvSwitch {switch.index} link {link}"),
            )
    return diag


def _info(node: Node, rng: random.Random) -> dict[str, dict[int, list[str]]]:
    """The info lines DCGM records per GPU: PCIe bandwidths and latencies, memory allocated, temperatures."""
    downtrained = {_gpu(f).index for f in node.faults_of("pcie_downtrained")}
    hot = {_gpu(f).index for f in node.faults_of("gpu_thermal")}
    pcie, memory, stress = {}, {}, {}
    for gpu in node.gpus:
        g = gpu.index
        share = 0.5 if g in downtrained else 1.0
        d2h, h2d = 53.6 * share * rng.uniform(0.99, 1.01), 52.9 * share * rng.uniform(0.99, 1.01)
        pcie[g] = [
            f"GPU {g} GPU to Host bandwidth:\t\t{d2h:.2f} GB/s",
            f"GPU {g} Host to GPU bandwidth:\t\t{h2d:.2f} GB/s",
            f"GPU {g} bidirectional bandwidth:\t{(d2h + h2d) * 0.93:.2f} GB/s",
            f"GPU {g} GPU to Host latency:\t\t{rng.uniform(1.9, 2.6):.3f} us",
            f"GPU {g} Host to GPU latency:\t\t{rng.uniform(1.9, 2.6):.3f} us",
            f"GPU {g} bidirectional latency:\t\t{rng.uniform(3.5, 4.6):.3f} us",
        ]
        memory[g] = ["Allocated 83126227304 bytes (97.2%)"]
        temperature = rng.randrange(84, 88) if g in hot else rng.randrange(47, 59)
        stress[g] = [f"GPU {g} temperature average:\t{temperature} C"]
    return {"pcie": pcie, "memory": memory, "targeted_stress": stress}


def _switch_link(gpu: int, switch: int) -> int:
    """The NVSwitch port a GPU's first link to `switch` lands on (HGX H100 wiring, 2 ports per GPU and switch)."""
    return 2 * gpu + 16 * (switch % 2)


def _gpu(fault: Fault) -> Gpu:
    assert isinstance(fault.target, Gpu)
    return fault.target


def _switch(fault: Fault) -> NvSwitch:
    assert isinstance(fault.target, NvSwitch)
    return fault.target


# -- text layout -------------------------------------------------------------------------------------------


def _text(node: Node, diag: _Diag) -> str:
    parts = [TEXT_HEAD, _bar("Metadata", "|")]
    parts.append(_row("DCGM Version", DCGM_VERSION))
    parts.append(_row("Driver Version Detected", node.driver))
    parts.append(_row("GPU Device IDs Detected", ",".join([DEVICE_ID] * len(node.gpus))))
    parts.append(_bar("Deployment", "|"))
    for name, _ in DEPLOYMENT:
        found = diag.checks.get(name, [])
        parts.append(_row(name, "Fail" if found else "Pass"))
        for _, problem in found:
            parts.extend(_wrapped("Error", problem.message))
    for section in SECTIONS:
        parts.append(_bar(section, "+"))
        for test_section, name, key in TESTS:
            if test_section == section:
                parts.extend(_text_test(node, name, diag.failures.get(key, {})))
        if section == "Stress":
            parts.append(_row("EUD Test", "Skip - All"))
    parts.append(TEXT_FOOT)
    return "".join(parts)


def _text_test(node: Node, name: str, failed: dict[int, _Problem]) -> list[str]:
    """A per-GPU test's rows: `Pass - All`, or the passing and failing GPUs and one warning per failure."""
    if not failed:
        return [_row(name, "Pass - All")]
    passed = [g.index for g in node.gpus if g.index not in failed]
    cells = [_gpu_list("Pass", passed), _gpu_list("Fail", sorted(failed))] if passed else ["Fail - All"]
    rows = [_row(name if k == 0 else "", cell) for k, cell in enumerate(cells)]
    for g in sorted(failed):
        problem = failed[g]
        rows.extend(_wrapped("Warning", f"GPU {g} {problem.message} {CODES[problem.code][2]}"))
    return rows


def _gpu_list(status: str, gpus: list[int]) -> str:
    label = "GPU: " if len(gpus) == 1 else "GPUs: "
    return f"{status} - {label}{', '.join(str(g) for g in gpus)}   "


def _bar(section: str, end: str) -> str:
    head = f"-----  {section}  "
    return f"{end}{head}{'-' * (27 - len(head))}+{'-' * 48}{end}\n"


def _row(name: str, value: str) -> str:
    return f"| {name:<25} | {value:<{WRAP}}  |\n"


def _wrapped(label: str, text: str) -> list[str]:
    """A message over as many rows as it needs, 45 characters each, the label on the first."""
    return [_row(label if k == 0 else "", text[k : k + WRAP]) for k in range(0, len(text), WRAP)]


# -- json layout -------------------------------------------------------------------------------------------


def _json(node: Node, diag: _Diag) -> str:
    gpus = [g.index for g in node.gpus]
    categories = [
        {
            "category": "Deployment",
            "tests": [_json_check(gpus, json_name, diag.checks.get(name, [])) for name, json_name in DEPLOYMENT],
        }
    ]
    for section in SECTIONS:
        tests = [_json_test(gpus, key, diag) for test_section, _, key in TESTS if test_section == section]
        categories.append({"category": section, "tests": tests})
    doc = {"DCGM GPU Diagnostic": {"test_categories": categories, "version": DCGM_VERSION}}
    return _styled(doc) + "\n"


def _json_error() -> str:
    return _styled({"DCGM GPU Diagnostic": {"runtime_error": DRIVER_MISMATCH}}) + "\n"


def _json_check(gpus: list[int], name: str, found: list[tuple[int, _Problem]]) -> dict[str, object]:
    failing = {g: problem for g, problem in found}
    passed = [g for g in gpus if g not in failing]
    results: list[dict[str, object]] = [{"gpu_ids": ",".join(str(g) for g in passed), "status": "PASS"}]
    results += [
        {"gpu_ids": str(g), "status": "FAIL", "warnings": [_json_warning(problem)]}
        for g, problem in sorted(failing.items())
    ]
    return {"name": name, "results": results}


def _json_test(gpus: list[int], key: str, diag: _Diag) -> dict[str, object]:
    failed = diag.failures.get(key, {})
    info = diag.info.get(key, {})
    results = []
    for g in gpus:
        result: dict[str, object] = {"gpu_ids": str(g), "status": "FAIL" if g in failed else "PASS"}
        if g in info:
            result["info"] = info[g]
        if g in failed:
            result["warnings"] = [_json_warning(failed[g])]
        results.append(result)
    return {"name": key, "results": results}


def _json_warning(problem: _Problem) -> dict[str, object]:
    category, severity, _ = CODES[problem.code]
    return {
        "error_category": category,
        "error_id": problem.code,
        "error_severity": severity,
        "warning": problem.message,
    }


def _styled(value: object, indent: str = "") -> str:
    """`value` as jsoncpp's StyledWriter prints it: 3-space indent, `"key" : value`, sorted keys,
    short arrays of plain values on one line."""
    if isinstance(value, dict):
        inner = indent + "   "
        members = [f"{inner}{json.dumps(k)} : {_styled(v, inner)}" for k, v in sorted(value.items())]
        return "{\n" + ",\n".join(members) + f"\n{indent}}}"
    if isinstance(value, list):
        items = [_styled(v, indent + "   ") for v in value]
        nested = any(isinstance(v, dict | list) for v in value)
        if not nested and 4 + 2 * (len(items) - 1) + sum(len(s) for s in items) <= 74:
            return "[ " + ", ".join(items) + " ]"
        inner = indent + "   "
        return "[\n" + ",\n".join(inner + s for s in items) + f"\n{indent}]"
    return json.dumps(value)
