"""The report's performance distributions: one strip chart per cohort of a watched burn-in metric.

Values are the fleet's (`cohorts.watched` over every host, as `triage analyze` judges them); dots
are coloured by the worst level `fleet_outlier` or `baseline` gave that host or device for that
metric. The headline metrics are always charted when present, then every metric a flagging
detector names, up to `MAX_DISTRIBUTIONS`.
"""

from __future__ import annotations

import fnmatch
import json
from html import escape

import polars as pl

from triage.detect.cohorts import OutlierSettings, watched
from triage.report.charts import LEVEL_ORDER, inline_svg, strip_chart
from triage.store import Store

# Burn-in metrics always charted when the store has them: (test glob, metric).
HEADLINE_METRICS = (
    ("nccl_*", "busbw"),
    ("hpl", "gflops"),
    ("nvbandwidth", "host_to_device_memcpy_ce"),
    ("nvbandwidth", "device_to_host_memcpy_ce"),
    ("nvidia_smi", "temperature_gpu"),
)
MAX_DISTRIBUTIONS = 30
FLAGGING_DETECTORS = ("fleet_outlier", "baseline")


def distribution_charts(
    store: Store, hosts: list[str] | None = None, settings: OutlierSettings | None = None
) -> list[str]:
    """The report's strip charts, each in a `<figure>`: headline metrics, then every flagged metric.

    Values are the fleet's (`cohorts.watched` over every host); `hosts` outlines those hosts' dots,
    labels only their flagged values and limits the flagged metrics charted to theirs.
    """
    settings = settings or OutlierSettings.load()
    values = watched(store, settings)
    if values.is_empty():
        return []
    flags = _flags(store)
    scoped = flags.filter(pl.col("host").is_in(hosts)) if hosts else flags
    present = values.select("test", "metric").unique()
    pairs: list[tuple[str, str]] = []
    for test_glob, metric in HEADLINE_METRICS:
        tests = sorted(t for t in present.filter(pl.col("metric") == metric)["test"].to_list()
                       if fnmatch.fnmatchcase(t, test_glob))  # fmt: skip
        pairs += [(t, metric) for t in tests]
    flagged = scoped.join(present, on=["test", "metric"], how="semi").select("test", "metric").unique()
    pairs += [p for p in sorted(flagged.iter_rows()) if p not in pairs]
    figures = []
    for test, metric in pairs[:MAX_DISTRIBUTIONS]:
        figures += _cohort_charts(values.filter((pl.col("test") == test) & (pl.col("metric") == metric)), flags,
                                  settings, hosts)  # fmt: skip
    return figures


def _flags(store: Store) -> pl.DataFrame:
    """The worst level the flagging detectors gave each (host, device, test, metric)."""
    frame = store.frame(
        "SELECT host, device, metric, level, cohort FROM anomalies WHERE detector IN (SELECT unnest(?::VARCHAR[]))",
        [list(FLAGGING_DETECTORS)],
    )
    rank = {level: i for i, level in enumerate(LEVEL_ORDER)}
    return (
        frame.with_columns(
            test=pl.col("cohort").str.extract(r"^(\S+)"),
            _r=pl.col("level").replace_strict(rank, default=-1, return_dtype=pl.Int8),
        )
        .sort("_r", descending=True)
        .group_by("host", "device", "test", "metric", maintain_order=True)
        .agg(pl.col("level").first())
    )


def _cohort_charts(
    values: pl.DataFrame, flags: pl.DataFrame, settings: OutlierSettings, hosts: list[str] | None
) -> list[str]:
    params = _chosen_params(values)
    values = values.filter(pl.col("params") == params)
    attributes = list(settings.cohort_by)
    groups = (
        values.group_by(attributes)
        .agg(pl.len())
        .sort(["len", *attributes], descending=[True] + [False] * len(attributes))
    )
    out = []
    for i, group in enumerate(groups.iter_rows(named=True)):
        cohort = values
        for a in attributes:
            cohort = cohort.filter(pl.col(a) == group[a])
        test, metric = cohort["test"][0], cohort["metric"][0]
        frame = cohort.join(flags, on=["host", "device", "test", "metric"], how="left", nulls_equal=True)
        # the largest cohort always; a smaller one (another model or driver) only when something in it is flagged
        if cohort.height < 2 or (i > 0 and frame["level"].is_null().all()):
            continue
        per_device = frame["device"].is_not_null().any()
        frame = frame.select(
            label=pl.when(pl.col("device").is_null()).then(pl.col("host"))
            .otherwise(pl.concat_str("host", "device", separator=" ")),
            value="value",
            level="level",
            emphasis=pl.col("host").is_in(hosts) if hosts else pl.lit(None, pl.Boolean),
        )  # fmt: skip
        title = f"{test} \u00b7 {metric}"
        words = _params_words(params)
        if words:
            title += f" \u00b7 {words}"
        if groups.height > 1:
            title += " \u00b7 " + ", ".join(_attribute_words(a, group[a]) for a in attributes)
        svg = strip_chart(
            frame, title, unit=cohort["unit"][0] or "", bad=cohort["bad"][0], noun="device" if per_device else "node"
        )
        where = f'data-test="{escape(test)}" data-metric="{escape(metric)}"'
        out.append(f'<figure class="chart-box" {where}>{inline_svg(svg)}</figure>')
    return out


def _attribute_words(attribute: str, value: str | None) -> str:
    """`NVIDIA H100 80GB HBM3`, `driver 550.54.15`, `model unknown`."""
    if not value:
        return f"{attribute} unknown"
    return value if attribute == "model" else f"{attribute} {value}"


def _chosen_params(values: pl.DataFrame) -> str:
    """The parameter set to chart: the largest message size among those most hosts ran."""
    counts = values.group_by("params").agg(pl.len()).rows()
    most = max(n for _, n in counts)

    def size(params: str) -> float:
        try:
            parsed = json.loads(params) if params else {}
        except ValueError:
            return 0.0
        value = parsed.get("size", parsed.get("count", 0)) if isinstance(parsed, dict) else 0
        return float(value) if isinstance(value, int | float) else 0.0

    candidates = [(p, n) for p, n in counts if n * 2 >= most]
    return sorted(candidates, key=lambda c: (-size(c[0]), -c[1], c[0]))[0][0]


def _params_words(params: str) -> str:
    """`2 GiB, out of place` from nccl-tests parameters; other parameters are left out."""
    try:
        parsed = json.loads(params) if params else {}
    except ValueError:
        return ""
    if not isinstance(parsed, dict):
        return ""
    words = []
    if isinstance(parsed.get("size"), int | float):
        words.append(_bytes(float(parsed["size"])))
    if isinstance(parsed.get("placement"), str):
        words.append(parsed["placement"].replace("_", " "))
    return ", ".join(words)


def _bytes(size: float) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size:g} B"
