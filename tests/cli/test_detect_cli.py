"""`triage analyze` with detectors, `triage anomalies` and `triage baseline` on the committed sample fleet."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from triage.cli import main

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "datasets" / "sample-fleet" / "hosts"
SHIPPED = REPO / "rules" / "baselines" / "h100-80gb-hbm3.yaml"


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample fleet ingested once (not analysed); tests copy it."""
    db = tmp_path_factory.mktemp("detect-cli") / "sample.duckdb"
    with pytest.raises(SystemExit) as info:
        main(["ingest", str(SAMPLE), "--db", str(db)])
    assert info.value.code in (0, None)
    return db


@pytest.fixture
def db(ingested: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "triage.duckdb"
    shutil.copy(ingested, copy)
    return copy


def test_analyze_runs_the_detectors_and_reports_them(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, _ = call(capsys, "analyze", "--db", str(db), "--json")
    assert code == 0
    summary = json.loads(out)
    assert set(summary["anomalies"]) == {"anomalies", "by_detector", "by_level", "hosts_flagged", "seconds", "notes"}
    assert summary["anomalies"]["by_detector"]["fleet_outlier"] == 30
    assert summary["diagnosis"] | {"seconds": 0} == {
        "diagnoses": 20,
        "by_status": {"healthy": 11, "suspect": 1, "faulty": 12},
        "by_root_cause": {
            "driver_firmware": 2, "gpu_hardware": 2, "gpu_memory": 2, "application": 1, "host_memory": 1,
            "infiniband_hca": 1, "infiniband_link": 1, "nvswitch": 1, "pcie": 1, "performance": 1, "thermal_power": 1,
        },
        "seconds": 0,
    }  # fmt: skip


def test_no_detectors_leaves_anomalies_out(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, out, _ = call(capsys, "analyze", "--db", str(db), "--json", "--no-detectors")
    assert code == 0
    assert set(json.loads(out)) & {"anomalies", "diagnosis"} == set()


def test_anomalies_of_the_performance_node(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    call(capsys, "analyze", "--db", str(db), "--baseline", str(SHIPPED))
    code, out, _ = call(
        capsys,
        "anomalies",
        "--db",
        str(db),
        "--host",
        "node0020",
        "--detector",
        "fleet_outlier",
        "--detector",
        "baseline",
        "--format",
        "json",
    )
    assert code == 0
    rows = [(r["detector"], r["metric"], r["level"]) for r in json.loads(out)]
    assert rows == [
        ("fleet_outlier", "busbw", "drain"),
        ("fleet_outlier", "avg_busbw", "drain"),
        ("baseline", "busbw", "drain"),
        ("baseline", "avg_busbw", "drain"),
    ]


def test_anomalies_level_filter_and_table(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    call(capsys, "analyze", "--db", str(db))
    code, out, _ = call(capsys, "anomalies", "--db", str(db), "--detector", "fleet_outlier", "--level", "drain")
    assert code == 0
    assert out.splitlines()[-1] == "30 anomalies"
    code, out, _ = call(capsys, "anomalies", "--db", str(db), "--host", "node0002")
    assert out.splitlines()[-1] == "0 anomalies"


def test_baseline_create_from_a_fleet_folder_and_show(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "b.yaml"
    code, out, _ = call(capsys, "baseline", "create", "--from", str(SAMPLE), "-o", str(target), "--label", "sample")
    assert code == 0
    assert out == f"learned 43 cohort(s) from 24 host(s) of {SAMPLE} (60 outlier value(s) left out): {target}\n"
    code, out, _ = call(capsys, "baseline", "show", str(target), "--test", "hpl")
    assert code == 0
    assert "422600 Gflops" in out
    assert out.splitlines()[-1].startswith("1 cohort(s) learned from 24 host(s) of sample (")


def test_baseline_create_from_a_store(capsys: pytest.CaptureFixture[str], db: Path, tmp_path: Path) -> None:
    code, out, _ = call(capsys, "baseline", "create", "--from", str(db), "-o", str(tmp_path / "b.yaml"), "--json")
    assert code == 0
    described = json.loads(out)
    assert (described["cohorts"], described["hosts"], described["by_test"]["hpl"]) == (43, 24, 1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["baseline", "create", "--from", "/no/such", "-o", "x.yaml"],
            "error: /no/such: no such file or folder",
            id="create-missing-source",
        ),
        pytest.param(
            ["baseline", "show", "/no/such.yaml"], "error: /no/such.yaml: no baseline file here", id="show-missing"
        ),
    ],
)
def test_baseline_errors_are_one_line(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code, _, err = call(capsys, *args)
    assert (code, err.splitlines()) == (1, [message])


def test_analyze_with_a_missing_baseline_is_a_user_error(capsys: pytest.CaptureFixture[str], db: Path) -> None:
    code, _, err = call(capsys, "analyze", "--db", str(db), "--baseline", "/no/such.yaml")
    assert (code, err.splitlines()) == (1, ["error: /no/such.yaml: no baseline file here"])


def test_baseline_of_an_empty_folder_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, _, err = call(capsys, "baseline", "create", "--from", str(tmp_path / "empty"), "-o", str(tmp_path / "b.yaml"))
    assert code == 1
    assert err.splitlines() == [
        f"error: {tmp_path / 'empty'}: no watched measurements to learn from (nccl-tests, HPL, nvbandwidth, ...)"
    ]


def test_the_cli_level_choices_are_the_detectors_levels() -> None:
    from triage.cli.anomalies import LEVELS as CLI_LEVELS
    from triage.detect.anomalies import LEVELS

    assert CLI_LEVELS == LEVELS
