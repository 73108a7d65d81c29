"""Diagnosis: one verdict per host and device from findings, anomalies and test runs.

`diagnose(store)` replaces the `diagnoses` table: it folds the evidence of one incident
together (known chains such as XID 48 -> 63/64 -> 94/95), keeps one primary cause with
its action and confidence, and names the device the way an RMA needs it.
"""

from triage.diagnose.run import DiagnoseSummary, diagnose

__all__ = ["DiagnoseSummary", "diagnose"]
