"""nccl-tests outputs (`all_reduce_perf`, `all_gather_perf`, `reduce_scatter_perf`, `alltoall_perf`,
`broadcast_perf`, `reduce_perf`, `sendrecv_perf`, `gather_perf`, `scatter_perf`, `hypercube_perf`).

A file holds one run per `# nThread ... minBytes ... maxBytes ...` header (several runs may follow
one another), each with its `# Using devices` rank lines, a result table and a footer
(`# Out of bounds values : N OK|FAILED`, `# Avg bus bandwidth : X [OK|FAILED]`). NCCL_DEBUG lines
(`host:pid:tid [dev] NCCL INFO|WARN ...`) and launcher messages (mpirun, srun) may be interleaved
anywhere; every line stays an event.

Layouts (`Sniffed.format`):
  error_column       older tables with an `error` column and per-collective columns: no `redop`
                     for all_gather, `root` alone for broadcast, blank `redop` cells for alltoall
  wrong_column       `#wrong` column, `redop` and `root` for every collective, `Group` in rank lines
  collective_banner  current: `# Collective test starting: X_perf` ... `concluded`, `#iters`, and
                     optional per-iteration (`i_min` ... `i_cv%`) and `timestamp` columns
  table_only         a result table (column header or rows) without the `# nThread` header
  launch_failure     no table: the launcher failed (OpenMPI "not enough slots" ...) naming the binary

The table columns are read from the column header of each run, so any mix of the columns above
parses; rows are split into tokens and converted with polars over the run's whole row block.

Assets: a run on one node with full bus ids in its rank lines (`device 3 [0000:5d:00]`) gives one
GPU asset per rank (index, PCI address, model), so GPUs other tools name by index resolve even
without an nvidia-smi inventory.

test = `nccl_<collective>`: the collective is read from the content (`Collective test starting:`,
a command line naming the binary), else from the file name, else inferred from the table (redop
and root cells, size/count ratio and busbw/algbw factor as nccl-tests computes them); when still
ambiguous the test is `nccl_unknown` and the run's detail says why. Device: null (node level).

Measurements, per row and placement (params: size (bytes), count, type, redop, root when printed,
placement out_of_place|in_place): `time` or `cputime` (us), `algbw`, `busbw` (GB/s), `wrong`
(count; N/A cells skipped), with per-iteration columns `time_min`, `time_max`, `time_p99` (us),
`time_cv` (%). Per run: `avg_busbw` (GB/s), `oob_values` (count).

test_runs status: pass (footer present, nothing wrong), fail (`#wrong` > 0, out-of-bounds values
or average bandwidth FAILED), error (an NCCL/CUDA/launcher failure line; detail = that line),
incomplete (no `Avg bus bandwidth` footer; detail = the last size reached).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

import polars as pl

from triage.sources.base import Fixups, ParseContext, Sniffed
from triage.sources.document import DocumentSource
from triage.sources.kernel_log import local_to_utc
from triage.sources.records import COUNT, GBPS, MICROSECONDS, PERCENT, Malformed, Records, normalize_bdf, table_frame

KIND = "nccl_tests"

COLLECTIVES = (
    "all_reduce", "all_gather", "reduce_scatter", "alltoall", "alltoallv", "broadcast",
    "reduce", "sendrecv", "gather", "scatter", "hypercube",
)  # fmt: skip
_BINARY = r"\b(" + "|".join(COLLECTIVES) + r")_perf\b"
_HEADER = r"^#\s*(?:nThread\s+\d+\s+nGpus\s+\d+\s+)?minBytes\s+\d+\s+maxBytes\s+\d+"
_BANNER = r"^#\s*Collective test starting:"
_VERSION = r"^#\s*nccl-tests version\s"
_COLUMNS = r"^#\s*size\s+count\s+type\b.*\balgbw\s+busbw\b"
_OOB = r"^#\s*Out of bounds values\s*:\s*\d+"
_AVG = r"^#\s*Avg bus bandwidth\s*:\s*-?(?:\d[\d.]*(?:[eE][-+]?\d+)?|nan|inf)(?:\s|$)"
_CONCLUDED = r"^#\s*Collective test concluded:"
_ROW = r"^\s*\d+\s+\d+\s+[A-Za-z]\w*(?:\s|$)"
_RANK = (
    r"^#\s+Rank\s+(?P<rank>\d+)(?:\s+Group\s+\d+)?(?:\s+Pid\s+\d+)?\s+on\s+(?P<host>\S+)\s+"
    r"device\s+(?P<device>\d+)\s+\[(?P<bus_id>[^\]]*)\]\s*(?P<model>.*?)\s*$"
)
_NCCL_WARN = r"^\S+:\d+:\d+ \[\d+\] NCCL WARN\b"
_NCCL_LINE = r"^\S+:\d+:\d+ \[\d+\] NCCL (?:INFO|WARN)\b"
_NCCL_VERSION = r"\bNCCL version (\S+)"
_TYPES = {
    "int8": 1, "uint8": 1, "char": 1, "f8e4m3": 1, "f8e5m2": 1, "fp8_e4m3": 1, "fp8_e5m2": 1,
    "half": 2, "float16": 2, "bfloat16": 2,
    "int32": 4, "uint32": 4, "int": 4, "float": 4, "float32": 4,
    "int64": 8, "uint64": 8, "double": 8, "float64": 8,
}  # fmt: skip
# A result row with a known element type, for files that are only a table amid NCCL_DEBUG noise.
_TYPED_ROW = re.compile(r"^\s+\d+\s+\d+\s+(?:" + "|".join(_TYPES) + r")\s+\S")

# Lines saying the test or its launcher died, most specific first; `True` joins the next line,
# where the launcher wraps its sentence.
_FAILURES: tuple[tuple[str, bool], ...] = (
    (r"Test (?:NCCL|CUDA) failure \S+:\d+", False),
    (r"Test failure \S+:\d+", False),
    (r"MPI_ABORT was invoked", False),
    (r"(?:mpirun|prterun) noticed that process rank \d+", False),
    (r"slurmstepd: error: \*\*\* (?:STEP|JOB) .* CANCELLED", False),
    (r"srun: error: .*Exited with exit code", False),
    (r"\] Signal: \S.* \(\d+\)$", False),
    (r"Primary job\s+terminated normally, but \d+ process", True),
    (r"(?:mpirun|prterun) detected that one or more processes exited with non-zero status", True),
    (r"There are not enough slots available in the system", True),
    (r"(?:mpirun|prterun) was unable to launch the specified application", True),
)
# The launcher's lines: all but the first two, which nccl-tests prints itself.
_LAUNCHER_FAILURE = re.compile("|".join(pattern for pattern, _ in _FAILURES[2:]))
_STRONG = re.compile(
    "|".join([_HEADER, _BANNER, _COLUMNS, _OOB, _AVG, _FAILURES[0][0], r"^ \.\. \S+ pid \d+: Test failure \S+:\d+"])
)

PLACEMENTS = ("out_of_place", "in_place")
_TAIL_METRICS = {
    "time": ("time", MICROSECONDS),
    "cputime": ("cputime", MICROSECONDS),
    "algbw": ("algbw", GBPS),
    "busbw": ("busbw", GBPS),
    "#wrong": ("wrong", COUNT),
    "error": ("wrong", COUNT),
    "i_min": ("time_min", MICROSECONDS),
    "i_max": ("time_max", MICROSECONDS),
    "i_p99": ("time_p99", MICROSECONDS),
    "i_cv%": ("time_cv", PERCENT),
}
# The columns of a table printed without its column header (the current layout).
_CURRENT_COLUMNS = ("size", "count", "type", "redop", "root", *("time", "algbw", "busbw", "#wrong") * 2)
_REQUIRED = ("time", "cputime", "algbw", "busbw")  # cells that are always numbers


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """nccl-tests output when the sample holds its header, banner, column header, footer or failure lines.

    A file that is only NCCL_DEBUG lines and result rows is claimed too, and so is a launcher
    failure (mpirun, srun) that names an nccl-tests binary.
    """
    if any(_STRONG.search(line) for line in sample):
        return Sniffed(KIND, _layout_name(sample), _sample_host(sample))
    rows = sum(1 for line in sample if _TYPED_ROW.match(line))
    if rows >= 2 and any(re.match(_NCCL_LINE, line) for line in sample):
        return Sniffed(KIND, "table_only", _sample_host(sample))
    if any(_LAUNCHER_FAILURE.search(line) for line in sample) and any(re.search(_BINARY, line) for line in sample):
        return Sniffed(KIND, "launch_failure")
    return None


def _layout_name(sample: list[str]) -> str:
    text = "\n".join(sample)
    columns = re.search(_COLUMNS + ".*$", text, re.M)
    if re.search(_BANNER, text, re.M) or (columns and "#iters" in columns.group(0)):
        return "collective_banner"
    if columns and re.search(r"\berror\b", columns.group(0)):
        return "error_column"
    if re.search(_HEADER, text, re.M):
        return "wrong_column"
    if columns or re.search(f"{_OOB}|{_AVG}", text, re.M) or any(_TYPED_ROW.match(line) for line in sample):
        return "table_only"
    return "launch_failure"


def _sample_host(sample: list[str]) -> str | None:
    """The one host all ranks of the sample run on (not `localhost` or a `{placeholder}`)."""
    rank = re.compile(_RANK)
    hosts = {m.group("host") for line in sample if (m := rank.match(line))}
    if len(hosts) != 1:
        return None
    host = hosts.pop()
    return None if host == "localhost" or "{" in host else host


@dataclass(frozen=True)
class _Column:
    """One column of the result table after `type` and its descriptors."""

    label: str
    metric: str | None  # measurement name; None for columns that are not measured (#iters)
    unit: str | None
    placement: str | None
    width: int = 1  # tokens a cell takes (a timestamp is two)


@dataclass(frozen=True)
class _Layout:
    """The columns of one run's table, from its column header."""

    descriptors: tuple[str, ...]  # `redop` and/or `root`, between `type` and the timings
    tail: tuple[_Column, ...]

    @property
    def tail_tokens(self) -> int:
        return sum(c.width for c in self.tail)


