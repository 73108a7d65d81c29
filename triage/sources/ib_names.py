"""One naming of InfiniBand port counters and states for every tool that reports them.

sysfs (`/sys/class/infiniband/<ca>/ports/<p>/counters/*`) names are the common names;
`perfquery`, `ibqueryerrors` and node_exporter spell the same IBTA PortCounters
differently and are mapped onto them. Counters are narrow and stop at their maximum
(`link_downed` at 255): a value at its width's maximum is saturated and says only
"at least this many" (field-catalogs.md §8).
"""

from __future__ import annotations

import re

# IBTA PortCounters attribute widths in bits (IBA spec vol. 1, 16.1.3.5); the extended
# (64-bit) data and packet counters are listed as 64.
COUNTER_BITS: dict[str, int] = {
    "symbol_error": 16,
    "link_error_recovery": 8,
    "link_downed": 8,
    "port_rcv_errors": 16,
    "port_rcv_remote_physical_errors": 16,
    "port_rcv_switch_relay_errors": 16,
    "port_xmit_discards": 16,
    "port_xmit_constraint_errors": 8,
    "port_rcv_constraint_errors": 8,
    "local_link_integrity_errors": 4,
    "excessive_buffer_overrun_errors": 4,
    "VL15_dropped": 16,
    "port_xmit_wait": 32,
    "port_xmit_data": 64,
    "port_rcv_data": 64,
    "port_xmit_packets": 64,
    "port_rcv_packets": 64,
    "unicast_xmit_packets": 64,
    "unicast_rcv_packets": 64,
    "multicast_xmit_packets": 64,
    "multicast_rcv_packets": 64,
}

# The files of a port's sysfs `counters/` folder (the PortCounters above) and, on mlx5 (ConnectX),
# of its `hw_counters/` folder, as `ls` lists them.
SYSFS_COUNTERS = tuple(sorted(COUNTER_BITS))
MLX5_HW_COUNTERS = (
    "duplicate_request",
    "implied_nak_seq_err",
    "lifespan",
    "local_ack_timeout_err",
    "out_of_buffer",
    "out_of_sequence",
    "packet_seq_err",
    "req_cqe_error",
    "req_cqe_flush_error",
    "req_remote_access_errors",
    "req_remote_invalid_request",
    "resp_cqe_error",
    "resp_cqe_flush_error",
    "resp_local_length_error",
    "resp_remote_access_errors",
    "rnr_nak_retry_err",
    "roce_adp_retrans",
    "roce_adp_retrans_to",
    "roce_slow_restart",
    "roce_slow_restart_cnps",
    "roce_slow_restart_trans",
    "rx_atomic_requests",
    "rx_dct_connect",
    "rx_icrc_encapsulated",
    "rx_read_requests",
    "rx_write_requests",
)

# perfquery / ibqueryerrors / PortCounters attribute names -> sysfs names.
TOOL_NAMES: dict[str, str] = {
    "SymbolErrorCounter": "symbol_error",
    "LinkErrorRecoveryCounter": "link_error_recovery",
    "LinkDownedCounter": "link_downed",
    "PortRcvErrors": "port_rcv_errors",
    "PortRcvRemotePhysicalErrors": "port_rcv_remote_physical_errors",
    "PortRcvSwitchRelayErrors": "port_rcv_switch_relay_errors",
    "PortXmitDiscards": "port_xmit_discards",
    "PortXmitConstraintErrors": "port_xmit_constraint_errors",
    "PortRcvConstraintErrors": "port_rcv_constraint_errors",
    "LocalLinkIntegrityErrors": "local_link_integrity_errors",
    "ExcessiveBufferOverrunErrors": "excessive_buffer_overrun_errors",
    "VL15Dropped": "VL15_dropped",
    "PortXmitWait": "port_xmit_wait",
    "PortXmitData": "port_xmit_data",
    "PortRcvData": "port_rcv_data",
    "PortXmitPkts": "port_xmit_packets",
    "PortRcvPkts": "port_rcv_packets",
    "PortUnicastXmitPkts": "unicast_xmit_packets",
    "PortUnicastRcvPkts": "unicast_rcv_packets",
    "PortMulticastXmitPkts": "multicast_xmit_packets",
    "PortMulticastRcvPkts": "multicast_rcv_packets",
    # ibdiagnet's spellings
    "symbol_error_counter": "symbol_error",
    "link_error_recovery_counter": "link_error_recovery",
    "link_down_counter": "link_downed",
    "link_downed_counter": "link_downed",
    "port_xmit_discard": "port_xmit_discards",
    "vl15_dropped": "VL15_dropped",
    "port_xmit_pkts": "port_xmit_packets",
    "port_rcv_pkts": "port_rcv_packets",
}

