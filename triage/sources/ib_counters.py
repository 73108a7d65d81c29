"""InfiniBand port counters: sysfs counter dumps, `perfquery` and `ibqueryerrors`.

Layouts (`files.format`):
  sysfs          a flat `path:value` dump of /sys/class/infiniband, what `grep -r .` prints there:
                 `./mlx5_0/ports/1/counters/symbol_error:0`, also absolute paths, `path: value`, and
                 a pdsh/clush `node017: ` prefix (a fleet-wide dump: its rows name their host). The
                 ingest turns a copied sysfs tree into such a dump. Read batch by batch with polars.
  perfquery      `perfquery` (PortCounters), `perfquery -x` (PortCountersExtended), for one port,
                 several, or all at once (port 255), and the detail attributes (`--rcv-err` ...):
                 `# Port extended counters: Lid 2052 port 1 (CapMask: ...)` then `Name:.....value`.
                 A file that is only the tool's error (`perfquery: iberror: ...`) is an error file.
  ibqueryerrors  the fabric-wide error sweep: `Errors for 0x... "node"`, then
                 `   GUID 0x... port 5: [SymbolErrorCounter == 65535] ...`, and `## Summary: ...`.

Rows. Counters are snapshots: every measurement carries `ts`, the moment the snapshot was taken, so
before/after snapshots are ordered: the time a `date` line of a sysfs dump printed above it (`date -u`
or `date -Is` output, as collection scripts write before `grep -r .`), else the file's modification
time (`ctx.reference`).
  test `ib_counters`    device `<ca>/<port>`; metric = the sysfs name of `counters/*` and
                        `hw_counters/*` alike, params {"group": "counters" | "hw_counters"}, unit
                        count (`port_xmit_data`/`port_rcv_data`: `4B-words`, the 4-octet units the
                        counters count in); `state` and `phys_state` (enum, params {"text": "ACTIVE"})
                        and `rate` (Gbit/s, params {"text": "4X NDR"}). Assets: one `hca` per port
                        seen, with fw_ver, board_id, hca_type, and the port GUID (from `gids/0`, else
                        the node GUID) as uuid.
  test `perfquery`      device `lid<N>/<port>` (`dr<path>/<port>` for a directed route), or `lid<N>`
                        with params {"ports": "all"} for the sum over all ports (port 255); metric =
                        the common name (`ib_names.counter_name`), params {"group": <IBTA attribute>}.
                        `perfquery -x` prints the error counters after CounterSelect2 even when CapMask2
                        says the port has none; those reserved zeros are not recorded.
  test `ibqueryerrors`  device `0x<guid>/<port>` (16 lowercase hex digits), or `0x<guid>` with
                        {"ports": "all"} for a switch's `port ALL` line; params {"node": description};
                        node-level summary counts nodes_checked, bad_nodes, ports_checked (params
                        {"check": "errors" | "state"}), ports_with_errors, ports_bad_state,
                        pma_query_failures; one test_run: `fail` when any port has errors, `error`
                        when the tool failed, `incomplete` without a summary or with PMA query failures.
A counter at the top of its width has stopped counting: its params add {"saturated": true, "bits": N}
(the true count is at least the value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from triage.sources.base import Fixups, ParseContext, Parser, Sniffed
from triage.sources.document import DocumentSource
from triage.sources.ib_names import COUNTER_BITS, counter_name, phys_state, port_state, saturated
from triage.sources.kernel_log import iso_to_utc
from triage.sources.lines import LineBatch
from triage.sources.records import COUNT, ENUM, GBITPS, Malformed, Records, table_frame

KIND = "ib_counters"
TEST_SYSFS = "ib_counters"
TEST_PERFQUERY = "perfquery"
TEST_IBQUERYERRORS = "ibqueryerrors"
WORDS = "4B-words"  # PortXmitData / PortRcvData count 4-octet words
DATA_COUNTERS = frozenset({"port_xmit_data", "port_rcv_data"})


def _unit(metric: str) -> str:
    return WORDS if metric in DATA_COUNTERS else COUNT


def _saturation(metric: str, value: int, bits: int | None = None) -> dict[str, Any]:
    """{"saturated": True, "bits": N} when `value` sits at the top of the counter's width, else {}.

    `bits` overrides the width ib_names knows, for attributes where the same counter is narrower.
    """
    if bits is None:
        if not saturated(metric, value):
            return {}
        bits = COUNTER_BITS[metric]
    elif bits >= 64 or value < (1 << bits) - 1:
        return {}
    return {"saturated": True, "bits": bits}


# -- sniffing ------------------------------------------------------------------------------------------------------

# A sysfs dump line: `[host: ][dir/]<ca>/ports/<p>/(hw_)counters/<name>:<value>` and the port and device
# files below. Sniffing matches it with `re`; parsing splits the lines with polars (see `_sysfs_fields`).
_HOST_PREFIX = r"(?:[A-Za-z0-9][\w.-]*: +)?"  # pdsh / clush `node017: `
_SYSFS_COUNTER = re.compile(
    "^" + _HOST_PREFIX + r"(?:[^\s:]*/)?[A-Za-z][^/\s:]*/ports/\d+/(?:hw_)?counters/[^/\s:]+:\s*\d+\s*$"
)
_SYSFS_ANY = re.compile("^" + _HOST_PREFIX + r"[^\s:]*/[^\s:]+:\s*\S")  # any one-value file
_PORT_FILES = ["state", "phys_state", "rate"]
_DEVICE_FILES = ["board_id", "fw_ver", "hca_type", "node_guid"]

_PQ_HEADER = re.compile(
    r"^#\s*(?P<attr>Port extended counters|Port counters|\w+(?: [\w-]+)*? counters):\s*"
    r"(?P<addr>.*?)\s+port\s+(?P<port>\d+)(?:\s*\((?P<caps>[^)]*)\))?\s*$"
)
_PQ_FIELD = re.compile(r"^(?P<name>[A-Za-z][\w\[\]]*):\.+(?P<value>.*?)\s*$")
_TOOL_ERROR = re.compile(r"^(?:\S*/)?(?P<tool>perfquery|ibqueryerrors): iberror:\s*(?P<message>.*?)\s*$")
_IBWARN = re.compile(r"^ibwarn: ")

_IQE_NODE = re.compile(r'^Errors for (?:(?P<guid>0x[0-9a-fA-F]+) )?"(?P<node>.*)"\s*$')
_IQE_PORT = re.compile(r"^\s+GUID (?P<guid>0x[0-9a-fA-F]+) port (?P<port>\d+|ALL):(?P<rest>.*)$")
_IQE_COUNTER = re.compile(r"\[(?P<name>\w+) == (?P<value>\d+)(?P<wide> \([^)]*\))?\]")
_IQE_COUNTERS = re.compile(r"(?:\s*\[\w+ == \d+(?: \([^)]*\))?\])*\s*")
_IQE_SUMMARY = re.compile(r"^## Summary: (?P<nodes>\d+) nodes checked, (?P<bad>\d+) bad nodes found")
_IQE_PORTS = re.compile(
    r"^##\s+(?P<checked>\d+) ports checked, (?P<bad>\d+) ports "
    r"(?P<what>have errors beyond threshold|with bad state found)"
)
_IQE_PMA = re.compile(r"^##\s+(?P<failures>\d+) PMA query failures")
_IQE_OPTION = re.compile(r"^## (?P<key>Thresholds|Suppressed):\s*(?P<value>.*?)\s*$")


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """An `ibqueryerrors` sweep, a `perfquery` dump or a sysfs counter dump, by their own markers."""
    if any(_iqe_marker(line) for line in sample):
        return Sniffed(KIND, "ibqueryerrors")
    if any(_pq_marker(line) for line in sample):
        return Sniffed(KIND, "perfquery")
    if _is_sysfs_dump(sample):
        return Sniffed(KIND, "sysfs")
    return None


def _iqe_marker(line: str) -> bool:
    if _IQE_NODE.match(line) or _IQE_PORT.match(line) or _IQE_SUMMARY.match(line):
        return True
    m = _TOOL_ERROR.match(line)
    return m is not None and m["tool"] == "ibqueryerrors"


def _pq_marker(line: str) -> bool:
    if _PQ_HEADER.match(line):
        return True
    m = _TOOL_ERROR.match(line)
    return m is not None and m["tool"] == "perfquery"


def _is_sysfs_dump(sample: list[str]) -> bool:
    """Some counter files, and one-value `path:value` lines for most of the sample."""
    lines = [line for line in sample if line.strip()]
    if not lines:
        return False
    counters = sum(1 for line in lines if _SYSFS_COUNTER.match(line))
    paths = sum(1 for line in lines if _SYSFS_ANY.match(line))
    return counters > 0 and paths >= 0.5 * len(lines)


def parser(sniffed: Sniffed, ctx: ParseContext) -> Parser:
    """The parser of a sniffed layout."""
    if sniffed.format == "perfquery":
        return PerfquerySource(ctx, sniffed.format)
    if sniffed.format == "ibqueryerrors":
        return IbqueryerrorsSource(ctx, sniffed.format)
    return SysfsSource(ctx)


# -- sysfs ---------------------------------------------------------------------------------------------------------

_MEASUREMENTS = table_frame("measurements", []).schema
_ASSETS = table_frame("assets", []).schema
_INFO = {
    "line_no": pl.Int64,
    "host": pl.String,
    "ca": pl.String,
    "port": pl.String,
    "file": pl.String,
    "value": pl.String,
    "ts": pl.Datetime("us"),
}
_PORT_KEY = ["host", "ca", "port"]
# Counter values at which a counter of `counters/` is saturated, as ib_names decides it.
_SATURATES_AT = {
    name: float((1 << bits) - 1) for name, bits in COUNTER_BITS.items() if saturated(name, (1 << bits) - 1)
}
# `date -u` (`Fri Nov 20 10:00:00 UTC 2026`) and `date -Is` / `date -u +%FT%TZ` output lines.
_DATE_LINE = (
    r"^\s*(?:[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} UTC \d{4}"
    r"|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2}))\s*$"
)


def _date_value(line: pl.Expr) -> pl.Expr:
    """The UTC time of a `_DATE_LINE` (naive)."""
    text = line.str.strip_chars()
    unix = text.str.replace_all(" +", " ").str.to_datetime("%a %b %d %H:%M:%S UTC %Y", strict=False)
    iso = iso_to_utc(text)
    return pl.coalesce(unix.dt.cast_time_unit("us"), iso.dt.cast_time_unit("us")).alias("ts")


_GID_GUID = r"^(?:[0-9a-fA-F]{1,4}:){4}((?:[0-9a-fA-F]{1,4}:){3}[0-9a-fA-F]{1,4})$"


class SysfsSource:
    """`Parser` of a flat sysfs dump: counters per batch, port states and identities once the file is read."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self._info: list[pl.DataFrame] = []  # state, rate, gid and device identity lines
        self._ports: list[pl.DataFrame] = []  # ports seen, with their first line
        self._error: str | None = None
        self._stamp: datetime | None = None  # the time of the last `date` line, carried across batches

    def parse(self, batch: LineBatch) -> dict[str, pl.DataFrame]:
        """Events for every line; counter measurements for the lines before the first fault."""
        rows = _sysfs_fields(pl.DataFrame({"line_no": batch.line_numbers(), "line": batch.lines}))
        rows = self._stamped(rows)
        events = rows.select("line_no", "host", pl.col("line").alias("message"), pl.lit(KIND).alias("source"))
        if self._error is not None:
            return {"events": events}
        rows = self._cut_at_fault(rows)
        self._ports.append(rows.filter(pl.col("port").is_not_null()).group_by(_PORT_KEY).agg(pl.col("line_no").min()))
        self._info.append(rows.filter(pl.col("file").is_not_null()).select(list(_INFO)))
        return {"events": events, "measurements": self._counters(rows.filter(pl.col("counter").is_not_null()))}

    def _stamped(self, rows: pl.DataFrame) -> pl.DataFrame:
        """`ts` for every line: the last `date` line above it, else the file's modification time."""
        stamps = rows.filter(pl.col("line").str.contains(_DATE_LINE)).select("line_no", _date_value(pl.col("line")))
        rows = rows.join(stamps, on="line_no", how="left").with_columns(pl.col("ts").forward_fill())
        rows = rows.with_columns(pl.col("ts").fill_null(pl.lit(self._stamp, dtype=pl.Datetime("us"))))
        if stamps.height:
            self._stamp = stamps["ts"].drop_nulls().last() or self._stamp
        return rows.with_columns(pl.col("ts").fill_null(pl.lit(self.ctx.reference, dtype=pl.Datetime("us"))))

    def _cut_at_fault(self, rows: pl.DataFrame) -> pl.DataFrame:
        """The rows before the first counter whose value is not a number (recorded as the file's fault)."""
        bad = rows.filter(pl.col("counter").is_not_null() & ~pl.col("value").str.contains(r"^\d+$"))
        if not bad.height:
            return rows
        line_no, ca, port, name, value = bad.select("line_no", "ca", "port", "counter", "value").row(0)
        self._error = f"line {line_no}: counter {name} of {ca}/{port} reads {value!r}, not a number"
        return rows.filter(pl.col("line_no") < line_no)

    def _counters(self, rows: pl.DataFrame) -> pl.DataFrame:
        name = pl.col("counter")
        value = pl.col("value").cast(pl.Float64)
        limit = name.replace_strict(_SATURATES_AT, default=None, return_dtype=pl.Float64)
        is_saturated = (pl.col("group") == "counters") & limit.is_not_null() & (value >= limit)
        bits = name.replace_strict(COUNTER_BITS, default=None, return_dtype=pl.Int64).cast(pl.String)
        group = pl.concat_str(pl.lit('"group":"'), pl.col("group"), pl.lit('"'))
        params = (
            pl.when(is_saturated)
            .then(pl.concat_str(pl.lit('{"bits":'), bits, pl.lit(","), group, pl.lit(',"saturated":true}')))
            .otherwise(pl.concat_str(pl.lit("{"), group, pl.lit("}")))
        )
        unit = pl.when(name.is_in(list(DATA_COUNTERS))).then(pl.lit(WORDS)).otherwise(pl.lit(COUNT))
        out = rows.select(
            "host",
            pl.concat_str("ca", pl.lit("/"), "port").alias("device"),
            pl.lit(TEST_SYSFS).alias("test"),
            name.alias("metric"),
            value.alias("value"),
            unit.alias("unit"),
            "ts",
            params.alias("params"),
            "line_no",
        )
        return _conform(out, _MEASUREMENTS)

    def finish(self) -> Fixups:
        """Port states and rates, one asset per port, and the first fault if any."""
        info = pl.concat(self._info) if self._info else pl.DataFrame(schema=_INFO)
        ports = (
            pl.concat(self._ports).group_by(_PORT_KEY).agg(pl.col("line_no").min()).sort("line_no")
            if self._ports
            else pl.DataFrame(schema={k: pl.String for k in _PORT_KEY} | {"line_no": pl.Int64})
        )
        tables = {"measurements": self._states(info), "assets": _assets(info, ports)}
        return Fixups(tables={name: frame for name, frame in tables.items() if frame.height}, error=self._error)

    def _states(self, info: pl.DataFrame) -> pl.DataFrame:
        """`state`, `phys_state` (codes by ib_names) and `rate` rows of every port."""
        rows = info.filter(pl.col("file").is_in(["state", "phys_state", "rate"]))
        decode = {"state": port_state, "phys_state": phys_state}
        codes = {
            f"{file}={value}": decode[file](value)
            for file, value in rows.filter(pl.col("file") != "rate").select("file", "value").unique().iter_rows()
        }
        key = pl.concat_str("file", pl.lit("="), "value")
        rate = pl.col("value").str.extract_groups(r"^(?P<gbps>\d+(?:\.\d+)?) Gb/sec(?: \((?P<speed>[^)]*)\))?")
        is_rate = pl.col("file") == "rate"
        text = pl.when(is_rate).then(rate.struct.field("speed")).otherwise(pl.col("value").str.replace(r"^\d+:\s*", ""))
        out = rows.select(
            "host",
            pl.concat_str("ca", pl.lit("/"), "port").alias("device"),
            pl.lit(TEST_SYSFS).alias("test"),
            pl.col("file").alias("metric"),
            pl.when(is_rate)
            .then(rate.struct.field("gbps").cast(pl.Float64))
            .otherwise(key.replace_strict(codes, default=None, return_dtype=pl.Float64))
            .alias("value"),
            pl.when(is_rate).then(pl.lit(GBITPS)).otherwise(pl.lit(ENUM)).alias("unit"),
            "ts",
            pl.when(text.is_not_null() & (text != ""))
            .then(pl.struct(text.alias("text")).struct.json_encode())
            .alias("params"),
            "line_no",
        ).filter(pl.col("value").is_not_null())
        return _conform(out, _MEASUREMENTS)


