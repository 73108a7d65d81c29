"""InfiniBand status and link-test outputs for the parse benchmark: ibstat, ibstatus, perftest, iblinkinfo, ibdiagnet.

Per node (8 NDR HCAs and one RoCE bond): `ibstat.txt`, `ibstatus.txt` and one `ib_write_bw_mlx5_N.log`
per HCA with a full 2 B - 8 MiB sweep (`-a --report_gbits`). Every fifth node has a port Down/Polling;
every ninth perftest run stops with a completion error. Per fabric: `iblinkinfo.txt` for the leaf and
spine switches (64 ports each, unused ports Down/Polling) and the CA ports of every node, and an
`ibdiagnet2.log` with port counter errors on some ports. `scale` multiplies the nodes (and so the fabric).
"""

from __future__ import annotations

import random

NODES_PER_SCALE = 32
HCAS = 8
SWITCH_PORTS = 64
SIZES = [2**i for i in range(1, 24)]
RULE = "-" * 87
NDR_LANE = "106.25"


def make(scale: int = 1) -> list[tuple[str, bytes]]:
    """Files (name, content) for `NODES_PER_SCALE * scale` nodes and their fabric; deterministic."""
    nodes = NODES_PER_SCALE * scale
    files: list[tuple[str, bytes]] = []
    for node in range(nodes):
        rng = random.Random(node)
        host = f"gpu-node{node:04d}"
        down = rng.randrange(HCAS) if node % 5 == 4 else None
        files += [
            (f"{host}/ibstat.txt", _ibstat(node, down).encode()),
            (f"{host}/ibstatus.txt", _ibstatus(node, down).encode()),
        ]
        for hca in range(HCAS):
            failed = (node * HCAS + hca) % 9 == 8
            files.append((f"{host}/ib_write_bw_mlx5_{hca}.log", _perftest(rng, hca, failed).encode()))
    files += [
        ("fabric/iblinkinfo.txt", _iblinkinfo(nodes).encode()),
        ("fabric/ibdiagnet2.log", _ibdiagnet(random.Random(nodes), nodes).encode()),
    ]
    return files


def _guid(node: int, hca: int) -> str:
    return f"0xa088c203{node:04x}{hca:04x}"


def _ibstat(node: int, down: int | None) -> str:
    out = []
    for hca in range(HCAS + 1):
        roce = hca == HCAS
        name = "mlx5_bond_0" if roce else f"mlx5_{hca}"
        state, phys = ("Down", "Polling") if hca == down else ("Active", "LinkUp")
        out += [
            f"CA '{name}'",
            f"\tCA type: {'MT4125' if roce else 'MT4129'}",
            "\tNumber of ports: 1",
            f"\tFirmware version: {'22.39.1002' if roce else '28.39.1002'}",
            "\tHardware version: 0",
            f"\tNode GUID: {_guid(node, hca)}",
            f"\tSystem image GUID: {_guid(node, 0)}",
            "\tPort 1:",
            f"\t\tState: {state}",
            f"\t\tPhysical state: {phys}",
            f"\t\tRate: {100 if roce else 400}",
            f"\t\tBase lid: {0 if roce else node * HCAS + hca + 1}",
            "\t\tLMC: 0",
            f"\t\tSM lid: {0 if roce else 1}",
            "\t\tCapability mask: 0xa751e848",
            f"\t\tPort GUID: {'0x0000000000000000' if roce else _guid(node, hca)}",
            f"\t\tLink layer: {'Ethernet' if roce else 'InfiniBand'}",
        ]
    return "\n".join(out) + "\n"


def _ibstatus(node: int, down: int | None) -> str:
    out = []
    for hca in range(HCAS):
        guid = _guid(node, hca)[2:]
        gid = ":".join(["fe80", "0000", "0000", "0000", guid[0:4], guid[4:8], guid[8:12], guid[12:16]])
        state, phys = ("1: DOWN", "2: Polling") if hca == down else ("4: ACTIVE", "5: LinkUp")
        out += [
            f"Infiniband device 'mlx5_{hca}' port 1 status:",
            f"\tdefault gid:\t {gid}",
            f"\tbase lid:\t 0x{node * HCAS + hca + 1:x}",
            "\tsm lid:\t\t 0x1",
            f"\tstate:\t\t {state}",
            f"\tphys state:\t {phys}",
            "\trate:\t\t 400 Gb/sec (4X NDR)",
            "\tlink_layer:\t InfiniBand",
            "",
        ]
    return "\n".join(out)