def _layout(header: str | None) -> _Layout:
    """The table layout a column header announces (the current layout when there is none)."""
    labels = header.lstrip("#").split() if header else []
    if labels[:3] != ["size", "count", "type"]:
        labels = list(_CURRENT_COLUMNS)
    descriptors = tuple(label for label in labels[3:5] if label in ("redop", "root"))
    tail: list[_Column] = []
    timings = 0
    for label in labels[3 + len(descriptors) :]:
        if label in ("time", "cputime"):
            timings += 1
        known = _TAIL_METRICS.get(label)
        placement = PLACEMENTS[min(timings, 2) - 1] if known and timings else None
        metric, unit = known if placement else (None, None)
        if metric is not None and any((c.metric, c.placement) == (metric, placement) for c in tail):
            raise ValueError(f"column header names {label} twice for the {placement.replace('_', '-')} results")
        tail.append(_Column(label, metric, unit, placement, 2 if label == "timestamp" else 1))
    return _Layout(descriptors, tuple(tail))


@dataclass
class _Run:
    """Line indexes (0-based) of one run's parts."""

    start: int
    end: int  # exclusive
    first: int  # the line the run is reported at: its header, or its first table or failure line
    header: int | None = None
    columns: int | None = None
    table_end: int = 0
    footer_end: int = 0  # after the last footer line (the name of the next run's binary comes later)
    oob: int | None = None
    avg: int | None = None


