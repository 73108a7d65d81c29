"""nvbandwidth output (NVIDIA/nvbandwidth v0.2 to v0.8), text and JSON, read as one document.

Layouts (`files.format`):
  text  the default output: `nvbandwidth Version: v0.6`, `Built from Git version`, `CUDA Runtime Version`,
        `Driver Version`, `Device 0: NVIDIA H100 80GB HBM3 (00000000:18:00)` (no bus id before v0.5),
        then per testcase `Running host_to_device_memcpy_ce.`, one or more matrices titled like
        `memcpy CE CPU(row) -> GPU(column) bandwidth (GB/s)` (a header row of GPU columns, one line per
        row, `N/A` cells), `SUM <key> <value>`; `Waived:` / `Waiving <testcase>.` for skipped
        testcases; `Error: ...`, `[CUDA_ERROR_...] ...`, `NVML_ERROR: ...` lines for failures.
  json  `nvbandwidth -j`: {"nvbandwidth": {"testcases": [{"name", "status", "bandwidth_description",
        "bandwidth_matrix", "sum", ...}], "error"?, ...}}, with any stray lines before or after it.

Rows: test `nvbandwidth`, one test_run per testcase that ran (params {"testcase": name}; pass when its
results were printed, error when it printed an error, incomplete when the output ends before its results);
waived testcases get none. Measurements, metric = the testcase name (`host_to_device_memcpy_ce`, ...) plus
the matrix qualifier of bidirectional device-to-device testcases (`..._read1`, `..._read2`, `..._total`),
unit GB/s (latency testcases: us, converted from the printed ns), params {"testcase_kind": "ce"|"sm"}
(and "cpu": the row label when a CPU x GPU matrix has several CPU rows):
  CPU(row) x GPU(column), `memcpy local` and   device = the column's GPU
  one-row all_to_one / one_to_all matrices
  GPU(row) x GPU(column) pair matrices         device = `src->dst`, the source axis read from the title
                                               (`->`: row to column, `<-`: column to row, `<->`: row, column)
  SUM lines / JSON "sum"                       metric `<key>_sum`, node-level (device null)
GPUs are named by the PCI address of their `Device N:` line when it has one, else `gpu<N>`.
Assets: one `gpu` per `Device N: <model> (<bus id>)` line (index, pci_bdf, model, driver).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from triage.sources.base import ParseContext, Sniffed
from triage.sources.document import DocumentSource
from triage.sources.records import GBPS, MICROSECONDS, Malformed, Records, gpu_ref, normalize_bdf

KIND = "nvbandwidth"
TEST = "nvbandwidth"

_VERSION = re.compile(r"^nvbandwidth Version:\s*(\S+)")
_JSON_KEY = re.compile(r'^\s*(?:\{\s*)?"nvbandwidth"\s*:')
_DRIVER = re.compile(r"^Driver Version:\s*(\S+)")
_DEVICE = re.compile(r"^Device (\d+): (.+?)(?: \(([0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}(?:\.[0-7])?)\))?\s*$")
_RUNNING = re.compile(r"^Running (?:benchmark )?(\w+)\.\s*$")
_WAIVED = re.compile(r"^(?:Waived:|Waiving \w+\.)")
_SUM = re.compile(r"^SUM (\w+) (\S+)\s*$")
_TITLE_START = re.compile(r"^(?:memcpy|memory latency|Device to Device Latency)\b.*\((?:GB/s|ns)\)\s*$")
_TITLE = re.compile(
    r"^(?:memcpy|memory latency|Device to Device Latency)\s+(?P<engine>CE|SM|local)\s+"
    r"(?:(?P<row>CPU|GPU)\(row\)\s+(?P<arrow><->|->|<-)\s+)?GPU\(column\)\s+"
    r"(?:(?P<qualifier>[A-Za-z]+\d*)\s+)??(?:bandwidth\s+)?\((?P<unit>GB/s|ns)\)\s*$"
)
_ERROR = re.compile(
    r"^(?:Error: |ERROR: |NVML_ERROR: |ASSERT in expression |\[(?:CUDA_ERROR_\w+|cuda\w+)\] |terminate called )"
)
_ENGINE_KIND = {"CE": "ce", "SM": "sm", "local": "ce"}


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """nvbandwidth text (its version banner, or a matrix title with a SUM line) or its JSON document."""
    if any(_JSON_KEY.match(line) for line in sample):
        return Sniffed(KIND, "json")
    if any(_VERSION.match(line) for line in sample):
        return Sniffed(KIND, "text")
    if any(_TITLE.match(line) for line in sample) and any(_SUM.match(line) for line in sample):
        return Sniffed(KIND, "text")
    return None


def parser(sniffed: Sniffed, ctx: ParseContext) -> NvbandwidthSource:
    """Parser for one nvbandwidth output file."""
    return NvbandwidthSource(ctx, sniffed.format)


class NvbandwidthSource(DocumentSource):
    """nvbandwidth output: one test run per testcase, one measurement per matrix cell and SUM."""

    KIND = KIND

    def read(self, lines: list[str], records: Records) -> None:
        """Add the testcases of the text or JSON output."""
        if self.format == "json":
            _read_json(lines, records)
        else:
            _TextReader(lines, records).read()


@dataclass(frozen=True)
class _Axes:
    """What a matrix title says: engine, row axis, direction, qualifier and unit."""

    kind: str
    row: str | None  # "CPU", "GPU" or None (a per-GPU row such as `memcpy local`)
    arrow: str | None
    suffix: str  # `_total`, `_read1`, ... or ""
    unit: str
    scale: float


def _axes(title: str, line_no: int | None) -> _Axes:
    m = _TITLE.match(title.strip())
    if m is None:
        raise Malformed(line_no, f"cannot tell the matrix axes from its title: {title.strip()}")
    qualifier = m["qualifier"]
    unit, scale = (GBPS, 1.0) if m["unit"] == "GB/s" else (MICROSECONDS, 1e-3)
    return _Axes(
        _ENGINE_KIND[m["engine"]], m["row"], m["arrow"], f"_{qualifier.lower()}" if qualifier else "", unit, scale
    )


@dataclass
class _Shape:
    """How the cells of one text matrix map to devices."""

    axes: _Axes
    columns: list[int]
    pairs: bool  # GPU x GPU: cells are `src->dst` pairs
    many_rows: bool  # CPU x GPU with several CPU rows: the row goes into params as `cpu`


@dataclass
class _Cell:
    device: str
    suffix: str
    value: float
    unit: str
    line_no: int
    params: dict[str, Any]


@dataclass
class _Testcase:
    """A testcase being read: its results wait until it is known to have run (not waived)."""

    name: str | None
    line_no: int
    cells: list[_Cell] = field(default_factory=list)
    sums: list[tuple[str, float, int, _Axes | None]] = field(default_factory=list)
    axes: _Axes | None = None  # of the last matrix, which its SUM line follows
    error: str | None = None
    matrix_cut: bool = False
    fault: str | None = None  # why reading stopped inside this testcase


class _TextReader:
    """The text layout, testcase by testcase."""

    def __init__(self, lines: list[str], records: Records) -> None:
        self.lines = lines
        self.records = records
        self.gpus: dict[int, str] = {}
        self.driver: str | None = None
        self.current: _Testcase | None = None

    def read(self) -> None:
        """Add every testcase; on a fault, the testcase being read is kept as incomplete."""
        i = 0
        try:
            while i < len(self.lines):
                line = self.lines[i]
                if _TITLE_START.match(line):
                    i = self._matrix(i)
                    continue
                self._line(i + 1, line)
                i += 1
        except Malformed as exc:
            if self.current is not None and (self.current.name or self.current.sums):
                self.current.fault = str(exc)
                self._close(at_end=False)
            raise
        self._close(at_end=True)

    def _line(self, line_no: int, line: str) -> None:
        if m := _RUNNING.match(line):
            self._close(at_end=False)
            self.current = _Testcase(m.group(1), line_no)
        elif _WAIVED.match(line):
            if self.current is not None and not self.current.cells and not self.current.sums:
                self.current = None  # waived after being announced
            else:
                self._close(at_end=False)
        elif m := _SUM.match(line):
            self._sum(line_no, m.group(1), m.group(2))
        elif _ERROR.match(line):
            if self.current is None:
                self.records.run(None, TEST, "error", line_no, detail=line.strip())
            elif self.current.error is None:
                self.current.error = line.strip()
        elif m := _DEVICE.match(line):
            self._device(line_no, int(m.group(1)), m.group(2), m.group(3))
        elif m := _DRIVER.match(line):
            self.driver = m.group(1)

    def _device(self, line_no: int, index: int, model: str, bus_id: str | None) -> None:
        bdf = normalize_bdf(bus_id) if bus_id else None
        if bdf is None:
            return
        self.gpus[index] = bdf
        self.records.asset("gpu", bdf, line_no, index=index, pci_bdf=bdf, model=model.strip(), driver=self.driver)

    def _gpu(self, index: int) -> str:
        return self.gpus.get(index) or gpu_ref(index)

    def _testcase(self, line_no: int) -> _Testcase:
        if self.current is None:
            self.current = _Testcase(None, line_no)  # a matrix without its `Running` line (an excerpt)
        return self.current

    def _sum(self, line_no: int, key: str, value: str) -> None:
        testcase = self._testcase(line_no)
        try:
            number = float(value)
        except ValueError:
            raise Malformed(line_no, f"SUM value {value!r} is not a number") from None
        testcase.sums.append((key, number, line_no, testcase.axes))

    def _matrix(self, start: int) -> int:
        """Read the matrix whose title is `lines[start]`; the index of the line after it."""
        title_no = start + 1
        axes = _axes(self.lines[start], title_no)
        testcase = self._testcase(title_no)
        testcase.axes = axes
        if start + 1 >= len(self.lines):
            testcase.matrix_cut = True
            return start + 1
        columns = _column_indexes(self.lines[start + 1], start + 2)
        end = start + 2
        while end < len(self.lines) and self.lines[end].strip():
            end += 1
        testcase.matrix_cut = end >= len(self.lines)
        rows = end - start - 2
        pairs = axes.row == "GPU" and _is_pair_matrix(self.lines[start + 2 : end])
        shape = _Shape(axes, columns, pairs, many_rows=rows > 1)
        for i in range(start + 2, end):
            tokens = self.lines[i].split()
            if len(tokens) != len(columns) + 1:
                raise Malformed(i + 1, f"matrix row has {len(tokens) - 1} values for {len(columns)} columns")
            self._cells(testcase, shape, tokens[0], tokens[1:], i + 1)
        if shape.pairs and not testcase.matrix_cut and rows != len(columns):
            raise Malformed(end + 1, f"GPU x GPU matrix has {rows} rows for {len(columns)} GPU columns")
        return end

    def _cells(self, testcase: _Testcase, shape: _Shape, label: str, cells: list[str], line_no: int) -> None:
        """The measurements of one matrix row."""
        axes = shape.axes
        params: dict[str, Any] = {"testcase_kind": axes.kind}
        if shape.pairs:
            row = self._gpu(_index(label, line_no))
        elif shape.many_rows:
            params["cpu"] = label
        for column, text in zip(shape.columns, cells, strict=True):
            value = _cell(text, line_no)
            if value is None:
                continue
            device = self._gpu(column)
            if shape.pairs:
                device = f"{device}->{row}" if axes.arrow == "<-" else f"{row}->{device}"
            testcase.cells.append(_Cell(device, axes.suffix, value * axes.scale, axes.unit, line_no, params))

    def _close(self, at_end: bool) -> None:
        testcase, self.current = self.current, None
        if testcase is None:
            return
        name = testcase.name or _name_from_sums(testcase)
        if name is None:
            raise Malformed(testcase.line_no, "matrix belongs to no testcase (no `Running` line and no SUM line)")
        if testcase.error is not None:
            status, detail = "error", testcase.error
        elif testcase.fault is not None:
            status, detail = "incomplete", f"results cannot be read: {testcase.fault}"
        elif testcase.matrix_cut or not testcase.sums:
            status = "incomplete"
            detail = f"output ends before the results of {name}" if at_end else f"no results printed for {name}"
        else:
            status, detail = "pass", None
        run_id = self.records.run(None, TEST, status, testcase.line_no, {"testcase": name}, detail=detail)
        _add_results(self.records, run_id, name, testcase)


def _is_pair_matrix(rows: list[str]) -> bool:
    """Whether GPU(row) x GPU(column) cells are GPU pairs: a square matrix with `N/A` on its diagonal.

    The all-to-one / one-to-all testcases print one row of per-GPU totals under the same title;
    a pair matrix cut after its first row still shows its diagonal `N/A` first.
    """
    if len(rows) > 1:
        return True
    tokens = rows[0].split() if rows else []
    return len(tokens) > 2 and tokens[1] == "N/A"


def _name_from_sums(testcase: _Testcase) -> str | None:
    """The testcase of an excerpt without `Running` line: the SUM key less the matrix qualifier."""
    if not testcase.sums:
        return None
    key = testcase.sums[0][0]
    suffix = testcase.cells[0].suffix if testcase.cells else ""
    return key[: -len(suffix)] if suffix and key.endswith(suffix) else key


def _add_results(records: Records, run_id: int, name: str, testcase: _Testcase) -> None:
    for cell in testcase.cells:
        records.measure(cell.device, TEST, name + cell.suffix, cell.value, cell.unit, cell.line_no, cell.params, run_id)
    for key, value, line_no, axes in testcase.sums:
        unit, scale = (axes.unit, axes.scale) if axes else (GBPS, 1.0)
        records.measure(None, TEST, f"{key}_sum", value * scale, unit, line_no, run_id=run_id)


def _column_indexes(header: str, line_no: int) -> list[int]:
    tokens = header.split()
    if not tokens or not all(token.isdigit() for token in tokens):
        raise Malformed(line_no, f"matrix header is not a row of GPU indexes: {header.strip()}")
    return [int(token) for token in tokens]


def _index(label: str, line_no: int) -> int:
    if not label.isdigit():
        raise Malformed(line_no, f"matrix row label {label!r} is not a GPU index")
    return int(label)


def _cell(text: str, line_no: int) -> float | None:
    if text == "N/A":
        return None
    try:
        return float(text)
    except ValueError:
        raise Malformed(line_no, f"matrix cell {text!r} is not a number") from None


def _read_json(lines: list[str], records: Records) -> None:
    document, first = _json_document(lines)
    root = document.get("nvbandwidth")
    if not isinstance(root, dict):
        raise Malformed(first, 'JSON document has no "nvbandwidth" object')
    testcases = root.get("testcases") or []
    fatal = root.get("error")
    cursor = first
    for testcase in testcases:
        name = str(testcase.get("name"))
        cursor = _line_of_name(lines, name, cursor)
        _json_testcase(records, testcase, name, cursor, fatal)
    if fatal and not any(tc.get("status") == "Running" for tc in testcases):
        records.run(None, TEST, "error", first, detail=str(fatal).strip())


def _json_document(lines: list[str]) -> tuple[dict[str, Any], int]:
    """The JSON object among stray lines, and the line number it starts on."""
    decoder = json.JSONDecoder()
    failure: Malformed | None = None
    for i, line in enumerate(lines):
        if not line.startswith("{"):  # the document's own brace, not a nested object's
            continue
        try:
            document, _ = decoder.raw_decode("\n".join(lines[i:]))
        except json.JSONDecodeError as exc:
            failure = failure or Malformed(i + exc.lineno, f"nvbandwidth JSON cannot be read: {exc.msg}")
            continue
        if isinstance(document, dict) and "nvbandwidth" in document:
            return document, i + 1
    raise failure or Malformed(None, "no nvbandwidth JSON document found")


def _line_of_name(lines: list[str], name: str, after: int) -> int:
    """The line number of `"name" : "<name>"` at or after line `after`, else `after`."""
    pattern = re.compile(r'"name"\s*:\s*"' + re.escape(name) + '"')
    for i in range(after - 1, len(lines)):
        if pattern.search(lines[i]):
            return i + 1
    return after


def _json_testcase(records: Records, testcase: dict[str, Any], name: str, line_no: int, fatal: Any) -> None:
    status = testcase.get("status")
    if status == "Waived":
        return
    if status == "Passed":
        state, detail = "pass", None
    elif status == "Running":
        state, detail = ("error", str(fatal).strip()) if fatal else ("incomplete", f"no results recorded for {name}")
    else:
        state, detail = "error", str(testcase.get("error") or f"testcase status {status}")
    run_id = records.run(None, TEST, state, line_no, {"testcase": name}, detail=detail)
    matrix = testcase.get("bandwidth_matrix")
    if not matrix:
        return
    description = testcase.get("bandwidth_description")
    if not isinstance(description, str):
        raise Malformed(line_no, f"testcase {name} has a bandwidth_matrix without its bandwidth_description")
    axes = _axes(description, line_no)
    for suffix, block in _json_blocks(matrix, axes, name, line_no):
        _json_cells(records, run_id, name + suffix, block, axes, line_no)
    if isinstance(testcase.get("sum"), int | float):
        records.measure(
            None, TEST, f"{name}{axes.suffix}_sum", testcase["sum"] * axes.scale, axes.unit, line_no, run_id=run_id
        )


def _json_blocks(matrix: list[list[str]], axes: _Axes, name: str, line_no: int) -> list[tuple[str, list[list[str]]]]:
    """Split a matrix into the ones nvbandwidth appended to it; each with its metric suffix.

    JSON output appends every matrix of a testcase to one `bandwidth_matrix` and keeps the last
    description: bidirectional device-to-device testcases give Read1/Write1, Read2/Write2 and Total
    blocks of square GPU x GPU matrices.
    """
    width = len(matrix[0])
    if axes.row != "GPU" or len(matrix) <= width or width < 2:
        return [(axes.suffix, matrix)]
    if len(matrix) % width or not axes.suffix:
        raise Malformed(line_no, f"{name}: bandwidth_matrix has {len(matrix)} rows for {width} GPU columns")
    count = len(matrix) // width
    op = "read" if "read" in name else "write"
    suffixes = [f"_{op}{k + 1}" for k in range(count - 1)] + [axes.suffix]
    return [(suffixes[k], matrix[k * width : (k + 1) * width]) for k in range(count)]


def _json_cells(records: Records, run_id: int, metric: str, matrix: list[list[str]], axes: _Axes, line_no: int) -> None:
    pairs = axes.row == "GPU" and len(matrix) > 1
    params: dict[str, Any] = {"testcase_kind": axes.kind}
    for row, cells in enumerate(matrix):
        row_params = params if pairs or len(matrix) == 1 else {**params, "cpu": str(row)}
        for column, text in enumerate(cells):
            value = _cell(str(text), line_no)
            if value is None:
                continue
            device = gpu_ref(column)
            if pairs:
                src, dst = (column, row) if axes.arrow == "<-" else (row, column)
                device = f"{gpu_ref(src)}->{gpu_ref(dst)}"
            records.measure(device, TEST, metric, value * axes.scale, axes.unit, line_no, row_params, run_id)
