"""NVIDIA DCGM outputs: `dcgmi diag` results, `dcgmi health -c` reports and `dcgmi dmon` samples.

Layouts (`Sniffed.format`, the first found of):
  diag_json    `dcgmi diag -j`: DCGM 3.x ("DCGM GPU Diagnostic": test_categories / tests / results
               with `gpu_ids`) and 4.x ("DCGM Diagnostic" with per-entity results and a test_summary,
               plus `entity_groups` and `metadata` at the top), also `{"iterations": [...]}` of `--iterations`
  diag_text    the `dcgmi diag` table: 2.x/3.x rows `| GPU Memory | Fail - All |` or per-GPU
               `Pass - GPUs: 1, 2` / `Fail - GPU: 0`, Warning/Info/Error cells wrapped over several rows;
               4.x rows `| memory | Fail |` then `|  | GPU0: Fail |` and `| Warning: GPU0 | ... |`;
               Metadata/Deployment/Integration/Hardware/Stress sections; several tables (iterations) in
               one file; a table cut before its closing border makes the file an error
  health_json  `dcgmi health -c -j` (body / Overall Health / GPU / <id> / Errors / <system>)
  health_text  `dcgmi health -c`, the same tree drawn as a table (`-> 0`, `   -> Errors`, ...)
  dmon         `dcgmi dmon` samples (`#Entity  XIDER ...` header, `GPU 0  120` rows)
A file may hold several of these (a shell session pasted into a ticket): every block is read and the
other lines (prompts, nvidia-smi CSV) are events only.

test_runs:
  dcgm_<test>          one per GPU (`gpu3`) or for the node (None) and per test: 3.x display names
                       snake-cased ("GPU Memory" -> dcgm_memory, "Page Retirement/Row Remap" ->
                       dcgm_page_retirement_row_remap), 4.x plugin names as printed (dcgm_software,
                       dcgm_pcie, ...). Pass -> pass, Fail -> fail, Warn -> fail with a detail starting
                       "warning:", Skip and Not Run -> no run. `detail` is the failure text with wrapped cells
                       re-joined; params: dcgm_version, level (from a `dcgmi diag -r N` prompt), section,
                       iteration, entity (non-GPU entities), error_codes and error_categories (DCGM_FR_*
                       codes of JSON warnings or names printed in text, categories from
                       rules/catalogs/dcgm_errors.csv; without the catalog the codes alone are kept)
  dcgm_diag            error: the diagnostic could not run (`Error: Unable to complete diagnostic ...`)
  dcgm_health          overall health (node) and per GPU; dcgm_health_<system> per GPU and system
                       (pcie, memory, nvlink, thermal, power, inforom, driver, sm, ...): Healthy -> pass,
                       Warning/Failure -> fail with params {"health": "warning"|"failure"}, Internal error -> error
measurements (info lines of the pcie and stress tests, and dmon):
  dcgm_pcie  d2h_bandwidth, h2d_bandwidth, bidir_bandwidth (GB/s), d2h_latency, h2d_latency, bidir_latency (us)
  dcgm_<stress test>  temperature_avg (C)
  dcgm_dmon  xid_last (enum: the last Xid), power (W), gpu_temp and memory_temp (C), sm_clock and mem_clock (MHz)
assets: GPUs of 4.x JSON `entity_groups` that carry a serial number (device `gpuN`, index, serial).
"""

from __future__ import annotations

import csv
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from triage.paths import default_rules_dir
from triage.sources.base import Fixups, ParseContext, Parser, Sniffed
from triage.sources.document import DocumentSource
from triage.sources.records import (
    CELSIUS,
    ENUM,
    GBPS,
    MHZ,
    MICROSECONDS,
    WATT,
    Malformed,
    Records,
    gpu_ref,
    table_frame,
)

KIND = "dcgm"

# -- sniffing -----------------------------------------------------------------------------------------
_JSON_DIAG = re.compile(r'^\s*\{?\s*"(?:DCGM GPU Diagnostic|DCGM Diagnostic)"\s*:')
_JSON_HEALTH = re.compile(
    r'^\s*"(?:Overall Health|Health Monitor Report|(?:PCIe|NVLINK|Memory|SM|InfoROM|Thermal|Power) system)"'
)
_HEADER = re.compile(r"^\|\s*Diagnostic\s+\|\s*Result\s+\|\s*$")
_SECTION = re.compile(r"^[|+]-{3,}\s+([A-Za-z][A-Za-z ]*?)\s+-+\+-+[|+]\s*$")
_DIAG_SECTIONS = {"Metadata", "Deployment", "Hardware", "Integration", "Stress", "Training"}
_STATUS_CELL = re.compile(r"^\| .{25} \| (?:Pass|Fail|Warn|Skip) - (?:All|GPUs?: \d)")
_HEALTH_TEXT = re.compile(r"^\|\s*(?:Health Monitor Report\s*|Overall Health\s+\|\s*(?:Healthy|Warning|Failure))")
_DMON_HEADER = re.compile(r"^#Entity\s+\S")
_DIAG_ERROR = re.compile(r"^Error: (?:Unable to complete diagnostic|Diagnostic c)")