@dataclass
class _Outcome:
    """What a run's rows say, for its status."""

    rows: pl.DataFrame
    cut_line: int | None = None  # line number of a last row cut off (end of file, process died)
    bad_line: int | None = None  # line number of a row that does not fit the table
    bad_reason: str = ""


class NcclTestsSource(DocumentSource):
    """`Parser` for nccl-tests output: runs, per-row measurements and verdicts."""

    KIND = KIND

    def __init__(self, ctx: ParseContext, fmt: str | None = None) -> None:
        super().__init__(ctx, fmt)
        self._row_frames: list[pl.DataFrame] = []
        self._gpus_seen: set[str] = set()  # PCI addresses already given as assets (one per file)

    def finish(self) -> Fixups:
        """The document's rows, the result rows' measurements merged in."""
        fixups = super().finish()
        if self._row_frames:
            frames = [*self._row_frames]
            if "measurements" in fixups.tables:
                frames.append(fixups.tables["measurements"])
            fixups.tables["measurements"] = pl.concat(frames, how="vertical")
        return fixups

    def read(self, lines: list[str], records: Records) -> None:
        """Add one test run per header, its result rows and footer values."""
        frame = _classify(lines)
        markers = frame.filter(pl.col("kind").is_not_null() & ~pl.col("kind").is_in(["row", "rank"]))
        marks = list(zip(markers["i"].to_list(), markers["kind"].to_list(), strict=True))
        runs = _segment(marks, len(lines), frame)
        for k, run in enumerate(runs):
            name_from = runs[k - 1].footer_end if k else 0
            self._read_run(frame, lines, run, name_from, records)

    def _read_run(self, frame: pl.DataFrame, lines: list[str], run: _Run, name_from: int, records: Records) -> None:
        block = frame.slice(run.start, run.end - run.start)
        try:
            layout = _layout(lines[run.columns] if run.columns is not None else None)
        except ValueError as exc:
            raise Malformed(run.columns + 1 if run.columns is not None else None, str(exc)) from None
        after = run.columns if run.columns is not None else -1
        table = block.filter((pl.col("kind") == "row") & pl.col("i").is_between(after + 1, run.table_end, "left"))
        finished = run.oob is not None or run.avg is not None
        outcome = _parse_rows(table, layout, self.ctx.timezone, cut_allowed=not finished)
        params = _run_params(lines, block, run)
        nranks = params.get("nranks")
        collective, why = _collective(frame, run, name_from, self.ctx.path, outcome.rows, layout, nranks)
        test = f"nccl_{collective or 'unknown'}"
        status, detail = _status(lines, block, run, outcome, params.get("maxBytes"))
        if outcome.bad_line is not None:
            status, detail = "error", f"line {outcome.bad_line}: {outcome.bad_reason}"
        if why:
            detail = f"{detail}; collective unknown: {why}" if detail else f"collective unknown: {why}"
        started, ended = _time_span(outcome.rows)
        run_id = records.run(
            None, test, status, run.first + 1, params=params, detail=detail, started=started, ended=ended
        )
        _rank_assets(params, run.first + 1, records, self._gpus_seen)
        if outcome.rows.height:
            self._row_frames.append(_measurements(outcome.rows, layout, test, run_id))
        if outcome.bad_line is not None:
            raise Malformed(outcome.bad_line, outcome.bad_reason)
        if run.oob is not None:
            records.measure(None, test, "oob_values", _number(lines[run.oob]), COUNT, run.oob + 1, run_id=run_id)
        if run.avg is not None and not math.isnan(avg := _number(lines[run.avg])):  # -nan when no size ran
            records.measure(None, test, "avg_busbw", avg, GBPS, run.avg + 1, run_id=run_id)


