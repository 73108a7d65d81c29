"""Scoring predictions against ground truth: the metrics of `triage eval`.

Pure functions over polars frames (no I/O): `score(truth, predictions)` gives an `Evaluation`.
Truth rows are (host, device, root_cause, action) as `load_truth` returns them; predictions are
a `Predictions` (host statuses and diagnoses). Hosts are compared as exact strings, devices
after trimming and lowercasing; an empty device is the node itself.

Definitions
-----------
Scored hosts
    The hosts of the truth file. Predictions for hosts the truth does not list are left out of
    every metric (they are named in `unscored_hosts`).

Host status
    By the DESIGN rule over a host's actions: `faulty` when any row asks for reset_gpu,
    reboot_node, restart_fabric_manager, update_firmware, check_mechanicals, replace_cable,
    rma_* or contact_vendor; `suspect` when the strongest is monitor, rerun_test or investigate;
    `healthy` otherwise (root_cause none, or application rows with restart_app / none). The
    truth status is derived from the truth rows; the predicted status is the report's `status`
    when it gives one, else derived from the predicted actions the same way (always derived for a
    store). A scored host missing from the predictions is predicted healthy.

Host status accuracy
    Scored hosts whose predicted status equals the truth status / scored hosts. The 3x3
    confusion counts hosts by truth status (rows) and predicted status (columns).

Claims
    The predicted diagnoses on scored hosts whose action is not `none` (info-only diagnoses
    claim nothing and are ignored by every device-level metric).

Truth faults
    Truth rows with root_cause != none, deduplicated on (host, device, root_cause).

Matching
    A truth fault (host, device, root_cause) is matched by a claim with the same host, the same
    root cause and the same device; a truth fault with an empty device (node-level) is matched
    by any claim of that root cause on the host. A claim with an empty device matches only a
    node-level truth fault.

Per root cause
    TP = matched truth faults, FN = unmatched truth faults, FP = claims of that root cause that
    match no truth fault; precision = TP / (TP + FP), recall = TP / (TP + FN),
    F1 = 2PR / (P + R), each 0 when its denominator is 0. Every taxonomy root cause is listed;
    one with no truth fault and no claim has no score (n/a in the table).

Macro-F1
    Mean F1 over the root causes with at least one truth fault (null when the truth has no
    fault).

False-RMA rate
    RMA claims are claims whose action is rma_* or replace_cable. An RMA claim is false when the
    (host, device) it names has no truth hardware fault: no truth row of that host with
    root_cause != none and an action that makes a host suspect or faulty (not none or
    restart_app) on the same device; a node-level truth row covers every device of its host,
    and a node-level claim is covered by any such row of its host. So every RMA claim on a
    truth-healthy host is false, and so is one on a device of a faulty host that its truth rows
    do not name. Rate = false RMA claims / RMA claims (0 when there is none); also the count,
    and `false_rma_hosts` = truth-healthy hosts with at least one RMA claim / truth-healthy
    hosts.

Missed-fault rate
    Truth faults with no claim at all (any root cause) on the same host and device (a
    node-level truth fault: no claim on the host) / truth faults (0 when there is none).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from triage.evaluate.predictions import Predictions
from triage.evaluate.taxonomy import NONE, STATUSES, action_rank, host_status, is_rma, load_taxonomy

EVAL_SCHEMA = "triage.eval/v1"
ROOT_CAUSE_COLUMNS = ("root_cause", "support", "predicted", "tp", "fp", "fn", "precision", "recall", "f1")


@dataclass(frozen=True)
class Evaluation:
    """The scores of one set of predictions against one truth (see the module docstring)."""

    hosts: pl.DataFrame  # host, truth_status, predicted_status, correct
    root_causes: pl.DataFrame  # ROOT_CAUSE_COLUMNS, taxonomy order
    confusion: dict[str, dict[str, int]]  # truth status -> predicted status -> hosts
    status_accuracy: float
    macro_f1: float | None
    truth_faults: int
    claims: int
    missed_faults: int
    missed_fault_rate: float
    rma_claims: int
    false_rma: int
    false_rma_rate: float
    healthy_hosts: int
    false_rma_host_count: int
    false_rma_hosts: float
    unscored_hosts: list[str] = field(default_factory=list)
    source: str = ""
    source_path: str = ""
    truth_path: str = ""

    @property
    def macro_f1_root_causes(self) -> list[str]:
        """The root causes macro-F1 averages over (those with truth faults)."""
        return self.root_causes.filter(pl.col("support") > 0)["root_cause"].to_list()

    def as_dict(self) -> dict[str, Any]:
        """The `triage.eval/v1` JSON document."""
        status_counts = {s: int(self.hosts.filter(pl.col("truth_status") == s).height) for s in STATUSES}
        return {
            "schema": EVAL_SCHEMA,
            "truth": self.truth_path,
            "source": {"kind": self.source, "path": self.source_path},
            "hosts": self.hosts.height,
            "truth_status": status_counts,
            "status_accuracy": self.status_accuracy,
            "status_correct": int(self.hosts["correct"].sum()),
            "status_confusion": self.confusion,
            "macro_f1": self.macro_f1,
            "macro_f1_root_causes": self.macro_f1_root_causes,
            "root_causes": self.root_causes.to_dicts(),
            "truth_faults": self.truth_faults,
            "claims": self.claims,
            "missed_faults": self.missed_faults,
            "missed_fault_rate": self.missed_fault_rate,
            "rma_claims": self.rma_claims,
            "false_rma": self.false_rma,
            "false_rma_rate": self.false_rma_rate,
            "healthy_hosts": self.healthy_hosts,
            "false_rma_host_count": self.false_rma_host_count,
            "false_rma_hosts": self.false_rma_hosts,
            "unscored_hosts": self.unscored_hosts,
            "per_host": self.hosts.to_dicts(),
        }


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _norm_device(column: str = "device") -> pl.Expr:
    return pl.col(column).cast(pl.String).fill_null("").str.strip_chars().str.to_lowercase().alias(column)


def _same_device(truth_device: str, claim_device: str) -> pl.Expr:
    """Truth device empty (node-level) or equal to the claim's device."""
    return (pl.col(truth_device) == "") | (pl.col(truth_device) == pl.col(claim_device))


