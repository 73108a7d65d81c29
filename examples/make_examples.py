"""Write the example fleet under `examples/fleet/` (4 hosts), byte for byte the same on every run.

    python examples/make_examples.py [--out DIR]

The logs are written for this project: they imitate the shapes of real kernel logs,
syslog, journalctl and nvidia-bug-report output, but every serial, UUID, address and
line of text here is invented. All randomness comes from a fixed seed; archives are
written with fixed mtimes, owners and `gzip mtime=0`, and every file's mtime is set to
2026-11-21T00:00:00Z (year-less syslog stamps are dated against it).

    node001/dmesg.log                     raw dmesg: 8x H100 boot, then PCIe AER fatal + Xid 79 on 0000:18:00
    node002/kern.log                      RFC 3164 syslog: Xid 48 (DBE) then 63 and 94 on 0000:3b:00
    node003.tar.gz                        journal.txt (short-iso) + dmesg-T.txt: IB cable/port flaps on 0000:41:00.0
    node004/nvidia-bug-report.log.gz      bug report whose dmesg section has Xid 119 (GSP timeout) and Xid 154
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import os
import random
import tarfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
MTIME = int(datetime(2026, 11, 21, tzinfo=UTC).timestamp())
DRIVER = "550.54.15"
DRIVER_BUILD = "Tue Mar  5 22:23:56 UTC 2024"
KERNEL = "5.15.0-119-generic"
UUID_NS = uuid.UUID("6f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f")

# HGX H100 board: GPU bus, upstream switch port, paired ConnectX-7 bus, board serial.
GPUS = [
    ("18", "0000:15:01.0", "1a", "1650124014249"),
    ("2a", "0000:27:01.0", "3c", "1650124014517"),
    ("3a", "0000:37:01.0", "4d", "1650124015102"),
    ("5d", "0000:5a:01.0", "5e", "1650124015388"),
    ("9a", "0000:97:01.0", "9c", "1650124016020"),
    ("ab", "0000:a8:01.0", "bc", "1650124016244"),
    ("ba", "0000:b7:01.0", "cc", "1650124016871"),
    ("db", "0000:d8:01.0", "dc", "1650124017003"),
]


def gpu_uuid(host: str, bus: str) -> str:
    """A stable, invented GPU UUID for a host and PCI bus."""
    return "GPU-" + str(uuid.uuid5(UUID_NS, f"{host}/{bus}"))


@dataclass
class Clock:
    """A kernel uptime that only moves forward, by small seeded steps."""

    now: float
    rng: random.Random = field(default_factory=lambda: random.Random(1))

    def tick(self, lo: float = 0.000005, hi: float = 0.0004) -> float:
        """Advance by a random step in [lo, hi) seconds and return the new uptime."""
        self.now += lo + (hi - lo) * self.rng.random()
        return self.now

    def jump(self, seconds: float) -> float:
        """Advance by a fixed number of seconds and return the new uptime."""
        self.now += seconds
        return self.now


def dmesg_lines(clock: Clock, messages: Iterable[str], lo: float = 0.000005, hi: float = 0.0004) -> list[str]:
    """Raw dmesg lines (`[  12.345678] msg`), one clock tick per message."""
    return [f"[{clock.tick(lo, hi):12.6f}] {msg}" for msg in messages]


# --------------------------------------------------------------------------- node001
def banner(kernel: str = KERNEL, build: str = "#129-Ubuntu SMP Fri Aug 2 19:25:20 UTC 2024") -> str:
    """The `Linux version` line that opens every boot."""
    return (
        f"Linux version {kernel} (buildd@lcy02-amd64-051) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, "
        f"GNU ld (GNU Binutils for Ubuntu) 2.38) {build}"
    )


def early_boot(host: str) -> list[str]:
    """Kernel banner, memory map, ACPI and CPU bring-up of a 2-socket Sapphire Rapids node."""
    e820 = [
        ("0x0000000000000000", "0x000000000009ffff", "usable"),
        ("0x00000000000a0000", "0x00000000000fffff", "reserved"),
        ("0x0000000000100000", "0x000000006b7fefff", "usable"),
        ("0x000000006b7ff000", "0x000000006f7fefff", "reserved"),
        ("0x000000006f7ff000", "0x000000006fffefff", "ACPI data"),
        ("0x000000006ffff000", "0x000000006fffffff", "ACPI NVS"),
        ("0x0000000070000000", "0x000000008fffffff", "reserved"),
        ("0x00000000fe000000", "0x00000000fe010fff", "reserved"),
        ("0x0000000100000000", "0x000000407fffffff", "usable"),
    ]
    acpi = ["FACP", "DSDT", "FACS", "APIC", "MCFG", "SRAT", "SLIT", "HMAT", "DMAR", "HEST", "BERT", "ERST", "EINJ"]
    lines = [
        f"{banner()} (Ubuntu 5.15.0-119.129-generic 5.15.160)",
        f"Command line: BOOT_IMAGE=/boot/vmlinuz-{KERNEL} root=UUID=3c1f0d2a-8e4b-4f6a-9d21-5b7c8e9fa013 ro "
        "iommu=pt intel_iommu=on pci=realloc=off console=tty0 console=ttyS0,115200n8",
        "KERNEL supported cpus:",
        "  Intel GenuineIntel",
        "  AMD AuthenticAMD",
        "x86/fpu: Supporting XSAVE feature 0x001: 'x87 floating point registers'",
        "x86/fpu: Supporting XSAVE feature 0x002: 'SSE registers'",
        "x86/fpu: Supporting XSAVE feature 0x004: 'AVX registers'",
        "x86/fpu: Supporting XSAVE feature 0x020: 'AVX-512 opmask'",
        "x86/fpu: Enabled xstate features 0x2e7, context size is 2440 bytes, using 'compacted' format.",
        "signal: max sigframe size: 3632",
        "BIOS-provided physical RAM map:",
        *(f"BIOS-e820: [mem {a}-{b}] {kind}" for a, b, kind in e820),
        "NX (Execute Disable) protection: active",
        "SMBIOS 3.5.0 present.",
        "DMI: Supermicro SYS-821GE-TNHR/X13DEG-OAD, BIOS 2.1 04/12/2024",
        "tsc: Detected 2000.000 MHz processor",
        "e820: update [mem 0x00000000-0x00000fff] usable ==> reserved",
        "last_pfn = 0x4080000 max_arch_pfn = 0x400000000",
        "x86/PAT: Configuration [0-7]: WB  WC  UC- UC  WB  WP  UC- WT",
        "ACPI: Early table checksum verification disabled",
        "ACPI: RSDP 0x00000000000F05B0 000024 (v02 SUPERM)",
        *(
            f"ACPI: {t} 0x000000006F7{i:02X}000 0001F4 (v06 SUPERM SMCI--MB 01072009 INTL 20210331)"
            for i, t in enumerate(acpi)
        ),
        "NUMA: Initialized distance table, cnt=2",
        "NODE_DATA(0) allocated [mem 0x203ffd5000-0x203fffffff]",
        "NODE_DATA(1) allocated [mem 0x407ffd4000-0x407fffefff]",
        "Zone ranges:",
        "  DMA      [mem 0x0000000000001000-0x0000000000ffffff]",
        "  DMA32    [mem 0x0000000001000000-0x00000000ffffffff]",
        "  Normal   [mem 0x0000000100000000-0x000000407fffffff]",
        "ACPI: PM-Timer IO Port: 0x508",
        "IOAPIC[0]: apic_id 240, version 32, address 0xfec00000, GSI 0-119",
        "smpboot: Allowing 224 CPUs, 0 hotplug CPUs",
        "Built 2 zonelists, mobility grouping on.  Total pages: 528179617",
        f"Kernel command line: BOOT_IMAGE=/boot/vmlinuz-{KERNEL} root=UUID=3c1f0d2a-8e4b-4f6a-9d21-5b7c8e9fa013 ro "
        "iommu=pt intel_iommu=on pci=realloc=off console=tty0 console=ttyS0,115200n8",
        "Memory: 2113460284K/2147000184K available (16393K kernel code, 4383K rwdata, 10860K rodata, 3236K init, "
        "6616K bss, 33539900K reserved, 0K cma-reserved)",
        "SLUB: HWalign=64, Order=0-3, MinObjects=0, CPUs=224, Nodes=2",
        "rcu: Hierarchical RCU implementation.",
        "Console: colour dummy device 80x25",
        "printk: console [tty0] enabled",
        "printk: console [ttyS0] enabled",
        "DMAR: Host address width 52",
        "DMAR-IR: Enabled IRQ remapping in x2apic mode",
        "smpboot: CPU0: Intel(R) Xeon(R) Platinum 8480+ (family: 0x6, model: 0x8f, stepping: 0x8)",
        "Performance Events: XSAVE Architectural LBR, PEBS fmt4+-baseline,  AnyThread deprecated, "
        "Sapphire Rapids events, 32-deep LBR, full-width counters, Intel PMU driver.",
        "smp: Bringing up secondary CPUs ...",
        "x86: Booting SMP configuration:",
        "smp: Brought up 2 nodes, 224 CPUs",
        "smpboot: Max logical packages: 2",
        "smpboot: Total of 224 processors activated (896000.00 BogoMIPS)",
        "devtmpfs: initialized",
        "PM: RTC time: 07:14:03, date: 2026-11-19",
        "NET: Registered PF_NETLINK/PF_ROUTE protocol family",
        "audit: initializing netlink subsys (disabled)",
        "ACPI: Added _OSI(Module Device)",
        "ACPI: 14 ACPI AML tables successfully acquired and loaded",
        "ACPI: Interpreter enabled",
        "ACPI: PM: (supports S0 S5)",
        'PCI: Using host bridge windows from ACPI; if necessary, use "pci=nocrs" and report a bug',
    ]
    return lines


def pci_enumeration() -> list[str]:
    """Root bridges, PCIe switch ports, H100s, ConnectX-7s and NVSwitches as the PCI core finds them."""
    lines = [
        "ACPI: PCI Root Bridge [PC00] (domain 0000 [bus 00-14])",
        "acpi PNP0A08:00: _OSC: OS supports [ExtendedConfig ASPM ClockPM Segments MSI EDR HPX-Type3]",
        "acpi PNP0A08:00: _OSC: OS now controls [PCIeHotplug SHPCHotplug PME AER PCIeCapability LTR DPC]",
        "PCI host bridge to bus 0000:00",
        "pci_bus 0000:00: root bus resource [io  0x0000-0x0cf7 window]",
        "pci_bus 0000:00: root bus resource [mem 0x000a0000-0x000bffff window]",
        "pci 0000:00:00.0: [8086:09a2] type 00 class 0x088000",
        "pci 0000:00:1f.0: [8086:1b81] type 00 class 0x060100",
    ]
    for n, (gpu, port, nic, _serial) in enumerate(GPUS):
        root = f"{int(port[5:7], 16) - 1:02x}"
        bar1 = 0x2C0 + 4 * n
        lines += [
            f"ACPI: PCI Root Bridge [PC{n + 1:02d}] (domain 0000 [bus {root}-{int(gpu, 16) + 4:02x}])",
            f"pci 0000:{root}:01.0: [8086:352a] type 01 class 0x060400",
            f"pci {port}: [1000:c030] type 01 class 0x060400",
            f"pci 0000:{gpu}:00.0: [10de:2330] type 00 class 0x030200",
            f"pci 0000:{gpu}:00.0: reg 0x10: [mem 0x{0xA0 + 4 * n:02x}000000-0x{0xA0 + 4 * n:02x}ffffff 64bit pref]",
            f"pci 0000:{gpu}:00.0: reg 0x18: [mem 0x{bar1:x}000000000-0x{bar1:x}fffffffff 64bit pref]",
            f"pci 0000:{nic}:00.0: [15b3:1021] type 00 class 0x020700",
            f"pci 0000:{nic}:00.0: reg 0x10: [mem 0x{0x1B0 + 4 * n:x}000000-0x{0x1B0 + 4 * n:x}1fffff 64bit pref]",
        ]
    lines += [f"pci 0000:0{i + 5}:00.0: [10de:22a3] type 00 class 0x068000" for i in range(4)] + [
        "pci 0000:00:1f.4: [8086:1b23] type 00 class 0x0c0500",
        "iommu: Default domain type: Passthrough (set via kernel command line)",
        "pci 0000:03:00.0: vgaarb: setting as boot VGA device",
        "SCSI subsystem initialized",
        "PCI: CLS 64 bytes, default 64",
        "Trying to unpack rootfs image as initramfs...",
    ]
    return lines


def port_services() -> list[str]:
    """pcieport AER/PME/DPC service lines for the switch ports above the GPUs."""
    lines = []
    for _gpu, port, _nic, _serial in GPUS:
        root = f"0000:{int(port[5:7], 16) - 1:02x}:01.0"
        lines += [
            f"pcieport {root}: PME: Signaling with IRQ {40 + int(port[5:7], 16) % 60}",
            f"pcieport {root}: AER: enabled with IRQ {40 + int(port[5:7], 16) % 60}",
            f"pcieport {root}: DPC: enabled with IRQ {40 + int(port[5:7], 16) % 60}",
        ]
    return [*lines, "shpchp: Standard Hot Plug PCI Controller Driver version: 0.4", "Freeing initrd memory: 98764K"]


def edac_and_mce() -> list[str]:
    """Benign ECC/EDAC and machine-check setup lines of a healthy boot."""
    lines = ["EDAC MC: Ver: 3.0.0", "MCE: In-kernel MCE decoding enabled.", "EDAC i10nm: v0.0.5"]
    for socket in range(2):
        for imc in range(4):
            dev = f"0000:{0x7E if socket == 0 else 0xFE:02x}:{0x0C + imc:02x}.0"
            mc = socket * 4 + imc
            lines.append(
                f"EDAC MC{mc}: Giving out device to module i10nm_edac controller Intel_10nm "
                f"Socket#{socket} IMC#{imc}: DEV {dev} (INTERRUPT)"
            )
    return [
        *lines,
        "EDAC i10nm: ECC is enabled on all memory controllers",
        "mce: CPU0: Thermal monitoring enabled (TM1)",
    ]


def systemd_early(host: str) -> list[str]:
    """systemd taking over from the initramfs."""
    return [
        "systemd[1]: Inserted module 'autofs4'",
        "systemd[1]: systemd 249.11-0ubuntu3.12 running in system mode (+PAM +AUDIT +SELINUX +APPARMOR +IMA "
        "+SMACK +SECCOMP +GCRYPT +GNUTLS +OPENSSL +ACL +BLKID +CURL +ELFUTILS +FIDO2 +IDN2 -IDN +IPTC +KMOD "
        "+LIBCRYPTSETUP +LIBFDISK +PCRE2 -PWQUALITY -P11KIT -QRENCODE +BZIP2 +LZ4 +XZ +ZLIB +ZSTD -XKBCOMMON "
        "+UTMP +SYSVINIT default-hierarchy=unified)",
        "systemd[1]: Detected architecture x86-64.",
        f"systemd[1]: Hostname set to <{host}>.",
        "systemd[1]: Queued start job for default target Graphical Interface.",
        "systemd[1]: Created slice Slice /system/modprobe.",
        "systemd[1]: Started Dispatch Password Requests to Console Directory Watch.",
        "systemd[1]: Reached target Local Encrypted Volumes.",
        "systemd[1]: Listening on Journal Socket (/dev/log).",
        "systemd[1]: Mounting Huge Pages File System...",
        "systemd[1]: Starting Load Kernel Module drm...",
        "systemd[1]: Starting Journal Service...",
        "EXT4-fs (nvme0n1p2): mounted filesystem with ordered data mode. Opts: (null). Quota mode: none.",
        "EXT4-fs (nvme0n1p2): re-mounted. Opts: errors=remount-ro. Quota mode: none.",
        "systemd[1]: Started Journal Service.",
        "systemd-journald[1871]: Received client request to flush runtime journal.",
        "ipmi_si IPI0001:00: IPMI kcs interface initialized",
        "ipmi_ssif: IPMI SSIF Interface driver",
        "intel_rapl_common: Found RAPL domain package",
        "intel_rapl_common: Found RAPL domain dram",
        "nvme nvme0: pci function 0000:c3:00.0",
        "nvme nvme0: 64/0/0 default/read/poll queues",
        " nvme0n1: p1 p2",
    ]


def mlx5_probe(host: str) -> list[str]:
    """ConnectX-7 (InfiniBand NDR) probe and rename lines for the 8 HCAs."""
    lines = ["mlx5_core: module verification failed: signature and/or required key missing - tainting kernel"]
    for n, (_gpu, _port, nic, _serial) in enumerate(GPUS):
        bdf = f"0000:{nic}:00.0"
        lines += [
            f"mlx5_core {bdf}: firmware version: 28.39.2048",
            f"mlx5_core {bdf}: 252.048 Gb/s available PCIe bandwidth (16.0 GT/s PCIe x16 link)",
            f"mlx5_core {bdf}: Rate limit: 127 rates are supported, range: 0Mbps to 195312Mbps",
            f"mlx5_core {bdf}: E-Switch: Total vports 2, per vport: max uc(128) max mc(2048)",
            f"mlx5_core {bdf}: Port module event: module {n}, Cable plugged",
        ]
    lines.append("mlx5_ib: Mellanox Connect-IB Infiniband driver v5.15.0-119-generic")
    for n, (_gpu, _port, nic, _serial) in enumerate(GPUS):
        lines.append(f"mlx5_core 0000:{nic}:00.0 ibp{int(nic, 16)}s0: renamed from ib{n}")
    return lines


def nvidia_load(host: str) -> list[str]:
    """NVIDIA driver, NVSwitch, UVM and DRM loading for 8 GPUs."""
    lines = [
        "nvidia: loading out-of-tree module taints kernel.",
        "nvidia: module license 'NVIDIA' taints kernel.",
        "Disabling lock debugging due to kernel taint",
        "nvidia-nvlink: Nvlink Core is being initialized, major device number 508",
    ]
    lines += [f"nvidia 0000:{gpu}:00.0: enabling device (0000 -> 0002)" for gpu, *_ in GPUS]
    lines += [
        f"NVRM: loading NVIDIA UNIX x86_64 Kernel Module  {DRIVER}  {DRIVER_BUILD}",
        f"nvidia-modeset: Loading NVIDIA Kernel Mode Setting Driver for UNIX platforms  {DRIVER}  "
        "Tue Mar  5 22:15:33 UTC 2024",
        "nvidia_uvm: module uses symbols nvUvmInterfaceDisableAccessCntr from proprietary module nvidia, "
        "inheriting taint.",
        "nvidia-uvm: Loaded the UVM driver, major device number 506.",
    ]
    for i in range(4):
        lines += [
            f"nvidia-nvswitch: Probing device 0000:0{i + 5}:00.0, Vendor Id = 0x10de, Device Id = 0x22a3, "
            "Class = 0x68000",
            f"nvidia-nvswitch{i}: using MSI",
        ]
    for n, (gpu, *_rest) in enumerate(GPUS):
        lines += [
            f"[drm] [nvidia-drm] [GPU ID 0x0000{gpu}00] Loading driver",
            f"[drm] Initialized nvidia-drm 0.0.0 20160202 for 0000:{gpu}:00.0 on minor {n + 1}",
        ]
    return lines


def board_serial(host: str, serial: str) -> str:
    """The board serial of a GPU slot on `host` (node001 keeps the table's serials)."""
    return serial if host == "node001" else serial[:5] + f"{int(host[-3:]):02d}" + serial[7:]


def gpu_identities(host: str) -> list[str]:
    """The `GPU at PCI` / board serial pairs the driver prints when persistence mode starts."""
    lines = []
    for gpu, _port, _nic, serial in GPUS:
        lines += [
            f"NVRM: GPU at PCI:0000:{gpu}:00: {gpu_uuid(host, gpu)}",
            f"NVRM: GPU Board Serial Number: {board_serial(host, serial)}",
        ]
    return lines


def runtime_noise(rng: random.Random, count: int) -> list[str]:
    """Container, network and storage chatter of a node running jobs."""
    lines = []
    for i in range(count):
        veth = f"veth{rng.getrandbits(28):07x}"
        choice = i % 6
        if choice == 0:
            lines.append(f"docker0: port {1 + i % 4}({veth}) entered blocking state")
        elif choice == 1:
            lines.append(f"device {veth} entered promiscuous mode")
        elif choice == 2:
            lines.append(f"IPv6: ADDRCONF(NETDEV_CHANGE): {veth}: link becomes ready")
        elif choice == 3:
            lines.append(f"docker0: port {1 + i % 4}({veth}) entered forwarding state")
        elif choice == 4:
            lines.append(f"loop{8 + i % 5}: detected capacity change from 0 to {int(rng.random() * 300000) + 8}")
        else:
            millis, pid = int(rng.random() * 1000), 20000 + int(rng.random() * 40000)
            lines.append(
                f'audit: type=1400 audit(1795158123.{millis:03d}:{100 + i}): apparmor="STATUS" '
                f'operation="profile_replace" profile="unconfined" name="docker-default" pid={pid} '
                'comm="apparmor_parser"'
            )
    return lines


def gpu_fall_off_bus(host: str) -> list[str]:
    """PCIe uncorrectable fatal errors below 0000:15:01.0, then GPU 0000:18:00 leaves the bus (Xid 79)."""
    gpu, port, _nic, serial = GPUS[0]
    dev = f"0000:{gpu}:00.0"
    return [
        f"pcieport {port}: AER: Uncorrected (Fatal) error received: {dev}",
        f"nvidia {dev}: PCIe Bus Error: severity=Uncorrected (Fatal), type=Transaction Layer, (Receiver ID)",
        f"nvidia {dev}:   device [10de:2330] error status/mask=00040000/00000000",
        f"nvidia {dev}:    [18] MalfTLP                (First)",
        f"nvidia {dev}: AER:   TLP Header: 4a000001 01000004 00000000 00000000",
        f"pcieport {port}: AER: Uncorrected (Fatal) error received: {dev}",
        f"nvidia {dev}: PCIe Bus Error: severity=Uncorrected (Fatal), type=Transaction Layer, (Receiver ID)",
        f"nvidia {dev}:   device [10de:2330] error status/mask=00000020/00000000",
        f"nvidia {dev}:    [ 5] SDES                   (First)",
        f"nvidia {dev}: AER: can't recover (no error_detected callback)",
        f"pcieport {port}: AER: device recovery failed",
        f"NVRM: GPU at PCI:0000:{gpu}:00: {gpu_uuid(host, gpu)}",
        f"NVRM: GPU Board Serial Number: {serial}",
        f"NVRM: Xid (PCI:0000:{gpu}:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus.",
        f"NVRM: GPU {dev}: GPU has fallen off the bus.",
        "NVRM: A GPU crash dump has been created. If possible, please run",
        "NVRM: nvidia-bug-report.sh as root to collect this data before",
        "NVRM: the NVIDIA kernel module is unloaded.",
    ]


def node001() -> str:
    """Raw dmesg of node001: a clean 8x H100 boot, hours of job noise, then GPU 0000:18:00 falls off the bus."""
    host = "node001"
    rng = random.Random(1001)
    clock = Clock(0.0, rng)
    lines = [f"[{0.0:12.6f}] {m}" for m in early_boot(host)[:12]]
    lines += dmesg_lines(clock, early_boot(host)[12:], 0.00001, 0.004)
    lines += dmesg_lines(clock, pci_enumeration(), 0.0001, 0.006)
    lines += dmesg_lines(clock, port_services(), 0.0001, 0.002)
    clock.jump(1.2)
    lines += dmesg_lines(clock, edac_and_mce(), 0.00001, 0.0002)
    clock.jump(3.1)
    lines += dmesg_lines(clock, systemd_early(host), 0.001, 0.05)
    lines += dmesg_lines(clock, mlx5_probe(host), 0.001, 0.03)
    clock.jump(2.4)
    lines += dmesg_lines(clock, nvidia_load(host), 0.001, 0.2)
    clock.jump(31.7)
    lines += dmesg_lines(clock, gpu_identities(host), 0.0001, 0.002)
    lines += dmesg_lines(clock, runtime_noise(rng, 24), 300.0, 1500.0)
    clock.jump(2600.0)
    lines += dmesg_lines(clock, gpu_fall_off_bus(host), 0.00001, 0.0003)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- node002
@dataclass
class Syslog:
    """RFC 3164 lines of one host, with kernel lines carrying dmesg's uptime."""

    host: str
    boot: datetime
    lines: list[str] = field(default_factory=list)

    def add(self, uptime: float, ident: str, msg: str) -> None:
        """One line at `boot + uptime`; kernel lines embed `[uptime]` as rsyslog's imklog does."""
        at = self.boot + timedelta(seconds=uptime)
        stamp = f"{at:%b} {at.day:2d} {at:%H:%M:%S}"
        body = f"[{uptime:12.6f}] {msg}" if ident == "kernel" else msg
        self.lines.append(f"{stamp} {self.host} {ident}: {body}")


def node002() -> str:
    """kern.log-style syslog of node002: job traffic, then an uncorrectable ECC error on 0000:3b:00."""
    host, gpu, serial = "node002", "3b", board_serial("node002", "1650124011876")
    log = Syslog(host, datetime(2026, 11, 20, 2, 2, 27))
    rng = random.Random(2002)
    up = 3280.0

    def step(lo: float, hi: float) -> float:
        nonlocal up
        up += lo + (hi - lo) * rng.random()
        return up

    for i in range(20):
        pid = 41000 + 37 * i
        kind = i % 5
        if kind == 0:
            log.add(
                step(5, 60), f"CRON[{pid}]", "(root) CMD (/usr/local/sbin/dcgm-exporter-healthcheck >/dev/null 2>&1)"
            )
        elif kind == 1:
            log.add(
                step(1, 30),
                f"sshd[{pid}]",
                f"Accepted publickey for svc-train from 10.20.{i}.{40 + i} port "
                f"{50000 + 113 * i} ssh2: ED25519 SHA256:q7XbV0m9Zr3k2dP4hT8uYw1sLcE6fNaJ5oGiR{i:02d}xKvB",
            )
        elif kind == 2:
            log.add(step(0.1, 2), "systemd[1]", f"Started Session {200 + i} of User svc-train.")
        elif kind == 3:
            log.add(step(0.1, 5), "kernel", f"docker0: port 2(veth{rng.getrandbits(28):07x}) entered forwarding state")
        else:
            log.add(step(1, 40), f"sshd[{pid}]", "pam_unix(sshd:session): session closed for user svc-train")
    log.add(step(1, 3), "nvidia-persistenced[2214]", "device 0000:3b:00.0 - persistence mode enabled.")
    log.add(step(0.01, 0.1), "kernel", f"NVRM: GPU at PCI:0000:{gpu}:00: {gpu_uuid(host, gpu)}")
    log.add(step(0.0001, 0.001), "kernel", f"NVRM: GPU Board Serial Number: {serial}")
    up = 4182.123456
    job = "pid=1234, name=python3"
    log.add(
        up,
        "kernel",
        f"NVRM: Xid (PCI:0000:{gpu}:00): 48, {job}, An uncorrectable double bit error (DBE) has been "
        "detected on GPU in the framebuffer at partition 4, subpartition 1.",
    )
    log.add(
        step(0.0001, 0.001),
        "kernel",
        f"NVRM: Xid (PCI:0000:{gpu}:00): 63, {job}, Row Remapper: New row marked for remapping, reset gpu to activate.",
    )
    log.add(
        step(0.0001, 0.001),
        "kernel",
        f"NVRM: Xid (PCI:0000:{gpu}:00): 94, {job}, Contained: SM (0x1). RST: No, D-RST: No",
    )
    log.add(
        step(0.5, 2),
        "kernel",
        "python3[1234]: segfault at 0 ip 00007f3a5c2e1b40 sp 00007ffd0e4c2a10 error 4 in "
        "libcuda.so.550.54.15[7f3a5c000000+1d00000]",
    )
    log.add(step(0.1, 1), "systemd[1]", "slurmstepd-1881.scope: Deactivated successfully.")
    log.add(step(0.1, 1), "systemd[1]", "slurmstepd-1881.scope: Consumed 3h 12min 41.223s CPU time.")
    tail = [  # (seconds since the previous line, ident, message)
        (120, "CRON[43000]", "(root) CMD (/usr/local/sbin/dcgm-exporter-healthcheck >/dev/null 2>&1)"),
        (95, "systemd[1]", "Starting Daily apt download activities..."),
        (41, "systemd[1]", "apt-daily.service: Deactivated successfully."),
        (0.2, "systemd[1]", "Finished Daily apt download activities."),
        (50, "systemd-resolved[1502]", "Using degraded feature set UDP instead of UDP+EDNS0 for DNS server 10.20.0.2."),
        (
            64,
            "sshd[43187]",
            "Accepted publickey for ops from 10.20.0.9 port 40022 ssh2: ED25519 SHA256:Zr3k2dP4hT8uYw1sLcE6",
        ),
        (0.3, "systemd-logind[1688]", "New session 231 of user ops."),
        (
            22,
            "sudo[43240]",
            "      ops : TTY=pts/0 ; PWD=/home/ops ; USER=root ; COMMAND=/usr/bin/nvidia-smi -q -d ROW_REMAPPER",
        ),
        (0.01, "sudo[43240]", "pam_unix(sudo:session): session opened for user root(uid=0) by ops(uid=1002)"),
        (1.4, "sudo[43240]", "pam_unix(sudo:session): session closed for user root"),
        (90, "CRON[43318]", "(root) CMD (/usr/local/sbin/dcgm-exporter-healthcheck >/dev/null 2>&1)"),
        (33, "systemd-logind[1688]", "Session 231 logged out. Waiting for processes to exit."),
    ]
    for gap, ident, msg in tail:
        log.add(step(gap, gap * 1.2), ident, msg)
    return "\n".join(log.lines) + "\n"


# --------------------------------------------------------------------------- node003
def node003_events() -> list[tuple[float, str, str]]:
    """(seconds after boot, ident, message) of node003: the IB cable on 0000:41:00.0 flaps for an hour."""
    nic, ib = "0000:41:00.0", "ib0"
    events: list[tuple[float, str, str]] = [
        (0.0, "kernel", f"{banner()} (Ubuntu 5.15.0-119.129-generic 5.15.160)"),
        (0.0, "kernel", "DMI: Dell Inc. PowerEdge XE9680/0KK0RG, BIOS 2.3.5 09/10/2024"),
        (11.208, "kernel", f"mlx5_core {nic}: firmware version: 28.39.2048"),
        (11.342, "kernel", f"mlx5_core {nic}: 252.048 Gb/s available PCIe bandwidth (16.0 GT/s PCIe x16 link)"),
        (11.890, "kernel", f"mlx5_core {nic}: Port module event: module 0, Cable plugged"),
        (19.554, "systemd-networkd[1502]", f"{ib}: Link UP"),
        (21.002, "systemd-networkd[1502]", f"{ib}: Gained carrier"),
        (21.410, "kernel", f"IPv6: ADDRCONF(NETDEV_CHANGE): {ib}: link becomes ready"),
        (620.0, "systemd[1]", "Started Session 3 of User svc-burnin."),
        (900.4, "CRON[5120]", "(root) CMD (/opt/burnin/bin/collect-counters --quiet)"),
    ]
    rng = random.Random(3003)
    t = 9067.0  # 03:12:09 for a boot at 00:41:02
    for flap in range(6):
        events += [
            (
                t,
                "kernel",
                f"mlx5_core {nic}: Port module event[error]: module 0, Cable error, Bus stuck (I2C or data shorted)",
            ),
            (t + 0.004, "kernel", f"mlx5_core {nic}: Port module event: module 0, Cable unplugged"),
            (t + 0.31, "systemd-networkd[1502]", f"{ib}: lost carrier"),
        ]
        back = t + 2.0 + 25.0 * rng.random()
        events += [
            (back, "kernel", f"mlx5_core {nic}: Port module event: module 0, Cable plugged"),
            (back + 1.9, "systemd-networkd[1502]", f"{ib}: Gained carrier"),
            (back + 2.0, "kernel", f"IPv6: ADDRCONF(NETDEV_CHANGE): {ib}: link becomes ready"),
        ]
        if flap == 2:
            events.append((back + 40.0, "CRON[6401]", "(root) CMD (/opt/burnin/bin/collect-counters --quiet)"))
        t = back + 300.0 + 600.0 * rng.random()
    events.append((t + 10.0, "systemd[1]", "Finished Daily apt upgrade and clean activities."))
    return sorted(events, key=lambda e: e[0])


def node003_journal(boot: datetime) -> str:
    """`journalctl -o short-iso` view of node003's events."""
    events = node003_events()
    first, last = (boot + timedelta(seconds=events[i][0]) for i in (0, -1))
    out = [f"-- Journal begins at {first:%a %Y-%m-%d %H:%M:%S} UTC, ends at {last:%a %Y-%m-%d %H:%M:%S} UTC. --"]
    for offset, ident, msg in events:
        at = boot + timedelta(seconds=offset)
        out.append(f"{at:%Y-%m-%dT%H:%M:%S}+0000 node003 {ident}: {msg}")
    return "\n".join(out) + "\n"


def node003_dmesg_t(boot: datetime) -> str:
    """`dmesg -T` view of node003's kernel events."""
    out = []
    for offset, ident, msg in node003_events():
        if ident == "kernel":
            at = boot + timedelta(seconds=offset)
            out.append(f"[{at:%a %b} {at.day:2d} {at:%H:%M:%S %Y}] {msg}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- node004
SEPARATOR = "_" * 44


def bug_report_header(host: str) -> list[str]:
    """The banner nvidia-bug-report.sh writes at the top of its log."""
    return [
        SEPARATOR,
        "",
        "Start of NVIDIA bug report log file.  Please include this file, along",
        "with a detailed description of your problem, when reporting a graphics",
        "driver bug via the NVIDIA Linux forum (see forums.developer.nvidia.com)",
        "or by sending email to 'linux-bugs@nvidia.com'.",
        "",
        "nvidia-bug-report.sh Version: 35165994",
        "",
        "Date: Fri Nov 20 10:00:00 UTC 2026",
        f"uname: Linux {host} 5.15.0-86-generic #96-Ubuntu SMP Wed Sep 20 08:23:49 UTC 2023 x86_64 x86_64 x86_64 "
        "GNU/Linux",
        "command line flags: --safe-mode",
        "",
    ]


def file_section(path: str, mode: str, size: int, body: list[str]) -> list[str]:
    """A `*** /path` section: the file's `ls` line then its content."""
    return [
        SEPARATOR,
        "",
        f"*** {path}",
        f"*** ls: {mode} 1 root root {size} 2026-11-20 10:00:00.000000000 +0000 {path}",
        *body,
        "",
    ]


def bug_report_dmesg(host: str) -> list[str]:
    """Raw dmesg captured by the bug report: boot excerpt, then GSP RPC timeout (Xid 119) and Xid 154."""
    gpu = "9a"
    rng = random.Random(4004)
    clock = Clock(0.0, rng)
    lines = [f"[{0.0:12.6f}] {banner('5.15.0-86-generic', '#96-Ubuntu SMP Wed Sep 20 08:23:49 UTC 2023')}"]
    lines += dmesg_lines(clock, ["DMI: Supermicro SYS-821GE-TNHR/X13DEG-OAD, BIOS 2.1 04/12/2024"], 0.0, 0.0)
    lines += dmesg_lines(clock, nvidia_load(host)[:14], 0.01, 0.8)
    clock.jump(20.0)
    lines += dmesg_lines(clock, gpu_identities(host), 0.0001, 0.001)
    lines += dmesg_lines(clock, runtime_noise(rng, 8), 300.0, 3000.0)
    clock.now = 35412.0
    bdf = f"PCI:0000:{gpu}:00"
    gsp = [
        f"NVRM: Xid ({bdf}): 119, pid=88213, name=nvidia-smi, Timeout after 6s of waiting for RPC response from "
        "GPU4 GSP! Expected function 76 (GSP_RM_CONTROL) (0x20800a6a 0x4).",
        "NVRM: GPU4 GSP RPC buffer contains function 76 (GSP_RM_CONTROL) and data 0x0000000020800a6a "
        "0x0000000000000004.",
        "NVRM: GPU4 RPC history (CPU -> GSP):",
        "NVRM:     entry function                   data0              data1              ts_start           "
        "ts_end             duration actively_polling",
    ]
    ts = 0x00063A10C2D40000
    for entry in range(4):
        start = ts - entry * 0x1F3A7
        end = "0x0000000000000000" if entry == 0 else f"0x{start + 0x12C:016x}"
        dur = "" if entry == 0 else f"{300 + 37 * entry}us"
        gsp.append(
            f"NVRM:     {-entry:2d}    76   GSP_RM_CONTROL        0x0000000020800a6a 0x0000000000000004 "
            f"0x{start:016x} {end} {dur:>8s}{'          y' if entry == 0 else ''}"
        )
    gsp += [
        f"NVRM: Xid ({bdf}): 154, pid='<unknown>', name=<unknown>, GPU recovery action changed from 0x0 (None) to "
        "0x1 (GPU Reset Required)",
    ]
    lines += dmesg_lines(clock, gsp, 0.000001, 0.00002)
    lines += dmesg_lines(clock, runtime_noise(rng, 3), 30.0, 120.0)
    return lines


def nvidia_smi_query(host: str) -> list[str]:
    """A shortened `nvidia-smi --query` for the 8 GPUs: identity and reset status, each GPU closed by its
    `Processes` line as nvidia-smi ends every GPU section."""
    out = [
        SEPARATOR,
        "",
        "/usr/bin/nvidia-smi --query",
        "",
        "==============NVSMI LOG==============",
        "",
        "Timestamp                                 : Fri Nov 20 10:00:02 2026",
        f"Driver Version                            : {DRIVER}",
        "CUDA Version                              : 12.4",
        "",
        "Attached GPUs                             : 8",
    ]
    for n, (gpu, _port, _nic, serial) in enumerate(GPUS):
        out += [
            f"GPU 00000000:{gpu.upper()}:00.0",
            "    Product Name                          : NVIDIA H100 80GB HBM3",
            "    Product Architecture                  : Hopper",
            f"    Serial Number                         : {board_serial(host, serial)}",
            f"    GPU UUID                              : {gpu_uuid(host, gpu)}",
            f"    Minor Number                          : {n}",
            "    VBIOS Version                         : 96.00.74.00.1A",
            "    Board Part Number                     : 692-2G520-0200-000",
            f"    Module ID                             : {n + 1}",
            "    GPU Reset Status",
            f"        Reset Required                    : {'Yes' if gpu == '9a' else 'No'}",
            "        Drain and Reset Recommended       : No",
            "    Processes                             : None",
            "",
        ]
    return out


def node004() -> bytes:
    """node004's nvidia-bug-report.log, gzipped with mtime 0."""
    host = "node004"
    text = [
        *bug_report_header(host),
        *file_section("/etc/issue", "-rw-r--r--", 26, ["Ubuntu 22.04.3 LTS \\n \\l", ""]),
        *file_section("/proc/uptime", "-r--r--r--", 0, ["36000.00 280000.00"]),
        *file_section(
            "/proc/driver/nvidia/./version",
            "-r--r--r--",
            0,
            [
                f"NVRM version: NVIDIA UNIX x86_64 Kernel Module  {DRIVER}  {DRIVER_BUILD}",
                "GCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04)",
            ],
        ),
        SEPARATOR,
        "",
        "dmesg:",
        "",
        *bug_report_dmesg(host),
        "",
        *nvidia_smi_query(host),
        SEPARATOR,
        "",
        "End of NVIDIA bug report log file.",
    ]
    return gzip_bytes(("\n".join(text) + "\n").encode())


# --------------------------------------------------------------------------- writing
def gzip_bytes(data: bytes) -> bytes:
    """gzip `data` with no file name and mtime 0, so the output depends on the content only."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buf.getvalue()


def tar_gz(members: dict[str, str]) -> bytes:
    """A .tar.gz of text members with fixed owner, mode and mtime."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), MTIME, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    return gzip_bytes(raw.getvalue())


def bundles() -> dict[str, bytes]:
    """Every example file, by path relative to the fleet folder."""
    boot3 = datetime(2026, 11, 20, 0, 41, 2)
    return {
        "node001/dmesg.log": node001().encode(),
        "node002/kern.log": node002().encode(),
        "node003.tar.gz": tar_gz({"journal.txt": node003_journal(boot3), "dmesg-T.txt": node003_dmesg_t(boot3)}),
        "node004/nvidia-bug-report.log.gz": node004(),
    }


def write(out: Path) -> dict[str, str]:
    """Write the fleet under `out`; return each file's sha256."""
    digests = {}
    for rel, data in bundles().items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (MTIME, MTIME))
        digests[rel] = hashlib.sha256(data).hexdigest()
    return digests


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "fleet", help="fleet folder to write (default: %(default)s)")
    args = parser.parse_args()
    for rel, digest in write(args.out).items():
        size = (args.out / rel).stat().st_size
        print(f"{digest[:16]}  {size:7d}  {args.out / rel}")


if __name__ == "__main__":
    main()
