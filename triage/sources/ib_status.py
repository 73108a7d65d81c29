"""InfiniBand port status and link tests: ibstat, ibstatus, iblinkinfo, ibdiagnet and perftest.

Layouts (`Sniffed.format`):
  ibstat          `CA 'mlx5_0'` blocks with `Port N:` sub-blocks (`State: Active`, `Physical state: LinkUp`,
                  `Rate: 400`, `Base lid`, `SM lid`, `Port GUID`, `Link layer`); an `ibpanic: [pid] main: stat of
                  IB device 'mlx5_8' failed ...` line is the tool reporting a device it could not read
  ibstatus        `Infiniband device 'mlx5_0' port 1 status:` blocks (`state: 4: ACTIVE`, `phys state: 5: LinkUp`,
                  `rate: 200 Gb/sec (4X HDR)`, `base lid: 0x33bf`, `default gid`, `link_layer`)
  iblinkinfo      `Switch: 0x<guid> <name>:` / `CA: <name>:` sections of port lines
                  `<lid> <port>[  ] ==( 4X 14.0625 Gbps Active/  LinkUp)==> <lid> <port>[  ] "peer" ( )`,
                  old and new spacing, FDR10, `-p` settings and the one-line-per-port layout (`-l`); read
                  vectorised, batch by batch (`--diff` lines, `< `/`> `, are not ports)
  ibdiagnet       ibdiagnet 1.x (`Loading IBDIAGNET from:`, `-I- Stages Status Report:`) and ibdiagnet2
                  (`-I- Stage  Warnings  Errors  Comment` summary, `Fabric Summary`) stdout and logs, with
                  their PM counter blocks (`-E- lid=0x0008 dev=... /P27` + `counter : value (overflow)`) and
                  `"counter" increased during the run (difference value=N, ...)` lines
  ib_write_bw     perftest output (ib_write_bw, ib_read_bw, ib_send_bw, ib_atomic_bw and the `_lat` tests):
                  banner `RDMA_Write BW Test`, header block, `#bytes #iterations ...` table; banners printed
                  back to back before any table are the two ends of one (loopback) run
  sysimgguid_map  superbench's `ib_traffic_topo_aware_ibstat.txt`: `VM_hostname <host>` then the system image
                  GUID of that host's HCAs (pssh over `/sys/class/infiniband/*/sys_image_guid`)

Rows (HCA ports `<ca>/<port>`; iblinkinfo ports `0x<guid>/<port>`, else `<switch name>/<port>` or
`lid<n>/<port>`; ibdiagnet ports `lid<n>/<port>` or `0x<node guid>/<port>`):
  test          metric                          unit     params
  ibstat        state, phys_state               enum     text (and link_layer on state)
  ibstat        rate                            Gbit/s   text (`4X HDR`, ibstatus only)
  ibstat        lid, sm_lid                     id
  iblinkinfo    state, phys_state               enum     text, peer, peer_port
  iblinkinfo    rate (width x lane speed)       Gbit/s   text (`4X 14.0625 Gbps`), peer, peer_port
  ibdiagnet     errors, warnings                count    stage (per row of the stage table; without: -E-/-W- lines)
  ibdiagnet     nodes, switches, cas, aggregation_nodes, routers                  count
  ibdiagnet     <counter> (`ib_names` common name)                                count    saturated, bits, threshold
  ibdiagnet     <counter>_delta (increase during the run)                         count    threshold
  ib_*_bw       bw_peak, bw_average             Gbit/s   size, iterations (MB/sec columns are MiB/s, converted)
  ib_*_bw       msg_rate                        Mpps     size, iterations
  ib_*_lat      t_min, t_max, t_typical, t_avg, t_stdev, t_p99, t_p99_9           us       size, iterations
test_runs: one `ibstat` run per ibstat/ibstatus port (pass when Active/LinkUp, fail otherwise, incomplete when
cut), one `ibstat` error per ibpanic line; one `ibdiagnet` run per report (fail on any -E- line, error when it
could not discover the fabric, incomplete without its stage summary); one run per perftest invocation (error
on a tool error line, incomplete without result rows or closing rule). Assets: `hca` per port (port GUID, CA
type, firmware) and `node` per host and GUID of a sysimgguid map (uuid = system image GUID).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from triage.sources.base import Fixups, ParseContext, Parser, Sniffed
from triage.sources.document import DocumentSource
from triage.sources.ib_names import (
    COUNTER_BITS,
    PHYS_STATES,
    PORT_STATES,
    counter_name,
    phys_state,
    port_state,
    saturated,
)
from triage.sources.lines import LineBatch
from triage.sources.records import COUNT, ENUM, GBITPS, MICROSECONDS, Malformed, Records, table_frame

KIND = "ib_status"

LID = "id"  # unit of LIDs: an address, not a quantity
MPPS = "Mpps"
# perftest's "MB/sec" is MiB/s (its format factor is 0x100000); in Gbit/s that is x 2^20 x 8 / 1e9.
MIB_PER_S_IN_GBIT = 8 * 1048576 / 1e9
ACTIVE, LINKUP = 4, 5

# ---------------------------------------------------------------------------------------------- sniffing

_IBSTAT_CA = re.compile(r"^CA '(?P<ca>[^']+)'\s*$")
_IBSTAT_TYPE = re.compile(r"^\s+CA type:")
_IBPANIC = re.compile(r"^ibpanic: \[\d+\] (?P<msg>.*)$")
_IBSTAT_PANIC = re.compile(r"^ibpanic: \[\d+\] main: (?:stat of IB device|'[^']*' IB device can't be found)")
_IBSTATUS_HEAD = re.compile(r"^Infiniband device '(?P<ca>[^']+)' port (?P<port>\d+) status:\s*$")
_LINK_SIGNATURE = re.compile(r"\d+\s+\d+\[[^\]]*\]\s*==\(.*\)==>")
_DIAG_SIGNATURE = re.compile(
    r"^(?:Loading IBDIAGNET from:|-I- Discovering \.\.\. \d+ nodes|-I- Stage\s+Warnings\s+Errors"
    r"|-I- Stages Status Report:)"
)
_PERF_BANNER = re.compile(
    r"^\s*(?P<verb>RDMA_Write|RDMA_Read|Send|Atomic)\b(?:\s+\w+)*?\s+(?P<kind>BW|Latency)(?:\s+Multicast)?\s+Test\s*$"
)
_PERF_TABLE = re.compile(r"^\s*#bytes\s+#iterations\s+(?P<columns>.*\S)\s*$")
_VM_HOSTNAME = re.compile(r"^VM_hostname\s+(?P<host>\S+)\s*$")
_SYSIMGGUID = re.compile(r"^(?P<guid>[0-9a-fA-F]{16})\s*$")


def _any(sample: list[str], rx: re.Pattern[str]) -> bool:
    return any(rx.search(line) for line in sample)


def _is_ibstat(sample: list[str]) -> bool:
    has_ca = _any(sample, _IBSTAT_CA) and _any(sample, _IBSTAT_TYPE)
    return has_ca or _any(sample, _IBSTAT_PANIC)


def _is_sysimgguid_map(sample: list[str]) -> bool:
    first = next((line for line in sample if line.strip()), "")
    return bool(_VM_HOSTNAME.match(first)) and _any(sample, _SYSIMGGUID)


_SNIFFERS: list[tuple[str, Callable[[list[str]], bool]]] = [
    ("ibstat", _is_ibstat),
    ("ibstatus", lambda sample: _any(sample, _IBSTATUS_HEAD)),
    ("iblinkinfo", lambda sample: _any(sample, _LINK_SIGNATURE)),
    ("ibdiagnet", lambda sample: _any(sample, _DIAG_SIGNATURE)),
    ("ib_write_bw", lambda sample: _any(sample, _PERF_BANNER) or _any(sample, _PERF_TABLE)),
    ("sysimgguid_map", _is_sysimgguid_map),
]


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """An InfiniBand status or link-test output, recognised by the tool's own markers."""
    for fmt, recognised in _SNIFFERS:
        if recognised(sample):
            return Sniffed(KIND, fmt)
    return None


