"""The strict rule loader: what it accepts, and every problem it reports with file:line."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from triage.errors import TriageError
from triage.signatures.loader import RuleError, load_rules

TAXONOMY = Path(__file__).parents[2] / "rules" / "taxonomy.yaml"

GOOD = """\
rules:
  - id: pcie-aer-fatal
    title: PCIe uncorrected fatal error
    description: The root port reported an uncorrected fatal error.
    source: kernel_log
    match:
      keywords: ["AER: Uncorrected (Fatal)"]
      regex: 'AER: Uncorrected \\(Fatal\\) error received: (?P<bdf>[0-9a-f:.]+)'
    device: bdf
    component: gpu
    root_cause: pcie
    action: check_mechanicals
    severity: critical
    examples:
      match:
        - line: "pcieport 0000:15:01.0: AER: Uncorrected (Fatal) error received: 0000:18:00.0"
          fields: {bdf: "0000:18:00.0"}
      no_match:
        - "pcieport 0000:15:01.0: AER: enabled with IRQ 79"
"""


def _folder(tmp_path: Path, text: str, catalog: str | None = None) -> Path:
    folder = tmp_path / "rules"
    (folder / "catalogs").mkdir(parents=True)
    shutil.copy(TAXONOMY, folder / "taxonomy.yaml")
    (folder / "family.yaml").write_text(textwrap.dedent(text))
    if catalog is not None:
        (folder / "catalogs" / "codes.csv").write_text(catalog)
    return folder


def _problems(tmp_path: Path, text: str, catalog: str | None = None) -> list[str]:
    with pytest.raises(RuleError) as caught:
        load_rules(_folder(tmp_path, text, catalog))
    return caught.value.problems


def test_a_good_rule_loads_with_its_location(tmp_path: Path) -> None:
    pack = load_rules(_folder(tmp_path, GOOD))

    (rule,) = pack.rules
    assert (rule.id, rule.device, rule.severity, rule.keywords) == (
        "pcie-aer-fatal",
        "bdf",
        "critical",
        ("AER: Uncorrected (Fatal)",),
    )
    assert rule.where == f"{tmp_path}/rules/family.yaml:2"
    assert rule.examples[0].fields == {"bdf": "0000:18:00.0"}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "    severity: critical\n",
            "    severity: fatal\n",
            "family.yaml:13: severity 'fatal' is not one of",
            id="severity_outside_taxonomy",
        ),
        pytest.param(
            "    action: check_mechanicals\n",
            "    action: rma\n",
            "family.yaml:12: action 'rma' is not one of",
            id="action_outside_taxonomy",
        ),
        pytest.param(
            "    source: kernel_log\n",
            "    source: dmesg\n",
            "family.yaml:5: source 'dmesg' is not one of",
            id="unknown_source",
        ),
        pytest.param(
            "    device: bdf\n",
            "    device: bdf\n    colour: red\n",
            "family.yaml:10: unknown key 'colour'",
            id="unknown_key",
        ),
        pytest.param(
            "    device: bdf\n",
            "    device: bdf\n    device: port\n",
            "family.yaml:10: duplicate key 'device'",
            id="duplicate_key",
        ),
        pytest.param(
            "    device: bdf\n",
            "    device: port\n",
            "family.yaml:9: device field 'port' is not a named group",
            id="device_not_a_group",
        ),
        pytest.param("(?P<bdf>", "(?<=x)(?P<bdf>", "family.yaml:8: look-around is not supported", id="look_around"),
        pytest.param("[0-9a-f:.]+)'", "[0-9a-f:.+)'", "family.yaml:8: bad regex:", id="bad_regex"),
        pytest.param(
            'keywords: ["AER: Uncorrected (Fatal)"]',
            'keywords: ["Xid"]',
            "example contains none of the keywords",
            id="example_without_keyword",
        ),
        pytest.param(
            '          fields: {bdf: "0000:18:00.0"}\n',
            '          fields: {port: "x"}\n',
            "example fields ['port'] are not named groups",
            id="example_field_not_a_group",
        ),
        pytest.param("    title: PCIe uncorrected fatal error\n", "", "lacks `title`", id="missing_title"),
        pytest.param("    threshold_placeholder\n", "", "", id="control_no_change"),
    ],
)
def test_each_problem_is_reported_with_file_and_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    if old not in GOOD:  # the control case: the good rule is fine
        assert load_rules(_folder(tmp_path, GOOD)).rules
        return
    problems = _problems(tmp_path, GOOD.replace(old, new, 1))

    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("threshold", "expected"),
    [
        pytest.param("{count: 0}", "`count` must be a positive whole number", id="zero_count"),
        pytest.param("{count: 3, within: soon}", "`within` 'soon' must look like", id="bad_window"),
        pytest.param("{count: 3, by: rack}", "`by` must be device or host", id="bad_scope"),
        pytest.param("{within: 1h}", "`threshold` needs `count`", id="no_count"),
    ],
)
def test_bad_thresholds(tmp_path: Path, threshold: str, expected: str) -> None:
    problems = _problems(tmp_path, GOOD.replace("    device: bdf\n", f"    device: bdf\n    threshold: {threshold}\n"))

    assert any(expected in p for p in problems), problems


def test_every_problem_of_every_rule_is_reported_at_once(tmp_path: Path) -> None:
    second = GOOD.split("rules:\n", 1)[1].replace("severity: critical", "severity: loud")
    text = GOOD.replace("root_cause: pcie", "root_cause: gremlins") + second

    problems = _problems(tmp_path, text)

    assert [p.split(": ", 1)[1].split(" ", 2)[:2] for p in problems] == [
        ["root_cause", "'gremlins'"],
        ["severity", "'loud'"],
        ["duplicate", "rule"],
    ] or len(problems) == 3, problems
    assert any("duplicate rule id 'pcie-aer-fatal'" in p for p in problems)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    problems = _problems(tmp_path, GOOD.replace("    title: PCIe", "    title: [PCIe"))

    assert len(problems) == 1
    assert problems[0].startswith(f"{tmp_path}/rules/family.yaml:") and "invalid YAML" in problems[0]


def test_catalog_values_are_checked_against_the_taxonomy(tmp_path: Path) -> None:
    catalog = (
        "code,title,component,root_cause,action,severity\n"
        "48,DBE,gpu,gpu_memory,rma_gpu,critical\n"
        "49,X,gpu,bad,none,info\n"
    )
    text = GOOD.replace("    device: bdf\n", "    device: bdf\n    catalog: {name: codes, key: bdf}\n")

    problems = _problems(tmp_path, text, catalog)

    assert problems == [f"{tmp_path}/rules/catalogs/codes.csv:3: root_cause 'bad' is not in the taxonomy"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"\x00\x01binary", "invalid YAML: unacceptable character #x0000", id="binary"),
        pytest.param(b"rules: [caf\xe9]", "not UTF-8 text", id="latin1"),
        pytest.param(b"rules: [1, 2]", "every entry under `rules:` must be a mapping", id="not_mappings"),
        pytest.param(b"- id: x", "a rule file holds one key, `rules:`", id="top_level_list"),
    ],
)
def test_unreadable_rule_files_are_problems_not_crashes(tmp_path: Path, content: bytes, expected: str) -> None:
    folder = _folder(tmp_path, GOOD)
    (folder / "zz.yaml").write_bytes(content)

    with pytest.raises(RuleError) as caught:
        load_rules(folder)

    assert any(p.startswith(f"{folder}/zz.yaml") and expected in p for p in caught.value.problems), (
        caught.value.problems
    )


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TriageError, match="no rules folder"):
        load_rules(tmp_path / "nowhere")
