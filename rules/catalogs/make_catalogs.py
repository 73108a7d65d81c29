"""Build the per-code catalog tables the catalog rules join to: xid.csv, sxid.csv, dcgm_category.csv.

Run from the repository root:  python rules/catalogs/make_catalogs.py

Inputs (read only, paths relative to the repository root):
  ../shared/reference/xid_catalog.csv     NVIDIA XID catalog: mnemonic, description, immediate and
                                          investigatory resolution bucket, legacy cause columns, GPUd
                                          action/severity (one row per code, 172 rows).
  ../shared/reference/field-catalogs.md   §6: the full SXid list (93 codes) with the Fabric Manager
                                          guide's class (parsed from its markdown table).
The 16 DCGM error categories of §10 are written out below (DCGM_CATEGORIES), with examples of
their DCGM_FR_* codes taken from DCGM's dcgmlib/src/dcgm_errors.c.

Every row gets our taxonomy (rules/taxonomy.yaml): component, root_cause, action, severity, plus a
`basis` column saying in a few words why. The output is deterministic (rows sorted by code, fixed
column order, "\\n" line ends), so re-running it on unchanged inputs changes nothing.

How XID codes are mapped (first matching step wins, per field):
  1. XID_OVERRIDES: the codes field-catalogs.md §5 discusses one by one (13/31/43 application, the
     48 -> 63/64 -> 94/95 HBM chain, 45 sympathetic, 74 and 144-150 NVLink, 79 off the bus, 119/120
     GSP, the 162-172 codes that have no NVIDIA bucket yet, ...).
  2. root_cause: an application bucket (CHECK_APP/CUDA, XID_137_FLOW) or an App-only legacy cause
     -> application; else a mnemonic hint (MNEMONIC_HINTS: NVLINK, ECC/DRAM, SILENT_RUNNING, copy
     and video engines, GSP, ...); else the legacy cause columns (LEGACY_CAUSE_RULES: HW -> gpu_hardware,
     Drv -> driver_firmware); else unknown.
  3. action and severity: from NVIDIA's immediate bucket (BUCKET_ACTIONS); IGNORE becomes monitor
     when the investigatory bucket still says CONTACT_SUPPORT / INVESTIGATE_*, else none; codes with
     no bucket at all follow GPUd's RebootSystem (reboot_node) or else monitor.
  Severity scale: critical = RMA or the GPU is unreachable (power cycle); error = reset/reboot/vendor
  class; warning = application, monitor or mechanical check; info = nothing to do.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO.parent / "shared" / "reference"
XID_SOURCE = REFERENCE / "xid_catalog.csv"
FIELD_CATALOGS = REFERENCE / "field-catalogs.md"
OUT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Taxonomy:
    """The four taxonomy values of a row and the reason they were chosen."""

    component: str
    root_cause: str
    action: str
    severity: str
    basis: str


# -- XID ---------------------------------------------------------------------------------------------
# Component follows the root cause: a GPU-side fault names the GPU; driver and application faults
# name software (the GPU itself is fine), except where the action is a GPU reset (GSP faults such
# as 119/120): the reset, and the identity an operator needs, are those of the GPU.
COMPONENT_BY_ROOT_CAUSE = {
    "application": "software",
    "driver_firmware": "software",
}
DEFAULT_COMPONENT = "gpu"

# Immediate bucket -> (action, severity). IGNORE and "no bucket" are decided in `_xid_action`.
BUCKET_ACTIONS: dict[str, tuple[str, str]] = {
    "RESTART_APP": ("restart_app", "warning"),
    "RESET_GPU": ("reset_gpu", "error"),
    "RESTART_BM": ("reboot_node", "critical"),  # GPU unreachable on PCIe: full power cycle
    "RESTART_VM": ("reboot_node", "error"),
    "CHECK_MECHANICALS": ("check_mechanicals", "warning"),
    "UPDATE_SWFW": ("update_firmware", "error"),
    "CHECK_UVM": ("investigate", "warning"),
    "CONTACT_SUPPORT": ("contact_vendor", "error"),
}
# Investigatory buckets that still ask for follow-up when the immediate bucket is IGNORE.
FOLLOW_UP_BUCKETS = ("CONTACT_SUPPORT", "INVESTIGATE_SW", "INVESTIGATE_SW_USER", "INVESTIGATE_LINK_SI")
APPLICATION_BUCKETS = ("CHECK_APP/CUDA", "XID_137_FLOW", "WORKFLOW_XID_13", "WORKFLOW_XID_31")

# Mnemonic hints: (regex on the mnemonic, root cause, label for `basis`). More specific than the
# legacy columns, and the only clue for codes the legacy table lacks.
MNEMONIC_HINTS: list[tuple[str, str, str]] = [
    (r"NVLINK|ALI_TRAINING", "nvlink", "NVLink"),
    (r"ECC|DRAM|SRAM|FB_MEMORY|SBE", "gpu_memory", "memory"),
    (r"PCIE", "pcie", "PCIe"),
    (r"SILENT_RUNNING|THERMAL|TEMP|PSHC", "thermal_power", "thermal/power"),
    (r"_CE\d+_ERROR|NVDEC|NVENC|NVJPG|OFA\d|DLA|RESOURCE_RETIREMENT", "gpu_hardware", "GPU engine/unit"),
    (r"GSP|KEY_ROTATION|CHANNEL_RETIREMENT|FAST_PATH", "driver_firmware", "driver/firmware"),
]
# Legacy cause columns (NVIDIA's older table: HW, Drv, App, Bus, SysMem, Thermal, FB), in order.
LEGACY_CAUSE_RULES: list[tuple[str, str]] = [
    ("HW", "gpu_hardware"),
    ("Drv", "driver_firmware"),
]

# The codes field-catalogs.md §5 discusses one by one, plus the new codes that have no NVIDIA bucket.
# code -> (root_cause, action, severity, basis); component follows COMPONENT_BY_ROOT_CAUSE.
XID_OVERRIDES: dict[int, tuple[str, str, str, str]] = {
    13: ("application", "restart_app", "warning", "app fault unless it repeats on one GPC/TPC (WORKFLOW_XID_13)"),
    31: ("application", "restart_app", "warning", "MMU fault: app unless it repeats on one GPU (WORKFLOW_XID_31)"),
    43: ("application", "restart_app", "warning", "app stopped/killed; k8s-dp, GCM, AzHA treat as app"),
    45: ("driver_firmware", "none", "warning", "sympathetic cleanup after another Xid; solo: RESTART_FM"),
    48: ("gpu_memory", "reset_gpu", "critical", "DBE: reset then check; with 63/64 diagnosis escalates"),
    54: ("thermal_power", "check_mechanicals", "warning", "aux power not connected"),
    61: ("gpu_hardware", "contact_vendor", "error", "PMU breakpoint (unused); GPUd fatal"),
    62: ("gpu_hardware", "reset_gpu", "error", "PMU halt: GPU micro-controller"),
    63: ("gpu_memory", "reset_gpu", "warning", "row remap pending: activates on GPU reset"),
    64: ("gpu_memory", "rma_gpu", "critical", "row remap failure: spare rows exhausted"),
    74: ("nvlink", "reset_gpu", "error", "NVLink error (WORKFLOW_NVLINK_ERR): reset, decode, replace on repeat"),
    79: ("gpu_hardware", "reboot_node", "critical", "off the bus: GPU or its PCIe link; power cycle"),
    92: ("gpu_memory", "monitor", "warning", "high SBE rate: corrected, trend it"),
    94: ("gpu_memory", "restart_app", "warning", "contained ECC error: only the app is hit"),
    95: ("gpu_memory", "reset_gpu", "error", "uncontained ECC error: reset the GPU"),
    106: ("driver_firmware", "none", "info", "SMBPBI test message"),
    107: ("driver_firmware", "none", "info", "SMBPBI test message (silent)"),
    109: ("driver_firmware", "reset_gpu", "error", "ctx-switch timeout: mixed causes, treated as GPU hang"),
    119: ("driver_firmware", "reset_gpu", "error", "GSP RPC timeout (RESET_GPU -> INVESTIGATE_SW)"),
    120: ("driver_firmware", "reset_gpu", "error", "GSP error (RESET_GPU -> INVESTIGATE_SW)"),
    136: ("nvlink", "reset_gpu", "error", "ALI link training failed -> INVESTIGATE_LINK_SI"),
    137: ("application", "restart_app", "warning", "NVLink privilege error from the app (XID_137_FLOW)"),
    140: ("gpu_memory", "reset_gpu", "error", "unrecovered ECC error escaped"),
    143: ("gpu_hardware", "reset_gpu", "error", "GPU initialization error"),
    144: ("nvlink", "reset_gpu", "warning", "NVLink5 SAW unit; line's Fatal/Nonfatal decides"),
    145: ("nvlink", "reset_gpu", "warning", "NVLink5 RLW unit; line's Fatal/Nonfatal decides"),
    146: ("nvlink", "reset_gpu", "warning", "NVLink5 TLW unit; line's Fatal/Nonfatal decides"),
    147: ("nvlink", "reset_gpu", "warning", "NVLink5 TREX unit; line's Fatal/Nonfatal decides"),
    148: ("nvlink", "reset_gpu", "warning", "NVLink5 NVLPW_CTRL unit; line's Fatal/Nonfatal decides"),
    149: ("nvlink", "reset_gpu", "error", "NVLink5 NETIR: link down / BER events"),
    150: ("nvlink", "reset_gpu", "warning", "NVLink5 MSE watchdog; line's Fatal/Nonfatal decides"),
    154: ("driver_firmware", "none", "info", "informational: names the recovery action of a prior Xid"),
    155: ("nvlink", "reset_gpu", "error", "NVLink SW-defined error (RESET_GPU -> INVESTIGATE_SW_USER)"),
    156: ("gpu_hardware", "reset_gpu", "warning", "resource retired: activates on reset (like 63)"),
    158: ("gpu_hardware", "reset_gpu", "error", "GPU fatal timeout"),
    159: ("driver_firmware", "investigate", "warning", "CHI non-data error: CHECK_UVM, sympathetic if solo"),
    162: ("thermal_power", "none", "info", "power smoothing re-engaged (cancels 163)"),
    163: ("thermal_power", "reset_gpu", "warning", "power smoothing disengaged; reset unless 162 follows"),
    164: ("thermal_power", "monitor", "info", "power smoothing circuitry low lifetime"),
    165: ("thermal_power", "investigate", "warning", "power smoothing circuitry lifetime exhausted"),
    166: ("driver_firmware", "reboot_node", "error", "CC traffic before link encryption set up; GPUd reboot"),
    167: ("pcie", "reboot_node", "error", "PCIe fatal timeout; GPUd reboot"),
    168: ("gpu_memory", "investigate", "warning", "WPR errors: reduced usable GPU memory"),
    169: ("gpu_hardware", "reset_gpu", "error", "SEC2 micro-controller halt (like 62)"),
    170: ("driver_firmware", "investigate", "warning", "interrupt in CC mode; GPUd CheckUserAppAndGPU"),
    171: ("gpu_memory", "reset_gpu", "error", "DRAM detail of an Xid 48"),
    172: ("gpu_memory", "reset_gpu", "error", "SRAM detail of an Xid 48"),
}
XID_TITLES = {
    167: "PCIe fatal timeout",
    171: "Uncorrectable DRAM error (detail of Xid 48)",
    172: "Uncorrectable SRAM error (detail of Xid 48)",
}
XID_COLUMNS = [
    "code", "mnemonic", "title", "immediate_bucket", "investigatory_bucket",
    "component", "root_cause", "action", "severity", "basis",
]  # fmt: skip


def _xid_title(code: int, mnemonic: str, description: str) -> str:
    """NVIDIA's description; codes NVIDIA lists as "Unused" are named by their mnemonic."""
    if code in XID_TITLES:
        return XID_TITLES[code]
    if description.strip().lower() == "unused":
        return f"{mnemonic} (unused code)"
    return description.strip()