def parser(sniffed: Sniffed, ctx: ParseContext) -> Parser:
    """The parser of the sniffed layout."""
    if sniffed.format == "iblinkinfo":
        return IblinkinfoParser()
    return _DOCUMENTS[sniffed.format or ""](ctx, sniffed.format)


def _params(**values: Any) -> dict[str, Any]:
    """Parameters without the ones that are unknown."""
    return {key: value for key, value in values.items() if value is not None}


# ------------------------------------------------------------------------------------- ibstat / ibstatus

# Field names of both tools -> one key: ibstat `Physical state`, ibstatus `phys state` ...
_PORT_KEYS = {
    "state": "state",
    "physical_state": "phys",
    "phys_state": "phys",
    "rate": "rate",
    "base_lid": "lid",
    "sm_lid": "sm_lid",
    "port_guid": "guid",
    "link_layer": "link_layer",
    "default_gid": "gid",
}
_FIELD = re.compile(r"^\s+(?P<key>[A-Za-z][A-Za-z_ ]*?):\s*(?P<value>.*?)\s*$")
_IBSTAT_PORT = re.compile(r"^\s+Port (?P<port>\d+):\s*$")
_IBWARN = re.compile(r"^ibwarn: ")
_RATE = re.compile(r"^(?P<value>\d+(?:\.\d+)?)(?:\s*Gb/sec)?(?:\s*\((?P<text>[^)]*)\))?")
_QUOTED_CA = re.compile(r"'(?P<ca>[^']+)'")


@dataclass
class _Value:
    text: str
    line_no: int