def _diag_marker(line: str) -> bool:
    """A line only a dcgmi diag table has: its header, a section bar or a 3.x per-GPU status cell."""
    if _HEADER.match(line) or _STATUS_CELL.match(line):
        return True
    m = _SECTION.match(line)
    return m is not None and m.group(1) in _DIAG_SECTIONS


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """DCGM output when a line is unmistakably dcgmi's: a diag table row, a diag/health JSON key, a dmon header."""
    found = set()
    for i, line in enumerate(sample):
        if _JSON_DIAG.match(line):
            found.add("diag_json")
        elif _diag_marker(line) or _DIAG_ERROR.match(line):
            found.add("diag_text")
        elif _JSON_HEALTH.match(line):
            found.add("health_json")
        elif _HEALTH_TEXT.match(line):
            found.add("health_text")
        elif _DMON_HEADER.match(line) and i + 1 < len(sample) and sample[i + 1].startswith("ID"):
            found.add("dmon")
    for fmt in ("diag_json", "diag_text", "health_json", "health_text", "dmon"):
        if fmt in found:
            return Sniffed(KIND, fmt)
    return None


def parser(sniffed: Sniffed, ctx: ParseContext) -> Parser:
    """A parser for one DCGM output file."""
    return DcgmSource(ctx, sniffed.format)


# -- the error catalog ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ErrorCatalog:
    """DCGM_FR_* codes: name -> code and code -> category (rules/catalogs/dcgm_errors.csv)."""

    codes: dict[str, int] = field(default_factory=dict)
    categories: dict[int, str] = field(default_factory=dict)

    def category(self, code: int) -> str | None:
        """The DCGM error category of a code, None when the catalog does not know it."""
        return self.categories.get(code)


@functools.cache
def error_catalog() -> ErrorCatalog:
    """The DCGM error catalog of the rules folder; empty when it is missing or unreadable."""
    path = default_rules_dir() / "catalogs" / "dcgm_errors.csv"
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = [(int(row["code"]), row["name"], row["category"]) for row in csv.DictReader(fh)]
    except (OSError, KeyError, ValueError):
        return ErrorCatalog()
    return ErrorCatalog({name: code for code, name, _ in rows}, {code: category for code, _, category in rows})


# -- the common model of a diag test -----------------------------------------------------------------------
_STATUS = {"pass": "pass", "fail": "fail", "warn": "warn", "skip": "skip", "not run": "skip"}
_TEST_ALIASES = {
    "gpu_memory": "memory",
    "eud_test": "eud",
    "blacklist": "denylist",
    "environmental_variables": "environment_variables",
    "permissions_and_os_related_blocks": "permissions_and_os_blocks",
}
_GPU_PREFIX = re.compile(r"^GPU (\d+)\b")
_FR_NAME = re.compile(r"\bDCGM_FR_[A-Z0-9_]+\b")


def test_name(name: str) -> str:
    """Our test name for a DCGM test or check: `dcgm_` and its snake-cased name (`GPU Memory` -> `dcgm_memory`)."""
    snake = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return f"dcgm_{_TEST_ALIASES.get(snake, snake)}"


@dataclass
class _Message:
    """A warning, error or info text of a test, and what it is about."""

    kind: str  # warning, error or info
    line_no: int
    chunks: list[str] = field(default_factory=list)
    gpus: tuple[int, ...] = ()  # GPUs it names; empty for the whole test
    entity: str | None = None  # a non-GPU entity (`CPU0`)
    codes: tuple[int, ...] = ()

    @property
    def text(self) -> str:
        return " ".join("".join(self.chunks).split())


@dataclass
class _Result:
    """One result of a test: for given GPUs, an entity, all GPUs, or the test as a whole."""

    status: str  # pass, fail, warn or skip
    line_no: int
    gpus: tuple[int, ...] = ()
    entity: str | None = None
    all_gpus: bool = False


@dataclass
class _Test:
    """A test (or check) of a diag output with its results and messages."""

    name: str
    section: str | None
    overall: _Result | None = None  # the test's own status (4.x, 3.x checks); per-entity results below
    results: list[_Result] = field(default_factory=list)
    messages: list[_Message] = field(default_factory=list)


