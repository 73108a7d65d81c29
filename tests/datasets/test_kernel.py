"""The kernel log writer, read back by triage: layouts, fault chains found by the shipped rules, noise, identities."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import pytest
from fleetgen import infiniband, kernel, smi
from fleetgen.faults import BY_NAME, CHAINS
from fleetgen.model import Fault, Node
from fleetgen.plan import plan_fleet

from triage.ingest import ingest
from triage.signatures.analyze import analyze
from triage.signatures.loader import load_rules
from triage.signatures.model import RulePack
from triage.sources.reading import Parsed, parse_bytes
from triage.store import Store

LAYOUTS = list(kernel.FILES)
# What triage calls each layout: journalctl short-iso is one of the syslog spellings.
DETECTED = {"dmesg": "dmesg", "dmesg_ctime": "dmesg_ctime", "journal_short_iso": "syslog", "syslog": "syslog"}
KERNEL_KINDS = [kind for kind, chain in CHAINS.items() if "kernel" in chain]


def make_node(layout: str, kind: str | None = None, noise: tuple[str, ...] = ()) -> Node:
    """node0001 of seed 7 in `layout`, with one fault of `kind` (on the third GPU, fourth HCA ...) and `noise`."""
    node = plan_fleet(1, 7, fault_rate=0.0)[0]
    node.formats = {**node.formats, "kernel": layout}
    node.noise = sorted(noise)
    if kind:
        target = {
            "gpu": node.gpus[2],
            "hca": node.hcas[3],
            "nvswitch": node.nvswitches[1],
            "dimm": node.dimms[5],
            "node": None,
        }[BY_NAME[kind].target]
        node.faults = [Fault(kind, target, BY_NAME[kind].root_cause, BY_NAME[kind].action)]
    return node


def parsed(node: Node) -> Parsed:
    """The node's kernel log as triage parses it (dated as of the collection)."""
    [(name, data)] = kernel.write(node).items()
    return parse_bytes(data, f"fleet/{node.host}/{name}", node.timeline.collected)


@pytest.fixture(scope="module")
def pack() -> RulePack:
    """The shipped rules, loaded once for the module."""
    return load_rules()


def analysed(store: Store, inputs: Path, pack: RulePack, node: Node) -> list[tuple[str, str | None, str, int]]:
    """Findings of the shipped rules over the ingested log: (rule_id, device, severity, count), sorted."""
    folder = inputs / node.host
    folder.mkdir()
    stamp = node.timeline.collected.timestamp()
    for rel, data in kernel.write(node).items():
        path = folder / rel
        path.write_bytes(data)
        os.utime(path, (stamp, stamp))
    ingest(store, [str(inputs)])
    analyze(store, pack)
    return store.frame("SELECT rule_id, device, severity, count FROM findings ORDER BY rule_id, device").rows()


def notable(findings: list[tuple[str, str | None, str, int]]) -> set[tuple[str, str | None]]:
    """(rule_id, device) of the findings at warning and above."""
    return {(rule, device) for rule, device, severity, _ in findings if severity != "info"}


# ------------------------------------------------------------------------------------- layouts
@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_reads_back_as_that_layout_with_every_line_stamped(layout: str) -> None:
    node = make_node(layout, "hbm_remap_failure", ("reboot",))
    result = parsed(node)
    events = result.table("events")

    assert (result.kind, result.format, result.error) == ("kernel_log", DETECTED[layout], None)
    assert result.host == (node.host if layout in ("journal_short_iso", "syslog") else None)
    assert events["boot"].unique().sort().to_list() == [0, 1]
    if layout == "dmesg":
        assert events["uptime_s"].null_count() == 0
    else:
        undated = events.filter(events["ts"].is_null())["message"].to_list()
        marks = [line for line in undated if re.fullmatch(r"-- Boot [0-9a-f]{32} --", line)]
        assert (len(undated), len(marks)) == ((1, 1) if layout == "journal_short_iso" else (0, 0))