def parser(sniffed: Sniffed, ctx: ParseContext) -> NcclTestsSource:
    """Parser for one nccl-tests output file."""
    return NcclTestsSource(ctx, sniffed.format)


# --- lines and runs -------------------------------------------------------------------------------


def _classify(lines: list[str]) -> pl.DataFrame:
    """Every line with its index `i` (0-based), its kind (header, row, footer ...) and the binary it names."""
    line = pl.col("line")
    failure = pl.lit(None, dtype=pl.Int32)
    for rank, (pattern, _) in reversed(list(enumerate(_FAILURES))):
        failure = pl.when(line.str.contains(pattern)).then(pl.lit(rank, dtype=pl.Int32)).otherwise(failure)
    kind = pl.lit(None, dtype=pl.String)
    for name, pattern in reversed(
        [
            ("header", _HEADER),
            ("banner", _BANNER),
            ("version", _VERSION),
            ("columns", _COLUMNS),
            ("oob", _OOB),
            ("avg", _AVG),
            ("concluded", _CONCLUDED),
            ("row", _ROW),
            ("rank", _RANK),
            ("warn", _NCCL_WARN),
        ]
    ):
        kind = pl.when(line.str.contains(pattern)).then(pl.lit(name)).otherwise(kind)
    return (
        pl.DataFrame({"line": pl.Series(lines, dtype=pl.String)})
        .with_row_index("i")
        .with_columns(pl.col("i").cast(pl.Int64), failure=failure)
        .with_columns(
            kind=pl.when(pl.col("failure").is_not_null() & kind.is_null()).then(pl.lit("failure")).otherwise(kind),
            binary=line.str.extract(_BINARY, 1),
        )
    )


def _segment(marks: list[tuple[int, str]], n_lines: int, frame: pl.DataFrame) -> list[_Run]:
    """The runs of a file: one per header, with the banner and version lines just before it."""
    starts: list[int] = []
    previous_header = -1
    for pos, (i, kind) in enumerate(marks):
        if kind != "header":
            continue
        start, back = i, pos - 1
        while back >= 0 and marks[back][1] in ("banner", "version") and marks[back][0] > previous_header:
            start, back = marks[back][0], back - 1
        starts.append(start)
        previous_header = i
    if not starts:
        # Without a header the whole file is one run, reported where its table or failure starts.
        first = [i for i, kind in marks if kind in ("columns", "oob", "avg", "failure")]
        rows = frame.filter(pl.col("kind") == "row")["i"]
        candidates = first + ([int(rows[0])] if len(rows) else [])
        return [_run_parts(_Run(0, n_lines, min(candidates)), marks)] if candidates else []
    runs = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else n_lines
        runs.append(_run_parts(_Run(start, end, start), [(i, kind) for i, kind in marks if start <= i < end]))
    return runs


def _run_parts(run: _Run, marks: list[tuple[int, str]]) -> _Run:
    """Where the header, column header, table and footer of a run are."""
    for i, kind in marks:
        if kind == "header" and run.header is None:
            run.header = i
        elif kind == "columns" and run.columns is None:
            run.columns = i
    after = run.columns if run.columns is not None else (run.header if run.header is not None else run.first - 1)
    footer = [(i, kind) for i, kind in marks if i > after and kind in ("oob", "avg", "concluded")]
    run.table_end = footer[0][0] if footer else run.end
    run.oob = next((i for i, kind in footer if kind == "oob"), None)
    run.avg = next((i for i, kind in footer if kind == "avg"), None)
    run.footer_end = footer[-1][0] + 1 if footer else run.end
    return run


# --- result rows -----------------------------------------------------------------------------------