def score(truth: pl.DataFrame, predictions: Predictions, root_causes: list[str] | None = None) -> Evaluation:
    """Score `predictions` against `truth`; `root_causes` defaults to the taxonomy's, in its order."""
    order = list(root_causes) if root_causes is not None else list(load_taxonomy().root_causes)
    rows = truth.select("host", _norm_device(), "root_cause", "action")

    # -- host status ------------------------------------------------------------------------
    truth_status = host_status(rows).rename({"status": "truth_status"})
    hosts = (
        truth_status.join(
            predictions.hosts.select("host", pl.col("status").alias("predicted_status")), on="host", how="left"
        )
        .with_columns(pl.col("predicted_status").fill_null("healthy"))
        .with_columns((pl.col("truth_status") == pl.col("predicted_status")).alias("correct"))
        .sort("host")
    )
    counts = hosts.group_by("truth_status", "predicted_status").len()
    confusion = {t: dict.fromkeys(STATUSES, 0) for t in STATUSES}
    for t, p, n in counts.iter_rows():
        confusion[t][p] = int(n)
    unscored = predictions.hosts.join(truth_status, on="host", how="anti")["host"].sort().to_list()

    # -- device-level matching ----------------------------------------------------------------
    claims = (
        predictions.diagnoses.filter(pl.col("action") != NONE)
        .join(truth_status.select("host"), on="host", how="semi")
        .select("host", _norm_device(), "root_cause", "action")
        .with_row_index("claim_id")
    )
    faults = (
        rows.filter(pl.col("root_cause") != NONE)
        .unique(["host", "device", "root_cause"], keep="first", maintain_order=True)
        .with_row_index("fault_id")
    )
    pairs = faults.join(claims, on=["host", "root_cause"], suffix="_claim").filter(
        _same_device("device", "device_claim")
    )
    faults = faults.with_columns(pl.col("fault_id").is_in(pairs["fault_id"].implode()).alias("matched"))
    claims = claims.with_columns(pl.col("claim_id").is_in(pairs["claim_id"].implode()).alias("matched"))

    seen = sorted((set(faults["root_cause"].to_list()) | set(claims["root_cause"].to_list())) - set(order))
    by_truth = faults.group_by("root_cause").agg(pl.len().alias("support"), pl.col("matched").sum().alias("tp"))
    by_claim = claims.group_by("root_cause").agg(pl.len().alias("predicted"), (~pl.col("matched")).sum().alias("fp"))
    table = (
        pl.DataFrame({"root_cause": order + seen}, schema={"root_cause": pl.String})
        .join(by_truth, on="root_cause", how="left", maintain_order="left")
        .join(by_claim, on="root_cause", how="left", maintain_order="left")
        .with_columns(pl.col("support", "tp", "predicted", "fp").fill_null(0).cast(pl.Int64))
        .with_columns((pl.col("support") - pl.col("tp")).alias("fn"))
        .with_columns(
            _safe_div(pl.col("tp"), pl.col("tp") + pl.col("fp")).alias("precision"),
            _safe_div(pl.col("tp"), pl.col("support")).alias("recall"),
        )
        .with_columns(
            _safe_div(2 * pl.col("precision") * pl.col("recall"), pl.col("precision") + pl.col("recall")).alias("f1")
        )
        .select(ROOT_CAUSE_COLUMNS)
    )
    supported = table.filter(pl.col("support") > 0)
    macro_f1 = float(supported["f1"].mean()) if supported.height else None  # type: ignore[arg-type]

    # -- missed faults ------------------------------------------------------------------------
    covered = faults.join(claims.select("host", "device"), on="host", suffix="_claim").filter(
        _same_device("device", "device_claim")
    )
    missed = faults.filter(~pl.col("fault_id").is_in(covered["fault_id"].implode())).height

    # -- false RMA ----------------------------------------------------------------------------
    hardware = rows.filter((pl.col("root_cause") != NONE) & (action_rank(pl.col("action")) > 0)).select(
        "host", "device"
    )
    rma = claims.filter(is_rma(pl.col("action")))
    justified = rma.join(hardware.unique(), on="host", suffix="_truth").filter(
        _same_device("device_truth", "device") | (pl.col("device") == "")
    )
    false_rma = rma.filter(~pl.col("claim_id").is_in(justified["claim_id"].implode()))
    healthy = hosts.filter(pl.col("truth_status") == "healthy")
    rma_healthy = healthy.join(rma.select("host").unique(), on="host", how="semi").height

    return Evaluation(
        hosts=hosts,
        root_causes=table,
        confusion=confusion,
        status_accuracy=_ratio(int(hosts["correct"].sum()), hosts.height),
        macro_f1=macro_f1,
        truth_faults=faults.height,
        claims=claims.height,
        missed_faults=missed,
        missed_fault_rate=_ratio(missed, faults.height),
        rma_claims=rma.height,
        false_rma=false_rma.height,
        false_rma_rate=_ratio(false_rma.height, rma.height),
        healthy_hosts=healthy.height,
        false_rma_host_count=rma_healthy,
        false_rma_hosts=_ratio(rma_healthy, healthy.height),
        unscored_hosts=unscored,
        source=predictions.source,
        source_path=predictions.path,
    )


def _safe_div(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    return pl.when(denominator > 0).then(numerator / denominator).otherwise(0.0)