def _xid_root_cause(mnemonic: str, investigatory: str, legacy: str) -> tuple[str, str]:
    """Root cause and the reason, from buckets, mnemonic hints and the legacy cause columns."""
    causes = [c for c in legacy.split("/") if c not in ("", "-")]
    if investigatory in APPLICATION_BUCKETS:
        return "application", f"{investigatory} -> application"
    if causes == ["App"]:
        return "application", "legacy App only"
    for pattern, root_cause, label in MNEMONIC_HINTS:
        if re.search(pattern, mnemonic):
            return root_cause, f"{label} mnemonic -> {root_cause}"
    for cause, root_cause in LEGACY_CAUSE_RULES:
        if cause in causes:
            return root_cause, f"legacy {legacy} -> {root_cause}"
    return "unknown", "no cause data"


def _xid_action(immediate: str, investigatory: str, gpud_actions: str) -> tuple[str, str]:
    """Action and severity from NVIDIA's immediate bucket (see BUCKET_ACTIONS)."""
    if immediate in BUCKET_ACTIONS:
        return BUCKET_ACTIONS[immediate]
    if immediate == "IGNORE":
        return ("monitor", "warning") if investigatory in FOLLOW_UP_BUCKETS else ("none", "info")
    if not immediate:
        return ("reboot_node", "error") if "RebootSystem" in gpud_actions else ("monitor", "warning")
    raise ValueError(f"no action rule for bucket {immediate!r}")  # a new bucket needs a rule


