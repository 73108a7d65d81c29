"""InfiniBand status and link tests: ibstat, ibstatus, iblinkinfo, ibdiagnet, perftest, superbench's GUID map."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from triage.ingest import ingest
from triage.sources import ib_status
from triage.sources.reading import Parsed, parse_bytes, parse_path
from triage.store import Store

REFERENCE = datetime(2025, 3, 1, 12, 0, 0)
IB = Path("infiniband")
GPUD = IB / "ibstat_gpud"
WIKI = IB / "issue_excerpts"
SUPERBENCH = IB / "superbench"
MIB = 8 * 1048576 / 1e9  # perftest MB/sec (MiB/s) in Gbit/s


def text_of(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def parse(lines: list[str], name: str = "node1/ib.txt", batch_bytes: int = 1 << 20) -> Parsed:
    return parse_bytes(text_of(lines), name, REFERENCE, batch_bytes=batch_bytes)


def runs(parsed: Parsed) -> list[tuple[Any, ...]]:
    """(device, test, status, detail) of every test run, in order."""
    frame = parsed.table("test_runs")
    return [(r["device"], r["test"], r["status"], r["detail"]) for r in frame.iter_rows(named=True)]


def rows(parsed: Parsed, device: str | None = None) -> list[tuple[Any, ...]]:
    """(device, metric, value, unit, params, line_no) of the measurements (of one device when given)."""
    frame = parsed.table("measurements")
    if device is not None:
        frame = frame.filter(pl.col("device") == device)
    return [
        (r["device"], r["metric"], r["value"], r["unit"], r["params"] and json.loads(r["params"]), r["line_no"])
        for r in frame.iter_rows(named=True)
    ]


def value(parsed: Parsed, device: str | None, metric: str, **params: Any) -> float:
    """The one value of `metric` on `device` whose params include `params` (a None value: without that key)."""
    found = [
        v
        for d, m, v, _, p, _ in rows(parsed)
        if d == device and m == metric and all((p or {}).get(k) == w for k, w in params.items())
    ]
    assert len(found) == 1, found
    return found[0]


def assets(parsed: Parsed) -> list[tuple[Any, ...]]:
    """(host, kind, device, uuid, model, firmware) of every asset."""
    frame = parsed.table("assets")
    return [
        (r.get("host"), r["kind"], r["device"], r["uuid"], r.get("model"), r.get("firmware"))
        for r in frame.iter_rows(named=True)
    ]


def events_are_every_line(parsed: Parsed, lines: int) -> None:
    events = parsed.table("events")
    assert events["line_no"].to_list() == list(range(1, lines + 1))
    assert set(events["source"]) == {"ib_status"}


# ------------------------------------------------------------------------------------------------ ibstat

IBSTAT = [
    "CA 'mlx5_0'",
    "\tCA type: MT4129",
    "\tNumber of ports: 1",
    "\tFirmware version: 28.39.1002",
    "\tHardware version: 0",
    "\tNode GUID: 0xa088c20300e3142a",
    "\tSystem image GUID: 0xa088c20300e3142a",
    "\tPort 1:",
    "\t\tState: Active",
    "\t\tPhysical state: LinkUp",
    "\t\tRate: 400",
    "\t\tBase lid: 128",
    "\t\tLMC: 0",
    "\t\tSM lid: 1",
    "\t\tCapability mask: 0xa751e848",
    "\t\tPort GUID: 0xA088C20300E3142A",
    "\t\tLink layer: InfiniBand",
    "CA 'mlx5_2'",
    "\tCA type: MT4129",
    "\tNumber of ports: 1",
    "\tFirmware version: 28.39.1002",
    "\tHardware version: 0",
    "\tNode GUID: 0xa088c20300e3151e",
    "\tSystem image GUID: 0xa088c20300e3151e",
    "\tPort 1:",
    "\t\tState: Down",
    "\t\tPhysical state: Polling",
    "\t\tRate: 10",
    "\t\tBase lid: 65535",
    "\t\tLMC: 0",
    "\t\tSM lid: 0",
    "\t\tCapability mask: 0xa751e848",
    "\t\tPort GUID: 0xa088c20300e3151e",
    "\t\tLink layer: InfiniBand",
]


def test_ibstat_ports_give_state_rate_lids_a_run_and_an_asset() -> None:
    parsed = parse(IBSTAT)
    assert (parsed.kind, parsed.format, parsed.host, parsed.error) == ("ib_status", "ibstat", None, None)
    events_are_every_line(parsed, len(IBSTAT))
    assert runs(parsed) == [
        ("mlx5_0/1", "ibstat", "pass", None),
        ("mlx5_2/1", "ibstat", "fail", "mlx5_2/1 Down/Polling"),
    ]
    assert rows(parsed, "mlx5_0/1") == [
        ("mlx5_0/1", "state", 4.0, "enum", {"text": "Active", "link_layer": "InfiniBand"}, 9),
        ("mlx5_0/1", "phys_state", 5.0, "enum", {"text": "LinkUp"}, 10),
        ("mlx5_0/1", "rate", 400.0, "Gbit/s", None, 11),
        ("mlx5_0/1", "lid", 128.0, "id", None, 12),
        ("mlx5_0/1", "sm_lid", 1.0, "id", None, 14),
    ]
    assert value(parsed, "mlx5_2/1", "state") == 1.0
    assert value(parsed, "mlx5_2/1", "phys_state") == 2.0
    assert assets(parsed) == [
        (None, "hca", "mlx5_0/1", "0xa088c20300e3142a", "MT4129", "28.39.1002"),
        (None, "hca", "mlx5_2/1", "0xa088c20300e3151e", "MT4129", "28.39.1002"),
    ]
    frame = parsed.table("measurements")
    assert frame.filter(pl.col("device") == "mlx5_2/1")["run_id"].unique().to_list() == [2]


def test_ibstat_ibpanic_is_an_error_run_and_the_file_stays_ok() -> None:
    # ibstat lists the CAs it can read, then panics on the one it cannot stat: the tool's own verdict
    # about a device, not a broken file, so it is a run with status error and the ports before it stand.
    lines = [*IBSTAT[:17], "ibpanic: [1400444] main: stat of IB device 'mlx5_8' failed: No such file or directory"]
    parsed = parse(lines)
    assert parsed.error is None
    assert runs(parsed) == [
        ("mlx5_0/1", "ibstat", "pass", None),
        (
            None,
            "ibstat",
            "error",
            "ibpanic: [1400444] main: stat of IB device 'mlx5_8' failed: No such file or directory",
        ),
    ]
    assert parsed.table("test_runs")["params"].to_list() == [None, '{"ca":"mlx5_8"}']


def test_ibstat_panic_alone_is_recognised() -> None:
    parsed = parse(["ibpanic: [3117] main: 'mlx5_9' IB device can't be found"])
    assert parsed.format == "ibstat"
    assert runs(parsed) == [(None, "ibstat", "error", "ibpanic: [3117] main: 'mlx5_9' IB device can't be found")]


def test_ibstat_ethernet_port_with_zero_guid_has_no_uuid() -> None:
    lines = [
        "CA 'mlx5_bond_0'",
        "\tCA type: MT4125",
        "\tNumber of ports: 1",
        "\tFirmware version: 22.39.1002",
        "\tPort 1:",
        "\t\tState: Active",
        "\t\tPhysical state: LinkUp",
        "\t\tRate: 100",
        "\t\tBase lid: 0",
        "\t\tSM lid: 0",
        "\t\tPort GUID: 0x0000000000000000",
        "\t\tLink layer: Ethernet",
    ]
    parsed = parse(lines)
    assert assets(parsed) == [(None, "hca", "mlx5_bond_0/1", None, "MT4125", "22.39.1002")]
    assert rows(parsed)[0][4] == {"text": "Active", "link_layer": "Ethernet"}


def test_ibstat_prompt_before_the_first_ca_is_skipped() -> None:
    parsed = parse(["[root@gpu-017 ~]# ibstat", *IBSTAT[:17]])
    assert parsed.error is None
    assert runs(parsed) == [("mlx5_0/1", "ibstat", "pass", None)]


def test_ibstat_cut_inside_a_port_is_incomplete() -> None:
    parsed = parse(IBSTAT[:26])  # ends after `State: Down`
    assert parsed.error is None
    assert runs(parsed) == [
        ("mlx5_0/1", "ibstat", "pass", None),
        ("mlx5_2/1", "ibstat", "incomplete", "mlx5_2/1: no physical state reported"),
    ]
    assert value(parsed, "mlx5_2/1", "state") == 1.0


def test_ibstat_cut_before_the_ports_marks_the_announced_port_incomplete() -> None:
    parsed = parse(IBSTAT[:21])  # CA 'mlx5_2' header and three fields, no `Port 1:`
    assert runs(parsed)[-1] == ("mlx5_2/1", "ibstat", "incomplete", "mlx5_2/1: port not listed")


def test_ibstat_malformed_line_names_it_and_keeps_the_ports_before() -> None:
    lines = [*IBSTAT[:17], "CA 'mlx5_1'", "\tNumber of ports: 1", "garbage that is not ibstat", *IBSTAT[17:]]
    parsed = parse(lines)
    assert parsed.error == "line 20: not an ibstat line inside CA 'mlx5_1': 'garbage that is not ibstat'"
    assert runs(parsed) == [
        ("mlx5_0/1", "ibstat", "pass", None),
        ("mlx5_1/1", "ibstat", "incomplete", "mlx5_1/1: port not listed"),
    ]
    assert {d for d, *_ in rows(parsed)} == {"mlx5_0/1"}
    events_are_every_line(parsed, len(lines))


def test_ibstat_ca_line_alone_gives_nothing_but_events() -> None:
    parsed = parse(["CA 'mlx5_0'", "\tCA type: MT4129"])
    assert parsed.format == "ibstat"
    assert (parsed.error, runs(parsed), rows(parsed)) == (None, [], [])
    events_are_every_line(parsed, 2)


# ---------------------------------------------------------------------------------------------- ibstatus

IBSTATUS = [
    "Infiniband device 'mlx5_0' port 1 status:",
    "\tdefault gid:\t fe80:0000:0000:0000:a088:c203:00e3:142a",
    "\tbase lid:\t 0x80",
    "\tsm lid:\t\t 0x1",
    "\tstate:\t\t 4: ACTIVE",
    "\tphys state:\t 5: LinkUp",
    "\trate:\t\t 400 Gb/sec (4X NDR)",
    "\tlink_layer:\t InfiniBand",
    "",
    "Infiniband device 'mlx5_3' port 1 status:",
    "\tdefault gid:\t fe80:0000:0000:0000:a088:c203:00e3:1516",
    "\tbase lid:\t 0xffff",
    "\tsm lid:\t\t 0x0",
    "\tstate:\t\t 1: DOWN",
    "\tphys state:\t 3: Disabled",
    "\trate:\t\t 10 Gb/sec (4X SDR)",
    "\tlink_layer:\t InfiniBand",
]


def test_ibstatus_ports() -> None:
    parsed = parse(IBSTATUS)
    assert (parsed.format, parsed.error) == ("ibstatus", None)
    assert runs(parsed) == [
        ("mlx5_0/1", "ibstat", "pass", None),
        ("mlx5_3/1", "ibstat", "fail", "mlx5_3/1 DOWN/Disabled"),
    ]
    assert rows(parsed, "mlx5_0/1") == [
        ("mlx5_0/1", "state", 4.0, "enum", {"text": "ACTIVE", "link_layer": "InfiniBand"}, 5),
        ("mlx5_0/1", "phys_state", 5.0, "enum", {"text": "LinkUp"}, 6),
        ("mlx5_0/1", "rate", 400.0, "Gbit/s", {"text": "4X NDR"}, 7),
        ("mlx5_0/1", "lid", 128.0, "id", None, 3),
        ("mlx5_0/1", "sm_lid", 1.0, "id", None, 4),
    ]
    # The port GUID is the low half of an InfiniBand port's GID.
    assert assets(parsed) == [
        (None, "hca", "mlx5_0/1", "0xa088c20300e3142a", None, None),
        (None, "hca", "mlx5_3/1", "0xa088c20300e31516", None, None),
    ]


def test_ibstatus_malformed_line() -> None:
    lines = [*IBSTATUS[:8], "Segmentation fault (core dumped)"]
    parsed = parse(lines)
    assert parsed.error == "line 9: not an ibstatus line in the block of mlx5_0/1: 'Segmentation fault (core dumped)'"
    assert runs(parsed) == [("mlx5_0/1", "ibstat", "pass", None)]


def test_ibstatus_cut_inside_a_block_is_incomplete() -> None:
    parsed = parse(IBSTATUS[:14])
    assert runs(parsed)[-1] == ("mlx5_3/1", "ibstat", "incomplete", "mlx5_3/1: no physical state reported")


# -------------------------------------------------------------------------------------------- iblinkinfo

IBLINKINFO = [
    "CA: gpu-017 HCA-1:",
    '      0xa088c20300e3142a     12    1[  ] ==( 4X       106.25 Gbps Active/  LinkUp)==>       3    7[  ] "MF0;leaf01:MQM9700/U1" ( )',
    "Switch: 0x0c42a103008982a4 MF0;leaf01:MQM9700/U1:",
    '           3    1[  ] ==(                Down/ Polling)==>             [  ] "" ( )',
    '           3    7[  ] ==( 4X       106.25 Gbps Active/  LinkUp)==>      12    1[  ] "gpu-017 HCA-1" ( )',
    '           3    8[  ] ==( 4X      14.0625 Gbps Active/  LinkUp)==>      20    1[  ] "gpu-018 HCA-1" ( Could be 106.25 Gbps)',
    '           3    9[  ] ==( 1X       106.25 Gbps Init/  LinkUp)==>    "Port not available"',
]


def test_iblinkinfo_ports_state_and_rate_with_their_peer() -> None:
    parsed = parse(IBLINKINFO, "fabric/iblinkinfo.txt")
    assert (parsed.format, parsed.error) == ("iblinkinfo", None)
    events_are_every_line(parsed, len(IBLINKINFO))
    assert rows(parsed) == [
        (
            "0xa088c20300e3142a/1",
            "state",
            4.0,
            "enum",
            {"peer": "MF0;leaf01:MQM9700/U1", "peer_port": 7, "text": "Active"},
            2,
        ),
        (
            "0xa088c20300e3142a/1",
            "phys_state",
            5.0,
            "enum",
            {"peer": "MF0;leaf01:MQM9700/U1", "peer_port": 7, "text": "LinkUp"},
            2,
        ),
        (
            "0xa088c20300e3142a/1",
            "rate",
            425.0,
            "Gbit/s",
            {"peer": "MF0;leaf01:MQM9700/U1", "peer_port": 7, "text": "4X 106.25 Gbps"},
            2,
        ),
        ("0x0c42a103008982a4/1", "state", 1.0, "enum", {"text": "Down"}, 4),
        ("0x0c42a103008982a4/1", "phys_state", 2.0, "enum", {"text": "Polling"}, 4),
        ("0x0c42a103008982a4/7", "state", 4.0, "enum", {"peer": "gpu-017 HCA-1", "peer_port": 1, "text": "Active"}, 5),
        (
            "0x0c42a103008982a4/7",
            "phys_state",
            5.0,
            "enum",
            {"peer": "gpu-017 HCA-1", "peer_port": 1, "text": "LinkUp"},
            5,
        ),
        (
            "0x0c42a103008982a4/7",
            "rate",
            425.0,
            "Gbit/s",
            {"peer": "gpu-017 HCA-1", "peer_port": 1, "text": "4X 106.25 Gbps"},
            5,
        ),
        ("0x0c42a103008982a4/8", "state", 4.0, "enum", {"peer": "gpu-018 HCA-1", "peer_port": 1, "text": "Active"}, 6),
        (
            "0x0c42a103008982a4/8",
            "phys_state",
            5.0,
            "enum",
            {"peer": "gpu-018 HCA-1", "peer_port": 1, "text": "LinkUp"},
            6,
        ),
        (
            "0x0c42a103008982a4/8",
            "rate",
            56.25,
            "Gbit/s",
            {"peer": "gpu-018 HCA-1", "peer_port": 1, "text": "4X 14.0625 Gbps"},
            6,
        ),
        ("0x0c42a103008982a4/9", "state", 2.0, "enum", {"text": "Init"}, 7),
        ("0x0c42a103008982a4/9", "phys_state", 5.0, "enum", {"text": "LinkUp"}, 7),
        ("0x0c42a103008982a4/9", "rate", 106.25, "Gbit/s", {"text": "1X 106.25 Gbps"}, 7),
    ]
    assert runs(parsed) == []


@pytest.mark.parametrize(
    ("line", "device", "rate", "text", "peer"),
    [
        pytest.param(
            "          2    1[  ] ==( 4X 10.0 Gbps Active/  LinkUp)==>      12    1[  ] \"node-a HCA-1\" ( )",
            "lid2/1", 40.0, "4X 10.0 Gbps", ("node-a HCA-1", 1), id="old-spacing-no-header",
        ),
        pytest.param(
            "0x0002c90200404ad8 \"SwitchX -  Mellanox Technologies\"      4   17[  ] ==( 4X 25.78125 Gbps "
            "Active/  LinkUp)==>  0x0011220300334455      5    1[  ] \"exe0001 HCA-1\" ( )",
            "0x0002c90200404ad8/17", 103.125, "4X 25.78125 Gbps", ("exe0001 HCA-1", 1), id="line-mode",
        ),
        pytest.param(
            "           2   18[  ] ==( 4X 10.0 Gbps (FDR10) Active/  LinkUp) (HOQ:19 VL_Stall:7)==>       1    3[  ] "
            "\"n01 HCA-1\" ( )",
            "lid2/18", 40.0, "4X 10.0 Gbps (FDR10)", ("n01 HCA-1", 3), id="fdr10-with-switch-settings",
        ),
    ],
)  # fmt: skip
def test_iblinkinfo_layouts(line: str, device: str, rate: float, text: str, peer: tuple[str, int]) -> None:
    parsed = parse([line])
    assert (parsed.format, parsed.error) == ("iblinkinfo", None)
    assert rows(parsed) == [
        (device, "state", 4.0, "enum", {"peer": peer[0], "peer_port": peer[1], "text": "Active"}, 1),
        (device, "phys_state", 5.0, "enum", {"peer": peer[0], "peer_port": peer[1], "text": "LinkUp"}, 1),
        (device, "rate", rate, "Gbit/s", {"peer": peer[0], "peer_port": peer[1], "text": text}, 1),
    ]


def test_iblinkinfo_switch_header_without_guid_names_the_port_by_switch_name() -> None:
    lines = ["Switch: MF0;leaf01:MQM9700/U1:", IBLINKINFO[3]]
    parsed = parse(lines)
    assert [r[0] for r in rows(parsed)] == ["MF0;leaf01:MQM9700/U1/1"] * 2


def test_iblinkinfo_section_carries_across_batches() -> None:
    one = parse(IBLINKINFO)
    small = parse(IBLINKINFO, batch_bytes=150)
    assert rows(small) == rows(one)


def test_iblinkinfo_diff_lines_are_not_ports() -> None:
    lines = [*IBLINKINFO[:2], "< " + IBLINKINFO[1].strip(), "> " + IBLINKINFO[1].strip()]
    parsed = parse(lines)
    assert parsed.error is None
    assert {r[5] for r in rows(parsed)} == {2}


def test_iblinkinfo_malformed_port_line_stops_the_rows_there() -> None:
    lines = [*IBLINKINFO[:5], '           3   10[  ] ==( 4X ??? garbled)==>      14    1[  ] "x" ( )', *IBLINKINFO[5:]]
    for batch_bytes in (1 << 20, 120):
        parsed = parse(lines, batch_bytes=batch_bytes)
        assert parsed.error == (
            "line 6: iblinkinfo port line not understood: '3   10[  ] ==( 4X ??? garbled)==>      14    1[  ] \"x\" ( )'"
        )
        assert max(r[5] for r in rows(parsed)) == 5
        events_are_every_line(parsed, len(lines))


# --------------------------------------------------------------------------------------------- ibdiagnet

IBDIAGNET2 = [
    "Load Plugins from:",
    "/usr/share/ibdiagnet2.1.1/plugins/",
    '(You can specify more paths to be looked in with "IBDIAGNET_PLUGINS_PATH" env variable)',
    "",
    "Plugin Name                                   Result     Comment",
    "libibdiagnet_cable_diag_plugin-2.1.1          Succeeded  Plugin loaded",
    "",
    "---------------------------------------------",
    "Discovery",
    "-I- Discovering ... 19 nodes (3 Switches & 16 CA-s) discovered.",
    "-I- Fabric Discover finished successfully",
    "",
    "---------------------------------------------",
    "Lids Check",
    "-I- Lids Check finished successfully",
    "",
    "---------------------------------------------",
    "Port Counters",
    "-I- Ports counters retrieving finished successfully",
    "",
    "-E- Ports counters value Check finished with errors",
    "-E- lid=0x0008 dev=51000 Se468a303005527c3/Ne468a303005527c0/P27",
    "        Performance Monitor counter         : Value",
    "        port_rcv_switch_relay_errors        : 65535 (overflow)",
    "-E- lid=0x0012 dev=4129 gpu-017/U1/P1",
    "        Performance Monitor counter         : Value",
    "        symbol_error_counter                : 140 (threshold=1)",
    "        link_down_counter                   : 255 (overflow)",
    "",
    "-E- Ports counters Difference Check (during run) finished with errors",
    '-E- Se468a303005527c3/Ne468a303005527c0/P27 - "port_rcv_errors" increased during the run (difference value=12,difference allowed threshold=1)',
    "",
    "---------------------------------------------",
    "Fabric Summary",
    "",
    "Total Nodes             : 19",
    "IB Switches             : 3",
    "IB Channel Adapters     : 16",
    "IB Aggregation Nodes    : 0",
    "IB Routers              : 0",
    "",
    "---------------------------------------------",
    "Summary",
    "-I- Stage                     Warnings   Errors     Comment",
    "-I- Discovery                 0          0",
    "-I- Lids Check                0          0",
    "-I- Port Counters             0          5",
    "-I- Speed / Width checks      0          0          ",
    "",
    "-I- You can find detailed errors/warnings in: /var/tmp/ibdiagnet2/ibdiagnet2.log",
]


def test_ibdiagnet2_report() -> None:
    parsed = parse(IBDIAGNET2, "fabric/ibdiagnet2.log")
    assert (parsed.format, parsed.error) == ("ibdiagnet", None)
    events_are_every_line(parsed, len(IBDIAGNET2))
    detail = (
        "Ports counters value Check finished with errors; lid=0x0008 dev=51000 Se468a303005527c3/Ne468a303005527c0/P27; "
        "lid=0x0012 dev=4129 gpu-017/U1/P1 (+2 more)"
    )
    assert runs(parsed) == [(None, "ibdiagnet", "fail", detail)]
    assert [r for r in rows(parsed) if r[0] is not None] == [
        ("lid8/27", "port_rcv_switch_relay_errors", 65535.0, "count", {"saturated": True, "bits": 16}, 24),
        ("lid18/1", "symbol_error", 140.0, "count", {"threshold": 1}, 27),
        ("lid18/1", "link_downed", 255.0, "count", {"saturated": True, "bits": 8}, 28),
        ("0xe468a303005527c0/27", "port_rcv_errors_delta", 12.0, "count", {"threshold": 1}, 31),
    ]
    assert value(parsed, None, "errors", stage="Port Counters") == 5
    assert value(parsed, None, "warnings", stage="Port Counters") == 0
    assert value(parsed, None, "errors", stage="Speed / Width checks") == 0
    node = {(m, v) for d, m, v, _, p, _ in rows(parsed) if d is None and p is None}
    assert node == {
        ("nodes", 19), ("switches", 3), ("cas", 16), ("aggregation_nodes", 0), ("routers", 0),
        ("errors", 5), ("warnings", 0),
    }  # fmt: skip


IBDIAGNET1_PM = [
    "Loading IBDIAGNET from: /usr/lib64/ibdiagnet1.5.7",
    "-I- Using port 1 as the local port.",
    "-I- Discovering ... 5 nodes (1 Switches & 4 CA-s) discovered.",
    "",
    "-I---------------------------------------------------",
    "-I- PM Counters Info",
    "-I---------------------------------------------------",
    "-W- lid=0x0002 guid=0x0002c9020040a2b8 dev=47396 Port=9",
    "      Performance Monitor counter     : Value",
    "      symbol_error_counter            : 0xffff (overflow)",
    "      port_xmit_discard               : 0x2a",
    "",
    "----------------------------------------------------------------",
    "-I- Stages Status Report:",
    "    STAGE                                    Errors Warnings",
    "    Performance Counters Report              0      1     ",
    "",
    "-I- Done. Run time was 3 seconds.",
]


def test_ibdiagnet1_pm_counter_warnings_pass_the_run() -> None:
    parsed = parse(IBDIAGNET1_PM)
    assert runs(parsed) == [(None, "ibdiagnet", "pass", None)]
    assert [r for r in rows(parsed) if r[0] is not None] == [
        ("lid2/9", "symbol_error", 65535.0, "count", {"saturated": True, "bits": 16}, 10),
        ("lid2/9", "port_xmit_discards", 42.0, "count", None, 11),
    ]
    assert value(parsed, None, "warnings", stage="Performance Counters Report") == 1
    assert value(parsed, None, "errors", stage="Performance Counters Report") == 0
    assert value(parsed, None, "warnings", stage=None) == 1


def test_ibdiagnet_one_line_counter_error() -> None:
    lines = [
        "-I- Discovering ... 2 nodes (1 Switches & 1 CA-s) discovered.",
        "-E- lid=0x0003 dev=4123 Port=17 Performance Monitor counter : symbol_error_counter value: 65535",
        "-I- Stage                     Warnings   Errors     Comment",
        "-I- Port Counters             0          1",
    ]
    parsed = parse(lines)
    assert rows(parsed)[0] == ("lid3/17", "symbol_error", 65535.0, "count", {"saturated": True, "bits": 16}, 2)
    assert runs(parsed)[0][2] == "fail"


def test_ibdiagnet_that_could_not_scan_is_an_error_run() -> None:
    lines = ["Loading IBDIAGNET from: /usr/lib64/ibdiagnet1.5.7", "-E- Failed to open port 1 of the local device"]
    parsed = parse(lines)
    assert runs(parsed) == [(None, "ibdiagnet", "error", "Failed to open port 1 of the local device")]


def test_ibdiagnet_cut_before_its_summary_is_incomplete() -> None:
    parsed = parse(IBDIAGNET2[:19])
    assert parsed.error is None
    assert runs(parsed) == [(None, "ibdiagnet", "incomplete", "the report ends before its stage summary")]
    assert value(parsed, None, "nodes") == 19


# ---------------------------------------------------------------------------------------------- perftest

PERFTEST_GBITS = [
    "---------------------------------------------------------------------------------------",
    "                    RDMA_Write BW Test",
    " Dual-port       : OFF\t\tDevice         : mlx5_3",
    " Number of qps   : 4\t\tTransport type : IB",
    " Connection type : RC\t\tUsing SRQ      : OFF",
    " PCIe relax order: ON",
    " TX depth        : 128",
    " CQ Moderation   : 100",
    " Mtu             : 4096[B]",
    " Link type       : IB",
    " Max inline data : 0[B]",
    " rdma_cm QPs\t : OFF",
    " Data ex. method : Ethernet",
    "---------------------------------------------------------------------------------------",
    " local address: LID 0x31 QPN 0x0126 PSN 0x5d6c2f RKey 0x1fff00 VAddr 0x007f3c2a4f0000",
    " remote address: LID 0x2f QPN 0x0127 PSN 0x2b9d11 RKey 0x1fff00 VAddr 0x007f1e8c1d0000",
    "---------------------------------------------------------------------------------------",
    " #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]   MsgRate[Mpps]",
    " 65536      5000             389.12             388.95\t\t   0.741864",
    " 8388608    5000             392.30             392.28\t\t   0.005845",
    "---------------------------------------------------------------------------------------",
]


def test_perftest_gbits_table() -> None:
    parsed = parse(PERFTEST_GBITS, "gpu-017/ib_write_bw_mlx5_3.log")
    assert (parsed.format, parsed.error) == ("ib_write_bw", None)
    events_are_every_line(parsed, len(PERFTEST_GBITS))
    assert runs(parsed) == [("mlx5_3/1", "ib_write_bw", "pass", None)]
    assert json.loads(parsed.table("test_runs")["params"][0]) == {
        "connection": "RC", "link_type": "IB", "mtu": 4096, "qps": 4,
    }  # fmt: skip
    assert rows(parsed) == [
        ("mlx5_3/1", "bw_peak", 389.12, "Gbit/s", {"size": 65536, "iterations": 5000}, 19),
        ("mlx5_3/1", "bw_average", 388.95, "Gbit/s", {"size": 65536, "iterations": 5000}, 19),
        ("mlx5_3/1", "msg_rate", 0.741864, "Mpps", {"size": 65536, "iterations": 5000}, 19),
        ("mlx5_3/1", "bw_peak", 392.30, "Gbit/s", {"size": 8388608, "iterations": 5000}, 20),
        ("mlx5_3/1", "bw_average", 392.28, "Gbit/s", {"size": 8388608, "iterations": 5000}, 20),
        ("mlx5_3/1", "msg_rate", 0.005845, "Mpps", {"size": 8388608, "iterations": 5000}, 20),
    ]


@pytest.mark.parametrize(
    ("banner", "test"),
    [
        pytest.param("                    RDMA_Read BW Test", "ib_read_bw", id="read"),
        pytest.param("                    Send BW Test", "ib_send_bw", id="send"),
        pytest.param("                    RDMA_Write Bidirectional BW Test", "ib_write_bw", id="bidirectional"),
        pytest.param("                    Atomic FETCH_AND_ADD BW Test", "ib_atomic_bw", id="atomic"),
    ],
)
def test_perftest_test_name_from_the_banner(banner: str, test: str) -> None:
    parsed = parse([PERFTEST_GBITS[0], banner, *PERFTEST_GBITS[2:]])
    assert runs(parsed) == [("mlx5_3/1", test, "pass", None)]
    params = json.loads(parsed.table("test_runs")["params"][0])
    assert params.get("bidirectional", False) == ("Bidirectional" in banner)


def test_perftest_port_from_the_command_line() -> None:
    parsed = parse(["+ ib_write_bw -d mlx5_3 -i 2 -q 4 --report_gbits 10.0.0.2", *PERFTEST_GBITS])
    assert runs(parsed) == [("mlx5_3/2", "ib_write_bw", "pass", None)]


def test_perftest_latency_table() -> None:
    lines = [
        "                    RDMA_Write Latency Test",
        " Dual-port       : OFF\t\tDevice         : mlx5_0",
        " Number of qps   : 1\t\tTransport type : IB",
        " #bytes #iterations    t_min[usec]    t_max[usec]  t_typical[usec]    t_avg[usec]    t_stdev[usec]   "
        "99% percentile[usec]   99.9% percentile[usec] ",
        " 2       1000          0.98           4.12         1.01                1.02             0.06            "
        "1.15                    4.12   ",
        "---------------------------------------------------------------------------------------",
    ]
    parsed = parse(lines)
    assert runs(parsed) == [("mlx5_0/1", "ib_write_lat", "pass", None)]
    assert [(m, v, u) for _, m, v, u, _, _ in rows(parsed)] == [
        ("t_min", 0.98, "us"), ("t_max", 4.12, "us"), ("t_typical", 1.01, "us"), ("t_avg", 1.02, "us"),
        ("t_stdev", 0.06, "us"), ("t_p99", 1.15, "us"), ("t_p99_9", 4.12, "us"),
    ]  # fmt: skip


def test_perftest_completion_error_is_an_error_run() -> None:
    lines = [
        *PERFTEST_GBITS[:18],
        " Completion with error at client",
        " Failed status 12: wr_id 0 syndrom 0x81",
        "scnt=128, ccnt=0",
        " Failed to complete run_iter_bw function successfully",
    ]
    parsed = parse(lines)
    detail = (
        "Completion with error at client; Failed status 12: wr_id 0 syndrom 0x81; "
        "Failed to complete run_iter_bw function successfully"
    )
    assert runs(parsed) == [("mlx5_3/1", "ib_write_bw", "error", detail)]
    assert rows(parsed) == []


def test_perftest_error_before_the_banner_belongs_to_the_run() -> None:
    lines = [" Couldn't connect to 10.0.0.2:18515", *PERFTEST_GBITS[:3]]
    parsed = parse(lines)
    assert runs(parsed) == [("mlx5_3/1", "ib_write_bw", "error", "Couldn't connect to 10.0.0.2:18515")]


def test_perftest_error_after_a_finished_run_is_the_next_invocation() -> None:
    lines = [*PERFTEST_GBITS, " Couldn't connect to 10.0.0.3:18515", "Unable to init the socket connection"]
    parsed = parse(lines, "gpu-017/ib_write_bw_all.log")
    assert runs(parsed) == [
        ("mlx5_3/1", "ib_write_bw", "pass", None),
        (None, "ib_write_bw", "error", "Couldn't connect to 10.0.0.3:18515; Unable to init the socket connection"),
    ]
    assert parsed.table("test_runs")["line_no"].to_list() == [2, 22]


def test_perftest_cut_inside_the_table_is_incomplete() -> None:
    parsed = parse(PERFTEST_GBITS[:19])
    assert runs(parsed) == [("mlx5_3/1", "ib_write_bw", "incomplete", "the results end after the 65536-byte row")]
    assert len(rows(parsed)) == 3


def test_perftest_banner_only_is_incomplete() -> None:
    parsed = parse(PERFTEST_GBITS[:4])
    assert runs(parsed) == [("mlx5_3/1", "ib_write_bw", "incomplete", "no result rows")]


def test_perftest_row_that_does_not_fit_the_table_is_malformed() -> None:
    lines = [*PERFTEST_GBITS[:19], " 8388608    5000             392.30", *PERFTEST_GBITS[20:]]
    parsed = parse(lines)
    assert parsed.error == "line 20: result row has 1 values, the table header 3"
    assert runs(parsed) == [("mlx5_3/1", "ib_write_bw", "incomplete", "the results end after the 65536-byte row")]
    assert len(rows(parsed)) == 3


# ---------------------------------------------------------------------------------------- sysimgguid map


def test_sysimgguid_map_assets_name_their_host() -> None:
    lines = [
        "VM_hostname gpu-017",
        "0ff08c4321664e96",
        "VM_hostname gpu-018",
        "VM_hostname gpu-019",
        "043F720300E61112",
        "",
    ]
    parsed = parse(lines)
    assert (parsed.format, parsed.error) == ("sysimgguid_map", None)
    assert assets(parsed) == [
        ("gpu-017", "node", None, "0x0ff08c4321664e96", None, None),
        ("gpu-019", "node", None, "0x043f720300e61112", None, None),
    ]


def test_sysimgguid_map_malformed() -> None:
    parsed = parse(["VM_hostname gpu-017", "0ff08c4321664e96", "pssh: timed out"])
    assert parsed.error == "line 3: expected `VM_hostname <host>` or a system image GUID, got 'pssh: timed out'"
    assert len(assets(parsed)) == 1


# ------------------------------------------------------------------------------------------------ sniffing


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param([], id="empty"),
        pytest.param(["", "   "], id="blank"),
        pytest.param(
            [
                "[  12.345678] mlx5_core 0000:5e:00.0: firmware version: 28.39.1002",
                "[  13.000001] mlx5_core 0000:5e:00.0 ibp94s0: Link down",
                "[  14.000002] infiniband mlx5_0: ib_query_port failed (-5)",
            ],
            id="kernel-log",
        ),
        pytest.param(["CA type: MT4129", "State: Active"], id="fields-without-a-ca"),
        pytest.param(
            ['Errors for "dl380g7 mlx4_0"', "   GUID 0x7cfe900300179b31 port 1: [PortXmitWait == 4]"],
            id="ibqueryerrors",
        ),
        pytest.param(["#bytes of data", "1 2 3"], id="not-a-perftest-table"),
    ],
)
def test_sniff_rejects(lines: list[str]) -> None:
    assert ib_status.sniff(lines, "node1/ib.txt") is None


OTHER_REALDATA = [
    "infiniband/treydock_infiniband_exporter/perfquery/0x506b4b03005c2740.out",
    "infiniband/treydock_infiniband_exporter/ibnetdiscover/test.out",
    "infiniband/treydock_infiniband_exporter/ibswinfo/test1.out",
    "infiniband/issue_excerpts/linux-rdma-list__ibqueryerrors_sx6036_link_errors.txt",
    "infiniband/sysfs_counters_gpud/sys-class-infiniband-h100.0.flat_dump.txt",
    "infiniband/superbench/ib_traffic_topo_aware_ibnetdiscover.txt",
    "nccl_tests/superbench/nccl_allreduce.log",
    "hpl/superbench/hpl_results.log",
    "nvbandwidth/superbench/nvbandwidth_results.log",
    "aznhc/test_data/1dev_6flap_syslog",
]


@pytest.mark.parametrize("relative", OTHER_REALDATA)
def test_sniff_leaves_other_real_files_alone(realdata: Path, relative: str) -> None:
    sample = (realdata / relative).read_bytes()[: 1 << 16].decode("utf-8", errors="replace").splitlines()[:200]
    assert ib_status.sniff(sample, relative) is None


# ------------------------------------------------------------------------------------------------ realdata


@pytest.mark.parametrize(
    ("name", "ports", "failed"),
    [
        pytest.param("ibstat.47.0.a100.all.active.0", 9, [], id="a100-all-active"),
        pytest.param("ibstat.47.0.h100.all.active.0", 12, [], id="h100-all-active-0"),
        pytest.param("ibstat.47.0.h100.all.active.1", 12, [], id="h100-all-active-1"),
        pytest.param("ibstat.47.0.h100.all.active.2", 9, [], id="h100-all-active-2"),
        pytest.param(
            "ibstat.47.0.h100.some.down.0", 12,
            ["mlx5_2/1 Down/Disabled", "mlx5_7/1 Down/Disabled", "mlx5_8/1 Down/Disabled"], id="h100-some-down-0",
        ),
        pytest.param(
            "ibstat.47.0.h100.some.down.1", 12, ["mlx5_11/1 Down/Disabled", "mlx5_5/1 Down/Disabled"],
            id="h100-some-down-1",
        ),
        pytest.param(
            "ibstat.47.0.h100.some.down.with.polling.1", 12, ["mlx5_11/1 Down/Polling", "mlx5_5/1 Down/Disabled"],
            id="h100-some-down-polling",
        ),
    ],
)  # fmt: skip
def test_realdata_gpud_ibstat(realdata: Path, name: str, ports: int, failed: list[str]) -> None:
    parsed = parse_path(realdata / GPUD / name)
    assert (parsed.format, parsed.error) == ("ibstat", None)
    found = runs(parsed)
    assert len(found) == ports
    assert [detail for _, _, status, detail in found if status != "pass"] == failed
    assert all(status in ("pass", "fail") for _, _, status, _ in found)
    assert len(parsed.table("measurements")) == 5 * ports


def test_realdata_gpud_ibstat_values(realdata: Path) -> None:
    parsed = parse_path(realdata / GPUD / "ibstat.47.0.h100.all.active.2")
    assert value(parsed, "mlx5_1/1", "lid") == 534
    assert value(parsed, "mlx5_1/1", "rate") == 400
    assert ("mlx5_0/1", "0x58a2e10300a7820e", "MT4129", "28.41.1000") in [a[2:] for a in assets(parsed)]
    ethernet = parse_path(realdata / GPUD / "ibstat.47.0.h100.all.active.0")
    # Four RoCE ports there report Port GUID 0x0000000000000000: no identity.
    assert sum(a[3] is None for a in assets(ethernet)) == 4
    assert value(ethernet, "mlx5_0/1", "state") == 4
    assert rows(ethernet, "mlx5_0/1")[0][4] == {"text": "Active", "link_layer": "Ethernet"}


def test_realdata_gpud_ibstat_ibpanic(realdata: Path) -> None:
    parsed = parse_path(realdata / GPUD / "ibstat.39.0.a100.failed.ibpanic.exit-255.0")
    assert parsed.error is None
    found = runs(parsed)
    assert found[:8] == [(f"mlx5_{i}/1", "ibstat", "pass", None) for i in range(8)]
    assert found[8] == (
        None, "ibstat", "error", "ibpanic: [1400444] main: stat of IB device 'mlx5_8' failed: No such file or directory",
    )  # fmt: skip
    assert parsed.table("test_runs")["line_no"][8] == 137
    assert value(parsed, "mlx5_0/1", "lid") == 13247
    assert assets(parsed)[0] == (None, "hca", "mlx5_0/1", "0x00155dfffd3411eb", "MT4124", "20.41.1000")


def test_realdata_gpud_ibstatus(realdata: Path) -> None:
    parsed = parse_path(realdata / GPUD / "ibstatus.39.0.a100.all.active.0")
    assert (parsed.format, parsed.error) == ("ibstatus", None)
    assert runs(parsed) == [(f"mlx5_{i}/1", "ibstat", "pass", None) for i in range(9)]
    assert value(parsed, "mlx5_0/1", "lid") == 0x33BF
    assert rows(parsed, "mlx5_0/1")[2] == ("mlx5_0/1", "rate", 200.0, "Gbit/s", {"text": "4X HDR"}, 7)
    assert rows(parsed, "mlx5_8/1")[2] == ("mlx5_8/1", "rate", 40.0, "Gbit/s", {"text": "4X QDR"}, 79)
    # Same host as the ibpanic ibstat file: the GUID read from the GID matches ibstat's Port GUID.
    assert assets(parsed)[0] == (None, "hca", "mlx5_0/1", "0x00155dfffd3411eb", None, None)
    assert assets(parsed)[8][3] is None  # Ethernet, `default gid: unknown`


def test_realdata_archwiki_ibstat_port2_down(realdata: Path) -> None:
    parsed = parse_path(realdata / WIKI / "archwiki-infiniband__ibstat_port2_down_polling.txt")
    assert (parsed.format, parsed.error) == ("ibstat", None)
    assert runs(parsed) == [
        ("mlx4_0/1", "ibstat", "pass", None),
        ("mlx4_0/2", "ibstat", "fail", "mlx4_0/2 Down/Polling"),
    ]
    assert value(parsed, "mlx4_0/1", "rate") == 20
    assert assets(parsed) == [
        (None, "hca", "mlx4_0/1", "0x0002c90300002f79", "MT25418", "2.9.1000"),
        (None, "hca", "mlx4_0/2", "0x0002c90300002f7a", "MT25418", "2.9.1000"),
    ]


def test_realdata_archwiki_iblinkinfo(realdata: Path) -> None:
    parsed = parse_path(realdata / WIKI / "archwiki-infiniband__iblinkinfo.txt")
    assert (parsed.format, parsed.error) == ("iblinkinfo", None)
    peer = {"peer": "kvm mlx4_0", "peer_port": 1}
    assert rows(parsed, "0x0002c90300002779/1") == [
        ("0x0002c90300002779/1", "state", 4.0, "enum", {**peer, "text": "Active"}, 2),
        ("0x0002c90300002779/1", "phys_state", 5.0, "enum", {**peer, "text": "LinkUp"}, 2),
        ("0x0002c90300002779/1", "rate", 20.0, "Gbit/s", {**peer, "text": "4X 5.0 Gbps"}, 2),
    ]
    assert value(parsed, "0x0002c90300002f79/1", "rate") == 20.0
    assert len(rows(parsed)) == 6


def test_realdata_archwiki_ibdiagnet_v1(realdata: Path) -> None:
    parsed = parse_path(realdata / WIKI / "archwiki-infiniband__ibdiagnet_v1.5.7_output.txt")
    assert (parsed.format, parsed.error) == ("ibdiagnet", None)
    assert runs(parsed) == [(None, "ibdiagnet", "pass", None)]
    assert (value(parsed, None, "nodes"), value(parsed, None, "switches"), value(parsed, None, "cas")) == (2, 0, 2)
    # `-W- Topology file is not specified.` and `-W- Suboptimal rate for group ...`
    assert (value(parsed, None, "errors", stage=None), value(parsed, None, "warnings", stage=None)) == (0, 2)
    assert value(parsed, None, "warnings", stage="IPoIB Subnets Check") == 1
    stages = [p["stage"] for _, m, _, _, p, _ in rows(parsed) if m == "errors" and p]
    assert len(stages) == 8 and stages[0] == "Bad GUIDs/LIDs Check"


def test_realdata_superbench_loopback_8m(realdata: Path) -> None:
    parsed = parse_path(realdata / SUPERBENCH / "ib_loopback_8M_size.log")
    assert (parsed.format, parsed.error) == ("ib_write_bw", None)
    # Client and server of one loopback test print into the same file, one after the other.
    assert runs(parsed) == [("ib0/1", "ib_write_bw", "pass", None)] * 2
    assert parsed.table("test_runs")["line_no"].to_list() == [1, 23]
    frame = parsed.table("measurements").filter(pl.col("metric") == "bw_peak")
    assert frame["value"].to_list() == pytest.approx([24056.74 * MIB] * 2)
    assert frame["line_no"].to_list() == [18, 39]


def test_realdata_superbench_loopback_all_sizes(realdata: Path) -> None:
    parsed = parse_path(realdata / SUPERBENCH / "ib_loopback_all_sizes.log")
    assert (parsed.format, parsed.error) == ("ib_write_bw", None)
    # Both ends print their banner before either prints a table: one run.
    assert runs(parsed) == [("ib0/1", "ib_write_bw", "pass", None)]
    frame = parsed.table("measurements")
    assert len(frame) == 24 * 3
    first = frame.filter(pl.col("line_no") == 41)
    assert first["value"].to_list() == pytest.approx([5.32 * MIB, 5.30 * MIB, 2.778732])
    assert json.loads(first["params"][0]) == {"iterations": 2000, "size": 2}
    last = frame.filter((pl.col("line_no") == 63) & (pl.col("metric") == "bw_average"))
    assert last["value"].to_list() == pytest.approx([23240.68 * MIB])


def test_realdata_superbench_sysimgguid_map(realdata: Path) -> None:
    parsed = parse_path(realdata / SUPERBENCH / "ib_traffic_topo_aware_ibstat.txt")
    assert (parsed.format, parsed.error) == ("sysimgguid_map", None)
    found = assets(parsed)
    assert len(found) == 10
    assert found[4] == ("vma414bbc00005M", "node", None, "0x1c34da03005baca4", None, None)
    assert found[0][0] == "vma414bbc00005I" and found[-1][0] == "vma414bbc00005R"


# ----------------------------------------------------------------------------------------------- end to end


def test_ingest_lands_rows_with_host_and_file(store: Store, inputs: Path) -> None:
    node = inputs / "gpu-017"
    node.mkdir()
    (node / "ibstat.txt").write_bytes(text_of(IBSTAT))
    (node / "ib_write_bw.log").write_bytes(text_of(PERFTEST_GBITS))
    summary = ingest(store, [str(inputs)])
    assert not summary.errors
    files = store.frame("SELECT file_id, path, host, kind, format, status, error FROM files ORDER BY path").to_dicts()
    assert [(Path(f["path"]).name, f["host"], f["kind"], f["format"], f["status"], f["error"]) for f in files] == [
        ("ib_write_bw.log", "gpu-017", "ib_status", "ib_write_bw", "ok", None),
        ("ibstat.txt", "gpu-017", "ib_status", "ibstat", "ok", None),
    ]
    ibstat_id = files[1]["file_id"]
    found = store.frame("SELECT host, device, test, status, detail, file_id FROM test_runs ORDER BY device").rows()
    assert found == [
        ("gpu-017", "mlx5_0/1", "ibstat", "pass", None, ibstat_id),
        ("gpu-017", "mlx5_2/1", "ibstat", "fail", "mlx5_2/1 Down/Polling", ibstat_id),
        ("gpu-017", "mlx5_3/1", "ib_write_bw", "pass", None, files[0]["file_id"]),
    ]
    assert store.frame("SELECT count(*) AS n FROM measurements WHERE host = 'gpu-017'")["n"][0] == 10 + 6
    assert store.frame("SELECT device, uuid FROM assets ORDER BY device").rows() == [
        ("mlx5_0/1", "0xa088c20300e3142a"),
        ("mlx5_2/1", "0xa088c20300e3151e"),
    ]
    assert store.frame("SELECT count(*) AS n FROM events")["n"][0] == len(IBSTAT) + len(PERFTEST_GBITS)
