"""Node health check logs: LBNL NHC and Azure's aznhc (azurehpc-health-checks), per node and fleet-wide.

Layouts (`files.format`):
  nhc_log        NHC's own log (`/var/log/nhc.log`, aznhc's per-node `<job>.health.log`):
                 `ERROR:  nhc:  Health check failed:  check_fs_used:  /var/log is 95% full ...`,
                 `SUCCESS:  nhc:  Health check passed:  check_gpu_count: Expected 8 and found 8`,
                 `Running check 03 of 12:  "..."`, `Node Health Check completed successfully; ...`,
                 debug lines `DEBUG:  H2D_GPU_0: 55.3 GB/s`; any line may start `[<epoch seconds>] - `
  aznhc_health   distributed aznhc `.health.log`: `{host} | Healthy`, `{host} | ERROR: nhc: Health check
                 failed: ...`, `{host} | ERROR: No results reported`
  aznhc_debug    distributed aznhc `.debug.log`: `{host} | <debug line>`
  aznhc_onetouch a node's onetouch_nhc `.out`: script chatter with `NHC-DEBUG {host} | ...` and
                 `NHC-RESULT {host} | ...` lines
All are read by one vectorised pass; a line's host is the one it starts with (else the file's).

Test runs (host, status, started = the line's stamp, detail = the message after `Health check failed:`):
  nhc_<check>  one per check result line: fail (`Health check failed: check_x: ...`), pass
               (`Health check passed: check_x: ...`), error when NHC could not run the check (timed out,
               missing); device from the message: GPU PCI address of an `Xid (PCI:...)`, `gpu<N>` of
               `GPU <N>` / `GPU id <N>` / `device <N>`, `gpu<A>->gpu<B>`, HCA port `mlx5_ib7/1` of
               `IB port mlx5_ib7:1` or `IB=<ca>` (port 1, ib_write_bw's default); params `fault_code`
               (aznhc `FaultCode: NHC2001`) and `xid`
  nhc          the node's verdict: pass (`Healthy`, `completed successfully`), fail (`N health checks
               failed`), error (`ERROR: No results reported`, other `ERROR` lines, a result cut short),
               incomplete (an NHC run that started in an `nhc_log` but has no result by the end of the file)
The logs have no structure to break: lines that are not results or values are events only.

Measurements (from debug lines and from the values in result messages):
  nhc_check_gpu_bw                   h2d_bw, d2h_bw (`H2D_GPU_3: 55.1 GB/s`), p2p_bw (`P2P_GPU_0_1`,
                                     device gpu0->gpu1) GB/s
  nhc_check_cuda_bw                  h2d_bw, d2h_bw (`Device 3 Host to Device reported bandwidth is 55 GB/s`) GB/s
  nhc_ib_write_bw                    ib_write_bw Gbit/s (`ib_write_lb_mlx5_ib0: 390.98 Gbps`, `IB devices=a, b:
                                     ... Measured IB BW`: device `a/1`, or `a/1->b/1` as printed)
  nhc_check_nccl_allreduce           nccl_allreduce_busbw GB/s (`nccl_all_red:`, `Measured Avg NCCL allreduce bus BW`)
  nhc_check_nccl_allreduce_ib_loopback  nccl_allreduce_busbw GB/s (`nccl_all_red_lb:`, `... IB loopback bandwidth`)
  nhc_check_cpu_stream               stream_copy, stream_add, stream_scale, stream_triad GB/s (STREAM's MB/s / 1000)
  nhc_check_gpu_ecc                  remapped_rows_pending, remapped_rows_failure, remapped_rows_uncorrectable,
                                     ecc_{sram,dram}_{volatile,aggregate}_{correctable,uncorrectable} count
  nhc_check_gpu_count                gpu_count count
aznhc prints some values twice (`ib_write_lb_<ca>:` and `IB devices=...`, `nccl_all_red:` and `Measured Avg
NCCL ...`, the value in a failure message): a value printed in a human-readable form is dropped when the
same host, test, metric, device and value was printed in the `key: value` form in the same file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import polars as pl

from triage.sources import kernel_log
from triage.sources.base import Fixups, ParseContext, Sniffed
from triage.sources.lines import LineBatch
from triage.sources.records import COUNT, GBITPS, GBPS, bdf_expr, table_frame

KIND = "nhc"

_HOST = r"^(?:NHC-(?:RESULT|DEBUG)\s+)?([A-Za-z0-9][A-Za-z0-9_.-]*)$"  # what precedes ` | `
_STAMP = r"^\[(\d+)\] - "  # NHC's timestamp prefix (epoch seconds)
_FAILED = r"^(?:ERROR:?\s+(?:[^\s:]+:\s+)?)?Health check failed:\s*(\S.*)$"
_PASSED = r"^(?:SUCCESS:\s+[^\s:]+:\s+)?Health check passed:\s*(\S.*)$"
_RUN_START = r"^(?:Node Health Check starting\.|Running check\b)"
_RUN_END = r"^(?:Node Health Check completed successfully|ERROR\b)"
_RUN_ERRORS = r"^(?:Script timed out|Terminated by signal|No such check|Unable to run check|Watchdog timer)"
# Functions that call `die` on behalf of an aznhc check, and the check they belong to.
_HELPERS = {
    "run_ib_bw_gdr": "check_ib_bw_gdr",
    "ib_write": "check_ib_bw_non_gdr",
    "check_ecc": "check_gpu_ecc",
    "check_SDBE_ecc": "check_gpu_ecc",
    "collect_ecc_data": "check_gpu_ecc",
    "check_nvBW_gpu_bw": "check_gpu_bw",
    "check_rocm_gpu_bw": "check_gpu_bw",
    "collect_nccl_allreduce_data": "check_nccl_allreduce",
    "collect_nccl_allreduce_ib_loopback_data": "check_nccl_allreduce_ib_loopback",
}
_V = r"[0-9]+(?:\.[0-9]+)?"  # a value as the checks print it


@dataclass(frozen=True)
class _Reading:
    """A line that reports values: groups `a`/`b` name the device, `v0`, `v1`, ... the values."""

    pattern: str
    test: str
    metrics: tuple[str, ...]
    unit: str
    device: str | None = None  # gpu, gpu_pair, ib, ib_pair
    divisor: float = 1.0  # to the unit (STREAM's MB/s to GB/s)
    canonical: bool = True  # the `key: value` form aznhc prints for machines


def _readings() -> list[_Reading]:
    out = [
        _Reading(rf"^{key}_GPU_(?P<a>\d+):\s+(?P<v0>{_V})\s*GB/s", "nhc_check_gpu_bw", (m,), GBPS, "gpu")
        for key, m in (("H2D", "h2d_bw"), ("D2H", "d2h_bw"))
    ]
    out += [
        _Reading(
            rf"^check_gpu_bw:\s+{key} test on GPU (?P<a>\d+) failed\. Bandwidth (?P<v0>{_V}) is less",
            "nhc_check_gpu_bw",
            (m,),
            GBPS,
            "gpu",
            canonical=False,
        )
        for key, m in (("H2D", "h2d_bw"), ("D2H", "d2h_bw"))
    ]
    out += [
        _Reading(
            rf"^Device (?P<a>\d+) {words} reported bandwidth is (?P<v0>{_V}) GB/s",
            "nhc_check_cuda_bw",
            (m,),
            GBPS,
            "gpu",
        )
        for words, m in (("Host to Device", "h2d_bw"), ("Device to Host", "d2h_bw"))
    ]
    v = _V
    ecc = "nhc_check_gpu_ecc"
    sram_u = ("ecc_sram_volatile_uncorrectable", "ecc_sram_aggregate_uncorrectable")
    sram_c = ("ecc_sram_volatile_correctable", "ecc_sram_aggregate_correctable")
    dram = (
        "ecc_dram_volatile_uncorrectable",
        "ecc_dram_aggregate_uncorrectable",
        "ecc_dram_volatile_correctable",
        "ecc_dram_aggregate_correctable",
    )
    four = rf"\((?P<v0>{v}),\s*(?P<v1>{v}),\s*(?P<v2>{v}),\s*(?P<v3>{v})\)"
    two = rf"\((?P<v0>{v}),\s*(?P<v1>{v})\)"
    out += [
        _Reading(
            rf"^P2P_GPU_(?P<a>\d+)_(?P<b>\d+):\s+(?P<v0>{v})\s*GB/s", "nhc_check_gpu_bw", ("p2p_bw",), GBPS, "gpu_pair"
        ),
        _Reading(
            rf"^check_gpu_bw:\s+P2P test on GPU (?P<a>\d+) to GPU (?P<b>\d+) failed\. Bandwidth (?P<v0>{v}) is",
            "nhc_check_gpu_bw",
            ("p2p_bw",),
            GBPS,
            "gpu_pair",
            canonical=False,
        ),
        _Reading(
            rf"^ib_write_lb_(?P<a>[\w.-]+?):\s+(?P<v0>{v})\s*Gbps", "nhc_ib_write_bw", ("ib_write_bw",), GBITPS, "ib"
        ),
        _Reading(
            rf"^IB devices=(?P<a>[\w.-]+), (?P<b>[\w.-]+): numa domains=\S+, Measured IB BW (?P<v0>{v}) Gbps",
            "nhc_ib_write_bw",
            ("ib_write_bw",),
            GBITPS,
            "ib_pair",
            canonical=False,
        ),
        _Reading(
            rf"^check_ib_bw_(?:gdr|non_gdr):.*\bIB=(?P<a>[\w.-]+)\b.*but measured (?P<v0>{v}) Gbps",
            "nhc_ib_write_bw",
            ("ib_write_bw",),
            GBITPS,
            "ib",
            canonical=False,
        ),
        _Reading(
            rf"^check_ib_bw_gdr: IB write bandwidth test .* passed for IB=(?P<a>[\w.-]+), IB BW=(?P<v0>{v}) Gbps",
            "nhc_ib_write_bw",
            ("ib_write_bw",),
            GBITPS,
            "ib",
            canonical=False,
        ),
        _Reading(rf"^nccl_all_red:\s+(?P<v0>{v})\s*GB/s", "nhc_check_nccl_allreduce", ("nccl_allreduce_busbw",), GBPS),
        _Reading(
            rf"^Measured Avg NCCL allreduce bus BW (?P<v0>{v}) GB/s",
            "nhc_check_nccl_allreduce",
            ("nccl_allreduce_busbw",),
            GBPS,
            canonical=False,
        ),
        _Reading(
            rf"^check_nccl_allreduce: NCCL all reduce bandwidth test passed, (?P<v0>{v}) GB/s",
            "nhc_check_nccl_allreduce",
            ("nccl_allreduce_busbw",),
            GBPS,
            canonical=False,
        ),
        _Reading(
            rf"^check_nccl_allreduce: NCCL allreduce, BUS BW \(.*but measured (?P<v0>{v}) GB/s",
            "nhc_check_nccl_allreduce",
            ("nccl_allreduce_busbw",),
            GBPS,
            canonical=False,
        ),
        _Reading(
            rf"^nccl_all_red_lb:\s+(?P<v0>{v})\s*GB/s",
            "nhc_check_nccl_allreduce_ib_loopback",
            ("nccl_allreduce_busbw",),
            GBPS,
        ),
        _Reading(
            rf"^NCCL allreduce IB loopback bandwidth (?P<v0>{v}) GB/s",
            "nhc_check_nccl_allreduce_ib_loopback",
            ("nccl_allreduce_busbw",),
            GBPS,
            canonical=False,
        ),
        _Reading(
            rf"^check_nccl_allreduce_ib_loopback: NCCL allreduce, BUS BW \(.*but measured (?P<v0>{v}) GB/s",
            "nhc_check_nccl_allreduce_ib_loopback",
            ("nccl_allreduce_busbw",),
            GBPS,
            canonical=False,
        ),
        _Reading(
            r"^GPU id (?P<a>\d+): row remap pending, \((?P<v0>\d+)\)", ecc, ("remapped_rows_pending",), COUNT, "gpu"
        ),
        _Reading(
            r"^GPU id (?P<a>\d+): row remap error, \((?P<v0>\d+)\)", ecc, ("remapped_rows_failure",), COUNT, "gpu"
        ),
        _Reading(
            r"^GPU id (?P<a>\d+): row remap uncorrectable error count, \((?P<v0>\d+)\)",
            ecc,
            ("remapped_rows_uncorrectable",),
            COUNT,
            "gpu",
        ),
        _Reading(
            rf"^GPU id (?P<a>\d+): Normal SRAM Uncorrectable/correctable ECC error count, {four}",
            ecc,
            sram_u + sram_c,
            COUNT,
            "gpu",
        ),
        _Reading(
            rf"^(?:check_gpu_ecc:\s+)?GPU id (?P<a>\d+): SRAM Uncorrectable ECC error count detected, {two}",
            ecc,
            sram_u,
            COUNT,
            "gpu",
        ),
        _Reading(
            rf"^(?:check_gpu_ecc:\s+)?GPU id (?P<a>\d+): High SRAM correctable ECC error count detected, {two}",
            ecc,
            sram_c,
            COUNT,
            "gpu",
        ),
        _Reading(
            rf"^(?:check_gpu_ecc:\s+)?GPU id (?P<a>\d+): (?:Normal|High) DRAM Uncorrectable/correctable ECC "
            rf"error count(?: detected)?, {four}",
            ecc,
            dram,
            COUNT,
            "gpu",
        ),
        _Reading(
            r"^check_gpu_count:\s+Expected (?:to see )?\d+ (?:and|but) found (?P<v0>\d+)",
            "nhc_check_gpu_count",
            ("gpu_count",),
            COUNT,
        ),
    ]
    out += [
        _Reading(
            rf"^stream_{name}:\s+(?P<v0>{v})", "nhc_check_cpu_stream", (f"stream_{name.lower()}",), GBPS, divisor=1000.0
        )
        for name in ("Copy", "Add", "Scale", "Triad")
    ]
    return out


READINGS = _readings()
_SNIFF_READINGS = [re.compile(r.pattern) for r in READINGS]
_SNIFF_MARKERS = re.compile(
    r"^(?:\[\d+\] - )?(?:"
    r"(?:ERROR:?\s+(?:[^\s:]+:\s+)?|SUCCESS:\s+[^\s:]+:\s+)?Health check (?:failed|passed):"
    r"|Node Health Check (?:starting|completed|failed)"
    r"|Running check(?: \d+ of \d+)?:\s+\""
    r"|ERROR:\s+[^\s:]+:\s+\d+ health checks? failed\."
    r")"
)
_SNIFF_ONETOUCH = re.compile(r"^NHC-(?:RESULT|DEBUG) [A-Za-z0-9][A-Za-z0-9_.-]* \| ")
_SNIFF_HOST_LINE = re.compile(r"^(?:NHC-(?:RESULT|DEBUG)\s+)?([A-Za-z0-9][A-Za-z0-9_.-]*) \| (.*)$")
_SNIFF_RESULT = re.compile(r"^(?:Healthy|ERROR:? .*Health check failed:.*|ERROR: No results reported)$")


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """An NHC log by its result lines (`Health check failed:`, `completed successfully`, ...), or an aznhc
    fleet log whose lines all start `{host} | ` with health results or known debug values. Kernel logs and
    syslog (where NHC also reports) are left to their own parser."""
    lines = [line for line in sample if line.strip()]
    if not lines:
        return None
    _, share = kernel_log.detect_format(lines)
    if share >= 0.5:
        return None
    hosted = [m for line in lines if (m := _SNIFF_HOST_LINE.match(line))]
    if hosted and len(hosted) >= 0.8 * len(lines):
        hosts = {m.group(1) for m in hosted}
        host = hosts.pop() if len(hosts) == 1 else None
        bodies = [_strip_debug(m.group(2)) for m in hosted]
        if any(_SNIFF_RESULT.match(body) for body in bodies):
            return Sniffed(KIND, "aznhc_health", host)
        if any(rx.match(body) for body in bodies for rx in _SNIFF_READINGS):
            return Sniffed(KIND, "aznhc_debug", host)
        return None
    if any(_SNIFF_ONETOUCH.match(line) for line in lines):
        return Sniffed(KIND, "aznhc_onetouch")
    if any(_SNIFF_MARKERS.match(line) for line in lines):
        return Sniffed(KIND, "nhc_log")
    return None


def _strip_debug(body: str) -> str:
    return re.sub(r"^(?:\[\d+\] - )?(?:DEBUG:\s+)?", "", body)


class NhcSource:
    """`Parser` over NHC and aznhc logs, vectorised per batch."""

    def __init__(self) -> None:
        self._runs = 0
        self._readings: list[pl.DataFrame] = []
        self._open_run: dict[str, Any] | None = None  # first line of an `nhc_log` run without a result yet

    def parse(self, batch: LineBatch) -> dict[str, pl.DataFrame]:
        """Events of every line and test runs of result lines; readings are kept for `finish`."""
        frame = self._lines(batch)
        out = {
            "events": frame.select(
                "line_no", "host", "ts", pl.col("line").alias("message"), pl.lit(KIND).alias("source")
            )
        }
        runs = self._test_runs(frame)
        if runs.height:
            out["test_runs"] = runs.drop("check_text")
        self._track_open_run(frame)
        readings = self._measure(frame)
        if readings.height:
            if runs.height:  # a value read from a result line belongs to that line's run
                run_of_line = runs.select("line_no", "run_id")
                readings = readings.drop("run_id").join(run_of_line, on="line_no", how="left", maintain_order="left")
            self._readings.append(readings)
        return out

    def finish(self) -> Fixups:
        """The measurements of the whole file (duplicates printed in two forms dropped) and a run left open."""
        tables: dict[str, pl.DataFrame] = {}
        if self._readings:
            tables["measurements"] = _deduplicate(pl.concat(self._readings, how="diagonal_relaxed"))
        if self._open_run is not None:
            self._runs += 1
            start = self._open_run
            detail = f"no NHC result after line {start['line_no']}: {start['body']}"
            row = {"run_id": self._runs, "test": "nhc", "status": "incomplete", "started": start["ts"]}
            tables["test_runs"] = table_frame("test_runs", [row | {"detail": detail, "line_no": start["line_no"]}])
        return Fixups(tables=tables)

    def _lines(self, batch: LineBatch) -> pl.DataFrame:
        """Each line's host (`{host} | ...`), time (`[epoch] - ...`), body and the result or value text in it."""
        line = pl.col("line")
        cut = line.str.find(" | ", literal=True)
        host = line.str.slice(0, cut).str.extract(_HOST, 1)
        rest = pl.when(host.is_not_null()).then(line.str.slice(cut + 3)).otherwise(line)
        frame = pl.DataFrame({"line_no": batch.line_numbers(), "line": batch.lines}).with_columns(
            host=host, epoch=rest.str.extract(_STAMP, 1).cast(pl.Int64, strict=False), body=rest
        )
        epoch = pl.col("epoch")
        body = pl.col("body").str.replace(_STAMP, "").str.strip_chars()
        return frame.with_columns(
            ts=pl.when(epoch >= 1_000_000_000).then(pl.from_epoch(epoch, time_unit="s").dt.cast_time_unit("us")),
            body=body,
            failed=body.str.extract(_FAILED, 1),
            passed=body.str.extract(_PASSED, 1),
            debug=body.str.extract(r"^DEBUG:\s+(.*)$", 1),
        ).with_columns(msg=pl.coalesce("debug", "failed", "passed", "body"))

    def _test_runs(self, frame: pl.DataFrame) -> pl.DataFrame:
        body = pl.col("body")
        verdict = (
            pl.when(pl.col("failed").is_not_null())
            .then(pl.lit("check_fail"))
            .when(pl.col("passed").is_not_null())
            .then(pl.lit("check_pass"))
            .when((body == "Healthy") | body.str.contains(r"^Node Health Check completed successfully"))
            .then(pl.lit("pass"))
            .when(body.str.contains(r"^ERROR:?\s+[^\s:]+:\s+\d+ health checks? failed\."))
            .then(pl.lit("fail"))
            .when(body.str.contains(r"^ERROR\b") | body.str.starts_with("Failed to run health checks"))
            .then(pl.lit("error"))
        )
        rows = frame.with_columns(verdict=verdict).filter(pl.col("verdict").is_not_null())
        if not rows.height:
            return pl.DataFrame()
        text = pl.coalesce("failed", "passed")
        named = text.str.extract(r"^([A-Za-z_]\w*):\s", 1)
        named = named.replace(_HELPERS)
        quoted = text.str.extract(r"^(?:Script timed out while executing|No such check|Unable to run check) \"(\w+)", 1)
        check = (
            pl.when(named.str.starts_with("check_"))
            .then(named)
            .when(text.str.starts_with("Bandwidth is low on device"))
            .then(pl.lit("check_cuda_bw"))
            .otherwise(pl.coalesce(quoted, text.str.extract(r"^Check (check_\w+)\b", 1)))
        )
        is_check = pl.col("verdict").str.starts_with("check_")
        status = (
            pl.when(pl.col("verdict") == "check_pass")
            .then(pl.lit("pass"))
            .when(pl.col("verdict") == "check_fail")
            .then(pl.when(text.str.contains(_RUN_ERRORS)).then(pl.lit("error")).otherwise(pl.lit("fail")))
            .otherwise(pl.col("verdict"))
        )
        rows = rows.with_columns(check_text=text, check=pl.when(is_check).then(check), status=status)
        rows = rows.with_columns(
            run_id=pl.int_range(self._runs + 1, self._runs + 1 + rows.height, dtype=pl.Int64),
            test=pl.when(pl.col("check").is_not_null()).then(pl.format("nhc_{}", "check")).otherwise(pl.lit("nhc")),
            device=pl.when(pl.col("verdict") == "check_fail").then(_device(pl.col("check_text"))),
            detail=pl.coalesce("check_text", "body"),
            params=_run_params(pl.col("check_text")),
        )
        self._runs += rows.height
        return rows.select(
            "run_id",
            "host",
            "device",
            "test",
            "status",
            pl.col("ts").alias("started"),
            pl.lit(None, pl.Datetime("us")).alias("ended"),
            "params",
            "detail",
            "line_no",
            "check_text",
        )

    def _track_open_run(self, frame: pl.DataFrame) -> None:
        """Remember the first line of the last NHC run (unhosted lines) that has no result yet."""
        own = frame.filter(pl.col("host").is_null())
        starts = own.filter(pl.col("body").str.contains(_RUN_START))
        ends = own.filter(pl.col("failed").is_not_null() | pl.col("body").str.contains(_RUN_END))
        if ends.height:
            self._open_run = None
            starts = starts.filter(pl.col("line_no") > ends["line_no"].max())
        if starts.height and self._open_run is None:
            self._open_run = starts.select("line_no", "ts", "body").row(0, named=True)

    def _measure(self, frame: pl.DataFrame) -> pl.DataFrame:
        parts = []
        for reading in READINGS:
            hits = frame.filter(pl.col("msg").str.contains(reading.pattern))
            if not hits.height:
                continue
            hits = hits.with_columns(pl.col("msg").str.extract_groups(reading.pattern).alias("g")).unnest("g")
            device = _reading_device(reading.device)
            for i, metric in enumerate(reading.metrics):
                parts.append(
                    hits.select(
                        "host",
                        device.alias("device"),
                        pl.lit(reading.test).alias("test"),
                        pl.lit(metric).alias("metric"),
                        (pl.col(f"v{i}").cast(pl.Float64) / reading.divisor).alias("value"),
                        pl.lit(reading.unit).alias("unit"),
                        "ts",
                        pl.lit(None, pl.String).alias("params"),
                        pl.lit(None, pl.Int64).alias("run_id"),
                        "line_no",
                        pl.lit(reading.canonical).alias("canonical"),
                    )
                )
        return pl.concat(parts) if parts else pl.DataFrame()