def xid_row(src: dict[str, str]) -> dict[str, str]:
    """One output row of xid.csv from one row of the reference catalog."""
    code = int(src["code"])
    immediate, investigatory = src["immediate_bucket"].strip(), src["investigatory_bucket"].strip()
    buckets = f"bucket {immediate or '-'}/{investigatory or '-'}"
    if code in XID_OVERRIDES:
        root_cause, action, severity, why = XID_OVERRIDES[code]
        basis = f"{buckets}; override: {why}"
    else:
        root_cause, why = _xid_root_cause(src["mnemonic"], investigatory, src["legacy_causes_gcm"].strip())
        action, severity = _xid_action(immediate, investigatory, src["gpud_repair_actions"])
        unused = "; unused code" if src["description"].strip().lower() == "unused" else ""
        basis = f"{buckets}; {why}{unused}"
    return {
        "code": str(code),
        "mnemonic": src["mnemonic"].strip(),
        "title": _xid_title(code, src["mnemonic"].strip(), src["description"]),
        "immediate_bucket": immediate,
        "investigatory_bucket": investigatory,
        "component": "gpu" if action == "reset_gpu" else COMPONENT_BY_ROOT_CAUSE.get(root_cause, DEFAULT_COMPONENT),
        "root_cause": root_cause,
        "action": action,
        "severity": severity,
        "basis": basis,
    }


