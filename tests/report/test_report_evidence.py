"""Evidence items: primary first, then log, metric, test by time; capped; resolved to file and text."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
from crafted import EVIDENCE, LIST_COLUMNS

from triage.report.evidence import evidence_frame, evidence_items
from triage.store import Store

T0 = datetime(2026, 11, 16, 12, 0, 0)


def write(store: Store) -> Store:
    store.append("files", pl.DataFrame({"file_id": [1, 2], "path": ["h/kern.log", "h/hpl.log"], "host": ["h", "h"]}))
    store.append(
        "events",
        pl.DataFrame({"host": ["h"] * 20, "file_id": [1] * 20, "line_no": list(range(1, 21)),
                      "ts": [T0 + timedelta(seconds=i) for i in range(20)], "message": [f"line {i}" for i in range(1, 21)]}),
    )  # fmt: skip
    refs = [{"file_id": 1, "line_no": n} for n in range(10, 0, -1)]  # listed newest first
    store.append(
        "findings",
        pl.DataFrame(
            [{"finding_id": 1, "host": "h", "rule_id": "noisy", "evidence": refs},
             {"finding_id": 2, "host": "h", "rule_id": "cause", "evidence": [{"file_id": 1, "line_no": 15},
                                                                            {"file_id": 1, "line_no": 99}]}],
            schema_overrides={"evidence": EVIDENCE},
        ),
    )  # fmt: skip
    store.append(
        "anomalies",
        pl.DataFrame([{"anomaly_id": 1, "host": "h", "detector": "fleet_outlier", "metric": "gflops", "value": 1.5,
                       "baseline": 2.0, "level": "drain", "detail": "gflops low", "evidence": None}],
                     schema_overrides={"evidence": EVIDENCE}),
    )  # fmt: skip
    store.append(
        "test_runs",
        pl.DataFrame({"run_id": [1], "host": ["h"], "test": ["hpl"], "status": ["fail"], "detail": ["residual FAILED"],
                      "file_id": [2], "line_no": [40], "started": [T0 - timedelta(hours=1)]}),
    )  # fmt: skip
    store.append(
        "diagnoses",
        pl.DataFrame([{"diagnosis_id": 7, "host": "h", "primary_finding": "cause", "related": [], "finding_ids": [1, 2],
                       "anomaly_ids": [1], "run_ids": [1]}], schema_overrides=LIST_COLUMNS),
    )  # fmt: skip
    return store


def test_primary_first_then_by_kind_and_time(store: Store) -> None:
    items = evidence_items(evidence_frame(write(store), limit=12, per_source=3))[7]
    assert [(i["kind"], i.get("rule") or i.get("detector") or i.get("test"), i["line_no"]) for i in items] == [
        ("log", "cause", 15),
        ("log", "cause", 99),
        ("log", "noisy", 1),
        ("log", "noisy", 2),
        ("log", "noisy", 3),
        ("metric", "fleet_outlier", None),
        ("test", "hpl", 40),
    ]


def test_items_resolve_file_time_and_text(store: Store) -> None:
    items = evidence_items(evidence_frame(write(store)))[7]
    assert items[0] == {"kind": "log", "rule": "cause", "ts": "2026-11-16T12:00:14Z", "file": "h/kern.log",
                        "line_no": 15, "text": "line 15"}  # fmt: skip
    assert items[1] == {"kind": "log", "rule": "cause", "ts": None, "file": "h/kern.log", "line_no": 99, "text": None}
    assert items[-2] == {"kind": "metric", "detector": "fleet_outlier", "metric": "gflops", "value": 1.5,
                         "baseline": 2.0, "level": "drain", "ts": None, "file": None, "line_no": None,
                         "text": "gflops low"}  # fmt: skip
    assert items[-1] == {"kind": "test", "test": "hpl", "status": "fail", "ts": "2026-11-16T11:00:00Z",
                         "file": "h/hpl.log", "line_no": 40, "text": "residual FAILED"}  # fmt: skip


def test_the_cap_keeps_the_primary(store: Store) -> None:
    frame = evidence_frame(write(store), limit=4, per_source=5)
    assert frame.select("source", "line_no").rows() == [("cause", 15), ("cause", 99), ("noisy", 1), ("noisy", 2)]


def test_defaults_give_at_most_five_lines_a_finding_and_twelve_in_all(store: Store) -> None:
    frame = evidence_frame(write(store))
    assert frame.group_by("source").len().sort("source").rows() == [
        ("cause", 2), ("fleet_outlier", 1), ("hpl", 1), ("noisy", 5)
    ]  # fmt: skip


def test_no_diagnoses_no_items(store: Store) -> None:
    assert evidence_frame(store).height == 0


def test_the_diagnosis_own_lines_fill_in_without_repeating(store: Store) -> None:
    write(store)
    store.execute(
        "UPDATE diagnoses SET evidence = [{'file_id': 1, 'line_no': 15}, {'file_id': 1, 'line_no': 18}], "
        "primary_finding = 'fleet_outlier:gflops' WHERE diagnosis_id = 7"
    )
    items = evidence_items(evidence_frame(store, limit=20, per_source=2))[7]
    assert [(i["kind"], i.get("rule") or i.get("detector") or i.get("test"), i["line_no"]) for i in items] == [
        ("metric", "fleet_outlier", None),  # the primary, named detector:metric
        ("log", "noisy", 1),
        ("log", "noisy", 2),
        ("log", "cause", 15),
        ("log", None, 18),  # only the diagnosis names this line
        ("log", "cause", 99),
        ("test", "hpl", 40),
    ]
    assert items[4] == {"kind": "log", "rule": None, "ts": "2026-11-16T12:00:17Z", "file": "h/kern.log",
                        "line_no": 18, "text": "line 18"}  # fmt: skip


def test_a_line_two_findings_matched_is_shown_once(store: Store) -> None:
    store.append("files", pl.DataFrame({"file_id": [1], "path": ["h/kern.log"], "host": ["h"]}))
    store.append(
        "events", pl.DataFrame({"host": ["h"], "file_id": [1], "line_no": [5], "message": ["ib2: Lost carrier"]})
    )
    line = [{"file_id": 1, "line_no": 5}]
    store.append(
        "findings",
        pl.DataFrame(
            [{"finding_id": 1, "host": "h", "rule_id": "ib-link-down", "evidence": line},
             {"finding_id": 2, "host": "h", "rule_id": "ib-link-flapping", "evidence": line}],
            schema_overrides={"evidence": EVIDENCE},
        ),
    )  # fmt: skip
    store.append(
        "diagnoses",
        pl.DataFrame([{"diagnosis_id": 1, "host": "h", "primary_finding": "ib-link-flapping", "related": [],
                       "finding_ids": [1, 2], "anomaly_ids": [], "run_ids": []}], schema_overrides=LIST_COLUMNS),
    )  # fmt: skip
    items = evidence_items(evidence_frame(store))[1]
    assert [(i["rule"], i["line_no"], i["text"]) for i in items] == [("ib-link-flapping", 5, "ib2: Lost carrier")]
