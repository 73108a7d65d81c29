"""Loading rule files strictly: every problem of every file is reported at once, with file:line.

Rejected: YAML errors, duplicate keys, unknown keys, missing keys, duplicate rule ids,
values outside rules/taxonomy.yaml, regexes the engine cannot run (syntax errors and
look-around, which polars and DuckDB do not support), fields named in `device`,
`catalog` or examples that the regex does not capture, and must-match examples that
contain none of the rule's keywords (the prefilter would never let them through).
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from triage.errors import TriageError
from triage.paths import default_rules_dir
from triage.signatures.engine import named_groups
from triage.signatures.model import Catalog, Example, Rule, RulePack, Threshold

RULE_KEYS = {
    "id", "title", "description", "source", "match", "device", "threshold", "component", "root_cause",
    "action", "severity", "references", "falsepositives", "examples", "catalog",
}  # fmt: skip
REQUIRED = ["id", "title", "description", "source", "match", "component", "root_cause", "action", "severity"]
MATCH_KEYS = {"keywords", "regex", "exclude"}
THRESHOLD_KEYS = {"count", "within", "by"}
EXAMPLE_KEYS = {"match", "no_match"}
CATALOG_KEYS = {"name", "key"}
TAXONOMY_FIELDS = ("component", "root_cause", "action", "severity")
SOURCES = {"kernel_log", "bug_report", "text", "any"}
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_LOOKAROUND = re.compile(r"\(\?(?:=|!|<=|<!)")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RuleError(TriageError):
    """One or more rule files are invalid; the message lists every problem, one per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in rules:\n" + "\n".join(problems))


def load_rules(folder: str | os.PathLike[str] | None = None) -> RulePack:
    """Load and validate every `*.yaml` rule file and `catalogs/*.csv` table of a rules folder."""
    root = Path(folder) if folder is not None else default_rules_dir()
    if not root.is_dir():
        raise TriageError(f"{root}: no rules folder")
    problems: list[str] = []
    taxonomy = _load_taxonomy(root / "taxonomy.yaml", problems)
    catalogs = _load_catalogs(root / "catalogs", taxonomy, problems)
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in sorted(root.glob("*.yaml")):
        if path.name == "taxonomy.yaml":
            continue
        for rule_id, where, rule in _load_file(path, taxonomy, catalogs, problems):
            if rule_id in seen:
                problems.append(f"{where}: duplicate rule id {rule_id!r} (first at {seen[rule_id]})")
                continue
            seen[rule_id] = where
            if rule is not None:
                rules.append(rule)
    if problems:
        raise RuleError(problems)
    return RulePack(tuple(rules), catalogs, str(root))


