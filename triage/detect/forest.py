"""Multivariate fleet outliers: an isolation forest over one feature vector per node.

Each node is described by a few numbers read from its measurements (NCCL bus bandwidth, HPL
Gflops, host-device copy bandwidth, temperatures, ECC and InfiniBand error counts, ...), each
reduced over the node's devices and rows as `rules/detect/forest.yaml` says. The features are
robust-scaled across the whole fleet and folded so that only the bad direction counts (a node
faster than the fleet is not an outlier); scikit-learn's IsolationForest then scores every
node, and a node is flagged when its anomaly score is itself a fleet outlier. This catches
nodes slightly off in several features at once, which per-metric thresholds miss.

Anomaly rows: detector `isolation_forest`, metric `node_features`, device null, value the
node's anomaly score (0 to 1, higher is more isolated), baseline the fleet median score,
score the robust z of the node's anomaly score, detail the features that drove it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sklearn.ensemble import IsolationForest

from triage.detect import anomalies
from triage.detect.settings import check_keys, integer, levels, line_of, number, read_settings
from triage.errors import TriageError
from triage.store import Store

DETECTOR = "isolation_forest"
METRIC = "node_features"
HOST = "host"
MISSING = "missing_features"  # column of `node_features`: how many features the node lacked

AGGREGATES = {"min": "min", "max": "max", "mean": "avg", "median": "median", "sum": "sum"}
DIRECTIONS = ("low", "high", "both")
# Normal-consistency factors: sigma = 1.4826 * MAD = 1.2533 * mean absolute deviation (sqrt(pi/2)).
MAD_TO_SD = 1.4826
MEAN_AD_TO_SD = 1.2533

SETTING_KEYS = {
    "n_estimators", "max_samples", "random_state", "min_nodes", "max_missing", "combined_deviation", "levels",
    "drivers", "driver_min_z", "extra_bad", "features", "references",
}  # fmt: skip
FEATURE_KEYS = {"name", "test", "metric", "params", "device_aggregate", "aggregate", "bad"}
BOUND_KEYS = {"min", "max"}
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class ParamFilter:
    """Keep only measurements whose `params` JSON has `key` equal to `equals`, or within [`min`, `max`]."""

    key: str
    equals: str | float | bool | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Feature:
    """One number per node: `aggregate` over the node's rows of `test`/`metric` (globs) passing `params`."""

    name: str
    test: str
    metric: str
    aggregate: str
    bad: str
    params: tuple[ParamFilter, ...] = ()
    device_aggregate: str | None = None  # first reduce each device's rows (e.g. counter snapshots) this way


@dataclass(frozen=True)
class ForestSettings:
    """Settings of the isolation-forest detector (`rules/detect/forest.yaml`)."""

    features: tuple[Feature, ...]
    levels: dict[str, float]
    n_estimators: int
    max_samples: int
    random_state: int
    min_nodes: int
    max_missing: float
    combined_deviation: bool
    drivers: int
    driver_min_z: float
    extra_bad: str

    @property
    def threshold(self) -> float:
        """The robust z of the anomaly score from which a node is flagged (the mildest level)."""
        return min(self.levels.values())

    @classmethod
    def load(cls, rules_dir: str | Path | None = None) -> ForestSettings:
        """The settings in `<rules>/detect/forest.yaml`; TriageError with file:line when invalid."""
        data, where = read_settings("forest", rules_dir)
        return cls.from_dict(data, where)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> ForestSettings:
        """Settings from a mapping read from `where`; TriageError with file:line when invalid."""
        check_keys(data, SETTING_KEYS, where)
        refs = data.get("references", [])
        if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
            raise TriageError(f"{line_of(data, 'references', where)}: references must be a list of texts")
        combined = _required(data, "combined_deviation", where)
        if not isinstance(combined, bool):
            raise TriageError(f"{line_of(data, 'combined_deviation', where)}: combined_deviation must be true or false")
        return cls(
            features=_features(data, where),
            levels=levels(data, "levels", where),
            n_estimators=integer(data, "n_estimators", where, minimum=1),
            max_samples=integer(data, "max_samples", where, minimum=2),
            random_state=integer(data, "random_state", where, minimum=0),
            min_nodes=integer(data, "min_nodes", where, minimum=3),
            max_missing=_fraction(data, "max_missing", where),
            combined_deviation=combined,
            drivers=integer(data, "drivers", where, minimum=1),
            driver_min_z=number(data, "driver_min_z", where),
            extra_bad=_choice(data, "extra_bad", DIRECTIONS, where),
        )

    def direction(self, column: str) -> str:
        """The bad direction of a feature column (`extra_bad` for columns not in the settings)."""
        return next((f.bad for f in self.features if f.name == column), self.extra_bad)


