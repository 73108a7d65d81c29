"""All the evidence of a host in one frame: findings, anomalies, test runs and device states.

Each row is one signal with the taxonomy values it stands for (from its rule, or from
`catalog` for evidence no rule judged), its role (cause, symptom or context), when it was
seen, how often, a short text and the lines behind it. The decision works on these rows
only, so a new kind of evidence needs a reader here and nothing else.
"""

from __future__ import annotations

import json

import polars as pl

from triage.diagnose.catalog import (
    ANOMALY_MEANINGS,
    CAUSE,
    CONTEXT,
    LEVEL_SEVERITY,
    STATE_CHECKS,
    SYMPTOM,
    TEST_MEANINGS,
    Meaning,
    category_meaning,
)
from triage.signatures.model import RulePack
from triage.store import Store, host_condition

SCHEMA: dict[str, pl.DataType] = {
    "host": pl.String,
    "device": pl.String,
    "kind": pl.String,  # finding, anomaly, test, state
    "ref": pl.String,  # rule id, detector:metric, test name, state metric
    "id": pl.Int64,  # finding_id, anomaly_id or run_id (null for states)
    "component": pl.String,
    "root_cause": pl.String,
    "action": pl.String,
    "severity": pl.String,
    "role": pl.String,
    "count": pl.Int64,
    "boots": pl.Int64,  # distinct boots the lines fall in (findings), for escalation by history
    "first_ts": pl.Datetime("us"),
    "last_ts": pl.Datetime("us"),
    "text": pl.String,
    "fields": pl.String,
    "evidence": pl.List(pl.Struct({"file_id": pl.Int32, "line_no": pl.Int64})),
}


def rule_titles(pack: RulePack) -> dict[str, str]:
    """The title of every rule id a finding can carry (catalog rules: one per code, e.g. `xid-48`)."""
    titles = {rule.id: rule.title for rule in pack.rules}
    for rule in pack.rules:
        if rule.catalog is not None:
            for code, row in pack.catalogs[rule.catalog.name].items():
                titles[f"{rule.id}-{code}"] = row.get("title") or rule.title
    return titles


def finding_signals(store: Store, titles: dict[str, str], hosts: list[str] | None = None) -> pl.DataFrame:
    """Findings as signals; `boots` counts the distinct boots their lines fall in."""
    where, params = host_condition(hosts or None, "f.host")
    frame = store.frame(
        f"""
        WITH f AS (SELECT * FROM findings f WHERE {where}),
        lines AS (SELECT f.finding_id, unnest(f.evidence) AS ev FROM f),
        boots AS (
            SELECT l.finding_id,
                   greatest(count(DISTINCT coalesce(e.boot_id, concat_ws(':', e.file_id, e.boot))), 1) AS boots
            FROM lines l JOIN events e ON e.file_id = l.ev.file_id AND e.line_no = l.ev.line_no
            GROUP BY l.finding_id
        )
        SELECT f.host, f.device, 'finding' AS kind, f.rule_id AS ref, f.finding_id AS id, f.component,
               f.root_cause, f.action, f.severity, f.count, coalesce(b.boots, 1) AS boots, f.first_ts, f.last_ts,
               f.fields, f.evidence
        FROM f LEFT JOIN boots b USING (finding_id)
        """,
        params,
    )
    if frame.is_empty():
        return empty()
    role = (
        pl.when((pl.col("action") == "none") | (pl.col("severity") == "info"))
        .then(pl.lit(CONTEXT))
        .when(pl.col("root_cause") == "unknown")
        .then(pl.lit(SYMPTOM))
        .otherwise(pl.lit(CAUSE))
    )
    text = pl.col("ref").replace_strict(titles, default=pl.col("ref"), return_dtype=pl.String)
    return conform(frame.with_columns(role=role, text=text))


