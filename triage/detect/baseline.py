"""Baselines: expected values learned from a known-good run, and deviations from them.

`learn` reduces the watched measurements of a known-good store to one expected value and
spread per cohort (test, metric, parameters, GPU model), dropping outliers round by round so
that one bad node in the "good" run does not move the expectation. `save`/`load` write and
read the YAML file (schema `triage.baseline/v1`). `detect_baseline` flags values worse than
expected by more than the allowance, even when the whole fleet under test is equally bad.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from triage.detect import anomalies
from triage.detect.cohorts import OutlierSettings
from triage.detect.outliers import far_enough, gates, how_far, robust_columns, shortfall, spread_column
from triage.errors import TriageError
from triage.signatures.loader import _read_yaml

SCHEMA = "triage.baseline/v1"
DETECTOR = "baseline"
KEY = ["test", "metric", "params", "model"]
MAX_ROUNDS = 5
_ENTRY_KEYS = {
    "test",
    "metric",
    "params",
    "model",
    "drivers",
    "unit",
    "bad",
    "expected",
    "spread",
    "members",
    "dropped",
}
ENTRY_SCHEMA = {
    "test": pl.String,
    "metric": pl.String,
    "params": pl.String,
    "model": pl.String,
    "drivers": pl.List(pl.String),
    "unit": pl.String,
    "bad": pl.String,
    "expected": pl.Float64,
    "spread": pl.Float64,
    "members": pl.Int64,
    "dropped": pl.Int64,
}


@dataclass(frozen=True)
class Baseline:
    """Expected values per cohort, and where they were learned."""

    entries: pl.DataFrame  # columns of ENTRY_SCHEMA
    source: str
    created_at: str
    hosts: int

    @property
    def cohorts(self) -> int:
        """Number of cohorts with an expected value."""
        return self.entries.height


def learn(frame: pl.DataFrame, settings: OutlierSettings, source: str) -> Baseline:
    """A baseline from watched values (`cohorts.watched`) of a known-good run.

    Each round drops the values that are outliers in the bad direction (drain level and far
    enough by the metric's own gates); it stops when a round drops nothing.
    """
    hosts = frame["host"].n_unique() if frame.height else 0
    kept = gates(frame, settings)
    dropped = kept.clear()
    drain = max(settings.levels.values())
    for _ in range(MAX_ROUNDS):
        stats = kept.with_columns(robust_columns(KEY)).with_columns(spread_column(KEY))
        off = shortfall(pl.col("bad"), pl.col("value"), pl.col("centre"))
        z = pl.when(pl.col("spread").is_null()).then(0.0).otherwise(off / pl.col("spread"))
        outlier = (pl.col("members") >= 3) & (z >= drain) & far_enough(off, pl.col("centre"))
        stats = stats.with_columns(outlier=outlier)
        out = stats.filter(pl.col("outlier"))
        if out.is_empty():
            break
        dropped = pl.concat([dropped, out.select(kept.columns)])
        kept = stats.filter(~pl.col("outlier")).select(kept.columns)
    counts = dropped.group_by(KEY).len("dropped") if dropped.height else None
    entries = (
        kept.with_columns(robust_columns(KEY))
        .with_columns(spread_column(KEY))
        .group_by(KEY)
        .agg(
            pl.col("driver").filter(pl.col("driver") != "").unique().sort().alias("drivers"),
            pl.col("unit").first(),
            pl.col("bad").first(),
            pl.col("centre").first().alias("expected"),
            pl.col("spread").first().fill_null(0.0),
            pl.len().cast(pl.Int64).alias("members"),
        )
    )
    if counts is not None:
        entries = entries.join(counts, on=KEY, how="left")
    else:
        entries = entries.with_columns(dropped=pl.lit(0))
    entries = entries.with_columns(pl.col("dropped").fill_null(0).cast(pl.Int64)).select(list(ENTRY_SCHEMA))
    created = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return Baseline(entries.cast(ENTRY_SCHEMA).sort(KEY), source, created, hosts)  # type: ignore[arg-type]


def save(baseline: Baseline, path: str | Path) -> None:
    """Write `baseline` as YAML to `path`."""
    entries = []
    for row in baseline.entries.iter_rows(named=True):
        entry = {key: row[key] for key in ENTRY_SCHEMA}
        entry["expected"] = _round(entry["expected"])
        entry["spread"] = _round(entry["spread"])
        entries.append(entry)
    document = {
        "schema": SCHEMA,
        "created_at": baseline.created_at,
        "source": baseline.source,
        "hosts": baseline.hosts,
        "cohorts": entries,
    }
    header = (
        "# triage baseline: expected values per cohort (test, metric, params, GPU model), learned by\n"
        "# `triage baseline create` from a known-good run. Use with `triage analyze --baseline FILE`.\n"
    )
    try:
        Path(path).write_text(header + yaml.safe_dump(document, sort_keys=False, width=200), encoding="utf-8")
    except OSError as exc:
        raise TriageError(f"{path}: cannot write the baseline: {exc.strerror or exc}") from exc


def load(path: str | Path) -> Baseline:
    """Read a baseline YAML file; TriageError naming file and line when it is not one."""
    path = Path(path)
    if not path.is_file():
        raise TriageError(f"{path}: no baseline file here")
    problems: list[str] = []
    data = _read_yaml(path, problems)
    if problems:
        raise TriageError(problems[0])
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise TriageError(f"{path}: not a triage baseline (expected schema: {SCHEMA})")
    cohorts = data.get("cohorts")
    if not isinstance(cohorts, list):
        raise TriageError(f"{path}: a baseline needs a list of cohorts")
    rows = []
    for entry in cohorts:
        at = f"{path}:{getattr(entry, 'line', 0)}"
        if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS:
            missing = sorted(_ENTRY_KEYS - set(entry)) if isinstance(entry, dict) else []
            extra = sorted(set(entry) - _ENTRY_KEYS) if isinstance(entry, dict) else []
            raise TriageError(
                f"{at}: baseline cohort must have exactly {sorted(_ENTRY_KEYS)}; missing {missing}, unknown {extra}"
            )
        if entry["bad"] not in ("low", "high"):
            raise TriageError(f"{at}: bad must be low or high")
        for key in ("expected", "spread"):
            if isinstance(entry[key], bool) or not isinstance(entry[key], int | float) or not math.isfinite(entry[key]):
                raise TriageError(f"{at}: {key} must be a number")
        rows.append({key: entry[key] for key in ENTRY_SCHEMA})
    entries = pl.DataFrame(rows, schema=ENTRY_SCHEMA) if rows else pl.DataFrame(schema=ENTRY_SCHEMA)
    return Baseline(entries, str(data.get("source", "")), str(data.get("created_at", "")), int(data.get("hosts") or 0))


def detect_baseline(
    frame: pl.DataFrame, baseline: Baseline, settings: OutlierSettings, hosts: list[str] | None = None
) -> pl.DataFrame:
    """Anomaly rows for watched values worse than the baseline expects, one per (host, device, test, metric)."""
    if frame.is_empty() or baseline.entries.is_empty():
        return anomalies.empty()
    if hosts:
        frame = frame.filter(pl.col("host").is_in(hosts))
    tolerance = pl.Series([s.tolerance for s in settings.metrics], dtype=pl.Float64)
    expected = baseline.entries.select(*KEY, pl.col("expected"), pl.col("members").alias("learned_from"))
    joined = gates(frame, settings).join(expected, on=KEY, how="inner")
    if joined.is_empty():
        return anomalies.empty()
    off = shortfall(pl.col("bad"), pl.col("value"), pl.col("expected"))
    joined = joined.with_columns(
        off=off,
        tolerance=tolerance.gather(joined["spec"].cast(pl.UInt32)).fill_null(settings.tolerance),
    ).with_columns(
        allowed=pl.max_horizontal(pl.col("tolerance") * pl.col("expected").abs(), pl.col("min_delta").fill_null(0.0))
    )
    hits = joined.filter((pl.col("allowed") > 0) & (pl.col("off") > pl.col("allowed"))).with_columns(
        score=pl.col("off") / pl.col("allowed")
    )
    if hits.is_empty():
        return anomalies.empty()
    worst = (
        hits.sort("score", descending=True, maintain_order=True)
        .group_by("host", "device", "test", "metric", maintain_order=True)
        .agg(pl.all().first(), pl.len().alias("off_sets"))
    )
    params = pl.when(pl.col("params") != "").then(pl.format(" {}", pl.col("params"))).otherwise(pl.lit(""))
    rows = worst.select(
        "host",
        "device",
        pl.lit(DETECTOR).alias("detector"),
        "metric",
        "value",
        pl.col("expected").alias("baseline"),
        pl.col("score").round(2),
        anomalies.threshold_of(pl.col("score"), settings.baseline_levels).alias("threshold"),
        pl.format(
            "{} {}{} in baseline {} ({} members)", "test", "metric", params, pl.lit(baseline.source), "learned_from"
        ).alias("cohort"),
        pl.format(
            "{} {} {} {} is {} (allowed {} {})",
            "test",
            "metric",
            pl.col("value").round(2),
            "unit",
            how_far(pl.col("expected"), "the baseline"),
            pl.col("allowed").round(2),
            "unit",
        ).alias("detail"),
        anomalies.level_of(pl.col("score"), settings.baseline_levels).alias("level"),
        "evidence",
    )
    return anomalies.conform(rows.filter(pl.col("level").is_not_null())).sort(
        "host", "device", "metric", nulls_last=True
    )


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def describe(baseline: Baseline) -> dict[str, Any]:
    """A JSON-ready summary of a baseline: source, hosts, cohorts per test."""
    per_test = dict(baseline.entries.group_by("test").len().sort("test").iter_rows()) if baseline.cohorts else {}
    return {
        "source": baseline.source,
        "created_at": baseline.created_at,
        "hosts": baseline.hosts,
        "cohorts": baseline.cohorts,
        "by_test": per_test,
    }