@dataclass
class _Run:
    """What the file says of the diag runs it holds: version, level and iteration."""

    version: str | None = None
    level: int | None = None
    iteration: int | None = None

    def params(self, section: str | None) -> dict[str, Any]:
        values = {"dcgm_version": self.version, "level": self.level, "iteration": self.iteration, "section": section}
        return {key: value for key, value in values.items() if value is not None}


def _join_texts(texts: Iterable[str]) -> str | None:
    """Distinct texts as one passage: sentences joined by a space, other texts by "; "."""
    out = ""
    for text in dict.fromkeys(t for t in texts if t):
        out = text if not out else f"{out}{' ' if out[-1] in '.!?' else '; '}{text}"
    return out or None


def _failure_messages(test: _Test, result: _Result | None) -> list[_Message]:
    """The warnings and errors a result's run should quote: its own, else those of the whole test."""
    failures = [m for m in test.messages if m.kind != "info"]
    general = [m for m in failures if not m.gpus and m.entity is None]
    if result is None:
        return general
    if result.entity is not None:
        own = [m for m in failures if m.entity == result.entity]
    else:
        own = [m for m in failures if set(m.gpus) & set(result.gpus)]
    return own or general


def _emit_result(
    records: Records,
    test: _Test,
    result: _Result,
    device: str | None,
    messages: list[_Message],
    base: dict[str, Any],
    catalog: ErrorCatalog,
) -> None:
    """The test run of a result that is not skipped, quoting `messages` when it did not pass."""
    if result.status == "skip":
        return
    failed = result.status != "pass"
    text = _join_texts(m.text for m in messages) if failed else None
    if result.status == "warn":
        text = f"warning: {text}" if text else "warning"
    params = dict(base)
    if result.entity is not None:
        params["entity"] = result.entity
    codes = sorted({c for m in messages for c in m.codes}) if failed else []
    if codes:
        params["error_codes"] = codes
        categories = sorted({cat for c in codes if (cat := catalog.category(c))})
        if categories:
            params["error_categories"] = categories
    status = "fail" if failed else "pass"
    records.run(device, test_name(test.name), status, result.line_no, params=params, detail=text)


def _emit_test(records: Records, test: _Test, table_gpus: list[int], run: _Run, catalog: ErrorCatalog) -> None:
    """The test runs of one test: one per GPU its results name (all GPUs seen for "- All"), else for the node."""
    base = run.params(test.section)
    for result in test.results:
        gpus = result.gpus or (table_gpus if result.all_gpus else [])
        if not gpus:
            _emit_result(records, test, result, None, _failure_messages(test, result), base, catalog)
        for g in gpus:
            # Each GPU quotes its own warnings ("Warning: GPU3", "GPU 3 ...") where it has some.
            own = _Result(result.status, result.line_no, gpus=(g,))
            _emit_result(records, test, own, gpu_ref(g), _failure_messages(test, own), base, catalog)
    overall = test.overall
    if overall is None or overall.status == "skip":
        return
    entity_failed = any(r.status in ("fail", "warn") for r in test.results)
    general = _failure_messages(test, None)
    # The test's own status counts for the node when no entity result carries it (4.x global warnings).
    if not test.results or (overall.status in ("fail", "warn") and (general or not entity_failed)):
        messages = general or [m for m in test.messages if m.kind != "info"]
        _emit_result(records, test, overall, None, messages, base, catalog)


def _message_gpus(text: str) -> tuple[int, ...]:
    m = _GPU_PREFIX.match(text)
    return (int(m.group(1)),) if m else ()


# Info lines that carry numbers: (regex with the GPU and the value, metric, unit).
_INFO_METRICS: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"^GPU (\d+) GPU to Host bandwidth:\s*([\d.]+) GB/s"), "d2h_bandwidth", GBPS),
    (re.compile(r"^GPU (\d+) Host to GPU bandwidth:\s*([\d.]+) GB/s"), "h2d_bandwidth", GBPS),
    (re.compile(r"^GPU (\d+) bidirectional bandwidth:\s*([\d.]+) GB/s"), "bidir_bandwidth", GBPS),
    (re.compile(r"^GPU (\d+) GPU to Host latency:\s*([\d.]+) us"), "d2h_latency", MICROSECONDS),
    (re.compile(r"^GPU (\d+) Host to GPU latency:\s*([\d.]+) us"), "h2d_latency", MICROSECONDS),
    (re.compile(r"^GPU (\d+) bidirectional latency:\s*([\d.]+) us"), "bidir_latency", MICROSECONDS),
    (re.compile(r"^GPU (\d+) temperature average:\s*([\d.]+) C"), "temperature_avg", CELSIUS),
]