def _reading_device(kind: str | None) -> pl.Expr:
    a, b = pl.col("a"), pl.col("b")
    if kind == "gpu":
        return pl.format("gpu{}", a)
    if kind == "gpu_pair":
        return pl.format("gpu{}->gpu{}", a, b)
    if kind == "ib":
        return pl.format("{}/1", a)
    if kind == "ib_pair":
        return pl.when(a == b).then(pl.format("{}/1", a)).otherwise(pl.format("{}/1->{}/1", a, b))
    return pl.lit(None, pl.String)


def _device(text: pl.Expr) -> pl.Expr:
    """The device a failure message names."""
    pair = text.str.extract_groups(r"\bGPU (\d+) to GPU (\d+)\b")
    port = text.str.extract_groups(r"\bIB port ([\w.-]+?):(\d+)\b")
    return pl.coalesce(
        bdf_expr(text.str.extract(r"Xid \(PCI:([0-9A-Fa-f:.]+)\)", 1)),
        pl.when(pair.struct.field("1").is_not_null()).then(
            pl.format("gpu{}->gpu{}", pair.struct.field("1"), pair.struct.field("2"))
        ),
        pl.format("gpu{}", text.str.extract(r"\bGPU(?: id)? (\d+)\b", 1)),
        pl.format("gpu{}", text.str.extract(r"^Bandwidth is low on device (\d+)\b", 1)),
        pl.when(port.struct.field("1").is_not_null()).then(
            pl.format("{}/{}", port.struct.field("1"), port.struct.field("2"))
        ),
        pl.format("{}/1", text.str.extract(r"\bIB=([\w.-]+)", 1)),
    )


