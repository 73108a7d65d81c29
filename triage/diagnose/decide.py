"""Deciding one verdict per incident from a host's signals.

The known chains of `chains` run first, in order, each taking the signals it explains out of
the pool. Then performance-only anomalies become a verdict of their own only when nothing else
on the host explains them; symptoms (aborted runs, NCCL CUDA errors) and context (rare
templates, forest outliers, informational findings) are folded into the verdict they belong to.
"""

from __future__ import annotations

from triage.diagnose.catalog import CAUSE, CONTEXT, SYMPTOM
from triage.diagnose.chains import CHAINS
from triage.diagnose.verdict import ACTION_RANK, SEVERITY_RANK, Pool, Signal, Verdict, strength


def decide(host: str, signals: list[Signal], names: dict[str, str] | None = None) -> list[Verdict]:
    """The verdicts of one host from its signals (see the module docstring for the order)."""
    pool = Pool(host, list(signals), names or {})
    verdicts: list[Verdict] = []
    for chain in CHAINS:
        verdicts.extend(chain(pool))
    _performance(pool, verdicts)
    _fold_rest(pool, verdicts)
    return sorted(verdicts, key=strength, reverse=True)


def _performance(pool: Pool, verdicts: list[Verdict]) -> None:
    slow = pool.take(lambda s: s["root_cause"] == "performance" and s["role"] == CAUSE)
    if not slow:
        return
    blamed = [v for v in verdicts if v.root_cause != "application" and ACTION_RANK[v.action] >= ACTION_RANK["monitor"]]
    if blamed:
        max(blamed, key=strength).add(slow)
        return
    primary = max(slow, key=lambda s: (SEVERITY_RANK[s["severity"]], s["kind"] == "anomaly"))
    metrics = sorted({s["ref"].split(":")[-1] for s in slow})
    verdicts.append(
        Verdict(
            pool.host,
            None,
            "node",
            "performance",
            "rerun_test",
            "warning",
            f"Performance below the fleet with no hardware sign ({', '.join(metrics)}): rerun the tests",
            primary,
            slow,
        )
    )


def _fold_rest(pool: Pool, verdicts: list[Verdict]) -> None:
    symptoms = [s for s in pool.signals if s["role"] == SYMPTOM]
    if symptoms and not any(ACTION_RANK[v.action] >= ACTION_RANK["monitor"] for v in verdicts):
        primary = max(symptoms, key=lambda s: SEVERITY_RANK[s["severity"]])
        verdicts.append(
            Verdict(
                pool.host,
                None,
                "node",
                "unknown",
                "investigate",
                "warning",
                f"Unexplained failures: {primary['text']}",
                primary,
                symptoms,
            )
        )
        pool.take(lambda s: s in symptoms)
    for s in pool.take(lambda s: True):
        if not verdicts or (s["role"] == CONTEXT and s["severity"] == "info" and s["kind"] == "finding"):
            continue  # informational lines with nothing to explain stay out of the verdicts
        same = [v for v in verdicts if v.device is not None and v.device == s["device"]]
        (same[0] if same else max(verdicts, key=strength)).add([s])