# node_exporter's infiniband collector (`node_infiniband_<name>`) -> sysfs names. It reports
# port data in bytes where sysfs counts 4-octet words.
NODE_EXPORTER_NAMES: dict[str, str] = {
    "symbol_error_total": "symbol_error",
    "link_error_recovery_total": "link_error_recovery",
    "link_downed_total": "link_downed",
    "port_errors_received_total": "port_rcv_errors",
    "port_receive_remote_physical_errors_total": "port_rcv_remote_physical_errors",
    "port_receive_switch_relay_errors_total": "port_rcv_switch_relay_errors",
    "port_discards_transmitted_total": "port_xmit_discards",
    "port_constraint_errors_transmitted_total": "port_xmit_constraint_errors",
    "port_constraint_errors_received_total": "port_rcv_constraint_errors",
    "local_link_integrity_errors_total": "local_link_integrity_errors",
    "excessive_buffer_overrun_errors_total": "excessive_buffer_overrun_errors",
    "vl15_dropped_total": "VL15_dropped",
    "port_transmit_wait_total": "port_xmit_wait",
    "port_data_transmitted_bytes_total": "port_xmit_data",
    "port_data_received_bytes_total": "port_rcv_data",
    "port_packets_transmitted_total": "port_xmit_packets",
    "port_packets_received_total": "port_rcv_packets",
    "unicast_packets_transmitted_total": "unicast_xmit_packets",
    "unicast_packets_received_total": "unicast_rcv_packets",
    "multicast_packets_transmitted_total": "multicast_xmit_packets",
    "multicast_packets_received_total": "multicast_rcv_packets",
}

# Port state (PortInfo.PortState) and physical state (PortInfo.PortPhysicalState) codes.
PORT_STATES: dict[str, int] = {"down": 1, "init": 2, "initialize": 2, "armed": 3, "active": 4, "actdefer": 5}
PHYS_STATES: dict[str, int] = {
    "sleep": 1,
    "polling": 2,
    "disabled": 3,
    "portconfigurationtraining": 4,
    "linkup": 5,
    "linkerrorrecovery": 6,
    "phytest": 7,
}

# Word starts in CamelCase: after a lower-case letter or digit, and before the last capital of an acronym.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def counter_name(name: str) -> str:
    """The common (sysfs) name of a counter as any tool spells it; unknown names in snake case.

    `SymbolErrorCounter` and ibdiagnet's `symbol_error_counter` are `symbol_error`;
    `PortDLIDMappingErrors` becomes `port_dlid_mapping_errors`.
    """
    if name in COUNTER_BITS:
        return name
    if name in TOOL_NAMES:
        return TOOL_NAMES[name]
    return _CAMEL.sub("_", name).lower()


def saturated(name: str, value: float) -> bool:
    """Whether a counter (common name) sits at the maximum of its width."""
    bits = COUNTER_BITS.get(name)
    return bits is not None and bits < 64 and value >= (1 << bits) - 1


def port_state(text: str) -> int | None:
    """The PortState code of `Active`, `4: ACTIVE`, `ACTIVE` ..., or None."""
    return _state(text, PORT_STATES)


def phys_state(text: str) -> int | None:
    """The PortPhysicalState code of `LinkUp`, `5: LinkUp`, `Polling` ..., or None."""
    return _state(text, PHYS_STATES)


def _state(text: str, codes: dict[str, int]) -> int | None:
    number, _, word = text.strip().partition(":")
    if word and number.strip().isdigit():
        return int(number)
    key = re.sub(r"[^a-z]", "", text.lower())
    return codes.get(key)


__all__ = [
    "COUNTER_BITS",
    "MLX5_HW_COUNTERS",
    "NODE_EXPORTER_NAMES",
    "PHYS_STATES",
    "PORT_STATES",
    "SYSFS_COUNTERS",
    "TOOL_NAMES",
    "counter_name",
    "phys_state",
    "port_state",
    "saturated",
]
