"""Every detector together over the committed sample fleet, as `triage analyze` runs them."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import polars as pl
import pytest

from triage.detect import Detectors, detect, find_anomalies
from triage.detect.counters import CounterSettings
from triage.detect.run import counter_increases
from triage.ingest import ingest
from triage.signatures.analyze import analyze
from triage.signatures.loader import load_rules
from triage.store import Store

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "datasets" / "sample-fleet"


@pytest.fixture(scope="module")
def analysed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample fleet ingested and run through the rules once; tests work on copies."""
    db = tmp_path_factory.mktemp("detect-run") / "sample.duckdb"
    with Store.open(db) as store:
        ingest(store, [str(SAMPLE / "hosts")])
        analyze(store, load_rules())
    return db


@pytest.fixture
def sample(analysed: Path, tmp_path: Path) -> Store:
    copy = tmp_path / "triage.duckdb"
    shutil.copy(analysed, copy)
    with Store.open(copy) as store:
        yield store


def truth() -> dict[str, str]:
    with (SAMPLE / "truth.csv").open(newline="") as handle:
        return {row["host"]: row["fault"] for row in csv.DictReader(handle)}


def test_detectors_flag_faulty_hosts_only(sample: Store) -> None:
    summary = detect(sample)
    stored = sample.frame("SELECT anomaly_id, host, detector, level FROM anomalies ORDER BY anomaly_id")
    assert stored["anomaly_id"].to_list() == list(range(1, summary.anomalies + 1))
    assert summary.by_detector == {
        "counter_rate": 3,
        "fleet_outlier": 30,
        "isolation_forest": 4,
        "rare_template": 43,
    }
    faults = truth()
    flagged = set(stored["host"])
    assert {host for host in flagged if not faults[host]} == set()
    assert flagged == {
        "node0001", "node0006", "node0007", "node0008", "node0010", "node0013",
        "node0014", "node0019", "node0020", "node0021", "node0022", "node0024",
    }  # fmt: skip
    assert summary.notes == []


def test_every_performance_only_fault_is_found(sample: Store) -> None:
    detect(sample)
    performance = [host for host, fault in truth().items() if fault == "performance"]
    rows = sample.frame(
        "SELECT DISTINCT host, detector FROM anomalies WHERE host IN (SELECT unnest(?)) ORDER BY 1, 2", [performance]
    )
    assert rows.rows() == [("node0020", "fleet_outlier")]


def test_running_again_replaces_rather_than_adds(sample: Store) -> None:
    first = detect(sample)
    second = detect(sample)
    assert first.anomalies == second.anomalies
    assert sample.frame("SELECT count(*) AS n FROM anomalies")["n"].item() == second.anomalies


def test_hosts_scope_replaces_only_their_anomalies(sample: Store) -> None:
    everything = detect(sample)
    scoped = detect(sample, hosts=["node0020"])
    assert (scoped.anomalies, scoped.hosts_flagged) == (2, 1)
    assert sample.frame("SELECT count(*) AS n FROM anomalies")["n"].item() == everything.anomalies


def test_detection_is_deterministic(sample: Store) -> None:
    detectors = Detectors.load()
    first, _ = find_anomalies(sample, detectors)
    second, _ = find_anomalies(sample, detectors)
    assert first.equals(second)


def test_a_small_fleet_gets_notes_not_false_alarms(tmp_path: Path) -> None:
    for name in ("node0002", "node0003", "node0020"):
        shutil.copytree(SAMPLE / "hosts" / name, tmp_path / "fleet" / name)
    with Store.open(tmp_path / "three.duckdb") as store:
        ingest(store, [str(tmp_path / "fleet")])
        analyze(store, load_rules())
        found, summary = find_anomalies(store, Detectors.load())
    assert found.is_empty()
    assert summary.notes[0] == (
        "24 cohort(s) under 8 members not judged (largest 3): hpl gflops, nccl_all_reduce avg_busbw, "
        "nccl_all_reduce busbw, nvbandwidth device_to_device_memcpy_read_ce_sum and 5 more"
    )
    assert summary.notes[-2:] == [
        "isolation forest skipped: 3 nodes with features, it needs at least 16",
        "rare templates not judged: 3 host(s) with kernel_log lines, fewer than the 10 needed (min_fleet)",
    ]


def test_counter_increases_sum_watched_error_counters_per_host() -> None:
    deltas = pl.DataFrame(
        {
            "host": ["a", "a", "a", "b", "b"],
            "source": ["ib", "ib", "ib", "ib", "pcie"],
            "counter": ["symbol_error", "link_downed", "port_xmit_packets", "symbol_error", "pcie_replay_count"],
            "delta": [12.0, 1.0, 5e9, 0.0, 40.0],
        }
    )
    out = counter_increases(deltas, CounterSettings.load())
    assert out.rows() == [("a", 13.0, None), ("b", 0.0, 40.0)]
    assert out.columns == ["host", "ib_error_increase", "pcie_error_increase"]