def _emit_info_metrics(records: Records, test: _Test, run: _Run) -> None:
    """Measurements from the info lines of a test (pcie bandwidths and latencies, average temperatures)."""
    params = run.params(test.section)
    for message in test.messages:
        if message.kind != "info":
            continue
        for pattern, metric, unit in _INFO_METRICS:
            if m := pattern.match(message.text):
                device, value = gpu_ref(int(m.group(1))), float(m.group(2))
                records.measure(device, test_name(test.name), metric, value, unit, message.line_no, params=params)


def _emit_tests(records: Records, tests: list[_Test], run: _Run, catalog: ErrorCatalog) -> None:
    """Runs and measurements of the tests of one diag output."""
    gpus: set[int] = set()
    for test in tests:
        for result in test.results:
            gpus.update(result.gpus)
        for message in test.messages:
            if message.kind != "info":
                gpus.update(message.gpus)
    for test in tests:
        _emit_test(records, test, sorted(gpus), run, catalog)
        _emit_info_metrics(records, test, run)


# -- text tables -----------------------------------------------------------------------------------------
_BORDER = re.compile(r"^\+[-=]+\+[-=]+\+\s*$")
_CELL_STATUS = re.compile(r"^(Pass|Fail|Warn|Skip|Not Run)(?: - (All|GPUs?: ([\d, ]+)))?$")
_ENTITY_STATUS = re.compile(r"^([A-Za-z][A-Za-z-]*?)(\d+): (Pass|Fail|Warn|Skip|Not Run)$")
_LABEL = re.compile(r"^(Warning|Error|Info)(?:: ([A-Za-z][A-Za-z-]*?)(\d+))?$")
_DIAG_COMMAND = re.compile(r"\bdcgmi\s+diag\b(?:.*?(?:-r|--run)[ =]?([1-4])\b)?")
_ITERATION = re.compile(r"^Running iteration (\d+) of \d+")
_ERROR_LINE = re.compile(r"^Error: (.+)$")
_WRAP = 45  # dcgmi wraps long cells every 45 characters


def _cells(line: str) -> tuple[str, str] | None:
    """The name and the raw value of a table row (`| name | value |`), the value's leading space kept."""
    if not line.startswith("|"):
        return None
    if len(line) > 28 and line[28] == "|":  # the fixed dcgmi layout: a value may hold '|' itself
        name, value = line[1:28], line[29:]
    elif "|" in line[1:]:
        name, value = line[1:].split("|", 1)
    else:
        return None
    value = value.rstrip()
    return name.strip(), value[:-1] if value.endswith("|") else value


@dataclass
class _Table:
    """State of one diag table being read."""

    section: str | None = None
    tests: list[_Test] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    message: _Message | None = None  # the message whose wrapped rows may follow

    @property
    def test(self) -> _Test | None:
        return self.tests[-1] if self.tests else None

    def add_row(self, name: str, raw: str, line_no: int) -> None:
        """Add one `| name | value |` row."""
        value = raw.strip()
        if self.section == "Metadata":
            self.metadata[name] = value
            return
        label = _LABEL.match(name) if name else None
        if label:
            self._start_message(label, raw, line_no)
        elif name:
            self._named_row(name, value, line_no)
        elif not self._result_row(value, line_no) and self.message is not None:
            self.message.chunks.append(raw[1 : _WRAP + 1])
            return
        if not label:
            self.message = None

    def _start_message(self, label: re.Match[str], raw: str, line_no: int) -> None:
        kind = label.group(1).lower()
        test = self.test
        if test is None or (test.section != self.section and self.section is not None):
            # An Error or Warning with no test above it in its section: it stands for the section's check.
            test = _Test(self.section or "diag", self.section)
            if kind != "info":
                test.overall = _Result("fail", line_no)
            self.tests.append(test)
        message = _Message(kind, line_no, [raw[1 : _WRAP + 1]])
        group, index = label.group(2), label.group(3)
        if group == "GPU":
            message.gpus = (int(index),)
        elif group:
            message.entity = f"{group}{index}"
        test.messages.append(message)
        self.message = message

    def _named_row(self, name: str, value: str, line_no: int) -> None:
        m = _CELL_STATUS.match(value)
        if m is None:
            return  # a row that is no result (2.x training output, ...): an event only
        test = _Test(name, self.section)
        self.tests.append(test)
        self._add_status(test, m, line_no)

    def _result_row(self, value: str, line_no: int) -> bool:
        test = self.test
        if test is None:
            return False
        if m := _ENTITY_STATUS.match(value):
            group, index, status = m.groups()
            result = _Result(_STATUS[status.lower()], line_no)
            if group == "GPU":
                result.gpus = (int(index),)
            else:
                result.entity = f"{group}{index}"
            test.results.append(result)
            return True
        if (m := _CELL_STATUS.match(value)) and m.group(2):
            self._add_status(test, m, line_no)
            return True
        return False

    @staticmethod
    def _add_status(test: _Test, m: re.Match[str], line_no: int) -> None:
        status = _STATUS[m.group(1).lower()]
        if m.group(2) is None:
            test.overall = _Result(status, line_no)
        elif m.group(2) == "All":
            test.results.append(_Result(status, line_no, all_gpus=True))
        else:
            gpus = tuple(int(g) for g in re.findall(r"\d+", m.group(3)))
            test.results.append(_Result(status, line_no, gpus=gpus))

    def finish(self) -> None:
        """Attach GPUs named at the start of 3.x messages ("GPU 3 ...") and the codes they print."""
        catalog = error_catalog()
        for test in self.tests:
            for message in test.messages:
                if not message.gpus and message.entity is None:
                    message.gpus = _message_gpus(message.text)
                names = _FR_NAME.findall(message.text)
                message.codes = tuple(catalog.codes[n] for n in names if n in catalog.codes)


