"""Small files are parsed in memory and committed many per transaction, with the same guarantees."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.discover import InputFile
from triage.ingest import ingest, pipeline
from triage.store import Store

SMI = b"""==============NVSMI LOG==============

Timestamp                                 : Fri Nov 20 10:00:00 2026
Driver Version                            : 550.54.15

Attached GPUs                             : 2
GPU 00000000:18:00.0
    Product Name                          : NVIDIA H100 80GB HBM3
    Serial Number                         : 1650104014249
    GPU UUID                              : GPU-b279576f-aef7-5491-a9c8-19bab7325f59
    Processes                             : None

GPU 00000000:2A:00.0
    Product Name                          : NVIDIA H100 80GB HBM3
    Serial Number                         : 1650104014517
    GPU UUID                              : GPU-c279576f-aef7-5491-a9c8-19bab7325f59
    Processes                             : None
"""
FLEET_HEALTH = b"""node017 | ERROR: nhc: Health check failed: Bandwidth is low on device 1. Reported bandwidth is 7 GB/s.
node018 | Healthy
"""
DMESG = b"[ 4182.123456] NVRM: Xid (PCI:0000:2a:00): 48, pid=1234, name=python3, An uncorrectable double bit error\n"


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def batches_of_two(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "BATCH_FILES", 2)


def test_many_small_files_land_whole(batches_of_two: None, store: Store, inputs: Path) -> None:
    for n in range(5):
        write(inputs / f"node{n:03d}" / "dmesg.log", DMESG)
        write(inputs / f"node{n:03d}" / "nvidia-smi.txt", SMI)
    summary = ingest(store, [str(inputs)])
    assert (summary.ingested, summary.rows["assets"]) == (10, 10)
    assert store.count("events") == 5 * (1 + len(SMI.splitlines()))
    files = store.frame("SELECT host, kind, status, lines FROM files ORDER BY file_id").rows()
    assert files[:2] == [("node000", "kernel_log", "ok", 1), ("node000", "nvidia_smi", "ok", 17)]
    assert store.frame("SELECT count(DISTINCT file_id) AS n FROM assets")["n"][0] == 5


def test_a_failure_keeps_the_files_read_before_it(batches_of_two: None, store: Store, inputs: Path) -> None:
    paths = [write(inputs / f"node{n:03d}" / "dmesg.log", DMESG) for n in range(3)]

    def stop_at_the_third(file: InputFile, read: int | None) -> None:
        if file.path == str(paths[2]) and read is not None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest(store, [str(inputs)], progress=stop_at_the_third)
    assert store.frame("SELECT path FROM files ORDER BY file_id")["path"].to_list() == [str(p) for p in paths[:2]]
    summary = ingest(store, [str(inputs)])
    assert [f.status for f in summary.files] == ["unchanged", "unchanged", "ok"]


def test_the_same_content_twice_in_one_run_lands_once(store: Store, inputs: Path) -> None:
    write(inputs / "node017" / "a" / "dmesg.log", DMESG)
    write(inputs / "node017" / "b" / "dmesg.log", DMESG)
    summary = ingest(store, [str(inputs)])
    assert [f.status for f in summary.files] == ["ok", "unchanged"]
    assert store.count("events") == 1


def test_a_fixed_file_replaces_its_error_row(store: Store, inputs: Path) -> None:
    path = write(inputs / "node017" / "dmesg.log", b"")
    ingest(store, [str(inputs)])
    assert store.frame("SELECT status, error FROM files").rows() == [("error", "empty file")]
    write(path, DMESG)
    ingest(store, [str(inputs)])
    assert store.frame("SELECT status, error FROM files").rows() == [("ok", None)]


def test_gpus_named_by_rows_of_a_fleet_log_resolve_against_their_hosts_inventory(store: Store, inputs: Path) -> None:
    write(inputs / "fleet-health.log", FLEET_HEALTH)
    write(inputs / "node017" / "nvidia-smi.txt", SMI)
    ingest(store, [str(inputs)])
    runs = store.frame("SELECT host, device, test, status FROM test_runs ORDER BY host").rows()
    assert runs == [
        ("node017", "0000:2a:00.0", "nhc_check_cuda_bw", "fail"),
        ("node018", None, "nhc", "pass"),
    ]


def table_rows(store: Store) -> dict[str, list[tuple]]:
    """Every table's rows without ingest times, in a stable order."""
    out = {}
    for table, order in [
        ("files", "path"),
        ("events", "file_id, line_no"),
        ("measurements", "file_id, line_no, metric, device"),
        ("test_runs", "run_id"),
        ("assets", "file_id, line_no, device"),
    ]:
        columns = "* EXCLUDE (ingested_at)" if table == "files" else "*"
        out[table] = store.frame(f"SELECT {columns} FROM {table} ORDER BY {order}").rows()
    return out


def test_worker_processes_read_the_same_rows_as_one_process(
    inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(6):
        write(inputs / f"node{n:03d}" / "dmesg.log", DMESG)
        write(inputs / f"node{n:03d}" / "nvidia-smi.txt", SMI)
    write(inputs / "fleet-health.log", FLEET_HEALTH)
    write(inputs / "node000" / "empty.log", b"")
    results = []
    for workers in ("1", "2"):
        monkeypatch.setenv("TRIAGE_INGEST_WORKERS", workers)
        monkeypatch.setattr(pipeline, "POOL_MIN_FILES", 1)
        with Store.open(tmp_path / f"w{workers}.duckdb") as store:
            summary = ingest(store, [str(inputs)])
            results.append(([(f.path, f.status, f.error) for f in summary.files], table_rows(store)))
    assert results[0] == results[1]
    assert results[0][0][-1] == (str(inputs / "node005" / "nvidia-smi.txt"), "ok", None)
