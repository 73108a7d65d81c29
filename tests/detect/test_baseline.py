"""Baselines: learned from a known-good store, saved, loaded, and applied to a bad one."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from triage.detect.baseline import detect_baseline, learn, load, save
from triage.detect.cohorts import MetricSpec, OutlierSettings, watched
from triage.errors import TriageError
from triage.store import Store

from .test_outliers import measure

HPL = MetricSpec("hpl", "gflops", "low", min_change=0.035)
ECC = MetricSpec("nvidia_smi", "ecc_volatile_correctable", "high", min_delta=10)
SETTINGS = OutlierSettings(
    min_cohort=8,
    levels={"monitor": 1.5, "investigate": 2.0, "drain": 3.0},
    cohort_by=("model", "driver"),
    metrics=(HPL, ECC),
)


def good_run(store: Store) -> None:
    # nine good nodes and one that slipped into the "known-good" run 20% low
    measure(store, [(f"g{i}", None, 400.0 + (i % 3) - 1) for i in range(9)] + [("g9", None, 320.0)])


def test_learning_drops_the_outlier_of_the_good_run(store: Store) -> None:
    good_run(store)
    baseline = learn(watched(store, SETTINGS), SETTINGS, "golden")
    assert baseline.entries.select(
        "test", "metric", "params", "model", "bad", "expected", "members", "dropped"
    ).rows() == [("hpl", "gflops", "", "", "low", 400.0, 9, 1)]
    assert baseline.hosts == 10
    assert baseline.source == "golden"


def test_save_and_load_round_trip(store: Store, tmp_path: Path) -> None:
    good_run(store)
    baseline = learn(watched(store, SETTINGS), SETTINGS, "golden")
    save(baseline, tmp_path / "b.yaml")
    loaded = load(tmp_path / "b.yaml")
    assert loaded.entries.equals(baseline.entries)
    assert (loaded.source, loaded.hosts, loaded.created_at) == ("golden", 10, baseline.created_at)


def test_a_uniformly_bad_fleet_is_flagged_against_the_baseline(tmp_path: Path) -> None:
    with Store.open(tmp_path / "good.duckdb") as good:
        good_run(good)
        baseline = learn(watched(good, SETTINGS), SETTINGS, "golden")
    with Store.open(tmp_path / "bad.duckdb") as bad:
        # every node 8% low: no fleet outlier, but 1.6 allowances (5% of 400 = 20) below the baseline
        measure(bad, [(f"b{i}", None, 368.0) for i in range(10)])
        found = detect_baseline(watched(bad, SETTINGS), baseline, SETTINGS)
    assert found.height == 10
    assert found.row(0, named=True) | {"evidence": None} == {
        "host": "b0",
        "device": None,
        "detector": "baseline",
        "metric": "gflops",
        "value": 368.0,
        "baseline": 400.0,
        "score": 1.6,
        "threshold": 1.0,
        "cohort": "hpl gflops in baseline golden (9 members)",
        "detail": "hpl gflops 368.0 Gflops is 8.0% below the baseline 400.0 (allowed 20.0 Gflops)",
        "level": "monitor",
        "evidence": None,
    }


@pytest.mark.parametrize(
    ("value", "level"),
    [
        pytest.param(390.0, None, id="2.5%-within-tolerance"),
        pytest.param(380.0, None, id="5%-at-tolerance"),
        pytest.param(370.0, "monitor", id="7.5%-monitor"),
        pytest.param(340.0, "investigate", id="15%-investigate"),
        pytest.param(300.0, "drain", id="25%-drain"),
        pytest.param(450.0, None, id="faster-is-fine"),
    ],
)
def test_baseline_levels_count_allowances(tmp_path: Path, value: float, level: str | None) -> None:
    with Store.open(tmp_path / "good.duckdb") as good:
        good_run(good)
        baseline = learn(watched(good, SETTINGS), SETTINGS, "golden")
    with Store.open(tmp_path / "bad.duckdb") as bad:
        measure(bad, [("b0", None, value)])
        found = detect_baseline(watched(bad, SETTINGS), baseline, SETTINGS)
    assert found["level"].to_list() == ([level] if level else [])


def test_counts_use_the_absolute_allowance(tmp_path: Path) -> None:
    with Store.open(tmp_path / "good.duckdb") as good:
        measure(
            good, [(f"g{i}", "0000:3b:00.0", 0.0) for i in range(8)], "nvidia_smi", "ecc_volatile_correctable", "count"
        )
        baseline = learn(watched(good, SETTINGS), SETTINGS, "golden")
    with Store.open(tmp_path / "bad.duckdb") as bad:
        rows = [("b0", "0000:3b:00.0", 9.0), ("b1", "0000:3b:00.0", 38.0)]
        measure(bad, rows, "nvidia_smi", "ecc_volatile_correctable", "count")
        found = detect_baseline(watched(bad, SETTINGS), baseline, SETTINGS)
    assert found.select("host", "score", "level").rows() == [("b1", 3.8, "investigate")]


def test_unknown_cohorts_are_not_judged(tmp_path: Path) -> None:
    with Store.open(tmp_path / "good.duckdb") as good:
        good_run(good)
        baseline = learn(watched(good, SETTINGS), SETTINGS, "golden")
    with Store.open(tmp_path / "bad.duckdb") as bad:
        measure(bad, [("b0", None, 100.0, '{"N":1000}')])  # other HPL parameters than the baseline's
        assert detect_baseline(watched(bad, SETTINGS), baseline, SETTINGS).is_empty()


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param(
            "schema: other/v1\ncohorts: []\n",
            "not a triage baseline (expected schema: triage.baseline/v1)",
            id="schema",
        ),
        pytest.param("schema: triage.baseline/v1\n", "a baseline needs a list of cohorts", id="no-cohorts"),
        pytest.param("cohorts: [\n", "invalid YAML", id="broken-yaml"),
        pytest.param(
            "schema: triage.baseline/v1\ncohorts:\n- {test: hpl, metric: gflops}\n",
            "b.yaml:3: baseline cohort must have exactly",
            id="short-entry",
        ),
    ],
)
def test_bad_baseline_files_are_refused_in_one_line(tmp_path: Path, text: str, error: str) -> None:
    path = tmp_path / "b.yaml"
    path.write_text(text)
    with pytest.raises(TriageError, match=error.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        load(path)


def test_learning_from_nothing_gives_an_empty_baseline(store: Store) -> None:
    baseline = learn(watched(store, SETTINGS), SETTINGS, "empty")
    assert baseline.cohorts == 0
    assert detect_baseline(pl.DataFrame(), baseline, SETTINGS).is_empty()