def xid_rows() -> list[dict[str, str]]:
    """Every code of the reference XID catalog, mapped."""
    with XID_SOURCE.open(newline="", encoding="utf-8") as fh:
        rows = [xid_row(src) for src in csv.DictReader(fh)]
    return sorted(rows, key=lambda r: int(r["code"]))


# -- SXid --------------------------------------------------------------------------------------------
# Fabric Manager guide class -> (action, severity). All SXids are the NVSwitch's own errors.
SXID_CLASS_ACTIONS = {
    "always fatal": ("reboot_node", "critical", "always fatal: whole fabric; reset all GPUs+switches"),
    "potential fatal": ("reboot_node", "error", "potentially fatal: port/partition impact"),
    "non-fatal/other": ("monitor", "info", "non-fatal"),
}
# code -> (root_cause, action, severity, basis) for the codes §6 singles out.
SXID_OVERRIDES: dict[int, tuple[str, str, str, str]] = {
    10004: ("thermal_power", "check_mechanicals", "warning", "thermal event start: links may drop to 1 lane"),
    10005: ("thermal_power", "none", "info", "thermal event end"),
    11004: ("nvswitch", "investigate", "warning", "invalid ACL: partition config, audit routing"),
    12028: ("nvswitch", "restart_fabric_manager", "warning", "non-posted PRIV error: guest sees Xid 45"),
    19084: ("nvswitch", "monitor", "warning", "AN1 heartbeat timeout: accompanies a fatal SXid"),
    20001: ("nvswitch", "monitor", "warning", "link-level: TX replay, lowers port bandwidth"),
    20009: ("nvswitch", "monitor", "warning", "link-level: RX short error rate"),
    20012: ("nvswitch", "monitor", "warning", "link-level: broken/inconsistent connection"),
    22013: ("nvswitch", "monitor", "warning", "link-level: Minion link DLREQ, usually ignorable"),
}
SXID_COLUMNS = ["code", "title", "class", "component", "root_cause", "action", "severity", "gpud_actions", "basis"]
_SXID_ROW = re.compile(r"^\|\s*(\d{5})\s*\|([^|]*)\|([^|]*)\|([^|]*)\|\s*$")


