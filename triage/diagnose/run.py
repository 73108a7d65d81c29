"""Running the diagnosis over the store and writing the `diagnoses` table."""

from __future__ import annotations

from dataclasses import dataclass, field

from triage.store import Store


@dataclass
class DiagnoseSummary:
    """What the diagnosis decided: verdicts, hosts by status, and how long it took."""

    diagnoses: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_root_cause: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view, stable for scripts."""
        return {
            "diagnoses": self.diagnoses,
            "by_status": self.by_status,
            "by_root_cause": self.by_root_cause,
            "seconds": round(self.seconds, 3),
        }


def diagnose(store: Store, hosts: list[str] | None = None) -> DiagnoseSummary:
    """Decide the verdicts of `hosts` (default: all) and replace their rows in `diagnoses`."""
    return DiagnoseSummary()  # placeholder until the decision engine lands
