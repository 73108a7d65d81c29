"""Evidence as signals: the meaning and role given to test runs, device states and anomalies."""

from __future__ import annotations

import json

import polars as pl
import pytest

from triage.diagnose.signals import anomaly_signals, run_signals, state_signals
from triage.store import Store

EVIDENCE = pl.List(pl.Struct({"file_id": pl.Int32, "line_no": pl.Int64}))


def run(store: Store, test: str, status: str, detail: str, categories: list[str] | None = None) -> None:
    params = json.dumps({"error_categories": categories}) if categories else None
    store.append(
        "test_runs",
        pl.DataFrame(
            {"run_id": [1], "host": ["h"], "device": ["0000:3b:00.0"], "test": [test], "status": [status],
             "detail": [detail], "params": [params], "file_id": [4], "line_no": [12]}
        ),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("test", "status", "detail", "categories", "expected"),
    [
        pytest.param(
            "dcgm_diagnostic",
            "fail",
            "Found 14 NaN-value memory elements on GPU 6",
            ["HARDWARE_MEMORY"],
            ("gpu_hardware", "rma_gpu", "cause"),
            id="failure-text-beats-dcgm-category",
        ),
        pytest.param(
            "dcgm_targeted_power",
            "fail",
            "Power draw too low",
            ["HARDWARE_POWER"],
            ("thermal_power", "investigate", "cause"),
            id="dcgm-category-beats-test-name",
        ),
        pytest.param(
            "dcgm_memory",
            "fail",
            "Detected XID 79 for GPU 6",
            ["SOFTWARE_XID"],
            ("unknown", "investigate", "symptom"),
            id="dcgm-reporting-an-xid-is-a-symptom",
        ),
        pytest.param(
            "dcgm_memory",
            "fail",
            "GPU 3 had memory errors and row remappings are pending",
            None,
            ("gpu_memory", "reset_gpu", "cause"),
            id="test-name-when-nothing-else",
        ),
        pytest.param(
            "dcgm_memory",
            "fail",
            "GPU 3 had uncorrectable memory errors and row remapping failed.",
            None,
            ("gpu_memory", "rma_gpu", "cause"),
            id="row-remap-failed",
        ),
        pytest.param(
            "hpl", "fail", "||Ax-b|| ... FAILED", None, ("gpu_hardware", "rerun_test", "cause"), id="hpl-residual"
        ),
        pytest.param(
            "nccl_all_reduce",
            "error",
            "Cuda failure 'out of memory'",
            None,
            ("unknown", "investigate", "symptom"),
            id="aborted-run-is-a-symptom",
        ),
    ],
)
def test_test_run_meanings(
    store: Store, test: str, status: str, detail: str, categories: list[str] | None, expected: tuple
) -> None:
    run(store, test, status, detail, categories)
    (row,) = run_signals(store).rows(named=True)
    assert (row["root_cause"], row["action"], row["role"]) == expected
    assert (row["kind"], row["ref"], row["id"], row["evidence"]) == ("test", test, 1, [{"file_id": 4, "line_no": 12}])


def test_passed_runs_are_not_signals(store: Store) -> None:
    run(store, "dcgm_memory", "pass", "")
    assert run_signals(store).is_empty()


def smi(store: Store, rows: list[tuple[str, str, float, int]]) -> None:
    """rows: (device, metric, value, line_no) of one nvidia-smi snapshot of host h."""
    store.append(
        "measurements",
        pl.DataFrame(
            {"host": "h", "device": [r[0] for r in rows], "test": "nvidia_smi", "metric": [r[1] for r in rows],
             "value": [r[2] for r in rows], "file_id": 9, "line_no": [r[3] for r in rows]}
        ),
    )  # fmt: skip


def test_device_states_that_hold(store: Store) -> None:
    smi(
        store,
        [
            ("0000:3b:00.0", "remapped_rows_failure", 1, 40),
            ("0000:3b:00.0", "remapped_rows_pending", 0, 41),
            ("0000:3b:00.0", "pcie_width_current", 8, 50),
            ("0000:3b:00.0", "pcie_width_max", 16, 51),
            ("0000:5d:00.0", "pcie_width_current", 16, 60),
            ("0000:5d:00.0", "pcie_width_max", 16, 61),
        ],
    )
    rows = state_signals(store).sort("ref").select("device", "ref", "root_cause", "action", "text", "evidence").rows()
    assert rows == [
        ("0000:3b:00.0", "nvidia_smi:pcie_width_current", "pcie", "check_mechanicals",
         "PCIe link narrower than its maximum (8.0 of 16.0)", [{"file_id": 9, "line_no": 50}]),
        ("0000:3b:00.0", "nvidia_smi:remapped_rows_failure", "gpu_memory", "rma_gpu",
         "row remapping failed (no spare rows left)", [{"file_id": 9, "line_no": 40}]),
    ]  # fmt: skip


def test_anomaly_meanings_by_detector_metric_and_device(store: Store) -> None:
    store.append(
        "anomalies",
        pl.DataFrame(
            {"anomaly_id": [1, 2, 3, 4, 5], "host": "h",
             "device": [None, "0000:3b:00.0", "mlx5_2/1", "0000:3b:00.0", None],
             "detector": ["fleet_outlier", "fleet_outlier", "counter_rate", "baseline", "rare_template"],
             "metric": ["busbw", "pcie_width_current", "symbol_error", "temperature_gpu", "tpl-1"],
             "level": ["drain", "drain", "investigate", "monitor", "investigate"], "detail": "d", "evidence": None},
            schema_overrides={"evidence": EVIDENCE},
        ),
    )  # fmt: skip
    rows = anomaly_signals(store).sort("id").select("root_cause", "action", "severity", "role").rows()
    assert rows == [
        ("performance", "rerun_test", "error", "cause"),
        ("pcie", "check_mechanicals", "error", "cause"),
        ("infiniband_link", "investigate", "warning", "cause"),  # a rise short of the drain level: look first
        ("thermal_power", "check_mechanicals", "info", "cause"),
        ("unknown", "investigate", "info", "context"),
    ]
