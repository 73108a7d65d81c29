"""The ingest stage: from paths on disk to rows in the store."""

from triage.ingest.pipeline import FileResult, IngestOptions, IngestSummary, ingest

__all__ = ["FileResult", "IngestOptions", "IngestSummary", "ingest"]