@pytest.mark.parametrize("layout", ["dmesg_ctime", "journal_short_iso", "syslog"])
def test_wall_clock_and_uptime_agree_with_the_timeline(layout: str) -> None:
    node = make_node(layout, "gsp_timeout")
    events = parsed(node).table("events").drop_nulls("ts")
    tl = node.timeline

    assert events["ts"].min() == tl.boot
    assert tl.nvbandwidth < events["ts"].max() < tl.collected
    if layout == "syslog":  # the kernel's own uptime rides along: boot + uptime is the stamp, to the second
        kernel_lines = events.drop_nulls("uptime_s")
        drift = [
            (ts - tl.boot).total_seconds() - up
            for ts, up in zip(kernel_lines["ts"].to_list(), kernel_lines["uptime_s"].to_list(), strict=True)
        ]
        assert min(drift) > -1.0 and max(drift) <= 0.0


def test_raw_dmesg_uptimes_span_the_run() -> None:
    node = make_node("dmesg", "ib_cable")
    uptimes = parsed(node).table("events")["uptime_s"]
    tl = node.timeline

    assert uptimes[0] == 0.0
    assert (tl.nvbandwidth - tl.boot).total_seconds() < uptimes.max() < (tl.collected - tl.boot).total_seconds()
    assert uptimes.is_sorted()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_healthy_boot_has_six_to_seven_hundred_lines(layout: str) -> None:
    lines = kernel.write(make_node(layout))[kernel.FILES[layout]].decode().splitlines()

    assert 600 <= len(lines) <= 700
    assert lines[0].endswith(
        "Linux version 5.15.0-105-generic (buildd@lcy02-amd64-116) (gcc (Ubuntu "
        "11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU Binutils for Ubuntu) 2.38) #115-Ubuntu SMP "
        "Mon Apr 15 09:52:04 UTC 2024 (Ubuntu 5.15.0-105.115-generic 5.15.148)"
    )


# ------------------------------------------------------------------------------------- fault chains
def expected_findings(node: Node) -> set[tuple[str, str | None]]:
    """Every warning-or-worse finding the node's one fault should give, on the part it hit."""
    [fault] = node.faults
    part = fault.target
    layout = node.formats["kernel"]
    gpu = getattr(part, "bdf", None)
    port = getattr(part, "root_port", None)
    if fault.kind == "gpu_fallen_off_bus":
        aer = ["pcie-aer-uncorrected-fatal", "pcie-aer-bus-error-fatal", "pcie-aer-surprise-down"]
        return {("xid-79", gpu), ("gpu-fallen-off-bus", gpu), ("pcie-aer-recovery-failed", port)} | {
            (rule, port) for rule in aer
        }
    if fault.kind == "pcie_downtrained":
        width = smi.gpu_values(node, node.rng("nvidia_smi"))[gpu]["width_current"] == "8"
        # A Gen3 link at full width is only info (pcie-link-downtrained-speed); the burst shows it either way.
        return {("pcie-aer-corrected-burst", port)} | ({("pcie-link-downtrained-width", gpu)} if width else set())
    if fault.kind == "ib_cable":
        flaps = infiniband.link_downs(node)
        carrier = {("ib-link-down", part.netdev)} | ({("ib-link-flapping", part.netdev)} if flaps >= 5 else set())
        return {("mlx5-module-error", part.bdf)} | (carrier if layout == "syslog" else set())
    if fault.kind == "hca_failure":
        rules = ["mlx5-health-compromised", "mlx5-health-synd-hardware", "mlx5-health-recovery-failed"]
        carrier = {("ib-link-down", part.netdev)} if layout == "syslog" else set()
        return {(rule, part.bdf) for rule in rules} | carrier
    if fault.kind == "dimm_uncorrectable":
        return {("edac-ce", part.label), ("edac-ue", part.label), ("mce-corrected", None)}
    if fault.kind == "nvswitch_fatal":
        return {("sxid-20034", part.bdf)}  # plus Xid 74 on the GPUs across the links: see the test
    if fault.kind == "driver_mismatch":
        return {("nvidia-driver-mismatch", None)}
    if fault.kind == "application_error":
        return {("xid-31", gpu), ("xid-43", gpu), ("gpu-library-crash", None)}
    xids = {
        "gpu_diag_failure": [13],
        "hbm_remap_failure": [48, 64, 95],
        "hbm_remap_pending": [48, 63, 94],
        "gsp_timeout": [119],  # 154 (recovery action) is informational
    }[fault.kind]
    return {(f"xid-{code}", gpu) for code in xids}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("kind", KERNEL_KINDS)
