"""Watched measurements, one value per host and device, with the cohort each belongs to.

Which measurements are watched, and in which direction they go bad, is data
(`rules/detect/outliers.yaml`); this module reads it and pulls the matching rows out of
the store in one DuckDB query, reduced to the median of each device's runs and labelled
with the GPU model and driver of the device (or of its host).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from triage.detect.settings import check_keys, levels, line_of, number, read_settings
from triage.errors import TriageError
from triage.store import Store, host_condition

BAD = ("low", "high")
# How a device's several readings of one metric become one value: the median of repeated runs,
# the last snapshot (state and counters that only ever grow), or the worst reading.
REDUCE = ("median", "last", "worst")
COHORT_ATTRIBUTES = ("model", "driver")
# Columns that say which values are compared with each other, besides the chosen attributes.
COHORT_KEY = ["test", "metric", "params"]
# Params keys that describe the value rather than the test (an enum's text, a counter's saturation)
# are not test parameters: they are dropped before cohorts are formed.
_COHORT_PARAMS = r"""nullif(regexp_replace(regexp_replace(coalesce(params, ''),
    '"(?:text|saturated|bits)":(?:"(?:[^"\\]|\\.)*"|[^,}]*),?', '', 'g'), ',}$', '}'), '{}')"""


@dataclass(frozen=True)
class MetricSpec:
    """A watched measurement: test and metric globs, the bad direction and how far off matters."""

    test: str
    metric: str
    bad: str
    min_change: float | None = None
    min_delta: float | None = None
    min_size: int | None = None
    tolerance: float | None = None
    reduce: str = "median"

    def matches(self, test: str, metric: str) -> bool:
        """Whether this spec watches `metric` of `test`."""
        return fnmatch.fnmatchcase(test, self.test) and fnmatch.fnmatchcase(metric, self.metric)


@dataclass(frozen=True)
class OutlierSettings:
    """Settings of the fleet-outlier and baseline detectors (`rules/detect/outliers.yaml`)."""

    min_cohort: int
    levels: dict[str, float]
    cohort_by: tuple[str, ...]
    metrics: tuple[MetricSpec, ...]
    tolerance: float = 0.05
    baseline_levels: dict[str, float] = field(
        default_factory=lambda: {"monitor": 1.0, "investigate": 2.0, "drain": 4.0}
    )

    @classmethod
    def load(cls, rules_dir: str | Path | None = None) -> OutlierSettings:
        """The settings shipped in (or overridden by) `<rules>/detect/outliers.yaml`."""
        data, where = read_settings("outliers", rules_dir)
        return cls.from_dict(data, where)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "outliers.yaml") -> OutlierSettings:
        """Settings from a mapping; TriageError naming file and line on anything unknown or invalid."""
        check_keys(data, {"min_cohort", "levels", "cohort_by", "metrics", "tolerance", "baseline_levels"}, where)
        thresholds = levels(data, "levels", where)
        baseline_levels = levels(data, "baseline_levels", where) if "baseline_levels" in data else None
        cohort_by = data.get("cohort_by", list(COHORT_ATTRIBUTES))
        if not isinstance(cohort_by, list) or any(a not in COHORT_ATTRIBUTES for a in cohort_by):
            raise TriageError(
                f"{line_of(data, 'cohort_by', where)}: cohort_by lists any of {', '.join(COHORT_ATTRIBUTES)}"
            )
        metrics = data.get("metrics")
        if not isinstance(metrics, list) or not metrics:
            raise TriageError(f"{line_of(data, 'metrics', where)}: metrics must be a list of watched measurements")
        return cls(
            min_cohort=int(number(data, "min_cohort", where, default=8, minimum=2)),
            levels=thresholds,
            cohort_by=tuple(cohort_by),
            metrics=tuple(_spec(item, where) for item in metrics),
            tolerance=number(data, "tolerance", where, default=0.05),
            **({"baseline_levels": baseline_levels} if baseline_levels else {}),
        )


def _spec(item: Any, where: str) -> MetricSpec:
    if not isinstance(item, dict):
        raise TriageError(f"{where}: each watched metric is a mapping with test, metric and bad")
    at = f"{where}:{getattr(item, 'line', 0)}" if getattr(item, "line", 0) else where
    check_keys(item, {"test", "metric", "bad", "min_change", "min_delta", "min_size", "tolerance", "reduce"}, where)
    for key in ("test", "metric"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise TriageError(f"{at}: watched metric needs a {key} (a glob)")
    if item.get("bad") not in BAD:
        raise TriageError(f"{at}: bad must be low or high, not {item.get('bad')!r}")
    if item.get("reduce", "median") not in REDUCE:
        raise TriageError(f"{at}: reduce must be one of {', '.join(REDUCE)}, not {item.get('reduce')!r}")
    return MetricSpec(
        test=item["test"],
        metric=item["metric"],
        bad=item["bad"],
        min_change=number(item, "min_change", where) if "min_change" in item else None,
        min_delta=number(item, "min_delta", where) if "min_delta" in item else None,
        min_size=int(number(item, "min_size", where)) if "min_size" in item else None,
        tolerance=number(item, "tolerance", where) if "tolerance" in item else None,
        reduce=item.get("reduce", "median"),
    )


_REDUCERS = {
    "median": "median(value)",
    "last": "last(value ORDER BY ts NULLS FIRST, file_id, line_no)",
    "low": "min(value)",
    "high": "max(value)",
}


def watched(store: Store, settings: OutlierSettings, hosts: list[str] | None = None) -> pl.DataFrame:
    """One row per (host, device, test, metric, params) the settings watch, with its cohort attributes.

    Columns: host, device, test, metric, params ('' when none), unit, value (the spec's reduction of the
    readings: median, last or worst),
    samples, evidence (up to three (file_id, line_no)), spec (index into settings.metrics),
    bad, model, driver. `hosts` limits the rows; cohorts are built over whatever is returned.
    """
    cases, conditions, params = [], [], []
    reduce = " ".join(
        f"WHEN {i} THEN {_REDUCERS[spec.reduce if spec.reduce != 'worst' else spec.bad]}"
        for i, spec in enumerate(settings.metrics)
    )
    for index, spec in enumerate(settings.metrics):
        cond = "(test GLOB ? AND metric GLOB ?"
        params_here: list[Any] = [spec.test, spec.metric]
        if spec.min_size is not None:
            cond += " AND TRY_CAST(json_extract_string(params, '$.size') AS BIGINT) >= ?"
            params_here.append(spec.min_size)
        cond += ")"
        cases.append(f"WHEN {cond} THEN {index}")
        conditions.append(cond)
        params.extend(params_here)
    # The CASE and the WHERE both need the spec parameters, in that order.
    params = params + params
    scope, scope_params = host_condition(hosts or None)
    params.extend(scope_params)
    sql = f"""
        WITH m AS (
            SELECT host, coalesce(device, '') AS device, test, metric, coalesce({_COHORT_PARAMS}, '') AS params, unit,
                   value, ts, file_id, line_no, CASE {" ".join(cases)} END AS spec
            FROM measurements
            WHERE ({" OR ".join(conditions)}) AND value IS NOT NULL AND isfinite(value) AND {scope}
        ),
        agg AS (
            SELECT host, device, test, metric, params, spec, any_value(unit) AS unit,
                   CASE spec {reduce} END AS value, count(*) AS samples,
                   list({{'file_id': file_id, 'line_no': line_no}} ORDER BY file_id, line_no)[1:3] AS evidence
            FROM m GROUP BY host, device, test, metric, params, spec
        ),
        gpu AS (SELECT host, device, model, driver FROM assets WHERE kind = 'gpu'),
        by_host AS (SELECT host, mode(model) AS model, mode(driver) AS driver FROM gpu GROUP BY host),
        by_device AS (
            SELECT host, device, mode(model) AS model, mode(driver) AS driver FROM gpu GROUP BY host, device
        )
        SELECT agg.host, nullif(agg.device, '') AS device, agg.test, agg.metric, agg.params, agg.unit, agg.value,
               agg.samples, agg.evidence, agg.spec,
               coalesce(d.model, h.model, '') AS model, coalesce(d.driver, h.driver, '') AS driver
        FROM agg
        LEFT JOIN by_host h ON h.host = agg.host
        LEFT JOIN by_device d ON d.host = agg.host AND d.device = agg.device
        ORDER BY agg.host, agg.device, agg.test, agg.metric, agg.params
    """
    frame = store.frame(sql, params)
    bad = pl.Series([spec.bad for spec in settings.metrics], dtype=pl.String)
    return frame.with_columns(
        bad=bad.gather(frame["spec"].cast(pl.UInt32)) if frame.height else pl.lit(None, pl.String)
    )
