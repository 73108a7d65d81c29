"""The real kernel logs in ../shared/realdata through the whole ingest: every line lands, every file is ok."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from triage.ingest import ingest
from triage.store import Store

REALDATA = Path(__file__).parents[2].parent / "shared" / "realdata"
KERNEL_LOGS = REALDATA / "kernel_logs"
if not KERNEL_LOGS.is_dir():
    pytest.skip(f"no real data at {KERNEL_LOGS}", allow_module_level=True)


def _line_count(path: Path) -> int:
    data = path.read_bytes()
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def test_every_real_kernel_log_line_lands(store: Store) -> None:
    expected = {
        f"{KERNEL_LOGS}/{p.relative_to(KERNEL_LOGS).as_posix()}": _line_count(p)
        for p in KERNEL_LOGS.rglob("*")
        if p.is_file()
    }

    summary = ingest(store, [str(KERNEL_LOGS)])

    assert summary.errors == []
    files = store.frame("SELECT path, status, lines, kind FROM files")
    assert dict(zip(files["path"], files["lines"], strict=True)) == expected
    assert set(files["status"]) == {"ok"}
    assert set(files["kind"]) == {"kernel_log"}
    per_file = store.frame("SELECT f.path, count(*) AS n FROM events e JOIN files f USING (file_id) GROUP BY f.path")
    assert dict(zip(per_file["path"], per_file["n"], strict=True)) == expected


def test_real_hosts_follow_the_folder_rule(store: Store) -> None:
    ingest(store, [str(KERNEL_LOGS)])

    hosts = store.frame("SELECT DISTINCT host FROM files ORDER BY host")["host"].to_list()
    # gpud/ is a first-level folder (one host); the two loose files are named after themselves.
    assert hosts == [
        "gpud",
        "gpud_test_code_embedded_kmsg_lines",
        "xid_format_reference_lines__vendor_docs_and_tickets",
    ]


# Every real test output, counter dump and inventory: its kind, and the few files a reader would call broken.
EXPECTED_KINDS = {
    "nccl_tests": {"nccl_tests"},
    "dcgm": {"dcgm"},
    "hpl": {"hpl"},
    "nvbandwidth": {"nvbandwidth"},
    "nvidia_smi": {"nvidia_smi", "nvlink", "text"},  # text: `nvidia-smi topo -m`, which nothing reads
    "fabric_manager": {"fabric_manager"},
    "aznhc": {"nhc", "kernel_log"},  # kernel_log: the syslogs with "lost carrier" flaps
}
EXPECTED_ERRORS = {
    "dcgm/issue_excerpts/DCGM-253__dcgmi_diag_dcgm4.2.3_4xL40S_26b9__pcie_fail_internal_error.txt":
        "line 48: the dcgmi diag table ends here without its closing border: the output is cut off",
    "dcgm/issue_excerpts/ml-engineering-debug__dcgmi_diag_r2_gpu_memory_fail_thermal_fragment.txt":
        "line 8: the dcgmi diag table ends here without its closing border: the output is cut off",
    "dcgm/issue_excerpts/ml-engineering-debug__dcgmi_diag_r3_xid64_rowremap_pending_fragment.txt":
        "line 6: the dcgmi diag table ends here without its closing border: the output is cut off",
    "infiniband/treydock_infiniband_exporter/perfquery/0x506b4b0300cc02a6.out": "empty file",
    "nvidia_smi/gpud_q/nvidia-smi-query.535.183.01.out.0.invalid":
        "line 91: output ends inside the section of GPU 00000000:53:00.0 (no 'Processes' section; 1 of 8 attached GPUs listed)",
}  # fmt: skip


def test_every_real_structured_file_is_read_by_its_kind(store: Store) -> None:
    ingest(store, [str(REALDATA)])
    files = store.frame("SELECT path, kind, status, error FROM files").with_columns(
        rel=pl.col("path").str.strip_prefix(f"{REALDATA}/")
    )
    for folder, kinds in EXPECTED_KINDS.items():
        seen = set(files.filter(pl.col("rel").str.starts_with(f"{folder}/"))["kind"])
        assert seen == kinds, folder
    infiniband = files.filter(pl.col("rel").str.starts_with("infiniband/") & (pl.col("kind") == "text"))
    assert {Path(p).parent.name for p in infiniband["rel"]} == {"ibnetdiscover", "ibswinfo", "superbench"}
    errors = files.filter(pl.col("status") != "ok")
    assert dict(zip(errors["rel"], errors["error"], strict=True)) == EXPECTED_ERRORS


def test_real_failures_are_runs_that_did_not_pass(store: Store) -> None:
    ingest(store, [str(REALDATA)])
    failed = store.frame(
        "SELECT test, status, count(*) AS n FROM test_runs WHERE status <> 'pass' GROUP BY ALL ORDER BY ALL"
    )
    assert failed.rows() == [
        ("dcgm_deployment", "fail", 1),  # row remap pending fragment
        ("dcgm_memory", "fail", 9),  # 8 GPUs cuInit (nccl-tests#264), GPU 0 thermal fragment
        ("dcgm_pcie", "fail", 2),  # DCGM#253 on L40S and B200
        ("dcgm_sm_stress", "fail", 3),  # vendor 3.x JSON, GPUs 0, 2, 3
        ("dcgm_software", "fail", 1),  # GB10 JSON
        ("hpl", "error", 1),  # CUBLAS initialization failed
        ("ibqueryerrors", "fail", 1),  # SX6036 link errors
        ("ibstat", "error", 1),  # ibpanic for mlx5_8
        ("ibstat", "fail", 8),  # ports Down/Disabled or Down/Polling
        ("nccl_all_reduce", "error", 1),  # OpenMPI: not enough slots
        ("nccl_all_reduce", "fail", 2),  # DCGM mocks: OOB values, bandwidth below minimum
        ("nhc", "error", 1),  # No results reported
        ("nhc_check_cuda_bw", "fail", 2),
        ("nhc_check_fs_used", "fail", 3),
        ("nhc_check_gpu_ecc", "fail", 1),
        ("nhc_check_gpu_xid", "fail", 1),
        ("nhc_check_hw_ib", "fail", 1),
        ("nhc_check_nccl_allreduce_ib_loopback", "fail", 1),
    ]
