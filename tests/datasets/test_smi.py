"""The nvidia-smi writer: both layouts read by triage's parser as real dumps are, each fault's effect on its GPU."""

from __future__ import annotations

import polars as pl
import pytest
from fleetgen import smi
from fleetgen.faults import BY_NAME
from fleetgen.model import Fault, Node
from fleetgen.plan import plan_fleet

from triage.signatures import engine
from triage.signatures.loader import load_rules
from triage.sources.reading import Parsed, parse_bytes

LAYOUTS = [pytest.param("text", id="text"), pytest.param("xml", id="xml")]
FORMATS = {"text": "query_text", "xml": "query_xml"}
TARGET = 3  # the faulty GPU of the built nodes: 0000:5d:00.0


def build(layout: str, kind: str | None = None, host: int = 0, gpu: int = TARGET) -> Node:
    """A node of a healthy fleet with the given layout and, if asked, one fault of `kind` on GPU `gpu`."""
    node = plan_fleet(4, 7, fault_rate=0.0)[host]
    node.formats["nvidia_smi"] = layout
    if kind is not None:
        spec = BY_NAME[kind]
        target = node.gpus[gpu] if spec.target == "gpu" else None
        node.faults = [Fault(kind, target, spec.root_cause, spec.action)]
    return node


def parse(node: Node) -> tuple[str, bytes, Parsed]:
    ((name, data),) = smi.write(node).items()
    return name, data, parse_bytes(data, f"fleet/{node.host}/{name}")


def metrics(parsed: Parsed, device: str) -> dict[str, float]:
    rows = parsed.table("measurements").filter(pl.col("device") == device)
    return dict(zip(rows["metric"], rows["value"], strict=True))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layout_parses_as_a_whole_dump_of_the_nodes_gpus(layout: str) -> None:
    node = build(layout)
    name, _, parsed = parse(node)
    assert name == {"text": "nvidia-smi-q.txt", "xml": "nvidia-smi-q.xml"}[layout]
    assert (parsed.kind, parsed.format, parsed.error) == ("nvidia_smi", FORMATS[layout], None)
    assets = parsed.table("assets").sort("index")
    assert assets.select("index", "device", "serial", "uuid").rows() == [
        (g.index, g.bdf, g.serial, g.uuid) for g in node.gpus
    ]
    assert set(assets.select("model", "part_number", "firmware", "driver").rows()) == {
        ("NVIDIA H100 80GB HBM3", "692-2G520-0200-000", "96.00.74.00.01", "550.54.15")
    }
    measurements = parsed.table("measurements")
    assert measurements["ts"].unique().to_list() == [node.timeline.collected]
    assert measurements.group_by("device").len()["len"].unique().to_list() == [72]


def test_both_layouts_give_the_same_measurements() -> None:
    def rows(layout: str) -> list[tuple]:
        _, _, parsed = parse(build(layout, "gpu_thermal"))
        return sorted(parsed.table("measurements").select("device", "metric", "value", "unit").rows())

    assert rows("text") == rows("xml")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("host", [0, 1, 2, 3])
def test_healthy_gpus_look_healthy(layout: str, host: int) -> None:
    node = build(layout, host=host)
    _, _, parsed = parse(node)
    for gpu in node.gpus:
        m = metrics(parsed, gpu.bdf)
        zero = [
            "ecc_volatile_correctable",
            "ecc_volatile_uncorrectable",
            "ecc_aggregate_uncorrectable",
            "remapped_rows_uncorrectable",
            "remapped_rows_pending",
            "remapped_rows_failure",
            "clocks_event_hw_slowdown",
            "clocks_event_hw_thermal_slowdown",
            "clocks_event_sw_thermal_slowdown",
            "gpu_reset_required",
            "gpu_recovery_action",
        ]
        assert {name: m[name] for name in zero} == dict.fromkeys(zero, 0.0), gpu.bdf
        assert (m["pcie_gen_current"], m["pcie_width_current"], m["remapped_rows_banks_max"]) == (5.0, 16.0, 2560.0)
        assert m["clocks_event_gpu_idle"] == 1.0
        assert m["pcie_replay_count"] <= 12
        assert 30 <= m["temperature_gpu"] <= 45
        assert 70 <= m["power_draw"] <= 120
        assert m["temperature_gpu"] + m["temperature_gpu_tlimit"] in (86, 87)


def test_the_same_node_gives_the_same_bytes_and_nodes_differ() -> None:
    assert smi.write(build("text")) == smi.write(build("text"))
    assert smi.write(build("xml")) == smi.write(build("xml"))
    assert smi.write(build("text", host=0)) != smi.write(build("text", host=1))


# Each fault's exact flags on the faulty GPU (0000:5d:00.0), and the ranges its counts are drawn from.
FAULT_FLAGS = {
    "hbm_remap_failure": {
        "remapped_rows_failure": 1.0,
        "remapped_rows_pending": 0.0,
        "remapped_rows_banks_none": 1.0,
        "ecc_volatile_sram_uncorrectable_parity": 0.0,
    },
    "hbm_remap_pending": {"remapped_rows_pending": 1.0, "remapped_rows_failure": 0.0, "remapped_rows_banks_none": 0.0},
    "gsp_timeout": {"gpu_recovery_action": 1.0, "gpu_reset_required": 1.0, "gpu_drain_and_reset_recommended": 0.0},
    "pcie_downtrained": {"pcie_gen_max": 5.0, "pcie_width_max": 16.0},
    "gpu_thermal": {
        "clocks_event_hw_slowdown": 1.0,
        "clocks_event_hw_thermal_slowdown": 1.0,
        "clocks_event_sw_thermal_slowdown": 1.0,
        "clocks_event_gpu_idle": 0.0,
        "temperature_gpu_slowdown_tlimit": -2.0,
    },
}


