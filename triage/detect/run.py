"""Running every detector over the store and writing the `anomalies` table.

Detectors are fleet-relative: cohorts, baselines and template rarity are computed over
every host of the store, while `hosts` only limits whose anomalies are replaced.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from triage.detect import anomalies
from triage.detect.baseline import Baseline, detect_baseline
from triage.detect.cohorts import OutlierSettings, watched
from triage.detect.counters import CounterSettings, counter_deltas, detect_counters
from triage.detect.forest import ForestSettings, detect_forest, node_features
from triage.detect.outliers import detect_outliers
from triage.detect.templates import TemplateSettings, detect_templates
from triage.store import Store, host_condition


@dataclass
class DetectSummary:
    """What the detectors found, how long each took, and what they could not judge."""

    anomalies: int = 0
    by_detector: dict[str, int] = field(default_factory=dict)
    by_level: dict[str, int] = field(default_factory=dict)
    hosts_flagged: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view, stable for scripts."""
        return {
            "anomalies": self.anomalies,
            "by_detector": self.by_detector,
            "by_level": self.by_level,
            "hosts_flagged": self.hosts_flagged,
            "seconds": {name: round(value, 3) for name, value in self.seconds.items()},
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Detectors:
    """The settings of every detector, read once from `<rules>/detect/`."""

    outliers: OutlierSettings
    counters: CounterSettings
    templates: TemplateSettings
    forest: ForestSettings

    @classmethod
    def load(cls, rules_dir: str | Path | None = None) -> Detectors:
        """Settings from `<rules>/detect/*.yaml` (the shipped ones by default)."""
        return cls(
            outliers=OutlierSettings.load(rules_dir),
            counters=CounterSettings.load(rules_dir),
            templates=TemplateSettings.load(rules_dir),
            forest=ForestSettings.load(rules_dir),
        )


def find_anomalies(
    store: Store,
    detectors: Detectors,
    baseline: Baseline | None = None,
    hosts: list[str] | None = None,
) -> tuple[pl.DataFrame, DetectSummary]:
    """Run every detector; the anomaly rows (without ids) and a summary. Writes nothing."""
    summary = DetectSummary()
    parts: list[pl.DataFrame] = []

    def timed(name: str, run: Callable[[], pl.DataFrame]) -> None:
        started = time.perf_counter()
        parts.append(run())
        summary.seconds[name] = summary.seconds.get(name, 0.0) + time.perf_counter() - started

    started = time.perf_counter()
    values = watched(store, detectors.outliers)
    summary.seconds["measurements"] = time.perf_counter() - started

    def outliers() -> pl.DataFrame:
        found, notes = detect_outliers(values, detectors.outliers, hosts)
        fallback = " (judged against the baseline only)" if baseline is not None else ""
        summary.notes.extend(note + fallback for note in notes)
        return found

    timed("fleet_outlier", outliers)
    if baseline is not None:
        timed("baseline", lambda: detect_baseline(values, baseline, detectors.outliers, hosts))
    started = time.perf_counter()
    deltas = counter_deltas(store)  # every host: the forest compares each node with the fleet
    summary.seconds["counter_deltas"] = time.perf_counter() - started
    in_scope = deltas.filter(pl.col("host").is_in(hosts)) if hosts else deltas
    timed("counter_rate", lambda: detect_counters(in_scope, detectors.counters))

    def forest() -> pl.DataFrame:
        features = node_features(store, detectors.forest, counter_increases(deltas, detectors.counters))
        result = detect_forest(features, detectors.forest, hosts)
        if result.note:
            summary.notes.append(result.note)
        return result.anomalies

    timed("isolation_forest", forest)

    def templates() -> pl.DataFrame:
        result = detect_templates(store, detectors.templates, hosts)
        if result.note:
            summary.notes.append(result.note)
        return result.anomalies

    timed("rare_template", templates)
    found = pl.concat(parts, how="vertical") if parts else anomalies.empty()
    found = found.sort("host", "device", "detector", "metric", nulls_last=True)
    summary.anomalies = found.height
    summary.by_detector = dict(sorted(found.group_by("detector").len().iter_rows())) if found.height else {}
    levels = dict(found.group_by("level").len().iter_rows()) if found.height else {}
    summary.by_level = {name: int(levels.get(name, 0)) for name in anomalies.LEVELS}
    summary.hosts_flagged = found["host"].n_unique() if found.height else 0
    return found, summary


def counter_increases(deltas: pl.DataFrame, settings: CounterSettings) -> pl.DataFrame:
    """Per host, how much its watched error counters rose between snapshots, one column per source.

    Watched counters are those the counter settings hold thresholds for (not traffic counters);
    a host with snapshots but no rise gets 0, a host without snapshots is absent.
    """
    watched_counters = pl.DataFrame(
        {"source": [t.source for t in settings.thresholds], "counter": [t.counter for t in settings.thresholds]}
    ).unique()
    rises = deltas.join(watched_counters, on=["source", "counter"], how="inner")
    if rises.is_empty():
        return pl.DataFrame(schema={"host": pl.String})
    wide = (
        rises.group_by("host", "source")
        .agg(pl.col("delta").clip(lower_bound=0).sum())
        .sort("host", "source")
        .pivot(on="source", index="host", values="delta")
    )
    sources = sorted(name for name in wide.columns if name != "host")
    return wide.select("host", *(pl.col(name).alias(f"{name}_error_increase") for name in sources)).sort("host")


def detect(
    store: Store,
    detectors: Detectors | None = None,
    baseline: Baseline | None = None,
    hosts: list[str] | None = None,
) -> DetectSummary:
    """Run every detector and replace the anomalies of `hosts` (default: all) in the store."""
    found, summary = find_anomalies(store, detectors or Detectors.load(), baseline, hosts)
    scope, params = host_condition(hosts or None)
    with store.transaction():
        store.execute(f"DELETE FROM anomalies WHERE {scope}", params)
        store.append_numbered("anomalies", found, "anomaly_id")
    return summary