def _is_table_start(line: str) -> bool:
    """A diag table starts here: a line only dcgmi prints, or a test row in its fixed layout (a fragment)."""
    if _diag_marker(line):
        return True
    cells = _cells(line)
    return cells is not None and len(line) > 28 and line[28] == "|" and bool(_CELL_STATUS.match(cells[1].strip()))


# -- health reports --------------------------------------------------------------------------------------
_HEALTH = {"healthy": "pass", "warning": "fail", "failure": "fail"}


@dataclass
class _HealthNode:
    label: str
    line_no: int
    value: str | None = None
    messages: list[str] = field(default_factory=list)
    children: list[_HealthNode] = field(default_factory=list)


def _health_status(value: str | None) -> tuple[str, dict[str, Any]] | None:
    if not value:
        return None
    status = _HEALTH.get(value.lower(), "error")
    return status, ({"health": value.lower()} if status == "fail" else {})


def _emit_health(records: Records, roots: list[_HealthNode]) -> None:
    """dcgm_health for the node and per entity, dcgm_health_<system> per entity and system."""
    for root in roots:
        if root.label == "Overall Health":
            if found := _health_status(root.value):
                records.run(None, "dcgm_health", found[0], root.line_no, params=found[1])
            continue
        for entity in root.children:
            _emit_health_entity(records, root.label, entity)


def _emit_health_entity(records: Records, group: str, entity: _HealthNode) -> None:
    device = gpu_ref(int(entity.label)) if group == "GPU" and entity.label.isdigit() else None
    extra = {} if device else {"entity": f"{group} {entity.label}"}
    systems = [s for errors in entity.children if errors.label == "Errors" for s in errors.children]
    if found := _health_status(entity.value):
        detail = _join_texts(f"{s.label}: {' '.join(s.messages)}" for s in systems) if found[0] != "pass" else None
        records.run(device, "dcgm_health", found[0], entity.line_no, params={**found[1], **extra}, detail=detail)
    for system in systems:
        if found := _health_status(system.value):
            name = "dcgm_health_" + re.sub(r"[^a-z0-9]+", "_", system.label.lower().removesuffix(" system")).strip("_")
            detail = " ".join(" ".join(system.messages).split()) or None
            records.run(device, name, found[0], system.line_no, params={**found[1], **extra}, detail=detail)


def _is_health_report(doc: dict[str, Any]) -> bool:
    """A `dcgmi health -c -j` document (other dcgmi JSON shares its body/header shape)."""
    body = doc.get("body")
    return isinstance(body, dict) and (
        "Overall Health" in body or "Health Monitor Report" in _as_list(doc.get("header"))
    )


def _health_from_json(node: dict[str, Any], label: str, locate: _Locator) -> _HealthNode:
    out = _HealthNode(label, locate(f'"{label}"'))
    value = node.get("value")
    out.value = value if isinstance(value, str) else None
    out.messages = [str(m) for m in node.get("overflow") or []]
    children = node.get("children")
    if isinstance(children, dict):
        out.children = [_health_from_json(child, name, locate) for name, child in children.items()]
    return out


def _health_tree_row(
    stack: list[_HealthNode], roots: list[_HealthNode], name_cell: str, value: str, line_no: int
) -> None:
    """Place one row of the text health tree: depth from the `-> ` indent, overflow rows continue a message."""
    label = name_cell.strip()
    if not label:
        if stack:
            stack[-1].messages.append(value)
        return
    depth = 0
    if label.startswith("->"):
        indent = len(name_cell) - len(name_cell.lstrip())
        depth = indent // 3 + 1
        label = label[2:].strip()
    node = _HealthNode(label, line_no, value or None)
    del stack[depth:]
    (stack[-1].children if stack else roots).append(node)
    stack.append(node)