def _perftest(rng: random.Random, hca: int, failed: bool) -> str:
    out = [
        RULE,
        "                    RDMA_Write BW Test",
        f" Dual-port       : OFF\t\tDevice         : mlx5_{hca}",
        " Number of qps   : 1\t\tTransport type : IB",
        " Connection type : RC\t\tUsing SRQ      : OFF",
        " PCIe relax order: ON",
        " ibv_wr* API     : ON",
        " TX depth        : 128",
        " CQ Moderation   : 100",
        " Mtu             : 4096[B]",
        " Link type       : IB",
        " Max inline data : 0[B]",
        " rdma_cm QPs\t : OFF",
        " Data ex. method : Ethernet",
        RULE,
        f" local address: LID 0x{hca + 1:x} QPN 0x{rng.randrange(1 << 16):04x} PSN 0x{rng.randrange(1 << 24):06x}",
        f" remote address: LID 0x{hca + 65:x} QPN 0x{rng.randrange(1 << 16):04x} PSN 0x{rng.randrange(1 << 24):06x}",
        RULE,
        " #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]   MsgRate[Mpps]",
    ]
    for size in SIZES:
        if failed and size == 1 << 16:
            return (
                "\n".join([*out, " Completion with error at client", " Failed status 12: wr_id 0 syndrom 0x81"]) + "\n"
            )
        ceiling = 392.0 * size / (size + 2048)
        average = ceiling * rng.uniform(0.97, 1.0)
        peak = max(average, ceiling * rng.uniform(0.99, 1.01))
        out.append(
            f" {size:<10d} 5000           {peak:.2f}             {average:.2f}\t\t   {average * 1e3 / 8 / size:.6f}"
        )
    return "\n".join([*out, RULE]) + "\n"


def _iblinkinfo(nodes: int) -> str:
    rng = random.Random(nodes)
    leaves = max(1, nodes * HCAS // (SWITCH_PORTS // 2))
    out = []
    for node in range(nodes):
        for hca in range(HCAS):
            leaf, port = divmod(node * HCAS + hca, SWITCH_PORTS // 2)
            out += [
                f"CA: gpu-node{node:04d} mlx5_{hca}:",
                f"      {_guid(node, hca)} {node * HCAS + hca + 1:6d} {1:4d}[  ] "
                f"==( 4X {NDR_LANE:>12} Gbps Active/  LinkUp)==>"
                f' {10000 + leaf:6d} {port + 1:4d}[  ] "MF0;leaf{leaf:03d}:MQM9700/U1" ( )',
            ]
    for leaf in range(leaves):
        out.append(f"Switch: 0x0c42a1030089{leaf:04x} MF0;leaf{leaf:03d}:MQM9700/U1:")
        for port in range(1, SWITCH_PORTS + 1):
            if rng.random() < 0.05:
                out.append(
                    f'{10000 + leaf:12d} {port:4d}[  ] ==(                Down/ Polling)==>             [  ] "" ( )'
                )
                continue
            peer = f"leaf-uplink-{port}" if port > SWITCH_PORTS // 2 else f"gpu-node host port {port}"
            out.append(
                f"{10000 + leaf:12d} {port:4d}[  ] ==( 4X {NDR_LANE:>12} Gbps Active/  LinkUp)==>"
                f' {20000 + port:6d} {1:4d}[  ] "{peer}" ( )'
            )
    return "\n".join(out) + "\n"


def _ibdiagnet(rng: random.Random, nodes: int) -> str:
    cas, switches = nodes * HCAS, max(1, nodes * HCAS // (SWITCH_PORTS // 2))
    out = [
        "Load Plugins from:",
        "/usr/share/ibdiagnet2.1.1/plugins/",
        "",
        "---------------------------------------------",
        "Discovery",
        f"-I- Discovering ... {cas + switches} nodes ({switches} Switches & {cas} CA-s) discovered.",
        "-I- Fabric Discover finished successfully",
        "",
        "---------------------------------------------",
        "Port Counters",
        "-I- Ports counters retrieving finished successfully",
        "-E- Ports counters value Check finished with errors",
    ]
    errors = 1
    for leaf in range(switches):
        for port in rng.sample(range(1, SWITCH_PORTS + 1), 3):
            out += [
                f"-E- lid=0x{10000 + leaf:04x} dev=54000 S0c42a1030089{leaf:04x}/N0c42a1030089{leaf:04x}/P{port}",
                "        Performance Monitor counter         : Value",
                f"        symbol_error_counter                : {rng.choice([12, 140, 65535])}",
            ]
            errors += 1
    out += [
        "",
        "---------------------------------------------",
        "Summary",
        "-I- Stage                     Warnings   Errors     Comment",
        "-I- Discovery                 0          0",
        f"-I- Port Counters             0          {errors}",
        "",
        "-I- You can find detailed errors/warnings in: /var/tmp/ibdiagnet2/ibdiagnet2.log",
    ]
    return "\n".join(out) + "\n"
