"""What each kind of evidence means when no rule says it: anomalies, nvidia-smi states, test runs.

Findings carry their meaning from the rule that fired (taxonomy values in the rule file). The
other evidence does not, so this module gives it one, as small tables a reader can check:

- `ANOMALY_MEANINGS`: a detector's anomaly on a metric (a low busbw is a performance question,
  a narrow PCIe link a seating question, a hot GPU a cooling question).
- `STATE_CHECKS`: device states an nvidia-smi dump reports (row remap failed or pending, reset
  required, thermal slowdown active, PCIe link narrower than its maximum, GPU unreachable).
- `TEST_MEANINGS`: failed or aborted test runs, by test name and the failure text (DCGM's own
  error categories, when the JSON output gives them, win: `rules/catalogs/dcgm_category.csv`).

Every entry has a role: `cause` evidence can be the primary reason of a verdict; a `symptom`
(an aborted NCCL run, a DCGM test that only reports an XID) explains nothing by itself and is
folded into the cause it follows from; `context` (rare log templates, multivariate outliers,
informational findings) is listed as related and never decides anything.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from triage.paths import default_rules_dir

CAUSE, SYMPTOM, CONTEXT = "cause", "symptom", "context"


@dataclass(frozen=True)
class Meaning:
    """Taxonomy values and role of one kind of evidence."""

    component: str
    root_cause: str
    action: str
    severity: str
    role: str = CAUSE


# (detector, metric prefix or exact name, device kind, meaning). First match wins; "*" matches any.
# Device kinds: gpu (a PCI address), pair (`a->b`), hca (`mlx5_N/P`), node (no device), any.
ANOMALY_MEANINGS: tuple[tuple[str, str, str, Meaning], ...] = (
    ("rare_template", "*", "any", Meaning("node", "unknown", "investigate", "info", CONTEXT)),
    ("isolation_forest", "*", "any", Meaning("node", "unknown", "investigate", "info", CONTEXT)),
    ("counter_rate", "nvlink_", "any", Meaning("gpu", "nvlink", "reset_gpu", "error")),
    ("counter_rate", "pcie_replay", "any", Meaning("gpu", "pcie", "investigate", "warning")),
    ("counter_rate", "*", "any", Meaning("cable", "infiniband_link", "replace_cable", "error")),
    ("*", "rate", "hca", Meaning("hca", "infiniband_link", "investigate", "error")),
    ("*", "pcie_width_current", "gpu", Meaning("gpu", "pcie", "check_mechanicals", "error")),
    ("*", "pcie_replay_count", "gpu", Meaning("gpu", "pcie", "investigate", "warning")),
    ("*", "host_to_device", "gpu", Meaning("gpu", "pcie", "check_mechanicals", "warning")),
    ("*", "device_to_host", "gpu", Meaning("gpu", "pcie", "check_mechanicals", "warning")),
    ("*", "h2d_", "gpu", Meaning("gpu", "pcie", "check_mechanicals", "warning")),
    ("*", "d2h_", "gpu", Meaning("gpu", "pcie", "check_mechanicals", "warning")),
    ("*", "bidir_", "gpu", Meaning("gpu", "pcie", "check_mechanicals", "warning")),
    ("*", "*", "node", Meaning("node", "performance", "rerun_test", "warning")),
    ("*", "device_to_device", "any", Meaning("gpu", "nvlink", "investigate", "warning")),
    ("*", "temperature", "gpu", Meaning("gpu", "thermal_power", "check_mechanicals", "warning")),
    ("*", "ecc_volatile_correctable", "gpu", Meaning("gpu", "gpu_memory", "monitor", "warning")),
    ("*", "*", "any", Meaning("node", "performance", "investigate", "warning")),
)

# Anomaly level -> severity, and for counter rates the action (a drain-level rise is a cable to replace).
LEVEL_SEVERITY = {"monitor": "info", "investigate": "warning", "drain": "error"}


@dataclass(frozen=True)
class StateCheck:
    """A device state read from a measurement: `metric op value` (or `metric < other metric`)."""

    test: str
    metric: str
    op: str  # ">" or "<"
    value: float | None
    other: str | None  # compare with this metric of the same device and snapshot instead of `value`
    title: str
    meaning: Meaning


STATE_CHECKS: tuple[StateCheck, ...] = (
    StateCheck(
        "nvidia_smi", "remapped_rows_failure", ">", 0, None,
        "row remapping failed (no spare rows left)", Meaning("gpu", "gpu_memory", "rma_gpu", "critical"),
    ),
    StateCheck(
        "nvidia_smi", "remapped_rows_pending", ">", 0, None,
        "row remapping pending (a reset applies it)", Meaning("gpu", "gpu_memory", "reset_gpu", "error"),
    ),
    StateCheck(
        "nvidia_smi", "ecc_volatile_uncorrectable", ">", 0, None,
        "uncorrectable ECC errors since the driver loaded", Meaning("gpu", "gpu_memory", "reset_gpu", "error"),
    ),
    StateCheck(
        "nvidia_smi", "gpu_reset_required", ">", 0, None,
        "the driver asks for a GPU reset", Meaning("gpu", "driver_firmware", "reset_gpu", "error", SYMPTOM),
    ),
    StateCheck(
        "nvidia_smi", "gpu_recovery_action", ">", 0, None,
        "a GPU recovery action is pending", Meaning("gpu", "driver_firmware", "reset_gpu", "error", SYMPTOM),
    ),
    StateCheck(
        "nvidia_smi", "clocks_event_hw_thermal_slowdown", ">", 0, None,
        "hardware thermal slowdown active", Meaning("gpu", "thermal_power", "check_mechanicals", "warning"),
    ),
    StateCheck(
        "nvidia_smi", "clocks_event_sw_thermal_slowdown", ">", 0, None,
        "software thermal slowdown active", Meaning("gpu", "thermal_power", "check_mechanicals", "warning"),
    ),
    StateCheck(
        "nvidia_smi", "pcie_width_current", "<", None, "pcie_width_max",
        "PCIe link narrower than its maximum", Meaning("gpu", "pcie", "check_mechanicals", "warning"),
    ),
    StateCheck(
        "nvidia_smi", "gpu_unreachable", ">", 0, None,
        "the GPU does not answer nvidia-smi", Meaning("gpu", "gpu_hardware", "investigate", "critical", SYMPTOM),
    ),
)  # fmt: skip


# (test prefix, failure-text fragment (lowercase) or "", meaning). Entries with a fragment are tried
# first, then DCGM's error category (JSON output), then the entries without one; first match wins.
# Runs with status `error` (aborted, never judged the hardware) are symptoms whatever the test.
TEST_MEANINGS: tuple[tuple[str, str, Meaning], ...] = (
    ("dcgm", "nvswitch", Meaning("nvswitch", "nvswitch", "investigate", "error")),
    ("dcgm", "detected xid", Meaning("gpu", "unknown", "investigate", "warning", SYMPTOM)),
    ("dcgm", "gpu is lost", Meaning("gpu", "gpu_hardware", "investigate", "error", SYMPTOM)),
    ("dcgm", "requires reset", Meaning("gpu", "driver_firmware", "reset_gpu", "error", SYMPTOM)),
    ("dcgm", "nvml", Meaning("software", "driver_firmware", "investigate", "warning", SYMPTOM)),
    ("dcgm_page_retirement", "", Meaning("gpu", "gpu_memory", "reset_gpu", "error")),
    ("dcgm_memory", "row remapping failed", Meaning("gpu", "gpu_memory", "rma_gpu", "critical")),
    ("dcgm_memory", "", Meaning("gpu", "gpu_memory", "reset_gpu", "error")),
    ("dcgm_pcie", "", Meaning("gpu", "pcie", "check_mechanicals", "error")),
    ("dcgm_nvlink", "", Meaning("gpu", "nvlink", "reset_gpu", "error")),
    ("dcgm", "nan", Meaning("gpu", "gpu_hardware", "rma_gpu", "critical")),
    ("dcgm", "", Meaning("gpu", "gpu_hardware", "rerun_test", "error")),
    ("hpl", "failed", Meaning("node", "gpu_hardware", "rerun_test", "error")),
    ("ibstat", "", Meaning("hca", "infiniband_link", "investigate", "error")),
    ("nhc", "", Meaning("node", "unknown", "investigate", "warning")),
    ("", "", Meaning("node", "unknown", "investigate", "warning", SYMPTOM)),
)


# DCGM error categories whose failures only report what something else caused.
_DCGM_SYMPTOMS = frozenset({"SOFTWARE_XID", "SOFTWARE_OTHER", "SOFTWARE_LIBRARY", "SOFTWARE_CUDA", "INTERNAL_OTHER"})


def category_meaning(category: str) -> Meaning | None:
    """The meaning of a failed DCGM test from its error category (`rules/catalogs/dcgm_category.csv`)."""
    row = _dcgm_categories().get(category)
    if row is None:
        return None
    role = SYMPTOM if category in _DCGM_SYMPTOMS else CAUSE
    return Meaning(row["component"], row["root_cause"], row["action"], row["severity"], role)


@cache
def _dcgm_categories() -> dict[str, dict[str, str]]:
    with (default_rules_dir() / "catalogs" / "dcgm_category.csv").open(newline="", encoding="utf-8") as handle:
        return {row["code"]: row for row in csv.DictReader(handle)}
