"""One host: its verdict, then a time-ordered account of what happened.

`host_verdict` is the host's entry of the report document (status and diagnoses with identity
and evidence). `host_timeline` lists, oldest first (unknown times last):

- `finding`: evidence lines of the host's findings (source = rule id, severity = the rule's),
  at most `per_finding` lines per finding (all of them with `around`)
- `anomaly`: detector output (severity = its level), at the time of its first evidence line
- `test`: failed, errored or incomplete test runs (severity = status), at their start
- `boot`: the first line of each boot of each kernel log
- `reset`: GPU reset lines in kernel and text logs (`GPU reset`, `nvidia-smi -r`)
- `line` (with `around` only): every other line of the host within `window` of that time

With `around`, only rows with a time inside the window are kept and, past `limit`, the rows
nearest to `around`; without it, the first `limit` rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from triage.report.common import RESET_PATTERN, RESET_SOURCES, check_hosts, severity_rank
from triage.report.document import document, report_data
from triage.store import Store

TIMELINE_SCHEMA = {
    "ts": pl.Datetime("us"),
    "kind": pl.String,
    "source": pl.String,
    "severity": pl.String,
    "device": pl.String,
    "file": pl.String,
    "line_no": pl.Int64,
    "text": pl.String,
}
KIND_ORDER = {"boot": 0, "reset": 1, "finding": 2, "test": 3, "anomaly": 4, "line": 5}


def host_verdict(store: Store, host: str) -> dict[str, Any]:
    """The host's entry of the report: {host, status, diagnoses} (unknown host: `UnknownHostError`)."""
    doc = document(report_data(store, [host]))
    return doc["hosts"][0]


def host_timeline(
    store: Store,
    host: str,
    around: datetime | None = None,
    window: timedelta = timedelta(minutes=10),
    limit: int = 200,
    per_finding: int = 5,
) -> pl.DataFrame:
    """What happened on `host`, in time order (columns: ts, kind, source, severity, device, file, line_no, text)."""
    check_hosts(store, [host])
    if around is not None and around.tzinfo is not None:
        around = around.astimezone(UTC).replace(tzinfo=None)
    cap = "TRUE" if around is not None else f"n <= {int(per_finding)}"
    frame = store.frame(
        f"""
        WITH fl AS (
            SELECT f.rule_id, f.severity, f.device, f.finding_id, unnest(f.evidence) AS ref
            FROM findings f WHERE f.host = $host
        ),
        finding_rows AS (
            SELECT * EXCLUDE (n) FROM (
                SELECT e.ts, 'finding' AS kind, fl.rule_id AS source, fl.severity, fl.device, e.file_id, e.line_no,
                       e.message AS text,
                       row_number() OVER (PARTITION BY fl.finding_id
                                          ORDER BY e.ts NULLS LAST, e.file_id, e.line_no) AS n
                FROM fl JOIN events e ON e.file_id = fl.ref.file_id AND e.line_no = fl.ref.line_no
            ) WHERE {cap}
        ),
        anomaly_rows AS (
            SELECT e.ts, 'anomaly' AS kind, a.detector AS source, a.level AS severity, a.device,
                   a.evidence[1].file_id AS file_id, a.evidence[1].line_no AS line_no, a.detail AS text
            FROM anomalies a
            LEFT JOIN events e ON e.file_id = a.evidence[1].file_id AND e.line_no = a.evidence[1].line_no
            WHERE a.host = $host
        ),
        test_rows AS (
            SELECT coalesce(r.started, e.ts) AS ts, 'test' AS kind, r.test AS source, r.status AS severity, r.device,
                   r.file_id, r.line_no, r.detail AS text
            FROM test_runs r LEFT JOIN events e ON e.file_id = r.file_id AND e.line_no = r.line_no
            WHERE r.host = $host AND r.status <> 'pass'
        ),
        boot_rows AS (
            SELECT e.ts, 'boot' AS kind, 'boot ' || e.boot AS source, NULL AS severity, NULL AS device,
                   e.file_id, e.line_no, e.message AS text
            FROM events e
            WHERE e.host = $host AND e.source = 'kernel_log' AND e.boot IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY e.file_id, e.boot ORDER BY e.line_no) = 1
        ),
        reset_rows AS (
            SELECT e.ts, 'reset' AS kind, 'gpu reset' AS source, NULL AS severity, NULL AS device,
                   e.file_id, e.line_no, e.message AS text
            FROM events e
            WHERE e.host = $host AND e.source IN (SELECT unnest($reset_sources::VARCHAR[]))
              AND regexp_matches(e.message, $reset)
        ),
        line_rows AS (
            SELECT e.ts, 'line' AS kind, e.source, NULL AS severity, NULL AS device, e.file_id, e.line_no,
                   e.message AS text
            FROM events e
            WHERE e.host = $host AND $around IS NOT NULL
              AND e.ts BETWEEN $around::TIMESTAMP - $window AND $around::TIMESTAMP + $window
        ),
        rows AS (
            SELECT * FROM finding_rows UNION ALL BY NAME SELECT * FROM anomaly_rows
            UNION ALL BY NAME SELECT * FROM test_rows UNION ALL BY NAME SELECT * FROM boot_rows
            UNION ALL BY NAME SELECT * FROM reset_rows UNION ALL BY NAME SELECT * FROM line_rows
        )
        SELECT r.ts, r.kind, r.source, r.severity, r.device, fi.path AS file, r.line_no, r.text, r.file_id
        FROM rows r LEFT JOIN files fi ON fi.file_id = r.file_id
        """,
        {"host": host, "around": around, "window": window, "reset": RESET_PATTERN, "reset_sources": RESET_SOURCES},  # type: ignore[arg-type]
    )
    frame = _one_row_per_line(frame)
    if around is not None:
        lo, hi = around - window, around + window
        frame = frame.filter(pl.col("ts").is_between(lo, hi))
        if frame.height > limit:
            distance = (pl.col("ts") - pl.lit(around)).abs()
            frame = frame.sort(distance, "_k", "file_id", "line_no").head(limit)
    frame = frame.sort(["ts", "file_id", "line_no", "_k"], nulls_last=True)
    if around is None:
        frame = frame.head(limit)
    return frame.select(list(TIMELINE_SCHEMA)).cast(TIMELINE_SCHEMA)  # type: ignore[arg-type]


def _one_row_per_line(frame: pl.DataFrame) -> pl.DataFrame:
    """A line that several rows name (two findings, a finding and a boot, a finding and `line`) once:
    as its most telling kind (boot, reset, finding, test, anomaly, line), its sources joined, the worst severity."""
    frame = frame.with_columns(
        pl.col("kind").replace_strict(KIND_ORDER, return_dtype=pl.Int8).alias("_k"),
        severity_rank(pl.col("severity")).alias("_s"),
    )
    keyed = pl.col("file_id").is_not_null() & pl.col("line_no").is_not_null()
    lines = (
        frame.filter(keyed)
        .sort(["_k", "_s", "source"], descending=[False, True, False], nulls_last=True)
        .group_by("file_id", "line_no", maintain_order=True)
        .agg(
            pl.col("source").filter(pl.col("_k") == pl.col("_k").first()).unique(maintain_order=True).str.join(", "),
            *(pl.col(c).first() for c in ("ts", "kind", "_k", "severity", "device", "file", "text")),
        )
    )
    return pl.concat([lines, frame.filter(~keyed).drop("_s")], how="diagonal_relaxed")
