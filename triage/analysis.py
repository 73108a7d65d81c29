"""The analysis after an ingest: rule signatures, then anomaly detectors, then the diagnosis.

`triage analyze` and `triage scan` both run it; each stage replaces its table for the hosts
analysed (`findings`, `anomalies`, `diagnoses`), so it can run again after new ingests.
"""

from __future__ import annotations

from dataclasses import dataclass

from triage.detect import Baseline, Detectors, DetectSummary, detect
from triage.diagnose import DiagnoseSummary, diagnose
from triage.signatures.analyze import AnalyzeSummary, analyze
from triage.signatures.model import RulePack
from triage.store import Store


@dataclass
class AnalysisSummary:
    """What each stage of the analysis produced (detectors and diagnosis: None when not run)."""

    rules: AnalyzeSummary
    anomalies: DetectSummary | None = None
    diagnosis: DiagnoseSummary | None = None

    def as_dict(self) -> dict[str, object]:
        """The rules' summary, with `anomalies` and `diagnosis` keys when those stages ran."""
        out = self.rules.as_dict()
        if self.anomalies is not None and self.diagnosis is not None:
            out["anomalies"] = self.anomalies.as_dict()
            out["diagnosis"] = self.diagnosis.as_dict()
        return out


def run_analysis(
    store: Store,
    pack: RulePack,
    detectors: Detectors | None,
    baseline: Baseline | None = None,
    hosts: list[str] | None = None,
) -> AnalysisSummary:
    """Rules over `hosts` (default: all); with `detectors`, the detectors and the diagnosis too."""
    summary = AnalysisSummary(analyze(store, pack, hosts))
    if detectors is not None:
        summary.anomalies = detect(store, detectors, baseline, hosts)
        summary.diagnosis = diagnose(store, hosts, pack)
    return summary
