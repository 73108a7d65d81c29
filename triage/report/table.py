"""The RMA-ready CSV: one row per diagnosis that asks for an action (action is not `none`).

Columns (`CSV_COLUMNS`): host, node_serial (when a node asset has one), component, device,
gpu_serial (the serial of a GPU), uuid (GPU UUID or HCA port GUID), pci_address, model,
part_number, vbios (GPU), firmware (HCA, NVSwitch), driver, root_cause, action, severity,
confidence, first_seen, last_seen (the diagnosis' first and last sign, ISO UTC), evidence_summary
(rules with their hit counts, then anomalies, then test runs: `xid-48 x2, xid-64 x1; dcgm_memory
fail`), summary. Rows in report order (faulty hosts first). Written with polars' CSV writer
(RFC 4180 quoting).
"""

from __future__ import annotations

import polars as pl

from triage.evaluate.taxonomy import NONE
from triage.report.common import iso
from triage.report.document import ReportData, report_data
from triage.report.identity import node_serials
from triage.store import Store, host_condition

CSV_COLUMNS = (
    "host", "node_serial", "component", "device", "gpu_serial", "uuid", "pci_address", "model", "part_number",
    "vbios", "firmware", "driver", "root_cause", "action", "severity", "confidence", "first_seen", "last_seen",
    "evidence_summary", "summary",
)  # fmt: skip


def evidence_summaries(store: Store, hosts: list[str] | None = None) -> pl.DataFrame:
    """Per diagnosis: diagnosis_id, evidence_summary (`xid-48 x2, xid-64 x1; fleet_outlier busbw; hpl fail`)."""
    where, params = host_condition(hosts)
    frame = store.frame(
        f"""
        WITH d AS (SELECT diagnosis_id, finding_ids, anomaly_ids, run_ids FROM diagnoses WHERE {where}),
        fu AS (SELECT diagnosis_id, unnest(finding_ids) AS id, unnest(range(len(finding_ids))) AS pos FROM d),
        au AS (SELECT diagnosis_id, unnest(anomaly_ids) AS id, unnest(range(len(anomaly_ids))) AS pos FROM d),
        ru AS (SELECT diagnosis_id, unnest(run_ids) AS id, unnest(range(len(run_ids))) AS pos FROM d),
        f AS (
            SELECT diagnosis_id, string_agg(rule_id || ' x' || n, ', ' ORDER BY pos) AS findings
            FROM (SELECT fu.diagnosis_id, x.rule_id, sum(x.count) AS n, min(fu.pos) AS pos
                  FROM fu JOIN findings x ON x.finding_id = fu.id GROUP BY ALL)
            GROUP BY diagnosis_id
        ),
        a AS (
            SELECT diagnosis_id, string_agg(what, ', ' ORDER BY pos) AS anomalies
            FROM (SELECT au.diagnosis_id, x.detector || ' ' || x.metric AS what, min(au.pos) AS pos
                  FROM au JOIN anomalies x ON x.anomaly_id = au.id GROUP BY ALL)
            GROUP BY diagnosis_id
        ),
        r AS (
            SELECT diagnosis_id,
                   string_agg(what || CASE WHEN n > 1 THEN ' x' || n ELSE '' END, ', ' ORDER BY pos) AS runs
            FROM (SELECT ru.diagnosis_id, x.test || ' ' || x.status AS what, count(*) AS n, min(ru.pos) AS pos
                  FROM ru JOIN test_runs x ON x.run_id = ru.id GROUP BY ALL)
            GROUP BY diagnosis_id
        )
        SELECT d.diagnosis_id, f.findings, a.anomalies, r.runs
        FROM d LEFT JOIN f USING (diagnosis_id) LEFT JOIN a USING (diagnosis_id) LEFT JOIN r USING (diagnosis_id)
        """,
        params,
    )
    return frame.select(
        "diagnosis_id",
        pl.concat_str(["findings", "anomalies", "runs"], separator="; ", ignore_nulls=True).alias("evidence_summary"),
    )


def rma_rows(store: Store, hosts: list[str] | None = None, data: ReportData | None = None) -> pl.DataFrame:
    """The CSV's rows as a frame (columns `CSV_COLUMNS`, all strings but confidence).

    `data` is the collected report of the same hosts when the caller already has it.
    """
    data = data if data is not None else report_data(store, hosts, with_evidence=False)
    serials = node_serials(store, hosts)
    summaries = dict(evidence_summaries(store, hosts).iter_rows()) if data.diagnoses.height else {}
    rows = []
    for d, ident in zip(data.diagnoses.iter_rows(named=True), data.identities, strict=True):
        if (d["action"] or NONE) == NONE:
            continue
        is_gpu = d["component"] == "gpu" or "vbios" in ident or str(ident.get("uuid", "")).startswith("GPU-")
        rows.append(
            {
                "host": d["host"],
                "node_serial": serials.get(d["host"]),
                "component": d["component"],
                "device": d["device"],
                "gpu_serial": ident.get("serial") if is_gpu else None,
                "uuid": ident.get("uuid") or ident.get("guid"),
                "pci_address": ident.get("pci_bdf"),
                "model": ident.get("model"),
                "part_number": ident.get("part_number"),
                "vbios": ident.get("vbios"),
                "firmware": ident.get("firmware"),
                "driver": ident.get("driver"),
                "root_cause": d["root_cause"],
                "action": d["action"],
                "severity": d["severity"],
                "confidence": None if d["confidence"] is None else round(float(d["confidence"]), 3),
                "first_seen": iso(d["first_ts"]),
                "last_seen": iso(d["last_ts"]),
                "evidence_summary": summaries.get(d["diagnosis_id"]) or None,
                "summary": d["summary"],
            }
        )
    schema = {c: pl.String for c in CSV_COLUMNS} | {"confidence": pl.Float64}
    return pl.DataFrame(rows, schema=schema)


def render_csv(store: Store, hosts: list[str] | None = None, data: ReportData | None = None) -> str:
    """The RMA CSV of `hosts` (None: all), header included."""
    return rma_rows(store, hosts, data).write_csv()