def _parse_rows(table: pl.DataFrame, layout: _Layout, timezone: str, cut_allowed: bool) -> _Outcome:
    """The run's result rows as typed columns; the first row that does not fit, if any.

    A last row that does not fit, in a run without footer, is where the output was cut off
    (the end of the file, or the process died); anywhere else it is a row gone wrong.
    """
    if table.height == 0:
        return _Outcome(_empty_rows())
    tokens = table.select("i", tok=pl.col("line").str.extract_all(r"\S+"), line_no=pl.col("i") + 1).with_columns(
        n=pl.col("tok").list.len()
    )
    # Rows of one table all have the same number of cells; a cut or garbled row has another.
    counts = tokens["n"].value_counts().sort(["count", "n"], descending=True)
    expected = int(counts["n"][0])
    n_desc = expected - 3 - layout.tail_tokens
    tok = pl.col("tok")
    exprs: dict[str, pl.Expr] = {
        "size": tok.list.get(0, null_on_oob=True).cast(pl.Int64, strict=False),
        "count": tok.list.get(1, null_on_oob=True).cast(pl.Int64, strict=False),
        "type": tok.list.get(2, null_on_oob=True),
    }
    exprs.update(_descriptors(layout.descriptors, n_desc))
    checks = [pl.col("n") == expected, pl.col("size").is_not_null(), pl.col("count").is_not_null()]
    position = 3 + max(n_desc, 0)
    for column in layout.tail:
        cell = tok.list.get(position, null_on_oob=True)
        if column.label == "timestamp":
            stamp = pl.concat_str([cell, tok.list.get(position + 1, null_on_oob=True)], separator=" ")
            local = stamp.str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False)
            exprs["ts"] = local_to_utc(local, timezone).dt.cast_time_unit("us")
        elif column.metric:
            value = cell.cast(pl.Float64, strict=False)
            exprs[f"{column.metric}_{column.placement}"] = value
            checks.append(value.is_not_null() | ((cell == "N/A") & (column.metric not in _REQUIRED)))
        position += column.width
    parsed = (
        tokens.with_columns(**{name: expr for name, expr in exprs.items()})
        .with_columns(ok=pl.all_horizontal(checks).fill_null(False) & (0 <= n_desc <= len(layout.descriptors)))
        .drop("tok")
    )
    bad = parsed.filter(~pl.col("ok"))
    if bad.height == 0:
        return _Outcome(parsed.drop("ok"))
    first = bad.row(0, named=True)
    good = parsed.filter(pl.col("i") < first["i"]).drop("ok")
    if cut_allowed and first["i"] == parsed["i"][-1]:
        return _Outcome(good, cut_line=first["line_no"])
    if first["n"] != expected:
        reason = f"result row has {first['n']} cells where the table's other rows have {expected}"
    elif not 0 <= n_desc <= len(layout.descriptors):
        reason = f"result row has {first['n']} cells, which does not fit the column header"
    else:
        reason = "result row has a cell that is not a number"
    return _Outcome(good, bad_line=first["line_no"], bad_reason=reason)


def _descriptors(columns: tuple[str, ...], n_desc: int) -> dict[str, pl.Expr]:
    """`redop` and `root` cells; a blank cell (old alltoall's redop) leaves fewer tokens than columns."""
    tok = pl.col("tok")
    if n_desc <= 0 or not columns:
        return {}
    if n_desc >= len(columns):
        cells = {name: tok.list.get(3 + k, null_on_oob=True) for k, name in enumerate(columns)}
    else:
        cell = tok.list.get(3, null_on_oob=True)
        numeric = cell.str.contains(r"^-?\d+$")
        cells = {
            "redop": pl.when(~numeric).then(cell) if "redop" in columns else None,
            "root": pl.when(numeric).then(cell) if "root" in columns else None,
        }
    out = {name: expr for name, expr in cells.items() if expr is not None}
    if "root" in out:
        out["root"] = out["root"].cast(pl.Int64, strict=False)
    return out


def _empty_rows() -> pl.DataFrame:
    return pl.DataFrame(schema={"i": pl.Int64, "line_no": pl.Int64, "size": pl.Int64, "count": pl.Int64})


