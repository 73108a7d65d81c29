"""Running the diagnosis over the store and writing the `diagnoses` table.

Signals are read for the hosts in scope in a few vectorised queries, named after one device
each (`devices`), decided host by host (`decide`; a host has tens of signals, not thousands),
and written back with the ids of everything behind each verdict.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import polars as pl

from triage.diagnose import devices
from triage.diagnose.catalog import CONTEXT
from triage.diagnose.decide import Verdict, decide
from triage.diagnose.signals import collect
from triage.evaluate.taxonomy import STATUSES, host_status
from triage.signatures.loader import load_rules
from triage.signatures.model import RulePack
from triage.store import Store, host_condition

MAX_EVIDENCE = 50  # lines kept per verdict (the report shows the first few)
# Confidence by how many kinds of evidence agree (log lines, test results, device states, metrics).
CONFIDENCE_BY_KINDS = {1: 0.6, 2: 0.8, 3: 0.9}
CONFIDENCE_MAX = 0.95

DIAGNOSIS_SCHEMA: dict[str, pl.DataType] = {
    "host": pl.String,
    "device": pl.String,
    "component": pl.String,
    "root_cause": pl.String,
    "action": pl.String,
    "severity": pl.String,
    "confidence": pl.Float64,
    "summary": pl.String,
    "primary_finding": pl.String,
    "related": pl.List(pl.String),
    "evidence": pl.List(pl.Struct({"file_id": pl.Int32, "line_no": pl.Int64})),
    "first_ts": pl.Datetime("us"),
    "last_ts": pl.Datetime("us"),
    "finding_ids": pl.List(pl.Int64),
    "anomaly_ids": pl.List(pl.Int64),
    "run_ids": pl.List(pl.Int64),
}


@dataclass
class DiagnoseSummary:
    """What the diagnosis decided: verdicts, hosts by status, and how long it took."""

    diagnoses: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_root_cause: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view, stable for scripts."""
        return {
            "diagnoses": self.diagnoses,
            "by_status": self.by_status,
            "by_root_cause": self.by_root_cause,
            "seconds": round(self.seconds, 3),
        }


def verdicts(store: Store, pack: RulePack | None = None, hosts: list[str] | None = None) -> pl.DataFrame:
    """The diagnoses of `hosts` (default: all) as rows of the `diagnoses` table, without ids. Writes nothing."""
    pack = pack or load_rules()
    signals = collect(store, pack, hosts)
    if signals.is_empty():
        return pl.DataFrame(schema=DIAGNOSIS_SCHEMA)
    signals = devices.canonical(signals, devices.device_aliases(store, hosts))
    names = device_names(store, hosts)
    by_host: dict[str, list[dict]] = defaultdict(list)
    for row in signals.to_dicts():
        by_host[row["host"]].append(row)
    rows = []
    for host in sorted(by_host):
        for verdict in decide(host, by_host[host], names.get(host, {})):
            rows.append(_row(verdict))
    return pl.DataFrame(rows, schema=DIAGNOSIS_SCHEMA) if rows else pl.DataFrame(schema=DIAGNOSIS_SCHEMA)


def diagnose(store: Store, hosts: list[str] | None = None, pack: RulePack | None = None) -> DiagnoseSummary:
    """Decide the verdicts of `hosts` (default: all) and replace their rows in `diagnoses`."""
    started = time.perf_counter()
    found = verdicts(store, pack, hosts)
    scope, params = host_condition(hosts or None)
    with store.transaction():
        store.execute(f"DELETE FROM diagnoses WHERE {scope}", params)
        store.append_numbered("diagnoses", found, "diagnosis_id")
    summary = DiagnoseSummary(diagnoses=found.height, seconds=time.perf_counter() - started)
    claims = found.filter(pl.col("action") != "none")
    summary.by_root_cause = dict(
        sorted(claims.group_by("root_cause").len().iter_rows(), key=lambda kv: (-kv[1], kv[0]))
    )
    hosts_seen = store.frame(f"SELECT DISTINCT host FROM files WHERE {scope}", params)
    status = hosts_seen.join(host_status(found), on="host", how="left").select(pl.col("status").fill_null("healthy"))
    counts = dict(status.group_by("status").len().iter_rows())
    summary.by_status = {name: int(counts.get(name, 0)) for name in STATUSES}
    return summary


def device_names(store: Store, hosts: list[str] | None = None) -> dict[str, dict[str, str]]:
    """Per host, how a sentence names each known GPU: "GPU 3 (0000:5d:00.0)"."""
    scope, params = host_condition(hosts or None)
    gpus = store.frame(
        f"""SELECT host, device, min("index") AS idx FROM assets
            WHERE kind = 'gpu' AND "index" IS NOT NULL AND {scope} GROUP BY host, device""",
        params,
    )
    names: dict[str, dict[str, str]] = defaultdict(dict)
    for host, device, index in gpus.iter_rows():
        names[host][device] = f"GPU {index} ({device})"
    return names


def _row(verdict: Verdict) -> dict:
    signals = [verdict.primary, *verdict.signals]
    evidence: list[dict] = []
    seen: set[tuple[int, int]] = set()
    for s in signals:
        for ref in s["evidence"] or []:
            key = (ref["file_id"], ref["line_no"])
            if key not in seen and len(evidence) < MAX_EVIDENCE:
                seen.add(key)
                evidence.append(ref)
    times = [t for s in signals for t in (s["first_ts"], s["last_ts"]) if t is not None]
    related = list(dict.fromkeys(s["ref"] for s in verdict.signals if s["ref"] != verdict.primary["ref"]))
    return {
        "host": verdict.host,
        "device": verdict.device,
        "component": verdict.component,
        "root_cause": verdict.root_cause,
        "action": verdict.action,
        "severity": verdict.severity,
        "confidence": confidence(signals),
        "summary": verdict.summary,
        "primary_finding": verdict.primary["ref"],
        "related": related,
        "evidence": evidence,
        "first_ts": min(times) if times else None,
        "last_ts": max(times) if times else None,
        "finding_ids": _ids(signals, "finding"),
        "anomaly_ids": _ids(signals, "anomaly"),
        "run_ids": _ids(signals, "test"),
    }


def confidence(signals: list[dict]) -> float:
    """How strong and consistent the evidence is: 0.6 for one kind of evidence, up to 0.95 for four."""
    kinds = {s["kind"] for s in signals if s["role"] != CONTEXT}
    return CONFIDENCE_BY_KINDS.get(len(kinds), CONFIDENCE_MAX) if kinds else 0.5


def _ids(signals: list[dict], kind: str) -> list[int]:
    return list(dict.fromkeys(s["id"] for s in signals if s["kind"] == kind and s["id"] is not None))
