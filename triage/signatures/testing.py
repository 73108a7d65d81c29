"""Running every rule's examples through the real engine (`triage rules test`)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

from triage.signatures import engine
from triage.signatures.model import RulePack


@dataclass(frozen=True)
class ExampleResult:
    """The verdict on one example line of one rule."""

    rule_id: str
    kind: str  # match or no_match
    line: str
    ok: bool
    detail: str  # what went wrong, or the hit's rule_id and device


def run_examples(pack: RulePack, rule_ids: list[str] | None = None) -> list[ExampleResult]:
    """Check each rule's `match` examples (with their fields) and `no_match` lines."""
    rules = [r for r in pack.rules if rule_ids is None or r.id in rule_ids]
    rows = [
        (rule.id, kind, line, fields, rule.source)
        for rule in rules
        for kind, line, fields in (
            [("match", e.line, e.fields) for e in rule.examples] + [("no_match", c, {}) for c in rule.counter_examples]
        )
    ]
    if not rows:
        return []
    events = pl.DataFrame(
        {
            "host": "examples",
            "file_id": 0,
            "line_no": list(range(1, len(rows) + 1)),
            "ts": None,
            "uptime_s": None,
            "boot": 0,
            "source": [src if src != "any" else "kernel_log" for *_, src in rows],
            "message": [line for _, _, line, _, _ in rows],
        },
        schema=engine.EVENT_SCHEMA,
    )
    hits = engine.match(pack, events)
    by_line: dict[tuple[int, str], dict[str, object]] = {
        (no, rule): {"rule_id": rid, "device": dev, "fields": json.loads(f)}
        for no, rule, rid, dev, f in hits.select("line_no", "rule", "rule_id", "device", "fields").iter_rows()
    }
    results = []
    for no, (rule_id, kind, line, expected, _) in enumerate(rows, start=1):
        hit = by_line.get((no, rule_id))
        if kind == "no_match":
            ok = hit is None
            detail = "" if ok else f"matched as {hit['rule_id']}"  # type: ignore[index]
        elif hit is None:
            ok, detail = False, "did not match"
        else:
            got = hit["fields"]
            wrong = {k: (v, got.get(k)) for k, v in expected.items() if got.get(k) != v}  # type: ignore[union-attr]
            ok = not wrong
            detail = (
                f"{hit['rule_id']} device={hit['device']}"
                if ok
                else "; ".join(f"{k}: expected {e!r}, got {g!r}" for k, (e, g) in wrong.items())
            )
        results.append(ExampleResult(rule_id, kind, line, ok, detail))
    return results
