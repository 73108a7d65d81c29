"""Where triage finds its data files."""

from __future__ import annotations

import os
from pathlib import Path


def default_rules_dir() -> Path:
    """`$TRIAGE_RULES`, else the repository's rules/ folder next to the package."""
    env = os.environ.get("TRIAGE_RULES")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "rules"
