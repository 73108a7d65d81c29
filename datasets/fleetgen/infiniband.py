"""InfiniBand counter snapshots around the burn-in run and `ibstat` of a node's 8 ConnectX-7 NDR ports.

Layouts (one each):
  ib/counters-before.txt  `date -u` then `grep -r .` of /sys/class/infiniband at timeline.ib_before: per HCA
                          board_id, fw_ver, hca_type, node_guid, ports/1/counters/*, hw_counters/*, lid,
                          link_layer, phys_state, rate, state (`./mlx5_0/ports/1/counters/symbol_error:0`)
  ib/counters-after.txt   the same at timeline.ib_after: traffic counters grown by the run
  ib/ibstat.txt           `ibstat` at timeline.collected (`CA 'mlx5_0'` blocks with a `Port 1:` block)

Fault kinds rendered:
  ib_cable     on the fault's port between the snapshots: symbol_error +1000..9000, link_error_recovery +5..20,
               link_downed +2..8, port_rcv_errors +20..300, local_ack_timeout_err up; the port ends Active
  hca_failure  the port is `1: DOWN` / `3: Disabled` at 10 Gb/sec (4X SDR) in the after snapshot and Down/Disabled
               in ibstat; its traffic stopped growing part way through the run
Noise kinds rendered:
  link_error_recovery_tick  one healthy port's link_error_recovery +1 between the snapshots
Some nodes also carry one static non-zero benign counter (port_rcv_switch_relay_errors or
excessive_buffer_overrun_errors), equal in both snapshots, as real fleets do.
"""

from __future__ import annotations

import random
from datetime import datetime

from fleetgen.model import Hca, Node
from triage.sources.ib_names import MLX5_HW_COUNTERS as HW_COUNTERS
from triage.sources.ib_names import SYSFS_COUNTERS as COUNTERS

BOARD_ID, FW_VER, HCA_TYPE = "MT_0000000838", "28.39.1002", "MT4129"
SM_LID = 1
CAPABILITY_MASK = "0xa751e848"
STATIC_COUNTER_SHARE = 0.08  # of nodes with one benign non-zero counter
ACTIVE = ("4: ACTIVE", "5: LinkUp", "400 Gb/sec (4X NDR)")
DOWN = ("1: DOWN", "3: Disabled", "10 Gb/sec (4X SDR)")

Counters = dict[str, int]


def _idle(rng: random.Random) -> Counters:
    """A port's counters a few minutes after boot: subnet management and IPoIB chatter only."""
    counters = dict.fromkeys(COUNTERS + HW_COUNTERS, 0)
    counters["lifespan"] = 12
    for direction in ("xmit", "rcv"):
        packets = rng.randint(1500, 6000)
        counters[f"port_{direction}_packets"] = counters[f"unicast_{direction}_packets"] = packets
        counters[f"port_{direction}_data"] = packets * rng.randint(60, 70)
    counters["port_xmit_wait"] = rng.randint(0, 500)
    return counters


def _grow(counters: Counters, rng: random.Random, volume: float, share: float) -> Counters:
    """The counters after `share` of the burn-in's traffic: about `volume` octets each way (NCCL spreads it evenly)."""
    after = dict(counters)
    sent = int(volume * rng.uniform(0.98, 1.02) * share)
    for direction, octets in (("xmit", sent), ("rcv", int(sent * rng.uniform(0.98, 1.02)))):
        packets = int(octets / rng.uniform(3900, 4100))
        after[f"port_{direction}_data"] += octets // 4  # 4-octet words
        after[f"port_{direction}_packets"] += packets
        after[f"unicast_{direction}_packets"] += packets
    after["port_xmit_wait"] += int(rng.uniform(1e7, 9e7) * share)
    after["rx_write_requests"] += int(sent / 524288 * rng.uniform(0.9, 1.1))
    after["rx_read_requests"] += int(rng.uniform(2e3, 2e4) * share)
    return after


def link_downs(node: Node) -> int:
    """How often a bad cable's link went down during the run (2-8; from 5 it is flapping): the kernel log matches it."""
    return node.rng("ib_cable_link_downs").randint(2, 8)


def _cable(after: Counters, rng: random.Random, downs: int) -> None:
    """A bad cable or transceiver: symbol errors, retrains, `downs` link downs, damaged packets and retransmits."""
    after["symbol_error"] += rng.randint(1000, 9000)
    after["link_error_recovery"] += rng.randint(5, 20)
    after["link_downed"] += downs
    after["port_rcv_errors"] += rng.randint(20, 300)
    after["local_ack_timeout_err"] += rng.randint(10, 100)