# -- the document ---------------------------------------------------------------------------------------
class _Locator:
    """Line numbers of the parts of a JSON document: the next line holding a key, moving forward."""

    def __init__(self, lines: list[str], start: int, end: int) -> None:
        self.lines, self.start, self.end = lines, start, end
        self.last = start - 1  # index of the line found last

    def __call__(self, needle: str) -> int:
        """The line of the next occurrence of `needle` after the line found last; later searches start there."""
        self.last = self._search(needle, self.last + 1)
        return self.last + 1

    def text(self, text: str) -> int:
        """The line of a JSON string value from the line found last on, without moving on."""
        return self._search(json.dumps(text, ensure_ascii=False)[1:41], max(self.last, self.start)) + 1

    def _search(self, needle: str, first: int) -> int:
        here = max(self.last, self.start)  # a needle not found stays on the current line
        return next((i for i in range(first, self.end) if needle in self.lines[i]), here)


class DcgmSource(DocumentSource):
    """`Parser` over a file of dcgmi outputs (diag, health, dmon), read whole."""

    KIND = KIND

    def __init__(self, ctx: ParseContext, fmt: str | None = None) -> None:
        super().__init__(ctx, fmt)
        self._samples: list[pl.DataFrame] = []  # dmon measurements, built in bulk

    def finish(self) -> Fixups:
        """The rows of the document, dmon samples included."""
        fixups = super().finish()
        if self._samples:
            parts = [fixups.tables["measurements"]] if "measurements" in fixups.tables else []
            fixups.tables["measurements"] = pl.concat([*parts, *self._samples], how="vertical_relaxed")
        return fixups

    def read(self, lines: list[str], records: Records) -> None:
        """Rows of every dcgmi block of the file; `Malformed` for a table or JSON document cut short."""
        run = _Run()
        in_dmon = pl.Series(lines, dtype=pl.String).str.contains(_DMON_LINE).to_numpy()
        self._samples = []
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("{"):
                i = self._json_block(lines, i, run, records)
            elif _DMON_HEADER.match(line):
                i, parts = _dmon_blocks(lines, i, in_dmon)
                frames = (_dmon_frame(lines, tags, first, end) for tags, first, end in parts)
                self._samples.extend(f for f in frames if f is not None and f.height)
            elif _BORDER.match(line) or _is_table_start(line) or _HEALTH_TEXT.match(line):
                i = self._table(lines, i, run, records)
            else:
                self._plain_line(line, i + 1, run, records)
                i += 1

    @staticmethod
    def _plain_line(line: str, line_no: int, run: _Run, records: Records) -> None:
        """Prompts that set the level (`dcgmi diag -r 3`) or iteration, and dcgmi's own error lines."""
        if m := _DIAG_COMMAND.search(line):
            run.level, run.iteration = (int(m.group(1)) if m.group(1) else None), None
        elif m := _ITERATION.match(line):
            run.iteration = int(m.group(1))
        elif m := _ERROR_LINE.match(line):
            text = m.group(1).strip()
            if "diagnostic" in text.lower():
                records.run(None, "dcgm_diag", "error", line_no, params=run.params(None), detail=text)
            elif "health" in text.lower():
                records.run(None, "dcgm_health", "error", line_no, detail=text)

    # -- text tables
    def _table(self, lines: list[str], start: int, run: _Run, records: Records) -> int:
        """Read one table from `start`; returns the index of the line after it."""
        i = start
        if _BORDER.match(lines[i]):
            i += 1
            if i >= len(lines) or not (_HEADER.match(lines[i]) or _HEALTH_TEXT.match(lines[i])):
                return i  # some other table (dcgmi discovery, ...): its lines are events only
        if _HEALTH_TEXT.match(lines[i]):
            return self._health_table(lines, i, records)
        return self._diag_table(lines, i, run, records)

    def _diag_table(self, lines: list[str], i: int, run: _Run, records: Records) -> int:
        table = _Table()
        closed = False
        while i < len(lines):
            line = lines[i]
            if _BORDER.match(line):
                if line.startswith("+="):
                    i += 1
                    continue
                closed = True
                i += 1
                break
            if m := _SECTION.match(line):
                table.section, table.message = m.group(1), None
            elif _HEADER.match(line):
                pass
            elif (cells := _cells(line)) is not None:
                table.add_row(cells[0], cells[1], i + 1)
            else:
                break
            i += 1
        table.finish()
        version = table.metadata.get("DCGM Version")
        table_run = _Run(version or run.version, run.level, run.iteration)
        _emit_tests(records, table.tests, table_run, error_catalog())
        if not closed:
            raise Malformed(i, "the dcgmi diag table ends here without its closing border: the output is cut off")
        return i

    def _health_table(self, lines: list[str], i: int, records: Records) -> int:
        roots: list[_HealthNode] = []
        stack: list[_HealthNode] = []
        closed = False
        while i < len(lines):
            line = lines[i]
            i += 1
            if _BORDER.match(line):
                if line.startswith("+="):
                    continue
                closed = True
                break
            if not line.startswith("|") or "|" not in line[1:]:
                i -= 1
                break
            name_cell, value = line[1:].split("|", 1)
            if name_cell.strip() != "Health Monitor Report":
                _health_tree_row(stack, roots, name_cell[1:], value.rstrip().removesuffix("|").strip(), i)
        _emit_health(records, roots)
        if not closed:
            raise Malformed(i, "the dcgmi health table ends here without its closing border: the output is cut off")
        return i

    # -- JSON documents
    def _json_block(self, lines: list[str], start: int, run: _Run, records: Records) -> int:
        """Decode the dcgmi JSON document starting at `start`; returns the index of the line after it."""
        head = lines[start : start + 200]
        if not any(_JSON_DIAG.match(line) or _JSON_HEALTH.match(line) for line in head):
            return start + 1  # not dcgmi's: its lines are events only
        text = "\n".join(lines[start:])
        try:
            doc, end = json.JSONDecoder().raw_decode(text)
        except json.JSONDecodeError as exc:
            if not text[exc.pos :].strip():
                raise Malformed(
                    start + exc.lineno, "the dcgmi JSON document ends before it is complete: the output is cut off"
                ) from None
            raise Malformed(start + exc.lineno, f"the dcgmi JSON document is invalid here: {exc.msg}") from None
        stop = start + text.count("\n", 0, end) + 1
        if isinstance(doc, dict):
            locate = _Locator(lines, start, stop)
            if _is_health_report(doc):
                body = doc["body"].items()
                _emit_health(records, [_health_from_json(n, name, locate) for name, n in body if isinstance(n, dict)])
            else:
                self._diag_json(doc, run, locate, records)
        return stop

    def _diag_json(self, doc: dict[str, Any], run: _Run, locate: _Locator, records: Records) -> None:
        iterations = doc.get("iterations")
        if isinstance(iterations, list):
            for number, item in enumerate(iterations, start=1):
                if isinstance(item, dict):
                    self._diag_json(item, _Run(run.version, run.level, number), locate, records)
            return
        body = doc.get("DCGM Diagnostic", doc.get("DCGM GPU Diagnostic"))
        if not isinstance(body, dict):
            return
        metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
        version = metadata.get("version") or body.get("version") or run.version
        json_run = _Run(str(version) if version else None, run.level, run.iteration)
        if body.get("runtime_error"):
            line_no = locate('"runtime_error"')
            detail = str(body["runtime_error"]).strip()
            records.run(None, "dcgm_diag", "error", line_no, params=json_run.params(None), detail=detail)
        tests = [
            _json_test(test, str(category.get("category", "")) or None, locate)
            for category in body.get("test_categories") or []
            if isinstance(category, dict)
            for test in category.get("tests") or []
            if isinstance(test, dict) and test.get("name")
        ]
        _emit_tests(records, tests, json_run, error_catalog())
        _json_assets(doc.get("entity_groups"), locate, records)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _json_messages(
    entry: dict[str, Any], locate: _Locator, gpus: tuple[int, ...], entity: str | None
) -> list[_Message]:
    """Warnings (with their error ids) and info lines of one result or test summary."""
    out = []
    for warning in _as_list(entry.get("warnings")):
        text = str(warning.get("warning", "") if isinstance(warning, dict) else warning)
        code = warning.get("error_id") if isinstance(warning, dict) else None
        codes = (code,) if isinstance(code, int) and code > 0 else ()
        out.append(_Message("warning", locate.text(text), [text], gpus or _message_gpus(text), entity, codes))
    for info in _as_list(entry.get("info")):
        out.append(_Message("info", locate.text(str(info)), [str(info)], gpus, entity))
    return out