def _measurements(rows: pl.DataFrame, layout: _Layout, test: str, run_id: int) -> pl.DataFrame:
    """One measurement per row, placement and metric, in the columns of `measurements`."""
    measured = [c for c in layout.tail if c.metric]
    columns = pl.DataFrame(
        {
            "column": [f"{c.metric}_{c.placement}" for c in measured],
            "order": list(range(len(measured))),
            "metric": [c.metric for c in measured],
            "unit": [c.unit for c in measured],
            "placement": [c.placement for c in measured],
        }
    )
    keys = [key for key in ("count", "redop", "root", "size", "type") if key in rows.columns]
    keys = [key for key in keys if rows[key].null_count() < rows.height]
    params = [  # keys in sorted order, as `canonical_json` writes them
        pl.struct(
            *[pl.lit(placement).alias(k) if k == "placement" else pl.col(k) for k in sorted([*keys, "placement"])]
        )
        .struct.json_encode()
        .alias(f"params_{placement}")
        for placement in PLACEMENTS
    ]
    ts = pl.col("ts") if "ts" in rows.columns else pl.lit(None, dtype=pl.Datetime("us"))
    index = ["line_no", "ts", *[f"params_{placement}" for placement in PLACEMENTS]]
    long = (
        rows.select("line_no", ts.alias("ts"), *params, *columns["column"])
        .unpivot(columns["column"].to_list(), index=index, variable_name="column")
        .filter(pl.col("value").is_not_null())
        .join(columns, on="column")
        .sort("line_no", "order")
    )
    schema = table_frame("measurements", []).schema
    return long.select(
        pl.lit(None, dtype=schema["host"]).alias("host"),
        pl.lit(None, dtype=schema["device"]).alias("device"),
        pl.lit(test).alias("test"),
        "metric",
        "value",
        "unit",
        pl.col("ts").cast(schema["ts"]),
        pl.when(pl.col("placement") == "in_place")
        .then(pl.col("params_in_place"))
        .otherwise(pl.col("params_out_of_place"))
        .alias("params"),
        pl.lit(run_id, dtype=schema["run_id"]).alias("run_id"),
        "line_no",
    )


# --- run parameters and verdict --------------------------------------------------------------------

_PARAMS = (
    ("nThread", r"\bnThread\s+(\d+)"),
    ("nGpus", r"\bnGpus\s+(\d+)"),
    ("minBytes", r"\bminBytes\s+(\d+)"),
    ("maxBytes", r"\bmaxBytes\s+(\d+)"),
    ("step", r"\bstep:\s*(\d+)"),
    ("warmup_iters", r"\bwarmup iters:\s*(\d+)"),
    ("iters", r"\bwarmup iters:\s*\d+\s+iters:\s*(\d+)"),
    ("agg_iters", r"\bagg iters:\s*(\d+)"),
    ("validation", r"\bvalidation:\s*(\d+)"),
    ("graph", r"\bgraph:\s*(\d+)"),
    ("unalign", r"\bunalign:\s*(\d+)"),
)


def _run_params(lines: list[str], block: pl.DataFrame, run: _Run) -> dict[str, Any]:
    """The header's settings, the ranks (host, device index, bus id, model) and the NCCL version."""
    params: dict[str, Any] = {}
    if run.header is not None:
        header = lines[run.header]
        for key, pattern in _PARAMS:
            if m := re.search(pattern, header):
                params[key] = int(m.group(1))
        if m := re.search(r"\bstep:\s*\d+\((\w+)\)", header):
            params["step_unit"] = m.group(1)
    before_table = run.columns if run.columns is not None else run.table_end
    ranks = (
        block.filter((pl.col("kind") == "rank") & (pl.col("i") < before_table))
        .select(pl.col("line").str.extract_groups(_RANK).alias("r"))
        .unnest("r")
    )
    if ranks.height:
        params["ranks"] = [
            {
                "rank": int(r["rank"]),
                "host": r["host"],
                "device": int(r["device"]),
                "bus_id": normalize_bdf(r["bus_id"]) if ":" in r["bus_id"] else r["bus_id"],
                "model": r["model"],
            }
            for r in ranks.iter_rows(named=True)
        ]
        params["nranks"] = ranks.height
        params["nodes"] = ranks["host"].n_unique()
    version = block.select(pl.col("line").str.extract(_NCCL_VERSION, 1)).drop_nulls()
    if version.height:
        params["nccl_version"] = version.item(0, 0)
    tests_version = block.filter(pl.col("kind") == "version")
    if tests_version.height:
        params["nccl_tests_version"] = tests_version["line"][0].split("version", 1)[1].split()[0]
    return params


def _rank_assets(params: dict[str, Any], line_no: int, records: Records, seen: set[str]) -> None:
    """GPU assets (index, PCI address, model) from the rank lines of a run on one node.

    CUDA numbers a node's GPUs in PCI order, as nvidia-smi does, so `device N [0000:18:00]` ties
    index N to that address: the ingest can then name `gpuN` rows of the host even when its
    nvidia-smi dump lost a GPU. Runs across nodes give none: MPI's host names need not be the
    bundle's. Short bus ids (`[0x18]`) give none either: they omit the PCI domain.
    """
    ranks = params.get("ranks") or []
    if params.get("nodes") != 1:
        return
    for rank in ranks:
        bdf = rank["bus_id"]
        if bdf and ":" in bdf and bdf not in seen:
            records.asset("gpu", bdf, line_no, index=rank["device"], pci_bdf=bdf, model=rank["model"] or None)
            seen.add(bdf)