@dataclass
class _Port:
    """One port block of ibstat or ibstatus: its values with the line each came from."""

    ca: str
    port: int
    line_no: int
    values: dict[str, _Value] = field(default_factory=dict)
    model: str | None = None
    firmware: str | None = None
    listed: set[int] = field(default_factory=set)  # of a CA block: the port numbers it listed

    @property
    def device(self) -> str:
        return f"{self.ca}/{self.port}"

    def text(self, key: str) -> str | None:
        value = self.values.get(key)
        return value.text if value else None


def _field_key(name: str) -> str:
    return re.sub(r"[ _]+", "_", name.strip().lower())


def _state_text(text: str) -> str:
    """`4: ACTIVE` -> `ACTIVE`; `Active` stays."""
    number, sep, word = text.partition(":")
    return word.strip() if sep and number.strip().isdigit() else text.strip()


def _number(text: str) -> int:
    """A decimal or `0x` hexadecimal integer."""
    return int(text, 16) if text.lower().startswith("0x") else int(text)


def _number_or_none(text: str) -> int | None:
    try:
        return _number(text)
    except ValueError:
        return None


def _guid(text: str | None) -> str | None:
    """A GUID as `0x` and 16 lowercase hex digits; None when absent or all zeros."""
    if not text:
        return None
    try:
        number = int(text, 16)
    except ValueError:
        return None
    return f"0x{number:016x}" if number else None


def _gid_guid(gid: str | None) -> str | None:
    """The port GUID inside an InfiniBand GID (`fe80:...:0015:5dff:fd34:11eb`): its low 64 bits."""
    if not gid:
        return None
    groups = gid.split(":")
    return _guid("".join(group.rjust(4, "0") for group in groups[-4:])) if len(groups) == 8 else None


def _emit_port(records: Records, port: _Port) -> None:
    """The test run, measurements and asset of one ibstat/ibstatus port."""
    test, device = "ibstat", port.device
    state, phys = port.values.get("state"), port.values.get("phys")
    if state is None or phys is None:
        missing = "state" if state is None else "physical state"
        run_id = records.run(device, test, "incomplete", port.line_no, detail=f"{device}: no {missing} reported")
    else:
        up = port_state(state.text) == ACTIVE and phys_state(phys.text) == LINKUP
        detail = None if up else f"{device} {_state_text(state.text)}/{_state_text(phys.text)}"
        run_id = records.run(device, test, "pass" if up else "fail", port.line_no, detail=detail)
    link_layer = port.text("link_layer")
    if state is not None:
        params = _params(text=_state_text(state.text), link_layer=link_layer)
        records.measure(device, test, "state", port_state(state.text), ENUM, state.line_no, params, run_id)
    if phys is not None:
        params = {"text": _state_text(phys.text)}
        records.measure(device, test, "phys_state", phys_state(phys.text), ENUM, phys.line_no, params, run_id)
    rate = port.values.get("rate")
    m = _RATE.match(rate.text) if rate else None
    if rate and m:
        params = _params(text=m["text"])
        records.measure(device, test, "rate", float(m["value"]), GBITPS, rate.line_no, params, run_id)
    for key, metric in (("lid", "lid"), ("sm_lid", "sm_lid")):
        value = port.values.get(key)
        if value is not None:
            records.measure(device, test, metric, _number_or_none(value.text), LID, value.line_no, run_id=run_id)
    guid = _guid(port.text("guid"))
    if guid is None and link_layer == "InfiniBand":
        guid = _gid_guid(port.text("gid"))
    records.asset("hca", device, port.line_no, uuid=guid, model=port.model, firmware=port.firmware)


_CA_KEYS = {"ca_type": "ca_type", "firmware_version": "fw", "number_of_ports": "ports"}


class IbstatSource(DocumentSource):
    """`ibstat`: CA blocks with port sub-blocks."""

    KIND = KIND

    def read(self, lines: list[str], records: Records) -> None:
        """A run, measurements and an asset per port; an `ibstat` error run per ibpanic line."""
        ca: _Port | None = None  # the CA block: its own fields, port number 0
        port: _Port | None = None
        for line_no, line in enumerate(lines, 1):
            if not line.strip() or _IBWARN.match(line):
                continue
            head, panic = _IBSTAT_CA.match(line), _IBPANIC.match(line)
            if head or panic:
                _close_ca(records, ca, port)
                ca, port = (_Port(head["ca"], 0, line_no), None) if head else (None, None)
                if panic:
                    where = _QUOTED_CA.search(panic["msg"])
                    params = _params(ca=where["ca"] if where else None)
                    records.run(None, "ibstat", "error", line_no, params, detail=line.strip())
            elif ca is None:
                continue  # lines before the first CA (a prompt, a banner) are not ibstat's
            elif m := _IBSTAT_PORT.match(line):
                if port is not None:
                    _emit_port(records, port)
                port = _Port(ca.ca, int(m["port"]), line_no, model=ca.text("ca_type"), firmware=ca.text("fw"))
                ca.listed.add(port.port)
            elif m := _FIELD.match(line):
                key = _field_key(m["key"])
                if port is not None:
                    port.values[_PORT_KEYS.get(key, key)] = _Value(m["value"], line_no)
                else:
                    ca.values[_CA_KEYS.get(key, key)] = _Value(m["value"], line_no)
            else:
                _close_ca(records, ca, port)
                raise Malformed(line_no, f"not an ibstat line inside CA '{ca.ca}': {line.strip()[:80]!r}")
        _close_ca(records, ca, port)


