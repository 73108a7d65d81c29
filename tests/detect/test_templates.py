"""Rare log templates: masking, settings, and detection over real stores."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from triage.detect.templates import TemplateSettings, detect_templates, mask, template_id
from triage.errors import TriageError
from triage.ingest import ingest
from triage.signatures.analyze import analyze
from triage.signatures.loader import load_rules
from triage.store import Store

SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "sample-fleet"


def masked(*messages: str) -> list[str]:
    return pl.DataFrame({"message": list(messages)}).select(mask(pl.col("message")))["message"].to_list()


# ------------------------------------------------------------------------------------------------ masking
@pytest.mark.parametrize(
    ("line", "template"),
    [
        pytest.param(
            "NVRM: Xid (PCI:0000:3b:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus.",
            "NVRM: Xid (PCI:<pci>): <num>, pid=<pid>, name=<str>, GPU has fallen off the bus.",
            id="xid-79",
        ),
        pytest.param(
            "NVRM: Xid (PCI:0000:ba:00): 13, pid=11340, name=nvvs, Graphics SM Warp Exception on (GPC 5, TPC 1, SM 0): Out Of Range Address",
            "NVRM: Xid (PCI:<pci>): <num>, pid=<pid>, name=<str>, Graphics SM Warp Exception on (GPC <num>, TPC <num>, SM <num>): Out Of Range Address",
            id="xid-13",
        ),
        pytest.param(
            "NVRM: Xid (PCI:0000:3a:00): 31, pid=21162, name=python3, channel 0x00000030, intr 00000000. MMU Fault: ENGINE GRAPHICS GPCCLIENT_T1_8 faulted @ 0xabe0_9633a000. Fault is of type FAULT_PDE ACCESS_TYPE_VIRT_READ",
            "NVRM: Xid (PCI:<pci>): <num>, pid=<pid>, name=<str>, channel <hex>, intr <hex>. MMU Fault: ENGINE GRAPHICS GPCCLIENT_T1_<num> faulted @ <hex>. Fault is of type FAULT_PDE ACCESS_TYPE_VIRT_READ",
            id="xid-31-mmu-fault",
        ),
        pytest.param(
            "NVRM: Xid (PCI:0000:9a:00): 119, pid=2648, name=nv-hostengine, Timeout after 6s of waiting for RPC response from GPU4 GSP! Expected function 76 (GSP_RM_CONTROL) (0x20801348 0x8).",
            "NVRM: Xid (PCI:<pci>): <num>, pid=<pid>, name=<str>, Timeout after <num>s of waiting for RPC response from GPU<num> GSP! Expected function <num> (GSP_RM_CONTROL) (<hex> <hex>).",
            id="xid-119-gsp",
        ),
        pytest.param(
            "NVRM: GPU at PCI:0000:91:00: GPU-b6c3e0b0-6c7a-4f38-9d3b-6e2f0c1d2a3b",
            "NVRM: GPU at PCI:<pci>: GPU-<uuid>",
            id="nvrm-gpu-uuid",
        ),
        pytest.param(
            "NVRM: GPU Board Serial Number: 1652670697695", "NVRM: GPU Board Serial Number: <num>", id="nvrm-serial"
        ),
        pytest.param(
            "NVRM: GPU4 GSP RPC buffer contains function 76 (GSP_RM_CONTROL) and data 0x0000000020801348 0x0000000000000008.",
            "NVRM: GPU<num> GSP RPC buffer contains function <num> (GSP_RM_CONTROL) and data <hex> <hex>.",
            id="nvrm-gsp-buffer",
        ),
        pytest.param(
            "nvidia-nvswitch2: SXid (PCI:0000:06:00.0): 20034, Fatal, Link 48 LTSSM Fault Up",
            "nvidia-nvswitch<num>: SXid (PCI:<pci>): <num>, Fatal, Link <num> LTSSM Fault Up",
            id="sxid",
        ),
        pytest.param(
            "mlx5_core 0000:dc:00.0: poll_health:801:(pid 0): device's health compromised - reached miss count",
            "mlx5_core <pci>: poll_health:<num>:(pid <num>): device's health compromised - reached miss count",
            id="mlx5-health",
        ),
        pytest.param("mlx5_core 0000:4d:00.0 ib2: Link down", "mlx5_core <pci> ib<num>: Link down", id="mlx5-link"),
        pytest.param(
            "infiniband mlx5_3: mlx5_ib_test_wc:290:(pid 1234): Error -110 while trying to test write-combining support",
            "infiniband mlx5_<num>: mlx5_ib_test_wc:<num>:(pid <num>): Error -<num> while trying to test write-combining support",
            id="mlx5-ib-device",
        ),
        pytest.param(
            "mlx5_core 0000:4d:00.0: Port module event: module 0, Cable unplugged",
            "mlx5_core <pci>: Port module event: module <num>, Cable unplugged",
            id="mlx5-module",
        ),
        pytest.param(
            "ib_srp: port GUID 0x506b4b0300a1b2c3 on mlx5_1 is down",
            "ib_srp: port GUID <guid> on mlx5_<num> is down",
            id="port-guid",
        ),
        pytest.param(
            "pcieport 0000:27:01.0: AER: Corrected error received: 0000:28:00.0",
            "pcieport <pci>: AER: Corrected error received: <pci>",
            id="aer-corrected",
        ),
        pytest.param(
            "pcieport 0000:27:01.0: device [8086:352a] error status/mask=00000001/00002000",
            "pcieport <pci>: device [8086:352a] error status/mask=<hex>/<hex>",
            id="aer-status-keeps-vendor-device",
        ),
        pytest.param("pcieport 0000:27:01.0:    [ 0] RxErr", "pcieport <pci>: [ <num>] RxErr", id="aer-bit"),
        pytest.param(
            "pci 0000:2a:00.0: 252.056 Gb/s available PCIe bandwidth, limited by 32.0 GT/s PCIe x8 link at 0000:27:01.0 (capable of 504.112 Gb/s with 32.0 GT/s PCIe x16 link)",
            "pci <pci>: <num> Gb/s available PCIe bandwidth, limited by <num> GT/s PCIe x8 link at <pci> (capable of <num> Gb/s with <num> GT/s PCIe x16 link)",
            id="pcie-downtrained",
        ),
        pytest.param(
            "pci 0000:3a:01.0: PCI bridge to [bus 3b-3d]", "pci <pci>: PCI bridge to [bus <pci>]", id="pci-bus"
        ),
        pytest.param(
            "pci 0000:3b:00.0: [10de:2330] type 00 class 0x030200",
            "pci <pci>: [10de:2330] type <num> class <hex>",
            id="pci-enumeration",
        ),
        pytest.param(
            "EDAC MC1: 1 CE memory read error on CPU_SrcID#0_MC#1_Chan#0_DIMM#0 (channel:0 slot:0 page:0x1da661e offset:0x480 grain:32 syndrome:0x0 -  err_code:0x0101:0x0091  SystemAddress:0x1da661e480)",
            "EDAC MC<num>: <num> CE memory read error on CPU_SrcID#<num>_MC#<num>_Chan#<num>_DIMM#<num> (channel:<num> slot:<num> page:<hex> offset:<hex> grain:<num> syndrome:<hex> - err_code:<hex>:<hex> SystemAddress:<hex>)",
            id="edac-ce",
        ),
        pytest.param(
            "EDAC MC3: Giving out device to module i10nm_edac controller Intel_10nm Socket#1 IMC#1: DEV 0000:fe:0d.0 (INTERRUPT)",
            "EDAC MC<num>: Giving out device to module i10nm_edac controller Intel_10nm Socket#<num> IMC#<num>: DEV <pci> (INTERRUPT)",
            id="edac-register",
        ),
        pytest.param("systemd[1]: Started Journal Service.", "systemd[<num>]: Started Journal Service.", id="systemd"),
        pytest.param(
            "systemd-networkd[1873]: ib2: Lost carrier", "systemd-networkd[<num>]: ib<num>: Lost carrier", id="networkd"
        ),
        pytest.param(
            "nvme nvme3: I/O 417 QID 12 timeout, aborting",
            "nvme nvme<num>: I/O <num> QID <num> timeout, aborting",
            id="nvme-timeout",
        ),
        pytest.param("nvme nvme1: pci function 0000:19:00.0", "nvme nvme<num>: pci function <pci>", id="nvme-probe"),
        pytest.param(
            "EXT4-fs (nvme0n1p2): mounted filesystem with ordered data mode. Opts: (null). Quota mode: none.",
            "EXT<num>-fs (nvme0n1p<num>): mounted filesystem with ordered data mode. Opts: (null). Quota mode: none.",
            id="ext4",
        ),
        pytest.param(
            "igb 0000:0a:00.0: eth0: (PCIe:2.5Gb/s:Width x1) 3c:ec:ef:12:34:56",
            "igb <pci>: eth<num>: (PCIe:<num>Gb/s:Width x1) <mac>",
            id="mac",
        ),
        pytest.param(
            "nfs: server 10.0.0.5 not responding, still trying",
            "nfs: server <ip> not responding, still trying",
            id="ipv4",
        ),
        pytest.param(
            "IPv6: ib0: IPv6 duplicate address fe80::506b:4b03:a1:b2c3 used by 50:6b:4b:03:00:a1:b2:c3 detected!",
            "IPv6: ib<num>: IPv6 duplicate address <ip> used by <mac> detected!",
            id="ipv6-and-ipoib-address",
        ),
        pytest.param(
            'audit: type=1400 audit(1731234567.556:2): apparmor="STATUS" operation="profile_load" profile="unconfined" name="nvidia_modprobe" pid=2311 comm="apparmor_parser"',
            'audit: type=<num> audit(<num>:<num>): apparmor="STATUS" operation="profile_load" profile="unconfined" name=<str> pid=<pid> comm=<str>',
            id="audit-process-names",
        ),
        pytest.param(
            "rtc_cmos 00:00: setting system clock to 2026-11-20T03:12:09 UTC (1795144329)",
            "rtc_cmos <num>:<num>: setting system clock to <ts> UTC (<num>)",
            id="timestamp",
        ),
        pytest.param(
            "IPv6: ADDRCONF(NETDEV_CHANGE): veth02522d7: link becomes ready",
            "IPv6: ADDRCONF(NETDEV_CHANGE): veth<hex>: link becomes ready",
            id="veth-hex-name",
        ),
        pytest.param(
            "BOOT_IMAGE=/boot/vmlinuz-5.15.0-105-generic root=UUID=be021232-c02e-449f-9d65-69ea271d6feb ro",
            "BOOT_IMAGE=<path> root=UUID=<uuid> ro",
            id="path-and-uuid",
        ),
        pytest.param("Code: 7a e3 1f ee 43 d9 f9 2f <8b> 07 48 85 c0 74 0b", "Code: <hex>", id="code-bytes"),
        pytest.param(" dump_stack_lvl+0x4a/0x63", "dump_stack_lvl+<hex>/<hex>", id="stack-frame"),
        pytest.param(
            "CPU: 41 PID: 2648 Comm: nv-hostengine Tainted: P           OE     5.15.0-105-generic #115-Ubuntu",
            "CPU: <num> PID: <num> Comm: <str> Tainted: P OE <num>-<num>-generic #<num>-Ubuntu",
            id="oops-header",
        ),
        pytest.param(
            "python3[21162]: segfault at 0 ip 00007fa2a010944f sp 00007ffda2bd3810 error 4 in libcuda.so.550.54.15[7fa29e785000+1e8b000]",
            "python<num>[<num>]: segfault at <num> ip <hex> sp <hex> error <num> in libcuda.so.<num>[<hex>+<hex>]",
            id="segfault",
        ),
        pytest.param("Freeing initrd memory: 102276K", "Freeing initrd memory: <num>K", id="number-with-unit"),
        pytest.param(
            "fbcon: Succeeded to switch to frame buffer, colour depth exceeded",
            "fbcon: Succeeded to switch to frame buffer, colour depth exceeded",
            id="words-made-of-hex-letters-stay",
        ),
        pytest.param("x86/fpu: Enabled xstate features", "x86/fpu: Enabled xstate features", id="x86-stays"),
    ],
)
def test_mask_turns_kernel_lines_into_templates(line: str, template: str) -> None:
    assert masked(line) == [template]
    assert masked(template) == [template]  # placeholders survive a second pass


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            "NVRM: Xid (PCI:0000:3a:00): 43, pid=17399, name=xhpl, Ch 0000001f",
            "NVRM: Xid (PCI:0000:18:00): 43, pid=2211, name=python3, Ch 00000012",
            id="xid-43-channel-hex-ending-in-a-letter",
        ),
        pytest.param(
            "NVRM: Xid (PCI:0000:3b:00): 48, pid=1234, name=python3, An uncorrectable double bit error (DBE) has been detected on GPU in the framebuffer at physAddr 0x60cd5a940 partition 0, subpartition 0.",
            "NVRM: Xid (PCI:0000:5d:00): 48, pid='<unknown>', name=<unknown>, An uncorrectable double bit error (DBE) has been detected on GPU in the framebuffer at physAddr 0x1ee4f2100 partition 3, subpartition 1.",
            id="xid-48-different-gpu-and-address",
        ),
        pytest.param(
            "nvidia-nvswitch0: SXid (PCI:0000:05:00.0): 20034, Fatal, Link 11 LTSSM Fault Up",
            "nvidia-nvswitch3: SXid (PCI:0000:a8:00.0): 20034, Fatal, Link 48 LTSSM Fault Up",
            id="sxid-other-switch",
        ),
        pytest.param(
            "mlx5_core 0000:4d:00.0 ib2: Link down", "mlx5_core 0000:dc:00.0 ib7: Link down", id="mlx5-other-port"
        ),
        pytest.param(
            "NVRM: GPU at PCI:0000:18:00: GPU-e5c8e1a3-0be8-4364-814d-153bdf3f3795",
            "NVRM: GPU at PCI:0000:db:00: GPU-0361c86e-5a0d-49d3-8c7c-31937e500e5b",
            id="gpu-uuid-line",
        ),
        pytest.param(
            "IPv6: ADDRCONF(NETDEV_CHANGE): veth02522d7: link becomes ready",
            "IPv6: ADDRCONF(NETDEV_CHANGE): vethb3a0c52: link becomes ready",
            id="veth-names",
        ),
        pytest.param(
            "systemd-networkd[1873]: ib2: Lost carrier", "systemd-networkd[2011]: ib0: Lost carrier", id="networkd-pid"
        ),
        pytest.param(
            "EDAC MC1: 1 CE memory read error on CPU_SrcID#0_MC#1_Chan#0_DIMM#0 (channel:0 slot:0 page:0x1da661e)",
            "EDAC MC2: 3 CE memory read error on CPU_SrcID#1_MC#0_Chan#1_DIMM#1 (channel:1 slot:1 page:0x210ce6e)",
            id="edac-other-dimm",
        ),
        pytest.param(
            "igb 0000:0a:00.0: eth0: (PCIe:2.5Gb/s:Width x1) 3c:ec:ef:12:34:56",
            "igb 0000:0a:00.0: eth0: (PCIe:2.5Gb/s:Width x1) 3c:ec:ef:ab:cd:ef",
            id="mac-address",
        ),
    ],
)
def test_lines_differing_only_by_variables_share_a_template(first: str, second: str) -> None:
    a, b = masked(first, second)
    assert a == b


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            "mlx5_core 0000:4d:00.0 ib2: Link down", "mlx5_core 0000:4d:00.0 ib2: Link up", id="link-down-vs-up"
        ),
        pytest.param(
            "pcieport 0000:27:01.0: AER: Corrected error received: 0000:28:00.0",
            "pcieport 0000:27:01.0: AER: Uncorrected (Fatal) error received: 0000:28:00.0",
            id="corrected-vs-fatal",
        ),
        pytest.param(
            "pci 0000:2a:00.0: 252.056 Gb/s available PCIe bandwidth, limited by 32.0 GT/s PCIe x8 link at 0000:27:01.0",
            "pci 0000:2a:00.0: 252.056 Gb/s available PCIe bandwidth, limited by 32.0 GT/s PCIe x16 link at 0000:27:01.0",
            id="x8-vs-x16",
        ),
        pytest.param(
            "mlx5_core 0000:4d:00.0: Port module event: module 0, Cable plugged",
            "mlx5_core 0000:4d:00.0: Port module event: module 0, Cable unplugged",
            id="plugged-vs-unplugged",
        ),
        pytest.param(
            "pci 0000:3b:00.0: [10de:2330] type 00 class 0x030200",
            "pci 0000:3b:00.0: [10de:2324] type 00 class 0x030200",
            id="other-gpu-model",
        ),
    ],
)
def test_lines_worded_differently_keep_apart(first: str, second: str) -> None:
    a, b = masked(first, second)
    assert a != b


def test_template_ids_are_stable_hashes_of_the_text() -> None:
    assert template_id("nvme nvme<num>: I/O <num> QID <num> timeout, aborting") == "tpl-923b825e57"


# ------------------------------------------------------------------------------------------------ settings
def test_shipped_settings() -> None:
    settings = TemplateSettings.load()

    assert (settings.sources, settings.min_fleet, settings.max_share, settings.top) == (
        ("kernel_log", "bug_report"),
        10,
        0.1,
        50,
    )
    assert (settings.max_priority, settings.priority_weight) == (3, 1.0)
    assert (settings.trouble_words["timeout"], settings.trouble_words["unrecoverable"]) == (1.0, 2.0)
    assert settings.ignore == (
        "^-- (?:Boot <(?:hex|num)>|Reboot|No entries|Logs begin at .*|Journal begins at .*) --$",
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param("min_fleet: 10\nbogus: 1\n", ":2: unknown setting 'bogus'", id="unknown-key"),
        pytest.param("top: 5\ntop: 6\n", ":2: duplicate key 'top'", id="duplicate-key"),
        pytest.param("max_share: 1.5\n", ":1: max_share must be above 0 and below 1, not 1.5", id="share-above-one"),
        pytest.param("top: 2.5\n", ":1: top must be a whole number >= 1, not 2.5", id="top-not-whole"),
        pytest.param("max_priority: 9\n", ":1: max_priority must be a whole number from 0 to 7, not 9", id="priority"),
        pytest.param("min_fleet: 1\n", ":1: min_fleet must be a whole number >= 2, not 1", id="tiny-fleet"),
        pytest.param("sources: kernel_log\n", ":1: sources must be a list of event source kinds", id="sources"),
        pytest.param(
            "trouble_words:\n  error: 1.0\n  Fail!: 1.0\n",
            ":3: trouble word 'Fail!' must be lower-case letters (spaces and hyphens inside)",
            id="trouble-word",
        ),
        pytest.param(
            "trouble_words:\n  error: -1\n", ":2: error must be a number >= 0.0, not -1", id="negative-weight"
        ),
        pytest.param("ignore: ['(unclosed']\n", ":1: bad ignore regex '(unclosed'", id="ignore-regex"),
    ],
)
def test_bad_settings_are_refused_with_file_and_line(tmp_path: Path, text: str, error: str) -> None:
    (tmp_path / "detect").mkdir()
    path = tmp_path / "detect" / "templates.yaml"
    path.write_text(text)

    with pytest.raises(TriageError) as caught:
        TemplateSettings.load(tmp_path)
    assert str(caught.value).startswith(f"{path}{error}")


# ------------------------------------------------------------------------------------------------ detection
SETTINGS = TemplateSettings(trouble_words={"timeout": 1.0, "abort": 1.0, "error": 1.0}, ignore=("^-- Boot <hex> --$",))
NVME_TIMEOUT = "tpl-923b825e57"
USB_DEVICE = "tpl-621ca414e3"


def boot(host: str, n: int) -> list[tuple[str, int | None]]:
    """The boot of a healthy node: the same lines everywhere, with this host's ids in them."""
    uuid = f"{n:08x}-1c2d-4e5f-8a9b-{n:012x}"
    return [
        ("Linux version 5.15.0-105-generic (buildd@lcy02-amd64-116) #115-Ubuntu SMP", None),
        (f"Command line: BOOT_IMAGE=/boot/vmlinuz-5.15.0-105-generic root=UUID={uuid} ro", None),
        (f"NVRM: GPU at PCI:0000:3b:00: GPU-{uuid}", None),
        (f"NVRM: GPU Board Serial Number: {1652670697000 + n * 7919}", None),
        (f"systemd[1]: Hostname set to <{host}>.", 6),
        (f"igb 0000:0a:00.0: eth0: (PCIe:2.5Gb/s:Width x1) 3c:ec:ef:12:{n:02x}:56", None),
        # A container interface: hex names, one made only of letters (no digit to tell it from a word).
        (f"IPv6: ADDRCONF(NETDEV_CHANGE): veth{'cafebad' if n == 7 else f'{n * 7919:07x}'}: link becomes ready", None),
        (f"-- Boot 5a4c{n:04x}e1b2c3d4e5f60718293a4b5c --", None),
        ("mlx5_core 0000:4d:00.0: firmware version: 28.39.1002", None),
    ]


