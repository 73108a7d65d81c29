"""`triage eval`: the summary table, the triage.eval/v1 JSON, --db, --fail-under and one-line errors.

Most tests call `triage.cli.main` in-process; a few run `python -m triage` in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from triage.cli import main
from triage.store import Store

TRUTH = """host,device,root_cause,action,fault
h1,,none,none,
h2,0000:3B:00.0,gpu_memory,rma_gpu,hbm_remap_failure
h3,mlx5_0/1,infiniband_link,replace_cable,ib_cable
h4,,performance,rerun_test,performance
"""
GPUS = ("0000:18:00.0", "0000:3b:00.0")
HOSTS = ("h1", "h2", "h3", "h4")
# rma_gpu / gpu_memory on both GPUs of every host: gpu_memory TP 1 FP 7 (precision 1/8, recall 1,
# F1 2/9); status right for h2 and h3; false RMAs: h1 x2, h2's other GPU, h3 x2 (h4's node-level
# row covers its GPUs) = 5 of 8; missed: h3's HCA port (1 of 3).
ALL_FAULTY = {
    "schema": "triage.report/v1",
    "hosts": [
        {
            "host": host,
            "status": "faulty",
            "diagnoses": [{"device": gpu, "root_cause": "gpu_memory", "action": "rma_gpu"} for gpu in GPUS],
        }
        for host in HOSTS
    ],
}
JSON_KEYS = [
    "schema", "truth", "source", "hosts", "truth_status", "status_accuracy", "status_correct", "status_confusion",
    "macro_f1", "macro_f1_root_causes", "root_causes", "truth_faults", "claims", "missed_faults", "missed_fault_rate",
    "rma_claims", "false_rma", "false_rma_rate", "healthy_hosts", "false_rma_host_count", "false_rma_hosts",
    "unscored_hosts", "per_host",
]  # fmt: skip


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def _no_db_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIAGE_DB", raising=False)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    """Run `triage ARGS` in-process with `main`'s exit semantics."""

    def call(*args: str | Path) -> Result:
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        code = info.value.code
        return Result(code if isinstance(code, int) else (0 if code is None else 1), out, err)

    return call


@pytest.fixture
def truth(tmp_path: Path) -> Path:
    path = tmp_path / "fleet" / "truth.csv"
    path.parent.mkdir()
    path.write_text(TRUTH)
    return path