def _section(markdown: str, number: int) -> str:
    """The text of `## <number>.` up to the next `## ` heading."""
    match = re.search(rf"^## {number}\..*?(?=^## |\Z)", markdown, flags=re.M | re.S)
    if match is None:
        raise ValueError(f"{FIELD_CATALOGS}: no section {number}")
    return match.group(0)


def sxid_rows() -> list[dict[str, str]]:
    """The 93 SXid codes of field-catalogs.md §6 (full list), mapped."""
    section = _section(FIELD_CATALOGS.read_text(encoding="utf-8"), 6)
    rows = []
    for line in section.splitlines():
        match = _SXID_ROW.match(line)
        if match is None:
            continue
        code, name, klass, gpud = (part.strip() for part in match.groups())
        action, severity, why = SXID_CLASS_ACTIONS[klass]
        root_cause = "nvswitch"
        if int(code) in SXID_OVERRIDES:
            root_cause, action, severity, why = SXID_OVERRIDES[int(code)]
            why = f"override: {why}"
        elif name == "Single bit ECC errors":
            why = "corrected SBE inside the switch: trend only"
        rows.append(
            {
                "code": code,
                "title": name,
                "class": klass,
                "component": "nvswitch",
                "root_cause": root_cause,
                "action": action,
                "severity": severity,
                "gpud_actions": "" if gpud == "-" else gpud,
                "basis": f"FM class {klass}; {why}",
            }
        )
    if len(rows) != 93 or len({r["code"] for r in rows}) != 93:
        raise ValueError(f"{FIELD_CATALOGS} §6: expected 93 distinct SXid codes, found {len(rows)}")
    return sorted(rows, key=lambda r: int(r["code"]))


