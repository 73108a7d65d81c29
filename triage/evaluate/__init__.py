"""Back-testing: score a triage report (or a store's diagnoses) against labelled ground truth.

    from triage.evaluate import evaluate

    result = evaluate("fleet/truth.csv", report="report.json")   # or db="triage.duckdb"
    result.status_accuracy, result.macro_f1, result.false_rma_rate, result.missed_fault_rate
    result.root_causes            # polars: precision / recall / F1 per root cause
    result.as_dict()              # the `triage.eval/v1` document of `triage eval --format json`

The metric definitions are in `triage.evaluate.score`.
"""

from __future__ import annotations

import os

from triage.evaluate.predictions import (
    REPORT_SCHEMA,
    Predictions,
    load_report,
    load_store,
    predictions_from_diagnoses,
)
from triage.evaluate.score import EVAL_SCHEMA, Evaluation, score
from triage.evaluate.taxonomy import Taxonomy, host_status, load_taxonomy
from triage.evaluate.truth import TRUTH_COLUMNS, load_truth, truth_path

__all__ = [
    "EVAL_SCHEMA",
    "REPORT_SCHEMA",
    "TRUTH_COLUMNS",
    "Evaluation",
    "Predictions",
    "Taxonomy",
    "evaluate",
    "host_status",
    "load_report",
    "load_store",
    "load_taxonomy",
    "load_truth",
    "predictions_from_diagnoses",
    "score",
    "truth_path",
]


def evaluate(
    truth: str | os.PathLike[str],
    report: str | os.PathLike[str] | None = None,
    db: str | os.PathLike[str] | None = None,
) -> Evaluation:
    """Load a truth file (or `DIR/truth.csv`) and a report or a store (exactly one), and score them."""
    import dataclasses

    if (report is None) == (db is None):
        raise ValueError("give exactly one of report= and db=")
    taxonomy = load_taxonomy()
    rows = load_truth(truth, taxonomy)
    predictions = load_report(report, taxonomy) if report is not None else load_store(db, taxonomy)  # type: ignore[arg-type]
    result = score(rows, predictions, list(taxonomy.root_causes))
    return dataclasses.replace(result, truth_path=str(truth_path(truth)))
