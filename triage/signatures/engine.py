"""Evaluating a rule pack over events, vectorised.

1. One literal prefilter pass (Aho-Corasick over every rule's keywords, polars
   `contains_any`) keeps the candidate lines.
2. Per rule, the candidates holding one of its keywords are matched with its regex;
   named groups become fields; `device` is normalised (PCI addresses to `dddd:bb:dd.f`).
3. Catalog rules (XID, SXid) take title and taxonomy per code from their catalog.
4. Hits are grouped per (host, device, rule) into findings; rules with a threshold keep
   only groups with `count` hits inside one `within` window.
No Python loop runs over lines: loops are over rules and catalogs.
"""

from __future__ import annotations

import re

import polars as pl

from triage.schema import TABLES
from triage.signatures.model import SEVERITIES, Rule, RulePack
from triage.sources.records import bdf_expr

EVIDENCE_LIMIT = 20
EVENT_SCHEMA = {
    "host": pl.String,
    "file_id": pl.Int32,
    "line_no": pl.Int64,
    "ts": pl.Datetime("us"),
    "uptime_s": pl.Float64,
    "boot": pl.Int32,
    "source": pl.String,
    "message": pl.String,
}
EVENT_COLUMNS = list(EVENT_SCHEMA)
_TAXONOMY = ["title", "component", "root_cause", "action", "severity"]
# A hit: the event's place and time, the rule (and catalog code) that matched, and what it says.
HIT_SCHEMA = {
    **{name: dtype for name, dtype in EVENT_SCHEMA.items() if name not in ("source", "message")},
    "rule": pl.String,
    "rule_id": pl.String,
    "device": pl.String,
    "fields": pl.String,
    **{name: pl.String for name in _TAXONOMY},
    "message": pl.String,
}


def prefilter(pack: RulePack, events: pl.DataFrame, extra_keywords: list[str] | None = None) -> pl.DataFrame:
    """The events holding at least one keyword of the pack (one Aho-Corasick pass)."""
    keywords = pack.keywords + (extra_keywords or [])
    return events.filter(pl.col("message").str.contains_any(keywords))


def match(pack: RulePack, events: pl.DataFrame) -> pl.DataFrame:
    """Every (line, rule) hit among `events` (columns of `EVENT_COLUMNS`), as `HIT_SCHEMA` rows."""
    candidates = prefilter(pack, events).with_row_index("_row")
    parts = []
    for rule_id, rows in _rows_per_rule(pack, candidates).items():
        hits = _match_rule(pack.rule(rule_id), pack, candidates[rows])
        if hits.height:
            parts.append(hits)
    if not parts:
        return pl.DataFrame(schema=HIT_SCHEMA)
    return pl.concat(parts, how="vertical").sort("host", "file_id", "line_no", "rule_id")


def _rows_per_rule(pack: RulePack, candidates: pl.DataFrame) -> dict[str, pl.Series]:
    """For each rule, the candidate rows holding one of its keywords (one Aho-Corasick pass in all)."""
    if candidates.height == 0:
        return {}
    owners = pl.DataFrame(
        [(keyword, rule.id) for rule in pack.rules for keyword in rule.keywords],
        schema={"keyword": pl.String, "rule": pl.String},
        orient="row",
    )
    found = candidates.select(
        "_row", keyword=pl.col("message").str.extract_many(pack.keywords, overlapping=True)
    ).explode("keyword")
    pairs = found.join(owners, on="keyword").unique(["rule", "_row"]).sort("_row")
    return {rule: part["_row"] for (rule,), part in pairs.partition_by("rule", as_dict=True).items()}


def _match_rule(rule: Rule, pack: RulePack, lines: pl.DataFrame) -> pl.DataFrame:
    """Hits of one rule among `lines`, which already hold one of its keywords."""
    message = pl.col("message")
    selected = message.str.contains(rule.regex)
    if rule.source != "any":
        selected = selected & (pl.col("source") == rule.source)
    if rule.exclude:
        selected = selected & ~message.str.contains(rule.exclude)
    hits = lines.filter(selected)
    if hits.height == 0:
        return pl.DataFrame(schema=HIT_SCHEMA)
    groups = named_groups(rule.regex)
    if groups:
        hits = hits.with_columns(message.str.extract_groups(rule.regex).alias("_fields"))
    fields = _fields_json(groups)
    device = normalize_device(pl.col("_fields").struct.field(rule.device)) if rule.device else pl.lit(None)
    hits = hits.with_columns(
        rule=pl.lit(rule.id),
        rule_id=pl.lit(rule.id),
        device=device.cast(pl.String),
        fields=fields,
        **{name: pl.lit(getattr(rule, name)) for name in _TAXONOMY},
    )
    if rule.catalog is not None:
        hits = _join_catalog(hits, rule, pack)
    return hits.select([pl.col(name).cast(dtype) for name, dtype in HIT_SCHEMA.items()])


def _join_catalog(hits: pl.DataFrame, rule: Rule, pack: RulePack) -> pl.DataFrame:
    """Per-code title and taxonomy from the catalog; codes it lacks keep the rule's own values."""
    assert rule.catalog is not None
    rows = pack.catalogs[rule.catalog.name]
    table = pl.DataFrame(
        {"_code": list(rows), **{f"_cat_{name}": [row[name] for row in rows.values()] for name in _TAXONOMY}},
        schema={"_code": pl.String, **{f"_cat_{name}": pl.String for name in _TAXONOMY}},
    )
    code = pl.col("_fields").struct.field(rule.catalog.key).cast(pl.String).str.strip_chars()
    hits = hits.with_columns(_code=code).join(table, on="_code", how="left")
    return hits.with_columns(
        rule_id=pl.format("{}-{}", pl.lit(rule.id), pl.col("_code")),
        **{name: pl.coalesce(pl.col(f"_cat_{name}"), pl.col(name)) for name in _TAXONOMY},
    )