def write_fleet(store: Store, extra: dict[str, list[tuple[str, int | None]]], hosts: int = 20) -> None:
    """`hosts` healthy boots (node01...), plus `extra` lines per host; file_id = host number."""
    rows = []
    for n in range(1, hosts + 1):
        host = f"node{n:02d}"
        for line_no, (message, priority) in enumerate(boot(host, n) + extra.get(host, []), start=1):
            rows.append((host, n, line_no, priority, message))
    store.append(
        "events",
        pl.DataFrame(
            rows,
            schema={
                "host": pl.String,
                "file_id": pl.Int32,
                "line_no": pl.Int64,
                "priority": pl.Int8,
                "message": pl.String,
            },
            orient="row",
        ).with_columns(source=pl.lit("kernel_log")),
    )


FLEET_EXTRA = {
    "node04": [
        ("nvme nvme3: I/O 417 QID 12 timeout, aborting", 3),
        ("nvme nvme3: I/O 418 QID 12 timeout, aborting", 3),
    ],
    "node11": [("nvme nvme1: I/O 88 QID 3 timeout, aborting", None)],
    "node17": [("usb 1-1: new high-speed USB device number 2 using xhci_hcd", 6)],
}
COHORT = "kernel_log templates of 20 hosts"
NVME_DETAIL = "rare kernel message on 2 of 20 hosts: nvme nvme<num>: I/O <num> QID <num> timeout, aborting"
USB_DETAIL = (
    "rare kernel message on 1 of 20 hosts: usb <num>-<num>: new high-speed USB device number <num> using xhci_hcd"
)