# -- YAML with line numbers and no duplicate keys ---------------------------------
class _Map(dict):  # type: ignore[type-arg]
    """A mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _StrictLoader(yaml.SafeLoader):
    problems: list[str]
    path: str


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> _Map:
    out = _Map()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in out:
            loader.problems.append(f"{loader.path}:{line}: duplicate key {key!r}")
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[str(key)] = line
    return out


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        loader = _StrictLoader(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        problems.append(f"{path}: not UTF-8 text")
        return None
    except yaml.YAMLError as exc:  # the reader refuses control characters up front
        problems.append(f"{path}: invalid YAML: {str(exc).splitlines()[0]}")
        return None
    loader.problems = problems
    loader.path = str(path)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problems.append(f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}")
        return None
    finally:
        loader.dispose()


def read_taxonomy(path: Path) -> dict[str, list[str]]:
    """The value lists of a taxonomy.yaml (component, root_cause, action, severity); TriageError if it is broken."""
    problems: list[str] = []
    taxonomy = _load_taxonomy(path, problems)
    if problems:
        raise TriageError("; ".join(problems))
    return taxonomy


def _load_taxonomy(path: Path, problems: list[str]) -> dict[str, list[str]]:
    data = _read_yaml(path, problems) if path.is_file() else None
    if not isinstance(data, dict) or set(data) != set(TAXONOMY_FIELDS):
        problems.append(f"{path}: needs lists {', '.join(TAXONOMY_FIELDS)}")
        return {name: [] for name in TAXONOMY_FIELDS}
    return {name: [str(v) for v in data[name]] for name in TAXONOMY_FIELDS}


def _load_catalogs(
    folder: Path, taxonomy: dict[str, list[str]], problems: list[str]
) -> dict[str, dict[str, dict[str, str]]]:
    catalogs: dict[str, dict[str, dict[str, str]]] = {}
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"code", "title", *TAXONOMY_FIELDS} - set(reader.fieldnames or [])
            if missing:
                problems.append(f"{path}:1: catalog lacks columns {sorted(missing)}")
                continue
            rows: dict[str, dict[str, str]] = {}
            for line, row in enumerate(reader, start=2):
                code = row["code"].strip()
                if code in rows:
                    problems.append(f"{path}:{line}: duplicate code {code}")
                for name in TAXONOMY_FIELDS:
                    if row[name] not in taxonomy[name]:
                        problems.append(f"{path}:{line}: {name} {row[name]!r} is not in the taxonomy")
                rows[code] = row
            catalogs[path.stem] = rows
    return catalogs


# -- one rule file -----------------------------------------------------------------
def _load_file(
    path: Path, taxonomy: dict[str, list[str]], catalogs: dict[str, Any], problems: list[str]
) -> list[tuple[str, str, Rule | None]]:
    """(id, file:line, rule or None when invalid) for each entry of a rule file."""
    data = _read_yaml(path, problems)
    if data is None:
        return []
    if not isinstance(data, dict) or set(data) != {"rules"} or not isinstance(data["rules"], list):
        problems.append(f"{path}:1: a rule file holds one key, `rules:`, with a list of rules")
        return []
    rules = []
    for raw in data["rules"]:
        if not isinstance(raw, _Map):
            problems.append(f"{path}: every entry under `rules:` must be a mapping")
            continue
        rule = _build_rule(raw, str(path), taxonomy, catalogs, problems)
        rules.append((str(raw.get("id", "?")), f"{path}:{raw.line}", rule))
    return rules


def _build_rule(
    raw: _Map, path: str, taxonomy: dict[str, list[str]], catalogs: dict[str, Any], problems: list[str]
) -> Rule | None:
    before = len(problems)

    def at(key: str | None = None, node: _Map | None = None) -> str:
        node = node if node is not None else raw
        line = node.key_lines.get(key, node.line) if key else node.line
        return f"{path}:{line}"

    _unknown(raw, RULE_KEYS, at, problems)
    for key in REQUIRED:
        if key not in raw:
            problems.append(f"{at()}: rule {raw.get('id', '?')!r} lacks `{key}`")
    if len(problems) > before:
        return None
    rule_id = str(raw["id"])
    if not _ID.match(rule_id):
        problems.append(f"{at('id')}: id {rule_id!r} must be lowercase letters, digits, '-' or '_'")
    for name in TAXONOMY_FIELDS:
        if raw[name] not in taxonomy[name]:
            problems.append(f"{at(name)}: {name} {raw[name]!r} is not one of {', '.join(taxonomy[name])}")
    if raw["source"] not in SOURCES:
        problems.append(f"{at('source')}: source {raw['source']!r} is not one of {', '.join(sorted(SOURCES))}")

    match = raw["match"]
    keywords: list[str] = []
    regex = ""
    exclude = None
    if not isinstance(match, _Map):
        problems.append(f"{at('match')}: `match` needs `keywords` and `regex`")
    else:
        _unknown(match, MATCH_KEYS, lambda k=None: at(k, match), problems)
        keywords = [str(k) for k in match.get("keywords") or []]
        if not keywords or any(not k for k in keywords):
            problems.append(f"{at('match', match)}: `keywords` needs at least one non-empty literal")
        regex = str(match.get("regex") or "")
        groups = _check_regex(regex, at("regex", match), problems)
        exclude = match.get("exclude")
        if exclude is not None:
            _check_regex(str(exclude), at("exclude", match), problems)
    groups = _groups(regex)

    device = raw.get("device")
    if device is not None and device not in groups:
        problems.append(f"{at('device')}: device field {device!r} is not a named group of the regex")
    threshold = _threshold(raw.get("threshold"), at, problems)
    catalog = _catalog(raw.get("catalog"), groups, catalogs, at, problems)
    examples, counter = _examples(raw.get("examples"), groups, keywords, at, problems)
    if len(problems) > before:
        return None
    return Rule(
        id=rule_id,
        title=str(raw["title"]),
        description=str(raw["description"]).strip(),
        source=str(raw["source"]),
        keywords=tuple(keywords),
        regex=regex,
        exclude=str(exclude) if exclude is not None else None,
        device=device,
        threshold=threshold,
        component=raw["component"],
        root_cause=raw["root_cause"],
        action=raw["action"],
        severity=raw["severity"],
        references=tuple(str(r) for r in raw.get("references") or []),
        falsepositives=tuple(str(f) for f in raw.get("falsepositives") or []),
        examples=examples,
        counter_examples=counter,
        catalog=catalog,
        path=path,
        line=raw.line,
    )


def _unknown(node: _Map, allowed: set[str], at: Any, problems: list[str]) -> None:
    for key in node:
        if key not in allowed:
            problems.append(f"{at(key)}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")


def _check_regex(regex: str, where: str, problems: list[str]) -> set[str]:
    if not regex:
        problems.append(f"{where}: empty regex")
        return set()
    if _LOOKAROUND.search(regex):
        problems.append(f"{where}: look-around is not supported (the engine runs linear-time regexes)")
        return set()
    try:
        pl.Series([""], dtype=pl.String).str.contains(regex)
    except pl.exceptions.PolarsError as exc:
        problems.append(f"{where}: bad regex: {str(exc).strip().splitlines()[-1]}")
    return _groups(regex)


def _groups(regex: str) -> set[str]:
    return set(named_groups(regex))


def _threshold(raw: Any, at: Any, problems: list[str]) -> Threshold | None:
    if raw is None:
        return None
    if not isinstance(raw, _Map) or "count" not in raw:
        problems.append(f"{at('threshold')}: `threshold` needs `count` (and optionally `within`, `by`)")
        return None
    _unknown(raw, THRESHOLD_KEYS, lambda k=None: at(k, raw) if k else at("threshold"), problems)
    count = raw["count"]
    if not isinstance(count, int) or count < 1:
        problems.append(f"{at('threshold')}: `count` must be a positive whole number")
        return None
    within = None
    if "within" in raw:
        m = _DURATION.match(str(raw["within"]).strip())
        if not m:
            problems.append(f"{at('threshold')}: `within` {raw['within']!r} must look like 30s, 15m, 24h or 7d")
            return None
        within = float(m.group(1)) * _UNITS[m.group(2)]
    by = str(raw.get("by", "device"))
    if by not in ("device", "host"):
        problems.append(f"{at('threshold')}: `by` must be device or host")
    return Threshold(count, within, by)


def _catalog(raw: Any, groups: set[str], catalogs: dict[str, Any], at: Any, problems: list[str]) -> Catalog | None:
    if raw is None:
        return None
    if not isinstance(raw, _Map) or set(raw) != CATALOG_KEYS:
        problems.append(f"{at('catalog')}: `catalog` needs exactly `name` and `key`")
        return None
    if raw["name"] not in catalogs:
        problems.append(f"{at('catalog')}: no catalog rules/catalogs/{raw['name']}.csv")
    if raw["key"] not in groups:
        problems.append(f"{at('catalog')}: catalog key {raw['key']!r} is not a named group of the regex")
    return Catalog(str(raw["name"]), str(raw["key"]))


def _examples(
    raw: Any, groups: set[str], keywords: list[str], at: Any, problems: list[str]
) -> tuple[tuple[Example, ...], tuple[str, ...]]:
    if raw is None:
        problems.append(f"{at()}: rule needs `examples` with at least one `match` line")
        return (), ()
    if not isinstance(raw, _Map):
        problems.append(f"{at('examples')}: `examples` needs `match` and optionally `no_match`")
        return (), ()
    _unknown(raw, EXAMPLE_KEYS, lambda k=None: at(k, raw) if k else at("examples"), problems)
    examples = []
    for item in raw.get("match") or []:
        if isinstance(item, str):
            item = _Map(line=item)
        if not isinstance(item, dict) or "line" not in item or set(item) - {"line", "fields"}:
            problems.append(f"{at('examples')}: each `match` example is a line or {{line:, fields:}}")
            continue
        fields = {str(k): str(v) for k, v in (item.get("fields") or {}).items()}
        unknown = set(fields) - groups
        if unknown:
            problems.append(f"{at('examples')}: example fields {sorted(unknown)} are not named groups of the regex")
        line = str(item["line"])
        if keywords and not any(k in line for k in keywords):
            problems.append(f"{at('examples')}: example contains none of the keywords: {line[:80]!r}")
        examples.append(Example(line, fields))
    if not examples:
        problems.append(f"{at('examples')}: rule needs at least one `match` example")
    counter = tuple(str(x) for x in raw.get("no_match") or [])
    return tuple(examples), counter
