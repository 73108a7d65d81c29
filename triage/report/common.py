"""What every report shares: hosts and their status, diagnoses in report order, time stamps.

Host status is DESIGN.md's rule (`triage.evaluate.taxonomy`): faulty when any diagnosis asks
for a hardware or recovery action, suspect when the strongest asks for monitor, rerun_test or
investigate, healthy otherwise. Reports list hosts faulty first, then suspect, then healthy, by
name within; a host's diagnoses strongest action first, then most severe, most confident.
"""

from __future__ import annotations

import difflib
from datetime import UTC, datetime

import polars as pl

from triage.errors import TriageError
from triage.evaluate.taxonomy import NONE, action_rank, host_status, is_rma
from triage.signatures.model import SEVERITIES
from triage.store import Store, host_condition

STATUS_ORDER = ("faulty", "suspect", "healthy")  # report order
# GPU resets someone ran, as kernel and text logs show them (a `GPU Reset Status` field of nvidia-smi is not one)
RESET_PATTERN = r"(?i)(\bgpu reset\b|nvidia-smi\s+(-r\b|--gpu-reset\b))"
RESET_SOURCES = ["kernel_log", "text"]
DIAGNOSIS_COLUMNS = (
    "diagnosis_id, host, device, component, root_cause, action, severity, confidence, summary, "
    "primary_finding, related, first_ts, last_ts, finding_ids, anomaly_ids, run_ids"
)


class UnknownHostError(TriageError):
    """A host asked for is not in the store."""


def iso(ts: datetime | None) -> str | None:
    """`2026-11-20T03:12:09Z` (UTC, whole seconds) for a naive-UTC or aware time; None stays None."""
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_expr(column: str) -> pl.Expr:
    """`iso` as a polars expression over a naive-UTC datetime column."""
    return pl.col(column).dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def severity_rank(severity: pl.Expr) -> pl.Expr:
    """0 (info) to 3 (critical); -1 for anything else."""
    return severity.replace_strict({s: i for i, s in enumerate(SEVERITIES)}, default=-1, return_dtype=pl.Int8)


def is_rma_or_vendor(action: pl.Expr) -> pl.Expr:
    """The actions of the RMA list: `rma_*`, `replace_cable` and `contact_vendor`."""
    return is_rma(action) | (action == "contact_vendor")


def store_hosts(store: Store) -> list[str]:
    """Every host of the store: those of `files`, and any other a diagnosis names."""
    frame = store.frame(
        "SELECT host FROM files WHERE host IS NOT NULL UNION SELECT host FROM diagnoses WHERE host IS NOT NULL"
    )
    return sorted(frame["host"].to_list())


def check_hosts(store: Store, hosts: list[str] | None) -> list[str] | None:
    """`hosts` when all are in the store (None: all); else a one-line error with close names."""
    if not hosts:
        return None
    known = store_hosts(store)
    known_set = set(known)
    for host in hosts:
        if host not in known_set:
            raise UnknownHostError(unknown_host_message(host, known))
    return list(dict.fromkeys(hosts))


def unknown_host_message(host: str, known: list[str]) -> str:
    """`no host 'x' in the store (close: a, b, c)`, or how many hosts there are."""
    scores = [(difflib.SequenceMatcher(None, host, k).ratio(), k) for k in known]
    close = [k for score, k in sorted(scores, key=lambda p: (-p[0], p[1])) if score >= 0.5][:5]
    if not close:
        close = [k for k in known if host.lower() in k.lower()][:5]
    if close:
        return f"no host {host!r} in the store (close: {', '.join(close)})"
    if not known:
        return f"no host {host!r}: the store has no hosts (run `triage ingest` first)"
    return f"no host {host!r} in the store ({len(known)} hosts, e.g. {', '.join(known[:3])})"


def ordered_diagnoses(store: Store, hosts: list[str] | None = None) -> pl.DataFrame:
    """The diagnoses of `hosts` in report order, with `rank` (0-2, the action's host status) and `sev`."""
    where, params = host_condition(hosts)
    frame = store.frame(f"SELECT {DIAGNOSIS_COLUMNS} FROM diagnoses WHERE {where}", params)
    return frame.with_columns(
        action_rank(pl.col("action").fill_null(NONE)).alias("rank"),
        severity_rank(pl.col("severity")).alias("sev"),
    ).sort(
        ["host", "rank", "sev", "confidence", "device", "diagnosis_id"],
        descending=[False, True, True, True, False, False],
        nulls_last=True,
    )


def host_statuses(store: Store, hosts: list[str] | None, diagnoses: pl.DataFrame) -> pl.DataFrame:
    """One row per host (every host of the store, or `hosts`): host, status, in report order."""
    names = hosts if hosts is not None else store_hosts(store)
    known = pl.DataFrame({"host": names}, schema={"host": pl.String})
    statuses = host_status(diagnoses.select("host", pl.col("action").fill_null(NONE)))
    return (
        known.join(statuses, on="host", how="left")
        .with_columns(pl.col("status").fill_null("healthy"))
        .with_columns(pl.col("status").replace_strict(STATUS_ORDER, list(range(3)), return_dtype=pl.Int8).alias("o"))
        .sort(["o", "host"])
        .select("host", "status")
    )
