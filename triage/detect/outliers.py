"""Fleet-relative outliers: robust z-scores per cohort, one-sided.

Within each cohort (same test, metric, parameters, GPU model and driver) the centre is the
median and the spread 1.4826 x MAD, or 1.2533 x the mean absolute deviation when MAD is 0
(more than half the values equal). A value is an outlier when its robust z in the bad
direction reaches a level and it is also off by the metric's `min_change` / `min_delta`.
Cohorts under `min_cohort` members are left out and reported in the notes.
"""

from __future__ import annotations

import polars as pl

from triage.detect import anomalies
from triage.detect.cohorts import OutlierSettings

DETECTOR = "fleet_outlier"
MAD_SCALE = 1.4826  # MAD of a normal distribution is 0.6745 sigma
MEAN_AD_SCALE = 1.2533  # mean absolute deviation of a normal distribution is 0.7979 sigma


def robust_columns(keys: list[str]) -> list[pl.Expr]:
    """`centre`, `spread` and `members` of `value` over the groups `keys`, as window expressions."""
    centre = pl.col("value").median().over(keys)
    return [centre.alias("centre"), pl.len().over(keys).alias("members")]


def spread_column(keys: list[str]) -> pl.Expr:
    """Robust spread of `value` around `centre` per group `keys` (null when all values are equal)."""
    distance = (pl.col("value") - pl.col("centre")).abs()
    mad = distance.median().over(keys)
    mean_ad = distance.mean().over(keys)
    return (
        pl.when(mad > 0)
        .then(mad * MAD_SCALE)
        .when(mean_ad > 0)
        .then(mean_ad * MEAN_AD_SCALE)
        .otherwise(None)
        .alias("spread")
    )


def shortfall(bad: pl.Expr, value: pl.Expr, expected: pl.Expr) -> pl.Expr:
    """How far `value` is from `expected` in the bad direction (negative when it is better)."""
    return pl.when(bad == "low").then(expected - value).otherwise(value - expected)


def gates(frame: pl.DataFrame, settings: OutlierSettings) -> pl.DataFrame:
    """`frame` with `min_change` and `min_delta` columns from each row's watched-metric spec."""
    index = frame["spec"].cast(pl.UInt32)
    changes = pl.Series([s.min_change for s in settings.metrics], dtype=pl.Float64)
    deltas = pl.Series([s.min_delta for s in settings.metrics], dtype=pl.Float64)
    return frame.with_columns(min_change=changes.gather(index), min_delta=deltas.gather(index))


def far_enough(off: pl.Expr, expected: pl.Expr) -> pl.Expr:
    """Whether a shortfall `off` passes the row's min_delta and min_change (relative to `expected`)."""
    relative = pl.when(expected.abs() > 0).then(off / expected.abs()).otherwise(float("inf"))
    return (pl.col("min_delta").is_null() | (off >= pl.col("min_delta"))) & (
        pl.col("min_change").is_null() | (relative >= pl.col("min_change"))
    )


def cohort_keys(settings: OutlierSettings) -> list[str]:
    """The columns that define a cohort under `settings`."""
    return ["test", "metric", "params", *settings.cohort_by]


def scored(frame: pl.DataFrame, settings: OutlierSettings) -> pl.DataFrame:
    """Watched values (see `cohorts.watched`) with centre, spread, members, off, z and relative columns."""
    keys = cohort_keys(settings)
    out = gates(frame, settings).with_columns(robust_columns(keys)).with_columns(spread_column(keys))
    off = shortfall(pl.col("bad"), pl.col("value"), pl.col("centre"))
    return out.with_columns(
        off=off,
        z=pl.when(pl.col("spread").is_null()).then(0.0).otherwise(off / pl.col("spread")),
        relative=pl.when(pl.col("centre").abs() > 0).then(off / pl.col("centre").abs()).otherwise(None),
    )


