"""What a rule is once loaded: plain frozen data, no behaviour beyond small helpers."""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ["info", "warning", "error", "critical"]


@dataclass(frozen=True)
class Threshold:
    """Fire only when `count` hits fall inside one `within_s` window (all hits if no window)."""

    count: int
    within_s: float | None = None
    by: str = "device"  # device or host


@dataclass(frozen=True)
class Example:
    """A line the rule must match, with the fields it must yield."""

    line: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Catalog:
    """Per-code taxonomy: the rule's `key` field looks up a row of a catalog table."""

    name: str  # catalog file stem under rules/catalogs, e.g. "xid"
    key: str  # field holding the code, e.g. "xid"


@dataclass(frozen=True)
class Rule:
    """One rule signature (see rules/README.md for the file format)."""

    id: str
    title: str
    description: str
    source: str
    keywords: tuple[str, ...]
    regex: str
    exclude: str | None
    device: str | None
    threshold: Threshold | None
    component: str
    root_cause: str
    action: str
    severity: str
    references: tuple[str, ...]
    falsepositives: tuple[str, ...]
    examples: tuple[Example, ...]
    counter_examples: tuple[str, ...]
    catalog: Catalog | None
    path: str
    line: int

    @property
    def where(self) -> str:
        """file:line of the rule's definition."""
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class RulePack:
    """All rules and catalogs of a rules folder."""

    rules: tuple[Rule, ...]
    catalogs: dict[str, dict[str, dict[str, str]]]  # catalog name -> code -> column -> value
    folder: str

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (a catalog rule also answers to `id-code`, e.g. xid-48)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        base = rule_id.rsplit("-", 1)[0]
        for rule in self.rules:
            if rule.id == base and rule.catalog is not None:
                return rule
        raise KeyError(rule_id)

    @property
    def keywords(self) -> list[str]:
        """Every keyword of every rule, once."""
        return sorted({k for rule in self.rules for k in rule.keywords})
