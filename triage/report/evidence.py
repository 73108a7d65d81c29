"""Evidence items of diagnoses: the log lines, metric values and test runs behind each verdict.

A diagnosis points at findings (`finding_ids`), anomalies (`anomaly_ids`) and failed test runs
(`run_ids`). Each becomes items of one of three kinds, resolved to file and text in one DuckDB
query for the whole report:

- `log`: every evidence line of a finding: rule (the finding's rule id), ts, file, line_no, text;
  also the lines of the diagnosis' own `evidence` that no finding, anomaly or run shows (device
  states the diagnosis read, e.g. nvidia-smi fields), with rule null
- `metric`: an anomaly: detector, metric, value, baseline, level, ts, file, line_no (of its first
  evidence, when it has one), text (the detector's explanation)
- `test`: a test run: test, status, ts (its start, else its line's time), file, line_no, text (detail)

Items of the primary cause (the rule, `detector` or `detector:metric`, or test named by
`primary_finding`) come first, then
by kind (log, metric, test), then by time (unknown last), file and line. Each finding, anomaly or
run gives at most `per_source` items and a diagnosis at most `limit`.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from triage.report.common import iso
from triage.store import Store, host_condition

LIMIT = 12
PER_SOURCE = 5
KINDS = ("log", "metric", "test")
ITEM_KEYS = {
    "log": ("kind", "rule", "ts", "file", "line_no", "text"),
    "metric": ("kind", "detector", "metric", "value", "baseline", "level", "ts", "file", "line_no", "text"),
    "test": ("kind", "test", "status", "ts", "file", "line_no", "text"),
}


def evidence_frame(
    store: Store, hosts: list[str] | None = None, limit: int = LIMIT, per_source: int = PER_SOURCE
) -> pl.DataFrame:
    """The evidence items of the diagnoses of `hosts` (None: all), ordered, one row per item.

    Columns: diagnosis_id, kind, primary, source (rule, detector or test), ts, file, line_no, text,
    metric, value, baseline, level, status.
    """
    where, params = host_condition(hosts)
    return store.frame(
        f"""
        WITH d AS (
            SELECT diagnosis_id, primary_finding, finding_ids, anomaly_ids, run_ids, evidence
            FROM diagnoses WHERE {where}
        ),
        fl AS (SELECT diagnosis_id, primary_finding, unnest(finding_ids) AS finding_id FROM d),
        al AS (SELECT diagnosis_id, primary_finding, unnest(anomaly_ids) AS anomaly_id FROM d),
        rl AS (SELECT diagnosis_id, primary_finding, unnest(run_ids) AS run_id FROM d),
        refs AS (
            SELECT diagnosis_id, 'log' AS kind, 0 AS kind_rank, coalesce(rule_id = primary_finding, false) AS "primary",
                   'f' || finding_id AS item, rule_id AS source, ref.file_id AS file_id, ref.line_no AS line_no,
                   NULL::TIMESTAMP AS started, NULL AS detail, NULL AS metric, NULL::DOUBLE AS value,
                   NULL::DOUBLE AS baseline, NULL AS level, NULL AS status
            FROM (SELECT fl.*, f.rule_id, unnest(f.evidence) AS ref
                  FROM fl JOIN findings f ON f.finding_id = fl.finding_id)
            UNION ALL
            SELECT al.diagnosis_id, 'metric', 1,
                   coalesce(al.primary_finding IN (a.detector, a.detector || ':' || a.metric), false),
                   'a' || a.anomaly_id, a.detector, a.evidence[1].file_id, a.evidence[1].line_no,
                   NULL, a.detail, a.metric, a.value, a.baseline, a.level, NULL
            FROM al JOIN anomalies a ON a.anomaly_id = al.anomaly_id
            UNION ALL
            SELECT rl.diagnosis_id, 'test', 2,
                   coalesce(r.test = rl.primary_finding OR starts_with(rl.primary_finding, r.test || ':'), false),
                   'r' || r.run_id, r.test, r.file_id, r.line_no,
                   r.started, r.detail, NULL, NULL, NULL, NULL, r.status
            FROM rl JOIN test_runs r ON r.run_id = rl.run_id
            UNION ALL
            SELECT diagnosis_id, 'log', 0, false, 'd' || diagnosis_id, NULL, ref.file_id, ref.line_no,
                   NULL, NULL, NULL, NULL, NULL, NULL, NULL
            FROM (SELECT diagnosis_id, unnest(evidence) AS ref FROM d)
        ),
        lines AS (
            SELECT e.file_id, e.line_no, e.ts, e.message
            FROM events e
            SEMI JOIN (SELECT DISTINCT file_id, line_no FROM refs) r ON e.file_id = r.file_id AND e.line_no = r.line_no
        ),
        items AS (
            SELECT refs.*, coalesce(refs.started, l.ts) AS ts, fi.path AS file,
                   CASE refs.kind WHEN 'log' THEN l.message ELSE coalesce(refs.detail, l.message) END AS text
            FROM refs
            LEFT JOIN lines l ON l.file_id = refs.file_id AND l.line_no = refs.line_no
            LEFT JOIN files fi ON fi.file_id = refs.file_id
        ),
        kept AS (  -- a line of the diagnosis' own evidence only when no finding, anomaly or run shows it
            SELECT * FROM items i
            WHERE i.source IS NOT NULL OR NOT EXISTS (
                SELECT 1 FROM items o
                WHERE o.diagnosis_id = i.diagnosis_id AND o.source IS NOT NULL
                  AND o.file_id = i.file_id AND o.line_no = i.line_no)
        ),
        single AS (  -- a line two findings matched (`ib-link-down` and `ib-link-flapping`) is shown once
            SELECT * FROM kept
            QUALIFY kind <> 'log' OR file_id IS NULL OR row_number() OVER (
                PARTITION BY diagnosis_id, kind, file_id, line_no ORDER BY "primary" DESC, source NULLS LAST, item
            ) = 1
        ),
        capped AS (
            SELECT * FROM single
            QUALIFY row_number() OVER (PARTITION BY diagnosis_id, item ORDER BY ts NULLS LAST, file_id, line_no)
                    <= {int(per_source)}
        )
        SELECT diagnosis_id, kind, "primary", source, ts, file, line_no, text, metric, value, baseline, level, status
        FROM capped
        QUALIFY row_number() OVER (
            PARTITION BY diagnosis_id
            ORDER BY "primary" DESC, kind_rank, ts NULLS LAST, file_id NULLS LAST, line_no NULLS LAST, item
        ) <= {int(limit)}
        ORDER BY diagnosis_id, "primary" DESC, kind_rank, ts NULLS LAST, file_id NULLS LAST, line_no NULLS LAST, item
        """,
        params,
    )


def evidence_items(frame: pl.DataFrame) -> dict[int, list[dict[str, Any]]]:
    """The rows of `evidence_frame` as the report's item objects, per diagnosis id."""
    out: dict[int, list[dict[str, Any]]] = {}
    for r in frame.iter_rows(named=True):
        kind = r["kind"]
        values = {
            "kind": kind,
            "rule": r["source"],
            "detector": r["source"],
            "test": r["source"],
            "metric": r["metric"],
            "value": r["value"],
            "baseline": r["baseline"],
            "level": r["level"],
            "status": r["status"],
            "ts": iso(r["ts"]),
            "file": r["file"],
            "line_no": r["line_no"],
            "text": r["text"],
        }
        out.setdefault(r["diagnosis_id"], []).append({k: values[k] for k in ITEM_KEYS[kind]})
    return out