def test_every_fault_chain_is_found_by_the_shipped_rules_on_its_part(
    store: Store, inputs: Path, pack: RulePack, kind: str, layout: str
) -> None:
    node = make_node(layout, kind)
    found = analysed(store, inputs, pack, node)

    got = notable(found)
    if kind == "nvswitch_fatal":
        nvlink = {device for rule, device in got if rule == "xid-74"}
        assert 2 <= len(nvlink) <= 4 and nvlink <= {gpu.bdf for gpu in node.gpus}
        got -= {("xid-74", device) for device in nvlink}
    assert got == expected_findings(node)


@pytest.mark.parametrize(
    ("kind", "rule", "count"),
    [
        pytest.param("gpu_diag_failure", "xid-13", 21, id="xid-13-again-and-again"),
        pytest.param("gsp_timeout", "xid-119", 5, id="xid-119-several-times"),
        pytest.param("gsp_timeout", "xid-154", 1, id="then-reset-required"),
        pytest.param("application_error", "xid-31", 3, id="app-faults-repeat"),
        pytest.param("dimm_uncorrectable", "edac-ce", 2, id="a-few-ces-first"),
        pytest.param("pcie_downtrained", "pcie-aer-corrected-burst", 121, id="burst-above-threshold"),
        pytest.param("driver_mismatch", "nvidia-driver-mismatch", 6, id="every-client-refused"),
    ],
)
def test_repeated_signals_repeat(store: Store, inputs: Path, pack: RulePack, kind: str, rule: str, count: int) -> None:
    found = analysed(store, inputs, pack, make_node("dmesg_ctime", kind))

    assert [n for rule_id, _, _, n in found if rule_id == rule] == [count]


@pytest.mark.parametrize(
    ("kind", "text", "start", "end"),
    [
        pytest.param("gpu_fallen_off_bus", "): 79, ", "nccl", "nvbandwidth", id="off-the-bus-under-load"),
        pytest.param("hbm_remap_failure", "): 95, ", "hpl", "nvbandwidth", id="uncontained-on-hpl"),
        pytest.param("hbm_remap_failure", "): 64, ", "dcgm", "nccl", id="remap-failure-in-memory-test"),
        pytest.param("hbm_remap_pending", "): 94, ", "hpl", "nvbandwidth", id="contained-on-hpl"),
        pytest.param("gsp_timeout", "): 154, ", "dcgm", "nccl", id="reset-required-under-dcgm"),
        pytest.param("nvswitch_fatal", "SXid", "nccl", "hpl", id="sxid-under-nccl"),
        pytest.param("hca_failure", "health compromised", "nccl", "hpl", id="hca-dies-under-nccl"),
        pytest.param("ib_cable", "Link down", "ib_before", "ib_after", id="flaps-between-snapshots"),
        pytest.param("dimm_uncorrectable", " UE ", "hpl", "nvbandwidth", id="ue-under-hpl"),
        pytest.param("pcie_downtrained", "Corrected error received", "hpl", "ib_after", id="replays-under-h2d"),
    ],
)
def test_fault_lines_fall_in_their_step(kind: str, text: str, start: str, end: str) -> None:
    node = make_node("journal_short_iso", kind)
    events = parsed(node).table("events")
    stamps: list[datetime] = events.filter(events["message"].str.contains(text, literal=True))["ts"].to_list()

    assert stamps
    assert all(getattr(node.timeline, start) <= ts < getattr(node.timeline, end) for ts in stamps)


