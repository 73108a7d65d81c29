"""`triage rules ...` and `triage analyze` through the command line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

RULES = Path(__file__).parents[2] / "rules"


def triage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "triage", *args], capture_output=True, text=True, check=False)


def test_rules_list_show_test_and_lint_on_the_shipped_pack() -> None:
    listed = triage("rules", "list")
    shown = triage("rules", "show", "xid-79")
    tested = triage("rules", "test", "--failures")
    linted = triage("rules", "lint")

    assert (listed.returncode, shown.returncode, tested.returncode, linted.returncode) == (0, 0, 0, 0)
    assert "xid" in listed.stdout
    assert "catalog row:" in shown.stdout and "'code': '79'" in shown.stdout
    assert tested.stdout.splitlines()[-1].endswith(" passed, 0 failed")
    assert "no problems" in linted.stdout


def test_lint_prints_each_problem_and_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    broken = (folder / "xid.yaml").read_text().replace("severity: error", "severity: dire")
    (folder / "xid.yaml").write_text(broken)

    linted = triage("rules", "lint", "--rules", str(folder))

    assert linted.returncode == 1
    assert linted.stderr.splitlines() == [line for line in linted.stderr.splitlines() if ".yaml:" in line]
    assert "severity 'dire' is not one of info, warning, error, critical" in linted.stderr


def test_rules_test_exits_1_when_an_example_fails(tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    text = (folder / "xid.yaml").read_text().replace('fields: {bdf: "0000:03:00", xid: "14"}', 'fields: {xid: "15"}')
    (folder / "xid.yaml").write_text(text)

    tested = triage("rules", "test", "--rules", str(folder), "--failures")

    assert tested.returncode == 1
    assert "xid: expected '15', got '14'" in tested.stdout


def test_unknown_rule_is_one_line(tmp_path: Path) -> None:
    shown = triage("rules", "show", "no-such-rule")

    assert (shown.returncode, shown.stderr.strip()) == (1, "error: no rule 'no-such-rule' (see `triage rules list`)")


def test_analyze_prints_a_summary(tmp_path: Path) -> None:
    log = tmp_path / "node017" / "dmesg.log"
    log.parent.mkdir()
    log.write_text(
        "[ 4182.123456] NVRM: Xid (PCI:0000:3b:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus.\n"
    )
    db = str(tmp_path / "t.duckdb")
    assert triage("ingest", str(tmp_path / "node017"), "--db", db).returncode == 0

    analyzed = triage("analyze", "--db", db)

    assert analyzed.returncode == 0
    assert analyzed.stdout.startswith("analyzed 1 events (1 candidates) with ")
    assert "1 finding(s) (1 critical)" in analyzed.stdout


def test_analyze_without_a_store_and_testing_an_unknown_rule_are_one_line_errors(tmp_path: Path) -> None:
    missing = tmp_path / "none.duckdb"

    analyzed = triage("analyze", "--db", str(missing))
    tested = triage("rules", "test", "--rule", "no-such-rule")

    assert (analyzed.returncode, analyzed.stderr.strip()) == (
        1,
        f"error: {missing}: no triage database here (run `triage ingest` first)",
    )
    assert not missing.exists()
    assert (tested.returncode, tested.stderr.strip()) == (1, "error: no rule 'no-such-rule' (see `triage rules list`)")
