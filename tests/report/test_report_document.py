"""The triage.report/v1 document: exact on a crafted store, contract keys, empty stores, host selection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from crafted import GEN, GPU, GUID, SERIAL, UUID, XID48_1, XID48_2, XID63, add_files, craft

from triage.evaluate import evaluate, load_report
from triage.report import UnknownHostError, build_report
from triage.store import Store

GPU_IDENTITY = {
    "index": 2,
    "pci_bdf": GPU,
    "serial": SERIAL,
    "uuid": UUID,
    "model": "NVIDIA H100 80GB HBM3",
    "part_number": "692-2G520-0200-000",
    "vbios": "96.00.74.00.01",
    "driver": "550.54.15",
}
HCA_IDENTITY = {
    "name": "mlx5_2",
    "port": 1,
    "guid": GUID,
    "firmware": "28.39.1002",
    "model": "MT4129",
    "part_number": "MT_0000000838",
}
GPU_DIAGNOSIS = {
    "component": "gpu",
    "device": GPU,
    "identity": GPU_IDENTITY,
    "root_cause": "gpu_memory",
    "action": "rma_gpu",
    "severity": "critical",
    "confidence": 0.95,
    "summary": "Uncorrectable HBM ECC (XID 48) twice, across a reboot, on GPU 2",
    "evidence": [
        {"kind": "log", "rule": "xid-48", "ts": "2026-11-16T07:12:03Z", "file": "fleet/node-a/dmesg.log",
         "line_no": 2, "text": XID48_1},
        {"kind": "log", "rule": "xid-48", "ts": "2026-11-16T07:40:10Z", "file": "fleet/node-a/dmesg.log",
         "line_no": 6, "text": XID48_2},
        {"kind": "log", "rule": "xid-63", "ts": "2026-11-16T07:12:03Z", "file": "fleet/node-a/dmesg.log",
         "line_no": 3, "text": XID63},
        {"kind": "test", "test": "dcgm_memory", "status": "fail", "ts": None, "file": "fleet/node-a/dcgm.txt",
         "line_no": 7, "text": "GPU 2 had uncorrectable memory errors"},
    ],
    "related": ["xid-63", "dcgm_memory"],
}  # fmt: skip
HCA_DIAGNOSIS = {
    "component": "cable",
    "device": "mlx5_2/1",
    "identity": HCA_IDENTITY,
    "root_cause": "infiniband_link",
    "action": "replace_cable",
    "severity": "error",
    "confidence": 0.8,
    "summary": "Symbol errors rising and the link went down on mlx5_2/1",
    "evidence": [
        {"kind": "metric", "detector": "counter_rate", "metric": "symbol_error", "value": 1133.0, "baseline": 120.0,
         "level": "drain", "ts": None, "file": "fleet/node-b/counters.txt", "line_no": 3,
         "text": "symbol_error rose by 1322 in 1.17 h (1133/h, threshold 120/h)"},
        {"kind": "log", "rule": "ib-link-down", "ts": None, "file": "fleet/node-b/ibstat.txt", "line_no": 5,
         "text": "State: Down"},
    ],
    "related": ["ib-link-down"],
}  # fmt: skip
APP_DIAGNOSIS = {
    "component": "software",
    "device": None,
    "identity": {"serial": "NODE-SN-1"},
    "root_cause": "application",
    "action": "restart_app",
    "severity": "warning",
    "confidence": 0.5,
    "summary": "XID 13 in the application, not the node",
    "evidence": [],
    "related": [],
}
MCE_DIAGNOSIS = {
    "component": "cpu",
    "device": None,
    "identity": {},
    "root_cause": "host_hardware",
    "action": "monitor",
    "severity": "warning",
    "confidence": 0.4,
    "summary": "Corrected machine-check errors",
    "evidence": [],
    "related": [],
}
EXPECTED = {
    "schema": "triage.report/v1",
    "generated_at": "2026-11-22T10:00:00Z",
    "fleet": {
        "hosts": 4,
        "healthy": 1,
        "suspect": 1,
        "faulty": 2,
        "by_root_cause": {"application": 1, "gpu_memory": 1, "host_hardware": 1, "infiniband_link": 1},
    },
    "hosts": [
        {"host": "node-a", "status": "faulty", "diagnoses": [GPU_DIAGNOSIS, APP_DIAGNOSIS]},
        {"host": "node-b", "status": "faulty", "diagnoses": [HCA_DIAGNOSIS]},
        {"host": "node-d", "status": "suspect", "diagnoses": [MCE_DIAGNOSIS]},
        {"host": "node-c", "status": "healthy", "diagnoses": []},
    ],
}


def test_the_document_of_the_crafted_store(store: Store) -> None:
    assert build_report(craft(store), generated_at=GEN) == EXPECTED


def test_the_document_is_json_with_the_contract_keys_in_order(store: Store) -> None:
    doc = json.loads(json.dumps(build_report(craft(store), generated_at=GEN)))
    assert list(doc) == ["schema", "generated_at", "fleet", "hosts"]
    assert list(doc["fleet"]) == ["hosts", "healthy", "suspect", "faulty", "by_root_cause"]
    assert [list(h) for h in doc["hosts"]] == [["host", "status", "diagnoses"]] * 4
    keys = ["component", "device", "identity", "root_cause", "action", "severity", "confidence", "summary",
            "evidence", "related"]  # fmt: skip
    assert {tuple(d) for h in doc["hosts"] for d in h["diagnoses"]} == {tuple(keys)}


def test_generated_at_defaults_to_now_in_utc(store: Store) -> None:
    stamp = build_report(craft(store))["generated_at"]
    assert len(stamp) == 20 and stamp.endswith("Z") and stamp[10] == "T"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("2026-11-22T10:00:00+00:00", "2026-11-22T10:00:00Z", id="utc-aware"),
        pytest.param("2026-11-22T11:30:00+01:00", "2026-11-22T10:30:00Z", id="offset-converted"),
        pytest.param("2026-11-22T10:00:00.999", "2026-11-22T10:00:00Z", id="naive-whole-seconds"),
    ],
)
def test_generated_at_is_utc_with_z(store: Store, given: str, expected: str) -> None:
    from datetime import datetime

    assert build_report(store, generated_at=datetime.fromisoformat(given))["generated_at"] == expected


def test_an_empty_store(store: Store) -> None:
    assert build_report(store, generated_at=GEN) == {
        "schema": "triage.report/v1",
        "generated_at": "2026-11-22T10:00:00Z",
        "fleet": {"hosts": 0, "healthy": 0, "suspect": 0, "faulty": 0, "by_root_cause": {}},
        "hosts": [],
    }


def test_hosts_without_diagnoses_are_all_healthy(store: Store) -> None:
    craft(store, diagnoses=False)
    doc = build_report(store, generated_at=GEN)
    assert doc["fleet"] == {"hosts": 4, "healthy": 4, "suspect": 0, "faulty": 0, "by_root_cause": {}}
    assert doc["hosts"] == [
        {"host": h, "status": "healthy", "diagnoses": []} for h in ("node-a", "node-b", "node-c", "node-d")
    ]


def test_files_alone_make_healthy_hosts(store: Store) -> None:
    add_files(store)
    assert [h["host"] for h in build_report(store)["hosts"]] == ["node-a", "node-b", "node-c", "node-d"]


@pytest.mark.parametrize(
    ("hosts", "expected"),
    [
        pytest.param(["node-b"], ["node-b"], id="one"),
        pytest.param(["node-c", "node-a"], ["node-a", "node-c"], id="report-order"),
        pytest.param(["node-d", "node-d"], ["node-d"], id="repeated-once"),
    ],
)
def test_host_selection(store: Store, hosts: list[str], expected: list[str]) -> None:
    doc = build_report(craft(store), hosts, generated_at=GEN)
    assert [h["host"] for h in doc["hosts"]] == expected
    assert doc["fleet"]["hosts"] == len(expected)


def test_by_root_cause_counts_only_diagnoses_with_an_action(store: Store) -> None:
    import polars as pl

    craft(store)
    store.execute("UPDATE diagnoses SET action = 'none' WHERE diagnosis_id IN (1, 4)")
    store.append(
        "diagnoses",
        pl.DataFrame({"diagnosis_id": [5], "host": ["node-c"], "device": ["0000:5d:00.0"], "component": ["gpu"],
                      "root_cause": ["gpu_memory"], "action": ["reset_gpu"], "severity": ["critical"]}),
    )  # fmt: skip
    fleet = build_report(store, generated_at=GEN)["fleet"]
    assert fleet == {
        "hosts": 4,
        "healthy": 1,
        "suspect": 0,
        "faulty": 3,
        "by_root_cause": {"gpu_memory": 2, "infiniband_link": 1},
    }


def test_an_unknown_host_is_a_one_line_error_with_close_names(store: Store) -> None:
    with pytest.raises(
        UnknownHostError, match=r"^no host 'node-x' in the store \(close: node-a, node-b, node-c, node-d\)$"
    ):
        build_report(craft(store), ["node-x"])


def test_triage_eval_reads_the_document(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(build_report(craft(store), generated_at=GEN)))
    truth = tmp_path / "truth.csv"
    truth.write_text(
        "host,device,root_cause,action,fault\n"
        f"node-a,{GPU},gpu_memory,rma_gpu,hbm\n"
        "node-b,mlx5_2/1,infiniband_link,replace_cable,cable\n"
        "node-c,,none,none,\n"
        "node-d,,none,none,\n"
    )
    predictions = load_report(path)
    assert predictions.hosts.to_dicts() == [
        {"host": "node-a", "status": "faulty"},
        {"host": "node-b", "status": "faulty"},
        {"host": "node-c", "status": "healthy"},
        {"host": "node-d", "status": "suspect"},
    ]
    result = evaluate(str(truth), report=str(path))
    assert (result.status_accuracy, result.macro_f1, result.false_rma_rate) == (0.75, 1.0, 0.0)
