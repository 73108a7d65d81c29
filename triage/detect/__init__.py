"""Anomaly detection: what is off, fleet-relative, where the rules know nothing.

Detectors read the store (measurements, events, findings, assets) and write `anomalies`:
fleet outliers per cohort (`outliers`), deviations from a learned baseline (`baseline`),
counter rates between snapshots (`counters`), multivariate node outliers (`forest`) and
rare kernel-message templates (`templates`). Settings live in `rules/detect/*.yaml`.
"""

from triage.detect.baseline import Baseline
from triage.detect.run import Detectors, DetectSummary, detect, find_anomalies

__all__ = ["Baseline", "DetectSummary", "Detectors", "detect", "find_anomalies"]