def _status(
    lines: list[str], block: pl.DataFrame, run: _Run, outcome: _Outcome, max_bytes: int | None
) -> tuple[str, str]:
    """pass, fail, error or incomplete, with the text a person would quote."""
    failures = block.filter(pl.col("failure").is_not_null()).sort(["failure", "i"])
    problems = _problems(lines, run, outcome.rows)
    if failures.height:
        first = failures.row(0, named=True)
        text = first["line"].strip()
        if _FAILURES[first["failure"]][1] and first["i"] + 1 < len(lines):
            text = f"{text} {lines[first['i'] + 1].strip()}".rstrip(":")
        if problems and run.avg is not None:
            return "fail", "; ".join(problems)
        return "error", text
    if run.avg is None:
        return "incomplete", _cut_detail(block, outcome, max_bytes)
    if problems:
        return "fail", "; ".join(problems)
    return "pass", f"Avg bus bandwidth {_number(lines[run.avg]):g} GB/s; {_plural(outcome.rows.height, 'result row')}"


def _problems(lines: list[str], run: _Run, rows: pl.DataFrame) -> list[str]:
    """What makes a finished run fail: wrong elements, out-of-bounds values, a failed bandwidth check."""
    problems = []
    if run.oob is not None and "FAILED" in lines[run.oob]:
        problems.append(f"Out of bounds values: {_number(lines[run.oob]):g} FAILED")
    if run.avg is not None and re.search(r"\bFAILED\s*$", lines[run.avg]):
        problems.append(f"Avg bus bandwidth {_number(lines[run.avg]):g} GB/s FAILED the expected minimum")
    wrong = [c for c in rows.columns if c.startswith("wrong_")]
    if wrong:
        bad = rows.filter(pl.any_horizontal(pl.col(c) > 0 for c in wrong))
        if bad.height:
            sizes = [
                f"{r['size']} B ({', '.join(f'{c[6:]} {r[c]:g}' for c in wrong if r[c])})"
                for r in bad.head(5).iter_rows(named=True)
            ]
            more = f" and {bad.height - 5} more" if bad.height > 5 else ""
            problems.append(f"#wrong > 0 in {_plural(bad.height, 'row')}: {', '.join(sizes)}{more}")
    return problems


def _cut_detail(block: pl.DataFrame, outcome: _Outcome, max_bytes: int | None) -> str:
    """Where an unfinished run stopped, and the last NCCL WARN before that."""
    rows = outcome.rows
    if rows.height:
        last = rows.row(rows.height - 1, named=True)
        of = f" of {max_bytes} B" if max_bytes is not None else ""
        text = f"cut off after size {last['size']} B{of} (line {last['line_no']}); no 'Avg bus bandwidth' footer"
    else:
        text = "cut off before the first result row; no 'Avg bus bandwidth' footer"
    if outcome.cut_line is not None:
        text += f"; line {outcome.cut_line} is a partial row"
    warns = block.filter(pl.col("kind") == "warn")
    if warns.height:
        text += f"; last warning: {warns['line'][-1].strip()}"
    return text


def _time_span(rows: pl.DataFrame) -> tuple[datetime | None, datetime | None]:
    """First and last row time, when the table has a timestamp column."""
    if "ts" not in rows.columns:
        return None, None
    return rows["ts"].min(), rows["ts"].max()


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _number(line: str) -> float:
    """The number after the colon of a footer line (`# Avg bus bandwidth    : 70.742`)."""
    return float(line.split(":", 1)[1].split()[0])


# --- which collective -----------------------------------------------------------------------------

_NAME_PATTERNS = (
    (r"all_?reduce", "all_reduce"),
    (r"reduce_?scatter", "reduce_scatter"),
    (r"all_?gather", "all_gather"),
    (r"all_?to_?allv", "alltoallv"),
    (r"all_?to_?all", "alltoall"),
    (r"send_?recv", "sendrecv"),
    (r"b(?:road)?cast", "broadcast"),
    (r"hypercube", "hypercube"),
    (r"gather", "gather"),
    (r"scatter", "scatter"),
    (r"reduce", "reduce"),
)
_NAME = re.compile("|".join(f"({pattern})" for pattern, _ in _NAME_PATTERNS))


def collective_from_name(path: str) -> str | None:
    """The collective a file name gives away (`nccl_allreduce.log`, `all_reduce_perf.out`), if any."""
    base = PurePosixPath(path.rsplit("!", 1)[-1].replace("\\", "/")).name.lower()
    m = _NAME.search(base)
    return _NAME_PATTERNS[m.lastindex - 1][1] if m and m.lastindex else None


def _collective(
    frame: pl.DataFrame,
    run: _Run,
    name_from: int,
    path: str,
    rows: pl.DataFrame,
    layout: _Layout,
    nranks: int | None,
) -> tuple[str | None, str | None]:
    """The run's collective from its content, file name or table, and why it is unknown if it is."""
    named = frame.slice(name_from, max(run.footer_end - name_from, 0))["binary"].drop_nulls()
    if len(named):
        return str(named[0]), None
    if found := collective_from_name(path):
        return found, None
    return infer_collective(rows, layout.descriptors, nranks)


