"""InfiniBand counter files for the parser benchmark: sysfs dumps, perfquery and ibqueryerrors.

Per `scale` unit: 16 single-node sysfs dumps (8 NDR HCAs each, `grep -r .` layout), one fleet-wide
pdsh dump of 256 nodes, a `perfquery -x` of every port of a 64-port switch plus its all-ports sum,
a plain `perfquery`, and an `ibqueryerrors` sweep of a 2,048-node fabric. Seeded: same bytes every run.
"""

from __future__ import annotations

import random

from triage.sources.ib_names import MLX5_HW_COUNTERS as HW_COUNTERS
from triage.sources.ib_names import SYSFS_COUNTERS as COUNTERS

HCAS = [f"mlx5_{i}" for i in range(8)]
TRAFFIC = {"data", "packets", "requests", "connect"}
EXT_FIELDS = [
    "PortXmitData",
    "PortRcvData",
    "PortXmitPkts",
    "PortRcvPkts",
    "PortUnicastXmitPkts",
    "PortUnicastRcvPkts",
    "PortMulticastXmitPkts",
    "PortMulticastRcvPkts",
]
ERROR_FIELDS = [
    "SymbolErrorCounter",
    "LinkErrorRecoveryCounter",
    "LinkDownedCounter",
    "PortRcvErrors",
    "PortRcvRemotePhysicalErrors",
    "PortRcvSwitchRelayErrors",
    "PortXmitDiscards",
    "PortXmitConstraintErrors",
    "PortRcvConstraintErrors",
    "LocalLinkIntegrityErrors",
    "ExcessiveBufferOverrunErrors",
    "VL15Dropped",
]


def _counter_value(rng: random.Random, name: str) -> int:
    if any(word in name for word in TRAFFIC):
        return rng.randrange(10**9, 10**15)
    if name == "port_xmit_wait":
        return rng.randrange(0, 4294967295)
    if name == "link_downed" and rng.random() < 0.01:
        return 255
    return rng.choice([0] * 40 + [1, 2, 3, 14, 15])


def _node_lines(rng: random.Random, prefix: str) -> list[str]:
    """The sysfs lines of one node with 8 HCAs, each line starting with `prefix`."""
    out = []
    for ca in HCAS:
        guid = rng.getrandbits(64)
        out += [
            f"{prefix}{ca}/board_id:MT_0000000838",
            f"{prefix}{ca}/fw_ver:28.41.1000",
            f"{prefix}{ca}/hca_type:MT4129",
            f"{prefix}{ca}/node_guid:{':'.join(f'{guid:016x}'[i : i + 4] for i in range(0, 16, 4))}",
        ]
        port = f"{prefix}{ca}/ports/1"
        out += [f"{port}/counters/{name}:{_counter_value(rng, name)}" for name in COUNTERS]
        out += [f"{port}/hw_counters/{name}:{_counter_value(rng, name)}" for name in HW_COUNTERS]
        down = rng.random() < 0.02
        out += [
            f"{port}/link_layer:InfiniBand",
            f"{port}/phys_state:{'2: Polling' if down else '5: LinkUp'}",
            f"{port}/rate:400 Gb/sec (4X NDR)",
            f"{port}/state:{'1: DOWN' if down else '4: ACTIVE'}",
        ]
    return out


def _perfquery_block(rng: random.Random, lid: int, port: int) -> list[str]:
    lines = [
        f"# Port extended counters: Lid {lid} port {port} (CapMask: 0x5A00 CapMask2: 0x0000002)",
        f"{'PortSelect:':.<33}{port}",
        f"{'CounterSelect:':.<33}0x0000",
    ]
    lines += [f"{name + ':':.<33}{rng.randrange(10**8, 10**14)}" for name in EXT_FIELDS]
    lines.append(f"{'CounterSelect2:':.<33}0x00000000")
    lines += [f"{name + ':':.<33}{rng.choice([0] * 20 + [1, 7, 65535])}" for name in ERROR_FIELDS]
    lines += [f"{'PortXmitWait:':.<33}{rng.randrange(0, 10**9)}", f"{'QP1Dropped:':.<33}0"]
    return lines


def _perfquery_plain(rng: random.Random, lid: int) -> list[str]:
    lines = [f"# Port counters: Lid {lid} port 1 (CapMask: 0x1600)", f"{'PortSelect:':.<33}1"]
    lines.append(f"{'CounterSelect:':.<33}0x0000")
    lines += [f"{name + ':':.<33}{rng.choice([0, 0, 0, 3, 65535])}" for name in ERROR_FIELDS[:9]]
    lines.append(f"{'CounterSelect2:':.<33}0x00")
    lines += [f"{name + ':':.<33}0" for name in ERROR_FIELDS[9:]]
    lines += [f"{name + ':':.<33}{rng.randrange(0, 4294967296)}" for name in EXT_FIELDS[:4]]
    lines.append(f"{'PortXmitWait:':.<33}{rng.randrange(0, 4294967296)}")
    return lines


def _ibqueryerrors(rng: random.Random, nodes: int) -> list[str]:
    lines = []
    bad_nodes = bad_ports = 0
    for n in range(nodes):
        guid = 0x0C42A10300000000 + n * 2
        ports = [p for p in range(1, 3) if rng.random() < 0.05]
        if not ports:
            continue
        bad_nodes += 1
        lines.append(f'Errors for "gpu-{n:05d} mlx5_{rng.randrange(8)}"')
        for port in ports:
            bad_ports += 1
            counters = rng.sample(["SymbolErrorCounter", "LinkDownedCounter", "PortRcvErrors", "PortXmitWait"], 2)
            text = " ".join(f"[{name} == {rng.choice([1, 12, 255, 65535])}]" for name in counters)
            lines.append(f"   GUID 0x{guid + port - 1:x} port {port}: {text}")
    lines += [
        "",
        f"## Summary: {nodes} nodes checked, {bad_nodes} bad nodes found",
        f"##          {nodes * 2} ports checked, {bad_ports} ports have errors beyond threshold",
        "## Thresholds: ",
        "## Suppressed:",
    ]
    return lines


def _text(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def make(scale: int = 1) -> list[tuple[str, bytes]]:
    """Realistic InfiniBand counter files; `scale` multiplies every kind of file."""
    rng = random.Random(20251122)
    files = []
    for copy in range(scale):
        for node in range(16):
            name = f"gpu-{copy:02d}{node:03d}/sys-class-infiniband.txt"
            files.append((name, _text(_node_lines(rng, "./"))))
        fleet = [line for n in range(256) for line in _node_lines(rng, f"gpu-{n:05d}: /sys/class/infiniband/")]
        files.append((f"fleet-{copy:02d}/ib-counters-pdsh.txt", _text(fleet)))
        switch = [line for port in range(1, 65) for line in _perfquery_block(rng, 1719 + copy, port)]
        switch += _perfquery_block(rng, 1719 + copy, 255)
        files.append((f"switch-{copy:02d}/perfquery-x.txt", _text(switch)))
        files.append((f"gpu-{copy:02d}000/perfquery.txt", _text(_perfquery_plain(rng, 40 + copy))))
        files.append((f"fabric-{copy:02d}/ibqueryerrors.txt", _text(_ibqueryerrors(rng, 2048))))
    return files