def anomaly_rows(frame: pl.DataFrame) -> list[tuple]:
    return frame.select(
        "host", "device", "detector", "metric", "value", "baseline", "score", "threshold", "cohort", "detail", "level"
    ).rows()


def evidence(frame: pl.DataFrame) -> list[list[tuple[int, int]]]:
    return [[(ref["file_id"], ref["line_no"]) for ref in refs] for refs in frame["evidence"].to_list()]


def test_new_error_on_two_hosts_ranks_above_a_benign_rare_line(store: Store) -> None:
    write_fleet(store, FLEET_EXTRA)

    result = detect_templates(store, SETTINGS)

    assert (result.fleet, result.note) == (20, None)
    assert anomaly_rows(result.anomalies) == [
        ("node04", None, "rare_template", NVME_TIMEOUT, 2.0, 0.1, 3.6, 0.1, COHORT, NVME_DETAIL, "investigate"),
        ("node11", None, "rare_template", NVME_TIMEOUT, 1.0, 0.1, 3.6, 0.1, COHORT, NVME_DETAIL, "investigate"),
        ("node17", None, "rare_template", USB_DEVICE, 1.0, 0.05, 0.95, 0.1, COHORT, USB_DETAIL, "monitor"),
    ]
    assert evidence(result.anomalies) == [[(4, 10)], [(11, 10)], [(17, 10)]]
    assert result.templates.rows() == [
        (NVME_TIMEOUT, "nvme nvme<num>: I/O <num> QID <num> timeout, aborting", 2, 3, 0.1, 3.6, "investigate", 4, 10),
        (
            USB_DEVICE,
            "usb <num>-<num>: new high-speed USB device number <num> using xhci_hcd",
            1,
            1,
            0.05,
            0.95,
            "monitor",
            17,
            10,
        ),
    ]