def detect_outliers(
    frame: pl.DataFrame, settings: OutlierSettings, hosts: list[str] | None = None
) -> tuple[pl.DataFrame, list[str]]:
    """Anomaly rows for the fleet outliers among watched values, and notes on cohorts left out.

    One row per (host, device, test, metric): the worst of its parameter sets (e.g. message
    sizes), with how many of them were off. `hosts` limits the rows, not the cohorts.
    """
    if frame.is_empty():
        return anomalies.empty(), []
    values = scored(frame, settings)
    small = values.filter(pl.col("members") < settings.min_cohort)
    notes = _small_cohort_notes(small, settings)
    mildest = min(settings.levels.values())
    hits = values.filter(
        (pl.col("members") >= settings.min_cohort)
        & (pl.col("z") >= mildest)
        & far_enough(pl.col("off"), pl.col("centre"))
    )
    if hosts:
        hits = hits.filter(pl.col("host").is_in(hosts))
    if hits.is_empty():
        return anomalies.empty(), notes
    sets = values.group_by("host", "device", "test", "metric").agg(pl.len().alias("param_sets"))
    worst = (
        hits.sort("z", descending=True, maintain_order=True)
        .group_by("host", "device", "test", "metric", maintain_order=True)
        .agg(pl.all().first(), pl.len().alias("off_sets"))
        .join(sets, on=["host", "device", "test", "metric"], how="left", nulls_equal=True)
    )
    return anomalies.conform(_rows(worst, settings)).sort("host", "device", "metric", nulls_last=True), notes


def how_far(expected: pl.Expr, what: str) -> pl.Expr:
    """Words for how far `value` is from `expected` ("12.5% below the cohort median 400")."""
    value, off = pl.col("value"), pl.col("off")
    direction = pl.when(pl.col("bad") == "low").then(pl.lit("below")).otherwise(pl.lit("above"))
    # Metrics judged by an absolute floor only (temperatures, counts) read better in their unit than in %.
    absolute = pl.col("min_change").is_null() & pl.col("min_delta").is_not_null()
    return (
        pl.when(expected == 0)
        .then(pl.format("{} {} {} {} 0", off.round(2), "unit", direction, pl.lit(what)))
        .when(absolute)
        .then(pl.format("{} {} {} {} {}", off.round(2), "unit", direction, pl.lit(what), expected.round(2)))
        .when((pl.col("bad") == "high") & (value >= 3 * expected.abs()))
        .then(pl.format("{}x {} {}", (value / expected).round(1), pl.lit(what), expected.round(2)))
        .otherwise(
            pl.format("{}% {} {} {}", (off / expected.abs() * 100).round(1), direction, pl.lit(what), expected.round(2))
        )
    )


def _rows(worst: pl.DataFrame, settings: OutlierSettings) -> pl.DataFrame:
    scope = pl.when(pl.col("param_sets") > 1).then(
        pl.format(" (off at {} of {} parameter sets; worst shown)", pl.col("off_sets"), pl.col("param_sets"))
    )
    params = pl.when(pl.col("params") != "").then(pl.format(" {}", pl.col("params"))).otherwise(pl.lit(""))
    members = pl.when(pl.col("device").is_null()).then(pl.lit("nodes")).otherwise(pl.lit("devices"))
    return worst.select(
        "host",
        "device",
        pl.lit(DETECTOR).alias("detector"),
        "metric",
        "value",
        pl.col("centre").alias("baseline"),
        pl.col("z").round(2).alias("score"),
        anomalies.threshold_of(pl.col("z"), settings.levels).alias("threshold"),
        pl.format(
            "{} {}{} on {} {} ({}, driver {})",
            "test",
            "metric",
            params,
            "members",
            members,
            pl.when(pl.col("model") != "").then("model").otherwise(pl.lit("model unknown")),
            pl.when(pl.col("driver") != "").then("driver").otherwise(pl.lit("unknown")),
        ).alias("cohort"),
        pl.format(
            "{} {} {} {} is {} (robust z {}){}",
            "test",
            "metric",
            pl.col("value").round(2),
            "unit",
            how_far(pl.col("centre"), "the cohort median"),
            pl.col("z").round(1),
            scope.fill_null(""),
        ).alias("detail"),
        anomalies.level_of(pl.col("z"), settings.levels).alias("level"),
        "evidence",
    )


def _small_cohort_notes(small: pl.DataFrame, settings: OutlierSettings, shown: int = 4) -> list[str]:
    """One note naming the metrics whose cohorts were too small to judge (the first `shown` of them)."""
    if small.is_empty():
        return []
    cohorts = small.group_by(cohort_keys(settings)).agg(pl.len().alias("n"))
    metrics = cohorts.group_by("test", "metric").agg(pl.len().alias("cohorts")).sort("test", "metric")
    names = [f"{test} {metric}" for test, metric in metrics.select("test", "metric").iter_rows()]
    listed = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
    return [
        f"{cohorts.height} cohort(s) under {settings.min_cohort} members not judged "
        f"(largest {cohorts['n'].max()}): {listed}"
    ]
