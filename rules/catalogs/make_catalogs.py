"""Build the per-code catalog tables the catalog rules join to: xid.csv, sxid.csv, dcgm_category.csv,
dcgm_errors.csv.

Run from the repository root:  python rules/catalogs/make_catalogs.py

Inputs (read only, paths relative to the repository root):
  ../shared/reference/xid_catalog.csv     NVIDIA XID catalog: mnemonic, description, immediate and
                                          investigatory resolution bucket, legacy cause columns, GPUd
                                          action/severity (one row per code, 172 rows).
  ../shared/reference/field-catalogs.md   §6: the full SXid list (93 codes) with the Fabric Manager
                                          guide's class (parsed from its markdown table).
The 16 DCGM error categories of §10 are written out below (DCGM_CATEGORIES), with examples of
their DCGM_FR_* codes taken from DCGM's dcgmlib/src/dcgm_errors.c.
The 133 DCGM_FR_* error codes (DCGM_ERRORS, for dcgm_errors.csv) are transcribed from NVIDIA/DCGM at
commit 72fa3feaa67d716a75323a8f47c34ff3ee73f824: dcgmlib/src/dcgm_errors.c (dcgmErrorMeta[]: severity
and category per code) and dcgmlib/dcgm_errors.h (dcgmError_t: name and title per code). A code takes
the taxonomy of its category, its action and severity shaped by DCGM's severity (RESET -> reset_gpu,
ISOLATE at least error, MONITOR -> monitor at most warning, CONFIG at most warning).

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


# -- DCGM error codes ----------------------------------------------------------------------------------
# One row per dcgmError_t code (DCGM_FR_*), transcribed from NVIDIA/DCGM at commit
# 72fa3feaa67d716a75323a8f47c34ff3ee73f824: the code, severity and category of each entry of
# dcgmErrorMeta[] in dcgmlib/src/dcgm_errors.c, and the title from the enum's comment in
# dcgmlib/dcgm_errors.h ("NOT USED: DEPRECATED" there becomes "(deprecated)"). Codes run 0..132;
# DCGM_FR_ERROR_SENTINEL (133) ends the enum and is not an error, so it has no row.
# Columns: code, DCGM_FR_ name, DCGM category and severity, title.
DCGM_ERRORS = """
0 OK UNKNOWN NONE No error
1 UNKNOWN UNKNOWN NONE Unknown error code
2 UNRECOGNIZED UNKNOWN NONE Unrecognized error code
3 PCI_REPLAY_RATE ISOLATE HARDWARE_PCIE Unacceptable rate of PCI errors
4 VOLATILE_DBE_DETECTED ISOLATE HARDWARE_MEMORY Uncorrectable volatile double bit error
5 VOLATILE_SBE_DETECTED MONITOR HARDWARE_MEMORY Unacceptable rate of volatile single bit errors
6 PENDING_PAGE_RETIREMENTS RESET HARDWARE_MEMORY Pending page retirements detected
7 RETIRED_PAGES_LIMIT ISOLATE HARDWARE_MEMORY Unacceptable total page retirements detected
8 RETIRED_PAGES_DBE_LIMIT ISOLATE HARDWARE_MEMORY Unacceptable total page retirements due to uncorrectable errors
9 CORRUPT_INFOROM TRIAGE HARDWARE_OTHER Corrupt inforom found
10 CLOCKS_EVENT_THERMAL MONITOR HARDWARE_THERMAL Clocks being optimized for thermal performance
11 POWER_UNREADABLE MONITOR HARDWARE_POWER Cannot get a reading for power from NVML
12 CLOCKS_EVENT_POWER MONITOR HARDWARE_POWER Clock being optimized to meet the product's power limit requirements
13 NVLINK_ERROR_THRESHOLD ISOLATE HARDWARE_NVLINK Unacceptable rate of NVLink errors
14 NVLINK_DOWN TRIAGE HARDWARE_NVLINK NVLink is down
15 NVSWITCH_FATAL_ERROR ISOLATE HARDWARE_NVSWITCH Fatal errors on the NVSwitch
16 NVSWITCH_NON_FATAL_ERROR MONITOR HARDWARE_NVSWITCH Non-fatal errors on the NVSwitch
17 NVSWITCH_DOWN MONITOR HARDWARE_NVSWITCH NVSwitch is down (deprecated)
18 NO_ACCESS_TO_FILE CONFIG SOFTWARE_OTHER Cannot access a file
19 NVML_API MONITOR SOFTWARE_LIBRARY Error occurred on an NVML API (deprecated)
20 DEVICE_COUNT_MISMATCH CONFIG SOFTWARE_OTHER Disagreement in GPU count between /dev and NVML
21 BAD_PARAMETER UNKNOWN INTERNAL_OTHER Bad parameter passed to API
22 CANNOT_OPEN_LIB TRIAGE SOFTWARE_LIBRARY Cannot open a library that must be accessed
23 DENYLISTED_DRIVER CONFIG SOFTWARE_CONFIG A driver on the denylist (nouveau) is active
24 NVML_LIB_BAD ISOLATE SOFTWARE_LIBRARY NVML library is missing expected functions (deprecated)
25 GRAPHICS_PROCESSES RESET SOFTWARE_OTHER Graphics processes are active on this GPU
26 HOSTENGINE_CONN MONITOR INTERNAL_OTHER Bad connection to nv-hostengine (deprecated)
27 FIELD_QUERY MONITOR INTERNAL_OTHER Error querying a field from DCGM
28 BAD_CUDA_ENV CONFIG SOFTWARE_CUDA The environment has variables that hurt CUDA
29 PERSISTENCE_MODE CONFIG SOFTWARE_OTHER Persistence mode is disabled
30 LOW_BANDWIDTH TRIAGE HARDWARE_PCIE The bandwidth is unacceptably low
31 HIGH_LATENCY TRIAGE HARDWARE_PCIE Latency is too high
32 CANNOT_GET_FIELD_TAG MONITOR INTERNAL_OTHER Cannot find a tag for a field
33 FIELD_VIOLATION ISOLATE HARDWARE_OTHER The value for the specified error field is above 0
34 FIELD_THRESHOLD MONITOR PERF_VIOLATION The value for the specified field is above the threshold
35 FIELD_VIOLATION_DBL ISOLATE PERF_VIOLATION The value for the specified error field is above 0
36 FIELD_THRESHOLD_DBL ISOLATE PERF_VIOLATION The value for the specified field is above the threshold
37 UNSUPPORTED_FIELD_TYPE TRIAGE INTERNAL_OTHER Field type cannot be supported
38 FIELD_THRESHOLD_TS ISOLATE PERF_THRESHOLD The value for the specified field is above the threshold
39 FIELD_THRESHOLD_TS_DBL ISOLATE PERF_THRESHOLD The value for the specified field is above the threshold
40 THERMAL_VIOLATIONS MONITOR HARDWARE_THERMAL Thermal violations detected
41 THERMAL_VIOLATIONS_TS MONITOR HARDWARE_THERMAL Thermal violations detected with a timestamp
42 TEMP_VIOLATION MONITOR HARDWARE_THERMAL Temperature is too high
43 CLOCKS_EVENT_VIOLATION MONITOR HARDWARE_OTHER Non-benign clocks event is occurring
44 INTERNAL TRIAGE INTERNAL_OTHER An internal error was detected
45 PCIE_GENERATION TRIAGE HARDWARE_PCIE PCIe generation is too low
46 PCIE_WIDTH CONFIG HARDWARE_PCIE PCIe width is too low
47 ABORTED CONFIG SOFTWARE_OTHER Test was aborted by a user signal
48 TEST_DISABLED CONFIG SOFTWARE_CONFIG This test is disabled for this GPU
49 CANNOT_GET_STAT TRIAGE INTERNAL_OTHER Cannot get telemetry for a needed value
50 STRESS_LEVEL TRIAGE PERF_THRESHOLD Stress level is too low (bad performance)
51 CUDA_API MONITOR SOFTWARE_CUDA Error calling the specified CUDA API
52 FAULTY_MEMORY ISOLATE HARDWARE_MEMORY Faulty memory detected on this GPU
53 CANNOT_SET_WATCHES MONITOR INTERNAL_OTHER Unable to set field watches in DCGM (deprecated)
54 CUDA_UNBOUND TRIAGE SOFTWARE_CUDA CUDA context is no longer bound
55 ECC_DISABLED CONFIG HARDWARE_MEMORY ECC memory is disabled right now
56 MEMORY_ALLOC TRIAGE SOFTWARE_OTHER Cannot allocate memory on the GPU
57 CUDA_DBE ISOLATE HARDWARE_MEMORY CUDA detected unrecovable double-bit error
58 MEMORY_MISMATCH ISOLATE HARDWARE_MEMORY Memory error detected
59 CUDA_DEVICE TRIAGE SOFTWARE_CUDA No CUDA device discoverable for existing GPU
60 ECC_UNSUPPORTED CONFIG HARDWARE_MEMORY ECC memory is unsupported by this SKU
61 ECC_PENDING MONITOR HARDWARE_MEMORY ECC memory is in a pending state (deprecated)
62 MEMORY_BANDWIDTH TRIAGE PERF_THRESHOLD Memory bandwidth is too low
63 TARGET_POWER TRIAGE HARDWARE_POWER Cannot hit the target power draw
64 API_FAIL TRIAGE SOFTWARE_OTHER The specified API call failed
65 API_FAIL_GPU TRIAGE SOFTWARE_OTHER The specified API call failed for the specified GPU
66 CUDA_CONTEXT TRIAGE SOFTWARE_CUDA Cannot create a CUDA context on this GPU
67 DCGM_API TRIAGE INTERNAL_OTHER DCGM API failure
68 CONCURRENT_GPUS CONFIG SOFTWARE_CONFIG Need multiple GPUs to run this test
69 TOO_MANY_ERRORS MONITOR SOFTWARE_OTHER More errors than fit in the return struct (deprecated)
70 NVLINK_CRC_ERROR_THRESHOLD ISOLATE HARDWARE_NVLINK More than 100 CRC errors are happening per second
71 NVLINK_ERROR_CRITICAL ISOLATE HARDWARE_NVLINK NVLink error for a field that should always be 0
72 ENFORCED_POWER_LIMIT CONFIG HARDWARE_POWER The enforced power limit is too low to hit the target
73 MEMORY_ALLOC_HOST TRIAGE SOFTWARE_OTHER Cannot allocate memory on the host
74 GPU_OP_MODE MONITOR SOFTWARE_CONFIG Bad GPU operating mode for running plugin (deprecated)
75 NO_MEMORY_CLOCKS MONITOR HARDWARE_MEMORY No memory clocks with the needed MHz found (deprecated)
76 NO_GRAPHICS_CLOCKS MONITOR HARDWARE_OTHER No graphics clocks with the needed MHz found (deprecated)
77 HAD_TO_RESTORE_STATE TRIAGE SOFTWARE_OTHER Note that we had to restore a GPU's state
78 L1TAG_UNSUPPORTED CONFIG SOFTWARE_OTHER L1TAG test is unsupported by this SKU
79 L1TAG_MISCOMPARE ISOLATE HARDWARE_MEMORY L1TAG test failed on a miscompare
80 ROW_REMAP_FAILURE RESET HARDWARE_MEMORY Row remapping failed (Ampere or newer GPUs)
81 UNCONTAINED_ERROR ISOLATE SOFTWARE_XID Uncontained error - XID 95
82 EMPTY_GPU_LIST CONFIG SOFTWARE_CONFIG No GPU information given to plugin
83 DBE_PENDING_PAGE_RETIREMENTS RESET HARDWARE_MEMORY Pending page retirements due to a DBE
84 UNCORRECTABLE_ROW_REMAP RESET HARDWARE_MEMORY Uncorrectable row remapping
85 PENDING_ROW_REMAP RESET HARDWARE_MEMORY Row remapping is pending
86 BROKEN_P2P_MEMORY_DEVICE ISOLATE HARDWARE_OTHER P2P copy test detected an error writing to this GPU
87 BROKEN_P2P_WRITER_DEVICE ISOLATE HARDWARE_OTHER P2P copy test detected an error writing from this GPU
88 NVSWITCH_NVLINK_DOWN ISOLATE HARDWARE_NVLINK An NvLink is down for the specified NVSwitch (deprecated)
89 EUD_BINARY_PERMISSIONS TRIAGE SOFTWARE_EUD EUD binary permissions are incorrect
90 EUD_NON_ROOT_USER TRIAGE SOFTWARE_EUD EUD plugin is not running as root
91 EUD_SPAWN_FAILURE TRIAGE SOFTWARE_EUD EUD plugin failed to spawn the EUD binary
92 EUD_TIMEOUT TRIAGE SOFTWARE_EUD EUD plugin timed out
93 EUD_ZOMBIE TRIAGE SOFTWARE_EUD EUD process remains running after the plugin considers it finished
94 EUD_NON_ZERO_EXIT_CODE TRIAGE SOFTWARE_EUD EUD process exited with a non-zero exit code
95 EUD_TEST_FAILED ISOLATE SOFTWARE_EUD EUD test failed
96 FILE_CREATE_PERMISSIONS CONFIG SOFTWARE_CONFIG We cannot create a file in this directory.
97 PAUSE_RESUME_FAILED TRIAGE INTERNAL_OTHER Pause/Resume failed
98 PCIE_H_REPLAY_VIOLATION ISOLATE HARDWARE_PCIE PCIe test caught correctable errors
99 GPU_EXPECTED_NVLINKS_UP TRIAGE HARDWARE_NVLINK Expected nvlinks up per gpu
100 NVSWITCH_EXPECTED_NVLINKS_UP TRIAGE HARDWARE_NVLINK Expected nvlinks up per nvswitch
101 XID_ERROR TRIAGE SOFTWARE_XID XID error detected
102 SBE_VIOLATION ISOLATE HARDWARE_MEMORY Single bit error detected
103 DBE_VIOLATION ISOLATE HARDWARE_MEMORY Double bit error detected
104 PCIE_REPLAY_VIOLATION ISOLATE HARDWARE_PCIE PCIe replay errors detected
105 SBE_THRESHOLD_VIOLATION ISOLATE HARDWARE_MEMORY SBE threshold violated
106 DBE_THRESHOLD_VIOLATION ISOLATE HARDWARE_MEMORY DBE threshold violated
107 PCIE_REPLAY_THRESHOLD_VIOLATION ISOLATE HARDWARE_PCIE PCIE replay count violated
108 CUDA_FM_NOT_INITIALIZED MONITOR SOFTWARE_CUDA The fabricmanager is not initialized
109 SXID_ERROR ISOLATE SOFTWARE_XID NvSwitch fatal error detected
110 GFLOPS_THRESHOLD_VIOLATION TRIAGE PERF_VIOLATION GPU GFLOPs threshold violated
111 NAN_VALUE ISOLATE HARDWARE_MEMORY NaN value detected on this GPU
112 FABRIC_MANAGER_TRAINING_ERROR CONFIG SOFTWARE_CUDA Fabric Manager did not finish training
113 BROKEN_P2P_PCIE_MEMORY_DEVICE ISOLATE HARDWARE_PCIE P2P copy test detected an error writing to this GPU over PCIE
114 BROKEN_P2P_PCIE_WRITER_DEVICE ISOLATE HARDWARE_PCIE P2P copy test detected an error writing from this GPU over PCIE
115 BROKEN_P2P_NVLINK_MEMORY_DEVICE ISOLATE HARDWARE_NVLINK P2P copy test detected an error writing to this GPU over NVLink
116 BROKEN_P2P_NVLINK_WRITER_DEVICE ISOLATE HARDWARE_NVLINK P2P copy test detected an error writing from this GPU over NVLink
117 TEST_SKIPPED CONFIG SOFTWARE_CONFIG Indicates that the test was skipped
118 SRAM_THRESHOLD ISOLATE HARDWARE_MEMORY indicates SRAM Threshold Count exceeded
119 NVLINK_EFFECTIVE_BER_THRESHOLD ISOLATE HARDWARE_NVLINK indicates effective BER threshold exceeded
120 FALLEN_OFF_BUS ISOLATE HARDWARE_OTHER GPU has fallen off the bus
121 NVLINK_SYMBOL_BER_THRESHOLD ISOLATE HARDWARE_NVLINK indicates symbol BER threshold exceeded
122 IMEX_UNHEALTHY ISOLATE SOFTWARE_OTHER IMEX domain or daemon status is unhealthy
123 FABRIC_PROBE_STATE MONITOR HARDWARE_NVLINK Fabric probe state error
124 BINARY_PERMISSIONS TRIAGE SOFTWARE_OTHER Binary permissions are incorrect
125 GPU_RECOVERY_RESET RESET HARDWARE_OTHER GPU requires reset to recover from a fault
126 GPU_RECOVERY_REBOOT ISOLATE HARDWARE_OTHER Node requires reboot due to GPU fault
127 GPU_RECOVERY_DRAIN_P2P RESET HARDWARE_OTHER Peer-to-peer traffic must be drained
128 GPU_RECOVERY_DRAIN_RESET RESET HARDWARE_OTHER GPU operating at reduced capacity, drain and reset required
129 NCCL_ERROR RESET HARDWARE_OTHER Detected a NCCL error
130 RETEST_REQUESTED TRIAGE SOFTWARE_OTHER Retest requested before providing results
131 CONTAINED_ERROR MONITOR SOFTWARE_XID GPU contained error
132 UNCORRECTABLE_ROW_REMAP_LIMIT TRIAGE HARDWARE_MEMORY Uncorrectable row remap threshold exceeded
"""  # noqa: E501 (titles are kept whole)
# Codes 0-2 have no category (DCGM_FR_EC_NONE): nothing to act on.
DCGM_NO_CATEGORY = Taxonomy("software", "unknown", "none", "info", "no error category")
SEVERITY_ORDER = ["info", "warning", "error", "critical"]
# DCGM severity -> (action or None to keep the category's, lowest severity, highest severity, label).
DCGM_SEVERITY_RULES: dict[str, tuple[str | None, str, str, str]] = {
    "RESET": ("reset_gpu", "error", "critical", "RESET: drain and reset the GPU"),
    "ISOLATE": (None, "error", "critical", "ISOLATE: GPU unfit for work"),
    "MONITOR": ("monitor", "info", "warning", "MONITOR: keep working, watch it"),
    "CONFIG": (None, "info", "warning", "CONFIG: a configuration to fix"),
    "TRIAGE": (None, "info", "critical", "TRIAGE"),
    "UNKNOWN": (None, "info", "critical", "UNKNOWN"),
}
# code -> (root_cause, action, severity, basis) where the code says more than its category.
DCGM_ERROR_OVERRIDES: dict[int, tuple[str, str, str, str]] = {
    55: ("gpu_memory", "investigate", "warning", "ECC switched off: enable it and reboot, not a fault"),
    60: ("gpu_memory", "none", "info", "SKU without ECC: nothing to fix"),
    120: ("gpu_hardware", "reboot_node", "critical", "off the bus (like Xid 79): power cycle"),
    126: ("gpu_hardware", "reboot_node", "error", "the driver asks for a node reboot"),
}
DCGM_ERROR_COLUMNS = [
    "code", "name", "category", "dcgm_severity", "title",
    "component", "root_cause", "action", "severity", "basis",
]  # fmt: skip


def _clamp(severity: str, low: str, high: str) -> str:
    """`severity` moved into the range low..high of SEVERITY_ORDER."""
    rank = min(max(SEVERITY_ORDER.index(severity), SEVERITY_ORDER.index(low)), SEVERITY_ORDER.index(high))
    return SEVERITY_ORDER[rank]


def dcgm_error_row(line: str) -> dict[str, str]:
    """One row of dcgm_errors.csv from one line of DCGM_ERRORS: the category's taxonomy, shaped by the severity."""
    code, name, dcgm_severity, category, title = line.split(" ", 4)
    tax = DCGM_CATEGORIES[category][1] if category in DCGM_CATEGORIES else DCGM_NO_CATEGORY
    action, low, high, label = DCGM_SEVERITY_RULES[dcgm_severity]
    root_cause, action, severity = tax.root_cause, action or tax.action, _clamp(tax.severity, low, high)
    basis = f"category {category}; {label}"
    if int(code) in DCGM_ERROR_OVERRIDES:
        root_cause, action, severity, why = DCGM_ERROR_OVERRIDES[int(code)]
        basis = f"{basis}; override: {why}"
    return {
        "code": code,
        "name": f"DCGM_FR_{name}",
        "category": category,
        "dcgm_severity": dcgm_severity,
        "title": title,
        "component": tax.component,
        "root_cause": root_cause,
        "action": action,
        "severity": severity,
        "basis": basis,
    }


def dcgm_error_rows() -> list[dict[str, str]]:
    """Every DCGM_FR_* code 0..132, in code order."""
    rows = [dcgm_error_row(line) for line in DCGM_ERRORS.strip().splitlines()]
    if [int(r["code"]) for r in rows] != list(range(133)):
        raise ValueError("DCGM_ERRORS must list the codes 0..132 once each, in order")
    return rows


# -- output --------------------------------------------------------------------------------------------
def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    """Write rows with a fixed column order and "\\n" line ends."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    """Write xid.csv, sxid.csv, dcgm_category.csv and dcgm_errors.csv next to this script."""
    for name, columns, rows in (
        ("xid.csv", XID_COLUMNS, xid_rows()),
        ("sxid.csv", SXID_COLUMNS, sxid_rows()),
        ("dcgm_category.csv", DCGM_COLUMNS, dcgm_rows()),
        ("dcgm_errors.csv", DCGM_ERROR_COLUMNS, dcgm_error_rows()),
    ):
        write_csv(OUT / name, columns, rows)
        print(f"{OUT / name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