def normalize_device(value: pl.Expr) -> pl.Expr:
    """PCI-looking ids become `dddd:bb:dd.f` (lowercase, domain 0000 and function 0 by default); others stay."""
    return pl.coalesce(bdf_expr(value), value)


def findings(pack: RulePack, hits: pl.DataFrame) -> pl.DataFrame:
    """One finding per (host, device, rule_id), thresholds applied, in the store's `findings` shape."""
    if hits.height == 0:
        return _empty_findings()
    hits = hits.with_columns(_t=_time_us())
    thresholds = {rule.id: rule.threshold for rule in pack.rules if rule.threshold is not None}
    plain = hits.filter(~pl.col("rule").is_in(list(thresholds)))
    kept = [_aggregate(plain, by_host=False)] if plain.height else []
    for rule_id, threshold in thresholds.items():
        rule_hits = hits.filter(pl.col("rule") == rule_id)
        if rule_hits.height == 0:
            continue
        by_host = threshold.by == "host"
        keys = ["host", "rule_id"] if by_host else ["host", "device", "rule_id"]
        if threshold.within_s is not None:
            peak = _window_peak(rule_hits, keys, threshold.within_s)
        else:
            peak = rule_hits.group_by(keys).agg(_peak=pl.len())
        fired = peak.filter(pl.col("_peak") >= threshold.count).select(keys)
        rule_hits = rule_hits.join(fired, on=keys, how="semi", nulls_equal=True)
        if rule_hits.height:
            kept.append(_aggregate(rule_hits, by_host=by_host))
    if not kept:
        return _empty_findings()
    out = pl.concat(kept, how="vertical").sort("host", "device", "rule_id", nulls_last=True)
    return out.with_row_index("finding_id", offset=1).with_columns(pl.col("finding_id").cast(pl.Int64))


def _time_us() -> pl.Expr:
    """Microseconds on the line's clock: wall time when known, else uptime; lines with neither share 0."""
    wall = pl.col("ts").dt.epoch("us")
    boot = (pl.col("uptime_s") * 1e6).round().cast(pl.Int64)
    return pl.coalesce(wall, boot, pl.lit(0, dtype=pl.Int64))


def _window_peak(hits: pl.DataFrame, keys: list[str], within_s: float) -> pl.DataFrame:
    """Per group, the largest number of hits inside any window of `within_s` ending at a hit.

    Lines with only an uptime are compared within their own file and boot: the gap between
    two boots is unknown, so their hits never share a window.
    """
    clock = pl.when(pl.col("ts").is_not_null()).then(pl.lit("wall")).otherwise(pl.format("{}:{}", "file_id", "boot"))
    hits = hits.with_columns(_clock=clock)
    ordered = hits.sort([*keys, "_clock", "_t"], nulls_last=True).with_columns(
        _group=pl.struct([*keys, "_clock"]).rank("dense")
    )
    windows = ordered.rolling(index_column="_t", period=f"{int(within_s * 1e6)}i", group_by="_group").agg(
        _n=pl.len(), **{k: pl.col(k).first() for k in keys}
    )
    return windows.group_by(keys).agg(_peak=pl.col("_n").max())


def _aggregate(hits: pl.DataFrame, by_host: bool) -> pl.DataFrame:
    """Findings from hits; a host-wide rule names a device only when all its hits share one."""
    keys = ["host", "rule_id"] if by_host else ["host", "device", "rule_id"]
    device = {"device": pl.when(pl.col("device").n_unique() == 1).then(pl.col("device").first())} if by_host else {}
    out = (
        hits.sort("file_id", "line_no")
        .group_by(keys, maintain_order=True)
        .agg(
            count=pl.len().cast(pl.Int64),
            first_ts=pl.col("ts").min(),
            last_ts=pl.col("ts").max(),
            fields=pl.col("fields").first(),
            evidence=pl.struct(pl.col("file_id"), pl.col("line_no")).head(EVIDENCE_LIMIT),
            severity=pl.col("severity").sort_by(pl.col("severity").replace_strict(_SEVERITY_RANK)).last(),
            **device,
            **{name: pl.col(name).first() for name in ("component", "root_cause", "action")},
        )
    )
    return out.select(_FINDING_COLUMNS)


_SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
_FINDING_COLUMNS = [name for name in TABLES["findings"].names if name != "finding_id"]


def _empty_findings() -> pl.DataFrame:
    return pl.from_arrow(TABLES["findings"].empty_table())  # type: ignore[return-value]


def named_groups(regex: str) -> list[str]:
    """The named groups of a regex, in order."""
    return re.findall(r"\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>", regex)


def _fields_json(groups: list[str]) -> pl.Expr:
    """A JSON object of the groups that took part in the match (groups that did not are left out)."""
    members = []
    for name in groups:
        value = pl.col("_fields").struct.field(name)
        member = pl.struct(value.alias(name)).struct.json_encode().str.slice(1).str.strip_suffix("}")
        members.append(pl.when(value.is_not_null()).then(member))
    inner = pl.concat_str(members, separator=",", ignore_nulls=True) if members else pl.lit("")
    return pl.concat_str([pl.lit("{"), inner, pl.lit("}")])