def _json_test(test: dict[str, Any], section: str | None, locate: _Locator) -> _Test:
    """One test of `dcgmi diag -j` (3.x `gpu_ids` results or 4.x entity results and test_summary)."""
    locate(f'"{test["name"]}"')  # results are searched from the test's name on
    out = _Test(str(test["name"]), section)
    for entry in _as_list(test.get("results")):
        if not isinstance(entry, dict):
            continue
        status = _STATUS.get(str(entry.get("status", "")).lower(), "skip")
        gpus: tuple[int, ...] = ()
        entity = None
        if "gpu_ids" in entry:
            gpus = tuple(int(g) for g in re.findall(r"\d+", str(entry["gpu_ids"])))
        elif entry.get("entity_group") == "GPU" and isinstance(entry.get("entity_id"), int):
            gpus = (entry["entity_id"],)
        elif "entity_id" in entry:
            entity = f"{entry.get('entity_group')}{entry.get('entity_id')}"
        if entry:
            out.results.append(_Result(status, locate(f'"{next(iter(entry))}"'), gpus=gpus, entity=entity))
            out.messages.extend(_json_messages(entry, locate, gpus, entity))
    summary = test.get("test_summary")
    if isinstance(summary, dict):
        out.overall = _Result(_STATUS.get(str(summary.get("status", "")).lower(), "skip"), locate('"test_summary"'))
        known = {m.text for m in out.messages}
        # The summary repeats every entity's warnings; those left belong to the test as a whole.
        out.messages.extend(m for m in _json_messages(summary, locate, (), None) if m.text not in known)
    return out


