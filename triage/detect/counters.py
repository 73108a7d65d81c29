"""Counter-rate detector: error counters that rose between two snapshots of the same port, link or GPU.

Counters are read as snapshots (a sysfs dump before and after a burn-in run, two `nvidia-smi -q`
dumps, dcgm-exporter scrapes). `counter_deltas` pairs each snapshot with the previous one of the same
counter; `detect_counters` holds the changes against the thresholds of `rules/detect/counters.yaml`.

Sources (column `source`) and the measurements they come from:
  ib      InfiniBand port counters, device `mlx5_0/1` (or `lid<N>/<port>`, `0x<guid>/<port>`): tests
          `ib_counters` (sysfs), `perfquery` and `ibqueryerrors` (units count and 4B-words), and
          node_exporter's `node_infiniband_*` port counters.
  nvlink  NVLink error counters `nvlink_*_errors`, device = the GPU: per link from `nvidia-smi nvlink -e`
          (column `link`), per GPU (link null) from dcgm-exporter's NVLink totals.
  pcie    `pcie_replay_count` of a GPU from `nvidia-smi -q` and dcgm-exporter, and `pcie_replay_rollover`.
          A replay rollover is not an overflow of the replay counter: it counts how often the PCIe
          REPLAY_NUM (a 2-bit count of replays of the same TLP) rolled over, each of which makes the link
          retrain. It is tracked as a counter of its own and never added to `pcie_replay_count`.

A counter that went down was cleared (`perfquery -R`, reboot, driver reload): its change is counted from
zero (the later value). A counter at the top of its width stopped counting (`link_downed` at 255): its
change is a lower bound. Snapshots are ordered by time; undated ones come after the dated ones, in the
order they were ingested, and give no rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from triage.detect import anomalies
from triage.detect.anomalies import LEVELS
from triage.detect.settings import check_keys, line_of, read_settings
from triage.errors import TriageError
from triage.sources.ib_names import COUNTER_BITS
from triage.store import Store, host_condition

DETECTOR = "counter_rate"
SOURCES = ("ib", "nvlink", "pcie")
SERIES = ["host", "device", "source", "counter", "link"]

# Units of time per hour, for each rate key of the settings.
RATE_UNITS: dict[str, int] = {"rate_per_second": 3600, "rate_per_minute": 60, "rate_per_hour": 1}
_PER = {"rate_per_second": "/s", "rate_per_minute": "/min", "rate_per_hour": "/h", "link_ber": "/min"}

# PCIe transfer rate per lane, GT/s, by link generation (PCIe Base Specification).
PCIE_GT_PER_S: dict[int, float] = {1: 2.5, 2: 5.0, 3: 8.0, 4: 16.0, 5: 32.0, 6: 64.0}

_IB_TESTS = ("ib_counters", "perfquery", "ibqueryerrors")
_DCGM_COUNTERS = (
    "pcie_replay_count",
    "nvlink_crc_flit_errors",
    "nvlink_crc_data_errors",
    "nvlink_replay_errors",
    "nvlink_recovery_errors",
)
_SMI_COUNTERS = ("pcie_replay_count", "pcie_replay_rollover")


# -- settings ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Threshold:
    """One limit on one counter: an increase over the window, or a rate between two snapshots.

    Exactly one of `increase`, `rate` (with `per`, the rate key of the YAML) or `link_ber` is set.
    `link_ber` is the PCIe replay limit: ceil(lanes x GT/s x 1e9 x link_ber x 60) replays per minute,
    with the link's current width and generation (`default_lanes`/`default_gen` where unknown).
    """

    source: str
    counter: str
    level: str
    reference: str
    increase: float | None = None
    rate: float | None = None
    per: str | None = None
    link_ber: float | None = None
    default_lanes: int = 16
    default_gen: int = 5

    @property
    def limit_key(self) -> str:
        """The settings key of the limit: increase, rate_per_second, rate_per_minute, rate_per_hour or link_ber."""
        return "increase" if self.increase is not None else self.per or "link_ber"


@dataclass(frozen=True)
class CounterSettings:
    """Settings of the counter-rate detector (`rules/detect/counters.yaml`)."""

    thresholds: tuple[Threshold, ...]
    saturated_level: str | None = None

    @classmethod
    def load(cls, rules_dir: str | Path | None = None) -> CounterSettings:
        """The settings shipped in (or overridden by) `<rules>/detect/counters.yaml`."""
        data, where = read_settings("counters", rules_dir)
        return cls.from_dict(data, where)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> CounterSettings:
        """Settings from a mapping read from `where`; TriageError with file:line for anything wrong."""
        check_keys(data, {"saturated_level", "thresholds"}, where)
        saturated_level = data.get("saturated_level")
        if saturated_level is not None and saturated_level not in LEVELS:
            raise TriageError(
                f"{line_of(data, 'saturated_level', where)}: saturated_level must be one of "
                f"{', '.join(LEVELS)} or null, not {saturated_level!r}"
            )
        items = data.get("thresholds")
        if not isinstance(items, list) or not items:
            raise TriageError(f"{line_of(data, 'thresholds', where)}: thresholds must be a non-empty list")
        thresholds = tuple(_threshold(item, where) for item in items)
        seen: set[tuple[str, str, str, str]] = set()
        for item, threshold in zip(items, thresholds, strict=True):
            key = (threshold.source, threshold.counter, threshold.limit_key, threshold.level)
            if key in seen:
                raise TriageError(
                    f"{where}:{item.line}: duplicate threshold for {threshold.counter} at {threshold.level}"
                )
            seen.add(key)
        return cls(thresholds, saturated_level)

    def frame(self) -> pl.DataFrame:
        """The thresholds as rows: source, counter, level, kind (increase | rate), per (the unit's text), per_hour
        (units of the rate per hour), limit, link_ber (and as text, ber), default_lanes, default_gen."""
        return pl.DataFrame(
            [
                {
                    "source": t.source,
                    "counter": t.counter,
                    "level": t.level,
                    "kind": "increase" if t.increase is not None else "rate",
                    "per": _PER.get(t.limit_key),
                    "per_hour": RATE_UNITS.get(t.limit_key, 60 if t.link_ber is not None else None),
                    "limit": t.increase if t.increase is not None else t.rate,
                    "link_ber": t.link_ber,
                    "ber": None if t.link_ber is None else f"{t.link_ber:g}",
                    "default_lanes": t.default_lanes,
                    "default_gen": t.default_gen,
                }
                for t in self.thresholds
            ],
            schema={
                "source": pl.String,
                "counter": pl.String,
                "level": pl.String,
                "kind": pl.String,
                "per": pl.String,
                "per_hour": pl.Float64,
                "limit": pl.Float64,
                "link_ber": pl.Float64,
                "ber": pl.String,
                "default_lanes": pl.Int64,
                "default_gen": pl.Int64,
            },
        )


_LIMIT_KEYS = ("increase", *RATE_UNITS, "link_ber")
_THRESHOLD_KEYS = {"source", "counter", "level", "reference", "default_lanes", "default_gen", *_LIMIT_KEYS}


def _threshold(item: Any, where: str) -> Threshold:
    """One entry of `thresholds`, checked; TriageError with file:line."""
    at = f"{where}:{item.line}" if getattr(item, "line", 0) else where
    if not isinstance(item, dict):
        raise TriageError(f"{at}: a threshold must be a mapping, not {item!r}")
    check_keys(item, _THRESHOLD_KEYS, where)
    for key in ("source", "counter", "level", "reference"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise TriageError(f"{line_of(item, key, where) if key in item else at}: a threshold needs a text {key}")
    if item["source"] not in SOURCES:
        raise TriageError(f"{line_of(item, 'source', where)}: source must be one of {', '.join(SOURCES)}")
    if item["level"] not in LEVELS:
        raise TriageError(f"{line_of(item, 'level', where)}: level must be one of {', '.join(LEVELS)}")
    limits = [key for key in _LIMIT_KEYS if key in item]
    if len(limits) != 1:
        raise TriageError(f"{at}: a threshold needs exactly one of {', '.join(_LIMIT_KEYS)}")
    key = limits[0]
    if key != "link_ber" and ("default_lanes" in item or "default_gen" in item):
        raise TriageError(f"{at}: default_lanes and default_gen go with link_ber only")
    fields: dict[str, Any] = {name: item[name] for name in ("source", "counter", "level", "reference")}
    if key == "increase":
        fields["increase"] = _positive(item, key, where, minimum=1)
    elif key == "link_ber":
        if item["source"] != "pcie":
            raise TriageError(f"{line_of(item, key, where)}: link_ber applies to source pcie only")
        fields["link_ber"] = _positive(item, key, where, below=1)
        fields["default_lanes"] = int(_positive(item, "default_lanes", where, default=16, whole=True))
        fields["default_gen"] = int(_positive(item, "default_gen", where, default=5, whole=True))
        if fields["default_gen"] not in PCIE_GT_PER_S:
            raise TriageError(f"{line_of(item, 'default_gen', where)}: default_gen must be a PCIe generation 1-6")
    else:
        fields["rate"] = _positive(item, key, where)
        fields["per"] = key
    return Threshold(**fields)


def _positive(
    item: dict[str, Any],
    key: str,
    where: str,
    minimum: float = 0.0,
    below: float | None = None,
    default: float | None = None,
    whole: bool = False,
) -> float:
    """A number above zero (at least `minimum`, under `below`, whole if asked); TriageError with file:line."""
    if key not in item and default is not None:
        return default
    value = item[key]
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0 and value >= minimum
    ok = ok and (below is None or value < below) and (not whole or float(value).is_integer())
    if not ok:
        want = "a whole number" if whole else "a number"
        bounds = f" >= {minimum:g}" if minimum else " > 0"
        bounds += f" and < {below:g}" if below is not None else ""
        raise TriageError(f"{line_of(item, key, where)}: {key} must be {want}{bounds}, not {value!r}")
    return float(value)


# -- deltas --------------------------------------------------------------------------------------------
def counter_deltas(store: Store, hosts: list[str] | None = None) -> pl.DataFrame:
    """The change of every counter between consecutive snapshots of the same (host, device, counter, link).

    Columns: host, device, source (ib | nvlink | pcie), counter, link (NVLink link number, else null),
    first_ts, last_ts, hours, before, after, delta, rate_per_hour, saturated, reset, lanes, gen (PCIe
    width and generation of the later snapshot's link, from the same nvidia-smi dump), evidence (the two
    measurements' (file_id, line_no)). `delta` is the later value when the counter was reset, and a
    lower bound when `saturated`; hours and rate are null when a snapshot is undated (rate also when
    both have the same time). Counters seen in one snapshot give no row; a value read twice at the same
    time is one snapshot. Rows are ordered by series, then time.
    """
    scope, params = host_condition(hosts)
    frame = store.frame(_deltas_sql(scope), params * 2)
    return frame.with_columns(pl.col("evidence").cast(anomalies.EVIDENCE_TYPE))


def _tops_sql() -> str:
    """VALUES of (counter, top value) for the InfiniBand counters narrower than 64 bits."""
    rows = ", ".join(f"('{name}', {(1 << bits) - 1})" for name, bits in sorted(COUNTER_BITS.items()) if bits < 64)
    return f"SELECT * FROM (VALUES {rows}) AS t(counter, top)"


def _sql_list(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _deltas_sql(scope: str) -> str:
    """The query of `counter_deltas`; `scope` is the condition on hosts (`host_condition`), used twice."""
    return f"""
WITH raw AS (
    SELECT host, device,
           CASE WHEN starts_with(metric, 'pcie_') THEN 'pcie'
                WHEN starts_with(metric, 'nvlink_') THEN 'nvlink' ELSE 'ib' END AS source,
           metric AS counter,
           TRY_CAST(json_extract_string(params, '$.link') AS INTEGER) AS link,
           ts, value, file_id, line_no,
           coalesce(json_extract_string(params, '$.saturated') = 'true', false) AS flagged
    FROM measurements
    WHERE device IS NOT NULL AND value IS NOT NULL AND {scope}
      AND ((test IN ({_sql_list(_IB_TESTS)}) AND unit IN ('count', '4B-words'))
        OR (test = 'node_exporter' AND unit = 'count' AND metric IN ({_sql_list(sorted(COUNTER_BITS))}))
        OR (test = 'nvlink' AND unit = 'count' AND starts_with(metric, 'nvlink_') AND ends_with(metric, '_errors'))
        OR (test = 'dcgm_exporter' AND metric IN ({_sql_list(_DCGM_COUNTERS)}))
        OR (test = 'nvidia_smi' AND metric IN ({_sql_list(_SMI_COUNTERS)})))
),
link_state AS (
    SELECT host, device, file_id,
           max(value) FILTER (WHERE metric = 'pcie_width_current') AS lanes,
           max(value) FILTER (WHERE metric = 'pcie_gen_current') AS gen
    FROM measurements
    WHERE test = 'nvidia_smi' AND metric IN ('pcie_width_current', 'pcie_gen_current') AND {scope}
    GROUP BY host, device, file_id
),
snapshots AS (
    SELECT r.host, r.device, r.source, r.counter, r.link, r.ts, r.value, r.file_id, r.line_no,
           r.flagged OR coalesce(r.source = 'ib' AND r.value >= t.top, false) AS saturated,
           CAST(l.lanes AS INTEGER) AS lanes, CAST(l.gen AS INTEGER) AS gen
    FROM raw r
    LEFT JOIN ({_tops_sql()}) t ON t.counter = r.counter
    LEFT JOIN link_state l ON r.source = 'pcie' AND l.host = r.host AND l.device = r.device AND l.file_id = r.file_id
),
pairs AS (
    SELECT *,
           lag(ts) OVER w AS first_ts, lag(value) OVER w AS before, lag(saturated) OVER w AS was_saturated,
           lag(file_id) OVER w AS first_file, lag(line_no) OVER w AS first_line,
           lag(lanes) OVER w AS first_lanes, lag(gen) OVER w AS first_gen,
           row_number() OVER w AS seq
    FROM snapshots
    WINDOW w AS (PARTITION BY host, device, source, counter, link
                 ORDER BY ts NULLS LAST, CASE WHEN ts IS NOT NULL THEN value END, file_id, line_no)
),
deltas AS (
    SELECT host, device, source, counter, link, first_ts, ts AS last_ts,
           date_diff('microsecond', first_ts, ts) / 3.6e9 AS hours,
           before, value AS after,
           CASE WHEN value < before THEN value ELSE value - before END AS delta,
           saturated OR was_saturated AS saturated,
           value < before AS reset,
           coalesce(lanes, first_lanes) AS lanes, coalesce(gen, first_gen) AS gen,
           [{{'file_id': first_file, 'line_no': first_line}}, {{'file_id': file_id, 'line_no': line_no}}] AS evidence,
           seq
    FROM pairs
    -- a value read twice at the same time is one snapshot, not a pair
    WHERE seq > 1 AND NOT coalesce(ts = first_ts AND value = before, false)
)
SELECT host, device, source, counter, link, first_ts, last_ts, hours, before, after, delta,
       CASE WHEN hours > 0 THEN delta / hours END AS rate_per_hour,
       saturated, reset, lanes, gen, evidence
FROM deltas
ORDER BY host, device, source, counter, link NULLS FIRST, seq
"""


# -- detection -----------------------------------------------------------------------------------------
def detect_counters(deltas: pl.DataFrame, settings: CounterSettings) -> pl.DataFrame:
    """Anomaly rows (detector `counter_rate`) for the counters whose change crossed a threshold.

    An `increase` threshold is held against the counter's whole window (the sum of its deltas), a rate
    threshold against each pair of dated snapshots. value = the increase, or the rate in the threshold's
    unit (per second, minute or hour, as the detail says); baseline = the threshold's limit; score =
    value / limit (so threshold = 1, and for "any increase" the score is the increase itself); level = the
    highest level that fired. One row per (host, device, counter): for NVLink the worst link. A counter
    that sat saturated through its window (its increase unseen) gets `saturated_level` when set.
    """
    if deltas.is_empty():
        return anomalies.empty()
    limits = settings.frame()
    windows = _windows(deltas)
    candidates = [_increases(windows, limits), _rates(deltas, limits)]
    if settings.saturated_level is not None:
        candidates.append(_blind(windows, limits, settings.saturated_level))
    found = pl.concat(candidates, how="diagonal_relaxed")
    if found.is_empty():
        return anomalies.empty()
    rank = pl.col("level").replace_strict({name: i for i, name in enumerate(LEVELS)}, return_dtype=pl.Int8)
    worst = (
        found.with_columns(
            links=pl.col("link").drop_nulls().n_unique().over("host", "device", "counter"),
        )
        .sort(["host", "device", "counter", rank, "score", "link"], descending=[False, False, False, True, True, False])
        .unique(["host", "device", "counter"], keep="first", maintain_order=True)
    )
    others = pl.when(pl.col("link").is_not_null() & (pl.col("links") > 1)).then(
        pl.format(", and on {} other link(s)", pl.col("links") - 1)
    )
    return anomalies.conform(
        worst.select(
            "host",
            "device",
            pl.lit(DETECTOR).alias("detector"),
            pl.col("counter").alias("metric"),
            "value",
            "baseline",
            "score",
            pl.lit(1.0).alias("threshold"),
            pl.concat_str(["detail", others.fill_null("")]).alias("detail"),
            "level",
            "evidence",
        )
    )


def _windows(deltas: pl.DataFrame) -> pl.DataFrame:
    """One row per counter series: its whole window from the first snapshot to the last."""
    return deltas.group_by(SERIES, maintain_order=True).agg(
        pl.col("delta").sum(),
        pl.when(pl.col("hours").null_count() == 0).then(pl.col("hours").sum()).alias("hours"),
        pl.len().alias("pairs"),
        pl.col("after").last(),
        pl.col("saturated").any(),
        pl.col("reset").any(),
        pl.col("evidence").list.explode(keep_nulls=False, empty_as_null=False).unique(maintain_order=True),
    )


def _increases(windows: pl.DataFrame, limits: pl.DataFrame) -> pl.DataFrame:
    """Windows whose total increase reached an `increase` threshold."""
    hit = windows.join(limits.filter(pl.col("kind") == "increase"), on=["source", "counter"]).filter(
        pl.col("delta") >= pl.col("limit")
    )
    span = (
        pl.when(pl.col("hours").is_null())
        .then(pl.lit("between undated snapshots"))
        .otherwise(pl.concat_str([pl.lit("in "), _duration(pl.col("hours"))]))
    )
    over = pl.when(pl.col("pairs") > 1).then(pl.format(" over {} snapshots", pl.col("pairs") + 1)).otherwise(pl.lit(""))
    bound = (
        pl.when(pl.col("limit") == 1)
        .then(pl.lit("any increase"))
        .otherwise(pl.concat_str([_num(pl.col("limit")), pl.lit(" or more")]))
    )
    detail = pl.concat_str(
        [_what(), pl.lit(" rose by "), _num(pl.col("delta")), pl.lit(" "), span, over,
         pl.lit(" (threshold: "), bound, pl.lit(")"), _caveats()]
    )  # fmt: skip
    return hit.select(
        *SERIES,
        "level",
        pl.col("delta").alias("value"),
        pl.col("limit").alias("baseline"),
        (pl.col("delta") / pl.col("limit")).alias("score"),
        detail.alias("detail"),
        "evidence",
    )


def _rates(deltas: pl.DataFrame, limits: pl.DataFrame) -> pl.DataFrame:
    """Pairs of dated snapshots whose rate reached a rate (or PCIe BER) threshold."""
    pairs = deltas.filter(pl.col("rate_per_hour").is_not_null()).join(
        limits.filter(pl.col("kind") == "rate"), on=["source", "counter"]
    )
    lanes = pl.when(pl.col("lanes") > 0).then(pl.col("lanes")).otherwise(pl.col("default_lanes"))
    gen = pl.when(pl.col("gen").is_in(list(PCIE_GT_PER_S))).then(pl.col("gen")).otherwise(pl.col("default_gen"))
    transfers = gen.replace_strict(PCIE_GT_PER_S, return_dtype=pl.Float64)
    ber_limit = (lanes * transfers * 1e9 * pl.col("link_ber") * 60).ceil()
    hit = pairs.with_columns(
        value=pl.col("rate_per_hour") / pl.col("per_hour"),
        limit=pl.when(pl.col("link_ber").is_not_null()).then(ber_limit).otherwise(pl.col("limit")),
        link_lanes=lanes,
        link_gen=gen,
    ).filter(pl.col("value") >= pl.col("limit"))
    pcie = pl.when(pl.col("link_ber").is_not_null()).then(
        pl.format(" for x{} Gen{} at BER {}", pl.col("link_lanes"), pl.col("link_gen"), pl.col("ber"))
    )
    detail = pl.concat_str(
        [_what(), pl.lit(" rose by "), _num(pl.col("delta")), pl.lit(" in "), _duration(pl.col("hours")),
         pl.lit(" ("), _num(pl.col("value")), pl.col("per"), pl.lit(", threshold "), _num(pl.col("limit")),
         pl.col("per"), pcie.fill_null(""), pl.lit(")"), _caveats()]
    )  # fmt: skip
    return hit.select(
        *SERIES,
        "level",
        "value",
        pl.col("limit").alias("baseline"),
        (pl.col("value") / pl.col("limit")).alias("score"),
        detail.alias("detail"),
        "evidence",
    )


def _blind(windows: pl.DataFrame, limits: pl.DataFrame, level: str) -> pl.DataFrame:
    """Watched counters that sat saturated through their window, so that no increase could be seen."""
    watched = limits.select("source", "counter").unique()
    stuck = windows.join(watched, on=["source", "counter"]).filter(
        pl.col("saturated") & ~pl.col("reset") & (pl.col("delta") == 0)
    )
    detail = pl.concat_str(
        [_what(), pl.lit(" stayed saturated at "), _num(pl.col("after")),
         pl.lit(" in every snapshot, so no increase can be seen until the counters are cleared")]
    )  # fmt: skip
    return stuck.select(
        *SERIES,
        pl.lit(level).alias("level"),
        pl.col("after").alias("value"),
        pl.lit(None, dtype=pl.Float64).alias("baseline"),
        pl.lit(1.0).alias("score"),
        detail.alias("detail"),
        "evidence",
    )


def _what() -> pl.Expr:
    """`counter`, or `counter on link N` for a per-link NVLink counter."""
    link = pl.format(" on link {}", pl.col("link"))
    return pl.concat_str([pl.col("counter"), link.fill_null("")])


def _caveats() -> pl.Expr:
    """The saturation and reset remarks a delta needs."""
    saturated = pl.when(pl.col("saturated")).then(pl.lit(", a lower bound as the counter saturated"))
    reset = pl.when(pl.col("reset")).then(pl.lit(", counted from zero as the counter was reset in between"))
    return pl.concat_str([saturated.fill_null(""), reset.fill_null("")])


def _num(x: pl.Expr) -> pl.Expr:
    """A number as text: whole from 10 up, else with at most two decimals."""
    whole = x.round(0).cast(pl.Int64).cast(pl.String)
    return pl.when(x.abs() >= 10).then(whole).otherwise(x.round(2).cast(pl.String).str.replace(r"\.0$", ""))


def _duration(hours: pl.Expr) -> pl.Expr:
    """`42 min` below an hour, else `1.17 h`."""
    minutes = pl.concat_str([_num(hours * 60), pl.lit(" min")])
    return pl.when(hours < 1).then(minutes).otherwise(pl.concat_str([_num(hours), pl.lit(" h")]))


__all__ = ["CounterSettings", "Threshold", "counter_deltas", "detect_counters"]