def _close_ca(records: Records, ca: _Port | None, port: _Port | None) -> None:
    """Emit the open port, and an incomplete run for each port the CA announced but did not list."""
    if port is not None:
        _emit_port(records, port)
    if ca is None:
        return
    for number in range(1, (_number_or_none(ca.text("ports") or "") or 0) + 1):
        if number not in ca.listed:
            device = f"{ca.ca}/{number}"
            records.run(device, "ibstat", "incomplete", ca.line_no, detail=f"{device}: port not listed")


class IbstatusSource(DocumentSource):
    """`ibstatus`: one block per port."""

    KIND = KIND

    def read(self, lines: list[str], records: Records) -> None:
        """A run, measurements and an asset per port."""
        port: _Port | None = None
        for line_no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            if m := _IBSTATUS_HEAD.match(line):
                if port is not None:
                    _emit_port(records, port)
                port = _Port(m["ca"], int(m["port"]), line_no)
            elif port is None:
                continue  # before the first block
            elif m := _FIELD.match(line):
                key = _field_key(m["key"])
                port.values[_PORT_KEYS.get(key, key)] = _Value(m["value"], line_no)
            else:
                _emit_port(records, port)
                raise Malformed(line_no, f"not an ibstatus line in the block of {port.device}: {line.strip()[:80]!r}")
        if port is not None:
            _emit_port(records, port)


# ------------------------------------------------------------------------------------------- iblinkinfo

_LINK_HEADER = r"^(?:Switch|CA|Router):?\s+(?:(?P<hguid>0x[0-9a-fA-F]+)\s+)?(?P<hname>.*?):\s*$"
_LINK_PORT = (
    r"^\s*(?:(?P<guid>0x[0-9a-fA-F]+)\s+(?:\"[^\"]*\"\s+)?)?"
    r"(?P<lid>\d+)\s+(?P<port>\d+)\[[^\]]*\]\s*==\(\s*"
    r"(?:(?P<width>\d+)X\s+(?:(?P<speed>\d+(?:\.\d+)?)\s*Gbps(?P<fdr10>\s*\(FDR10\))?|[^/()]*?)\s+)?"
    r"(?P<state>[A-Za-z]+)/\s*(?P<phys>[A-Za-z]+)\s*\)(?:\s*\([^)]*\))?==>\s*"
    r"(?:(?:0x[0-9a-fA-F]+\s+)?\d+\s+(?P<peer_port>\d+)\[[^\]]*\]\s+\"(?P<peer>.*)\"\s*(?:\(|$))?"
)
_DIFF_LINE = r"^[<>] "


class IblinkinfoParser:
    """`iblinkinfo`, read batch by batch with polars: a fabric's worth of port lines per file."""

    def __init__(self) -> None:
        self._section: str | None = None  # the section GUID of the last line of the previous batch
        self._error: str | None = None

    def parse(self, batch: LineBatch) -> dict[str, pl.DataFrame]:
        """Events for every line; state, phys_state and rate for every port line until a malformed one."""
        frame = pl.DataFrame({"line_no": batch.line_numbers(), "message": batch.lines})
        out = {"events": frame.with_columns(source=pl.lit(KIND))}
        if self._error is None:
            measurements = self._measurements(frame)
            if len(measurements):
                out["measurements"] = measurements
        return out

    def finish(self) -> Fixups:
        """The first malformed port line, if any."""
        return Fixups(error=self._error)

    def _measurements(self, frame: pl.DataFrame) -> pl.DataFrame:
        header = pl.col("message").str.extract_groups(_LINK_HEADER)
        # The switch or CA section a line is in: its header's GUID, else its name.
        lines = frame.with_columns(
            section=pl.coalesce(header.struct["hguid"].str.to_lowercase(), header.struct["hname"])
            .forward_fill()
            .fill_null(pl.lit(self._section, pl.String))
        )
        self._section = lines["section"].last()
        ports = (
            lines.filter(
                pl.col("message").str.contains("==(", literal=True)
                & pl.col("message").str.contains(")==>", literal=True)
                & ~pl.col("message").str.contains(_DIFF_LINE)
            )
            .with_columns(fields=pl.col("message").str.extract_groups(_LINK_PORT))
            .unnest("fields")
        )
        bad = ports.filter(pl.col("port").is_null())
        if len(bad):
            first = bad.row(0, named=True)
            self._error = (
                f"line {first['line_no']}: iblinkinfo port line not understood: {first['message'].strip()[:80]!r}"
            )
            ports = ports.filter(pl.col("line_no") < first["line_no"])
        return _link_measurements(ports)