def test_top_keeps_the_best_templates(store: Store) -> None:
    write_fleet(store, FLEET_EXTRA)

    result = detect_templates(store, TemplateSettings(trouble_words=SETTINGS.trouble_words, top=1))

    assert result.anomalies.select("host", "metric").rows() == [("node04", NVME_TIMEOUT), ("node11", NVME_TIMEOUT)]


def test_hosts_limit_the_rows_not_the_fleet(store: Store) -> None:
    write_fleet(store, FLEET_EXTRA)

    result = detect_templates(store, SETTINGS, hosts=["node11", "node01"])

    assert anomaly_rows(result.anomalies) == [
        ("node11", None, "rare_template", NVME_TIMEOUT, 1.0, 0.1, 3.6, 0.1, COHORT, NVME_DETAIL, "investigate")
    ]


def test_lines_a_rule_already_explains_are_left_out(store: Store) -> None:
    write_fleet(store, FLEET_EXTRA)
    refs = [{"file_id": 4, "line_no": 10}, {"file_id": 4, "line_no": 11}]
    store.append(
        "findings",
        pl.DataFrame({"finding_id": [1], "host": ["node04"], "rule_id": ["nvme-timeout"], "evidence": [refs]}),
    )

    result = detect_templates(store, SETTINGS)

    assert result.anomalies.select("host", "metric", "value", "baseline", "score", "level").rows() == [
        ("node11", NVME_TIMEOUT, 1.0, 0.05, 2.85, "investigate"),
        ("node17", USB_DEVICE, 1.0, 0.05, 0.95, "monitor"),
    ]