@dataclass(frozen=True)
class _Shape:
    """How a collective's rows look in nccl-tests (from its GetCollByteCount and GetBw)."""

    name: str
    per_rank: bool  # printed size = count x word size x nranks (else count x word size)
    redop: frozenset[str]  # how the redop cell looks: absent (no column), blank, none, op
    rooted: bool
    bus_factor: Callable[[int], float] | None = None  # busbw / algbw for n ranks
    in_place_checked: bool | None = True  # validates in-place results (None: either)


_SHAPES = (
    _Shape("all_reduce", False, frozenset({"op"}), False, lambda n: 2 * (n - 1) / n),
    _Shape("reduce_scatter", True, frozenset({"op"}), False, lambda n: (n - 1) / n),
    _Shape("reduce", False, frozenset({"op"}), True, lambda n: 1.0),
    _Shape("broadcast", False, frozenset({"absent", "none"}), True, lambda n: 1.0),
    _Shape("sendrecv", False, frozenset({"absent", "blank", "none", "op"}), False, lambda n: 1.0, False),
    _Shape("all_gather", True, frozenset({"absent", "none"}), False, lambda n: (n - 1) / n),
    _Shape("alltoall", True, frozenset({"blank", "none"}), False, lambda n: (n - 1) / n),
    _Shape("gather", True, frozenset({"none"}), True, lambda n: (n - 1) / n, None),
    _Shape("scatter", True, frozenset({"none"}), True, lambda n: (n - 1) / n, None),
    _Shape("hypercube", True, frozenset({"none"}), False),
)


def infer_collective(
    rows: pl.DataFrame, descriptors: tuple[str, ...], nranks: int | None
) -> tuple[str | None, str | None]:
    """The collective whose row shape fits the table alone, or None and why not."""
    if rows.height == 0:
        return None, "not named in the output or file name, and no result rows to infer it from"
    if "redop" not in descriptors:
        redop = "absent"
    elif "redop" not in rows.columns or rows["redop"].null_count() == rows.height:
        redop = "blank"
    else:
        redop = "none" if set(rows["redop"].drop_nulls().to_list()) == {"none"} else "op"
    rooted = "root" in rows.columns and bool((rows["root"].fill_null(-1) >= 0).any())
    per_rank, checked = _size_ratio(rows, nranks), _in_place_checked(rows)
    factor = _bus_factor(rows) if nranks and nranks > 1 else None
    fits = [
        shape.name
        for shape in _SHAPES
        if redop in shape.redop
        and shape.rooted == rooted
        and (per_rank is None or shape.per_rank == per_rank)
        and (factor is None or shape.bus_factor is None or abs(shape.bus_factor(nranks) - factor) < 0.02 * factor)
        and (checked is None or shape.in_place_checked is None or shape.in_place_checked == checked)
    ]
    if len(fits) == 1:
        return fits[0], None
    evidence = f"redop {redop}, {'rooted' if rooted else 'no root'}, {nranks or 'unknown'} ranks"
    if not fits:
        return None, f"not named in the output or file name, and no collective has rows like these ({evidence})"
    return None, f"not named in the output or file name, and the table fits {', '.join(fits)} ({evidence})"


def _size_ratio(rows: pl.DataFrame, nranks: int | None) -> bool | None:
    """Whether the printed size is count x word size x nranks (True) or count x word size (False)."""
    if not nranks or nranks < 2:
        return None
    word = pl.col("type").replace_strict(_TYPES, default=None, return_dtype=pl.Int64)
    ratio = rows.filter(pl.col("count") > 0).select((pl.col("size") / (pl.col("count") * word)).median()).item()
    if ratio is None:
        return None
    if abs(ratio - nranks) < 0.05 * nranks:
        return True
    return False if abs(ratio - 1) < 0.05 else None


def _in_place_checked(rows: pl.DataFrame) -> bool | None:
    """Whether in-place results were validated, when out-of-place ones were (sendrecv never checks in place)."""
    if "wrong_out_of_place" not in rows.columns or rows["wrong_out_of_place"].null_count() == rows.height:
        return None
    return "wrong_in_place" in rows.columns and rows["wrong_in_place"].null_count() < rows.height


def _bus_factor(rows: pl.DataFrame) -> float | None:
    """busbw / algbw of the fastest row, when its bandwidth has enough digits to tell."""
    if "algbw_out_of_place" not in rows.columns:
        return None
    fast = rows.filter(pl.col("algbw_out_of_place") >= 1.0).sort("algbw_out_of_place", descending=True)
    if fast.height == 0:
        return None
    return float(fast["busbw_out_of_place"][0] / fast["algbw_out_of_place"][0])