def _json_assets(groups: Any, locate: _Locator, records: Records) -> None:
    """GPUs of `entity_groups` that report a serial number."""
    for group in _as_list(groups):
        if not isinstance(group, dict) or group.get("entity_group") != "GPU":
            continue
        for entity in _as_list(group.get("entities")):
            serial = str(entity.get("serial_num", "")) if isinstance(entity, dict) else ""
            if serial and not serial.startswith("<<<") and isinstance(entity.get("entity_id"), int):
                index = entity["entity_id"]
                records.asset("gpu", gpu_ref(index), locate(serial), index=index, serial=serial)


# -- dmon ------------------------------------------------------------------------------------------------
_DMON_FIELDS = {
    "XIDER": ("xid_last", ENUM),
    "POWER": ("power", WATT),
    "TMPTR": ("gpu_temp", CELSIUS),
    "MMTMP": ("memory_temp", CELSIUS),
    "SMCLK": ("sm_clock", MHZ),
    "MMCLK": ("mem_clock", MHZ),
}
# Lines of a dmon table: its header (repeated every 14 rows), the units row and the samples.
_DMON_LINE = r"^(?:#Entity\s|ID\b|(?:GPU|Switch|GPU-I|GPU-CI|vGPU) \d+\s)"


def _dmon_blocks(lines: list[str], start: int, in_table: np.ndarray) -> tuple[int, list[tuple[list[str], int, int]]]:
    """The end of the dmon table at `start`, and its parts that share one header: (tags, first, end)."""
    rest = np.flatnonzero(~in_table[start:])
    end = start + int(rest[0]) if rest.size else len(lines)
    parts: list[tuple[list[str], int, int]] = []
    for i in range(start, end):
        if lines[i].startswith("#"):
            tags = lines[i].split()[1:]
            if parts and parts[-1][0] == tags:
                continue
            if parts:
                parts[-1] = (parts[-1][0], parts[-1][1], i)
            parts.append((tags, i, end))
    return end, parts


def _dmon_frame(lines: list[str], tags: list[str], first: int, end: int) -> pl.DataFrame | None:
    """The GPU samples of the known fields between `first` and `end`, as measurement rows."""
    known = [(k, tag) for k, tag in enumerate(tags) if tag in _DMON_FIELDS]
    if not known:
        return None
    tokens = pl.col("line").str.extract_all(r"\S+")
    frame = (
        pl.DataFrame({"line_no": pl.int_range(first + 1, end + 1, eager=True), "line": lines[first:end]})
        .filter(pl.col("line").str.starts_with("GPU "))
        .select(
            "line_no",
            device=pl.lit("gpu") + tokens.list.get(1),
            **{tag: tokens.list.get(k + 2, null_on_oob=True).cast(pl.Float64, strict=False) for k, tag in known},
        )
        .unpivot(index=["line_no", "device"], variable_name="tag", value_name="value")
        .drop_nulls("value")
        .sort("line_no", maintain_order=True)
    )
    metric = {tag: _DMON_FIELDS[tag][0] for _, tag in known}
    unit = {tag: _DMON_FIELDS[tag][1] for _, tag in known}
    empty = table_frame("measurements", [])
    columns = frame.with_columns(
        test=pl.lit("dcgm_dmon"),
        metric=pl.col("tag").replace_strict(metric),
        unit=pl.col("tag").replace_strict(unit),
    )
    return pl.concat([empty, columns.select(c for c in empty.columns if c in columns.columns)], how="diagonal_relaxed")


__all__ = ["KIND", "DcgmSource", "ErrorCatalog", "error_catalog", "parser", "sniff", "test_name"]
