"""Every detector over the real samples of ../shared/realdata (skipped where it is absent).

The realdata folders are unrelated machines grouped by format (`nvidia_smi/`, `infiniband/`, ...),
so each folder is one "host" holding many machines' devices: this pins what the detectors make of
real outputs (no crash, and the same anomalies run after run), not a fleet verdict.
"""

from __future__ import annotations

from pathlib import Path

from triage.detect import Detectors, find_anomalies
from triage.ingest import ingest
from triage.signatures.analyze import analyze
from triage.signatures.loader import load_rules
from triage.store import Store


def test_detectors_over_realdata(realdata: Path, tmp_path: Path) -> None:
    with Store.open(tmp_path / "real.duckdb") as store:
        ingest(store, [str(realdata)])
        analyze(store, load_rules())
        anomalies, summary = find_anomalies(store, Detectors.load())
    rows = anomalies.select("host", "device", "detector", "metric", "level").sort("host", "device", "metric").rows()
    assert rows == [
        ("infiniband", "mlx4_0/1", "fleet_outlier", "rate", "monitor"),
        ("infiniband", "mlx4_0/2", "fleet_outlier", "rate", "investigate"),
        ("infiniband", "mlx5_11/1", "fleet_outlier", "rate", "monitor"),
        ("infiniband", "mlx5_8/1", "fleet_outlier", "rate", "monitor"),
        ("infiniband", "mlx5_bond_0/1", "fleet_outlier", "rate", "drain"),
        ("nvbandwidth", "0009:01:00.0", "fleet_outlier", "device_to_host_memcpy_ce", "drain"),
        ("nvbandwidth", "0009:01:00.0", "fleet_outlier", "host_to_device_memcpy_ce", "drain"),
        ("nvbandwidth", "gpu1", "fleet_outlier", "host_to_device_memcpy_ce", "drain"),
        ("nvbandwidth", "gpu2", "fleet_outlier", "host_to_device_memcpy_ce", "drain"),
        ("nvidia_smi", "0000:01:00.0", "fleet_outlier", "pcie_width_current", "drain"),
        ("nvidia_smi", "0000:23:00.0", "fleet_outlier", "temperature_gpu", "drain"),
    ]
    assert summary.notes[1:] == [
        "isolation forest skipped: 6 nodes with features, it needs at least 16",
        "rare templates not judged: 2 host(s) with kernel_log lines, fewer than the 10 needed (min_fleet)",
    ]