def snapshots(node: Node) -> dict[str, tuple[Counters, Counters]]:
    """The counters of every port (`mlx5_0/1`) before and after the run, faults and noise applied."""
    rng = node.rng("ib_counters")
    cabled = {f.target.device for f in node.faults_of("ib_cable") if isinstance(f.target, Hca)}
    failed = _failed(node)
    volume = rng.uniform(1.5e12, 3.0e12)  # octets per port over the run
    out = {}
    for hca in node.hcas:
        before = _idle(rng)
        after = _grow(before, rng, volume, rng.uniform(0.2, 0.6) if hca.device in failed else 1.0)
        if hca.device in cabled:
            _cable(after, rng, link_downs(node))
        out[hca.device] = (before, after)
    faulty = cabled | failed
    healthy = [hca.device for hca in node.hcas if hca.device not in faulty]
    if node.has_noise("link_error_recovery_tick") and healthy:
        out[rng.choice(healthy)][1]["link_error_recovery"] += 1
    if rng.random() < STATIC_COUNTER_SHARE and healthy:
        name = rng.choice(("port_rcv_switch_relay_errors", "excessive_buffer_overrun_errors"))
        value = rng.randint(1, 15)
        for counters in out[rng.choice(healthy)]:
            counters[name] = value
    return out


def _failed(node: Node) -> set[str]:
    """The ports of HCAs that failed during the run."""
    return {f.target.device for f in node.faults_of("hca_failure") if isinstance(f.target, Hca)}


def date_line(moment: datetime) -> str:
    """`date -u` output: `Fri Nov  6 10:00:00 UTC 2026`."""
    return f"{moment:%a %b} {moment.day:2d} {moment:%H:%M:%S} UTC {moment:%Y}"


def _sysfs_guid(guid: str) -> str:
    """`0xa088c20300e3142a` as sysfs prints a GUID: `a088:c203:00e3:142a`."""
    digits = guid[2:]
    return ":".join(digits[i : i + 4] for i in range(0, 16, 4))


def _sysfs(hca: Hca, counters: Counters, port: tuple[str, str, str], lid: int) -> str:
    """The `grep -r .` lines of one HCA."""
    state, phys, rate = port
    base, ports = f"./{hca.name}", f"./{hca.name}/ports/{hca.port}"
    lines = [
        f"{base}/board_id:{BOARD_ID}",
        f"{base}/fw_ver:{FW_VER}",
        f"{base}/hca_type:{HCA_TYPE}",
        f"{base}/node_guid:{_sysfs_guid(hca.node_guid)}",
        *(f"{ports}/counters/{name}:{counters[name]}" for name in COUNTERS),
        *(f"{ports}/hw_counters/{name}:{counters[name]}" for name in HW_COUNTERS),
        f"{ports}/lid:{lid:#x}",
        f"{ports}/link_layer:InfiniBand",
        f"{ports}/phys_state:{phys}",
        f"{ports}/rate:{rate}",
        f"{ports}/state:{state}",
    ]
    return "\n".join(lines) + "\n"


def _dump(node: Node, moment: datetime, counters: dict[str, Counters], down: set[str]) -> bytes:
    """One snapshot file: the date line, then every HCA."""
    parts = [date_line(moment) + "\n"]
    for hca in node.hcas:
        is_down = hca.device in down
        parts.append(_sysfs(hca, counters[hca.device], DOWN if is_down else ACTIVE, 0 if is_down else hca.lid))
    return "".join(parts).encode()


def _ibstat_ca(hca: Hca, is_down: bool) -> str:
    """One `CA '...'` block of ibstat."""
    state, phys, rate, lid, sm_lid = (
        ("Down", "Disabled", 10, 0, 0) if is_down else ("Active", "LinkUp", 400, hca.lid, SM_LID)
    )
    return (
        f"CA '{hca.name}'\n\tCA type: {HCA_TYPE}\n\tNumber of ports: 1\n\tFirmware version: {FW_VER}\n"
        f"\tHardware version: 0\n\tNode GUID: {hca.node_guid}\n\tSystem image GUID: {hca.node_guid}\n"
        f"\tPort {hca.port}:\n\t\tState: {state}\n\t\tPhysical state: {phys}\n\t\tRate: {rate}\n"
        f"\t\tBase lid: {lid}\n\t\tLMC: 0\n\t\tSM lid: {sm_lid}\n\t\tCapability mask: {CAPABILITY_MASK}\n"
        f"\t\tPort GUID: {hca.port_guid}\n\t\tLink layer: InfiniBand\n"
    )


def write(node: Node) -> dict[str, bytes]:
    """The two counter snapshots and ibstat: relative path -> content."""
    pairs = snapshots(node)
    failed = _failed(node)
    before = {device: pair[0] for device, pair in pairs.items()}
    after = {device: pair[1] for device, pair in pairs.items()}
    ibstat = "".join(_ibstat_ca(hca, hca.device in failed) for hca in sorted(node.hcas, key=lambda h: h.name))
    return {
        "ib/counters-before.txt": _dump(node, node.timeline.ib_before, before, set()),
        "ib/counters-after.txt": _dump(node, node.timeline.ib_after, after, failed),
        "ib/ibstat.txt": ibstat.encode(),
    }