def _sysfs_fields(frame: pl.DataFrame) -> pl.DataFrame:
    """The lines with their host, ca, port, group and counter (counter files) or file (port and device files).

    Columns are null where a line is none of these. The lines are split rather than matched: polars' string
    kernels are several times faster than one capturing regex over the same grammar.
    """
    head = pl.col("line").str.splitn(": ", 2).struct.rename_fields(["head", "tail"])
    out = frame.with_columns(head.alias("h")).unnest("h")
    # A pdsh/clush `node017: ` prefix is a bare name followed by a path.
    is_host = pl.col("head").str.contains(r"^[A-Za-z0-9][\w.-]*$") & pl.col("tail").str.contains(r"^[^\s:]*/")
    out = out.with_columns(
        pl.when(is_host).then(pl.col("head")).alias("host"),
        pl.when(is_host).then(pl.col("tail").str.strip_chars_start()).otherwise(pl.col("line")).alias("rest"),
    )
    path_value = pl.col("rest").str.splitn(":", 2).struct.rename_fields(["path", "value"])
    out = out.with_columns(path_value.alias("pv")).unnest("pv")
    parts = out["path"].str.split("/")
    # The last five path components: p1 is the file name, p2 its folder ...
    out = out.with_columns(parts.list.get(-k, null_on_oob=True).alias(f"p{k}") for k in range(1, 6))

    def part(k: int) -> pl.Expr:
        return pl.col(f"p{k}")

    is_counter = (part(4) == "ports") & part(2).is_in(["counters", "hw_counters"])
    is_port_file = (part(3) == "ports") & part(1).is_in(_PORT_FILES)
    is_gid = (part(4) == "ports") & (part(2) == "gids") & (part(1) == "0")
    is_device_file = part(1).is_in(_DEVICE_FILES) & (part(3) != "ports").fill_null(True)
    ca = pl.when(is_counter | is_gid).then(part(5)).when(is_port_file).then(part(4)).when(is_device_file).then(part(2))
    port = pl.when(is_counter | is_gid).then(part(3)).when(is_port_file).then(part(2))
    file = pl.when(is_gid).then(pl.lit("gids/0")).when(is_port_file | is_device_file).then(part(1))
    out = out.with_columns(ca.alias("ca"), port.alias("port"), file.alias("file"), is_counter.alias("is_counter"))
    valid = (
        pl.col("value").is_not_null()
        & ~pl.col("path").str.contains(r"\s")
        & pl.col("ca").str.contains(r"^[A-Za-z]")
        & (pl.col("port").is_null() | pl.col("port").str.contains(r"^\d+$"))
    ).fill_null(False)
    counter = valid & pl.col("is_counter")
    return out.select(
        "line_no",
        "line",
        "host",
        pl.when(valid).then(pl.col("ca")).alias("ca"),
        pl.when(valid).then(pl.col("port")).alias("port"),
        pl.when(counter).then(part(2)).alias("group"),
        pl.when(counter).then(part(1)).alias("counter"),
        pl.when(valid & ~pl.col("is_counter")).then(pl.col("file")).alias("file"),
        pl.col("value").str.strip_chars(),
    )