def write_report(tmp_path: Path, document: object, name: str = "report.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def perfect(tmp_path: Path) -> Path:
    return write_report(
        tmp_path,
        {
            "schema": "triage.report/v1",
            "hosts": [
                {"host": "h1", "status": "healthy", "diagnoses": []},
                {
                    "host": "h2",
                    "status": "faulty",
                    "diagnoses": [{"device": "0000:3b:00.0", "root_cause": "gpu_memory", "action": "rma_gpu"}],
                },
                {
                    "host": "h3",
                    "status": "faulty",
                    "diagnoses": [{"device": "mlx5_0/1", "root_cause": "infiniband_link", "action": "replace_cable"}],
                },
                {
                    "host": "h4",
                    "status": "suspect",
                    "diagnoses": [{"device": None, "root_cause": "performance", "action": "rerun_test"}],
                },
            ],
        },
    )


@pytest.fixture
def all_faulty(tmp_path: Path) -> Path:
    return write_report(tmp_path, ALL_FAULTY)


def test_table_output_for_a_perfect_report(run, truth: Path, perfect: Path) -> None:
    result = run("eval", "--truth", truth, "--report", perfect)
    assert (result.code, result.err) == (0, "")
    lines = result.out.splitlines()
    assert lines[:6] == [
        f"truth: {truth}: 4 host(s) (1 healthy, 1 suspect, 2 faulty), 3 fault(s)",
        f"predictions: report {perfect}: 3 claim(s) on scored hosts",
        "host status accuracy  1.000 (4 of 4 hosts)",
        "macro-F1              1.000 over 3 root cause(s)",
        "false-RMA rate        0.000 (0 of 2 rma_*/replace_cable claims); healthy hosts given one: 0 of 1 (0.000)",
        "missed-fault rate     0.000 (0 of 3 truth faults)",
    ]
    cells = [[c.strip() for c in line.strip("│").split("│")] for line in lines if line.startswith("│ ")]
    rows = {row[0]: row[1:] for row in cells}
    assert rows["gpu_memory"] == ["1", "1", "1", "0", "0", "1.000", "1.000", "1.000"]
    assert rows["nvlink"] == ["0", "0", "0", "0", "0", "n/a", "n/a", "n/a"]
    assert rows["performance"] == ["1", "1", "1", "0", "0", "1.000", "1.000", "1.000"]
    assert len(rows) == 3 + 15  # the confusion rows and every taxonomy root cause
    assert "│ suspect │ 0       │ 1       │ 0      │" in lines


def test_json_output_for_an_all_faulty_report(run, truth: Path, all_faulty: Path) -> None:
    result = run("eval", "--truth", truth, "--report", all_faulty, "--format", "json")
    assert (result.code, result.err) == (0, "")
    doc = json.loads(result.out)
    assert list(doc) == JSON_KEYS
    assert doc["schema"] == "triage.eval/v1"
    assert (doc["truth"], doc["source"]) == (str(truth), {"kind": "report", "path": str(all_faulty)})
    assert (doc["hosts"], doc["status_correct"], doc["status_accuracy"]) == (4, 2, 0.5)
    assert doc["status_confusion"] == {
        "healthy": {"healthy": 0, "suspect": 0, "faulty": 1},
        "suspect": {"healthy": 0, "suspect": 0, "faulty": 1},
        "faulty": {"healthy": 0, "suspect": 0, "faulty": 2},
    }
    [gpu_memory] = [rc for rc in doc["root_causes"] if rc["root_cause"] == "gpu_memory"]
    assert gpu_memory == {
        "root_cause": "gpu_memory", "support": 1, "predicted": 8, "tp": 1, "fp": 7, "fn": 0,
        "precision": 0.125, "recall": 1.0, "f1": pytest.approx(2 / 9),
    }  # fmt: skip
    assert doc["macro_f1_root_causes"] == ["gpu_memory", "infiniband_link", "performance"]
    assert doc["macro_f1"] == pytest.approx(2 / 27)
    assert (doc["truth_faults"], doc["claims"], doc["missed_faults"], doc["missed_fault_rate"]) == (
        3, 8, 1, pytest.approx(1 / 3)
    )  # fmt: skip
    assert (doc["rma_claims"], doc["false_rma"], doc["false_rma_rate"]) == (8, 5, 0.625)
    assert (doc["healthy_hosts"], doc["false_rma_host_count"], doc["false_rma_hosts"]) == (1, 1, 1.0)
    assert doc["unscored_hosts"] == []
    assert doc["per_host"] == [
        {"host": "h1", "truth_status": "healthy", "predicted_status": "faulty", "correct": False},
        {"host": "h2", "truth_status": "faulty", "predicted_status": "faulty", "correct": True},
        {"host": "h3", "truth_status": "faulty", "predicted_status": "faulty", "correct": True},
        {"host": "h4", "truth_status": "suspect", "predicted_status": "faulty", "correct": False},
    ]


def test_truth_folder_and_hosts_outside_the_truth(run, truth: Path, tmp_path: Path) -> None:
    report = write_report(
        tmp_path,
        {"hosts": [{"host": "h1", "status": "healthy"}, {"host": "x9", "status": "faulty"}]},
    )
    result = run("eval", "--truth", truth.parent, "--report", report, "--format", "json")
    assert result.code == 0
    doc = json.loads(result.out)
    assert doc["truth"] == str(truth)
    assert doc["unscored_hosts"] == ["x9"]
    assert (doc["status_accuracy"], doc["missed_fault_rate"], doc["macro_f1"]) == (0.25, 1.0, 0.0)


def make_store(db_path: Path, hosts: list[str], diagnoses: list[tuple[str, str | None, str, str]]) -> None:
    with Store.open(db_path) as store:
        store.append(
            "files",
            pl.DataFrame(
                {
                    "file_id": list(range(1, len(hosts) + 1)),
                    "path": [f"{h}/dmesg.log" for h in hosts],
                    "host": hosts,
                    "status": ["ok"] * len(hosts),
                }
            ),
        )
        if diagnoses:
            store.append(
                "diagnoses",
                pl.DataFrame(diagnoses, schema=["host", "device", "root_cause", "action"], orient="row").with_row_index(
                    "diagnosis_id", offset=1
                ),
            )


def test_db_predictions(run, truth: Path, db_path: Path) -> None:
    make_store(
        db_path,
        ["h1", "h2", "h3", "h4"],
        [
            ("h2", "0000:3B:00.0", "gpu_memory", "rma_gpu"),
            ("h3", "mlx5_0/1", "infiniband_link", "monitor"),
            ("h4", "0000:18:00.0", "performance", "none"),  # info only: claims nothing
        ],
    )
    result = run("eval", "--truth", truth, "--db", db_path, "--format", "json")
    assert (result.code, result.err) == (0, "")
    doc = json.loads(result.out)
    assert doc["source"] == {"kind": "db", "path": str(db_path)}
    assert [(h["host"], h["predicted_status"]) for h in doc["per_host"]] == [
        ("h1", "healthy"),
        ("h2", "faulty"),
        ("h3", "suspect"),
        ("h4", "healthy"),
    ]
    assert (doc["status_correct"], doc["claims"], doc["missed_faults"], doc["false_rma"]) == (2, 2, 1, 0)
    assert doc["macro_f1"] == pytest.approx(2 / 3)


def test_db_from_the_environment_and_a_store_without_diagnoses(
    run, truth: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_store(db_path, ["h1", "h2"], [])
    monkeypatch.setenv("TRIAGE_DB", str(db_path))
    result = run("eval", "--truth", truth)
    assert result.code == 0
    assert (
        result.err == f"note: {db_path} has no diagnoses with an action on the truth's hosts: all predicted healthy\n"
    )
    assert "host status accuracy  0.250 (1 of 4 hosts)" in result.out.splitlines()


def test_report_wins_over_the_db_of_the_environment(
    run, truth: Path, perfect: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_DB", "/nonexistent/triage.duckdb")
    result = run("eval", "--truth", truth, "--report", perfect, "--format", "json")
    assert result.code == 0
    assert json.loads(result.out)["source"]["kind"] == "report"


@pytest.mark.parametrize(
    ("threshold", "code", "err"),
    [
        pytest.param("0.07", 0, "", id="above"),
        pytest.param("0.08", 1, "error: macro-F1 0.074 is below --fail-under 0.08\n", id="below"),
    ],
)
def test_fail_under(run, truth: Path, all_faulty: Path, threshold: str, code: int, err: str) -> None:
    result = run("eval", "--truth", truth, "--report", all_faulty, "--format", "json", "--fail-under", threshold)
    assert (result.code, result.err) == (code, err)
    assert json.loads(result.out)["macro_f1"] == pytest.approx(2 / 27)  # printed either way


def test_fail_under_without_truth_faults(run, tmp_path: Path, perfect: Path) -> None:
    healthy = tmp_path / "healthy.csv"
    healthy.write_text("host,device,root_cause,action\nh1,,none,none\n")
    result = run("eval", "--truth", healthy, "--report", perfect, "--fail-under", "0.5")
    assert result.code == 1
    assert result.err == "error: --fail-under: macro-F1 is undefined (the truth has no fault rows)\n"
    assert "macro-F1              n/a (no truth faults) over 0 root cause(s)" in result.out.splitlines()


def _bad_truth(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        pytest.param("missing-truth", "error: {tmp}/nothere.csv: no such file", id="missing-truth"),
        pytest.param(
            "bad-header",
            "error: {tmp}/bad.csv:1: missing column(s) root_cause (the header needs host, device, root_cause, action; "
            "it has host, device, cause, action)",
            id="bad-header",
        ),
        pytest.param(
            "unknown-root-cause",
            "error: {tmp}/bad.csv:3: unknown root_cause 'hbm' (expected a taxonomy root cause or none)",
            id="unknown-root-cause",
        ),
        pytest.param("missing-report", "error: {tmp}/nothere.json: no such file", id="missing-report"),
        pytest.param(
            "report-without-hosts",
            "error: {tmp}/report.json: no `hosts` in the report (expected the output of `triage report --format json`)",
            id="report-without-hosts",
        ),
        pytest.param(
            "missing-db", "error: {tmp}/nothere.duckdb: no triage database here (run `triage ingest` first)", id="db"
        ),
        pytest.param(
            "plain-duckdb",
            "error: {tmp}/plain.duckdb: not a triage database (tables without triage_meta)",
            id="plain-db",
        ),
        pytest.param(
            "no-diagnoses-table",
            "error: {tmp}/db/triage.duckdb: no diagnoses table (not a triage database?)",
            id="no-diagnoses-table",
        ),
        pytest.param("both", "error: give --report or --db, not both", id="report-and-db"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(
    run, truth: Path, tmp_path: Path, db_path: Path, case: str, expected: str
) -> None:
    source = ["--report", str(write_report(tmp_path, ALL_FAULTY, "ok.json"))]
    if case == "missing-truth":
        truth = tmp_path / "nothere.csv"
    elif case == "bad-header":
        truth = _bad_truth(tmp_path, "host,device,cause,action\nh1,,none,none\n")
    elif case == "unknown-root-cause":
        truth = _bad_truth(tmp_path, "host,device,root_cause,action\nh1,,none,none\nh2,gpu0,hbm,rma_gpu\n")
    elif case == "missing-report":
        source = ["--report", str(tmp_path / "nothere.json")]
    elif case == "report-without-hosts":
        source = ["--report", str(write_report(tmp_path, {"schema": "triage.report/v1"}))]
    elif case == "missing-db":
        source = ["--db", str(tmp_path / "nothere.duckdb")]
    elif case == "plain-duckdb":
        with duckdb.connect(str(tmp_path / "plain.duckdb")) as con:
            con.execute("CREATE TABLE diagnoses (host VARCHAR)")
        source = ["--db", str(tmp_path / "plain.duckdb")]
    elif case == "no-diagnoses-table":
        with Store.open(db_path) as store:
            store.execute("DROP TABLE diagnoses")
        source = ["--db", str(db_path)]
    elif case == "both":
        source += ["--db", str(db_path)]
    result = run("eval", "--truth", truth, *source)
    assert result.code == 1
    assert result.out == ""
    assert result.err == expected.format(tmp=tmp_path) + "\n"


# -- the real entry point ---------------------------------------------------------------------


def triage(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TRIAGE_DB"}
    return subprocess.run(
        [sys.executable, "-m", "triage", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_subprocess_json_and_exit_codes(tmp_path: Path, truth: Path, perfect: Path) -> None:
    ok = triage("eval", "--truth", truth, "--report", perfect, "--format", "json", "--fail-under", "1", cwd=tmp_path)
    assert (ok.returncode, ok.stderr) == (0, "")
    doc = json.loads(ok.stdout)
    assert (doc["status_accuracy"], doc["macro_f1"], doc["false_rma_rate"], doc["missed_fault_rate"]) == (1, 1, 0, 0)

    bad = triage("eval", "--truth", tmp_path / "nothere.csv", "--report", perfect, cwd=tmp_path)
    assert (bad.returncode, bad.stdout) == (1, "")
    assert bad.stderr.splitlines() == [f"error: {tmp_path}/nothere.csv: no such file"]


def test_subprocess_help_lists_eval(tmp_path: Path) -> None:
    top = triage("--help", cwd=tmp_path)
    assert "  eval " in top.stdout
    own = triage("eval", "--help", cwd=tmp_path)
    assert own.returncode == 0
    for key in ("triage.eval/v1", "false_rma_hosts", "per_host", "macro-F1", "--fail-under"):
        assert key in own.stdout
