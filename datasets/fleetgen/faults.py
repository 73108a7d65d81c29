"""The faults the generator injects, how often, the verdict each should get, and what each leaves behind.

Weights follow the published burn-in failure mix (about 30% of failures a faulty GPU, 17% HBM,
8% network cable or switch port, 4% GSP, 2% NIC; the rest host DRAM, PCIe, thermal, NVSwitch,
software and application errors, and performance-only nodes). Every kind writes the whole chain
a real fault leaves in several files, listed in `CHAINS` (and in datasets/README.md); the writer
of each artifact implements its part.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from fleetgen.model import Dimm, Fault, Gpu, Hca, Node, NvSwitch


@dataclass(frozen=True)
class Kind:
    """A fault kind: share of all failures, the part it hits, and its verdict."""

    name: str
    weight: float  # percent of failures
    target: str  # gpu, hca, nvswitch, dimm or node
    root_cause: str
    action: str


KINDS: list[Kind] = [
    Kind("gpu_fallen_off_bus", 15, "gpu", "gpu_hardware", "rma_gpu"),
    Kind("gpu_diag_failure", 15, "gpu", "gpu_hardware", "rma_gpu"),
    Kind("hbm_remap_failure", 9, "gpu", "gpu_memory", "rma_gpu"),
    Kind("hbm_remap_pending", 8, "gpu", "gpu_memory", "reset_gpu"),
    Kind("ib_cable", 8, "hca", "infiniband_link", "replace_cable"),
    Kind("gsp_timeout", 4, "gpu", "driver_firmware", "reset_gpu"),
    Kind("hca_failure", 2, "hca", "infiniband_hca", "rma_hca"),
    Kind("dimm_uncorrectable", 7, "dimm", "host_memory", "rma_dimm"),
    Kind("pcie_downtrained", 7, "gpu", "pcie", "check_mechanicals"),
    Kind("gpu_thermal", 7, "gpu", "thermal_power", "check_mechanicals"),
    Kind("nvswitch_fatal", 4, "nvswitch", "nvswitch", "rma_baseboard"),
    Kind("driver_mismatch", 4, "node", "driver_firmware", "reboot_node"),
    Kind("application_error", 5, "gpu", "application", "restart_app"),
    Kind("performance", 5, "node", "performance", "rerun_test"),
]
BY_NAME = {kind.name: kind for kind in KINDS}

# What each fault leaves behind, per artifact (the writers implement these; README repeats them).
CHAINS: dict[str, dict[str, str]] = {
    "gpu_fallen_off_bus": {
        "kernel": "AER uncorrected fatal / Surprise Down on the GPU's root port, then XID 79 and "
        "'GPU has fallen off the bus' on the GPU",
        "nvidia_smi": "the GPU is missing: 7 of 8 attached GPUs, 'Unable to determine the device handle' line",
        "dcgm": "the diagnostic cannot reach the GPU: its tests fail with a GPU-lost error",
        "nccl": "run aborts: NCCL WARN Cuda failure 'unspecified launch failure' (status error)",
        "hpl": "run aborts with a CUDA error (status error)",
        "nvbandwidth": "the GPU's rows and columns are missing / the run errors",
    },
    "gpu_diag_failure": {
        "kernel": "XID 13 (Graphics Engine Exception) repeated on the same GPU during burn-in",
        "dcgm": "diagnostic / targeted_stress test fails on the GPU",
        "hpl": "residual check FAILED",
    },
    "hbm_remap_failure": {
        "kernel": "XID 48 (DBE), then XID 64 (row remap failure), then XID 95 (uncontained) on the job",
        "nvidia_smi": "volatile and aggregate uncorrectable ECC > 0, remapped rows uncorrectable > 0, failure Yes",
        "dcgm": "memory test fails on the GPU",
    },
    "hbm_remap_pending": {
        "kernel": "XID 48 (DBE), then XID 63 (row remap pending), then XID 94 (contained) on the job",
        "nvidia_smi": "uncorrectable ECC > 0, remapped rows uncorrectable > 0, pending Yes",
        "dcgm": "memory test fails on the GPU (pending row remap)",
    },
    "ib_cable": {
        "kernel": "ibN lost carrier / gained carrier flaps (systemd-networkd or kernel), mlx5 port module events",
        "ib_counters": "symbol_error and link_error_recovery rise between the before and after snapshots, "
        "link_downed rises by a few",
        "nccl": "NCCL WARN NET/IB completion errors naming the HCA, busbw about 10% low",
    },
    "gsp_timeout": {
        "kernel": "XID 119 (GSP RPC timeout) several times, then XID 154 recovery action 'Reset Required'",
        "nvidia_smi": "GPU Recovery Action: Reset Required",
        "dcgm": "tests on the GPU fail with a GSP/NVML error",
    },
    "hca_failure": {
        "kernel": "mlx5 device's health compromised, health syndrome, recovery failed",
        "ib_status": "the port is Down/Disabled in ibstat",
        "ib_counters": "state DOWN, phys_state Disabled in the after snapshot",
        "nccl": "NCCL WARN NET/IB async fatal event: local catastrophic error on the HCA",
    },
    "dimm_uncorrectable": {
        "kernel": "EDAC uncorrected errors (UE) on the DIMM and a machine check event, after a few CEs",
    },
    "pcie_downtrained": {
        "kernel": "AER corrected errors (Receiver Error, Bad TLP) on the GPU's root port, link downtrained",
        "nvidia_smi": "PCIe link width current 8x of max 16x (or gen 3 of 5), replay count high",
        "nvbandwidth": "host<->device bandwidth of the GPU about half the others",
    },
    "gpu_thermal": {
        "nvidia_smi": "HW/SW thermal slowdown Active, GPU temperature near the slowdown limit",
        "hpl": "Gflops about 15% low (HPL waits for its slowest GPU)",
    },
    "nvswitch_fatal": {
        "kernel": "SXid fatal (e.g. 20034) on the NVSwitch, XID 74 (NVLink error) on several GPUs",
        "nccl": "busbw far below normal or the run aborts",
        "dcgm": "NVLink/NVSwitch errors on the GPUs' tests",
    },
    "driver_mismatch": {
        "kernel": "NVRM: API mismatch between client and kernel module versions",
        "nvidia_smi": "Failed to initialize NVML: Driver/library version mismatch",
        "dcgm": "diagnostic cannot start (NVML error)",
        "nccl": "run aborts (CUDA driver version is insufficient)",
        "hpl": "run aborts (CUDA error)",
        "nvbandwidth": "run aborts",
    },
    "application_error": {
        "kernel": "XID 31 (MMU fault) and XID 43 from a user job on one GPU, repeated, and its segfault",
        "nccl": "NCCL WARN Cuda failure 'out of memory' in one run (status error)",
    },
    "performance": {
        "nccl": "busbw about 20% below the fleet, nothing else (logs normal)",
    },
}

# Benign noise on healthy (and faulty) nodes: hard negatives a good triage must not blame.
NOISE = {
    "app_xid": "one XID 13, 31 or 43 from a user application (pid and process name of a job)",
    "aer_corrected": "a few corrected PCIe AER errors on one root port (below any burst threshold)",
    "access_reg": "boot-time mlx5 ACCESS_REG(0x805) command failures",
    "reboot": "the kernel log spans a reboot (a second boot)",
    "link_error_recovery_tick": "one link_error_recovery tick on one port between the snapshots",
}


def draw_kind(rng: random.Random) -> Kind:
    """A fault kind drawn from the mix."""
    return rng.choices(KINDS, weights=[k.weight for k in KINDS])[0]


def make_fault(kind: Kind, node: Node, rng: random.Random, taken: set[str]) -> Fault:
    """A fault of `kind` on a part of `node` that no other fault of the node uses."""
    candidates: list[Gpu | Hca | NvSwitch | Dimm | None]
    if kind.target == "gpu":
        candidates = list(node.gpus)
    elif kind.target == "hca":
        candidates = list(node.hcas)
    elif kind.target == "nvswitch":
        candidates = list(node.nvswitches)
    elif kind.target == "dimm":
        candidates = list(node.dimms)
    else:
        candidates = [None]
    free = [c for c in candidates if _key(c) not in taken] or candidates
    target = rng.choice(free)
    taken.add(_key(target))
    return Fault(kind.name, target, kind.root_cause, kind.action)


def _key(target: Gpu | Hca | NvSwitch | Dimm | None) -> str:
    if target is None:
        return "node"
    return getattr(target, "bdf", None) or getattr(target, "label", "")