def test_a_template_common_enough_is_not_rare(store: Store) -> None:
    extra = {f"node{n:02d}": [("nvme nvme3: I/O 417 QID 12 timeout, aborting", None)] for n in (1, 2, 3)}
    write_fleet(store, extra)

    result = detect_templates(store, SETTINGS)

    assert result.anomalies.is_empty()
    assert result.templates.is_empty()


def test_a_variable_the_masks_miss_counts_as_the_template_it_fits(store: Store) -> None:
    extra = {
        "node02": [("device veth1a2b3c4 entered promiscuous mode", None)],
        "node05": [("device veth5d6e7f8 entered promiscuous mode", None)],
        "node09": [("device vethfacade entered promiscuous mode", None)],
    }
    write_fleet(store, extra)

    result = detect_templates(store, TemplateSettings(max_share=0.2))

    assert result.templates.select("template", "hosts", "lines").rows() == [
        ("device veth<hex> entered promiscuous mode", 3, 3)
    ]
    assert result.anomalies.select("host", "baseline").rows() == [("node02", 0.15), ("node05", 0.15), ("node09", 0.15)]
    assert evidence(result.anomalies) == [[(2, 10)], [(5, 10)], [(9, 10)]]


@pytest.mark.parametrize(
    ("hosts", "fleet", "note"),
    [
        pytest.param(
            5,
            5,
            "rare templates not judged: 5 host(s) with kernel_log lines, fewer than the 10 needed (min_fleet)",
            id="small-fleet",
        ),
        pytest.param(
            0,
            0,
            "rare templates not judged: 0 host(s) with kernel_log+bug_report lines, fewer than the 10 needed (min_fleet)",
            id="no-events",
        ),
    ],
)
def test_too_small_a_fleet_is_not_judged(store: Store, hosts: int, fleet: int, note: str) -> None:
    if hosts:
        write_fleet(store, FLEET_EXTRA, hosts=hosts)

    result = detect_templates(store, SETTINGS)

    assert (result.fleet, result.note) == (fleet, note)
    assert result.anomalies.is_empty()
    assert result.anomalies.columns == [
        "host",
        "device",
        "detector",
        "metric",
        "value",
        "baseline",
        "score",
        "threshold",
        "cohort",
        "detail",
        "level",
        "evidence",
    ]
    assert result.templates.is_empty()


