"""The diagnosis end to end: generated fleets through ingest, rules, detectors and diagnosis, scored by `triage eval`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from generate import write_fleet

from triage.detect import detect
from triage.detect.baseline import load as load_baseline
from triage.diagnose import diagnose
from triage.evaluate import evaluate
from triage.ingest import ingest
from triage.signatures.analyze import analyze
from triage.signatures.loader import load_rules
from triage.store import Store

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "datasets" / "sample-fleet"
BASELINE = REPO / "rules" / "baselines" / "h100-80gb-hbm3.yaml"


def analysed(hosts: Path, db: Path) -> Path:
    with Store.open(db) as store:
        ingest(store, [str(hosts)])
        analyze(store, load_rules())
        detect(store, baseline=load_baseline(BASELINE))
        diagnose(store)
    return db


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return analysed(SAMPLE / "hosts", tmp_path_factory.mktemp("diagnose") / "sample.duckdb")


@pytest.fixture(scope="module")
def fresh_fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A freshly generated 120-node fleet (seed 99, not the sample's), analysed once."""
    folder = tmp_path_factory.mktemp("fresh")
    write_fleet(folder, 120, 99, 0.4)
    return analysed(folder / "hosts", folder / "fleet.duckdb"), folder / "truth.csv"


def test_sample_fleet_verdicts(sample_db: Path) -> None:
    with Store.open(sample_db, read_only=True) as store:
        rows = store.frame(
            "SELECT host, device, root_cause, action FROM diagnoses WHERE action <> 'none' ORDER BY host, device"
        ).rows()
    assert rows == [
        ("node0001", "mlx5_2/1", "infiniband_link", "replace_cable"),
        ("node0003", "0000:5d:00.0", "gpu_memory", "reset_gpu"),
        ("node0006", "0000:ba:00.0", "gpu_hardware", "rma_gpu"),
        ("node0007", "0000:2a:00.0", "pcie", "check_mechanicals"),
        ("node0008", "0000:05:00.0", "nvswitch", "rma_baseboard"),
        ("node0010", "0000:9a:00.0", "driver_firmware", "reset_gpu"),
        ("node0011", "0000:ba:00.0", "gpu_hardware", "rma_gpu"),
        ("node0013", "mlx5_7/1", "infiniband_hca", "rma_hca"),
        ("node0014", "0000:3a:00.0", "application", "restart_app"),
        ("node0019", None, "driver_firmware", "reboot_node"),
        ("node0020", None, "performance", "rerun_test"),
        ("node0021", "0000:2a:00.0", "thermal_power", "check_mechanicals"),
        ("node0022", "0000:5d:00.0", "gpu_memory", "rma_gpu"),
        ("node0024", "CPU_SrcID#0_MC#1_Chan#0_DIMM#0", "host_memory", "rma_dimm"),
    ]


def test_sample_fleet_scores(sample_db: Path) -> None:
    result = evaluate(SAMPLE / "truth.csv", db=sample_db)
    assert (result.status_accuracy, result.macro_f1, result.false_rma_rate, result.missed_fault_rate) == (
        1.0,
        1.0,
        0.0,
        0.0,
    )


def test_fresh_fleet_meets_the_targets(fresh_fleet: tuple[Path, Path]) -> None:
    db, truth = fresh_fleet
    result = evaluate(truth, db=db)
    assert result.status_accuracy >= 0.97
    assert result.macro_f1 >= 0.90
    assert result.false_rma_rate <= 0.005
    assert result.missed_fault_rate == 0.0


def test_every_verdict_traces_back_to_rows_and_lines(sample_db: Path) -> None:
    with Store.open(sample_db, read_only=True) as store:
        dangling = store.frame(
            """
            SELECT d.diagnosis_id FROM diagnoses d, unnest(d.finding_ids) AS u(id)
            WHERE u.id NOT IN (SELECT finding_id FROM findings)
            UNION ALL
            SELECT d.diagnosis_id FROM diagnoses d, unnest(d.run_ids) AS u(id)
            WHERE u.id NOT IN (SELECT run_id FROM test_runs)
            UNION ALL
            SELECT d.diagnosis_id FROM diagnoses d, unnest(d.anomaly_ids) AS u(id)
            WHERE u.id NOT IN (SELECT anomaly_id FROM anomalies)
            """
        )
        empty = store.frame("SELECT count(*) AS n FROM diagnoses WHERE len(evidence) = 0")["n"].item()
    assert dangling.is_empty()
    assert empty == 0


def test_rerun_replaces_and_scopes(sample_db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copy(sample_db, copy)
    with Store.open(copy) as store:
        before = store.frame("SELECT count(*) AS n FROM diagnoses")["n"].item()
        summary = diagnose(store, hosts=["node0022"])
        after = store.frame("SELECT count(*) AS n FROM diagnoses")["n"].item()
        again = diagnose(store)
    assert (summary.diagnoses, summary.by_status) == (2, {"healthy": 0, "suspect": 0, "faulty": 1})
    assert after == before
    assert again.by_status == {"healthy": 11, "suspect": 1, "faulty": 12}
    assert again.diagnoses == before


def test_an_empty_store_has_no_verdicts(tmp_path: Path) -> None:
    with Store.open(tmp_path / "empty.duckdb") as store:
        summary = diagnose(store)
        assert store.frame("SELECT * FROM diagnoses").is_empty()
    assert summary.as_dict() | {"seconds": 0} == {
        "diagnoses": 0,
        "by_status": {"healthy": 0, "suspect": 0, "faulty": 0},
        "by_root_cause": {},
        "seconds": 0,
    }


def test_confidence_grows_with_agreeing_kinds_of_evidence(sample_db: Path) -> None:
    with Store.open(sample_db, read_only=True) as store:
        rows = dict(store.frame("SELECT host, confidence FROM diagnoses WHERE host IN ('node0006', 'node0024')").rows())
    assert rows == {"node0006": 0.95, "node0024": 0.6}