def _assets(info: pl.DataFrame, ports: pl.DataFrame) -> pl.DataFrame:
    """One `hca` asset per port seen, with its device's identity and its GUID."""

    def device_file(name: str) -> pl.Expr:
        return pl.col("value").filter(pl.col("file") == name).first()

    identity = (
        info.filter(pl.col("port").is_null())
        .group_by("host", "ca")
        .agg(
            device_file("fw_ver").alias("firmware"),
            device_file("board_id").alias("part_number"),
            device_file("hca_type").alias("model"),
            device_file("node_guid").alias("node_guid"),
            pl.col("line_no").filter(pl.col("file") == "fw_ver").first().alias("identity_line"),
        )
    )
    gids = info.filter(pl.col("file") == "gids/0").group_by(_PORT_KEY).agg(pl.col("value").first().alias("gid"))
    port_guid = _guid(pl.col("gid").str.extract(_GID_GUID, 1))
    node_guid = _guid(pl.col("node_guid"))
    out = (
        ports.join(identity, on=["host", "ca"], how="left", nulls_equal=True)
        .join(gids, on=_PORT_KEY, how="left", nulls_equal=True)
        .select(
            "host",
            pl.lit("hca").alias("kind"),
            pl.concat_str("ca", pl.lit("/"), "port").alias("device"),
            pl.coalesce(port_guid, node_guid).alias("uuid"),
            "part_number",
            "model",
            "firmware",
            pl.coalesce("identity_line", "line_no").alias("line_no"),
        )
    )
    return _conform(out, _ASSETS)