def test_other_sources_are_not_read(store: Store) -> None:
    write_fleet(store, FLEET_EXTRA)

    result = detect_templates(store, TemplateSettings(sources=("bug_report",)))

    assert (result.fleet, result.anomalies.height) == (0, 0)


# ------------------------------------------------------------------------------------------------ sample fleet
@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The committed sample fleet ingested and analysed, so findings exist."""
    with Store.open(tmp_path_factory.mktemp("sample") / "triage.duckdb") as store:
        ingest(store, [str(SAMPLE / "hosts")])
        analyze(store, load_rules())
        yield store


SAMPLE_REPORTED = {
    ("node0001", "mlx5_core <pci> ib<num>: Link down"),
    ("node0001", "mlx5_core <pci> ib<num>: Link up"),
    ("node0006", "NVRM: GPU <pci>: GPU serial number is <num>."),
    ("node0007", "pcieport <pci>: AER: Corrected error received: <pci>"),
    ("node0007", "pcieport <pci>: AER: Multiple Corrected error received: <pci>"),
    ("node0007", "pcieport <pci>: device [8086:352a] error status/mask=<hex>/<hex>"),
    ("node0007", "pcieport <pci>: [ <num>] BadTLP"),
    ("node0007", "pcieport <pci>: [ <num>] RxErr"),
    (
        "node0008",
        "nvidia-nvswitch<num>: SXid (PCI:<pci>): <num>, Data {<hex>, <hex>, <hex>, <hex>, <hex>, <hex>, <hex>, <hex>, <hex>}",
    ),
    (
        "node0008",
        "nvidia-nvswitch<num>: SXid (PCI:<pci>): <num>, Severity <num> Engine instance <num> Sub-engine instance <num>",
    ),
    ("node0010", "</TASK>"),
    ("node0010", "<TASK>"),
    ("node0010", "? entry_SYSCALL_64_after_hwframe+<hex>/<hex>"),
    ("node0010", "CPU: <num> PID: <num> Comm: <str> Tainted: P OE <num>-<num>-generic #<num>-Ubuntu"),
    ("node0010", "Call Trace:"),
    ("node0010", "Hardware name: Supermicro SYS-<num>GE-TNHR/X13DEG-OAD, BIOS <num> <num>/<num>/<num>"),
    ("node0010", "NVRM: -<num> <num> FREE <hex> <hex> <hex> <hex> <num>us"),
    ("node0010", "NVRM: -<num> <num> GSP_LOCKDOWN_NOTICE <hex> <hex> <hex> <hex>"),
    ("node0010", "NVRM: -<num> <num> GSP_RM_ALLOC <hex> <hex> <hex> <hex> <num>us"),
    ("node0010", "NVRM: -<num> <num> GSP_RM_CONTROL <hex> <hex> <hex> <hex> <num>us"),
    ("node0010", "NVRM: <num> <num> GSP_LOCKDOWN_NOTICE <hex> <hex> <hex> <hex>"),
    ("node0010", "NVRM: <num> <num> GSP_RM_CONTROL <hex> <hex> <hex> <hex> y"),
    ("node0010", "NVRM: GPU<num> GSP RPC buffer contains function <num> (GSP_RM_CONTROL) and data <hex> <hex>."),
    ("node0010", "NVRM: GPU<num> RPC event history (CPU <- GSP):"),
    ("node0010", "NVRM: GPU<num> RPC history (CPU -> GSP):"),
    (
        "node0010",
        "NVRM: Rate limiting GSP RPC error prints for GPU at PCI:<pci> (printing <num> of every <num>). The GPU likely needs to be reset.",
    ),
    ("node0010", "NVRM: entry function data<num> data<num> ts_start ts_end duration actively_polling"),
    ("node0010", "NVRM: entry function data<num> data<num> ts_start ts_end duration during_incomplete_rpc"),
    ("node0010", "_nv012454rm+<hex>/<hex> [nvidia]"),
    ("node0010", "dump_stack+<hex>/<hex>"),
    ("node0010", "dump_stack_lvl+<hex>/<hex>"),
    ("node0010", "os_dump_stack+<hex>/<hex> [nvidia]"),
    ("node0010", "show_stack+<hex>/<hex>"),
    ("node0013", "mlx5_core <pci> ib<num>: Link down"),
    ("node0013", "mlx5_core <pci>: mlx5_error_sw_reset:<num>:(pid <num>): end"),
    ("node0013", "mlx5_core <pci>: mlx5_error_sw_reset:<num>:(pid <num>): start"),
    ("node0013", "mlx5_core <pci>: mlx5_health_try_recover:<num>:(pid <num>): handling bad device here"),
    ("node0013", "mlx5_core <pci>: mlx5_health_try_recover:<num>:(pid <num>): starting health recovery flow"),
    ("node0014", "Code: <hex>"),
    ("node0019", "NVRM: components have the same version."),
    ("node0019", "NVRM: make sure that this kernel module and all NVIDIA driver"),
    ("node0019", "NVRM: this kernel module has the version <num>. Please"),
    ("node0024", "Memory failure: <hex>: recovery action for dirty LRU page: Recovered"),
}


def test_sample_fleet_candidates_are_on_faulty_hosts_only(sample_store: Store) -> None:
    result = detect_templates(sample_store, TemplateSettings.load())
    reported = result.anomalies.join(
        result.templates.select(pl.col("id").alias("metric"), "template"), on="metric"
    ).select("host", "template")

    assert (result.fleet, result.note) == (24, None)
    assert set(reported.rows()) == SAMPLE_REPORTED
    with (SAMPLE / "truth.csv").open() as fh:
        healthy = {row["host"] for row in csv.DictReader(fh) if row["root_cause"] == "none"}
    assert healthy == {f"node{n:04d}" for n in (2, 4, 5, 9, 12, 15, 16, 17, 18, 23)}
    assert not healthy & set(reported["host"])
    assert result.templates.head(3).select("template", "hosts", "score", "level").rows() == [
        ("Call Trace:", 1, 2.396, "investigate"),
        (
            "NVRM: Rate limiting GSP RPC error prints for GPU at PCI:<pci> (printing <num> of every <num>). The GPU likely needs to be reset.",
            1,
            2.396,
            "investigate",
        ),
        ("Memory failure: <hex>: recovery action for dirty LRU page: Recovered", 1, 1.917, "investigate"),
    ]