def anomaly_signals(store: Store, hosts: list[str] | None = None) -> pl.DataFrame:
    """Anomalies as signals, their meaning from `catalog.ANOMALY_MEANINGS`."""
    where, params = host_condition(hosts or None)
    frame = store.frame(
        "SELECT anomaly_id AS id, host, device, detector, metric, level, detail AS text, evidence "
        f"FROM anomalies WHERE {where}",
        params,
    )
    if frame.is_empty():
        return empty()
    kinds = _device_kind(pl.col("device"))
    keys = frame.select("detector", "metric", kinds.alias("device_kind")).unique()
    meanings = pl.DataFrame(
        [
            {"detector": d, "metric": m, "device_kind": k, **_meaning_row(_anomaly_meaning(d, m, k))}
            for d, m, k in keys.iter_rows()
        ],
        schema={"detector": pl.String, "metric": pl.String, "device_kind": pl.String, **_MEANING_SCHEMA},
    )
    out = frame.with_columns(kinds.alias("device_kind")).join(meanings, on=["detector", "metric", "device_kind"])
    drain_cable = (pl.col("detector") == "counter_rate") & (pl.col("level") != "drain")
    out = out.with_columns(
        kind=pl.lit("anomaly"),
        ref=pl.format("{}:{}", "detector", "metric"),
        severity=pl.when(pl.col("role") == CONTEXT)
        .then(pl.lit("info"))
        .otherwise(pl.col("level").replace_strict(LEVEL_SEVERITY, default="warning")),
        # a counter rise short of the drain level asks to look, not yet to replace the cable
        action=pl.when(drain_cable & (pl.col("action") == "replace_cable"))
        .then(pl.lit("investigate"))
        .otherwise("action"),
        count=pl.lit(1),
    )
    return conform(out)


def run_signals(store: Store, hosts: list[str] | None = None) -> pl.DataFrame:
    """Test runs that failed or errored, their meaning from DCGM's category or `catalog.TEST_MEANINGS`."""
    where, params = host_condition(hosts or None)
    frame = store.frame(
        f"""SELECT run_id AS id, host, device, test AS ref, status, started AS first_ts, ended AS last_ts, detail,
                   params, file_id, line_no
            FROM test_runs WHERE {where} AND status IN ('fail', 'error')""",
        params,
    )
    if frame.is_empty():
        return empty()
    rows = []
    for test, status, detail, params_json in frame.select("ref", "status", "detail", "params").unique().iter_rows():
        rows.append({"ref": test, "status": status, "detail": detail, "params": params_json,
                     **_meaning_row(_test_meaning(test, status, detail or "", params_json))})  # fmt: skip
    meanings = pl.DataFrame(
        rows,
        schema={"ref": pl.String, "status": pl.String, "detail": pl.String, "params": pl.String, **_MEANING_SCHEMA},
    )
    out = frame.join(meanings, on=["ref", "status", "detail", "params"], how="left", nulls_equal=True)
    return conform(
        out.with_columns(
            kind=pl.lit("test"),
            count=pl.lit(1),
            text=pl.format("{} {}: {}", "ref", "status", pl.col("detail").fill_null("")),
            evidence=pl.concat_list(pl.struct(pl.col("file_id").cast(pl.Int32), pl.col("line_no"))),
        )
    )


def state_signals(store: Store, hosts: list[str] | None = None) -> pl.DataFrame:
    """Device states of `catalog.STATE_CHECKS` that hold in the latest snapshot of each device."""
    where, params = host_condition(hosts or None)
    metrics = sorted({c.metric for c in STATE_CHECKS} | {c.other for c in STATE_CHECKS if c.other})
    latest = store.frame(
        f"""SELECT host, device, test, metric, value, ts, file_id, line_no
            FROM measurements WHERE {where} AND metric IN (SELECT unnest(?)) AND device IS NOT NULL
            QUALIFY row_number() OVER (
                PARTITION BY host, device, test, metric ORDER BY ts DESC NULLS LAST, file_id DESC, line_no
            ) = 1""",
        [*params, metrics],
    )
    if latest.is_empty():
        return empty()
    parts = []
    for check in STATE_CHECKS:
        mine = latest.filter((pl.col("test") == check.test) & (pl.col("metric") == check.metric))
        if check.other:
            other = latest.filter((pl.col("test") == check.test) & (pl.col("metric") == check.other)).select(
                "host", "device", pl.col("value").alias("limit")
            )
            mine = mine.join(other, on=["host", "device"])
        else:
            mine = mine.with_columns(limit=pl.lit(check.value, pl.Float64))
        held = mine.filter(pl.col("value") > pl.col("limit") if check.op == ">" else pl.col("value") < pl.col("limit"))
        if held.is_empty():
            continue
        detail = f"{check.title}" + ("" if check.other is None else " ({value} of {limit})")
        parts.append(
            held.with_columns(
                kind=pl.lit("state"),
                ref=pl.lit(f"{check.test}:{check.metric}"),
                id=pl.lit(None, pl.Int64),
                count=pl.lit(1),
                first_ts=pl.col("ts"),
                last_ts=pl.col("ts"),
                text=pl.format(detail.replace("{value}", "{}").replace("{limit}", "{}"), "value", "limit")
                if check.other
                else pl.lit(detail),
                evidence=pl.concat_list(pl.struct(pl.col("file_id").cast(pl.Int32), pl.col("line_no"))),
                **{key: pl.lit(value) for key, value in _meaning_row(check.meaning).items()},
            )
        )
    return conform(pl.concat(parts, how="diagonal_relaxed")) if parts else empty()


