"""Running the rule pack over the store: events in, `findings` (and log-derived GPU `assets`) out.

Events stream out of DuckDB in Arrow batches; one Aho-Corasick pass per batch keeps the
candidate lines, and only those are matched, aggregated and written back. Analysis is
repeatable: it replaces the findings (and log-derived assets) of the hosts it covers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import polars as pl

from triage.signatures import engine, identity
from triage.signatures.model import SEVERITIES, RulePack
from triage.store import Store, host_condition

_LOG_KINDS = ("kernel_log", "bug_report")


@dataclass
class AnalyzeSummary:
    """What one analysis saw and produced."""

    events: int = 0
    candidates: int = 0
    hits: int = 0
    findings: int = 0
    by_severity: dict[str, int] = field(default_factory=dict)
    gpus_identified: int = 0
    seconds: float = 0.0
    rules: int = 0  # rules evaluated (not in as_dict: its keys are a contract)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view, stable for scripts."""
        return {
            "events": self.events,
            "candidates": self.candidates,
            "hits": self.hits,
            "findings": self.findings,
            "by_severity": self.by_severity,
            "gpus_identified": self.gpus_identified,
            "seconds": round(self.seconds, 3),
        }


def candidate_events(store: Store, keywords: list[str], hosts: list[str] | None = None) -> tuple[pl.DataFrame, int]:
    """Events holding any of `keywords` (for `hosts`, or all), and how many events were scanned."""
    where, params = host_condition(hosts or None)
    columns = ", ".join(engine.EVENT_COLUMNS)
    parts, scanned = [], 0
    for batch in store.batches(f"SELECT {columns} FROM events WHERE {where}", params):
        scanned += batch.height
        kept = batch.filter(pl.col("message").str.contains_any(keywords))
        # A filtered string column still points into the whole batch's buffers: copy the few kept
        # rows out, or every batch of the table stays in memory until the end.
        parts.append(pl.from_arrow(kept.to_arrow(compat_level=pl.CompatLevel.oldest())))  # type: ignore[arg-type]
    if not parts:
        return pl.DataFrame(schema=engine.EVENT_SCHEMA), scanned
    return pl.concat(parts, how="vertical"), scanned


def analyze(store: Store, pack: RulePack, hosts: list[str] | None = None) -> AnalyzeSummary:
    """Evaluate `pack` over the events of `hosts` (default: all) and replace their findings."""
    started = time.perf_counter()
    summary = AnalyzeSummary(rules=len(pack.rules))
    candidates, summary.events = candidate_events(store, pack.keywords + identity.KEYWORDS, hosts)
    summary.candidates = candidates.height
    hits = engine.match(pack, candidates)
    summary.hits = hits.height
    found = engine.findings(pack, hits)
    assets = identity.gpu_assets(candidates)
    scope, params = host_condition(hosts or None)
    with store.transaction():
        store.execute(f"DELETE FROM findings WHERE {scope}", params)
        log_files = f"SELECT file_id FROM files WHERE kind IN {_LOG_KINDS}"
        store.execute(f"DELETE FROM assets WHERE file_id IN ({log_files}) AND {scope}", params)
        store.append_numbered("findings", found, "finding_id")
        if assets.height:
            store.append("assets", assets)
    summary.findings = found.height
    counts = dict(found.group_by("severity").len().iter_rows()) if found.height else {}
    summary.by_severity = {name: int(counts.get(name, 0)) for name in SEVERITIES}
    summary.gpus_identified = assets.height
    summary.seconds = time.perf_counter() - started
    return summary
