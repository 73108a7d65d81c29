"""The known chains: what `decide` concludes from hand-made signals of one host."""

from __future__ import annotations

from datetime import datetime

import pytest

from triage.diagnose.decide import decide

GPU = "0000:5d:00.0"
GPU2 = "0000:ba:00.0"
PORT = "mlx5_2/1"
SWITCH = "0000:05:00.0"
T0 = datetime(2026, 11, 16, 7, 0, 0)

# ref -> (kind, component, root_cause, action, severity, role, text): what the rules and catalogs say
KNOWN = {
    "xid-13": ("finding", "software", "application", "restart_app", "warning", "cause", "Graphics Engine Exception"),
    "xid-31": ("finding", "software", "application", "restart_app", "warning", "cause", "GPU memory page fault"),
    "xid-43": ("finding", "software", "application", "restart_app", "warning", "cause", "GPU stopped processing"),
    "xid-48": ("finding", "gpu", "gpu_memory", "reset_gpu", "critical", "cause", "Double Bit ECC Error"),
    "xid-63": ("finding", "gpu", "gpu_memory", "reset_gpu", "warning", "cause", "Row remapping event"),
    "xid-64": ("finding", "gpu", "gpu_memory", "rma_gpu", "critical", "cause", "Row remapping failure"),
    "xid-74": ("finding", "gpu", "nvlink", "reset_gpu", "error", "cause", "NVLink error"),
    "xid-79": ("finding", "gpu", "gpu_hardware", "reboot_node", "critical", "cause", "GPU has fallen off the bus"),
    "xid-94": ("finding", "gpu", "gpu_memory", "restart_app", "warning", "cause", "Contained ECC error"),
    "xid-95": ("finding", "gpu", "gpu_memory", "reset_gpu", "error", "cause", "Uncontained ECC error"),
    "xid-119": ("finding", "gpu", "driver_firmware", "reset_gpu", "error", "cause", "GSP RPC timeout"),
    "xid-154": ("finding", "gpu", "driver_firmware", "none", "info", "context", "GPU recovery action changed"),
    "sxid-20034": ("finding", "nvswitch", "nvswitch", "reboot_node", "error", "cause", "SXid 20034 LTSSM Fault Up"),
    "pcie-aer-surprise-down": ("finding", "node", "pcie", "check_mechanicals", "critical", "cause", "Surprise Down"),
    "pcie-link-downtrained-width": ("finding", "node", "pcie", "check_mechanicals", "warning", "cause", "x8 link"),
    "pcie-aer-corrected": ("finding", "node", "pcie", "monitor", "info", "context", "AER corrected error"),
    "ib-link-flapping": ("finding", "cable", "infiniband_link", "replace_cable", "error", "cause", "link flapping"),
    "nccl-ib-retry-exceeded": ("finding", "cable", "infiniband_link", "investigate", "error", "cause", "NCCL retries"),
    "mlx5-health-synd-hardware": ("finding", "hca", "infiniband_hca", "rma_hca", "critical", "cause", "HCA HW error"),
    "gpu-library-crash": ("finding", "software", "application", "restart_app", "warning", "cause", "segfault"),
    "nccl-cuda-error": ("finding", "gpu", "unknown", "investigate", "error", "symptom", "NCCL CUDA error"),
    "edac-ue": ("finding", "dimm", "host_memory", "rma_dimm", "critical", "cause", "EDAC UE"),
    "mce-corrected": ("finding", "cpu", "host_hardware", "monitor", "warning", "cause", "Corrected machine check"),
    "nvidia_smi:gpu_unreachable": ("state", "gpu", "gpu_hardware", "investigate", "critical", "symptom", "lost"),
    "dcgm_diagnostic": ("test", "gpu", "gpu_hardware", "rma_gpu", "critical", "cause", "Found 14 NaN-value elements"),
    "dcgm_targeted_stress": ("test", "nvswitch", "nvswitch", "investigate", "error", "cause", "NvSwitch fatal"),
    "hpl": ("test", "node", "gpu_hardware", "rerun_test", "error", "cause", "residual FAILED"),
    "counter_rate:symbol_error": ("anomaly", "cable", "infiniband_link", "replace_cable", "error", "cause", "rose"),
    "fleet_outlier:busbw": ("anomaly", "node", "performance", "rerun_test", "error", "cause", "busbw 20% low"),
    "rare_template:tpl-1": ("anomaly", "node", "unknown", "investigate", "info", "context", "rare line"),
}


