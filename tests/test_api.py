"""The Python API (`import triage`): the tables with keyword filters, the stages, and what the CLI shares with it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from click.testing import CliRunner
from conftest import SAMPLE_BASELINE, SAMPLE_HOSTS

import triage
from triage.cli import cli as cli_group
from triage.errors import TriageError


@pytest.fixture(scope="module")
def fleet(sample_db: Path) -> Any:
    with triage.open(sample_db, read_only=True) as opened:
        yield opened


def cli(*args: str) -> str:
    result = CliRunner().invoke(cli_group, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_public_names_are_exported_and_documented() -> None:
    assert triage.__all__ == ["Fleet", "TriageError", "open", "parse_duration", "parse_time", "scan"]
    for name in triage.__all__:
        assert getattr(triage, name).__doc__, name
    assert set(triage.__all__) <= set(dir(triage))


def test_importing_triage_loads_neither_polars_nor_duckdb() -> None:
    code = "import sys, triage; print(sorted(m for m in ('polars', 'duckdb') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == "[]\n"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'triage' has no attribute 'nope'"):
        _ = triage.nope  # type: ignore[attr-defined]


# -- the tables, filtered ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "column", "expected"),
    [
        pytest.param(
            lambda f: f.hosts(status="faulty"),
            "host",
            [
                "node0001",
                "node0003",
                "node0006",
                "node0007",
                "node0008",
                "node0010",
                "node0011",
                "node0013",
                "node0019",
                "node0021",
                "node0022",
                "node0024",
            ],
            id="hosts-faulty",
        ),
        pytest.param(lambda f: f.hosts(status=["suspect"]), "host", ["node0020"], id="hosts-suspect"),
        pytest.param(
            lambda f: f.events(host="node0006", rule="xid-79"),
            "message",
            ["NVRM: Xid (PCI:0000:ba:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus."],
            id="events-by-rule",
        ),
        pytest.param(lambda f: f.events(host="node00*", rule="xid-79"), "host", ["node0006"], id="events-host-glob"),
        pytest.param(lambda f: f.events(host="node0006", contains="Xid"), "line_no", [615], id="events-contains"),
        pytest.param(
            lambda f: f.findings(host="node0006", severity="error"),
            "rule_id",
            [
                "pcie-aer-bus-error-fatal",
                "pcie-aer-recovery-failed",
                "pcie-aer-surprise-down",
                "pcie-aer-uncorrected-fatal",
                "gpu-fallen-off-bus",
                "xid-79",
                "nccl-cuda-error",
            ],
            id="findings-severity-and-worse",
        ),
        pytest.param(
            lambda f: f.findings(rule="xid-4?").group_by("rule_id").len().sort("rule_id"),
            "len",
            [5, 2],
            id="findings-rule-glob",
        ),
        pytest.param(
            lambda f: f.anomalies(host="node0020", level="investigate"),
            "metric",
            ["busbw", "avg_busbw", "busbw", "avg_busbw"],
            id="anomalies-level-and-above",
        ),
        pytest.param(
            lambda f: f.anomalies(host="node0020", detector="baseline", metric="avg_busbw"),
            "level",
            ["drain"],
            id="anomalies-detector-metric",
        ),
        pytest.param(
            lambda f: f.diagnoses(action="rma_*"),
            "host",
            ["node0006", "node0022", "node0013", "node0008", "node0011", "node0024"],
            id="diagnoses-rma",
        ),
        pytest.param(
            lambda f: f.diagnoses(root_cause="gpu_memory"),
            "device",
            ["0000:5d:00.0", "0000:5d:00.0"],
            id="diagnoses-cause",
        ),
        pytest.param(lambda f: f.diagnoses(rule="xid-79"), "host", ["node0006"], id="diagnoses-primary-rule"),
        pytest.param(
            lambda f: f.measurements(host="node0020", test="nccl_*", metric="avg_busbw"),
            "value",
            [123.279],
            id="measurements",
        ),
        pytest.param(
            lambda f: f.test_runs(host="node0011", status="fail"),
            "test",
            ["dcgm_diagnostic", "dcgm_targeted_stress", "hpl"],
            id="test-runs-failed",
        ),
        pytest.param(
            lambda f: f.assets(host="node0006", kind="gpu", device="0000:ba:00.0").filter(
                pl.col("serial").is_not_null()
            ),
            "serial",
            ["1658305764966"],
            id="assets",
        ),
        pytest.param(
            lambda f: f.files(host="node0001", kind="ib_counters"),
            "path",
            [
                str(SAMPLE_HOSTS / "node0001/ib/counters-after.txt"),
                str(SAMPLE_HOSTS / "node0001/ib/counters-before.txt"),
            ],
            id="files",
        ),
        pytest.param(
            lambda f: f.counter_deltas("node0001").filter(
                pl.col("device") == "mlx5_2/1", pl.col("counter") == "symbol_error"
            ),
            "delta",
            [1322.0],
            id="counter-deltas",
        ),
        pytest.param(
            lambda f: f.sql("SELECT count(*) AS n FROM events WHERE host = 'node0006' AND message LIKE '%Xid%'"),
            "n",
            [1],
            id="sql",
        ),
    ],
)
def test_tables_filter_by_keyword(fleet: Any, call: Any, column: str, expected: list[Any]) -> None:
    assert call(fleet)[column].to_list() == expected


@pytest.mark.parametrize(
    ("since", "until", "lines"),
    [
        pytest.param("2026-11-16T10:00:00Z", "2026-11-16T10:05:00Z", 8, id="iso-z"),
        pytest.param(datetime(2026, 11, 16, 10), datetime(2026, 11, 16, 10, 5), 8, id="naive-is-utc"),
        pytest.param(
            datetime(2026, 11, 16, 11, tzinfo=UTC) + timedelta(hours=-1),
            "2026-11-16T12:05:00+02:00",
            8,
            id="offsets",
        ),
        pytest.param("2026-11-16T10:00:00Z", None, 26, id="open-ended"),
    ],
)
def test_events_between_times(fleet: Any, since: Any, until: Any, lines: int) -> None:
    assert fleet.events(host="node0006", since=since, until=until).height == lines


def test_findings_overlapping_a_window(fleet: Any) -> None:
    found = fleet.findings(host="node0006", since="2026-11-16T10:01:49Z", until="2026-11-16T10:01:49Z")
    assert sorted(found["rule_id"].to_list()) == ["gpu-fallen-off-bus", "xid-79"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda f: f.diagnoses(host="node06"), "no host 'node06' in the store (close: node0006", id="unknown-host"
        ),
        pytest.param(
            lambda f: f.anomalies(level="panic"),
            "unknown level 'panic' (use one of monitor, investigate, drain)",
            id="unknown-level",
        ),
        pytest.param(
            lambda f: f.findings(severity="fatal"),
            "unknown severity 'fatal' (use one of info, warning, error, critical)",
            id="unknown-severity",
        ),
        pytest.param(
            lambda f: f.events(since="yesterday"),
            "since: 'yesterday' is not an ISO time such as 2026-11-20T03:12:09Z",
            id="bad-time",
        ),
        pytest.param(
            lambda f: f.events(until=3), "until: expected a datetime or an ISO string, not int", id="not-a-time"
        ),
        pytest.param(
            lambda f: f.report("pdf"),
            "unknown report format 'pdf' (use one of md, json, csv, html)",
            id="unknown-format",
        ),
        pytest.param(
            lambda f: f.timeline("node0006", window="soon"),
            "'soon' is not a duration such as 30s, 10m, 2h or 1d",
            id="bad-window",
        ),
        pytest.param(
            lambda f: f.sql("DELETE FROM events"), "query: only read-only statements are allowed", id="sql-write"
        ),
    ],
)
def test_bad_arguments_are_one_line_errors(fleet: Any, call: Any, message: str) -> None:
    with pytest.raises(TriageError) as caught:
        call(fleet)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90), ("30s", 30), ("10m", 600), ("1.5h", 5400), ("1d", 86400), ("2 min", 120)],
)
def test_durations(text: str, seconds: float) -> None:
    assert triage.parse_duration(text).total_seconds() == seconds


def test_status_counts_and_verdict(fleet: Any) -> None:
    assert fleet.status_counts() == {"faulty": 12, "suspect": 1, "healthy": 11}
    assert fleet.status_counts(["node0006", "node0002"]) == {"faulty": 1, "suspect": 0, "healthy": 1}
    verdict = fleet.verdict("node0006")
    assert (verdict["status"], [d["action"] for d in verdict["diagnoses"]]) == ("faulty", ["rma_gpu"])


def test_timeline_around_an_incident(fleet: Any) -> None:
    rows = fleet.timeline("node0006", around="2026-11-16T10:01:49Z", window="30s")
    assert rows.select("kind", "source").rows() == [
        ("finding", "pcie-aer-uncorrected-fatal"),
        ("finding", "pcie-aer-bus-error-fatal"),
        ("finding", "pcie-aer-status"),
        ("finding", "pcie-aer-surprise-down"),
        ("finding", "pcie-aer-recovery-failed"),
        ("finding", "xid-79"),
        ("finding", "gpu-fallen-off-bus"),
        ("anomaly", "rare_template"),
    ]


def test_rma_tickets(fleet: Any) -> None:
    tickets = fleet.rma()
    assert [(t["host"], t["requested_action"]) for t in tickets] == [
        ("node0006", "rma_gpu"),
        ("node0008", "rma_baseboard"),
        ("node0011", "rma_gpu"),
        ("node0013", "rma_hca"),
        ("node0022", "rma_gpu"),
        ("node0024", "rma_dimm"),
    ]


# -- the CLI prints what the API returns --------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "json", "csv", "html"])
def test_the_cli_report_is_the_api_report(fleet: Any, sample_db: Path, fmt: str) -> None:
    api = fleet.report(fmt)
    printed = cli("report", "--db", str(sample_db), "--format", fmt)
    if fmt == "json":  # generated_at differs
        api, printed = json.loads(api), json.loads(printed)
        api.pop("generated_at"), printed.pop("generated_at")
    elif fmt == "html":
        api, printed = _without_generated(api), _without_generated(printed)
    assert printed == api


def _without_generated(page: str) -> str:
    import re

    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<time>", page)


def test_the_cli_fleet_and_query_are_the_api_frames(fleet: Any, sample_db: Path) -> None:
    assert cli("fleet", "--db", str(sample_db), "--format", "csv") == fleet.hosts().write_csv()
    sql = "SELECT host, count(*) AS n FROM findings GROUP BY host ORDER BY host"
    assert cli("query", sql, "--db", str(sample_db), "--format", "csv") == fleet.sql(sql).write_csv()


# -- the stages ---------------------------------------------------------------------------------------


def test_ingest_analyze_report_round_trip(tmp_path: Path) -> None:
    fleet_dir = tmp_path / "fleet"
    for host in ("node0006", "node0002"):
        shutil.copytree(SAMPLE_HOSTS / host, fleet_dir / host)
    with triage.open(tmp_path / "t.duckdb") as fleet:
        ingested = fleet.ingest(fleet_dir)  # one path alone, not in a list, is fine too
        assert (ingested.ingested, sorted(ingested.hosts), ingested.errors) == (18, ["node0002", "node0006"], [])
        assert fleet.last_ingest is ingested
        analysis = fleet.analyze(baseline=SAMPLE_BASELINE)
        assert analysis.diagnosis is not None
        assert analysis.diagnosis.by_status == {"faulty": 1, "suspect": 0, "healthy": 1}
        assert fleet.hosts()["status"].to_list() == ["faulty", "healthy"]
        assert fleet.hosts()["action"].to_list() == ["rma_gpu", None]
        rules_only = fleet.analyze(detectors=False)
        assert (rules_only.anomalies, rules_only.diagnosis) == (None, None)
        doc = fleet.document()
    assert [(h["host"], h["status"]) for h in doc["hosts"]] == [("node0006", "faulty"), ("node0002", "healthy")]


def test_ingest_names_the_host_and_reads_the_zone(tmp_path: Path) -> None:
    log = tmp_path / "kern.log"
    log.write_text("Nov 16 10:01:49 anything kernel: NVRM: Xid (PCI:0000:ba:00): 79, GPU has fallen off the bus.\n")
    with triage.open(":memory:") as fleet:
        fleet.ingest([log], host="node9", timezone="Europe/Berlin")
        rows = fleet.events()
    assert (rows["host"].to_list(), rows["ts"].dt.hour().to_list()) == (["node9"], [9])


def test_ingest_refuses_an_unknown_zone_and_no_paths() -> None:
    with triage.open(":memory:") as fleet:
        with pytest.raises(TriageError, match="unknown time zone 'Mars/Olympus'"):
            fleet.ingest(["x"], timezone="Mars/Olympus")
        with pytest.raises(TriageError, match="no paths given"):
            fleet.ingest([])


def test_scan_one_bundle_in_memory() -> None:
    with triage.scan([SAMPLE_HOSTS / "node0006"]) as node:
        assert (node.path, node.scope) == (":memory:", ["node0006"])
        assert node.status_counts() == {"faulty": 1, "suspect": 0, "healthy": 0}
        assert node.diagnoses()["action"].to_list() == ["rma_gpu"]
        report = node.report("md")
    assert "node0006" in report and "rma_gpu" in report


def test_scan_keeps_the_report_to_its_hosts_when_the_store_has_others(tmp_path: Path, sample_db: Path) -> None:
    db = tmp_path / "kept.duckdb"
    shutil.copy(sample_db, db)
    bundle = tmp_path / "node0099"
    shutil.copytree(SAMPLE_HOSTS / "node0002", bundle)
    with triage.scan(bundle, db=db) as node:
        assert node.scope == ["node0099"]
        assert [h["host"] for h in node.document()["hosts"]] == ["node0099"]
        assert node.hosts()["host"].to_list() == ["node0099"]
        assert node.files()["host"].unique().to_list() == ["node0099"]
        assert node.files(host="node0006").height == 9  # outside the scope, by name
    with triage.open(db, read_only=True) as kept:
        assert kept.status_counts()["healthy"] == 12


def test_scan_of_nothing_readable_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TriageError, match="nothing to scan: no readable file in"):
        triage.scan([empty])


def test_open_read_only_needs_a_store(tmp_path: Path) -> None:
    with pytest.raises(TriageError, match="no triage database here"):
        triage.open(tmp_path / "missing.duckdb", read_only=True)


def test_the_cli_scan_is_the_api_scan(tmp_path: Path) -> None:
    bundle = str(SAMPLE_HOSTS / "node0006")
    page = tmp_path / "node0006.html"
    result = CliRunner().invoke(cli_group, ["scan", bundle, "--format", "html", "-o", str(page)])
    assert (result.exit_code, result.stderr) == (0, f"wrote {page}\n")
    with triage.scan([bundle]) as node:
        api = node.report("html")
    assert _without_generated(page.read_text()) == _without_generated(api)
    assert 'id="host-node0006"' in api


def test_scan_of_unreadable_files_says_why(tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_text("")
    (tmp_path / "bin.dat").write_bytes(bytes(range(256)) * 8)
    paths = [tmp_path / "empty.log", tmp_path / "bin.dat"]
    with pytest.raises(TriageError) as caught:
        triage.scan(paths, host="n1")
    assert str(caught.value) == (
        f"nothing to scan: no readable file in {paths[0]}, {paths[1]} "
        f"({paths[0]}: empty file; {paths[1]}: binary file (not text))"
    )