def test_faults_go_in_the_last_boot_of_a_rebooted_node() -> None:
    events = parsed(make_node("dmesg", "hbm_remap_pending", ("reboot",))).table("events")
    xids = events.filter(events["message"].str.contains("NVRM: Xid", literal=True))

    assert xids.height == 8
    assert xids["boot"].unique().to_list() == [1]


# ------------------------------------------------------------------------------------- healthy nodes and noise
@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_healthy_node_gives_only_info_findings(store: Store, inputs: Path, pack: RulePack, layout: str) -> None:
    found = analysed(store, inputs, pack, make_node(layout))

    # Seen on every healthy H100 boot: the HCAs find less slot power than they would like.
    assert found == [("mlx5-insufficient-slot-power", hca.bdf, "info", 1) for hca in make_node(layout).hcas]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    ("noise", "signals"),
    [
        pytest.param("app_xid", [("xid-31", "0000:2a:00.0", "warning", 1)], id="one-app-xid"),
        pytest.param(
            "aer_corrected",
            [
                (rule, "0000:27:01.0", "info", 3)
                for rule in ("pcie-aer-corrected", "pcie-aer-error-bit", "pcie-aer-status")
            ],
            id="three-corrected-aer-no-burst",
        ),
        pytest.param(
            "access_reg",
            [("mlx5-access-reg-noise", bdf, "info", 1) for bdf in ("0000:9c:00.0", "0000:cc:00.0", "0000:dc:00.0")],
            id="access-reg-at-boot",
        ),
        pytest.param("reboot", [], id="reboot"),
        pytest.param("link_error_recovery_tick", [], id="nothing-for-a-counter-tick"),
    ],
)
def test_noise_stays_below_error(
    store: Store, inputs: Path, pack: RulePack, noise: str, signals: list[tuple], layout: str
) -> None:
    node = make_node(layout, noise=(noise,))
    found = analysed(store, inputs, pack, node)

    boots = 2 if noise == "reboot" else 1
    slot_power = [("mlx5-insufficient-slot-power", hca.bdf, "info", boots) for hca in node.hcas]
    assert found == sorted(signals + slot_power, key=lambda row: (row[0], row[1]))


def test_reboot_noise_is_a_second_banner_and_an_uptime_reset() -> None:
    events = parsed(make_node("dmesg", noise=("reboot",))).table("events")
    banners = events.filter(events["message"].str.starts_with("Linux version "))

    assert banners["uptime_s"].to_list() == [0.0, 0.0]
    assert banners["boot"].to_list() == [0, 1]
    last_of_first = events.filter(events["boot"] == 0)["message"][-1]
    assert last_of_first == "reboot: Restarting system"


# ------------------------------------------------------------------------------------- identities, determinism
@pytest.mark.parametrize("layout", LAYOUTS)
def test_gpu_identity_lines_give_the_eight_assets(store: Store, inputs: Path, pack: RulePack, layout: str) -> None:
    node = make_node(layout)
    analysed(store, inputs, pack, node)

    rows = store.frame("SELECT device, uuid, serial FROM assets WHERE kind = 'gpu' ORDER BY device").rows()
    assert rows == [(gpu.bdf, gpu.uuid, gpu.serial) for gpu in node.gpus]


def test_same_node_same_bytes_and_other_seed_other_bytes() -> None:
    first = [kernel.write(node) for node in plan_fleet(12, 5)]
    again = [kernel.write(node) for node in plan_fleet(12, 5)]
    other = [kernel.write(node) for node in plan_fleet(12, 6)]

    assert first == again
    assert all(a != b for a, b in zip(first, other, strict=True))


def test_the_file_is_named_for_its_layout() -> None:
    assert {layout: list(kernel.write(make_node(layout))) for layout in LAYOUTS} == {
        "dmesg": ["dmesg.log"],
        "dmesg_ctime": ["dmesg.log"],
        "journal_short_iso": ["journal.log"],
        "syslog": ["kern.log"],
    }
