"""The committed sample fleet: what the generator writes today, read whole by triage, its faults visible."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import polars as pl
import pytest
from generate import write_fleet

from triage.ingest import ingest
from triage.signatures.analyze import analyze
from triage.signatures.loader import load_rules
from triage.store import Store

SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "sample-fleet"
# The arguments the committed fleet was written with (datasets/README.md).
HOSTS, SEED, FAULT_RATE = 24, 11, 0.6


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample fleet ingested and analyzed into a store."""
    db = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    with Store.open(db) as store:
        summary = ingest(store, [str(SAMPLE / "hosts")])
        assert summary.errors == []
        analyze(store, load_rules())
    return db


def test_committed_fleet_is_what_the_generator_writes(tmp_path: Path) -> None:
    write_fleet(tmp_path, HOSTS, SEED, FAULT_RATE)
    assert tree(tmp_path) == tree(SAMPLE)


def test_truth_has_a_row_per_fault_and_one_per_healthy_host() -> None:
    with open(SAMPLE / "truth.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    hosts = sorted(p.name for p in (SAMPLE / "hosts").iterdir())
    assert hosts == [f"node{n:04d}" for n in range(1, HOSTS + 1)]
    assert sorted({r["host"] for r in rows}) == hosts
    healthy = [r for r in rows if r["root_cause"] == "none"]
    assert all(r["device"] == "" and r["action"] == "none" for r in healthy)
    assert (len(healthy), len(rows) - len(healthy)) == (10, 14)


def test_every_file_is_read_by_its_kind(analyzed: Path) -> None:
    with Store.open(analyzed, read_only=True) as store:
        files = store.frame("SELECT path, kind, status FROM files")
    assert set(files["status"]) == {"ok"}
    by_name = files.with_columns(name=pl.col("path").str.extract(r"/node\d+/(.*)$", 1))
    expected = {
        "dcgm/dcgmi-diag-r3.txt": "dcgm",
        "dcgm/dcgmi-diag-r3.json": "dcgm",
        "hpl.log": "hpl",
        "ib/counters-after.txt": "ib_counters",
        "ib/counters-before.txt": "ib_counters",
        "ib/ibstat.txt": "ib_status",
        "nccl/all_reduce_perf.log": "nccl_tests",
        "nvbandwidth.log": "nvbandwidth",
        "nvidia-smi-q.txt": "nvidia_smi",
        "nvidia-smi-q.xml": "nvidia_smi",
        "dmesg.log": "kernel_log",
        "journal.log": "kernel_log",
        "kern.log": "kernel_log",
    }
    for name, kind in by_name.select("name", "kind").iter_rows():
        # A driver/library mismatch leaves nvidia-smi's one-line error, which is plain text.
        assert kind == expected[name] or (name.startswith("nvidia-smi") and kind == "text"), name


def truth_faults() -> list[dict[str, str]]:
    with open(SAMPLE / "truth.csv", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["root_cause"] != "none"]


# The findings (rule, severity at least warning) each fault's kernel chain must raise on its device.
KERNEL_EVIDENCE = {
    "hbm_remap_pending": {"xid-48", "xid-63"},
    "hbm_remap_failure": {"xid-48", "xid-64"},
    "gpu_fallen_off_bus": {"xid-79", "gpu-fallen-off-bus"},
    "gsp_timeout": {"xid-119"},
    "gpu_diag_failure": {"xid-13"},
    "nvswitch_fatal": {"sxid-20034"},
    "dimm_uncorrectable": {"edac-ue"},
    "application_error": {"xid-31", "xid-43"},
}


@pytest.mark.parametrize("fault", sorted(KERNEL_EVIDENCE))
def test_kernel_chains_raise_findings_on_the_faulty_device(analyzed: Path, fault: str) -> None:
    (row,) = [r for r in truth_faults() if r["fault"] == fault]
    with Store.open(analyzed, read_only=True) as store:
        found = store.frame(
            "SELECT rule_id FROM findings WHERE host = ? AND device = ? AND severity <> 'info'",
            [row["host"], row["device"]],
        )
    assert KERNEL_EVIDENCE[fault] <= set(found["rule_id"])


def test_failed_runs_are_on_faulty_hosts_only(analyzed: Path) -> None:
    faulty = {r["host"] for r in truth_faults()}
    with Store.open(analyzed, read_only=True) as store:
        failed = store.frame("SELECT DISTINCT host FROM test_runs WHERE status <> 'pass'")
    assert set(failed["host"]) <= faulty
    # cable, PCIe, thermal, DIMM and performance faults show in logs, counters or numbers, not in a failed run
    assert len(set(failed["host"])) == 9


def test_performance_node_is_slow_only_in_its_numbers(analyzed: Path) -> None:
    (row,) = [r for r in truth_faults() if r["fault"] == "performance"]
    with Store.open(analyzed, read_only=True) as store:
        busbw = store.frame("SELECT host, value FROM measurements WHERE metric = 'avg_busbw'")
        findings = store.frame(
            "SELECT count(*) AS n FROM findings WHERE host = ? AND severity <> 'info'", [row["host"]]
        )
    slow = busbw.filter(pl.col("host") == row["host"])["value"].item()
    others = busbw.filter(pl.col("host") != row["host"])["value"]
    healthy_median = others.median()
    assert slow / healthy_median == pytest.approx(0.8, abs=0.05)
    assert findings["n"].item() == 0


def test_a_report_that_repeats_the_truth_scores_perfectly(tmp_path: Path) -> None:
    from triage.evaluate import evaluate

    with open(SAMPLE / "truth.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    hosts: dict[str, list[dict[str, str | None]]] = {}
    for r in rows:
        diagnoses = hosts.setdefault(r["host"], [])
        if r["root_cause"] != "none":
            diagnoses.append({"device": r["device"] or None, "root_cause": r["root_cause"], "action": r["action"]})
    report = {"schema": "triage.report/v1", "hosts": [{"host": h, "diagnoses": d} for h, d in hosts.items()]}
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    result = evaluate(SAMPLE / "truth.csv", report=path)
    assert (result.status_accuracy, result.macro_f1, result.missed_fault_rate, result.false_rma_rate) == (
        1.0,
        1.0,
        0.0,
        0.0,
    )
