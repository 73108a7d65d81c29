"""Verdicts and the pool of signals they are decided from, with the helpers every chain uses.

A signal is one row of `signals.collect` as a dict. A `Pool` holds the signals of one host
that no verdict has explained yet; chains `take` what they explain and build `Verdict`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from triage.diagnose.catalog import CAUSE, CONTEXT
from triage.signatures.model import SEVERITIES

Signal = dict[str, Any]


SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


# How strongly an action speaks, for picking the primary signal of a device.
ACTION_RANK = {
    "none": 0,
    "monitor": 1,
    "restart_app": 1,
    "rerun_test": 2,
    "investigate": 2,
    "update_firmware": 3,
    "reset_gpu": 3,
    "restart_fabric_manager": 3,
    "reboot_node": 3,
    "check_mechanicals": 4,
    "replace_cable": 5,
    "contact_vendor": 5,
    "rma_dimm": 6,
    "rma_hca": 6,
    "rma_gpu": 6,
    "rma_baseboard": 6,
    "rma_node": 6,
}


@dataclass
class Verdict:
    """One diagnosis: the device, the decision and the signals behind it (primary first)."""

    host: str
    device: str | None
    component: str
    root_cause: str
    action: str
    severity: str
    summary: str
    primary: Signal
    signals: list[Signal] = field(default_factory=list)

    def add(self, signals: Iterable[Signal]) -> None:
        """Fold more signals into this verdict."""
        self.signals.extend(s for s in signals if s is not self.primary and s not in self.signals)


@dataclass
class Pool:
    """The signals of one host not yet explained by a verdict."""

    host: str
    signals: list[Signal]
    names: dict[str, str]  # device -> words for it ("GPU 3 (0000:5d:00.0)")

    def take(self, keep: Callable[[Signal], bool]) -> list[Signal]:
        """Remove and return the signals `keep` accepts."""
        taken = [s for s in self.signals if keep(s)]
        self.signals = [s for s in self.signals if not keep(s)]
        return taken

    def devices(self, keep: Callable[[Signal], bool]) -> list[str]:
        """Devices (in order of first appearance) with at least one signal `keep` accepts."""
        seen: dict[str, None] = {}
        for s in self.signals:
            if s["device"] is not None and keep(s):
                seen[s["device"]] = None
        return list(seen)

    def incidents(self, root_cause: str) -> Iterator[tuple[str, list[Signal]]]:
        """Per device with a cause of `root_cause`: the device and all its signals of that root cause, taken."""
        member = is_(root_cause)
        for device in self.devices(lambda s: member(s) and s["role"] == CAUSE):
            yield device, self.take(lambda s, d=device: s["device"] == d and member(s))

    def name(self, device: str | None) -> str:
        """How a person names `device` in a sentence."""
        if device is None:
            return "the node"
        return self.names.get(device, device)


def is_(root_cause: str | tuple[str, ...]) -> Callable[[Signal], bool]:
    wanted = (root_cause,) if isinstance(root_cause, str) else root_cause
    return lambda s: s["root_cause"] in wanted and s["role"] != CONTEXT


def first(signals: list[Signal], *refs: str) -> Signal | None:
    for ref in refs:
        for s in signals:
            if s["ref"] == ref:
                return s
    return None


def strongest(signals: list[Signal]) -> Signal:
    return max(
        signals,
        key=lambda s: (
            s["role"] == CAUSE,
            SEVERITY_RANK[s["severity"]],
            ACTION_RANK[s["action"]],
            s["kind"] == "finding",
        ),
    )


def severity_of(signals: list[Signal], action: str) -> str:
    worst = max((SEVERITY_RANK[s["severity"]] for s in signals if s["role"] != CONTEXT), default=1)
    if action.startswith("rma_"):
        worst = max(worst, SEVERITY_RANK["error"])
    return next(name for name, rank in SEVERITY_RANK.items() if rank == worst)


def strength(verdict: Verdict) -> tuple[int, int]:
    return ACTION_RANK[verdict.action], SEVERITY_RANK[verdict.severity]


def words(signal: Signal) -> str:
    """A few words for one sign of trouble, for a summary sentence."""
    if signal["kind"] == "anomaly":
        metric = signal["ref"].split(":")[-1]
        for prefix, words in _METRIC_WORDS:
            if metric.startswith(prefix):
                return words
        return metric.replace("_", " ")
    if signal["kind"] == "test":
        return f"{signal['ref']} failed"
    return signal["text"] or signal["ref"]


_METRIC_WORDS = (
    ("pcie_width", "link narrower than its maximum"),
    ("pcie_replay", "PCIe replays"),
    ("host_to_device", "low host-to-device bandwidth"),
    ("device_to_host", "low device-to-host bandwidth"),
    ("h2d", "low host-to-device bandwidth"),
    ("d2h", "low device-to-host bandwidth"),
    ("bidir", "low bidirectional bandwidth"),
    ("temperature", "temperature far above its cohort"),
    ("rate", "port rate below the fleet"),
    ("symbol_error", "symbol errors rising"),
    ("link_downed", "link went down"),
    ("link_error_recovery", "link retraining"),
)


def signs_of(signals: list[Signal], most: int = 3) -> str:
    """The distinct signs of trouble among `signals` for a sentence: log lines and states first, then
    tests, then metrics; at most `most` named ("a; b; c and 4 more")."""
    order = {"finding": 0, "state": 1, "test": 2, "anomaly": 3}
    named: dict[str, None] = {}
    for s in sorted(signals, key=lambda s: (order.get(s["kind"], 4), -SEVERITY_RANK[s["severity"]])):
        if s["role"] == CAUSE:
            named[words(s)] = None
    signs = list(named)
    more = len(signs) - most
    return "; ".join(signs[:most]) + (f" and {more} more" if more > 0 else "")