def _link_measurements(ports: pl.DataFrame) -> pl.DataFrame:
    """The three measurements of each parsed iblinkinfo port line."""
    peer = pl.when(pl.col("peer") != "").then(pl.col("peer"))
    ports = ports.with_columns(
        device=pl.coalesce(
            pl.col("guid").str.to_lowercase(),
            pl.col("section"),
            pl.lit("lid") + pl.col("lid"),
        )
        + "/"
        + pl.col("port"),
        peer=peer,
        peer_port=pl.when(peer.is_not_null()).then(pl.col("peer_port").cast(pl.Int64)),
        rate=pl.col("width").cast(pl.Float64) * pl.col("speed").cast(pl.Float64),
        rate_text=pl.concat_str(pl.col("width"), pl.lit("X "), pl.col("speed"), pl.lit(" Gbps"))
        + pl.when(pl.col("fdr10") != "").then(pl.lit(" (FDR10)")).otherwise(pl.lit("")),
    )

    def params(text: pl.Expr) -> pl.Expr:
        with_peer = pl.struct(pl.col("peer"), pl.col("peer_port"), text.alias("text")).struct.json_encode()
        return (
            pl.when(pl.col("peer").is_null())
            .then(pl.struct(text.alias("text")).struct.json_encode())
            .otherwise(with_peer)
        )

    def letters(column: str) -> pl.Expr:
        return pl.col(column).str.to_lowercase().str.replace_all("[^a-z]", "")

    parts = [
        ports.select(
            "device", "line_no", metric=pl.lit("state"), unit=pl.lit(ENUM), params=params(pl.col("state")),
            value=letters("state").replace_strict(PORT_STATES, default=None, return_dtype=pl.Float64),
        ),
        ports.select(
            "device", "line_no", metric=pl.lit("phys_state"), unit=pl.lit(ENUM), params=params(pl.col("phys")),
            value=letters("phys").replace_strict(PHYS_STATES, default=None, return_dtype=pl.Float64),
        ),
        ports.filter(pl.col("rate").is_not_null()).select(
            "device", "line_no", metric=pl.lit("rate"), unit=pl.lit(GBITPS), params=params(pl.col("rate_text")),
            value=pl.col("rate"),
        ),
    ]  # fmt: skip
    long = pl.concat(parts).filter(pl.col("value").is_not_null()).sort("line_no", maintain_order=True)
    return _as_table("measurements", long.with_columns(test=pl.lit("iblinkinfo")))