def collect(store: Store, pack: RulePack, hosts: list[str] | None = None) -> pl.DataFrame:
    """Every signal of `hosts` (default: all), sorted by host, device and time."""
    parts = [
        finding_signals(store, rule_titles(pack), hosts),
        anomaly_signals(store, hosts),
        run_signals(store, hosts),
        state_signals(store, hosts),
    ]
    return pl.concat(parts, how="vertical").sort("host", "device", "first_ts", "kind", "ref", nulls_last=True)


def empty() -> pl.DataFrame:
    """No signals, with the right columns."""
    return pl.DataFrame(schema=SCHEMA)


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with exactly the signal columns (missing ones null)."""
    return frame.select(
        pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype).alias(name)
        for name, dtype in SCHEMA.items()
    )


_MEANING_SCHEMA = {
    "component": pl.String,
    "root_cause": pl.String,
    "action": pl.String,
    "severity": pl.String,
    "role": pl.String,
}


def _meaning_row(meaning: Meaning) -> dict[str, str]:
    return {
        "component": meaning.component,
        "root_cause": meaning.root_cause,
        "action": meaning.action,
        "severity": meaning.severity,
        "role": meaning.role,
    }


def _device_kind(device: pl.Expr) -> pl.Expr:
    return (
        pl.when(device.is_null())
        .then(pl.lit("node"))
        .when(device.str.contains("->"))
        .then(pl.lit("pair"))
        .when(device.str.contains(r"^mlx\d*_\w+/\d+$|^(?:lid\d+|0x[0-9a-f]+)/\d+$"))
        .then(pl.lit("hca"))
        .when(device.str.contains(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$|^gpu\d+$"))
        .then(pl.lit("gpu"))
        .otherwise(pl.lit("other"))
    )


def _anomaly_meaning(detector: str, metric: str, device_kind: str) -> Meaning:
    for want_detector, prefix, want_kind, meaning in ANOMALY_MEANINGS:
        if want_detector not in ("*", detector):
            continue
        if prefix != "*" and not (metric == prefix or metric.startswith(prefix)):
            continue
        if want_kind not in ("any", device_kind):
            continue
        return meaning
    raise AssertionError("ANOMALY_MEANINGS ends with a catch-all")


def _test_meaning(test: str, status: str, detail: str, params_json: str | None) -> Meaning:
    if status == "error":
        return Meaning("node", "unknown", "investigate", "warning", SYMPTOM)
    text = detail.lower()
    # what the failure text says beats DCGM's broad category (NaN results are HARDWARE_MEMORY to DCGM,
    # a GPU that computes wrong answers to us); the category beats the test name alone
    for prefix, fragment, meaning in TEST_MEANINGS:
        if fragment and test.startswith(prefix) and fragment in text:
            return meaning
    categories = json.loads(params_json).get("error_categories") if params_json else None
    if categories:
        meaning = category_meaning(categories[0])
        if meaning is not None:
            return meaning
    for prefix, fragment, meaning in TEST_MEANINGS:
        if not fragment and test.startswith(prefix):
            return meaning
    raise AssertionError("TEST_MEANINGS ends with a catch-all")
