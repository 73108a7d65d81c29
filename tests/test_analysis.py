"""The analysis after an ingest: rules, then (optionally) detectors and diagnosis, in one call."""

from __future__ import annotations

from pathlib import Path

from triage.analysis import run_analysis
from triage.detect import Detectors
from triage.ingest import IngestOptions, ingest
from triage.signatures.loader import load_rules
from triage.store import Store

NODE = Path(__file__).resolve().parents[1] / "datasets" / "sample-fleet" / "hosts" / "node0022"


def test_rules_only_leaves_the_later_stages_out(store: Store) -> None:
    ingest(store, [str(NODE)], IngestOptions(host="node0022"))
    summary = run_analysis(store, load_rules(), detectors=None)
    assert (summary.anomalies, summary.diagnosis) == (None, None)
    assert set(summary.as_dict()) == {
        "events", "candidates", "hits", "findings", "by_severity", "gpus_identified", "seconds",
    }  # fmt: skip
    assert store.frame("SELECT count(*) AS n FROM diagnoses")["n"].item() == 0


def test_all_stages_write_their_tables(store: Store) -> None:
    ingest(store, [str(NODE)], IngestOptions(host="node0022"))
    summary = run_analysis(store, load_rules(), Detectors.load())
    assert summary.diagnosis is not None
    assert summary.diagnosis.by_status == {"healthy": 0, "suspect": 0, "faulty": 1}
    rows = store.frame("SELECT device, root_cause, action FROM diagnoses WHERE action <> 'none'").rows()
    assert rows == [("0000:5d:00.0", "gpu_memory", "rma_gpu")]
