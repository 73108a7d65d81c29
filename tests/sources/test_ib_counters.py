"""InfiniBand counters: sysfs dumps, perfquery and ibqueryerrors, inline samples and every real file."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from triage.ingest import ingest
from triage.sources import ib_counters
from triage.sources.reading import Parsed, parse_bytes, parse_path
from triage.sources.records import canonical_json
from triage.store import Store

SNAPSHOT = datetime(2025, 3, 1, 12, 0, 0)
IB = Path("infiniband")
TREYDOCK = IB / "treydock_infiniband_exporter"
SYSFS = IB / "sysfs_counters_gpud"
IQE_REAL = IB / "issue_excerpts" / "linux-rdma-list__ibqueryerrors_sx6036_link_errors.txt"


def text_of(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def parse(lines: list[str], name: str = "node1/ib.txt", batch_bytes: int = 1 << 20) -> Parsed:
    return parse_bytes(text_of(lines), name, SNAPSHOT, batch_bytes=batch_bytes)


def values(parsed: Parsed, device: str | None = None) -> dict[tuple[str | None, str], float]:
    """(device, metric) -> value of every measurement (of one device when given)."""
    frame = parsed.table("measurements")
    if device is not None:
        frame = frame.filter(pl.col("device") == device)
    return {(row["device"], row["metric"]): row["value"] for row in frame.iter_rows(named=True)}


def measurement(parsed: Parsed, device: str | None, metric: str, **params: Any) -> dict[str, Any]:
    """The one measurement of `metric` on `device` (whose params contain `params`)."""
    frame = parsed.table("measurements").filter(
        pl.col("metric") == metric,
        pl.col("device").is_null() if device is None else pl.col("device") == device,
    )
    rows = [r for r in frame.iter_rows(named=True) if params.items() <= _params(r).items()]
    assert len(rows) == 1, rows
    return rows[0]


def _params(row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(row["params"]) if row["params"] else {}


def saturated_rows(parsed: Parsed) -> list[tuple[str, str, float, int]]:
    frame = parsed.table("measurements").filter(pl.col("params").str.contains('"saturated":true'))
    return sorted((r["device"], r["metric"], r["value"], _params(r)["bits"]) for r in frame.iter_rows(named=True))


def assert_events_cover(parsed: Parsed, lines: int) -> None:
    events = parsed.table("events")
    assert events["line_no"].to_list() == list(range(1, lines + 1))
    assert set(events["source"]) == {"ib_counters"}


# -- sysfs ---------------------------------------------------------------------------------------------------------

SYSFS_DUMP = [
    "./mlx5_0/board_id:MT_0000000838",
    "./mlx5_0/fw_ver:28.39.2048",
    "./mlx5_0/hca_type:MT4129",
    "./mlx5_0/node_desc:gpu-node-017 mlx5_0",
    "./mlx5_0/node_guid:a088:c203:0045:1a2c",
    "./mlx5_0/node_type:1: CA",
    "./mlx5_0/ports/1/counters/VL15_dropped:0",
    "./mlx5_0/ports/1/counters/excessive_buffer_overrun_errors:0",
    "./mlx5_0/ports/1/counters/link_downed:255",
    "./mlx5_0/ports/1/counters/link_error_recovery:3",
    "./mlx5_0/ports/1/counters/port_rcv_data:91834012837461",
    "./mlx5_0/ports/1/counters/port_xmit_data:91833998822004",
    "./mlx5_0/ports/1/counters/port_xmit_discards:65535",
    "./mlx5_0/ports/1/counters/port_xmit_wait:4294967295",
    "./mlx5_0/ports/1/counters/symbol_error:17",
    "./mlx5_0/ports/1/gids/0:fe80:0000:0000:0000:a088:c203:0045:1a2c",
    "./mlx5_0/ports/1/hw_counters/out_of_buffer:12",
    "./mlx5_0/ports/1/hw_counters/rnr_nak_retry_err:0",
    "./mlx5_0/ports/1/lid:0x1a3",
    "./mlx5_0/ports/1/link_layer:InfiniBand",
    "./mlx5_0/ports/1/phys_state:2: Polling",
    "./mlx5_0/ports/1/rate:10 Gb/sec (4X SDR)",
    "./mlx5_0/ports/1/sm_lid:0x1",
    "./mlx5_0/ports/1/state:1: DOWN",
]

SYSFS_ABSOLUTE = [
    "/sys/class/infiniband/mlx5_3/fw_ver: 28.41.1000",
    "/sys/class/infiniband/mlx5_3/ports/1/counters/symbol_error: 0",
    "/sys/class/infiniband/mlx5_3/ports/1/counters/link_downed: 2",
    "/sys/class/infiniband/mlx5_3/ports/1/hw_counters/out_of_buffer: 0",
    "/sys/class/infiniband/mlx5_3/ports/1/rate: 400 Gb/sec (4X NDR)",
    "/sys/class/infiniband/mlx5_3/ports/1/state: 4: ACTIVE",
    "/sys/class/infiniband/mlx5_3/ports/1/phys_state: 5: LinkUp",
]

SYSFS_PDSH = [
    "gpu-a01: /sys/class/infiniband/mlx5_0/ports/1/counters/symbol_error:0",
    "gpu-a01: /sys/class/infiniband/mlx5_0/ports/1/counters/link_downed:1",
    "gpu-a01: /sys/class/infiniband/mlx5_0/ports/1/state:4: ACTIVE",
    "gpu-a02: /sys/class/infiniband/mlx5_0/ports/1/counters/symbol_error:4118",
    "gpu-a02: /sys/class/infiniband/mlx5_0/ports/1/counters/link_downed:0",
    "gpu-a02: /sys/class/infiniband/mlx5_0/ports/1/state:1: DOWN",
]


def test_sysfs_dump_rows() -> None:
    parsed = parse(SYSFS_DUMP)
    assert (parsed.kind, parsed.format, parsed.host, parsed.error) == ("ib_counters", "sysfs", None, None)
    assert_events_cover(parsed, len(SYSFS_DUMP))
    assert values(parsed) == {
        ("mlx5_0/1", "VL15_dropped"): 0,
        ("mlx5_0/1", "excessive_buffer_overrun_errors"): 0,
        ("mlx5_0/1", "link_downed"): 255,
        ("mlx5_0/1", "link_error_recovery"): 3,
        ("mlx5_0/1", "port_rcv_data"): 91834012837461,
        ("mlx5_0/1", "port_xmit_data"): 91833998822004,
        ("mlx5_0/1", "port_xmit_discards"): 65535,
        ("mlx5_0/1", "port_xmit_wait"): 4294967295,
        ("mlx5_0/1", "symbol_error"): 17,
        ("mlx5_0/1", "out_of_buffer"): 12,
        ("mlx5_0/1", "rnr_nak_retry_err"): 0,
        ("mlx5_0/1", "phys_state"): 2,
        ("mlx5_0/1", "rate"): 10,
        ("mlx5_0/1", "state"): 1,
    }
    assert saturated_rows(parsed) == [
        ("mlx5_0/1", "link_downed", 255, 8),
        ("mlx5_0/1", "port_xmit_discards", 65535, 16),
        ("mlx5_0/1", "port_xmit_wait", 4294967295, 32),
    ]
    frame = parsed.table("measurements")
    assert set(frame["test"]) == {"ib_counters"}
    assert set(frame["ts"]) == {SNAPSHOT}
    assert frame["run_id"].null_count() == frame.height


@pytest.mark.parametrize(
    ("metric", "unit", "params", "line_no"),
    [
        pytest.param("symbol_error", "count", {"group": "counters"}, 15, id="counter"),
        pytest.param("port_xmit_data", "4B-words", {"group": "counters"}, 12, id="data-in-words"),
        pytest.param(
            "link_downed", "count", {"group": "counters", "saturated": True, "bits": 8}, 9, id="saturated-8-bit"
        ),
        pytest.param("out_of_buffer", "count", {"group": "hw_counters"}, 17, id="hw-counter"),
        pytest.param("state", "enum", {"text": "DOWN"}, 24, id="state"),
        pytest.param("phys_state", "enum", {"text": "Polling"}, 21, id="phys-state"),
        pytest.param("rate", "Gbit/s", {"text": "4X SDR"}, 22, id="rate"),
    ],
)
def test_sysfs_units_and_params(metric: str, unit: str, params: dict[str, Any], line_no: int) -> None:
    row = measurement(parse(SYSFS_DUMP), "mlx5_0/1", metric)
    assert (row["unit"], row["params"], row["line_no"]) == (unit, canonical_json(params), line_no)


def test_sysfs_asset_takes_port_guid_from_gid() -> None:
    assets = parse(SYSFS_DUMP).table("assets")
    assert assets.drop("host", "index", "pci_bdf", "serial", "driver").to_dicts() == [
        {
            "kind": "hca",
            "device": "mlx5_0/1",
            "uuid": "0xa088c20300451a2c",
            "part_number": "MT_0000000838",
            "model": "MT4129",
            "firmware": "28.39.2048",
            "line_no": 2,
        }
    ]


def test_sysfs_asset_falls_back_to_node_guid() -> None:
    lines = [line for line in SYSFS_DUMP if "/gids/" not in line]
    lines = [line.replace("node_guid:a088:c203:0045:1a2c", "node_guid:a088:c203:0045:1a2b") for line in lines]
    assert parse(lines).table("assets")["uuid"].to_list() == ["0xa088c20300451a2b"]


def test_sysfs_absolute_paths_with_spaces() -> None:
    parsed = parse(SYSFS_ABSOLUTE)
    assert (parsed.format, parsed.error) == ("sysfs", None)
    assert values(parsed) == {
        ("mlx5_3/1", "symbol_error"): 0,
        ("mlx5_3/1", "link_downed"): 2,
        ("mlx5_3/1", "out_of_buffer"): 0,
        ("mlx5_3/1", "rate"): 400,
        ("mlx5_3/1", "state"): 4,
        ("mlx5_3/1", "phys_state"): 5,
    }
    assert measurement(parsed, "mlx5_3/1", "rate")["params"] == '{"text":"4X NDR"}'
    assets = parsed.table("assets")
    assert assets.select("device", "firmware", "uuid", "line_no").to_dicts() == [
        {"device": "mlx5_3/1", "firmware": "28.41.1000", "uuid": None, "line_no": 1}
    ]


def test_sysfs_fleet_dump_rows_name_their_hosts() -> None:
    parsed = parse(SYSFS_PDSH)
    assert (parsed.format, parsed.host, parsed.error) == ("sysfs", None, None)
    frame = parsed.table("measurements")
    got = {(r["host"], r["metric"]): r["value"] for r in frame.iter_rows(named=True)}
    assert got == {
        ("gpu-a01", "symbol_error"): 0,
        ("gpu-a01", "link_downed"): 1,
        ("gpu-a01", "state"): 4,
        ("gpu-a02", "symbol_error"): 4118,
        ("gpu-a02", "link_downed"): 0,
        ("gpu-a02", "state"): 1,
    }
    assert parsed.table("events")["host"].to_list() == ["gpu-a01"] * 3 + ["gpu-a02"] * 3
    assets = parsed.table("assets").sort("host")
    assert assets.select("host", "device", "line_no").rows() == [("gpu-a01", "mlx5_0/1", 1), ("gpu-a02", "mlx5_0/1", 4)]


@pytest.mark.parametrize("batch_bytes", [pytest.param(1 << 20, id="one-batch"), pytest.param(64, id="tiny-batches")])
def test_sysfs_batches_give_the_same_rows(batch_bytes: int) -> None:
    whole = parse(SYSFS_DUMP)
    split = parse(SYSFS_DUMP, batch_bytes=batch_bytes)
    for table in ("measurements", "assets", "events"):
        assert split.table(table).sort("line_no").equals(whole.table(table).sort("line_no"))


@pytest.mark.parametrize("batch_bytes", [pytest.param(1 << 20, id="one-batch"), pytest.param(80, id="tiny-batches")])
def test_sysfs_non_numeric_counter_is_the_fault(batch_bytes: int) -> None:
    lines = [*SYSFS_DUMP[:10], "./mlx5_0/ports/1/counters/port_rcv_data:9183401283746x", *SYSFS_DUMP[10:]]
    parsed = parse(lines, batch_bytes=batch_bytes)
    assert parsed.error == "line 11: counter port_rcv_data of mlx5_0/1 reads '9183401283746x', not a number"
    assert_events_cover(parsed, len(lines))
    frame = parsed.table("measurements")
    assert frame["line_no"].max() == 10
    assert sorted(frame["metric"]) == [
        "VL15_dropped",
        "excessive_buffer_overrun_errors",
        "link_downed",
        "link_error_recovery",
    ]
    assert parsed.table("assets")["firmware"].to_list() == ["28.39.2048"]


def test_sysfs_truncated_last_line_is_only_an_event() -> None:
    lines = [*SYSFS_ABSOLUTE[:3], "/sys/class/infiniband/mlx5_3/ports/1/counters/port_rcv_da"]
    parsed = parse(lines)
    assert parsed.error is None
    assert_events_cover(parsed, 4)
    assert len(parsed.table("measurements")) == 2


# -- perfquery -----------------------------------------------------------------------------------------------------

PQ_EXTENDED = [
    "# Port extended counters: Lid 412 port 1 (CapMask: 0x5A00 CapMask2: 0x0000002)",
    "PortSelect:......................1",
    "CounterSelect:...................0x0000",
    "PortXmitData:....................38291045520913",
    "PortRcvData:.....................38290017730014",
    "PortXmitPkts:....................92811044107",
    "PortRcvPkts:.....................92810882299",
    "PortUnicastXmitPkts:.............92810997104",
    "PortUnicastRcvPkts:..............92810301725",
    "PortMulticastXmitPkts:...........47003",
    "PortMulticastRcvPkts:............580574",
    "CounterSelect2:..................0x00000000",
    "SymbolErrorCounter:..............65535",
    "LinkErrorRecoveryCounter:........0",
    "LinkDownedCounter:...............4",
    "PortRcvErrors:...................12",
    "PortRcvRemotePhysicalErrors:.....0",
    "PortRcvSwitchRelayErrors:........0",
    "PortXmitDiscards:................0",
    "PortXmitConstraintErrors:........0",
    "PortRcvConstraintErrors:.........0",
    "LocalLinkIntegrityErrors:........0",
    "ExcessiveBufferOverrunErrors:....0",
    "VL15Dropped:.....................0",
    "PortXmitWait:....................8839201",
    "QP1Dropped:......................0",
]

PQ_PLAIN = [
    "# Port counters: Lid 7 port 1 (CapMask: 0x1600)",
    "PortSelect:......................1",
    "CounterSelect:...................0x0000",
    "SymbolErrorCounter:..............65535",
    "LinkErrorRecoveryCounter:........255",
    "LinkDownedCounter:...............12",
    "PortRcvErrors:...................3",
    "PortRcvRemotePhysicalErrors:.....0",
    "PortRcvSwitchRelayErrors:........0",
    "PortXmitDiscards:................0",
    "PortXmitConstraintErrors:........0",
    "PortRcvConstraintErrors:.........0",
    "CounterSelect2:..................0x00",
    "LocalLinkIntegrityErrors:........15",
    "ExcessiveBufferOverrunErrors:....0",
    "QP1Dropped:......................0",
    "VL15Dropped:.....................0",
    "PortXmitData:....................4294967295",
    "PortRcvData:.....................3982201110",
    "PortXmitPkts:....................4294967295",
    "PortRcvPkts:.....................2290124",
    "PortXmitWait:....................4294967295",
]

PQ_ALL_PORTS = [
    "# Port extended counters: Lid 1719 port 255 (CapMask: 0x5300 CapMask2: 0x0000002)",
    "PortSelect:......................255",
    "CounterSelect:...................0x0000",
    "PortXmitData:....................62304596874954",
    "PortRcvData:.....................51357833769129",
    "PortXmitPkts:....................224712152500",
    "PortRcvPkts:.....................125923311109",
    "PortUnicastXmitPkts:.............224687113586",
    "PortUnicastRcvPkts:..............120338464368",
    "PortMulticastXmitPkts:...........25038914",
    "PortMulticastRcvPkts:............5584846741",
    "CounterSelect2:..................0x00000000",
    "SymbolErrorCounter:..............9",
    "LinkErrorRecoveryCounter:........0",
    "LinkDownedCounter:...............2",
    "PortRcvErrors:...................0",
    "PortRcvRemotePhysicalErrors:.....0",
    "PortRcvSwitchRelayErrors:........31",
    "PortXmitDiscards:................5",
    "PortXmitConstraintErrors:........0",
    "PortRcvConstraintErrors:.........0",
    "LocalLinkIntegrityErrors:........0",
    "ExcessiveBufferOverrunErrors:....0",
    "VL15Dropped:.....................0",
    "PortXmitWait:....................59241465",
    "QP1Dropped:......................0",
]

PQ_NO_ADDL = [
    "# Port extended counters: Lid 133 port 1 (CapMask: 0x5A00 CapMask2: 0x0000000)",
    "PortSelect:......................1",
    "CounterSelect:...................0x0000",
    "PortXmitData:....................37108676853855",
    "PortRcvData:.....................37225401952885",
    "PortXmitPkts:....................96917117320",
    "PortRcvPkts:.....................100583719365",
    "CounterSelect2:..................0x00000000",
    "SymbolErrorCounter:..............0",
    "LinkDownedCounter:...............0",
]

PQ_RCV_ERR = [
    "# PortRcvErrorDetails counters: Lid 412 port 1",
    "PortSelect:......................1",
    "CounterSelect:...................0x0000",
    "PortLocalPhysicalErrors:.........65535",
    "PortMalformedPktErrors:..........2",
    "PortBufferOverrunErrors:.........0",
    "PortDLIDMappingErrors:...........0",
    "PortVLMappingErrors:.............0",
    "PortLoopingErrors:...............0",
]

PQ_TOOL_ERROR = [
    "ibwarn: [40512] mad_rpc: _do_madrpc failed; dport (Lid 9)",
    "ibwarn: [40512] pma_query_via: PerfMgt ClassPortInfo query failed; dport (Lid 9)",
    "perfquery: iberror: [pid 40512] main: failed: classportinfo query",
]


def test_perfquery_extended() -> None:
    parsed = parse(PQ_EXTENDED)
    assert (parsed.kind, parsed.format, parsed.host, parsed.error) == ("ib_counters", "perfquery", None, None)
    assert_events_cover(parsed, len(PQ_EXTENDED))
    frame = parsed.table("measurements")
    assert len(frame) == 22
    assert set(frame["device"]) == {"lid412/1"}
    assert set(frame["test"]) == {"perfquery"}
    assert set(frame["ts"]) == {SNAPSHOT}
    got = values(parsed)
    assert got[("lid412/1", "port_xmit_data")] == 38291045520913
    assert got[("lid412/1", "link_downed")] == 4
    assert got[("lid412/1", "port_rcv_errors")] == 12
    assert got[("lid412/1", "qp1_dropped")] == 0
    # With CapMask2 IsAddlPortCountersExtendedSupported the error counters are 64-bit: 65535 is a count.
    assert measurement(parsed, "lid412/1", "symbol_error")["params"] == '{"group":"PortCountersExtended"}'
    assert saturated_rows(parsed) == []
    assert measurement(parsed, "lid412/1", "port_rcv_data")["unit"] == "4B-words"
    assert measurement(parsed, "lid412/1", "port_xmit_packets")["unit"] == "count"


def test_perfquery_plain_counters_saturate() -> None:
    parsed = parse(PQ_PLAIN)
    assert (parsed.format, parsed.error) == ("perfquery", None)
    assert len(parsed.table("measurements")) == 18
    assert saturated_rows(parsed) == [
        ("lid7/1", "link_error_recovery", 255, 8),
        ("lid7/1", "local_link_integrity_errors", 15, 4),
        ("lid7/1", "port_xmit_data", 4294967295, 32),
        ("lid7/1", "port_xmit_packets", 4294967295, 32),
        ("lid7/1", "port_xmit_wait", 4294967295, 32),
        ("lid7/1", "symbol_error", 65535, 16),
    ]
    row = measurement(parsed, "lid7/1", "symbol_error")
    assert row["params"] == canonical_json({"group": "PortCounters", "saturated": True, "bits": 16})
    assert row["line_no"] == 4


def test_perfquery_several_ports_and_all_ports() -> None:
    parsed = parse([*PQ_EXTENDED, *PQ_ALL_PORTS])
    assert parsed.error is None
    frame = parsed.table("measurements")
    assert frame.group_by("device").len().sort("device").rows() == [("lid1719", 22), ("lid412/1", 22)]
    row = measurement(parsed, "lid1719", "port_rcv_switch_relay_errors")
    assert (row["value"], row["line_no"]) == (31, 44)
    assert row["params"] == canonical_json({"group": "PortCountersExtended", "ports": "all"})


def test_perfquery_reserved_error_fields_are_not_counts() -> None:
    parsed = parse(PQ_NO_ADDL)
    assert parsed.error is None
    assert sorted(values(parsed)) == [
        ("lid133/1", "port_rcv_data"),
        ("lid133/1", "port_rcv_packets"),
        ("lid133/1", "port_xmit_data"),
        ("lid133/1", "port_xmit_packets"),
    ]
    assert_events_cover(parsed, len(PQ_NO_ADDL))


def test_perfquery_receive_error_details() -> None:
    parsed = parse(PQ_RCV_ERR)
    assert parsed.error is None
    assert values(parsed) == {
        ("lid412/1", "port_local_physical_errors"): 65535,
        ("lid412/1", "port_malformed_pkt_errors"): 2,
        ("lid412/1", "port_buffer_overrun_errors"): 0,
        ("lid412/1", "port_dlid_mapping_errors"): 0,
        ("lid412/1", "port_vl_mapping_errors"): 0,
        ("lid412/1", "port_looping_errors"): 0,
    }
    assert saturated_rows(parsed) == [("lid412/1", "port_local_physical_errors", 65535, 16)]
    row = measurement(parsed, "lid412/1", "port_malformed_pkt_errors")
    assert row["params"] == '{"group":"PortRcvErrorDetails"}'


def test_perfquery_directed_route() -> None:
    lines = ["# Port counters: DR path slid 0; dlid 0; 0,1 port 3 (CapMask: 0x1600)", *PQ_PLAIN[1:]]
    assert set(parse(lines).table("measurements")["device"]) == {"dr0,1/3"}


def test_perfquery_tool_error_is_the_file_error() -> None:
    parsed = parse(PQ_TOOL_ERROR)
    assert (parsed.kind, parsed.format) == ("ib_counters", "perfquery")
    assert parsed.error == (
        "line 3: perfquery failed: [pid 40512] main: failed: classportinfo query; "
        "first warning: ibwarn: [40512] mad_rpc: _do_madrpc failed; dport (Lid 9)"
    )
    assert_events_cover(parsed, 3)
    assert parsed.table("measurements").is_empty()


def test_perfquery_tool_error_after_a_block_keeps_its_rows() -> None:
    parsed = parse([*PQ_EXTENDED, "perfquery: iberror: failed: perfextquery"])
    assert parsed.error == "line 27: perfquery failed: failed: perfextquery"
    assert len(parsed.table("measurements")) == 22


@pytest.mark.parametrize(
    ("lines", "error", "kept"),
    [
        pytest.param(PQ_EXTENDED[:1], "line 1: no counters after the header (output cut off?)", 0, id="header-only"),
        pytest.param(
            [*PQ_RCV_ERR[:1], *PQ_EXTENDED],
            "line 1: no counters after the header (output cut off?)",
            0,
            id="empty-block-first",
        ),
    ],
)
def test_perfquery_header_without_counters(lines: list[str], error: str, kept: int) -> None:
    parsed = parse(lines)
    assert (parsed.format, parsed.error) == ("perfquery", error)
    assert len(parsed.table("measurements")) == kept
    assert_events_cover(parsed, len(lines))


def test_perfquery_counter_before_header() -> None:
    lines = ["PortXmitWait:....................17", *PQ_EXTENDED]
    parsed = parse(lines)
    assert parsed.error == "line 1: counter PortXmitWait before any '# ... counters:' header"
    assert parsed.table("measurements").is_empty()


@pytest.mark.parametrize(
    ("lines", "error", "kept"),
    [
        pytest.param(
            [*PQ_EXTENDED[:15], "PortRcvErrors:..................."],
            "line 16: PortRcvErrors has no value (output cut off?)",
            11,
            id="cut-off-value",
        ),
        pytest.param(
            [*PQ_EXTENDED[:5], "PortXmitPkts:....................9281104n107", *PQ_EXTENDED[6:]],
            "line 6: PortXmitPkts reads '9281104n107', not a number",
            2,
            id="garbled-value",
        ),
    ],
)
def test_perfquery_bad_values(lines: list[str], error: str, kept: int) -> None:
    parsed = parse(lines)
    assert parsed.error == error
    assert len(parsed.table("measurements")) == kept
    assert_events_cover(parsed, len(lines))


# -- ibqueryerrors -------------------------------------------------------------------------------------------------

IQE_FAIL = [
    'Errors for 0x248a070300f8a2c0 "ib-leaf-r07u38"',
    "   GUID 0x248a070300f8a2c0 port ALL: [SymbolErrorCounter == 65535] [LinkDownedCounter == 3] [PortXmitWait == 2718]",
    "   GUID 0x248a070300f8a2c0 port 17: [SymbolErrorCounter == 65535] [LinkDownedCounter == 3]",
    "   GUID 0x248a070300f8a2c0 port 33: [PortXmitWait == 2718]",
    'Errors for "gpu-node-017 mlx5_3"',
    "   GUID 0xa088c2030045fa3e port 1: [LinkDownedCounter == 255] [PortRcvErrors == 12]",
    "",
    "## Summary: 24 nodes checked, 2 bad nodes found",
    "##          72 ports checked, 3 ports have errors beyond threshold",
    "## Thresholds: [PortXmitWait = 1000]",
    "## Suppressed: PortXmitDiscards",
]

IQE_PASS = [
    "",
    "## Summary: 24 nodes checked, 0 bad nodes found",
    "##          72 ports checked, 0 ports have errors beyond threshold",
    "## Thresholds: ",
    "## Suppressed:",
]

IQE_EXTENDED = [
    'Errors for 0x248a070300f8a2c0 "ib-leaf-r07u38"',
    "   GUID 0x248a070300f8a2c0 port 5: [SymbolErrorCounter == 65535 (65.535K)] [PortXmitWait == 4294967295 (4.295G)]",
    "",
    "## Summary: 24 nodes checked, 1 bad nodes found",
    "##          72 ports checked, 1 ports have errors beyond threshold",
    "## Thresholds: ",
    "## Suppressed:",
]

IQE_CHECKSTATE = [
    "## Summary: 16 nodes checked, 0 bad nodes found",
    "##          40 ports checked, 2 ports with bad state found",
]


def run_of(parsed: Parsed) -> dict[str, Any]:
    runs = parsed.table("test_runs")
    assert len(runs) == 1
    return runs.row(0, named=True)


def test_ibqueryerrors_fail() -> None:
    parsed = parse(IQE_FAIL)
    assert (parsed.kind, parsed.format, parsed.host, parsed.error) == ("ib_counters", "ibqueryerrors", None, None)
    assert_events_cover(parsed, len(IQE_FAIL))
    assert values(parsed) == {
        ("0x248a070300f8a2c0", "symbol_error"): 65535,
        ("0x248a070300f8a2c0", "link_downed"): 3,
        ("0x248a070300f8a2c0", "port_xmit_wait"): 2718,
        ("0x248a070300f8a2c0/17", "symbol_error"): 65535,
        ("0x248a070300f8a2c0/17", "link_downed"): 3,
        ("0x248a070300f8a2c0/33", "port_xmit_wait"): 2718,
        ("0xa088c2030045fa3e/1", "link_downed"): 255,
        ("0xa088c2030045fa3e/1", "port_rcv_errors"): 12,
        (None, "nodes_checked"): 24,
        (None, "bad_nodes"): 2,
        (None, "ports_checked"): 72,
        (None, "ports_with_errors"): 3,
    }
    row = measurement(parsed, "0x248a070300f8a2c0/17", "symbol_error")
    assert row["params"] == canonical_json({"node": "ib-leaf-r07u38", "saturated": True, "bits": 16})
    assert row["line_no"] == 3
    row = measurement(parsed, "0x248a070300f8a2c0", "link_downed")
    assert row["params"] == canonical_json({"node": "ib-leaf-r07u38", "ports": "all"})
    assert measurement(parsed, None, "ports_checked")["params"] == '{"check":"errors"}'
    run = run_of(parsed)
    assert (run["test"], run["device"], run["status"], run["line_no"]) == ("ibqueryerrors", None, "fail", 1)
    assert run["detail"] == (
        "3 of 72 ports have errors beyond threshold, 2 of 24 nodes bad; "
        "saturated: symbol_error on 0x248a070300f8a2c0/17; link_downed on 0xa088c2030045fa3e/1"
    )
    assert run["params"] == canonical_json({"thresholds": "[PortXmitWait = 1000]", "suppressed": "PortXmitDiscards"})
    frame = parsed.table("measurements")
    assert set(frame["run_id"]) == {run["run_id"]}
    assert set(frame["ts"]) == {SNAPSHOT}


def test_ibqueryerrors_pass() -> None:
    parsed = parse(IQE_PASS)
    assert (parsed.format, parsed.error) == ("ibqueryerrors", None)
    run = run_of(parsed)
    assert (run["status"], run["detail"], run["params"]) == (
        "pass",
        "no errors beyond threshold: 24 nodes, 72 ports checked",
        None,
    )
    assert values(parsed) == {
        (None, "nodes_checked"): 24,
        (None, "bad_nodes"): 0,
        (None, "ports_checked"): 72,
        (None, "ports_with_errors"): 0,
    }


def test_ibqueryerrors_extended_values_do_not_saturate() -> None:
    parsed = parse(IQE_EXTENDED)
    assert values(parsed, "0x248a070300f8a2c0/5") == {
        ("0x248a070300f8a2c0/5", "symbol_error"): 65535,
        ("0x248a070300f8a2c0/5", "port_xmit_wait"): 4294967295,
    }
    assert saturated_rows(parsed) == []
    assert run_of(parsed)["detail"] == "1 of 72 ports have errors beyond threshold, 1 of 24 nodes bad"


def test_ibqueryerrors_bad_state_summary() -> None:
    parsed = parse(IQE_CHECKSTATE)
    assert values(parsed) == {
        (None, "nodes_checked"): 16,
        (None, "bad_nodes"): 0,
        (None, "ports_checked"): 40,
        (None, "ports_bad_state"): 2,
    }
    assert measurement(parsed, None, "ports_checked")["params"] == '{"check":"state"}'
    run = run_of(parsed)
    assert (run["status"], run["detail"]) == (
        "fail",
        "0 of 16 nodes bad, 2 of 40 ports in a bad state",
    )


def test_ibqueryerrors_state_and_error_checks_count_their_own_ports() -> None:
    lines = [
        "## Summary: 4 nodes checked, 0 bad nodes found",
        "##          8 ports checked, 0 ports with bad state found",
        "##          4 ports checked, 1 ports have errors beyond threshold",
    ]
    parsed = parse(lines)
    checked = parsed.table("measurements").filter(pl.col("metric") == "ports_checked")
    assert checked.select("value", "params").rows() == [(8.0, '{"check":"state"}'), (4.0, '{"check":"errors"}')]
    run = run_of(parsed)
    assert (run["status"], run["detail"]) == ("fail", "1 of 4 ports have errors beyond threshold, 0 of 4 nodes bad")


def test_ibqueryerrors_without_summary_is_incomplete() -> None:
    parsed = parse([*IQE_PASS[:1], 'Errors for "gpu-node-017 mlx5_3"'])
    assert parsed.error is None
    run = run_of(parsed)
    assert (run["status"], run["detail"]) == ("incomplete", "no '## Summary' line: the output ends at line 2")


def test_ibqueryerrors_cut_off_with_errors_still_fails() -> None:
    parsed = parse(IQE_FAIL[:4])
    run = run_of(parsed)
    assert (run["status"], run["detail"]) == (
        "fail",
        "2 ports have errors beyond threshold; saturated: symbol_error on 0x248a070300f8a2c0/17",
    )


def test_ibqueryerrors_pma_failures_are_incomplete() -> None:
    lines = [*IQE_PASS[:3], "##          2 PMA query failures", *IQE_PASS[3:]]
    parsed = parse(lines)
    assert values(parsed)[(None, "pma_query_failures")] == 2
    run = run_of(parsed)
    assert (run["status"], run["detail"]) == (
        "incomplete",
        "2 PMA query failures: not every port was read (24 nodes, 72 ports checked)",
    )


def test_ibqueryerrors_tool_error() -> None:
    parsed = parse(["ibqueryerrors: iberror: failed: discover failed"])
    assert (parsed.kind, parsed.format, parsed.error) == ("ib_counters", "ibqueryerrors", None)
    run = run_of(parsed)
    assert (run["status"], run["detail"]) == ("error", "ibqueryerrors failed: failed: discover failed")


def test_ibqueryerrors_garbled_port_line() -> None:
    lines = [*IQE_FAIL[:5], "   GUID 0xa088c2030045fa3e port 1: [LinkDownedCounter == 255] [PortRcvErr", *IQE_FAIL[6:]]
    parsed = parse(lines)
    assert (
        parsed.error
        == "line 6: unreadable counters for GUID 0xa088c2030045fa3e port 1: '[LinkDownedCounter == 255] [PortRcvErr'"
    )
    assert parsed.table("measurements")["line_no"].max() == 4
    assert_events_cover(parsed, len(lines))
    run = run_of(parsed)
    assert (run["status"], run["detail"]) == ("incomplete", parsed.error)


def test_blank_input_is_not_claimed() -> None:
    parsed = parse_bytes(b"\n  \n", "node1/perfquery.txt", SNAPSHOT)
    assert parsed.kind == "text"


# -- sniffing ------------------------------------------------------------------------------------------------------

KERNEL_LINES = [
    "[   12.345678] mlx5_core 0000:5e:00.0: firmware version: 28.39.1002",
    "[   13.000001] mlx5_core 0000:5e:00.0 ibp94s0: renamed from ib0",
    "[ 4211.000003] infiniband mlx5_0: mlx5_ib_event:3220:(pid 0): warning: event on port 1",
]


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(KERNEL_LINES, id="kernel-log"),
        pytest.param(["$ cat /sys/class/infiniband/mlx5_0/ports/1/counters/symbol_error", "0"], id="shell-session"),
        pytest.param(["./mlx5_0/fw_ver:28.39.2048", "./mlx5_0/ports/1/state:4: ACTIVE"], id="sysfs-without-counters"),
        pytest.param([], id="empty"),
    ],
)
def test_sniff_negatives(lines: list[str]) -> None:
    assert ib_counters.sniff(lines, "node1/x.log") is None


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(IB / "ibstat_gpud" / name, id=name)
        for name in [
            "ibstat.39.0.a100.failed.ibpanic.exit-255.0",
            "ibstat.47.0.a100.all.active.0",
            "ibstat.47.0.h100.all.active.0",
            "ibstat.47.0.h100.some.down.with.polling.1",
            "ibstatus.39.0.a100.all.active.0",
        ]
    ]
    + [
        pytest.param(IB / "issue_excerpts" / name, id=name)
        for name in [
            "archwiki-infiniband__ibdiagnet_v1.5.7_output.txt",
            "archwiki-infiniband__iblinkinfo.txt",
            "archwiki-infiniband__ibstat_port2_down_polling.txt",
        ]
    ]
    + [pytest.param(TREYDOCK / "ibnetdiscover" / f"test{n}.out", id=f"ibnetdiscover-{n}") for n in ("", "2", "3")]
    + [
        pytest.param(TREYDOCK / "ibswinfo" / f"{n}.out", id=f"ibswinfo-{n}")
        for n in ("test1", "test1-missing", "test2", "test3", "test-err1", "test-err2", "test-err3")
    ]
    + [
        pytest.param(IB / "superbench" / name, id=name)
        for name in [
            "ib_loopback_8M_size.log",
            "ib_loopback_all_sizes.log",
            "ib_traffic_topo_aware_ibnetdiscover.txt",
            "ib_traffic_topo_aware_ibstat.txt",
        ]
    ]
    + [
        pytest.param(Path("kernel_logs") / "gpud" / name, id=name)
        for name in ["dmesg.decode.iso.log.1", "kmsg.1.log", "journalctl-time-format-short-iso-1.log"]
    ],
)
def test_sniff_leaves_other_formats_alone(realdata: Path, path: Path) -> None:
    sample = (realdata / path).read_bytes()[: 1 << 16].decode("utf-8", errors="replace").splitlines()[:200]
    assert ib_counters.sniff(sample, str(path)) is None


# -- realdata ------------------------------------------------------------------------------------------------------


def mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(os.stat(path).st_mtime, UTC).replace(tzinfo=None)


def test_realdata_sysfs_flat_dump(realdata: Path) -> None:
    path = realdata / SYSFS / "sys-class-infiniband-h100.0.flat_dump.txt"
    parsed = parse_path(path)
    assert (parsed.kind, parsed.format, parsed.host, parsed.error) == ("ib_counters", "sysfs", None, None)
    assert_events_cover(parsed, 486)
    frame = parsed.table("measurements")
    assert len(frame) == 450  # 9 ports x (21 counters + 26 hw_counters + state, phys_state, rate)
    assert set(frame["ts"]) == {mtime(path)}
    ports = ["mlx5_0", "mlx5_1", "mlx5_4", "mlx5_5", "mlx5_6", "mlx5_7", "mlx5_8", "mlx5_9", "mlx5_bond_0"]
    # excessive_buffer_overrun_errors is a 4-bit counter: 15 on every port is its ceiling.
    assert saturated_rows(parsed) == sorted(
        [(f"{ca}/1", "excessive_buffer_overrun_errors", 15, 4) for ca in ports] + [("mlx5_1/1", "link_downed", 255, 8)]
    )
    got = values(parsed)
    assert got[("mlx5_0/1", "link_downed")] == 0
    assert got[("mlx5_0/1", "port_rcv_errors")] == 14
    assert got[("mlx5_1/1", "port_rcv_switch_relay_errors")] == 2
    assert got[("mlx5_0/1", "port_xmit_wait")] == 2489603687
    assert got[("mlx5_0/1", "rx_write_requests")] == 3809045607
    assert measurement(parsed, "mlx5_0/1", "port_xmit_data")["value"] == 230442669431839
    assert measurement(parsed, "mlx5_0/1", "port_xmit_data")["unit"] == "4B-words"
    states = frame.filter(pl.col("metric").is_in(["state", "phys_state", "rate"]))
    assert states.group_by("metric", "value", "params").len().sort("metric", "value").rows() == [
        ("phys_state", 5.0, '{"text":"LinkUp"}', 9),
        ("rate", 200.0, '{"text":"2X NDR"}', 1),
        ("rate", 400.0, '{"text":"4X NDR"}', 8),
        ("state", 4.0, '{"text":"ACTIVE"}', 9),
    ]
    assets = parsed.table("assets")
    assert assets["device"].to_list() == [f"{ca}/1" for ca in ports]
    assert set(assets["kind"]) == {"hca"}
    assert assets.filter(pl.col("device") == "mlx5_bond_0/1").select("firmware", "part_number", "model").row(0) == (
        "32.38.3056",
        "MT_0000000884",
        "MT41692",
    )
    assert assets.filter(pl.col("device") == "mlx5_0/1").select("firmware", "part_number", "model", "line_no").row(
        0
    ) == (
        "28.41.1000",
        "MT_0000000838",
        "MT4129",
        2,
    )
    assert assets["uuid"].null_count() == 9  # the capture has no GUIDs


def test_realdata_sysfs_tree_via_ingest(realdata: Path, store: Store) -> None:
    tree = realdata / SYSFS / "sys-class-infiniband-h100.0"
    summary = ingest(store, [str(tree)])
    assert [(f.status, f.kind, f.lines) for f in summary.files] == [("ok", "ib_counters", 486)]
    files = store.frame("SELECT file_id, path, host, kind, format, status, error FROM files")
    assert files.drop("file_id").rows() == [
        (str(tree), "sys-class-infiniband-h100.0", "ib_counters", "sysfs", "ok", None)
    ]
    file_id = files["file_id"][0]
    counts = store.frame(
        "SELECT (SELECT count(*) FROM events WHERE file_id = ?) AS events, "
        "(SELECT count(*) FROM measurements WHERE file_id = ?) AS measurements, "
        "(SELECT count(*) FROM assets WHERE file_id = ?) AS assets",
        [file_id, file_id, file_id],
    )
    assert counts.row(0) == (486, 450, 9)
    saturated = store.frame(
        "SELECT host, device, metric, value FROM measurements "
        "WHERE params LIKE '%saturated%' AND metric = 'link_downed'"
    )
    assert saturated.rows() == [("sys-class-infiniband-h100.0", "mlx5_1/1", "link_downed", 255.0)]


PERFQUERY_REAL = {
    "0x506b4b03005c2740.out": (
        "lid2052/1",
        22,
        {"port_xmit_data": 178791657177235, "link_downed": 1, "port_xmit_discards": 20046, "port_xmit_wait": 41864608},
    ),
    "0x7cfe9003003b4b96.out": ("lid133/1", 8, {"port_xmit_data": 37108676853855, "multicast_rcv_packets": 3732373137}),
    "0x7cfe9003003b4bde.out": ("lid134/1", 8, {"port_rcv_data": 9752484588300, "unicast_xmit_packets": 28824617123}),
    "0x7cfe9003009ce5b0.out": ("lid1719/1", 22, {"port_xmit_wait": 22730501, "port_rcv_packets": 32262508468}),
}


@pytest.mark.parametrize(("name", "expected"), [pytest.param(n, e, id=n) for n, e in PERFQUERY_REAL.items()])
def test_realdata_perfquery(realdata: Path, name: str, expected: tuple[str, int, dict[str, float]]) -> None:
    device, count, some = expected
    path = realdata / TREYDOCK / "perfquery" / name
    parsed = parse_path(path)
    assert (parsed.kind, parsed.format, parsed.error) == ("ib_counters", "perfquery", None)
    frame = parsed.table("measurements").filter(pl.col("device") == device)
    assert len(frame) == count
    assert {m: v for (_, m), v in values(parsed, device).items() if m in some} == some
    assert saturated_rows(parsed) == []
    assert set(parsed.table("measurements")["ts"]) == {mtime(path)}


def test_realdata_perfquery_two_ports(realdata: Path) -> None:
    parsed = parse_path(realdata / TREYDOCK / "perfquery" / "0x7cfe9003009ce5b0.out")
    frame = parsed.table("measurements")
    assert frame.group_by("device").len().sort("device").rows() == [("lid1719/1", 22), ("lid1719/2", 22)]
    assert values(parsed, "lid1719/2")[("lid1719/2", "port_xmit_wait")] == 36510964
    assert_events_cover(parsed, 53)


def test_realdata_perfquery_empty_file(realdata: Path) -> None:
    parsed = parse_path(realdata / TREYDOCK / "perfquery" / "0x506b4b0300cc02a6.out")
    assert (parsed.kind, parsed.error, parsed.tables) == ("text", None, {})


@pytest.mark.parametrize(
    ("name", "device"),
    [
        pytest.param("0x506b4b03005c2740-1.out", "lid2052/1", id="lid2052"),
        pytest.param("0x7cfe9003003b4b96-1.out", "lid133/1", id="lid133"),
        pytest.param("0x7cfe9003003b4bde-1.out", "lid134/1", id="lid134"),
        pytest.param("0x7cfe9003009ce5b0-1.out", "lid1719/1", id="lid1719-port1"),
        pytest.param("0x7cfe9003009ce5b0-2.out", "lid1719/2", id="lid1719-port2"),
    ],
)
def test_realdata_perfquery_rcv_error(realdata: Path, name: str, device: str) -> None:
    parsed = parse_path(realdata / TREYDOCK / "perfquery-rcv-error" / name)
    assert (parsed.kind, parsed.format, parsed.error) == ("ib_counters", "perfquery", None)
    assert values(parsed) == {
        (device, metric): 0
        for metric in [
            "port_local_physical_errors",
            "port_malformed_pkt_errors",
            "port_buffer_overrun_errors",
            "port_dlid_mapping_errors",
            "port_vl_mapping_errors",
            "port_looping_errors",
        ]
    }
    assert set(parsed.table("measurements")["params"]) == {'{"group":"PortRcvErrorDetails"}'}


def test_realdata_ibqueryerrors(realdata: Path) -> None:
    parsed = parse_path(realdata / IQE_REAL)
    assert (parsed.kind, parsed.format, parsed.error) == ("ib_counters", "ibqueryerrors", None)
    assert_events_cover(parsed, 24)
    frame = parsed.table("measurements")
    assert len(frame) == 48
    row = measurement(parsed, "0x0002c903006e29b0/5", "symbol_error")
    assert (row["value"], row["line_no"]) == (65535, 13)
    assert row["params"] == canonical_json({"node": "MF0;ys23ib4:SX6036/U1", "saturated": True, "bits": 16})
    assert measurement(parsed, "0x0002c903006e29b0", "link_downed")["value"] == 48  # port ALL
    assert measurement(parsed, "0x7cfe900300179b31/1", "VL15_dropped")["params"] == '{"node":"dl380g7 mlx4_0"}'
    assert measurement(parsed, "0x0002c903006e29b0/6", "port_xmit_discards")["value"] == 14176
    assert saturated_rows(parsed) == sorted(
        [("0x0002c903006e29b0/5", "symbol_error", 65535, 16), ("0x0002c903006e29b0/7", "symbol_error", 65535, 16)]
        + [
            (device, "port_xmit_wait", 4294967295, 32)
            for device in [
                "0x0002c903006e29b0",
                "0x0002c903006e29b0/1",
                "0x0002c903006e29b0/2",
                "0x0002c903006e29b0/3",
                "0x0002c903006e29b0/6",
                "0x0002c9030042dff1/1",
                "0x7cfe900300179b31/1",
                "0xe41d2d0300e0bae1/1",
            ]
        ]
    )
    assert {k: v for k, v in values(parsed).items() if k[0] is None} == {
        (None, "nodes_checked"): 4,
        (None, "bad_nodes"): 4,
        (None, "ports_checked"): 43,
        (None, "ports_with_errors"): 14,
    }
    run = run_of(parsed)
    assert run["status"] == "fail"
    assert run["detail"] == (
        "14 of 43 ports have errors beyond threshold, 4 of 4 nodes bad; "
        "saturated: port_xmit_wait on 0x7cfe900300179b31/1, 0x0002c9030042dff1/1, 0x0002c903006e29b0/1 and 4 more; "
        "symbol_error on 0x0002c903006e29b0/5, 0x0002c903006e29b0/7"
    )


# -- end to end ----------------------------------------------------------------------------------------------------


def test_ingest_lands_rows_with_host_and_file(store: Store, inputs: Path) -> None:
    node = inputs / "gpu-node-017"
    node.mkdir()
    (node / "ibqueryerrors.txt").write_bytes(text_of(IQE_FAIL))
    (node / "perfquery.txt").write_bytes(text_of(PQ_PLAIN))
    (node / "ib_sysfs.txt").write_bytes(text_of(SYSFS_DUMP))
    summary = ingest(store, [str(inputs)])
    assert sorted((f.path.rsplit("/", 1)[1], f.status, f.kind) for f in summary.files) == [
        ("ib_sysfs.txt", "ok", "ib_counters"),
        ("ibqueryerrors.txt", "ok", "ib_counters"),
        ("perfquery.txt", "ok", "ib_counters"),
    ]
    files = store.frame("SELECT file_id, path, host, format, status FROM files ORDER BY path")
    assert files.select("host", "format", "status").rows() == [
        ("gpu-node-017", "sysfs", "ok"),
        ("gpu-node-017", "ibqueryerrors", "ok"),
        ("gpu-node-017", "perfquery", "ok"),
    ]
    per_file = store.frame(
        "SELECT f.format, m.host, count(*) AS n, count(DISTINCT m.file_id) AS files "
        "FROM measurements m JOIN files f USING (file_id) GROUP BY ALL ORDER BY f.format"
    )
    assert per_file.rows() == [
        ("ibqueryerrors", "gpu-node-017", 12, 1),
        ("perfquery", "gpu-node-017", 18, 1),
        ("sysfs", "gpu-node-017", 14, 1),
    ]
    runs = store.frame("SELECT host, test, status, file_id FROM test_runs")
    assert runs.select("host", "test", "status").rows() == [("gpu-node-017", "ibqueryerrors", "fail")]
    assets = store.frame("SELECT host, kind, device, uuid FROM assets")
    assert assets.rows() == [("gpu-node-017", "hca", "mlx5_0/1", "0xa088c20300451a2c")]
    events = store.frame(
        "SELECT count(*) AS n, count(DISTINCT file_id) AS files FROM events WHERE host = 'gpu-node-017'"
    )
    assert events.row(0) == (len(IQE_FAIL) + len(PQ_PLAIN) + len(SYSFS_DUMP), 3)


def test_ingest_fleet_dump_rows_take_their_hosts(store: Store, inputs: Path) -> None:
    dump = inputs / "fleet-ib-counters.txt"
    dump.write_bytes(text_of(SYSFS_PDSH))
    ingest(store, [str(dump)])
    hosts = store.frame("SELECT host, count(*) AS n FROM measurements GROUP BY host ORDER BY host")
    assert hosts.rows() == [("gpu-a01", 3), ("gpu-a02", 3)]
    assert store.frame("SELECT host, status FROM files").rows() == [("fleet-ib-counters", "ok")]


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        pytest.param("Fri Nov 20 10:00:00 UTC 2026", datetime(2026, 11, 20, 10, 0), id="date-u"),
        pytest.param("Thu Nov  5 10:00:00 UTC 2026", datetime(2026, 11, 5, 10, 0), id="date-u-space-padded-day"),
        pytest.param("2026-11-20T11:30:00+01:00", datetime(2026, 11, 20, 10, 30), id="date-Is-with-offset"),
        pytest.param("2026-11-20T10:00:00Z", datetime(2026, 11, 20, 10, 0), id="iso-z"),
    ],
)
def test_sysfs_date_line_stamps_the_counters_below_it(stamp: str, expected: datetime) -> None:
    data = f"{stamp}\n./mlx5_0/ports/1/counters/symbol_error:5\n./mlx5_0/ports/1/state:4: ACTIVE\n".encode()
    parsed = parse_bytes(data, "ib_counters.before.txt", reference=datetime(2030, 1, 1))
    assert parsed.error is None
    assert parsed.table("measurements").select("metric", "ts").rows() == [
        ("symbol_error", expected),
        ("state", expected),
    ]


def test_sysfs_date_lines_carry_across_batches() -> None:
    data = b"2026-11-20T10:00:00Z\n" + b"".join(
        f"./mlx5_{n % 8}/ports/1/counters/symbol_error:{n}\n".encode() for n in range(200)
    )
    parsed = parse_bytes(data, "snap.txt", reference=datetime(2030, 1, 1), batch_bytes=256)
    assert parsed.table("measurements")["ts"].unique().to_list() == [datetime(2026, 11, 20, 10, 0)]
