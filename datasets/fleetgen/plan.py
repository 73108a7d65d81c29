"""Drawing a fleet: every node's identity, file formats, faults and benign noise, from one seed.

All nodes are one SKU (8x H100 SXM 80GB HBM3 on an HGX baseboard with 4 NVSwitches, 8 ConnectX-7
NDR ports, 32 DIMMs), so the fleet is one cohort, as a burn-in batch is. About `fault_rate` of the
nodes get a fault and some of those a second, independent one; the first faulty nodes take every
kind once (so even a small fleet shows each chain), the rest draw from the published mix. Healthy
and faulty nodes alike get benign noise (hard negatives).
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from fleetgen.faults import KINDS, NOISE, draw_kind, make_fault
from fleetgen.model import Dimm, Gpu, Hca, Node, NvSwitch, Timeline

DRIVER, CUDA = "550.54.15", "12.4"
# HGX H100 baseboard: GPU bus, PCIe switch port above it, HCA bus on the same switch.
GPU_BUSES = [
    ("18", "15"),
    ("2a", "27"),
    ("3a", "37"),
    ("5d", "5a"),
    ("9a", "97"),
    ("ab", "a8"),
    ("ba", "b7"),
    ("db", "d8"),
]
HCA_BUSES = ["1a", "3c", "4d", "5e", "9c", "bc", "cc", "dc"]
NVSWITCH_BUSES = ["05", "06", "07", "08"]
FORMATS = {
    "kernel": ["dmesg", "dmesg_ctime", "journal_short_iso", "syslog"],
    "nvidia_smi": ["text", "xml"],
    "dcgm": ["text", "json"],
}
FIRST_BOOT = datetime(2026, 11, 16, 6, 0, 0)
SECOND_FAULT_SHARE = 0.1  # of faulty nodes
NOISE_PER_NODE = (0, 3)  # how many noise kinds a node gets (inclusive range)


def plan_fleet(hosts: int, seed: int, fault_rate: float = 0.4) -> list[Node]:
    """`hosts` nodes named node0001..., deterministic in `seed`."""
    rng = random.Random(seed)
    width = max(4, len(str(hosts)))
    nodes = [_node(f"node{n + 1:0{width}d}", n, seed, rng) for n in range(hosts)]
    faulty = sorted(rng.sample(range(hosts), round(hosts * fault_rate)))
    coverage = list(KINDS)
    rng.shuffle(coverage)
    for position, n in enumerate(faulty):
        node = nodes[n]
        kinds = [coverage[position] if position < len(coverage) else draw_kind(rng)]
        if rng.random() < SECOND_FAULT_SHARE:
            second = draw_kind(rng)
            if second.name != kinds[0].name and "node" not in (second.target, kinds[0].target):
                kinds.append(second)
        taken: set[str] = set()
        node.faults = [make_fault(kind, node, rng, taken) for kind in kinds]
    for node in nodes:
        node.noise = sorted(rng.sample(sorted(NOISE), rng.randint(*NOISE_PER_NODE)))
    return nodes


def _node(host: str, n: int, seed: int, rng: random.Random) -> Node:
    ident = random.Random(f"{seed}:{host}")
    gpus = [
        Gpu(
            index=i,
            bdf=f"0000:{bus}:00.0",
            serial=f"165{ident.randrange(10**9, 10**10)}",
            uuid=f"GPU-{uuid.UUID(int=ident.getrandbits(128), version=4)}",
            module_id=i + 1,
            root_port=f"0000:{port}:01.0",
        )
        for i, (bus, port) in enumerate(GPU_BUSES)
    ]
    node_guids = [ident.getrandbits(32) for _ in HCA_BUSES]
    hcas = [
        Hca(
            index=i,
            name=f"mlx5_{i}",
            port=1,
            bdf=f"0000:{bus}:00.0",
            netdev=f"ib{i}",
            node_guid=f"0xa088c203{guid:08x}",
            port_guid=f"0xa088c203{guid:08x}",
            lid=1 + (8 * n + i) % 0xBFFF,  # unicast LIDs stop at 0xBFFF: big fleets reuse them across subnets
        )
        for i, (bus, guid) in enumerate(zip(HCA_BUSES, node_guids, strict=True))
    ]
    dimms = [
        Dimm(f"CPU_SrcID#{s}_MC#{mc}_Chan#{ch}_DIMM#{slot}", mc, ch, slot, s)
        for s in range(2)
        for mc in range(4)
        for ch in range(2)
        for slot in range(2)
    ]
    boot = FIRST_BOOT + timedelta(minutes=37 * n + rng.randrange(0, 30), seconds=rng.randrange(60))
    formats = {artifact: rng.choice(choices) for artifact, choices in FORMATS.items()}
    return Node(
        host=host,
        seed=seed,
        gpus=gpus,
        hcas=hcas,
        nvswitches=[NvSwitch(i, f"0000:{bus}:00.0") for i, bus in enumerate(NVSWITCH_BUSES)],
        dimms=dimms,
        driver=DRIVER,
        cuda=CUDA,
        timeline=Timeline.starting(boot),
        formats=formats,
    )