def sig(ref: str, device: str | None = None, count: int = 1, boots: int = 1, minute: int = 0, **kw: object) -> dict:
    kind, component, root_cause, action, severity, role, text = KNOWN[ref]
    row = {
        "host": "n1", "device": device, "kind": kind, "ref": ref, "id": len(ref), "component": component,
        "root_cause": root_cause, "action": action, "severity": severity, "role": role, "count": count,
        "boots": boots, "first_ts": T0.replace(minute=minute), "last_ts": T0.replace(minute=minute),
        "text": text, "fields": None, "evidence": [{"file_id": 1, "line_no": minute + 1}],
    }  # fmt: skip
    row.update(kw)
    return row


def verdicts(*signals: dict) -> list[tuple]:
    return [(v.device, v.root_cause, v.action, v.primary["ref"]) for v in decide("n1", list(signals))]


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        pytest.param(
            [sig("xid-48", GPU, 2), sig("xid-63", GPU, minute=1), sig("xid-94", GPU, 4, minute=2)],
            [(GPU, "gpu_memory", "reset_gpu", "xid-48")],
            id="hbm-48-63-94-pending-remap-reset",
        ),
        pytest.param(
            [sig("xid-48", GPU, 2), sig("xid-64", GPU, minute=1), sig("xid-95", GPU, minute=2)],
            [(GPU, "gpu_memory", "rma_gpu", "xid-64")],
            id="hbm-48-64-95-failed-remap-rma",
        ),
        pytest.param(
            [sig("xid-48", GPU, 3, boots=3)],
            [(GPU, "gpu_memory", "rma_gpu", "xid-48")],
            id="hbm-dbe-after-two-reboots-escalates",
        ),
        pytest.param([sig("xid-94", GPU)], [(GPU, "gpu_memory", "restart_app", "xid-94")], id="hbm-contained-alone"),
        pytest.param(
            [
                sig("pcie-aer-surprise-down", GPU2),
                sig("xid-79", GPU2, minute=1),
                sig("nvidia_smi:gpu_unreachable", GPU2),
            ],
            [(GPU2, "gpu_hardware", "rma_gpu", "xid-79")],
            id="off-the-bus-and-still-lost-rma",
        ),
        pytest.param(
            [sig("pcie-aer-surprise-down", GPU2), sig("xid-79", GPU2, minute=1)],
            [(GPU2, "gpu_hardware", "reboot_node", "xid-79")],
            id="off-the-bus-once-reboot",
        ),
        pytest.param(
            [
                sig("pcie-link-downtrained-width", GPU2),
                sig("pcie-aer-surprise-down", GPU2, minute=5),
                sig("xid-79", GPU2, minute=6),
            ],
            [(GPU2, "pcie", "check_mechanicals", "xid-79")],
            id="off-the-bus-after-link-degraded-is-pcie",
        ),
        pytest.param(
            [
                sig("pcie-aer-corrected", GPU2),
                sig("pcie-aer-surprise-down", GPU2, minute=5),
                sig("xid-79", GPU2, minute=6),
            ],
            [(GPU2, "gpu_hardware", "reboot_node", "xid-79")],
            id="off-the-bus-after-one-corrected-error-is-still-the-gpu",
        ),
        pytest.param(
            [
                sig("xid-31", GPU, 4),
                sig("xid-43", GPU, 4),
                sig("gpu-library-crash"),
                sig("xid-13", GPU2, 18),
                sig("dcgm_diagnostic", GPU2),
                sig("hpl"),
            ],
            [(GPU2, "gpu_hardware", "rma_gpu", "dcgm_diagnostic"), (GPU, "application", "restart_app", "xid-31")],
            id="hpl-failure-belongs-to-the-gpu-dcgm-blames-not-the-crashed-job",
        ),
        pytest.param(
            [sig("sxid-20034", SWITCH, 2, fields='{"sxid_severity":"Fatal"}'), sig("xid-74", GPU), sig("xid-74", GPU2)],
            [(SWITCH, "nvswitch", "rma_baseboard", "sxid-20034")],
            id="nvswitch-fatal-with-xid74-on-two-gpus",
        ),
        pytest.param(
            [sig("sxid-20034", SWITCH, fields='{"sxid_severity":"Fatal"}')],
            [(SWITCH, "nvswitch", "reboot_node", "sxid-20034")],
            id="nvswitch-fatal-alone-reboot",
        ),
        pytest.param(
            [
                sig("ib-link-flapping", PORT, 6),
                sig("counter_rate:symbol_error", PORT),
                sig("nccl-ib-retry-exceeded", PORT),
                sig("fleet_outlier:busbw"),
            ],
            [(PORT, "infiniband_link", "replace_cable", "ib-link-flapping")],
            id="ib-cable-explains-low-busbw",
        ),
        pytest.param(
            [sig("nccl-ib-retry-exceeded", PORT)],
            [(PORT, "infiniband_link", "investigate", "nccl-ib-retry-exceeded")],
            id="ib-nccl-errors-alone-investigate",
        ),
        pytest.param(
            [sig("mlx5-health-synd-hardware", PORT), sig("nccl-ib-retry-exceeded", PORT)],
            [(PORT, "infiniband_hca", "rma_hca", "mlx5-health-synd-hardware")],
            id="hca-hardware-syndrome",
        ),
        pytest.param(
            [sig("xid-119", GPU, 3), sig("xid-154", GPU, minute=2)],
            [(GPU, "driver_firmware", "reset_gpu", "xid-119")],
            id="gsp-timeouts-reset-first",
        ),
        pytest.param(
            [sig("xid-119", GPU, 6, boots=3)],
            [(GPU, "driver_firmware", "rma_gpu", "xid-119")],
            id="gsp-timeouts-after-reboots-rma",
        ),
        pytest.param([sig("xid-13", GPU)], [(GPU, "application", "none", "xid-13")], id="xid13-alone-no-blame"),
        pytest.param(
            [sig("xid-31", GPU, 6), sig("xid-43", GPU, 7), sig("gpu-library-crash")],
            [(GPU, "application", "restart_app", "xid-43")],
            id="app-errors-with-crash-restart-app",
        ),
        pytest.param(
            [sig("xid-13", GPU2, 18), sig("dcgm_diagnostic", GPU2), sig("hpl")],
            [(GPU2, "gpu_hardware", "rma_gpu", "dcgm_diagnostic")],
            id="xid13-repeated-with-dcgm-nan-rma",
        ),
        pytest.param(
            [sig("xid-13", GPU2, 6)],
            [(GPU2, "gpu_hardware", "rerun_test", "xid-13")],
            id="xid13-repeated-no-crash-suspect-gpu",
        ),
        pytest.param(
            [sig("edac-ue", "DIMM#0"), sig("mce-corrected", count=4)],
            [("DIMM#0", "host_memory", "rma_dimm", "edac-ue")],
            id="dimm-ue-with-its-machine-checks",
        ),
        pytest.param(
            [sig("fleet_outlier:busbw")],
            [(None, "performance", "rerun_test", "fleet_outlier:busbw")],
            id="performance-only-rerun",
        ),
        pytest.param(
            [sig("nccl-cuda-error")],
            [(None, "unknown", "investigate", "nccl-cuda-error")],
            id="symptom-alone-investigate",
        ),
        pytest.param([sig("rare_template:tpl-1")], [], id="context-alone-no-verdict"),
        pytest.param([], [], id="nothing"),
    ],
)
def test_chain(signals: list[dict], expected: list[tuple]) -> None:
    assert verdicts(*signals) == expected


def test_symptoms_and_context_fold_into_the_cause() -> None:
    (verdict,) = decide("n1", [sig("xid-79", GPU2), sig("nccl-cuda-error"), sig("rare_template:tpl-1")])
    assert [s["ref"] for s in verdict.signals] == ["xid-79", "nccl-cuda-error", "rare_template:tpl-1"]


def test_summaries_read_like_a_person_wrote_them() -> None:
    names = {GPU: "GPU 3 (0000:5d:00.0)"}
    signals = [sig("xid-48", GPU, 2), sig("xid-64", GPU, minute=1)]
    (verdict,) = decide("n1", signals, names)
    assert (
        verdict.summary
        == "Uncorrectable HBM ECC (XID 48) followed by a failed row remap (XID 64) on GPU 3 (0000:5d:00.0)"
    )
