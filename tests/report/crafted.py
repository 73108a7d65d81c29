"""A small store written row by row, whose report every test of tests/report asserts exactly.

node-a  faulty   GPU 0000:3b:00.0: XID 48 x2 (07:12:03, and 07:40:10 after a reboot) + XID 63,
                 dcgm_memory failed -> gpu_memory / rma_gpu; and a node-level application fault
node-b  faulty   HCA port mlx5_2/1: symbol errors rising, link down -> infiniband_link / replace_cable
node-c  healthy  a clean kernel log
node-d  suspect  corrected machine checks -> host_hardware / monitor
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from triage.store import Store

GEN = datetime(2026, 11, 22, 10, 0, 0)
GPU = "0000:3b:00.0"
UUID = "GPU-11111111-2222-3333-4444-555555555555"
SERIAL = "1654321098765"
GUID = "0xa088c203313ae1d9"


def t(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 11, 16, hh, mm, ss)


FILES = [
    (1, "fleet/node-a/dmesg.log", "node-a", "kernel_log"),
    (2, "fleet/node-a/nvidia-smi-q.txt", "node-a", "nvidia_smi"),
    (3, "fleet/node-a/dcgm.txt", "node-a", "dcgm"),
    (4, "fleet/node-b/ibstat.txt", "node-b", "ib_status"),
    (5, "fleet/node-b/counters.txt", "node-b", "ib_counters"),
    (6, "fleet/node-c/dmesg.log", "node-c", "kernel_log"),
    (7, "fleet/node-d/kern.log", "node-d", "kernel_log"),
]
XID48_1 = (
    "NVRM: Xid (PCI:0000:3b:00): 48, pid=1234, name=python, An uncorrectable double bit error (DBE) has been detected"
)
XID63 = "NVRM: Xid (PCI:0000:3b:00): 63, pid=1234, name=python, Row Remapper: New row marked for remapping, reset gpu to activate."
RESET = "sudo: root : TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/usr/bin/nvidia-smi -r -i 2"
XID48_2 = (
    "NVRM: Xid (PCI:0000:3b:00): 48, pid=2345, name=python, An uncorrectable double bit error (DBE) has been detected"
)
EVENTS = [
    # host, file_id, line_no, ts, boot, source, message
    ("node-a", 1, 1, t(7, 0), 0, "kernel_log", "Linux version 5.15.0-105-generic"),
    ("node-a", 1, 2, t(7, 12, 3), 0, "kernel_log", XID48_1),
    ("node-a", 1, 3, t(7, 12, 3), 0, "kernel_log", XID63),
    ("node-a", 1, 4, t(7, 20), 0, "kernel_log", RESET),
    ("node-a", 1, 5, t(7, 30), 1, "kernel_log", "Linux version 5.15.0-105-generic"),
    ("node-a", 1, 6, t(7, 40, 10), 1, "kernel_log", XID48_2),
    ("node-a", 2, 1, None, None, "nvidia_smi", "GPU 00000000:3B:00.0"),
    ("node-a", 3, 1, None, None, "dcgm", "Memory ..................... Pass"),
    ("node-a", 3, 7, None, None, "dcgm", "Memory ..................... Fail - GPU 2 had uncorrectable memory errors"),
    ("node-b", 4, 5, None, None, "ib_status", "State: Down"),
    ("node-b", 5, 3, None, None, "ib_counters", "symbol_error: 1322"),
    ("node-c", 6, 1, t(6, 0), 0, "kernel_log", "Linux version 5.15.0-105-generic"),
    ("node-d", 7, 1, t(9, 0), 0, "kernel_log", "mce: [Hardware Error]: Machine check events logged"),
]
ASSETS = [
    # host, kind, device, index, pci_bdf, uuid, serial, part_number, model, firmware, driver, file_id, line_no
    ("node-a", "gpu", GPU, None, GPU, UUID, SERIAL, None, None, None, None, 1, 2),
    ("node-a", "gpu", GPU, 7, GPU, None, None, None, "H100", None, None, 3, 1),  # a less trusted source, wrong index
    ("node-a", "gpu", GPU, 2, GPU, UUID, SERIAL, "692-2G520-0200-000", "NVIDIA H100 80GB HBM3", "96.00.74.00.01",
     "550.54.15", 2, 1),
    ("node-a", "node", None, None, None, "0x0ff08c4321664e96", "NODE-SN-1", None, None, None, None, 2, 1),
    ("node-b", "hca", "mlx5_2/1", None, None, GUID, None, None, "MT4129", "28.39.1002", None, 4, 5),
    ("node-b", "hca", "mlx5_2/1", None, None, GUID, None, "MT_0000000838", "MT4129", "28.39.1002", None, 5, 3),
]  # fmt: skip
EVIDENCE = pl.List(pl.Struct({"file_id": pl.Int32, "line_no": pl.Int64}))


def ev(*refs: tuple[int, int]) -> list[dict[str, int]]:
    return [{"file_id": f, "line_no": n} for f, n in refs]


FINDINGS = [
    {"finding_id": 1, "host": "node-a", "device": GPU, "rule_id": "xid-48", "root_cause": "gpu_memory",
     "component": "gpu", "action": "reset_gpu", "severity": "critical", "count": 2, "first_ts": t(7, 12, 3),
     "last_ts": t(7, 40, 10), "fields": "{}", "evidence": ev((1, 2), (1, 6))},
    {"finding_id": 2, "host": "node-a", "device": GPU, "rule_id": "xid-63", "root_cause": "gpu_memory",
     "component": "gpu", "action": "reset_gpu", "severity": "warning", "count": 1, "first_ts": t(7, 12, 3),
     "last_ts": t(7, 12, 3), "fields": "{}", "evidence": ev((1, 3))},
    {"finding_id": 3, "host": "node-b", "device": "mlx5_2/1", "rule_id": "ib-link-down",
     "root_cause": "infiniband_link", "component": "cable", "action": "monitor", "severity": "warning", "count": 1,
     "first_ts": None, "last_ts": None, "fields": "{}", "evidence": ev((4, 5))},
]  # fmt: skip
ANOMALIES = [
    {"anomaly_id": 1, "host": "node-b", "device": "mlx5_2/1", "detector": "counter_rate", "metric": "symbol_error",
     "value": 1133.0, "baseline": 120.0, "score": 9.4, "threshold": 1.0, "cohort": "ib",
     "detail": "symbol_error rose by 1322 in 1.17 h (1133/h, threshold 120/h)", "level": "drain",
     "evidence": ev((5, 3))},
]  # fmt: skip
RUNS = [
    {"run_id": 1, "host": "node-a", "device": GPU, "test": "dcgm_memory", "status": "fail",
     "detail": "GPU 2 had uncorrectable memory errors", "file_id": 3, "line_no": 7},
    {"run_id": 2, "host": "node-a", "device": GPU, "test": "dcgm_memory", "status": "pass", "detail": None,
     "file_id": 3, "line_no": 1},
]  # fmt: skip
DIAGNOSES = [
    {"diagnosis_id": 1, "host": "node-a", "device": None, "component": "software", "root_cause": "application",
     "action": "restart_app", "severity": "warning", "confidence": 0.5,
     "summary": "XID 13 in the application, not the node", "primary_finding": None, "related": [],
     "first_ts": None, "last_ts": None, "finding_ids": [], "anomaly_ids": [], "run_ids": []},
    {"diagnosis_id": 2, "host": "node-a", "device": GPU, "component": "gpu", "root_cause": "gpu_memory",
     "action": "rma_gpu", "severity": "critical", "confidence": 0.95,
     "summary": "Uncorrectable HBM ECC (XID 48) twice, across a reboot, on GPU 2",
     "primary_finding": "xid-48", "related": ["xid-63", "dcgm_memory"], "first_ts": t(7, 12, 3),
     "last_ts": t(7, 40, 10), "finding_ids": [1, 2], "anomaly_ids": [], "run_ids": [1]},
    {"diagnosis_id": 3, "host": "node-b", "device": "mlx5_2/1", "component": "cable",
     "root_cause": "infiniband_link", "action": "replace_cable", "severity": "error", "confidence": 0.8,
     "summary": "Symbol errors rising and the link went down on mlx5_2/1", "primary_finding": "counter_rate",
     "related": ["ib-link-down"], "first_ts": None, "last_ts": None, "finding_ids": [3], "anomaly_ids": [1],
     "run_ids": []},
    {"diagnosis_id": 4, "host": "node-d", "device": None, "component": "cpu", "root_cause": "host_hardware",
     "action": "monitor", "severity": "warning", "confidence": 0.4,
     "summary": "Corrected machine-check errors", "primary_finding": "mce-corrected", "related": [],
     "first_ts": t(9, 0), "last_ts": t(9, 0), "finding_ids": [], "anomaly_ids": [], "run_ids": []},
]  # fmt: skip
LIST_COLUMNS = {
    "related": pl.List(pl.String),
    "finding_ids": pl.List(pl.Int64),
    "anomaly_ids": pl.List(pl.Int64),
    "run_ids": pl.List(pl.Int64),
}


def add_files(store: Store) -> None:
    store.append(
        "files",
        pl.DataFrame(FILES, schema=["file_id", "path", "host", "kind"], orient="row").with_columns(
            pl.lit("ok").alias("status")
        ),
    )


def craft(store: Store, diagnoses: bool = True) -> Store:
    """Write the crafted rows into `store` (with or without the diagnoses) and return it."""
    add_files(store)
    store.append(
        "events",
        pl.DataFrame(
            EVENTS,
            schema={"host": pl.String, "file_id": pl.Int32, "line_no": pl.Int64, "ts": pl.Datetime("us"),
                    "boot": pl.Int32, "source": pl.String, "message": pl.String},
            orient="row",
        ),
    )  # fmt: skip
    cols = ["host", "kind", "device", "index", "pci_bdf", "uuid", "serial", "part_number", "model", "firmware"]
    store.append(
        "assets",
        pl.DataFrame(ASSETS, schema=[*cols, "driver", "file_id", "line_no"], orient="row", infer_schema_length=None),
    )
    store.append("findings", pl.DataFrame(FINDINGS, schema_overrides={"evidence": EVIDENCE}))
    store.append("anomalies", pl.DataFrame(ANOMALIES, schema_overrides={"evidence": EVIDENCE}))
    store.append("test_runs", pl.DataFrame(RUNS))
    if diagnoses:
        store.append("diagnoses", pl.DataFrame(DIAGNOSES, schema_overrides=LIST_COLUMNS))
    return store