def _remap_failure(m: dict[str, float]) -> bool:
    return (
        0 < m["ecc_volatile_dram_uncorrectable"] <= m["ecc_aggregate_dram_uncorrectable"]
        and m["ecc_volatile_uncorrectable"] == m["ecc_volatile_dram_uncorrectable"]
        and 8 <= m["remapped_rows_uncorrectable"] <= 11
        and m["remapped_rows_banks_max"] + m["remapped_rows_banks_high"] + m["remapped_rows_banks_none"] == 2560
    )


def _remap_pending(m: dict[str, float]) -> bool:
    return (
        m["ecc_volatile_dram_uncorrectable"] == m["ecc_aggregate_dram_uncorrectable"] > 0
        and m["remapped_rows_uncorrectable"] in (1, 2)
        and m["remapped_rows_banks_high"] == m["remapped_rows_uncorrectable"]
    )


def _downtrained(m: dict[str, float]) -> bool:
    link = (m["pcie_gen_current"], m["pcie_width_current"])
    return link in ((5.0, 8.0), (3.0, 16.0)) and 100 <= m["pcie_replay_count"] <= 900


def _thermal(m: dict[str, float]) -> bool:
    return (
        86 <= m["temperature_gpu"] <= 90
        and m["temperature_gpu_tlimit"] <= m["temperature_gpu_slowdown_tlimit"]
        and 705 <= m["clocks_sm"] < m["clocks_max_sm"] == 1980
    )


FAULT_RANGES = {
    "hbm_remap_failure": _remap_failure,
    "hbm_remap_pending": _remap_pending,
    "gsp_timeout": lambda m: True,
    "pcie_downtrained": _downtrained,
    "gpu_thermal": _thermal,
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("kind", sorted(FAULT_FLAGS))
@pytest.mark.parametrize("host", [0, 1, 2])
def test_fault_shows_on_its_gpu_only(layout: str, kind: str, host: int) -> None:
    node = build(layout, kind, host=host)
    _, _, parsed = parse(node)
    assert parsed.error is None
    faulty = metrics(parsed, node.gpus[TARGET].bdf)
    assert {name: faulty[name] for name in FAULT_FLAGS[kind]} == FAULT_FLAGS[kind]
    assert FAULT_RANGES[kind](faulty), faulty
    healthy = build(layout, host=host)
    _, _, reference = parse(healthy)
    for gpu in node.gpus:
        if gpu.index != TARGET:
            assert metrics(parsed, gpu.bdf) == metrics(reference, gpu.bdf)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_gsp_timeout_names_the_recovery_action(layout: str) -> None:
    node = build(layout, "gsp_timeout")
    _, _, parsed = parse(node)
    rows = parsed.table("measurements").filter(pl.col("metric") == "gpu_recovery_action")
    assert rows.filter(pl.col("value") == 1).select("device", "params").rows() == [("0000:5d:00.0", '{"text":"Reset"}')]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("gpu", [0, 3, 7])
def test_fallen_gpu_is_missing_and_the_others_keep_their_pci_address(layout: str, gpu: int) -> None:
    node = build(layout, "gpu_fallen_off_bus", gpu=gpu)
    _, data, parsed = parse(node)
    lost = node.gpus[gpu]
    assert (parsed.format, parsed.error) == (FORMATS[layout], None)
    assets = parsed.table("assets")
    kept = [g for g in node.gpus if g is not lost]
    listed = assets.filter(pl.col("serial").is_not_null())
    assert listed.select("device", "serial", "uuid").rows() == [(g.bdf, g.serial, g.uuid) for g in kept]
    unreachable = parsed.table("measurements").filter(pl.col("metric") == "gpu_unreachable")
    if layout == "text":
        # The handle error names the lost GPU: all 8 are numbered in PCI order, the lost one too.
        indexed = assets.select("device", "index").sort("index").rows()
        assert indexed == [(g.bdf, g.index) for g in node.gpus]
        assert unreachable.select("device", "value").rows() == [(lost.bdf, 1.0)]
    else:
        # 7 of 8 attached GPUs and nothing names the lost one: positions say nothing, every index is empty.
        assert assets["index"].to_list() == [None] * 7
        assert unreachable.height == 0
    assert lost.bdf not in parsed.table("measurements").filter(pl.col("metric") != "gpu_unreachable")["device"]
    text = data.decode()
    assert ("Attached GPUs                             : 8" in text) == (layout == "text")
    assert ("<attached_gpus>8</attached_gpus>" in text) == (layout == "xml")
    handle_error = f"Unable to determine the device handle for GPU{lost.bdf.upper()}: Unknown Error"
    assert (text.splitlines()[0] == handle_error) == (layout == "text")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_driver_mismatch_is_nvmls_error_and_the_rule_matches_it(layout: str) -> None:
    node = build(layout, "driver_mismatch")
    name, data, parsed = parse(node)
    assert name == {"text": "nvidia-smi-q.txt", "xml": "nvidia-smi-q.xml"}[layout]
    assert data == b"Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 535.129\n"
    # Not a dump: the generic text reader keeps the lines as events, and no GPU asset or measurement.
    assert (parsed.kind, parsed.format, parsed.error) == ("text", None, None)
    assert set(parsed.tables) == {"events"}
    events = parsed.table("events").with_columns(
        host=pl.lit(node.host), file_id=pl.lit(1), ts=None, uptime_s=None, boot=pl.lit(0)
    )
    hits = engine.match(load_rules(), events.select(engine.EVENT_COLUMNS).cast(engine.EVENT_SCHEMA))
    assert hits.select("line_no", "rule_id").rows() == [(1, "nvidia-driver-mismatch")]