def _guid(text: pl.Expr) -> pl.Expr:
    """`7cfe:9003:0017:9b31` as `0x7cfe900300179b31`; null when it is not 16 hex digits or all zeros."""
    digits = text.str.replace_all(":", "", literal=True).str.to_lowercase()
    valid = digits.str.contains(r"^[0-9a-f]{16}$") & (digits != "0" * 16)
    return pl.when(valid).then(pl.concat_str(pl.lit("0x"), digits))


def _conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """`frame` with exactly the columns of `schema` (missing ones null), cast to their types."""
    return frame.select(
        (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in schema.items()
    )


# -- perfquery -----------------------------------------------------------------------------------------------------

_SELECTORS = frozenset({"PortSelect", "CounterSelect", "CounterSelect2"})
# PortCounters (without -x) carries 32-bit data and packet counters; ib_names knows their extended widths.
_PORT_COUNTERS_32 = frozenset({"port_xmit_data", "port_rcv_data", "port_xmit_packets", "port_rcv_packets"})
# Every counter of the detail attributes is 16 bits wide (IBA vol. 1, PortRcvErrorDetails, PortXmitDiscardDetails).
_DETAIL_ATTRIBUTES = frozenset({"PortRcvErrorDetails", "PortXmitDiscardDetails"})
ALL_PORTS = 255
# CapMask2 bit IsAddlPortCountersExtendedSupported: the error counters of PortCountersExtended are 64-bit.
_ADDL_EXTENDED = 0x2


@dataclass
class _Block:
    """One `# ... counters:` block of perfquery output."""

    device: str
    group: str
    params: dict[str, Any]
    wide_errors: bool  # PortCountersExtended whose error counters are 64-bit (CapMask2 says so)
    errors_reserved: bool  # PortCountersExtended whose error counters are not supported (CapMask2 says so)
    line_no: int  # of the header
    after_select2: bool = False  # past CounterSelect2: the error counters
    fields: int = 0


class PerfquerySource(DocumentSource):
    """`perfquery` output: the counters of each block under the port its header names."""

    KIND = KIND

    def read(self, lines: list[str], records: Records) -> None:
        """Counters of every block; a tool error ends the file as its fault."""
        block: _Block | None = None
        warning: str | None = None
        for line_no, line in enumerate(lines, 1):
            if header := _PQ_HEADER.match(line):
                _check_filled(block)
                block = _block(header, line_no)
                continue
            if failed := _TOOL_ERROR.match(line):
                note = f"; first warning: {warning}" if warning else ""
                raise Malformed(line_no, f"perfquery failed: {failed['message']}{note}")
            if _IBWARN.match(line):
                warning = warning or line.strip()
                continue
            if fld := _PQ_FIELD.match(line):
                if block is None:
                    raise Malformed(line_no, f"counter {fld['name']} before any '# ... counters:' header")
                block.fields += 1
                self._field(block, fld["name"], fld["value"], line_no, records)
        _check_filled(block)

    def _field(self, block: _Block, name: str, value: str, line_no: int, records: Records) -> None:
        if name == "CounterSelect2":
            block.after_select2 = True
        if name in _SELECTORS:
            return
        if block.after_select2 and block.errors_reserved:
            return  # reserved fields perfquery prints anyway: nothing was counted
        if not value:
            raise Malformed(line_no, f"{name} has no value (output cut off?)")
        if not value.isdigit():
            raise Malformed(line_no, f"{name} reads {value!r}, not a number")
        metric = counter_name(name)
        count = int(value)
        params = block.params | {"group": block.group} | _saturation(metric, count, _width(block, metric))
        records.measure(
            block.device, TEST_PERFQUERY, metric, count, _unit(metric), line_no, params, ts=self.ctx.reference
        )


def _block(header: re.Match[str], line_no: int) -> _Block:
    attr = header["attr"]
    group = {"Port counters": "PortCounters", "Port extended counters": "PortCountersExtended"}.get(attr)
    group = group or attr.split()[0]
    caps = dict(re.findall(r"(CapMask2?):\s*(0x[0-9a-fA-F]+)", header["caps"] or ""))
    cap2 = int(caps["CapMask2"], 16) if "CapMask2" in caps else None
    port = int(header["port"])
    address = _address(header["addr"], line_no)
    extended = group == "PortCountersExtended"
    return _Block(
        device=address if port == ALL_PORTS else f"{address}/{port}",
        group=group,
        params={"ports": "all"} if port == ALL_PORTS else {},
        wide_errors=extended and cap2 is not None and bool(cap2 & _ADDL_EXTENDED),
        errors_reserved=extended and cap2 is not None and not cap2 & _ADDL_EXTENDED,
        line_no=line_no,
    )


def _check_filled(block: _Block | None) -> None:
    """A block without a single field was cut off after its header."""
    if block is not None and not block.fields:
        raise Malformed(block.line_no, "no counters after the header (output cut off?)")


def _address(text: str, line_no: int) -> str:
    """`Lid 2052` as `lid2052`; `DR path slid 0; dlid 0; 0,1` as `dr0,1`."""
    if lid := re.match(r"Lid (\d+)", text):
        return f"lid{lid[1]}"
    if route := re.match(r"DR path (?:slid \d+; dlid \d+; )?(\S+)", text):
        return f"dr{route[1]}"
    raise Malformed(line_no, f"perfquery header names no LID or directed route: {text!r}")


def _width(block: _Block, metric: str) -> int | None:
    """The width of `metric` in this block when it differs from ib_names' (64 = never saturates)."""
    if block.group in _DETAIL_ATTRIBUTES:
        return 16
    if block.group == "PortCounters" and metric in _PORT_COUNTERS_32:
        return 32
    if block.wide_errors and block.after_select2:
        return 64
    return None


# -- ibqueryerrors -------------------------------------------------------------------------------------------------


@dataclass
class _Sweep:
    """What an ibqueryerrors output says beyond its counters."""

    run_id: int
    summary: dict[str, int] = field(default_factory=dict)
    bad_ports: list[str] = field(default_factory=list)
    saturated: dict[str, list[str]] = field(default_factory=dict)
    failure: str | None = None


class IbqueryerrorsSource(DocumentSource):
    """`ibqueryerrors` output: counters per reported port, the summary, and one pass/fail run."""

    KIND = KIND

    def read(self, lines: list[str], records: Records) -> None:
        """Counters, summary counts and the run; a garbled port line ends the reading as incomplete."""
        options = {m["key"].lower(): m["value"] for line in lines if (m := _IQE_OPTION.match(line)) and m["value"]}
        sweep = _Sweep(records.run(None, TEST_IBQUERYERRORS, "incomplete", 1 if lines else None, options))
        try:
            self._read(lines, records, sweep)
        except Malformed as exc:
            records.set_status(sweep.run_id, "incomplete", str(exc))
            raise
        status, detail = _verdict(sweep, len(lines))
        records.set_status(sweep.run_id, status, detail)

    def _read(self, lines: list[str], records: Records, sweep: _Sweep) -> None:
        node: str | None = None
        for line_no, line in enumerate(lines, 1):
            if header := _IQE_NODE.match(line):
                node = header["node"]
            elif port := _IQE_PORT.match(line):
                self._port(port, node, line_no, records, sweep)
            elif failed := _TOOL_ERROR.match(line):
                sweep.failure = sweep.failure or f"ibqueryerrors failed: {failed['message']}"
            else:
                self._summary(line, line_no, records, sweep)

    def _port(self, m: re.Match[str], node: str | None, line_no: int, records: Records, sweep: _Sweep) -> None:
        guid = f"0x{int(m['guid'], 16):016x}"
        every = m["port"] == "ALL"
        device = guid if every else f"{guid}/{m['port']}"
        if not _IQE_COUNTERS.fullmatch(m["rest"]):
            raise Malformed(
                line_no, f"unreadable counters for GUID {m['guid']} port {m['port']}: {m['rest'].strip()!r}"
            )
        base: dict[str, Any] = {"node": node} if node is not None else {}
        if every:
            base["ports"] = "all"
        else:
            sweep.bad_ports.append(device)
        for counter in _IQE_COUNTER.finditer(m["rest"]):
            metric = counter_name(counter["name"])
            value = int(counter["value"])
            # Values printed with a human-readable suffix come from the 64-bit extended counters.
            extra = {} if counter["wide"] else _saturation(metric, value)
            if extra and not every:
                sweep.saturated.setdefault(metric, []).append(device)
            params = base | extra
            records.measure(
                device,
                TEST_IBQUERYERRORS,
                metric,
                value,
                _unit(metric),
                line_no,
                params,
                sweep.run_id,
                self.ctx.reference,
            )

    def _summary(self, line: str, line_no: int, records: Records, sweep: _Sweep) -> None:
        # (metric, value, params, key in sweep.summary)
        counts: list[tuple[str, int, dict[str, Any] | None, str]] = []
        if m := _IQE_SUMMARY.match(line):
            counts = [
                ("nodes_checked", int(m["nodes"]), None, "nodes_checked"),
                ("bad_nodes", int(m["bad"]), None, "bad_nodes"),
            ]
        elif m := _IQE_PORTS.match(line):
            check = "errors" if m["what"].startswith("have errors") else "state"
            bad = "ports_with_errors" if check == "errors" else "ports_bad_state"
            checked = ("ports_checked", int(m["checked"]), {"check": check}, f"ports_checked_{check}")
            counts = [checked, (bad, int(m["bad"]), None, bad)]
        elif m := _IQE_PMA.match(line):
            counts = [("pma_query_failures", int(m["failures"]), None, "pma_query_failures")]
        for metric, value, params, key in counts:
            sweep.summary[key] = value
            records.measure(
                None, TEST_IBQUERYERRORS, metric, value, COUNT, line_no, params, sweep.run_id, self.ctx.reference
            )


def _verdict(sweep: _Sweep, lines: int) -> tuple[str, str]:
    """Status and detail of the sweep: fail on any port with errors, never a silent pass."""
    summary = sweep.summary
    bad = summary.get("ports_with_errors", 0) + summary.get("ports_bad_state", 0) + summary.get("bad_nodes", 0)
    if sweep.failure:
        return "error", sweep.failure
    if sweep.bad_ports or bad:
        return "fail", _failure_detail(sweep)
    if "nodes_checked" not in summary:
        return "incomplete", f"no '## Summary' line: the output ends at line {lines}"
    ports = summary.get("ports_checked_errors", summary.get("ports_checked_state", 0))
    checked = f"{summary['nodes_checked']} nodes, {ports} ports checked"
    if summary.get("pma_query_failures"):
        return "incomplete", f"{summary['pma_query_failures']} PMA query failures: not every port was read ({checked})"
    return "pass", f"no errors beyond threshold: {checked}"


def _failure_detail(sweep: _Sweep) -> str:
    """What failed, as the summary counts it, and which counters stopped at their maximum."""
    summary = sweep.summary
    parts = []
    if "ports_with_errors" in summary:
        checked = summary.get("ports_checked_errors", 0)
        parts.append(f"{summary['ports_with_errors']} of {checked} ports have errors beyond threshold")
    elif sweep.bad_ports:
        parts.append(f"{len(sweep.bad_ports)} ports have errors beyond threshold")
    if "bad_nodes" in summary:
        parts.append(f"{summary['bad_nodes']} of {summary['nodes_checked']} nodes bad")
    if summary.get("ports_bad_state"):
        parts.append(f"{summary['ports_bad_state']} of {summary.get('ports_checked_state', 0)} ports in a bad state")
    detail = ", ".join(parts)
    if sweep.saturated:
        detail += "; saturated: " + "; ".join(
            f"{metric} on {_listing(devices)}" for metric, devices in sweep.saturated.items()
        )
    return detail


def _listing(devices: list[str], most: int = 3) -> str:
    """Up to `most` devices, and how many more."""
    shown = ", ".join(devices[:most])
    return shown + (f" and {len(devices) - most} more" if len(devices) > most else "")
