"""triage: failure triage for GPU and HPC fleets.

    import triage

    fleet = triage.open("triage.duckdb")        # a store: its tables as polars frames
    fleet.ingest(["fleet/"])
    fleet.analyze()                              # rules, detectors, diagnosis
    fleet.hosts(status="faulty")
    fleet.report("html")

    with triage.scan(["node017.tar.gz"]) as node:   # the same, in memory, for one bundle
        print(node.report("md"))

The stages, each a package or module of its own:
  triage.discover   files, folders and archives to ingest, and the host each belongs to
  triage.sources    one parser per input format, sniffed from content
  triage.ingest     discover + parse + append, one file at a time
  triage.store      the DuckDB store (tables declared in triage.schema)
  triage.signatures rule signatures: findings from events
  triage.detect     anomaly detectors: anomalies from measurements, counters and logs
  triage.diagnose   one verdict per host and device: diagnoses
  triage.report     the report document, Markdown, CSV, HTML, RMA tickets, timelines
  triage.api        the Python API re-exported here; the `triage` command calls it
  triage.cli        the `triage` command, thin over the above
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from triage.api import Fleet, open, parse_duration, parse_time, scan
    from triage.errors import TriageError

__all__ = ["Fleet", "TriageError", "open", "parse_duration", "parse_time", "scan"]

# Imported on first use, so that `triage --help` does not load polars and DuckDB.
_HOMES = {"TriageError": "triage.errors"} | dict.fromkeys(
    ["Fleet", "open", "parse_duration", "parse_time", "scan"], "triage.api"
)


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        value = getattr(importlib.import_module(_HOMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'triage' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