def _as_table(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with exactly the columns (and types) of `table`, missing ones null."""
    schema = table_frame(table, []).schema
    return frame.select(
        [
            pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )


# -------------------------------------------------------------------------------------------- ibdiagnet

_DIAG_LINE = re.compile(r"^\s*-(?P<level>[IWE])-\s*(?P<msg>.*?)\s*$")
_DIAG_DISCOVERED = re.compile(
    r"Discovering \.\.\. (?P<nodes>\d+) nodes \((?P<switches>\d+) Switches & (?P<cas>\d+) CA-s\) discovered"
)
_FABRIC_COUNTS = {
    "Total Nodes": "nodes",
    "IB Switches": "switches",
    "IB Channel Adapters": "cas",
    "IB Aggregation Nodes": "aggregation_nodes",
    "IB Routers": "routers",
}
_FABRIC_SUMMARY = re.compile(rf"^(?P<key>{'|'.join(_FABRIC_COUNTS)})\s*:\s*(?P<value>\d+)\s*$")
_STAGE_HEADER = re.compile(r"^(?:-I-)?\s*Stage\s+(?P<first>Warnings|Errors)\s+(?:Warnings|Errors)\b", re.IGNORECASE)
_STAGE_ROW = re.compile(r"^(?:-I-)?\s*(?P<stage>\S.*?)\s+(?P<a>\d+)\s+(?P<b>\d+)(?:\s+\S.*?)?\s*$")
_PM_PORT = re.compile(r"^lid=0x(?P<lid>[0-9a-fA-F]+)\b.*?(?:Port=|/P)(?P<port>\d+)\s*$")
_PM_TITLE = re.compile(r"^\s+Perform\w* Monitor counter\s*:\s*Value\s*$")
_PM_ROW = re.compile(r"^\s+(?P<name>\w+)\s*:\s*(?P<value>0x[0-9a-fA-F]+|\d+)\s*(?:\((?P<note>[^)]*)\))?\s*$")
_PM_INLINE = re.compile(
    r"^lid=0x(?P<lid>[0-9a-fA-F]+)\b.*?(?:Port=|/P)(?P<port>\d+)\b.*?counter\s*:\s*(?P<name>\w+)\s+"
    r"value\s*:?\s*(?P<value>0x[0-9a-fA-F]+|\d+)\s*(?:\((?P<note>[^)]*)\))?"
)
_PM_DELTA = re.compile(
    r'^(?P<node>\S+?)/P(?P<port>\d+)\s+-\s+"(?P<name>\w+)" increased during the run '
    r"\(difference value=(?P<value>\d+),\s*difference allowed threshold=(?P<threshold>\d+)\)"
)
_NODE_GUID = re.compile(r"^S[0-9a-fA-F]+/N(?P<guid>[0-9a-fA-F]+)$")
# ibdiagnet's PM counter names -> the names `counter_name` knows.
_DETAIL_ERRORS = 3


@dataclass
class _Diagnet:
    """What one ibdiagnet report said, gathered line by line."""

    run_id: int
    errors: list[str] = field(default_factory=list)
    warnings: int = 0
    discovered: bool = False
    summary_line: int | None = None  # the stage table header, or the closing `Done` line
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # fabric count -> (value, line)
    pm_device: str | None = None  # the port of the PM counter block being read
    stage_order: tuple[str, str] | None = None  # column order of the stage table being read


class IbdiagnetSource(DocumentSource):
    """ibdiagnet 1.x and 2.x reports: stage results, error lines, fabric counts and port counters."""

    KIND = KIND

    def read(self, lines: list[str], records: Records) -> None:
        """One `ibdiagnet` run; its errors, warnings, stage table, fabric counts and counters."""
        first = next((no for no, line in enumerate(lines, 1) if line.strip()), 1)
        diag = _Diagnet(records.run(None, "ibdiagnet", "incomplete", first))
        for line_no, line in enumerate(lines, 1):
            self._line(records, diag, line_no, line)
        self._finish(records, diag)

    def _line(self, records: Records, diag: _Diagnet, line_no: int, line: str) -> None:
        if diag.stage_order is not None:
            if m := _STAGE_ROW.match(line):
                values = dict(zip(diag.stage_order, (int(m["a"]), int(m["b"])), strict=True))
                for metric in ("errors", "warnings"):
                    params = {"stage": m["stage"]}
                    records.measure(None, "ibdiagnet", metric, values[metric], COUNT, line_no, params, diag.run_id)
                return
            diag.stage_order = None
        if diag.pm_device is not None:
            if _PM_TITLE.match(line):
                return
            if m := _PM_ROW.match(line):
                self._counter(records, diag, diag.pm_device, m["name"], m["value"], m["note"], line_no)
                return
            diag.pm_device = None
        if m := _STAGE_HEADER.match(line):
            diag.summary_line = line_no
            diag.stage_order = ("warnings", "errors") if m["first"].lower() == "warnings" else ("errors", "warnings")
        elif m := _FABRIC_SUMMARY.match(line.strip()):
            diag.counts[_FABRIC_COUNTS[m["key"]]] = (int(m["value"]), line_no)
        elif m := _DIAG_LINE.match(line):
            self._message(records, diag, line_no, m["level"], m["msg"])

    def _message(self, records: Records, diag: _Diagnet, line_no: int, level: str, msg: str) -> None:
        if level == "E":
            diag.errors.append(msg)
        elif level == "W":
            diag.warnings += 1
        if level == "I" and msg.startswith("Done. Run time was"):
            diag.summary_line = diag.summary_line or line_no
        if m := _DIAG_DISCOVERED.search(msg):
            diag.discovered = True
            for key in ("nodes", "switches", "cas"):
                diag.counts.setdefault(key, (int(m[key]), line_no))
        if level == "I":
            return
        if m := _PM_INLINE.match(msg):
            device = f"lid{int(m['lid'], 16)}/{m['port']}"
            self._counter(records, diag, device, m["name"], m["value"], m["note"], line_no)
        elif m := _PM_PORT.match(msg):
            diag.pm_device = f"lid{int(m['lid'], 16)}/{m['port']}"
        elif m := _PM_DELTA.match(msg):
            node = _NODE_GUID.match(m["node"])
            device = f"0x{node['guid'].lower().rjust(16, '0')}/{m['port']}" if node else f"{m['node']}/{m['port']}"
            metric = f"{counter_name(m['name'])}_delta"
            params = {"threshold": int(m["threshold"])}
            records.measure(device, "ibdiagnet", metric, int(m["value"]), COUNT, line_no, params, diag.run_id)

    @staticmethod
    def _counter(
        records: Records, diag: _Diagnet, device: str, name: str, text: str, note: str | None, line_no: int
    ) -> None:
        metric, value = counter_name(name), _number(text)
        threshold = re.search(r"threshold\s*=\s*(\d+)", note or "")
        full = "overflow" in (note or "") or saturated(metric, value)
        params = _params(
            saturated=True if full else None,
            bits=COUNTER_BITS.get(metric) if full else None,
            threshold=int(threshold[1]) if threshold else None,
        )
        records.measure(device, "ibdiagnet", metric, value, COUNT, line_no, params, diag.run_id)

    @staticmethod
    def _finish(records: Records, diag: _Diagnet) -> None:
        """Fabric counts, totals, and the run's status: fail on any -E- line, incomplete when cut."""
        for metric, (value, line_no) in diag.counts.items():
            records.measure(None, "ibdiagnet", metric, value, COUNT, line_no, run_id=diag.run_id)
        for metric, value in (("errors", len(diag.errors)), ("warnings", diag.warnings)):
            records.measure(None, "ibdiagnet", metric, value, COUNT, diag.summary_line, run_id=diag.run_id)
        if diag.errors:
            shown = "; ".join(diag.errors[:_DETAIL_ERRORS])
            more = len(diag.errors) - _DETAIL_ERRORS
            detail = f"{shown} (+{more} more)" if more > 0 else shown
            records.set_status(diag.run_id, "fail" if diag.discovered else "error", detail)
        elif diag.summary_line is not None:
            records.set_status(diag.run_id, "pass")
        else:
            records.set_status(diag.run_id, "incomplete", "the report ends before its stage summary")


# ------------------------------------------------------------------------------------- perftest (ib_*_bw)

_PERF_HEADER = {
    "device": re.compile(r"\bDevice\s*:\s*(\S+)"),
    "qps": re.compile(r"\bNumber of qps\s*:\s*(\d+)"),
    "connection": re.compile(r"\bConnection type\s*:\s*(\S+)"),
    "link_type": re.compile(r"\bLink type\s*:\s*(\S+)"),
    "mtu": re.compile(r"^\s*Mtu\s*:\s*(\d+)"),
}
_PERF_INTS = {"qps", "mtu"}
_PERF_COMMAND = re.compile(r"\bib_(?:write|read|send|atomic)_(?:bw|lat)\b")
_PERF_PORT_ARG = re.compile(r"(?:\s-i\s*|\s--ib-port[= ])(?P<port>\d+)\b")
_PERF_ERROR = re.compile(
    r"^\s*(?:Couldn't|Unable to|Failed|Completion with error|IB device \S+ not found|Error\b|ERROR\b|"
    r"Problem with|Poll on CQ failed|Can't)"
)
_PERF_ROW = re.compile(r"^\s*(?P<size>\d+)\s+(?P<iters>\d+)(?P<values>(?:\s+(?:-?\d+(?:\.\d*)?|-?nan|-?inf))+)\s*$")
_PERF_RULE = re.compile(r"^\s*-{20,}\s*$")
_PERF_COLUMN = re.compile(r"(?P<name>[^\[\]]+?)\s*\[(?P<unit>[^\]]+)\]")
_PERF_METRICS = {
    "bw peak": "bw_peak",
    "bw average": "bw_average",
    "msgrate": "msg_rate",
    "99% percentile": "t_p99",
    "99.9% percentile": "t_p99_9",
}
_PERF_UNITS = {
    "gb/sec": (GBITPS, 1.0),
    "mb/sec": (GBITPS, MIB_PER_S_IN_GBIT),
    "mpps": (MPPS, 1.0),
    "usec": (MICROSECONDS, 1.0),
}
_PERF_VERBS = {"RDMA_Write": "write", "RDMA_Read": "read", "Send": "send", "Atomic": "atomic"}
_PERF_NAME = re.compile(r"ib_(?:write|read|send|atomic)_(?:bw|lat)")


@dataclass
class _Column:
    metric: str
    unit: str
    factor: float


@dataclass
class _PerfRun:
    """One perftest invocation: banner, header block, result table."""

    line_no: int
    test: str
    bidirectional: bool = False
    port: int = 1
    header: dict[str, str] = field(default_factory=dict)
    columns: list[_Column | None] | None = None  # None until the table header; None cells are unknown columns
    rows: list[tuple[int, int, int, list[float | None]]] = field(default_factory=list)  # line, size, iters, values
    closed: bool = False  # a rule line followed the last result row
    errors: list[str] = field(default_factory=list)


def _perf_columns(text: str) -> list[_Column | None]:
    columns: list[_Column | None] = []
    for m in _PERF_COLUMN.finditer(text):
        name, unit = m["name"].strip().lower(), _PERF_UNITS.get(m["unit"].strip().lower())
        metric = _PERF_METRICS.get(name, re.sub(r"\W+", "_", name).strip("_"))
        columns.append(_Column(metric, *unit) if unit else None)
    return columns


def _perf_value(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


class PerftestSource(DocumentSource):
    """perftest (ib_write_bw and friends): one run per invocation, one row of measurements per message size."""

    KIND = KIND

    def read(self, lines: list[str], records: Records) -> None:
        """Runs with their result rows; a run cut before its closing rule is incomplete."""
        name = _PERF_NAME.search(self.ctx.path)
        reader = _PerfReader(name[0] if name else "perftest")
        try:
            for line_no, line in enumerate(lines, 1):
                reader.line(line_no, line)
        finally:
            for run in reader.runs():
                _emit_perf_run(records, run)


class _PerfReader:
    """Splits perftest output into runs: a banner starts one, the result table fills it."""

    def __init__(self, default_test: str) -> None:
        self.default_test = default_test  # for a table printed without a banner
        self._runs: list[_PerfRun] = []
        self._port = 1  # `-i N` of the last command line echoed
        self._orphan: _PerfRun | None = None  # error lines before the banner of the run they belong to

    def runs(self) -> list[_PerfRun]:
        """The runs read; error lines no banner followed are a run of their own."""
        return [*self._runs, self._orphan] if self._orphan else list(self._runs)

    def line(self, line_no: int, line: str) -> None:
        """Read one line."""
        run = self._runs[-1] if self._runs else None
        if m := _PERF_BANNER.match(line):
            test = f"ib_{_PERF_VERBS[m['verb']]}_{'bw' if m['kind'] == 'BW' else 'lat'}"
            if run is None or run.columns is not None:  # back-to-back banners are the two ends of one run
                run = self._start(line_no, test)
            run.bidirectional = run.bidirectional or "Bidirectional" in line
        elif _PERF_COMMAND.search(line) and (m := _PERF_PORT_ARG.search(line)):
            self._port = int(m["port"])
        elif m := _PERF_TABLE.match(line):
            if run is None:
                run = self._start(line_no, self.default_test)
            run.columns = _perf_columns(m["columns"])
        elif _PERF_ERROR.match(line):
            if run is None or run.closed:  # before any banner, or after a finished run: the next run's
                self._orphan = self._orphan or _PerfRun(line_no, self.default_test, port=self._port)
                run = self._orphan
            run.errors.append(line.strip())
        elif run is None:
            return
        elif _PERF_RULE.match(line):
            run.closed = run.closed or bool(run.rows)
        elif run.columns is not None and (m := _PERF_ROW.match(line)):
            values = m["values"].split()
            if len(values) != len(run.columns):
                raise Malformed(line_no, f"result row has {len(values)} values, the table header {len(run.columns)}")
            run.rows.append((line_no, int(m["size"]), int(m["iters"]), [_perf_value(v) for v in values]))
            run.closed = False
        else:
            for key, rx in _PERF_HEADER.items():
                if key not in run.header and (m := rx.search(line)):
                    run.header[key] = m[1]

    def _start(self, line_no: int, test: str) -> _PerfRun:
        run = _PerfRun(line_no, test, port=self._port)
        if self._orphan is not None:
            run.errors, self._orphan = self._orphan.errors, None
        self._runs.append(run)
        return run


def _emit_perf_run(records: Records, run: _PerfRun) -> None:
    name = run.header.get("device")
    device = f"{name}/{run.port}" if name else None
    if run.errors:
        status, detail = "error", "; ".join(run.errors[:_DETAIL_ERRORS])
    elif not run.rows:
        status, detail = "incomplete", "no result rows"
    elif not run.closed:
        status, detail = "incomplete", f"the results end after the {run.rows[-1][1]}-byte row"
    else:
        status, detail = "pass", None
    header = {key: int(value) if key in _PERF_INTS else value for key, value in run.header.items() if key != "device"}
    params = _params(**header, bidirectional=True if run.bidirectional else None)
    run_id = records.run(device, run.test, status, run.line_no, params, detail)
    for line_no, size, iterations, values in run.rows:
        for column, value in zip(run.columns or [], values, strict=True):
            if column is not None and value is not None:
                params = {"size": size, "iterations": iterations}
                records.measure(
                    device, run.test, column.metric, value * column.factor, column.unit, line_no, params, run_id
                )


# ---------------------------------------------------------------------------------------- sysimgguid map


class SysimgguidMapSource(DocumentSource):
    """superbench's per-VM list of HCA system image GUIDs: a `node` asset per host and GUID."""

    KIND = KIND

    def read(self, lines: list[str], records: Records) -> None:
        """A `node` asset (uuid = system image GUID) for each GUID under a `VM_hostname` line."""
        host: str | None = None
        seen: set[tuple[str, str]] = set()
        for line_no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            if m := _VM_HOSTNAME.match(line):
                host = m["host"]
            elif (m := _SYSIMGGUID.match(line)) and host is not None:
                guid = _guid(m["guid"])
                if guid is not None and (host, guid) not in seen:
                    seen.add((host, guid))
                    records.asset("node", None, line_no, host=host, uuid=guid)  # type: ignore[arg-type]
            else:
                raise Malformed(
                    line_no, f"expected `VM_hostname <host>` or a system image GUID, got {line.strip()[:80]!r}"
                )


_DOCUMENTS: dict[str, Callable[[ParseContext, str | None], DocumentSource]] = {
    "ibstat": IbstatSource,
    "ibstatus": IbstatusSource,
    "ibdiagnet": IbdiagnetSource,
    "ib_write_bw": PerftestSource,
    "sysimgguid_map": SysimgguidMapSource,
}
