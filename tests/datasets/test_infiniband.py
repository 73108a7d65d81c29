"""The InfiniBand writer: sysfs snapshots and ibstat read by triage's parsers, counter deltas per fault and noise."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest
from fleetgen import infiniband
from fleetgen.faults import BY_NAME
from fleetgen.model import Fault, Node
from fleetgen.plan import plan_fleet

from triage.sources.reading import Parsed, parse_bytes

BEFORE, AFTER, IBSTAT = "ib/counters-before.txt", "ib/counters-after.txt", "ib/ibstat.txt"
PORTS = [f"mlx5_{i}/1" for i in range(8)]
TRAFFIC = {"port_xmit_data", "port_rcv_data", "port_xmit_packets", "port_rcv_packets", "port_xmit_wait"} | {
    "unicast_xmit_packets",
    "unicast_rcv_packets",
    "rx_write_requests",
    "rx_read_requests",
}
ERROR_COUNTERS = sorted(set(infiniband.COUNTERS + infiniband.HW_COUNTERS) - TRAFFIC - {"lifespan"})
HOSTS = [pytest.param(h, id=f"node{h + 1}") for h in range(4)]


def build(kind: str | None = None, host: int = 0, hca: int = 2, noise: tuple[str, ...] = ()) -> Node:
    """A node of a healthy fleet with the given noise and, if asked, one fault of `kind` on HCA `hca`."""
    node = plan_fleet(4, 7, fault_rate=0.0)[host]
    node.noise = list(noise)
    if kind is not None:
        spec = BY_NAME[kind]
        node.faults = [Fault(kind, node.hcas[hca], spec.root_cause, spec.action)]
    return node


def parse(node: Node) -> dict[str, Parsed]:
    return {name: parse_bytes(data, f"fleet/{node.host}/{name}") for name, data in infiniband.write(node).items()}


def counter_deltas(parsed: dict[str, Parsed]) -> dict[tuple[str, str], float]:
    """after - before of every counter of every port, from the parsed snapshots."""
    before, after = (
        parsed[name].table("measurements").filter(pl.col("test") == "ib_counters") for name in (BEFORE, AFTER)
    )
    joined = before.join(after, on=["device", "metric"], suffix="_after").filter(
        ~pl.col("metric").is_in(["state", "phys_state", "rate"])
    )
    return {
        (device, metric): after_value - value
        for device, metric, value, after_value in joined.select("device", "metric", "value", "value_after").iter_rows()
    }


def error_deltas(parsed: dict[str, Parsed]) -> dict[tuple[str, str], float]:
    """The non-zero deltas of error counters."""
    return {key: d for key, d in counter_deltas(parsed).items() if key[1] in ERROR_COUNTERS and d != 0}


def intended(node: Node) -> dict[tuple[str, str], int]:
    """The non-zero error-counter deltas the writer meant to show."""
    return {
        (device, name): after[name] - before[name]
        for device, (before, after) in infiniband.snapshots(node).items()
        for name in ERROR_COUNTERS
        if after[name] != before[name]
    }


def states(parsed: Parsed) -> dict[str, tuple[float, float, float, str]]:
    """Port -> (state, phys_state, rate, rate text) of a snapshot."""
    rows = parsed.table("measurements").filter(pl.col("metric").is_in(["state", "phys_state", "rate"]))
    out: dict[str, dict[str, object]] = {}
    for device, metric, value, params in rows.select("device", "metric", "value", "params").iter_rows():
        out.setdefault(device, {})[metric] = value
        if metric == "rate":
            out[device]["text"] = params
    return {d: (v["state"], v["phys_state"], v["rate"], v["text"]) for d, v in out.items()}  # type: ignore[misc]


@pytest.mark.parametrize("host", HOSTS)
def test_files_parse_with_their_times_ports_and_identities(host: int) -> None:
    node = build(host=host)
    parsed = parse(node)
    assert {name: (p.kind, p.format, p.error) for name, p in parsed.items()} == {
        BEFORE: ("ib_counters", "sysfs", None),
        AFTER: ("ib_counters", "sysfs", None),
        IBSTAT: ("ib_status", "ibstat", None),
    }
    for name, moment in ((BEFORE, node.timeline.ib_before), (AFTER, node.timeline.ib_after)):
        rows = parsed[name].table("measurements")
        assert rows["ts"].unique().to_list() == [moment]
        assert sorted(rows["device"].unique()) == PORTS
        assert rows.height == 8 * (len(infiniband.COUNTERS) + len(infiniband.HW_COUNTERS) + 3)
        assets = parsed[name].table("assets").sort("device")
        assert assets.select("device", "uuid", "firmware", "model", "part_number").rows() == [
            (h.device, h.port_guid, "28.39.1002", "MT4129", "MT_0000000838") for h in node.hcas
        ]
    runs = parsed[IBSTAT].table("test_runs").sort("device")
    assert runs.select("device", "status").rows() == [(port, "pass") for port in PORTS]
    lids = parsed[IBSTAT].table("measurements").filter(pl.col("metric") == "lid").sort("device")
    assert lids["value"].to_list() == [float(h.lid) for h in node.hcas]
    first = infiniband.write(node)[BEFORE].decode().splitlines()[0]
    assert first == infiniband.date_line(node.timeline.ib_before)


@pytest.mark.parametrize(
    ("moment", "line"),
    [
        pytest.param("2026-11-20 10:00:00", "Fri Nov 20 10:00:00 UTC 2026", id="two-digit-day"),
        pytest.param("2026-11-06 07:05:09", "Fri Nov  6 07:05:09 UTC 2026", id="padded-day"),
    ],
)
def test_date_line_is_date_u_output(moment: str, line: str) -> None:
    assert infiniband.date_line(datetime.fromisoformat(moment)) == line


@pytest.mark.parametrize("host", HOSTS)
def test_healthy_node_error_counters_do_not_move_and_traffic_grows(host: int) -> None:
    node = build(host=host)
    parsed = parse(node)
    assert error_deltas(parsed) == {}
    deltas = counter_deltas(parsed)
    for port in PORTS:
        words = deltas[(port, "port_xmit_data")]
        assert 1.5e12 * 0.98 / 4 <= words <= 3.0e12 * 1.02 / 4
        assert 0.97 <= deltas[(port, "port_rcv_data")] / words <= 1.03
        assert 0.96 <= words / deltas[(PORTS[0], "port_xmit_data")] <= 1.05  # NCCL spreads traffic over the rails
        assert deltas[(port, "port_xmit_packets")] == deltas[(port, "unicast_xmit_packets")] > 0
    assert {state for state in states(parsed[AFTER]).values()} == {(4.0, 5.0, 400.0, '{"text":"4X NDR"}')}


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("hca", [0, 5])
def test_ib_cable_deltas_on_its_port_exactly(host: int, hca: int) -> None:
    node = build("ib_cable", host=host, hca=hca)
    parsed = parse(node)
    deltas = error_deltas(parsed)
    port = node.hcas[hca].device
    assert deltas == intended(node)
    assert {metric for device, metric in deltas} == {
        "symbol_error",
        "link_error_recovery",
        "link_downed",
        "port_rcv_errors",
        "local_ack_timeout_err",
    }
    assert {device for device, _ in deltas} == {port}
    assert 1000 <= deltas[(port, "symbol_error")] <= 9000
    assert 5 <= deltas[(port, "link_error_recovery")] <= 20
    assert deltas[(port, "link_downed")] == infiniband.link_downs(node) in range(2, 9)
    assert 20 <= deltas[(port, "port_rcv_errors")] <= 300
    assert states(parsed[AFTER])[port] == (4.0, 5.0, 400.0, '{"text":"4X NDR"}')
    runs = parsed[IBSTAT].table("test_runs")
    assert runs.filter(pl.col("device") == port)["status"].to_list() == ["pass"]


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("hca", [1, 7])
def test_hca_failure_port_is_down_disabled_after_the_run(host: int, hca: int) -> None:
    node = build("hca_failure", host=host, hca=hca)
    parsed = parse(node)
    port = node.hcas[hca].device
    assert states(parsed[BEFORE])[port] == (4.0, 5.0, 400.0, '{"text":"4X NDR"}')
    after = states(parsed[AFTER])
    assert after[port] == (1.0, 3.0, 10.0, '{"text":"4X SDR"}')
    assert {state for device, state in after.items() if device != port} == {(4.0, 5.0, 400.0, '{"text":"4X NDR"}')}
    assert error_deltas(parsed) == {}
    traffic = counter_deltas(parsed)
    others = min(traffic[(p, "port_xmit_data")] for p in PORTS if p != port)
    assert traffic[(port, "port_xmit_data")] < 0.63 * others
    runs = parsed[IBSTAT].table("test_runs")
    assert runs.filter(pl.col("status") != "pass").select("device", "status", "detail").rows() == [
        (port, "fail", f"{port} Down/Disabled")
    ]
    ibstat = parsed[IBSTAT].table("measurements").filter(pl.col("device") == port)
    assert dict(zip(ibstat["metric"], ibstat["value"], strict=True)) == {
        "state": 1.0,
        "phys_state": 3.0,
        "rate": 10.0,
        "lid": 0.0,
        "sm_lid": 0.0,
    }


@pytest.mark.parametrize("host", HOSTS)
def test_link_error_recovery_tick_is_one_tick_on_one_healthy_port(host: int) -> None:
    node = build("ib_cable", host=host, hca=4, noise=("link_error_recovery_tick",))
    deltas = error_deltas(parse(node))
    ticks = {key: d for key, d in deltas.items() if key[0] != "mlx5_4/1"}
    assert len(ticks) == 1
    ((_, metric), value) = next(iter(ticks.items()))
    assert (metric, value) == ("link_error_recovery", 1.0)


def test_some_nodes_carry_one_static_benign_counter() -> None:
    static = []
    for node in plan_fleet(100, 3, fault_rate=0.0):
        for device, (before, after) in infiniband.snapshots(node).items():
            for name in ("port_rcv_switch_relay_errors", "excessive_buffer_overrun_errors"):
                if before[name]:
                    assert after[name] == before[name]
                    static.append((node.host, device))
    assert 3 <= len(static) <= 15
    assert len({host for host, _ in static}) == len(static)  # at most one port per node


def test_the_same_node_gives_the_same_bytes_and_nodes_differ() -> None:
    assert infiniband.write(build("ib_cable")) == infiniband.write(build("ib_cable"))
    assert infiniband.write(build(host=0)) != infiniband.write(build(host=1))
