"""Loading predictions: a triage.report/v1 document or a store's diagnoses, with one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from triage.errors import InputError, TriageError
from triage.evaluate import load_report, load_store
from triage.store import Store

REPORT: dict[str, Any] = {
    "schema": "triage.report/v1",
    "generated_at": "2026-11-22T10:00:00Z",
    "fleet": {"hosts": 4},
    "hosts": [
        {"host": "node001", "status": "healthy", "diagnoses": []},
        {
            "host": "node002",
            "status": "faulty",
            "diagnoses": [
                {
                    "component": "gpu",
                    "device": "0000:3b:00.0",
                    "identity": {"index": 2},
                    "root_cause": "gpu_memory",
                    "action": "rma_gpu",
                    "severity": "critical",
                },
                {"device": "0000:18:00.0", "root_cause": "application", "action": "none"},
            ],
        },
        {"host": "node003", "diagnoses": [{"device": None, "root_cause": "performance", "action": "rerun_test"}]},
        {"host": "node004"},
    ],
}


def write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return path


def test_report_hosts_and_diagnoses(tmp_path: Path) -> None:
    predictions = load_report(write(tmp_path, REPORT))
    assert (predictions.source, predictions.path) == ("report", str(tmp_path / "report.json"))
    # node003 and node004 state no status: derived from their actions.
    assert predictions.hosts.rows() == [
        ("node001", "healthy"),
        ("node002", "faulty"),
        ("node003", "suspect"),
        ("node004", "healthy"),
    ]
    assert predictions.diagnoses.rows() == [
        ("node002", "0000:3b:00.0", "gpu_memory", "rma_gpu"),
        ("node002", "0000:18:00.0", "application", "none"),
        ("node003", "", "performance", "rerun_test"),
    ]


def test_report_without_schema_is_accepted(tmp_path: Path) -> None:
    document = {"hosts": [{"host": "n1", "status": "suspect"}]}
    assert load_report(write(tmp_path, document)).hosts.rows() == [("n1", "suspect")]


def _with_host(entry: Any) -> dict[str, Any]:
    return {"schema": "triage.report/v1", "hosts": [{"host": "n0", "diagnoses": []}, entry]}


def _with_diagnosis(diagnosis: Any) -> dict[str, Any]:
    return _with_host({"host": "n1", "status": "faulty", "diagnoses": [diagnosis]})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param('{"hosts": [}', "{p}:1: invalid JSON: Expecting value (column 12)", id="bad-json"),
        pytest.param([], "{p}: not a triage report (expected a JSON object with `hosts`)", id="a-list"),
        pytest.param(
            {"schema": "triage.report/v1", "fleet": {}},
            "{p}: no `hosts` in the report (expected the output of `triage report --format json`)",
            id="no-hosts",
        ),
        pytest.param({"hosts": {"n1": {}}}, "{p}: `hosts` is not a list", id="hosts-not-a-list"),
        pytest.param(
            {"schema": "triage.eval/v1", "hosts": []},
            "{p}: schema 'triage.eval/v1' is not triage.report/v1",
            id="schema",
        ),
        pytest.param(_with_host("n1"), "{p}: hosts[1]: not an object with host, status and diagnoses", id="host-str"),
        pytest.param(_with_host({"status": "healthy"}), "{p}: hosts[1]: no host name", id="no-host-name"),
        pytest.param(
            _with_host({"host": "n1", "status": "broken"}),
            "{p}: hosts[1] (n1): status 'broken' is not healthy, suspect or faulty",
            id="bad-status",
        ),
        pytest.param(
            _with_host({"host": "n0"}), "{p}: hosts[1]: host n0 appears twice (first as hosts[0])", id="duplicate-host"
        ),
        pytest.param(
            _with_host({"host": "n1", "diagnoses": {}}), "{p}: hosts[1] (n1): `diagnoses` is not a list", id="diagnoses"
        ),
        pytest.param(
            _with_diagnosis("rma"),
            "{p}: hosts[1].diagnoses[0] (n1): not an object with device, root_cause and action",
            id="diagnosis-str",
        ),
        pytest.param(
            _with_diagnosis({"device": "gpu0", "action": "rma_gpu"}),
            "{p}: hosts[1].diagnoses[0] (n1): no root_cause",
            id="no-root-cause",
        ),
        pytest.param(
            _with_diagnosis({"device": "gpu0", "root_cause": "gpu_memory", "action": 3}),
            "{p}: hosts[1].diagnoses[0] (n1): action 3 is not a string",
            id="action-not-str",
        ),
        pytest.param(
            _with_diagnosis({"device": 0, "root_cause": "gpu_memory", "action": "rma_gpu"}),
            "{p}: hosts[1].diagnoses[0] (n1): device 0 is not a string or null",
            id="device-int",
        ),
        pytest.param(
            _with_diagnosis({"device": "gpu0", "root_cause": "gpu_mem", "action": "rma_gpu"}),
            "{p}: hosts[1].diagnoses[0] (n1): unknown root_cause 'gpu_mem' (not in the taxonomy)",
            id="unknown-root-cause",
        ),
        pytest.param(
            _with_diagnosis({"device": "gpu0", "root_cause": "gpu_memory", "action": "rma"}),
            "{p}: hosts[1].diagnoses[0] (n1): unknown action 'rma' (not in the taxonomy)",
            id="unknown-action",
        ),
    ],
)
def test_bad_reports_raise_one_line(tmp_path: Path, document: Any, message: str) -> None:
    path = write(tmp_path, document)
    with pytest.raises(InputError) as info:
        load_report(path)
    assert str(info.value) == message.format(p=path)


def test_missing_report(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"/nothere\.json: no such file$"):
        load_report(tmp_path / "nothere.json")


# -- store ------------------------------------------------------------------------------------


def fill(store: Store, hosts: list[str], diagnoses: list[tuple[str, str | None, str, str]]) -> None:
    store.append(
        "files",
        pl.DataFrame(
            {
                "file_id": list(range(1, len(hosts) + 1)),
                "path": [f"{h}/dmesg.log" for h in hosts],
                "host": hosts,
                "kind": ["kernel_log"] * len(hosts),
                "status": ["ok"] * len(hosts),
            }
        ),
    )
    store.append(
        "diagnoses",
        pl.DataFrame(diagnoses, schema=["host", "device", "root_cause", "action"], orient="row").with_row_index(
            "diagnosis_id", offset=1
        ),
    )


def test_store_predictions(db_path: Path) -> None:
    with Store.open(db_path) as store:
        fill(
            store,
            ["node001", "node002", "node002", "node003", "node004"],
            [
                ("node002", "0000:3B:00.0", "gpu_memory", "rma_gpu"),
                ("node003", None, "performance", "monitor"),
                ("node004", "0000:18:00.0", "application", "restart_app"),
                ("node005", "mlx5_0/1", "infiniband_link", "none"),  # a host without files
            ],
        )
    predictions = load_store(db_path)
    assert (predictions.source, predictions.path) == ("db", str(db_path))
    assert predictions.hosts.rows() == [
        ("node001", "healthy"),
        ("node002", "faulty"),
        ("node003", "suspect"),
        ("node004", "healthy"),
        ("node005", "healthy"),
    ]
    assert predictions.diagnoses.rows() == [
        ("node002", "0000:3B:00.0", "gpu_memory", "rma_gpu"),
        ("node003", "", "performance", "monitor"),
        ("node004", "0000:18:00.0", "application", "restart_app"),
        ("node005", "mlx5_0/1", "infiniband_link", "none"),
    ]


def test_store_is_opened_read_only(db_path: Path) -> None:
    with Store.open(db_path) as store:
        fill(store, ["n1"], [])
    db_path.chmod(0o444)
    try:
        assert load_store(db_path).hosts.rows() == [("n1", "healthy")]
    finally:
        db_path.chmod(0o644)


def test_store_with_a_bad_diagnosis(db_path: Path) -> None:
    with Store.open(db_path) as store:
        fill(store, ["n1"], [("n1", "gpu0", "gpu_memory", "rma_gpu"), ("n1", "gpu1", "gpu_memory", "replace_gpu")])
    with pytest.raises(InputError) as info:
        load_store(db_path)
    assert str(info.value) == (
        f"{db_path}: diagnoses row diagnosis_id=2 (n1): unknown action 'replace_gpu' (not in the taxonomy)"
    )


def test_store_without_a_diagnoses_table(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.execute("DROP TABLE diagnoses")
    with pytest.raises(TriageError) as info:
        load_store(db_path)
    assert str(info.value) == f"{db_path}: no diagnoses table (not a triage database?)"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(None, "{p}: no triage database here (run `triage ingest` first)", id="missing"),
        pytest.param("duckdb", "{p}: not a triage database (no triage tables in it)", id="plain-duckdb"),
        pytest.param("text", "{p}: cannot open database: ", id="text-file"),
    ],
)
def test_not_a_triage_store(db_path: Path, make: str | None, message: str) -> None:
    if make == "duckdb":
        with duckdb.connect(str(db_path)) as con:
            con.execute("CREATE TABLE x (a INTEGER)")
    elif make == "text":
        db_path.write_text("hello\n")
    with pytest.raises(TriageError) as info:
        load_store(db_path)
    assert str(info.value).startswith(message.format(p=db_path))
    assert "\n" not in str(info.value)