# -- DCGM error categories -----------------------------------------------------------------------------
# dcgmErrorCategory_t (DCGM dcgmlib/src/dcgm_errors.c, field-catalogs.md §10) -> taxonomy, with a few
# DCGM_FR_* codes of each category as examples. A DCGM finding takes the taxonomy of its category.
DCGM_CATEGORIES: dict[str, tuple[str, Taxonomy, str]] = {
    "PERF_THRESHOLD": (
        "Performance below threshold",
        Taxonomy("gpu", "performance", "rerun_test", "warning", "measured perf under target: rerun to confirm"),
        "FIELD_THRESHOLD_TS, STRESS_LEVEL, MEMORY_BANDWIDTH",
    ),
    "PERF_VIOLATION": (
        "Performance violation",
        Taxonomy("gpu", "performance", "investigate", "warning", "field/GFLOPS limits violated during a test"),
        "FIELD_THRESHOLD, FIELD_VIOLATION_DBL, GFLOPS_THRESHOLD_VIOLATION",
    ),
    "SOFTWARE_CONFIG": (
        "Software configuration problem",
        Taxonomy("software", "driver_firmware", "investigate", "warning", "denylisted driver, test setup, op mode"),
        "DENYLISTED_DRIVER, CONCURRENT_GPUS, GPU_OP_MODE, TEST_SKIPPED",
    ),
    "SOFTWARE_LIBRARY": (
        "Software library problem",
        Taxonomy("software", "driver_firmware", "investigate", "error", "NVML library missing or broken"),
        "NVML_API, CANNOT_OPEN_LIB, NVML_LIB_BAD",
    ),
    "SOFTWARE_XID": (
        "XID or SXid seen during diagnostics",
        Taxonomy("gpu", "unknown", "investigate", "error", "cause is the Xid itself: see its xid-<code> finding"),
        "XID_ERROR, SXID_ERROR, UNCONTAINED_ERROR",
    ),
    "SOFTWARE_CUDA": (
        "CUDA problem",
        Taxonomy("software", "driver_firmware", "investigate", "warning", "CUDA env/context/API or FM not ready"),
        "BAD_CUDA_ENV, CUDA_API, CUDA_CONTEXT, CUDA_FM_NOT_INITIALIZED",
    ),
    "SOFTWARE_EUD": (
        "Extended utility diagnostics (EUD) problem",
        Taxonomy("software", "unknown", "rerun_test", "warning", "EUD setup failures; EUD_TEST_FAILED isolates"),
        "EUD_BINARY_PERMISSIONS, EUD_TIMEOUT, EUD_TEST_FAILED",
    ),
    "SOFTWARE_OTHER": (
        "Other software problem",
        Taxonomy("software", "unknown", "investigate", "warning", "permissions, device count, persistence mode"),
        "DEVICE_COUNT_MISMATCH, GRAPHICS_PROCESSES, PERSISTENCE_MODE, API_FAIL",
    ),
    "HARDWARE_THERMAL": (
        "GPU thermal problem",
        Taxonomy("gpu", "thermal_power", "check_mechanicals", "warning", "thermal violations: check cooling"),
        "CLOCKS_EVENT_THERMAL, THERMAL_VIOLATIONS, TEMP_VIOLATION",
    ),
    "HARDWARE_MEMORY": (
        "GPU memory problem",
        Taxonomy("gpu", "gpu_memory", "reset_gpu", "error", "DBE, retirements, remaps: mostly ISOLATE/RESET"),
        "VOLATILE_DBE_DETECTED, PENDING_ROW_REMAP, ROW_REMAP_FAILURE, FAULTY_MEMORY",
    ),
    "HARDWARE_NVLINK": (
        "NVLink problem",
        Taxonomy("gpu", "nvlink", "reset_gpu", "error", "NVLink errors over threshold or links down: ISOLATE"),
        "NVLINK_ERROR_THRESHOLD, NVLINK_DOWN, NVLINK_CRC_ERROR_THRESHOLD",
    ),
    "HARDWARE_NVSWITCH": (
        "NVSwitch problem",
        Taxonomy("nvswitch", "nvswitch", "investigate", "error", "fatal (ISOLATE) and non-fatal switch errors"),
        "NVSWITCH_FATAL_ERROR, NVSWITCH_NON_FATAL_ERROR, NVSWITCH_DOWN",
    ),
    "HARDWARE_PCIE": (
        "PCIe problem",
        Taxonomy("gpu", "pcie", "check_mechanicals", "error", "replays, low bandwidth, degraded gen/width: reseat"),
        "PCI_REPLAY_RATE, LOW_BANDWIDTH, PCIE_GENERATION, PCIE_WIDTH",
    ),
    "HARDWARE_POWER": (
        "GPU power problem",
        Taxonomy("gpu", "thermal_power", "investigate", "warning", "power unreadable, capped or target missed"),
        "POWER_UNREADABLE, CLOCKS_EVENT_POWER, TARGET_POWER, ENFORCED_POWER_LIMIT",
    ),
    "HARDWARE_OTHER": (
        "Other GPU hardware problem",
        Taxonomy("gpu", "gpu_hardware", "investigate", "error", "InfoROM, clocks, broken P2P: ISOLATE/TRIAGE"),
        "CORRUPT_INFOROM, FIELD_VIOLATION, BROKEN_P2P_MEMORY_DEVICE",
    ),
    "INTERNAL_OTHER": (
        "DCGM internal problem",
        Taxonomy("software", "unknown", "rerun_test", "info", "the diagnostic tool failed, not the GPU"),
        "INTERNAL, DCGM_API, HOSTENGINE_CONN",
    ),
}
DCGM_COLUMNS = ["code", "enum", "title", "component", "root_cause", "action", "severity", "examples", "basis"]


def dcgm_rows() -> list[dict[str, str]]:
    """One row per DCGM error category, in dcgmErrorCategory_t order."""
    return [
        {
            "code": name,
            "enum": f"DCGM_FR_EC_{name}",
            "title": title,
            "component": tax.component,
            "root_cause": tax.root_cause,
            "action": tax.action,
            "severity": tax.severity,
            "examples": examples,
            "basis": tax.basis,
        }
        for name, (title, tax, examples) in DCGM_CATEGORIES.items()
    ]


# -- output --------------------------------------------------------------------------------------------
def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    """Write rows with a fixed column order and "\\n" line ends."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    """Write xid.csv, sxid.csv and dcgm_category.csv next to this script."""
    for name, columns, rows in (
        ("xid.csv", XID_COLUMNS, xid_rows()),
        ("sxid.csv", SXID_COLUMNS, sxid_rows()),
        ("dcgm_category.csv", DCGM_COLUMNS, dcgm_rows()),
    ):
        write_csv(OUT / name, columns, rows)
        print(f"{OUT / name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
