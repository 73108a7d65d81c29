"""The `triage.report/v1` document (DESIGN.md "Outputs (contract)") built from a store.

    {"schema": "triage.report/v1", "generated_at": "2026-11-22T10:00:00Z",
     "fleet": {"hosts": 3, "healthy": 1, "suspect": 1, "faulty": 1, "by_root_cause": {"gpu_memory": 1}},
     "hosts": [{"host": ..., "status": ..., "diagnoses": [{component, device, identity, root_cause,
                action, severity, confidence, summary, evidence, related}]}]}

Every host of the store appears (healthy ones with no diagnoses), faulty first, then suspect, then
healthy, by name within. `by_root_cause` counts the diagnoses whose action is not `none`, most
first (then by name). Identity: `triage.report.identity`; evidence: `triage.report.evidence`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl

from triage.evaluate.taxonomy import NONE
from triage.report.common import check_hosts, host_statuses, iso, ordered_diagnoses
from triage.report.evidence import LIMIT, evidence_frame, evidence_items
from triage.report.identity import identities
from triage.store import Store

REPORT_SCHEMA = "triage.report/v1"
DIAGNOSIS_KEYS = (
    "component", "device", "identity", "root_cause", "action", "severity", "confidence", "summary", "evidence",
    "related",
)  # fmt: skip


@dataclass
class ReportData:
    """What every report format renders: hosts with status, ordered diagnoses, identities and evidence."""

    hosts: pl.DataFrame  # host, status; report order
    diagnoses: pl.DataFrame  # the diagnoses table's columns + rank, sev; report order within each host
    identities: list[dict[str, Any]]  # one per row of `diagnoses`
    evidence: dict[int, list[dict[str, Any]]]  # diagnosis_id -> items


def report_data(
    store: Store, hosts: list[str] | None = None, with_evidence: bool = True, limit: int = LIMIT
) -> ReportData:
    """Collect the report of `hosts` (None: every host; unknown names raise `UnknownHostError`)."""
    hosts = check_hosts(store, hosts)
    diagnoses = ordered_diagnoses(store, hosts)
    statuses = host_statuses(store, hosts, diagnoses)
    order = statuses.with_row_index("host_order").select("host", "host_order")
    diagnoses = (
        diagnoses.with_row_index("_i")
        .join(order, on="host", how="left")
        .sort("host_order", "_i")
        .drop("_i", "host_order")
    )
    idents = identities(store, diagnoses, hosts) if diagnoses.height else []
    evidence = evidence_items(evidence_frame(store, hosts, limit=limit)) if with_evidence and diagnoses.height else {}
    return ReportData(statuses, diagnoses, idents, evidence)


def diagnosis_object(row: dict[str, Any], identity: dict[str, Any], evidence: list[dict[str, Any]]) -> dict[str, Any]:
    """One diagnosis of the document, keys in contract order."""
    confidence = row["confidence"]
    return {
        "component": row["component"],
        "device": row["device"],
        "identity": identity,
        "root_cause": row["root_cause"],
        "action": row["action"],
        "severity": row["severity"],
        "confidence": None if confidence is None else round(float(confidence), 3),
        "summary": row["summary"],
        "evidence": evidence,
        "related": list(row["related"] or []),
    }


def document(data: ReportData, generated_at: datetime | None = None) -> dict[str, Any]:
    """The report document of collected `data`."""
    when = generated_at or datetime.now(UTC)
    per_host: dict[str, list[dict[str, Any]]] = {}
    for row, ident in zip(data.diagnoses.iter_rows(named=True), data.identities, strict=True):
        per_host.setdefault(row["host"], []).append(
            diagnosis_object(row, ident, data.evidence.get(row["diagnosis_id"], []))
        )
    counts = data.hosts["status"].value_counts()
    by_status = dict(zip(counts["status"].to_list(), counts["count"].to_list(), strict=True))
    claims = data.diagnoses.filter(pl.col("action").fill_null(NONE) != NONE)
    causes = (
        claims.group_by(pl.col("root_cause").fill_null("unknown"))
        .len()
        .sort(["len", "root_cause"], descending=[True, False])
    )
    return {
        "schema": REPORT_SCHEMA,
        "generated_at": iso(when),
        "fleet": {
            "hosts": data.hosts.height,
            "healthy": by_status.get("healthy", 0),
            "suspect": by_status.get("suspect", 0),
            "faulty": by_status.get("faulty", 0),
            "by_root_cause": dict(zip(causes["root_cause"].to_list(), causes["len"].to_list(), strict=True)),
        },
        "hosts": [
            {"host": r["host"], "status": r["status"], "diagnoses": per_host.get(r["host"], [])}
            for r in data.hosts.iter_rows(named=True)
        ],
    }


def build_report(store: Store, hosts: list[str] | None = None, generated_at: datetime | None = None) -> dict[str, Any]:
    """The `triage.report/v1` document of `hosts` (None: every host of the store).

    `generated_at` defaults to now (UTC); a naive time is taken as UTC.
    """
    return document(report_data(store, hosts), generated_at)


def fleet_table(store: Store, statuses: list[str] | None = None, hosts: list[str] | None = None) -> pl.DataFrame:
    """One row per host in report order: host, status, diagnoses (count), and the device, root_cause,
    action and summary of its worst diagnosis; only hosts with one of `statuses` when given."""
    data = report_data(store, hosts, with_evidence=False)
    worst = (
        data.diagnoses.group_by("host", maintain_order=True)
        .agg(
            pl.len().alias("diagnoses"),
            *(pl.col(c).first() for c in ("device", "root_cause", "action", "summary")),
        )
        .with_columns(pl.col("diagnoses").cast(pl.Int64))
    )
    frame = (
        data.hosts.join(worst, on="host", how="left", maintain_order="left")
        .with_columns(pl.col("diagnoses").fill_null(0))
        .select("host", "status", "diagnoses", "device", "root_cause", "action", "summary")
    )
    if statuses:
        frame = frame.filter(pl.col("status").is_in(statuses))
    return frame
