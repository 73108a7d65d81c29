"""HPL and HPL-NVIDIA benchmark output (`xhpl` stdout), read as one document.

Layouts (`files.format`):
  hpl         netlib HPL 2.x and builds on it (rocHPL ...): the banner `HPLinpack 2.3 -- High-Performance
              Linpack benchmark`, the parameter block (`N : 384000`, `NB`, `P`, `Q`, ...), result tables
              `T/V N NB P Q Time Gflops` with rows such as `WR11C2R4 384000 384 1 2 4645.37 8.1261e+03`,
              `HPL_pdgesv() start time ...` / `end time ...`, the scaled residual check
              `||Ax-b||_oo/(eps*(...)*N)= 4.12e-03 ...... PASSED|FAILED`, the `Finished N tests` summary,
              and the `Column=... Fraction=... Gflops=...` progress lines of GPU builds.
  hpl_nvidia  HPL-NVIDIA (NVIDIA HPC-Benchmarks): the banner `HPL-NVIDIA 24.6.0 -- NVIDIA accelerated HPL
              benchmark` before the HPL 2.1 one, rows `WC0 92160 1024 1 1 30.73 1.698e+04 ( 1.698e+04)`
              with Gflops per GPU, `Prog= ... GF_per= ...` progress lines, and failures such as
              `HPL ERROR: CUBLAS initialization failed` followed by mpirun aborts.

Rows: test `hpl`, one test_run per result row (device null, the run is the node's), with params
{N, NB, P, Q, variant (the T/V code), implementation (`hpl` | `hpl-nvidia`), version (when printed)}.
Status: pass when the residual check PASSED, fail when it FAILED, error on an HPL ERROR, CUDA/CUBLAS
failure or MPI abort (a run that printed no result row then gets one error run quoting the error line),
incomplete when the output ends before the result or its residual check. `started`/`ended` come from
the `HPL_pdgesv()` lines (UTC unless they carry a zone).
Measurements (node-level, params as the run's): `gflops` (Gflops), `gflops_per_gpu` (Gflops, HPL-NVIDIA),
`time` (s), `residual` (unit `1`, the scaled residual).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from triage.sources.base import ParseContext, Sniffed
from triage.sources.document import DocumentSource
from triage.sources.records import GFLOPS, SECONDS, Malformed, Records

KIND = "hpl"
TEST = "hpl"
RESIDUAL_UNIT = "1"

_NVIDIA_BANNER = re.compile(r"^\s*HPL-NVIDIA\s+(\d+(?:\.\d+)+)\s+--")
_HPL_BANNER = re.compile(r"^\s*HPLinpack\s+(\d+(?:\.\d+)*)\s+--\s+High-Performance Linpack benchmark")
_TABLE_HEAD = re.compile(r"^T/V\s+N\s+NB\s+P\s+Q\s+Time\s+Gflops")
_PARAM = re.compile(r"^(N|NB|P|Q)\s*:\s*(\d+(?:\s+\d+)*)\s*$")
_ROW_START = re.compile(r"^W[RC][0-9A-Z]*\s+\d")
_ROW = re.compile(
    r"^(?P<variant>W[RC][0-9A-Z]*)\s+(?P<N>\d+)\s+(?P<NB>\d+)\s+(?P<P>\d+)\s+(?P<Q>\d+)\s+"
    r"(?P<time>\S+)\s+(?P<gflops>\S+)(?:\s+\(\s*(?P<per_gpu>\S+?)\s*\))?\s*$"
)
_PDGESV_TIME = re.compile(r"^HPL_pdgesv\(\) (start|end) time\s+(.+?)\s*$")
_CTIME = re.compile(
    r"^(?:[A-Z][a-z]{2}\s+)?(?P<mon>[A-Z][a-z]{2})\s+(?P<day>\d{1,2})\s+(?P<hms>\d{2}:\d{2}:\d{2})"
    r"(?:\s+(?P<zone>[A-Za-z]+|[+-]\d{4}))?\s+(?P<year>\d{4})$"
)
_RESIDUAL_START = "||Ax-b||_oo/(eps"
_RESIDUAL = re.compile(r"^\|\|Ax-b\|\|_oo/\(eps.*=\s*(?P<value>\S+)\s+\.{2,}\s+(?P<verdict>PASSED|FAILED)\s*$")
_PROGRESS = re.compile(r"Column=\s*\d+\s+Fraction=|^\s*Prog=\s*[\d.]+%")
_SUMMARY = re.compile(r"^(?:Finished\s+\d+\s+tests|End of Tests\.)")
# The failure itself (quoted as the detail) and the launcher's aftermath of one.
_FAILURE = re.compile(r"^HPL ERROR|\bCUBLAS\b.*\b(?:failed|error)|^CUDA error|\bCUDA_ERROR_[A-Z_]+|\bcudaError[A-Z]\w+")
_ABORT = re.compile(
    r"^mpirun (?:detected|noticed) |MPI_ABORT was invoked|\*\*\* Process received signal \*\*\*|"
    r"^srun: error: |^Primary job\s+terminated normally, but"
)
_UTC_ZONES = {"UTC", "GMT", "Z"}


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """HPL output when a sample line is the HPL-NVIDIA or HPLinpack banner or an HPL result table head."""
    if any(_NVIDIA_BANNER.match(line) for line in sample):
        return Sniffed(KIND, "hpl_nvidia")
    if any(_HPL_BANNER.match(line) or _TABLE_HEAD.match(line) for line in sample):
        return Sniffed(KIND, "hpl")
    return None


def parser(sniffed: Sniffed, ctx: ParseContext) -> HplSource:
    """Parser for one HPL output file."""
    return HplSource(ctx, sniffed.format)


class HplSource(DocumentSource):
    """HPL output: one test run per result row, read once the whole file is in."""

    KIND = KIND

    def read(self, lines: list[str], records: Records) -> None:
        """Add the runs and measurements of every HPL invocation in the file."""
        reader = _Reader()
        try:
            for line_no, line in enumerate(lines, start=1):
                reader.feed(line_no, line)
        except Malformed:
            reader.emit(records, complete=False)
            raise
        reader.emit(records, complete=True)


@dataclass
class _Test:
    """One result row and what HPL printed about it afterwards."""

    line_no: int
    params: dict[str, Any]
    values: dict[str, float]
    started: datetime | None = None
    ended: datetime | None = None
    residual: float | None = None
    verdict: str | None = None
    verdict_line: str | None = None
    residual_at: int | None = None


@dataclass
class _Invocation:
    """One run of xhpl: from its banner to the next banner or the end of the file."""

    line_no: int
    implementation: str
    version: str | None
    parameters: dict[str, list[int]] = field(default_factory=dict)
    tests: list[_Test] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)  # HPL/CUDA error lines
    aborts: list[tuple[int, str]] = field(default_factory=list)  # MPI/launcher abort lines
    finished: bool = False
    progress: tuple[int, str] | None = None  # last progress line after the last result

    def base_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"implementation": self.implementation}
        if self.version:
            params["version"] = self.version
        return params

    def error_after(self, line_no: int) -> tuple[int, str] | None:
        """The line a person would quote for a failure after `line_no`: the HPL/CUDA error, else the abort."""
        for lines in (self.failures, self.aborts):
            for found in lines:
                if found[0] > line_no:
                    return found
        return None


class _Reader:
    """Follows the output line by line, one `_Invocation` per banner."""

    def __init__(self) -> None:
        self.invocations: list[_Invocation] = []

    def current(self, line_no: int) -> _Invocation:
        if not self.invocations:
            self.invocations.append(_Invocation(line_no, "hpl", None))
        return self.invocations[-1]

    def feed(self, line_no: int, line: str) -> None:
        if _PROGRESS.search(line):
            if self.invocations:
                self.invocations[-1].progress = (line_no, line.strip())
            return
        if m := _NVIDIA_BANNER.match(line):
            self.invocations.append(_Invocation(line_no, "hpl-nvidia", m.group(1)))
            return
        if m := _HPL_BANNER.match(line):
            last = self.invocations[-1] if self.invocations else None
            # HPL-NVIDIA prints the HPL 2.1 banner right below its own: same invocation.
            if not (last and last.implementation == "hpl-nvidia" and not last.parameters and not last.tests):
                self.invocations.append(_Invocation(line_no, "hpl", m.group(1)))
            return
        self._content(line_no, line)

    def _content(self, line_no: int, line: str) -> None:
        if m := _PARAM.match(line):
            self.current(line_no).parameters[m.group(1)] = [int(v) for v in m.group(2).split()]
        elif _ROW_START.match(line):
            self._row(line_no, line)
        elif m := _PDGESV_TIME.match(line):
            test = self._last_test()
            if test is not None:
                stamp = _parse_ctime(m.group(2), line_no)
                if m.group(1) == "start":
                    test.started = stamp
                else:
                    test.ended = stamp
        elif line.startswith(_RESIDUAL_START):
            self._residual(line_no, line)
        elif _SUMMARY.match(line):
            self.current(line_no).finished = True
        elif _FAILURE.search(line):
            self.current(line_no).failures.append((line_no, line.strip()))
        elif _ABORT.search(line):
            self.current(line_no).aborts.append((line_no, line.strip()))

    def _last_test(self) -> _Test | None:
        return self.invocations[-1].tests[-1] if self.invocations and self.invocations[-1].tests else None

    def _row(self, line_no: int, line: str) -> None:
        m = _ROW.match(line)
        values = _numbers(m, ("time", "gflops", "per_gpu")) if m else None
        if m is None or values is None:
            raise Malformed(line_no, f"HPL result row is not `T/V N NB P Q Time Gflops`: {line.strip()}")
        inv = self.current(line_no)
        params = {key: int(m.group(key)) for key in ("N", "NB", "P", "Q")}
        params["variant"] = m.group("variant")
        params.update(inv.base_params())
        inv.tests.append(_Test(line_no, params, values))
        inv.progress = None

    def _residual(self, line_no: int, line: str) -> None:
        m = _RESIDUAL.match(line)
        if m is None:
            raise Malformed(line_no, f"HPL residual check without a PASSED/FAILED verdict: {line.strip()}")
        test = self._last_test()
        if test is None or test.verdict is not None:
            return
        test.residual = _finite(m.group("value"))
        test.verdict = m.group("verdict")
        test.verdict_line = line.strip()
        test.residual_at = line_no

    def emit(self, records: Records, complete: bool) -> None:
        """Add the runs and measurements read so far; `complete` when the whole file was read."""
        for inv in self.invocations:
            _emit_invocation(inv, records, complete)


def _emit_invocation(inv: _Invocation, records: Records, complete: bool) -> None:
    for test in inv.tests:
        status, detail = _status(test, inv)
        run_id = records.run(
            None, TEST, status, test.line_no, test.params, detail=detail, started=test.started, ended=test.ended
        )
        ts = test.ended
        for metric, unit in (("gflops", GFLOPS), ("gflops_per_gpu", GFLOPS), ("time", SECONDS)):
            records.measure(None, TEST, metric, test.values.get(metric), unit, test.line_no, test.params, run_id, ts)
        records.measure(None, TEST, "residual", test.residual, RESIDUAL_UNIT, test.residual_at, test.params, run_id, ts)
    if complete and (not inv.tests or inv.tests[-1].verdict is not None):
        _emit_unfinished(inv, records)


def _emit_unfinished(inv: _Invocation, records: Records) -> None:
    """A run for the test after the last result, when the output shows one started and did not finish."""
    last = inv.tests[-1].line_no if inv.tests else inv.line_no
    error = inv.error_after(last)
    if error is not None:
        records.run(None, TEST, "error", error[0], _block_params(inv), detail=error[1])
    elif not inv.finished and (not inv.tests or inv.progress is not None):
        detail = "output ends before the HPL result"
        if inv.progress is not None:
            detail += f" (last progress: {inv.progress[1]})"
        line_no = inv.progress[0] if inv.progress else inv.line_no
        records.run(None, TEST, "incomplete", line_no, _block_params(inv), detail)


def _status(test: _Test, inv: _Invocation) -> tuple[str, str | None]:
    if test.verdict == "PASSED":
        return "pass", None
    if test.verdict == "FAILED":
        return "fail", test.verdict_line
    error = inv.error_after(test.line_no)
    if error is not None:
        return "error", error[1]
    if test is not inv.tests[-1] or inv.finished:
        return "incomplete", "no residual check printed for this result"
    return "incomplete", "output ends before the residual check"


def _block_params(inv: _Invocation) -> dict[str, Any]:
    """Params of a run known only from the parameter block: the values that were not swept."""
    params: dict[str, Any] = {key: values[0] for key, values in inv.parameters.items() if len(values) == 1}
    params.update(inv.base_params())
    return params


def _numbers(m: re.Match[str], groups: tuple[str, ...]) -> dict[str, float] | None:
    """The named float groups of a row (`per_gpu` as `gflops_per_gpu`); None if one does not parse."""
    out: dict[str, float] = {}
    for group in groups:
        text = m.group(group)
        if text is None:
            continue
        try:
            value = float(text)
        except ValueError:
            return None
        out["gflops_per_gpu" if group == "per_gpu" else group] = value
    return out


def _finite(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _parse_ctime(text: str, line_no: int) -> datetime | None:
    """A ctime() stamp (`Fri Feb  3 16:33:45 2023`) as naive UTC; None for a zone that cannot be converted."""
    m = _CTIME.match(text.strip())
    if m is None:
        raise Malformed(line_no, f"HPL_pdgesv() time not understood: {text.strip()}")
    stamp = datetime.strptime(f"{m['mon']} {m['day']} {m['year']} {m['hms']}", "%b %d %Y %H:%M:%S")
    zone = m["zone"]
    if zone is None or zone.upper() in _UTC_ZONES:
        return stamp
    if zone[0] in "+-":
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
        return stamp - offset if zone[0] == "+" else stamp + offset
    return None
