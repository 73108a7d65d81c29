"""Reading detector settings: one strict YAML file per detector under rules/detect/.

Each detector module declares a frozen dataclass of its settings with the shipped defaults
in its YAML file; `read_settings` returns the mapping, `check_keys` refuses what a detector
does not know, with file:line, the way the rule loader does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from triage.errors import TriageError
from triage.paths import default_rules_dir
from triage.signatures.loader import _read_yaml


def settings_dir(rules_dir: str | Path | None = None) -> Path:
    """The folder holding the detector settings: `<rules>/detect`."""
    return Path(rules_dir or default_rules_dir()) / "detect"


def read_settings(name: str, rules_dir: str | Path | None = None) -> tuple[dict[str, Any], str]:
    """The mapping in `<rules>/detect/<name>.yaml` and the file's path; TriageError if unreadable."""
    path = settings_dir(rules_dir) / f"{name}.yaml"
    if not path.is_file():
        raise TriageError(f"{path}: detector settings not found")
    problems: list[str] = []
    data = _read_yaml(path, problems)
    if problems:
        raise TriageError(problems[0])
    if not isinstance(data, dict):
        raise TriageError(f"{path}: expected a mapping of settings")
    return data, str(path)


def check_keys(data: dict[str, Any], allowed: set[str], where: str) -> None:
    """TriageError naming the file and line of the first key of `data` not in `allowed`."""
    for key in data:
        if key not in allowed:
            line = getattr(data, "key_lines", {}).get(str(key))
            at = f"{where}:{line}" if line else where
            raise TriageError(f"{at}: unknown setting {key!r} (known: {', '.join(sorted(allowed))})")


def line_of(data: Any, key: str, where: str) -> str:
    """`where:line` of `key` in a mapping read by `read_settings`, for error messages."""
    line = getattr(data, "key_lines", {}).get(key)
    return f"{where}:{line}" if line else where


def number(data: dict[str, Any], key: str, where: str, default: float | None = None, minimum: float = 0.0) -> float:
    """A number setting at least `minimum`; TriageError with file:line otherwise."""
    if key not in data:
        if default is None:
            raise TriageError(f"{where}: setting {key!r} is missing")
        return default
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise TriageError(f"{line_of(data, key, where)}: {key} must be a number >= {minimum}, not {value!r}")
    return float(value)


def integer(
    data: dict[str, Any], key: str, where: str, default: int | None = None, minimum: int = 0, maximum: int | None = None
) -> int:
    """A whole-number setting within bounds (required when `default` is None); TriageError with file:line."""
    if key not in data and default is None:
        raise TriageError(f"{where}: setting {key!r} is missing")
    value = data.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < minimum
        or (maximum is not None and value > maximum)
    ):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        raise TriageError(f"{line_of(data, key, where)}: {key} must be a whole number {bounds}, not {value!r}")
    return value


def levels(data: dict[str, Any], key: str, where: str) -> dict[str, float]:
    """A mapping of level names (monitor, investigate, drain) to rising thresholds; TriageError with file:line."""
    from triage.detect.anomalies import LEVELS

    if key not in data:
        raise TriageError(f"{where}: setting {key!r} is missing")
    raw = data[key]
    at = line_of(data, key, where)
    if not isinstance(raw, dict) or not raw:
        raise TriageError(f"{at}: {key} must map {', '.join(LEVELS)} to score thresholds")
    check_keys(raw, set(LEVELS), where)
    thresholds = {name: number(raw, name, where) for name in LEVELS if name in raw}
    values = list(thresholds.values())
    if values != sorted(values) or len(set(values)) != len(values):
        raise TriageError(f"{at}: {key} must rise from monitor to drain, not {thresholds}")
    return thresholds
