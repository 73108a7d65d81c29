"""The frame every detector returns: rows of the `anomalies` table, before ids are given.

A detector builds its rows with whatever polars expressions suit it and passes them
through `conform`, which checks the columns and casts them to the store's types.
"""

from __future__ import annotations

import polars as pl

from triage.schema import TABLES

# How far past its thresholds an anomaly is, mildest first (the fleet-outlier vocabulary
# of the Azure HPC playbook: monitor, investigate, drain).
LEVELS = ("monitor", "investigate", "drain")

COLUMNS = [name for name in TABLES["anomalies"].names if name != "anomaly_id"]
SCHEMA: dict[str, pl.DataType] = {
    name: dtype
    for name, dtype in pl.Schema(pl.from_arrow(TABLES["anomalies"].empty_table()).schema).items()
    if name != "anomaly_id"
}
EVIDENCE_TYPE = SCHEMA["evidence"]


def empty() -> pl.DataFrame:
    """No anomalies, with the right columns and types."""
    return pl.DataFrame(schema=SCHEMA)


def conform(rows: pl.DataFrame) -> pl.DataFrame:
    """`rows` with exactly the anomaly columns, in order and cast; missing optional ones become null."""
    required = {"host", "detector", "metric", "level"}
    missing = required - set(rows.columns)
    if missing:
        raise ValueError(f"anomaly rows lack {sorted(missing)}")
    extra = set(rows.columns) - set(COLUMNS)
    if extra:
        raise ValueError(f"anomaly rows have unknown columns {sorted(extra)}")
    bad = rows.filter(~pl.col("level").is_in(LEVELS))
    if bad.height:
        raise ValueError(f"anomaly level {bad['level'][0]!r} is not one of {', '.join(LEVELS)}")
    return rows.select(
        pl.col(name).cast(dtype) if name in rows.columns else pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in SCHEMA.items()
    )


def level_of(score: pl.Expr, levels: dict[str, float]) -> pl.Expr:
    """The highest level whose threshold `score` reaches (null below the mildest)."""
    out = pl.lit(None, dtype=pl.String)
    for name in LEVELS:
        if name in levels:
            out = pl.when(score >= levels[name]).then(pl.lit(name)).otherwise(out)
    return out


def threshold_of(score: pl.Expr, levels: dict[str, float]) -> pl.Expr:
    """The threshold of the highest level `score` reaches (null below the mildest)."""
    out = pl.lit(None, dtype=pl.Float64)
    for name in LEVELS:
        if name in levels:
            out = pl.when(score >= levels[name]).then(pl.lit(levels[name])).otherwise(out)
    return out
