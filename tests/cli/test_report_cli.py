"""`triage report`, `rma`, `fleet`, `host` and `scan`: formats, -o, --fail-on exit codes and one-line errors.

The store is the crafted one of tests/report/crafted.py (node-a and node-b faulty, node-d suspect,
node-c healthy); scan runs on the committed sample fleet.
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
import shutil
from pathlib import Path

import pytest

from triage.api import parse_duration
from triage.cli import cli, main
from triage.cli import fleet as fleet_cli
from triage.cli import host as host_cli
from triage.cli import report as report_cli
from triage.cli import rma as rma_cli
from triage.cli import scan as scan_cli
from triage.discover import bundle_host
from triage.store import Store

for _module in (report_cli, rma_cli, fleet_cli, host_cli, scan_cli):  # until triage/cli/__init__.py registers them
    if _module.command.name not in cli.commands:
        cli.add_command(_module.command)

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "datasets" / "sample-fleet" / "hosts"
TRUTH = REPO / "datasets" / "sample-fleet" / "truth.csv"
_spec = importlib.util.spec_from_file_location("report_crafted", REPO / "tests" / "report" / "crafted.py")
assert _spec is not None and _spec.loader is not None
crafted = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(crafted)


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


@pytest.fixture
def db(db_path: Path) -> str:
    """The crafted store, on disk and closed (commands open it read-only)."""
    with Store.open(db_path) as store:
        crafted.craft(store)
    return str(db_path)


@pytest.fixture
def healthy_db(db_path: Path) -> str:
    with Store.open(db_path) as store:
        crafted.craft(store, diagnoses=False)
    return str(db_path)


# -- report -----------------------------------------------------------------------------------


def test_report_markdown_to_stdout_by_default(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, err = call(capsys, "report", "--db", db)
    assert (code, err) == (0, "")
    assert out.startswith("# Triage report\n\nGenerated ")
    assert out.endswith("## Healthy hosts (1)\n\nnode-c\n")
    assert "## node-a (faulty)\n" in out and "## node-d (suspect)\n" in out


def test_report_json_is_the_contract(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = call(capsys, "report", "--db", db, "--format", "json")
    doc = json.loads(out)
    assert code == 0
    assert list(doc) == ["schema", "generated_at", "fleet", "hosts"]
    assert doc["schema"] == "triage.report/v1"
    assert doc["fleet"] == {
        "hosts": 4,
        "healthy": 1,
        "suspect": 1,
        "faulty": 2,
        "by_root_cause": {"application": 1, "gpu_memory": 1, "host_hardware": 1, "infiniband_link": 1},
    }
    assert [(h["host"], h["status"], len(h["diagnoses"])) for h in doc["hosts"]] == [
        ("node-a", "faulty", 2),
        ("node-b", "faulty", 1),
        ("node-d", "suspect", 1),
        ("node-c", "healthy", 0),
    ]


def test_report_csv_to_a_file(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    target = tmp_path / "rma.csv"
    code, out, err = call(capsys, "report", "--db", db, "--format", "csv", "-o", str(target))
    assert (code, out, err) == (0, "", f"wrote {target}\n")
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [(r["host"], r["device"], r["gpu_serial"], r["action"]) for r in rows] == [
        ("node-a", crafted.GPU, crafted.SERIAL, "rma_gpu"),
        ("node-a", "", "", "restart_app"),
        ("node-b", "mlx5_2/1", "", "replace_cable"),
        ("node-d", "", "", "monitor"),
    ]


def test_report_of_some_hosts(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = call(capsys, "report", "--db", db, "--format", "json", "--host", "node-c", "--host", "node-b")
    assert code == 0
    assert [h["host"] for h in json.loads(out)["hosts"]] == ["node-b", "node-c"]


@pytest.mark.parametrize(
    ("fail_on", "fixture", "code", "message"),
    [
        pytest.param("faulty", "db", 1, "2 host(s) faulty (--fail-on faulty)\n", id="faulty"),
        pytest.param("suspect", "db", 1, "3 host(s) suspect or faulty (--fail-on suspect)\n", id="suspect"),
        pytest.param("faulty", "healthy_db", 0, "", id="faulty-all-healthy"),
        pytest.param("suspect", "healthy_db", 0, "", id="suspect-all-healthy"),
    ],
)
def test_report_fail_on(
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fail_on: str,
    fixture: str,
    code: int,
    message: str,
) -> None:
    target = tmp_path / "report.json"
    got = call(capsys, "report", "--db", request.getfixturevalue(fixture), "--format", "json", "-o", str(target),
               "--fail-on", fail_on)  # fmt: skip
    assert got == (code, "", f"wrote {target}\n{message}")
    assert json.loads(target.read_text())["schema"] == "triage.report/v1"  # written before the exit code


def test_report_fail_on_of_a_healthy_host_selection(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, _, err = call(capsys, "report", "--db", db, "--host", "node-c", "--fail-on", "suspect")
    assert (code, err) == (0, "")


@pytest.mark.parametrize("command", ["report", "rma"])
def test_unknown_host_is_a_one_line_error(capsys: pytest.CaptureFixture[str], db: str, command: str) -> None:
    code, out, err = call(capsys, command, "--db", db, "--host", "node-x")
    assert (code, out) == (1, "")
    assert err == "error: no host 'node-x' in the store (close: node-a, node-b, node-c, node-d)\n"


@pytest.mark.parametrize("command", ["report", "rma", "fleet"])
def test_missing_store_is_a_one_line_error(capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str) -> None:
    missing = tmp_path / "nothing.duckdb"
    code, _, err = call(capsys, command, "--db", str(missing))
    assert (code, err) == (1, f"error: {missing}: no triage database here (run `triage ingest` first)\n")


def test_report_to_an_unwritable_file(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    code, _, err = call(capsys, "report", "--db", db, "-o", str(tmp_path / "no" / "such" / "dir.md"))
    assert code == 1
    assert err.startswith("error: ") and err.endswith("cannot write: no such file or directory\n")


def test_eval_reads_the_report_json(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    call(capsys, "report", "--db", db, "--format", "json", "-o", str(target))
    truth = tmp_path / "truth.csv"
    truth.write_text(f"host,device,root_cause,action\nnode-a,{crafted.GPU},gpu_memory,rma_gpu\nnode-c,,none,none\n")
    code, out, _ = call(capsys, "eval", "--truth", str(truth), "--report", str(target), "--format", "json")
    result = json.loads(out)
    assert code == 0
    assert (result["status_accuracy"], result["macro_f1"], result["missed_faults"]) == (1.0, 1.0, 0)


# -- rma --------------------------------------------------------------------------------------


def test_rma_text(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = call(capsys, "rma", "--db", db)
    assert code == 0
    assert out.startswith("RMA request: node-a gpu 0000:3b:00.0: rma_gpu\n")
    assert "  - XID 48 (Double Bit ECC Error) x2, 2026-11-16T07:12:03Z .. 07:40:10Z, in 2 boots\n" in out
    assert out.endswith("Requested action: rma_gpu (replace the GPU)\n")


def test_rma_json_to_a_file(capsys: pytest.CaptureFixture[str], db: str, tmp_path: Path) -> None:
    target = tmp_path / "rma.json"
    code, out, err = call(capsys, "rma", "--db", db, "--format", "json", "-o", str(target))
    doc = json.loads(target.read_text())
    assert (code, out, err) == (0, "", f"wrote {target}\n")
    assert doc["schema"] == "triage.rma/v1"
    assert [(t["host"], t["device"], t["identity"]["serial"]) for t in doc["tickets"]] == [
        ("node-a", crafted.GPU, crafted.SERIAL)
    ]


def test_rma_without_tickets(capsys: pytest.CaptureFixture[str], healthy_db: str) -> None:
    assert call(capsys, "rma", "--db", healthy_db) == (
        0,
        "No diagnosis asks for an RMA or the vendor (rma_*, contact_vendor).\n",
        "",
    )


# -- fleet ------------------------------------------------------------------------------------


def test_fleet_json(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = call(capsys, "fleet", "--db", db, "--format", "json")
    assert code == 0
    assert json.loads(out) == [
        {"host": "node-a", "status": "faulty", "diagnoses": 2, "device": crafted.GPU, "root_cause": "gpu_memory",
         "action": "rma_gpu", "summary": "Uncorrectable HBM ECC (XID 48) twice, across a reboot, on GPU 2"},
        {"host": "node-b", "status": "faulty", "diagnoses": 1, "device": "mlx5_2/1", "root_cause": "infiniband_link",
         "action": "replace_cable", "summary": "Symbol errors rising and the link went down on mlx5_2/1"},
        {"host": "node-d", "status": "suspect", "diagnoses": 1, "device": None, "root_cause": "host_hardware",
         "action": "monitor", "summary": "Corrected machine-check errors"},
        {"host": "node-c", "status": "healthy", "diagnoses": 0, "device": None, "root_cause": None, "action": None,
         "summary": None},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("statuses", "hosts"),
    [
        pytest.param(["faulty"], ["node-a", "node-b"], id="faulty"),
        pytest.param(["suspect", "healthy"], ["node-d", "node-c"], id="suspect-and-healthy"),
    ],
)
def test_fleet_status_filter(
    capsys: pytest.CaptureFixture[str], db: str, statuses: list[str], hosts: list[str]
) -> None:
    args = [a for s in statuses for a in ("--status", s)]
    code, out, _ = call(capsys, "fleet", "--db", db, "--format", "csv", *args)
    assert code == 0
    assert [r["host"] for r in csv.DictReader(io.StringIO(out))] == hosts


def test_fleet_table(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = call(capsys, "fleet", "--db", db, "--limit", "3")
    lines = out.splitlines()
    assert code == 0
    assert lines[-1] == "4 host(s): 2 faulty, 1 suspect, 1 healthy, first 3 shown"
    assert sum("node-" in line for line in lines) == 3


# -- host -------------------------------------------------------------------------------------


def test_host_table(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = call(capsys, "host", "node-a", "--db", db)
    assert code == 0
    assert out.startswith("node-a: faulty, 2 diagnoses\n")
    assert "timeline: 7 row(s)\n" in out
    assert "sudo: root : TTY=pts/0" in out


def test_host_json_around(capsys: pytest.CaptureFixture[str], db: str) -> None:
    code, out, _ = call(capsys, "host", "node-a", "--db", db, "--around", "2026-11-16T07:40:00Z", "--window", "2m",
                        "--format", "json")  # fmt: skip
    doc = json.loads(out)
    assert code == 0
    assert list(doc) == ["host", "status", "diagnoses", "timeline"]
    assert doc["timeline"] == [
        {"ts": "2026-11-16T07:40:10Z", "kind": "finding", "source": "xid-48", "severity": "critical",
         "device": crafted.GPU, "file": "fleet/node-a/dmesg.log", "line_no": 6, "text": crafted.XID48_2},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["node-q"], "error: no host 'node-q' in the store (close: node-a, node-b, node-c, node-d)\n",
                     id="unknown-host"),
        pytest.param(["node-a", "--around", "yesterday"],
                     "error: Invalid value: 'yesterday' is not an ISO time such as 2026-11-20T03:12:09Z\n",
                     id="bad-time"),
        pytest.param(["node-a", "--window", "ten"],
                     "error: Invalid value: 'ten' is not a duration such as 30s, 10m, 2h or 1d\n", id="bad-window"),
    ],
)  # fmt: skip
def test_host_errors_are_one_line(capsys: pytest.CaptureFixture[str], db: str, args: list[str], message: str) -> None:
    assert call(capsys, "host", *args, "--db", db) == (1, "", message)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("30s", 30), ("10m", 600), ("1.5h", 5400), ("1d", 86400), ("2 min", 120)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


# -- scan -------------------------------------------------------------------------------------


def test_bundle_host(tmp_path: Path) -> None:
    bundle = tmp_path / "node017"
    (bundle / "dcgm").mkdir(parents=True)
    (bundle / "dmesg.log").write_text("x\n")
    fleet = tmp_path / "fleet"
    (fleet / "node1").mkdir(parents=True)
    (fleet / "node2.tar.gz").write_bytes(b"")
    (fleet / ".DS_Store").write_text("")
    assert bundle_host([str(bundle)]) == "node017"
    assert bundle_host([str(fleet)]) is None  # folders and archives only: one host each
    assert bundle_host([str(bundle), str(fleet)]) is None  # several paths: DESIGN's rule
    assert bundle_host([str(bundle / "dmesg.log")]) is None  # a file names itself by content


def test_scan_a_node_bundle_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "scan.duckdb"
    code, out, err = call(capsys, "scan", str(SAMPLE / "node0006"), "--format", "json", "--db", str(db))
    doc = json.loads(out)
    assert (code, err) == (0, "")
    assert [h["host"] for h in doc["hosts"]] == ["node0006"]  # the folder's name, not dcgm/ib/nccl
    with Store.open(db, read_only=True) as store:
        assert store.frame("SELECT DISTINCT host FROM files")["host"].to_list() == ["node0006"]
        assert store.count("findings") > 0  # the rules ran


def test_scan_a_fleet_folder_reports_each_host(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    for name in ("node0002", "node0006"):
        shutil.copytree(SAMPLE / name, fleet / name)
    code, out, _ = call(capsys, "scan", str(fleet), "--format", "json")
    assert code == 0
    assert sorted(h["host"] for h in json.loads(out)["hosts"]) == ["node0002", "node0006"]


def test_scan_goes_on_past_a_broken_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bundle = tmp_path / "node0002"
    shutil.copytree(SAMPLE / "node0002", bundle)
    (bundle / "broken.log.gz").write_bytes(gzip.compress(b"x" * 100)[:12])
    target = tmp_path / "out.md"
    code, out, err = call(capsys, "scan", str(bundle), "-o", str(target))
    lines = err.splitlines()
    assert (code, out) == (0, "")
    assert lines[0].startswith(f"error: {bundle / 'broken.log.gz'}: ")
    assert lines[1:] == [f"wrote {target}"]
    assert target.read_text().startswith("# Triage report\n")


def test_scan_with_host_and_fail_on(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "scan.duckdb"
    code, out, err = call(capsys, "scan", str(SAMPLE / "node0006" / "dmesg.log"), "--host", "n6", "--format", "json",
                          "--db", str(db), "--fail-on", "faulty")  # fmt: skip
    doc = json.loads(out)
    assert [h["host"] for h in doc["hosts"]] == ["n6"]
    with Store.open(db, read_only=True) as store:
        diagnosed = store.count("diagnoses")
    if diagnosed == 0:
        pytest.skip("the diagnosis writes nothing yet (placeholder)")
    assert (code, err) == (1, "1 host(s) faulty (--fail-on faulty)\n")
    assert doc["hosts"][0]["status"] == "faulty"


def test_scan_nothing_readable(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = call(capsys, "scan", str(empty))
    assert (code, out) == (1, "")
    assert err == f"error: nothing to scan: no readable file in {empty}\n"


def test_scan_then_eval(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    code, _, _ = call(capsys, "scan", str(SAMPLE), "--format", "json", "-o", str(target))
    assert code == 0
    code, out, _ = call(capsys, "eval", "--truth", str(TRUTH), "--report", str(target), "--format", "json")
    result = json.loads(out)
    assert code == 0
    assert result["hosts"] == 24 and result["unscored_hosts"] == []
