"""The taxonomy values evaluation checks against, and the host status rule of DESIGN.md.

Root causes and actions come from `rules/taxonomy.yaml` (the folder of `$TRIAGE_RULES` when set).
Host status: `faulty` when any row asks for a hardware or recovery action, `suspect` when the
strongest asks for `monitor`, `rerun_test` or `investigate`, otherwise `healthy` (`none`,
`restart_app`: application faults are listed, not blamed on the node).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl

from triage.paths import default_rules_dir

STATUSES = ("healthy", "suspect", "faulty")  # in increasing order of blame
FAULTY_ACTIONS = frozenset(
    {
        "reset_gpu", "reboot_node", "restart_fabric_manager", "update_firmware", "check_mechanicals",
        "replace_cable", "rma_gpu", "rma_hca", "rma_baseboard", "rma_dimm", "rma_node", "contact_vendor",
    }
)  # fmt: skip
SUSPECT_ACTIONS = frozenset({"monitor", "rerun_test", "investigate"})
NONE = "none"


@dataclass(frozen=True)
class Taxonomy:
    """The values a root cause or an action may take (`none` included for both)."""

    root_causes: tuple[str, ...]  # taxonomy order, without `none`
    actions: tuple[str, ...]  # taxonomy order, `none` included


def load_taxonomy(folder: str | Path | None = None) -> Taxonomy:
    """Root causes and actions of `FOLDER/taxonomy.yaml` (default: the rules folder triage uses)."""
    root = Path(folder) if folder is not None else default_rules_dir()
    return _read_taxonomy(root.resolve() / "taxonomy.yaml")


@cache
def _read_taxonomy(path: Path) -> Taxonomy:
    from triage.signatures.loader import read_taxonomy

    values = read_taxonomy(path)
    root_causes = tuple(v for v in values["root_cause"] if v != NONE)
    actions = tuple(values["action"])
    if NONE not in actions:
        actions = (NONE, *actions)
    return Taxonomy(root_causes, actions)


def is_rma(action: pl.Expr) -> pl.Expr:
    """True for the actions that send hardware back or replace it: `rma_*` and `replace_cable`."""
    return action.str.starts_with("rma_") | (action == "replace_cable")


def action_rank(action: pl.Expr) -> pl.Expr:
    """0 (healthy), 1 (suspect) or 2 (faulty): what one action says about its host."""
    return (
        pl.when(action.is_in(list(FAULTY_ACTIONS)) | action.str.starts_with("rma_"))
        .then(2)
        .when(action.is_in(list(SUSPECT_ACTIONS)))
        .then(1)
        .otherwise(0)
        .cast(pl.Int8)
    )


def status_from_rank(rank: pl.Expr) -> pl.Expr:
    """The status name of a rank from `action_rank` (null rank: healthy)."""
    return (
        pl.when(rank == 2).then(pl.lit("faulty")).when(rank == 1).then(pl.lit("suspect")).otherwise(pl.lit("healthy"))
    )


def host_status(rows: pl.DataFrame) -> pl.DataFrame:
    """Per host of `rows` (columns host, action): its status by the DESIGN rule. Columns host, status."""
    return (
        rows.group_by("host")
        .agg(action_rank(pl.col("action")).max().alias("rank"))
        .select("host", status_from_rank(pl.col("rank")).alias("status"))
        .sort("host")
    )