@dataclass(frozen=True)
class ForestResult:
    """What `detect_forest` found: anomaly rows, every node's score, and why it did nothing if so."""

    anomalies: pl.DataFrame
    note: str | None = None
    scores: pl.DataFrame | None = None  # host, score, z, baseline of every node; None when the forest did not run


# -- settings -----------------------------------------------------------------------
def _required(data: dict[str, Any], key: str, where: str, at: str | None = None) -> Any:
    """`data[key]`; TriageError at `at` (the mapping's own line) or the file when it is missing."""
    if key not in data:
        raise TriageError(f"{at or where}: setting {key!r} is missing")
    return data[key]


def _fraction(data: dict[str, Any], key: str, where: str) -> float:
    value = number(data, key, where)
    if value > 1:
        raise TriageError(f"{line_of(data, key, where)}: {key} must be a fraction between 0 and 1, not {value!r}")
    return value


def _choice(data: dict[str, Any], key: str, allowed: Iterable[str], where: str, at: str | None = None) -> str:
    value = _required(data, key, where, at)
    if value not in allowed:
        raise TriageError(f"{line_of(data, key, where)}: {key} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _features(data: dict[str, Any], where: str) -> tuple[Feature, ...]:
    raw = _required(data, "features", where)
    at = line_of(data, "features", where)
    if not isinstance(raw, list) or not raw:
        raise TriageError(f"{at}: features must be a non-empty list")
    features: list[Feature] = []
    for item in raw:
        if not isinstance(item, dict):
            raise TriageError(f"{at}: each feature must be a mapping with {', '.join(sorted(FEATURE_KEYS))}")
        feature = _feature(item, where, f"{where}:{getattr(item, 'line', '?')}")
        if any(f.name == feature.name for f in features):
            raise TriageError(f"{line_of(item, 'name', where)}: duplicate feature name {feature.name!r}")
        features.append(feature)
    return tuple(features)


def _feature(item: dict[str, Any], where: str, at: str) -> Feature:
    check_keys(item, FEATURE_KEYS, where)
    for key in ("name", "test", "metric"):
        if not isinstance(_required(item, key, where, at), str) or not item[key]:
            raise TriageError(f"{line_of(item, key, where)}: {key} must be a non-empty text, not {item[key]!r}")
    if not _NAME.match(item["name"]) or item["name"] in (HOST, MISSING):
        raise TriageError(f"{line_of(item, 'name', where)}: feature name {item['name']!r} must be lower_snake_case")
    return Feature(
        name=item["name"],
        test=item["test"],
        metric=item["metric"],
        aggregate=_choice(item, "aggregate", AGGREGATES, where, at),
        bad=_choice(item, "bad", DIRECTIONS, where, at),
        params=_params(item, where),
        device_aggregate=_choice(item, "device_aggregate", AGGREGATES, where) if "device_aggregate" in item else None,
    )


def _params(item: dict[str, Any], where: str) -> tuple[ParamFilter, ...]:
    raw = item.get("params", {})
    if not isinstance(raw, dict):
        raise TriageError(f"{line_of(item, 'params', where)}: params must map parameter names to values or bounds")
    filters = []
    for key, value in raw.items():
        here = line_of(raw, str(key), where)
        if not isinstance(key, str) or not _PARAM.match(key):
            raise TriageError(f"{here}: parameter name {key!r} must be a plain identifier")
        if isinstance(value, dict):
            check_keys(value, BOUND_KEYS, where)
            low, high = _bound(value, "min", where), _bound(value, "max", where)
            if low is None and high is None:
                raise TriageError(f"{here}: parameter {key!r} needs min and/or max")
            if low is not None and high is not None and low > high:
                raise TriageError(f"{here}: parameter {key!r} has min above max")
            filters.append(ParamFilter(key, min=low, max=high))
        elif isinstance(value, str | int | float):
            filters.append(ParamFilter(key, equals=value))
        else:
            raise TriageError(f"{here}: parameter {key!r} must be a text, a number, a boolean or min/max bounds")
    return tuple(filters)


def _bound(data: dict[str, Any], key: str, where: str) -> float | None:
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TriageError(f"{line_of(data, key, where)}: {key} must be a number, not {value!r}")
    return float(value)


# -- features -----------------------------------------------------------------------
def _feature_sql(feature: Feature) -> tuple[str, list[Any]]:
    """One SELECT giving (feature, host, value) for `feature`; aggregate names come from `AGGREGATES` only."""
    where = ["test GLOB ?", "metric GLOB ?", "isfinite(value)"]
    params: list[Any] = [feature.test, feature.metric]
    for f in feature.params:
        path = f"$.{f.key}"
        if isinstance(f.equals, bool):
            where.append("json_extract_string(params, ?) = ?")
            params += [path, "true" if f.equals else "false"]
        elif isinstance(f.equals, str):
            where.append("json_extract_string(params, ?) = ?")
            params += [path, f.equals]
        elif f.equals is not None:
            where.append("TRY_CAST(json_extract_string(params, ?) AS DOUBLE) = ?")
            params += [path, float(f.equals)]
        for bound, op in ((f.min, ">="), (f.max, "<=")):
            if bound is not None:
                where.append(f"TRY_CAST(json_extract_string(params, ?) AS DOUBLE) {op} ?")
                params += [path, bound]
    rows = f"SELECT host, device, value FROM measurements WHERE {' AND '.join(where)}"
    if feature.device_aggregate:
        rows = (
            f"SELECT host, {AGGREGATES[feature.device_aggregate]}(value) AS value FROM ({rows}) GROUP BY host, device"
        )
    value = f"{AGGREGATES[feature.aggregate]}(value)::DOUBLE"
    return f"SELECT ? AS feature, host, {value} AS value FROM ({rows}) GROUP BY host", [feature.name, *params]


def node_features(store: Store, settings: ForestSettings, extra: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per host (sorted) with one Float64 column per feature, imputed, plus `missing_features`.

    The fleet is every host of the store with at least one feature value, plus the hosts of
    `extra` (host and numeric columns, e.g. per-node counter deltas), whose columns are joined
    in. A value a host lacks is the fleet median of that feature, so a gap never looks
    anomalous; `missing_features` counts them. Features equal on every host, or missing on more
    than `max_missing` of the hosts, are dropped.
    """
    parts = [_feature_sql(f) for f in settings.features]
    sql = " UNION ALL ".join(f"({q})" for q, _ in parts)
    long = store.frame(sql, [p for _, ps in parts for p in ps])
    names = [f.name for f in settings.features]
    wide = (
        long.pivot(on="feature", index=HOST, values="value") if long.height else pl.DataFrame(schema={HOST: pl.String})
    )
    wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(n) for n in names if n not in wide.columns)
    wide = wide.select(HOST, *(pl.col(n).cast(pl.Float64) for n in names))
    if extra is not None:
        wide = _join_extra(wide, extra)
    return _impute(wide.sort(HOST), settings.max_missing)


def _join_extra(wide: pl.DataFrame, extra: pl.DataFrame) -> pl.DataFrame:
    if HOST not in extra.columns or extra[HOST].n_unique() != extra.height:
        raise ValueError("extra features need a `host` column with one row per host")
    columns = [c for c in extra.columns if c != HOST]
    clash = sorted(set(columns) & set(wide.columns))
    bad_type = [c for c in columns if not extra.schema[c].is_numeric()]
    if clash or bad_type or MISSING in columns:
        raise ValueError(f"extra feature columns must be new numeric columns: {sorted({*clash, *bad_type})}")
    extra = extra.select(pl.col(HOST).cast(pl.String), *(_finite(c) for c in columns))
    return wide.join(extra, on=HOST, how="full", coalesce=True)


def _finite(column: str) -> pl.Expr:
    """The column as Float64 with NaN and infinities as null (missing)."""
    value = pl.col(column).cast(pl.Float64)
    return pl.when(value.is_finite()).then(value).alias(column)


def _impute(wide: pl.DataFrame, max_missing: float) -> pl.DataFrame:
    columns = [c for c in wide.columns if c != HOST]
    if not wide.height:
        return wide.select(HOST, pl.lit(0, dtype=pl.Int32).alias(MISSING))
    stats = wide.select(
        *(pl.col(c).null_count().alias(f"{c}\0nulls") for c in columns),
        *(pl.col(c).drop_nulls().n_unique().alias(f"{c}\0distinct") for c in columns),
    ).row(0, named=True)
    kept = [c for c in columns if stats[f"{c}\0nulls"] <= max_missing * wide.height and stats[f"{c}\0distinct"] > 1]
    return wide.select(
        HOST,
        *(pl.col(c).fill_null(pl.col(c).median()) for c in kept),
        pl.sum_horizontal(pl.col(c).is_null() for c in kept).cast(pl.Int32).alias(MISSING)
        if kept
        else pl.lit(0, dtype=pl.Int32).alias(MISSING),
    )


# -- forest -------------------------------------------------------------------------
def _center_scale(frame: pl.DataFrame, columns: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    """Each column's median and robust sd: 1.4826 MAD, else 1.2533 x mean absolute deviation (0: all equal)."""
    if not columns:
        return {}, {}
    deviation = {c: (pl.col(c) - pl.col(c).median()).abs() for c in columns}
    stats = frame.select(
        *(pl.col(c).median().alias(f"median\0{c}") for c in columns),
        *(
            pl.when(deviation[c].median() > 0)
            .then(deviation[c].median() * MAD_TO_SD)
            .otherwise(deviation[c].mean() * MEAN_AD_TO_SD)
            .alias(f"scale\0{c}")
            for c in columns
        ),
    ).row(0, named=True)
    return {c: stats[f"median\0{c}"] for c in columns}, {c: stats[f"scale\0{c}"] or 0.0 for c in columns}


def detect_forest(features: pl.DataFrame, settings: ForestSettings, hosts: list[str] | None = None) -> ForestResult:
    """Nodes whose feature vector the isolation forest finds a fleet outlier, as anomaly rows.

    `features` is a `node_features` frame (host, numeric feature columns, optionally
    `missing_features`) over the whole fleet, which the forest is fitted on; rows are returned
    for the flagged hosts among `hosts` (all when None), sorted by host.
    """
    n = features.height
    if n < settings.min_nodes:
        note = f"isolation forest skipped: {n} nodes with features, it needs at least {settings.min_nodes}"
        return ForestResult(anomalies.empty(), note)
    numeric = [c for c in features.columns if c not in (HOST, MISSING) and features.schema[c].is_numeric()]
    frame = features.select(HOST, *(_finite(c) for c in numeric))
    medians, scales = _center_scale(frame, numeric)
    columns = [c for c in numeric if scales[c] > 0]
    if not columns:
        return ForestResult(anomalies.empty(), f"isolation forest skipped: no feature varies across the {n} nodes")
    z = frame.select(HOST, *(((pl.col(c) - medians[c]) / scales[c]).fill_null(0.0).alias(c) for c in columns))
    scores = _score(z, columns, settings)
    flagged = _flag(scores, z, columns, settings, hosts)
    rows = _rows(flagged, frame, features, columns, medians, settings)
    return ForestResult(anomalies.conform(rows), None, scores)


def _folded(column: str, bad: str) -> pl.Expr:
    """The column's z with its good direction set to 0, so that a node only stands out by being worse."""
    if bad == "low":
        return pl.col(column).clip(upper_bound=0.0)
    if bad == "high":
        return pl.col(column).clip(lower_bound=0.0)
    return pl.col(column)


def _score(z: pl.DataFrame, columns: list[str], settings: ForestSettings) -> pl.DataFrame:
    """Host, anomaly score (the paper's s(x, n): higher is more isolated), its robust z and the fleet median."""
    folded = z.select(_folded(c, settings.direction(c)) for c in columns)
    if settings.combined_deviation:
        folded = folded.with_columns(pl.sum_horizontal(pl.all().pow(2)).sqrt().alias("\0combined"))
    x = folded.to_numpy().astype(np.float64)
    forest = IsolationForest(
        n_estimators=settings.n_estimators,
        max_samples=min(settings.max_samples, z.height),
        random_state=settings.random_state,
    ).fit(x)
    frame = pl.DataFrame({HOST: z[HOST], "score": -forest.score_samples(x)})
    medians, scales = _center_scale(frame, ["score"])
    median, scale = medians["score"], scales["score"]
    robust = (pl.col("score") - median) / scale if scale > 0 else pl.lit(0.0)
    return frame.with_columns(robust.alias("z"), pl.lit(median).alias("baseline"))


def _drivers(z: pl.DataFrame, columns: list[str], settings: ForestSettings) -> pl.DataFrame:
    """Per host, the features off in their bad direction by at least `driver_min_z`, worst first, ranked."""
    directions = pl.DataFrame({"feature": columns, "bad": [settings.direction(c) for c in columns]})
    badness = (
        pl.when(pl.col("bad") == "low")
        .then(-pl.col("z"))
        .when(pl.col("bad") == "high")
        .then(pl.col("z"))
        .otherwise(pl.col("z").abs())
    )
    return (
        z.unpivot(index=HOST, on=columns, variable_name="feature", value_name="z")
        .join(directions, on="feature")
        .with_columns(badness.alias("badness"))
        .filter(pl.col("badness") >= settings.driver_min_z)
        .sort([HOST, "badness", "feature"], descending=[False, True, False])
        .with_columns(pl.int_range(pl.len()).over(HOST).alias("rank"))
        .filter(pl.col("rank") < settings.drivers)
    )


def _flag(
    scores: pl.DataFrame, z: pl.DataFrame, columns: list[str], settings: ForestSettings, hosts: list[str] | None
) -> pl.DataFrame:
    """Host, score, z, baseline of the flagged nodes in scope, with their drivers (one row per driver)."""
    candidates = scores.filter(pl.col("z") >= settings.threshold)
    if hosts is not None:
        candidates = candidates.filter(pl.col(HOST).is_in(hosts))
    drivers = _drivers(z.filter(pl.col(HOST).is_in(candidates[HOST].implode())), columns, settings)
    return candidates.join(drivers.select(HOST, "feature", pl.col("z").alias("feature_z"), "rank"), on=HOST)


def _number(value: pl.Expr, digits: int) -> pl.Expr:
    """A person's rendering of a number: `digits` significant digits, thousands separated by commas."""
    rounded = value.round_sig_figs(digits)
    large = (
        rounded.round(0)
        .cast(pl.Int64, strict=False)
        .cast(pl.String)
        .str.reverse()
        .str.replace_all(r"(\d{3})", "${1},")
        .str.reverse()
        .str.strip_chars_start(",")
        .str.replace(r"^-,", "-")
    )
    small = rounded.cast(pl.String).str.replace(r"\.0$", "")
    return pl.when(rounded.abs().is_between(1000, 1e15)).then(large).otherwise(small)


def _rows(
    flagged: pl.DataFrame,
    frame: pl.DataFrame,
    features: pl.DataFrame,
    columns: list[str],
    medians: dict[str, float],
    settings: ForestSettings,
) -> pl.DataFrame:
    """One anomaly row per flagged host, its detail naming the drivers with their values and fleet medians."""
    values = frame.unpivot(index=HOST, on=columns, variable_name="feature", value_name="value")
    fleet = pl.DataFrame({"feature": columns, "median": [medians[c] for c in columns]})
    part = pl.format(
        "{} {} (median {}, z {})",
        pl.col("feature"),
        _number(pl.col("value"), 4),
        _number(pl.col("median"), 4),
        _number(pl.col("feature_z"), 2),
    )
    missing = features.select(HOST, pl.col(MISSING) if MISSING in features.columns else pl.lit(0).alias(MISSING))
    gaps = pl.when(pl.col(MISSING) > 0).then(
        pl.format("; {} of its features missing, taken as the fleet median", pl.col(MISSING))
    )
    cohort = f"isolation forest over {frame.height} nodes, {len(columns)} features"
    return (
        flagged.join(values, on=[HOST, "feature"])
        .join(fleet, on="feature")
        .sort(HOST, "rank")
        .group_by(HOST, maintain_order=True)
        .agg(pl.first("score", "z", "baseline"), part.str.join(", ").alias("drivers"))
        .join(missing, on=HOST, how="left")
        .select(
            HOST,
            pl.lit(DETECTOR).alias("detector"),
            pl.lit(METRIC).alias("metric"),
            pl.col("score").alias("value"),
            "baseline",
            pl.col("z").alias("score"),
            anomalies.threshold_of(pl.col("z"), settings.levels).alias("threshold"),
            pl.lit(cohort).alias("cohort"),
            pl.concat_str(
                pl.format(
                    "off in {}; anomaly score {} (fleet median {})",
                    "drivers",
                    pl.col("score").round(3),
                    pl.col("baseline").round(3),
                ),
                gaps,
                ignore_nulls=True,
            ).alias("detail"),
            anomalies.level_of(pl.col("z"), settings.levels).alias("level"),
        )
        .sort(HOST)
    )