def _run_params(text: pl.Expr) -> pl.Expr:
    """Canonical JSON of the run's `fault_code` and `xid`, when the message has them."""
    fault = text.str.extract(r"FaultCode:\s*(NHC\w+)", 1)
    xid = text.str.extract(r"Xid \([^)]*\):\s*(\d+)", 1).cast(pl.Int64, strict=False)
    joined = pl.concat_str(
        [pl.format('"fault_code":"{}"', fault), pl.format('"xid":{}', xid)], separator=",", ignore_nulls=True
    )
    return pl.when(fault.is_not_null() | xid.is_not_null()).then(pl.concat_str([pl.lit("{"), joined, pl.lit("}")]))


def _deduplicate(readings: pl.DataFrame) -> pl.DataFrame:
    """Drop the human-readable copies of values also printed in the `key: value` form."""
    keys = ["host", "test", "metric", "device", "value"]
    canonical = readings.filter(pl.col("canonical"))
    copies = readings.filter(~pl.col("canonical")).join(
        canonical.select(keys).unique(), on=keys, how="anti", nulls_equal=True
    )
    columns = ["host", "device", "test", "metric", "value", "unit", "ts", "params", "run_id", "line_no"]
    return pl.concat([canonical, copies]).sort("line_no").select(columns)


def parser(sniffed: Sniffed, ctx: ParseContext) -> NhcSource:
    """Parser for an NHC or aznhc log."""
    return NhcSource()


__all__ = ["KIND", "READINGS", "NhcSource", "parser", "sniff"]
