"""The kernel log of a node: an H100 boot, sparse runtime chatter, and the kernel side of its faults.

Layouts (`node.formats["kernel"]`), one file per node:
  dmesg              dmesg.log    `[ 4182.123456] msg` (seconds since boot)
  dmesg_ctime        dmesg.log    `[Fri Nov 20 03:12:09 2026] msg` (dmesg -T)
  journal_short_iso  journal.log  `2026-11-20T03:12:09+0000 node0001 kernel: msg` (journalctl -k -o short-iso)
  syslog             kern.log     `Nov 20 03:12:09 node0001 kernel: [ 4182.123456] msg` (RFC 3164, no year),
                                  with the systemd-networkd lines rsyslog files next to them

The boot names every part of the node (8 H100 with their `NVRM: GPU at PCI:` / `GPU Board Serial
Number:` identity lines, 4 NVSwitches, 8 ConnectX-7 HCAs and their ibN netdevs, the EDAC memory
controllers); uptimes count from `timeline.boot` and runtime lines fall in the burn-in windows.

Fault kinds rendered (faults.CHAINS "kernel"): gpu_fallen_off_bus, gpu_diag_failure, hbm_remap_failure,
hbm_remap_pending, ib_cable, gsp_timeout, hca_failure, dimm_uncorrectable, pcie_downtrained,
nvswitch_fatal, driver_mismatch, application_error; gpu_thermal and performance leave no kernel line.
Noise kinds rendered: app_xid, aer_corrected, access_reg, reboot; link_error_recovery_tick leaves none.
"""

from __future__ import annotations

import calendar
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from fleetgen import infiniband, smi
from fleetgen.model import Dimm, Fault, Gpu, Hca, Node, NvSwitch

# Where a line shows: the kernel ring (every layout), user space writing to /dev/kmsg (every layout,
# under its own ident), a syslog daemon (kern.log only), the ring after journald stopped (dmesg only).
KERNEL, KMSG, DAEMON, RING = 0, 1, 2, 3
Entry = tuple[float, int, str]  # seconds since boot, channel, text

FILES = {"dmesg": "dmesg.log", "dmesg_ctime": "dmesg.log", "journal_short_iso": "journal.log", "syslog": "kern.log"}
RELEASE = "5.15.0-105-generic"
HARDWARE = "Supermicro SYS-821GE-TNHR/X13DEG-OAD, BIOS 2.1 02/21/2024"
CLIENT_DRIVER = "535.129.03"  # the stale user-space driver of driver_mismatch
HCA_FW = "28.39.1002"
ROOT_PORT_ID = "8086:352a"  # Sapphire Rapids PCIe root port
UNKNOWN = "pid='<unknown>', name=<unknown>"
NETWORKD = "systemd-networkd[1873]"
MONTHS = ["", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
NVME_BUSES = ["19", "2b", "3b", "5f", "9b", "ac", "bb", "dd"]
# GSP RPC functions a client waits on, as the driver names them.
RPC_FUNCTIONS = [(76, "GSP_RM_CONTROL"), (103, "GSP_RM_ALLOC"), (10, "FREE")]


def _template(text: str) -> list[Entry]:
    """Lines `seconds text`; a leading `@` on the text marks user space writing to /dev/kmsg."""
    out = []
    for line in text.strip("\n").splitlines():
        stamp, _, msg = line.partition(" ")
        out.append((float(stamp), KMSG if msg.startswith("@") else KERNEL, msg.removeprefix("@")))
    return out


# ------------------------------------------------------------------------------------- boot: static parts
_EARLY = _template(f"""
0.000000 Linux version {RELEASE} (buildd@lcy02-amd64-116) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0, GNU ld (GNU \
Binutils for Ubuntu) 2.38) #115-Ubuntu SMP Mon Apr 15 09:52:04 UTC 2024 (Ubuntu 5.15.0-105.115-generic 5.15.148)
0.000000 Command line: BOOT_IMAGE=/boot/vmlinuz-{RELEASE} root=UUID={{root_uuid}} ro iommu=pt intel_iommu=on \
console=tty0 console=ttyS1,115200n8
0.000000 KERNEL supported cpus:
0.000000   Intel GenuineIntel
0.000000   AMD AuthenticAMD
0.000000   Hygon HygonGenuine
0.000000   Centaur CentaurHauls
0.000000   zhaoxin   Shanghai \x20
0.000000 x86/fpu: Supporting XSAVE feature 0x001: 'x87 floating point registers'
0.000000 x86/fpu: Supporting XSAVE feature 0x002: 'SSE registers'
0.000000 x86/fpu: Supporting XSAVE feature 0x004: 'AVX registers'
0.000000 x86/fpu: Supporting XSAVE feature 0x020: 'AVX-512 opmask'
0.000000 x86/fpu: Supporting XSAVE feature 0x040: 'AVX-512 Hi256'
0.000000 x86/fpu: Supporting XSAVE feature 0x080: 'AVX-512 ZMM_Hi256'
0.000000 x86/fpu: Supporting XSAVE feature 0x200: 'Protection Keys User registers'
0.000000 x86/fpu: Supporting XSAVE feature 0x20000: 'AMX Tile config'
0.000000 x86/fpu: Supporting XSAVE feature 0x40000: 'AMX Tile data'
0.000000 x86/fpu: Enabled xstate features 0x602e7, context size is 10752 bytes, using 'compacted' format.
0.000000 signal: max sigframe size: 11952
0.000000 BIOS-provided physical RAM map:
0.000000 BIOS-e820: [mem 0x0000000000000000-0x000000000009ffff] usable
0.000000 BIOS-e820: [mem 0x00000000000a0000-0x00000000000fffff] reserved
0.000000 BIOS-e820: [mem 0x0000000000100000-0x000000005d3fdfff] usable
0.000000 BIOS-e820: [mem 0x000000005d3fe000-0x000000006b3fdfff] reserved
0.000000 BIOS-e820: [mem 0x000000006b3fe000-0x000000006c5fdfff] ACPI NVS
0.000000 BIOS-e820: [mem 0x000000006c5fe000-0x000000006d7fdfff] ACPI data
0.000000 BIOS-e820: [mem 0x000000006d7fe000-0x000000006fffffff] usable
0.000000 BIOS-e820: [mem 0x0000000070000000-0x000000008fffffff] reserved
0.000000 BIOS-e820: [mem 0x00000000fe010000-0x00000000fe010fff] reserved
0.000000 BIOS-e820: [mem 0x0000000100000000-0x000000407fffffff] usable
0.000000 NX (Execute Disable) protection: active
0.000000 efi: EFI v2.80 by American Megatrends
0.000000 efi: ACPI=0x6c5fd000 ACPI 2.0=0x6c5fd014 SMBIOS=0x6d2a2000 SMBIOS 3.0=0x6d2a1000 MEMATTR=0x64b3e018 \
ESRT=0x66a2d698 RNG=0x6c55b018
0.000000 secureboot: Secure boot disabled
0.000000 SMBIOS 3.5.0 present.
0.000000 DMI: {HARDWARE}
0.000000 tsc: Detected 2000.000 MHz processor
0.000006 e820: update [mem 0x00000000-0x00000fff] usable ==> reserved
0.000009 e820: remove [mem 0x000a0000-0x000fffff] usable
0.000017 last_pfn = 0x4080000 max_arch_pfn = 0x10000000000
0.001436 x86/PAT: Configuration [0-7]: WB  WC  UC- UC  WB  WP  UC- WT \x20
0.012351 Using GB pages for direct mapping
0.021794 RAMDISK: [mem 0x4fb7e000-0x55f5efff]
0.021801 ACPI: Early table checksum verification disabled
0.021803 ACPI: RSDP 0x000000006C5FE014 000024 (v02 SUPERM)
0.021807 ACPI: XSDT 0x000000006C5FD728 0000F4 (v01 SUPERM SMCI--MB 01072009 AMI  01000013)
0.021811 ACPI: FACP 0x000000006C5D2000 000114 (v06 SUPERM SMCI--MB 01072009 INTL 20091013)
0.021815 ACPI: DSDT 0x000000006C49A000 137B5E (v02 SUPERM SMCI--MB 01072009 INTL 20091013)
0.021819 ACPI: FACS 0x000000006C5FC000 000040
0.021823 ACPI: SPCR 0x000000006C5D0000 000050 (v02 SUPERM SMCI--MB 01072009 AMI  01000013)
0.021827 ACPI: MCFG 0x000000006C5CF000 00003C (v01 SUPERM SMCI--MB 01072009 MSFT 00000097)
0.021831 ACPI: APIC 0x000000006C5CB000 00166A (v05 SUPERM SMCI--MB 00000000 INTL 20091013)
0.021835 ACPI: SRAT 0x000000006C5C2000 0063D0 (v03 SUPERM SMCI--MB 00000002 INTL 20091013)
0.021839 ACPI: DMAR 0x000000006C5BD000 000330 (v01 SUPERM SMCI--MB 00000001 INTL 20091013)
0.021843 ACPI: ERST 0x000000006C5B7000 000230 (v01 SUPERM SMCI--MB 00000001 INTL 00000001)
0.021847 ACPI: HEST 0x000000006C5B5000 000A7C (v01 SUPERM SMCI--MB 00000001 INTL 00000001)
0.021912 ACPI: SRAT: Node 0 PXM 0 [mem 0x00000000-0x7fffffff]
0.021914 ACPI: SRAT: Node 0 PXM 0 [mem 0x100000000-0x207fffffff]
0.021916 ACPI: SRAT: Node 1 PXM 1 [mem 0x2080000000-0x407fffffff]
0.021931 NUMA: Initialized distance table, cnt=2
0.021952 NODE_DATA(0) allocated [mem 0x207ffd5000-0x207fffffff]
0.021987 NODE_DATA(1) allocated [mem 0x407ffd4000-0x407fffefff]
0.022631 Zone ranges:
0.022632   DMA      [mem 0x0000000000001000-0x0000000000ffffff]
0.022634   DMA32    [mem 0x0000000001000000-0x00000000ffffffff]
0.022635   Normal   [mem 0x0000000100000000-0x000000407fffffff]
0.022637   Device   empty
0.022662 Initmem setup node 0 [mem 0x0000000000001000-0x000000207fffffff]
0.022666 Initmem setup node 1 [mem 0x0000002080000000-0x000000407fffffff]
0.108743 ACPI: PM-Timer IO Port: 0x508
0.108812 IOAPIC[0]: apic_id 240, version 32, address 0xfec00000, GSI 0-119
0.108842 ACPI: Using ACPI (MADT) for SMP configuration information
0.108853 smpboot: Allowing 224 CPUs, 0 hotplug CPUs
0.109317 [mem 0x90000000-0xfdffffff] available for PCI devices
0.109319 Booting paravirtualized kernel on bare hardware
0.114837 setup_percpu: NR_CPUS:8192 nr_cpumask_bits:224 nr_cpu_ids:224 nr_node_ids:2
0.151066 percpu: Embedded 63 pages/cpu s221184 r8192 d28672 u262144
0.151287 Built 2 zonelists, mobility grouping on.  Total pages: 528227331
0.151289 Policy zone: Normal
0.151291 Kernel command line: BOOT_IMAGE=/boot/vmlinuz-{RELEASE} root=UUID={{root_uuid}} ro iommu=pt intel_iommu=on \
console=tty0 console=ttyS1,115200n8
0.151398 DMAR: IOMMU enabled
0.165113 Dentry cache hash table entries: 268435456 (order: 19, 2147483648 bytes, vmalloc hugepage)
0.172006 Inode-cache hash table entries: 134217728 (order: 18, 1073741824 bytes, vmalloc hugepage)
0.172934 mem auto-init: stack:off, heap alloc:on, heap free:off
0.455183 Memory: 2113044468K/2147021028K available (16393K kernel code, 4393K rwdata, 10872K rodata, 3024K init, \
18648K bss, 33976560K reserved, 0K cma-reserved)
0.463128 SLUB: HWalign=64, Order=0-3, MinObjects=0, CPUs=224, Nodes=2
0.463198 ftrace: allocating 50610 entries in 198 pages
0.481349 rcu: Hierarchical RCU implementation.
0.485233 NR_IRQS: 524544, nr_irqs: 3632, preallocated irqs: 16
0.486191 Console: colour dummy device 80x25
0.486265 printk: console [tty0] enabled
0.486312 printk: console [ttyS1] enabled
0.486330 ACPI: Core revision 20210730
0.490123 clocksource: hpet: mask: 0xffffffff max_cycles: 0xffffffff, max_idle_ns: 79635855245 ns
0.490381 APIC: Switch to symmetric I/O mode setup
0.490386 DMAR: Host address width 52
0.497241 DMAR-IR: Enabled IRQ remapping in x2apic mode
0.497245 x2apic enabled
0.513274 clocksource: tsc-early: mask: 0xffffffffffffffff max_cycles: 0x39a83ea2da7, max_idle_ns: 881590557826 ns
0.513282 Calibrating delay loop (skipped), value calculated using timer frequency.. 3999.93 BogoMIPS (lpj=7999872)
0.513285 pid_max: default: 229376 minimum: 1792
0.521037 LSM: Security Framework initializing
0.521073 Yama: becoming mindful.
0.521146 AppArmor: AppArmor initialized
0.525215 mce: CPU0: Thermal monitoring enabled (TM1)
0.525337 x86/cpu: User Mode Instruction Prevention (UMIP) activated
0.525406 Spectre V1 : Mitigation: usercopy/swapgs barriers and __user pointer sanitization
0.525409 Spectre V2 : Mitigation: Enhanced / Automatic IBRS
0.525415 Speculative Store Bypass: Mitigation: Speculative Store Bypass disabled via prctl and seccomp
0.525421 GDS: Mitigation: Microcode
0.528913 smpboot: CPU0: Intel(R) Xeon(R) Platinum 8480+ (family: 0x6, model: 0x8f, stepping: 0x8)
0.529324 Performance Events: XSAVE Architectural LBR, PEBS fmt4+-baseline,  AnyThread deprecated, Sapphire Rapids \
events, 32-deep LBR, full-width counters, Intel PMU driver.
0.529654 rcu: Hierarchical SRCU implementation.
0.536102 smp: Bringing up secondary CPUs ...
0.536237 x86: Booting SMP configuration:
0.536239 .... node  #0, CPUs:          #1   #2   #3   #4   #5   #6   #7   #8   #9  #10  #11  #12  #13  #14  #15  \
#16  #17  #18  #19  #20  #21  #22  #23  #24  #25  #26  #27  #28  #29  #30  #31  #32  #33  #34  #35  #36  #37  #38  \
#39  #40  #41  #42  #43  #44  #45  #46  #47  #48  #49  #50  #51  #52  #53  #54  #55
0.643117 .... node  #1, CPUs:    #56  #57  #58  #59  #60  #61  #62  #63  #64  #65  #66  #67  #68  #69  #70  #71  \
#72  #73  #74  #75  #76  #77  #78  #79  #80  #81  #82  #83  #84  #85  #86  #87  #88  #89  #90  #91  #92  #93  #94  \
#95  #96  #97  #98  #99 #100 #101 #102 #103 #104 #105 #106 #107 #108 #109 #110 #111
0.781553 smp: Brought up 2 nodes, 224 CPUs
0.781554 smpboot: Max logical packages: 2
0.781555 smpboot: Total of 224 processors activated (896000.00 BogoMIPS)
0.829155 devtmpfs: initialized
0.829157 x86/mm: Memory block size: 2048MB
0.834388 futex hash table entries: 65536 (order: 10, 4194304 bytes, vmalloc)
0.837384 PM: RTC time: {{rtc_time}}, date: {{rtc_date}}
0.839110 NET: Registered PF_NETLINK/PF_ROUTE protocol family
0.843117 audit: initializing netlink subsys (disabled)
0.843173 audit: type=2000 audit({{audit}}.120:1): state=initialized audit_enabled=0 res=1
0.843517 cpuidle: using governor ladder
0.843527 cpuidle: using governor menu
0.843731 ACPI: bus type PCI registered
0.844036 PCI: MMCONFIG for domain 0000 [bus 00-ff] at [mem 0x80000000-0x8fffffff] (base 0x80000000)
0.844082 PCI: Using configuration type 1 for base access
0.852190 HugeTLB registered 1.00 GiB page size, pre-allocated 0 pages
0.852191 HugeTLB registered 2.00 MiB page size, pre-allocated 0 pages
1.102174 ACPI: 7 ACPI AML tables successfully acquired and loaded
1.276901 ACPI: Interpreter enabled
1.276953 ACPI: PM: (supports S0 S5)
1.276956 ACPI: Using IOAPIC for interrupt routing
1.277088 HEST: Table parsing has been initialized.
1.277427 PCI: Using host bridge windows from ACPI; if necessary, use "pci=nocrs" and report a bug
1.280227 ACPI: Enabled 7 GPEs in block 00 to 7F
1.281003 ACPI: PCI Root Bridge [PC00] (domain 0000 [bus 00-14])
1.281108 acpi PNP0A08:00: _OSC: OS supports [ExtendedConfig ASPM ClockPM Segments MSI EDR HPX-Type3]
1.281422 acpi PNP0A08:00: _OSC: OS now controls [PCIeHotplug SHPCHotplug PME AER PCIeCapability LTR DPC]
1.282007 PCI host bridge to bus 0000:00
1.282009 pci_bus 0000:00: root bus resource [bus 00-14]
1.282011 pci_bus 0000:00: root bus resource [io  0x0000-0x0cf7 window]
1.282013 pci_bus 0000:00: root bus resource [mem 0x90000000-0x95ffffff window]
1.282101 pci 0000:00:00.0: [8086:09a2] type 00 class 0x088000
1.282233 pci 0000:00:14.0: [8086:1bcd] type 00 class 0x0c0330
1.282401 pci 0000:00:16.0: [8086:1be0] type 00 class 0x078000
1.282544 pci 0000:00:17.0: [8086:1bf2] type 00 class 0x010601
1.282803 pci 0000:01:00.0: [144d:a80a] type 00 class 0x010802
1.283011 pci 0000:03:00.0: [1a03:2000] type 00 class 0x030000
1.283421 pci 0000:0a:00.0: [8086:1533] type 00 class 0x020000
""")

_PLATFORM = _template(f"""
3.912533 iommu: Default domain type: Passthrough (set via kernel command line)
3.912768 SCSI subsystem initialized
3.912790 libata version 3.00 loaded.
3.912791 ACPI: bus type USB registered
3.912810 usbcore: registered new interface driver usbfs
3.912818 usbcore: registered new interface driver hub
3.912833 usbcore: registered new device driver usb
3.912857 pps_core: LinuxPPS API ver. 1 registered
3.912864 PTP clock support registered
3.912968 EDAC MC: Ver: 3.0.0
3.914225 Registered efivars operations
3.914868 NetLabel: Initializing
3.914889 PCI: Using ACPI for IRQ routing
3.936713 PCI: pci_cache_line_size set to 64 bytes
3.937985 pci 0000:03:00.0: vgaarb: setting as boot VGA device
3.937986 pci 0000:03:00.0: vgaarb: VGA device added: decodes=io+mem,owns=io+mem,locks=none
3.937987 vgaarb: loaded
3.938053 hpet0: at MMIO 0xfed00000, IRQs 2, 8, 0, 0, 0, 0, 0, 0
3.940182 clocksource: Switched to clocksource tsc-early
3.941003 MCE: In-kernel MCE decoding enabled.
3.970107 VFS: Disk quotas dquot_6.6.0
3.970488 AppArmor: AppArmor Filesystem Enabled
3.970528 pnp: PnP ACPI init
3.974105 pnp: PnP ACPI: found 5 devices
3.981391 NET: Registered PF_INET protocol family
3.990332 TCP: Hash tables configured (established 524288 bind 65536)
3.991687 NET: Registered PF_UNIX/PF_LOCAL protocol family
4.027353 Trying to unpack rootfs image as initramfs...
4.027424 DMAR: dmar0: Using Queued invalidation
4.031166 DMAR: Intel(R) Virtualization Technology for Directed I/O
4.031173 software IO TLB: mapped [mem 0x0000000059f5e000-0x000000005df5e000] (64MB)
4.040362 RAPL PMU: API unit is 2^-32 Joules, 2 fixed counters, 655360 ms ovfl timer
4.041108 Initialise system trusted keyrings
4.043685 squashfs: version 4.0 (2009/01/31) Phillip Lougher
4.043977 fuse: init (API version 7.34)
4.061159 Block layer SCSI generic (bsg) driver version 0.4 loaded (major 243)
4.061492 io scheduler mq-deadline registered
4.063807 shpchp: Standard Hot Plug PCI Controller Driver version: 0.4
4.072110 ERST: Error Record Serialization Table (ERST) support is initialized.
4.072116 pstore: Registered erst as persistent store backend
4.072390 Serial: 8250/16550 driver, 32 ports, IRQ sharing enabled
4.093422 00:03: ttyS1 at I/O 0x2f8 (irq = 3, base_baud = 115200) is a 16550A
4.104902 loop: module loaded
4.105585 i8042: PNP: No PS/2 controller found.
4.105893 rtc_cmos 00:00: RTC can wake from S4
4.106819 rtc_cmos 00:00: registered as rtc0
4.107083 rtc_cmos 00:00: setting system clock to {{rtc_iso}} UTC ({{rtc_epoch}})
4.107178 i2c_dev: i2c /dev entries driver
4.107269 device-mapper: ioctl: 4.45.0-ioctl (2021-03-22) initialised: dm-devel@redhat.com
4.107284 intel_pstate: Intel P-state driver initializing
4.113317 intel_pstate: HWP enabled
4.115390 NET: Registered PF_INET6 protocol family
4.693122 Freeing initrd memory: 102276K
4.701282 NET: Registered PF_PACKET protocol family
4.707119 microcode: sig=0x806f8, pf=0x80, revision=0x2b000590
4.707681 microcode: Microcode Update Driver: v2.2.
4.712341 registered taskstats version 1
4.712520 Loading compiled-in X.509 certificates
4.714692 zswap: loaded using pool lzo/zbud
4.717443 ima: No TPM chip found, activating TPM-bypass!
4.721305 RAS: Correctable Errors collector initialized.
4.729388 Freeing unused kernel image (initmem) memory: 3024K
4.745211 Write protecting the kernel read-only data: 30720k
4.801142 x86/mm: Checked W+X mappings: passed, no W+X pages found.
4.801149 Run /init as init process
4.801151   with arguments:
4.801152     /init
4.801153   with environment:
4.801154     HOME=/
4.801155     TERM=linux
4.801156     BOOT_IMAGE=/boot/vmlinuz-{RELEASE}
5.102314 ahci 0000:00:17.0: version 3.0
5.102611 ahci 0000:00:17.0: AHCI 0001.0301 32 slots 8 ports 6 Gbps 0xff impl SATA mode
5.131020 xhci_hcd 0000:00:14.0: xHCI Host Controller
5.131094 xhci_hcd 0000:00:14.0: new USB bus registered, assigned bus number 1
5.132716 usb usb1: New USB device found, idVendor=1d6b, idProduct=0002, bcdDevice= 5.15
5.132720 usb usb1: Product: xHCI Host Controller
5.132886 hub 1-0:1.0: USB hub found
5.132910 hub 1-0:1.0: 16 ports detected
5.138402 scsi host0: ahci
5.217713 igb: Intel(R) Gigabit Ethernet Network Driver
5.238214 igb 0000:0a:00.0: added PHC on eth0
5.238219 igb 0000:0a:00.0: eth0: (PCIe:2.5Gb/s:Width x1) {{mac}}
5.238284 igb 0000:0a:00.0: Using MSI-X interrupts. 4 rx queue(s), 4 tx queue(s)
5.243613 igb 0000:0a:00.0 eno1: renamed from eth0
5.484103 ata1: SATA link down (SStatus 0 SControl 300)
5.841222 raid6: avx512x4 gen() 41102 MB/s
6.045218 raid6: using algorithm avx2x4 gen() 47812 MB/s
6.113221 raid6: using avx512x2 recovery algorithm
6.115084 xor: automatically using best checksumming function   avx      \x20
6.301716 Btrfs loaded, crc32c=crc32c-intel, zoned=yes, fsverity=yes
6.392774 EXT4-fs (nvme0n1p2): mounted filesystem with ordered data mode. Opts: (null). Quota mode: none.
6.701102 @systemd[1]: Inserted module 'autofs4'
6.731935 @systemd[1]: systemd 249.11-0ubuntu3.12 running in system mode (+PAM +AUDIT +SELINUX +APPARMOR +IMA +SMACK \
+SECCOMP +GCRYPT +GNUTLS +OPENSSL +ACL +BLKID +CURL +ELFUTILS +FIDO2 +IDN2 -IDN +IPTC +KMOD +LIBCRYPTSETUP \
+LIBFDISK +PCRE2 -PWQUALITY -P11KIT -QRENCODE +BZIP2 +LZ4 +XZ +ZLIB +ZSTD -XKBCOMMON +UTMP +SYSVINIT \
default-hierarchy=unified)
6.752447 @systemd[1]: Detected architecture x86-64.
6.774203 @systemd[1]: Hostname set to <{{host}}>.
6.941520 @systemd[1]: Queued start job for default target Graphical Interface.
6.947116 @systemd[1]: Created slice Slice /system/modprobe.
6.948885 @systemd[1]: Created slice User and Session Slice.
6.950107 @systemd[1]: Reached target Slice Units.
6.951008 @systemd[1]: Listening on Journal Socket (/dev/log).
6.951320 @systemd[1]: Listening on Network Service Netlink Socket.
6.951433 @systemd[1]: Listening on udev Control Socket.
6.954271 @systemd[1]: Mounting Huge Pages File System...
6.958802 @systemd[1]: Starting Journal Service...
6.961244 @systemd[1]: Starting Load Kernel Modules...
6.963105 @systemd[1]: Starting Remount Root and Kernel File Systems...
6.965008 @systemd[1]: Starting Coldplug All udev Devices...
6.981173 EXT4-fs (nvme0n1p2): re-mounted. Opts: (null). Quota mode: none.
6.998213 @systemd[1]: Started Journal Service.
7.031906 @systemd-journald[1102]: Received client request to flush runtime journal.
7.298011 IPMI message handler: version 39.2
7.342169 ipmi_si: IPMI System Interface driver
7.455128 ipmi_si IPI0001:00: IPMI kcs interface initialized
7.582117 intel_rapl_common: Found RAPL domain package
7.582120 intel_rapl_common: Found RAPL domain dram
7.702233 ast 0000:03:00.0: [drm] AST 2600 detected
7.702984 [drm] Initialized ast 0.1.0 20120228 for 0000:03:00.0 on minor 0
7.871004 EDAC i10nm: No hbm memory
""")

_EDAC_DONE = [(7.912230, KERNEL, "EDAC i10nm: v0.0.5")]

_NVIDIA_LOAD = _template("""
8.401337 nvidia: loading out-of-tree module taints kernel.
8.401342 nvidia: module license 'NVIDIA' taints kernel.
8.401343 Disabling lock debugging due to kernel taint
8.428101 nvidia: module verification failed: signature and/or required key missing - tainting kernel
8.472912 nvidia-nvlink: Nvlink Core is being initialized, major device number 511
""")

_NVIDIA_LOADED = _template("""
9.307611 NVRM: loading NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024
9.364019 nvidia-modeset: Loading NVIDIA Kernel Mode Setting Driver for UNIX platforms  550.54.15  Tue Mar  5 \
22:15:33 UTC 2024
""")

_NVIDIA_UVM = _template("""
10.884362 nvidia_uvm: module uses symbols from proprietary module nvidia, inheriting taint.
10.901553 nvidia-uvm: Loaded the UVM driver, major device number 509.
11.402517 bridge: filtering via arp/ip/ip6tables is no longer available by default. Update your scripts to load \
br_netfilter if you need this.
11.409935 Bridge firewalling registered
11.871244 Initializing XFRM netlink socket
11.912101 loop0: detected capacity change from 0 to 8
12.103218 IPv6: ADDRCONF(NETDEV_CHANGE): eno1: link becomes ready
13.552013 audit: type=1400 audit({audit}.556:2): apparmor="STATUS" operation="profile_load" profile="unconfined" \
name="nvidia_modprobe" pid=2311 comm="apparmor_parser"
13.552029 audit: type=1400 audit({audit}.556:3): apparmor="STATUS" operation="profile_load" profile="unconfined" \
name="nvidia_modprobe//kmod" pid=2311 comm="apparmor_parser"
""")

_FABRIC = _template("""
19.104212 nvidia-nvlink: nvlink driver open
19.122871 nvidia-nvlink: nvlink driver close
""")

_SHUTDOWN = [
    "systemd-shutdown[1]: Syncing filesystems and block devices.",
    "systemd-shutdown[1]: Sending SIGTERM to remaining processes...",
    "systemd-shutdown[1]: Sending SIGKILL to remaining processes...",
    "systemd-shutdown[1]: Unmounting file systems.",
    "systemd-shutdown[1]: All filesystems unmounted.",
    "systemd-shutdown[1]: Deactivating swaps.",
    "systemd-shutdown[1]: All swaps deactivated.",
    "systemd-shutdown[1]: Detaching loop devices.",
    "systemd-shutdown[1]: All loop devices detached.",
    "systemd-shutdown[1]: Detaching DM devices.",
    "systemd-shutdown[1]: All filesystems, swaps, loop devices, MD devices and DM devices detached.",
    "systemd-shutdown[1]: Syncing filesystems and block devices.",
    "systemd-shutdown[1]: Rebooting.",
    "reboot: Restarting system",
]


# ------------------------------------------------------------------------------------- boot: the node's parts
def _root_buses(node: Node) -> list[tuple[str, str, list[str]]]:
    """Per GPU root port: its bus, bus range and the devices it enumerates (GPU, HCAs, NVMe) in order."""
    roots = sorted({gpu.root_port[5:7] for gpu in node.gpus})
    # A root bus ends below the next one, and socket 0's below 80 where socket 1's start.
    limits = [
        min(int(nxt, 16), 0x80 if root < "80" else 0xE7) for root, nxt in zip(roots, [*roots[1:], "e7"], strict=True)
    ]
    ends = [f"{limit - 1:02x}" for limit in limits]
    buses = []
    for root, end in zip(roots, ends, strict=True):
        inside = [
            bdf
            for bdf in [g.bdf for g in node.gpus] + [h.bdf for h in node.hcas] + [f"0000:{b}:00.0" for b in NVME_BUSES]
            if root <= bdf[5:7] <= end
        ]
        buses.append((root, f"{root}-{end}", sorted(inside)))
    return buses


def _pci(node: Node, rng: random.Random, downtrained: dict[str, str]) -> list[Entry]:
    """PCI enumeration of the GPU root complexes: root ports, GPUs, HCAs, NVMe drives; NVSwitches on bus 00."""
    lines = [
        line
        for switch in node.nvswitches
        for line in (
            f"pci {switch.bdf}: [10de:22a3] type 00 class 0x068000",
            f"pci {switch.bdf}: reg 0x10: [mem 0x{0x92000000 + switch.index * 0x2000000:x}-"
            f"0x{0x93FFFFFF + switch.index * 0x2000000:x} 64bit]",
        )
    ] + ["pci_bus 0000:00: on NUMA node 0"]
    gpus = {gpu.bdf: gpu for gpu in node.gpus}
    hcas = {hca.bdf for hca in node.hcas}
    for n, (root, span, devices) in enumerate(_root_buses(node)):
        port = f"0000:{root}:01.0"
        lines += [
            f"ACPI: PCI Root Bridge [PC{n + 2:02X}] (domain 0000 [bus {span}])",
            f"acpi PNP0A08:{n + 2:02x}: _OSC: OS now controls [PCIeHotplug SHPCHotplug PME AER PCIeCapability LTR DPC]",
            f"PCI host bridge to bus 0000:{root}",
            f"pci_bus 0000:{root}: root bus resource [bus {span}]",
            f"pci {port}: [{ROOT_PORT_ID}] type 01 class 0x060400",
            f"pci {port}: PME# supported from D0 D3hot D3cold",
        ]
        for bdf in devices:
            if bdf in gpus:
                lines += _pci_gpu(gpus[bdf], downtrained.get(bdf))
            elif bdf in hcas:
                lines += [f"pci {bdf}: [15b3:1021] type 00 class 0x020700", f"pci {bdf}: PME# supported from D3cold"]
            else:
                lines.append(f"pci {bdf}: [144d:a824] type 00 class 0x010802")
        lines += [
            f"pci {port}: PCI bridge to [bus {span}]",
            f"pci_bus 0000:{root}: on NUMA node {int(root < '80') ^ 1}",
        ]
    return _spread(rng, lines, 1.284, 3.905)


def _pci_gpu(gpu: Gpu, limit: str | None) -> list[str]:
    """Enumeration of one H100 SXM (BAR0 16 MB, BAR1 128 GB, BAR3 32 MB) and its link, if trained low."""
    bar0 = 0xA0000000 + gpu.index * 0x2000000
    bar1 = 0x208000000000 + gpu.index * 0x4000000000
    lines = [
        f"pci {gpu.bdf}: [10de:2330] type 00 class 0x030200",
        f"pci {gpu.bdf}: reg 0x10: [mem 0x{bar0:x}-0x{bar0 + 0xFFFFFF:x} 64bit pref]",
        f"pci {gpu.bdf}: reg 0x18: [mem 0x{bar1:x}-0x{bar1 + 0x1FFFFFFFFF:x} 64bit pref]",
        f"pci {gpu.bdf}: reg 0x20: [mem 0x{bar1 + 0x2000000000:x}-0x{bar1 + 0x2001FFFFFF:x} 64bit pref]",
        f"pci {gpu.bdf}: PME# supported from D0 D3hot",
    ]
    if limit:
        lines.append(
            f"pci {gpu.bdf}: {limit} link at {gpu.root_port} (capable of 504.112 Gb/s with 32.0 GT/s PCIe x16 link)"
        )
    return lines


def _downtrained(node: Node) -> dict[str, str]:
    """`<bandwidth> available PCIe bandwidth, limited by <speed> <width>` of each GPU trained below Gen5 x16.

    The width or generation is the one nvidia-smi reports for the same GPU, so both files agree.
    """
    gpus = [f.target for f in node.faults_of("pcie_downtrained") if isinstance(f.target, Gpu)]
    if not gpus:
        return {}
    values = smi.gpu_values(node, node.rng("nvidia_smi"))
    limits = {}
    for gpu in gpus:
        if values[gpu.bdf]["width_current"] == "8":
            limits[gpu.bdf] = "252.056 Gb/s available PCIe bandwidth, limited by 32.0 GT/s PCIe x8"
        else:
            limits[gpu.bdf] = "126.016 Gb/s available PCIe bandwidth, limited by 8.0 GT/s PCIe x16"
    return limits


def _pcieport(node: Node, rng: random.Random) -> list[Entry]:
    """The port services of each GPU root port (AER, DPC)."""
    lines = []
    for n, port in enumerate(sorted({gpu.root_port for gpu in node.gpus})):
        irq = 77 + 2 * n
        lines += [f"pcieport {port}: AER: enabled with IRQ {irq}", f"pcieport {port}: DPC: enabled with IRQ {irq}"]
    return _spread(rng, lines, 4.0641, 4.0712)


def _nvme(node: Node, rng: random.Random) -> list[Entry]:
    """The boot drive and the 8 data drives behind the GPU switches."""
    drives = ["0000:01:00.0"] + [f"0000:{bus}:00.0" for bus in NVME_BUSES]
    lines = [f"nvme nvme{n}: pci function {bdf}" for n, bdf in enumerate(drives)]
    lines += [f"nvme nvme{n}: 112/0/0 default/read/poll queues" for n in range(len(drives))]
    lines.append(" nvme0n1: p1 p2")
    return _spread(rng, lines, 5.1104, 5.3921)


def _mlx5_probe(node: Node, rng: random.Random) -> list[Entry]:
    """mlx5_core probing the ConnectX-7 adapters from the initramfs."""
    lines = [
        line
        for hca in node.hcas
        for line in (
            f"mlx5_core {hca.bdf}: firmware version: {HCA_FW}",
            f"mlx5_core {hca.bdf}: 504.112 Gb/s available PCIe bandwidth (32.0 GT/s PCIe x16 link)",
            f"mlx5_core {hca.bdf}: Port module event: module 0, Cable plugged",
            f"mlx5_core {hca.bdf}: mlx5_pcie_event:299:(pid 9): Detected insufficient power on the PCIe slot (27W).",
        )
    ]
    return _spread(rng, lines, 5.4011, 6.2873)


def _ipoib(node: Node, rng: random.Random) -> list[Entry]:
    """mlx5_ib and IPoIB bring up each port's netdev; udev renames the ones probed out of order."""
    order = list(range(len(node.hcas)))
    for _ in range(2):
        i = rng.randrange(len(order) - 1)
        order[i], order[i + 1] = order[i + 1], order[i]
    lines = []
    for kernel_name, index in enumerate(order):
        hca = node.hcas[index]
        lines.append(f"mlx5_core {hca.bdf}: MLX5E: StrdRq(0) RqSz(1024) StrdSz(256) RxCqeCmprss(0 enhanced)")
        if kernel_name != hca.index:
            lines.append(f"mlx5_core {hca.bdf} {hca.netdev}: renamed from ib{kernel_name}")
    return _spread(rng, lines, 8.1821, 8.3904)


def _edac(node: Node, rng: random.Random) -> list[Entry]:
    """i10nm_edac registering one memory controller per socket and IMC."""
    sockets = sorted({dimm.socket for dimm in node.dimms})
    imcs = sorted({dimm.mc for dimm in node.dimms})
    lines = [
        f"EDAC MC{socket * len(imcs) + imc}: Giving out device to module i10nm_edac controller Intel_10nm "
        f"Socket#{socket} IMC#{imc}: DEV 0000:{'7e' if socket == 0 else 'fe'}:{0x0C + imc:02x}.0 (INTERRUPT)"
        for socket in sockets
        for imc in imcs
    ]
    return _spread(rng, lines, 7.8751, 7.9102) + _EDAC_DONE


def _nvidia(node: Node, rng: random.Random) -> list[Entry]:
    """The NVIDIA driver: NVSwitch probes, the GPUs enabled, the module banner, nvidia-drm."""
    switches = [
        line
        for switch in node.nvswitches
        for line in (
            f"nvidia-nvswitch: Probing device {switch.bdf}, Vendor Id = 0x10de, Device Id = 0x22a3, Class = 0x68000",
            f"nvidia-nvswitch{switch.index}: using MSI",
        )
    ]
    enabling = [f"nvidia {gpu.bdf}: enabling device (0000 -> 0002)" for gpu in node.gpus]
    drm = [f"[drm] [nvidia-drm] [GPU ID 0x0000{gpu.bdf[5:7]}00] Loading driver" for gpu in node.gpus]
    drm += [f"[drm] Initialized nvidia-drm 0.0.0 20160202 for {gpu.bdf} on minor {gpu.index + 1}" for gpu in node.gpus]
    return (
        _NVIDIA_LOAD
        + _spread(rng, switches, 8.5102, 8.9021)
        + _spread(rng, enabling, 8.9412, 9.2907)
        + _NVIDIA_LOADED
        + _spread(rng, drm, 10.1213, 10.7402)
    )


def _persistenced(node: Node, rng: random.Random) -> list[Entry]:
    """nvidia-persistenced initialising each GPU: the driver names it by PCI address, UUID and board serial."""
    lines = [
        line
        for gpu in node.gpus
        for line in (f"NVRM: GPU at PCI:{_xid_bdf(gpu)}: {gpu.uuid}", f"NVRM: GPU Board Serial Number: {gpu.serial}")
    ]
    return _spread(rng, lines, 14.2107, 16.9305)


def _fabric(node: Node, rng: random.Random) -> list[Entry]:
    """nv-fabricmanager opening the NVSwitches."""
    opens = [f"nvidia-nvswitch{switch.index}: open (major=510)" for switch in node.nvswitches]
    return _spread(rng, opens, 18.7122, 18.9910) + _FABRIC


def _links(node: Node, rng: random.Random) -> list[Entry]:
    """The IB ports come up once the subnet manager sweeps them (kernel and systemd-networkd)."""
    out: list[Entry] = [(12.0917, DAEMON, f"{NETWORKD}: Enumeration completed")]
    out += [(12.1031, DAEMON, f"{NETWORKD}: eno1: Gained carrier")]
    for hca in node.hcas:
        up = 21.0 + rng.uniform(0, 24)
        out += [
            (12.2 + hca.index * 0.0113, DAEMON, f"{NETWORKD}: {hca.netdev}: Link UP"),
            (up, KERNEL, f"IPv6: ADDRCONF(NETDEV_CHANGE): {hca.netdev}: link becomes ready"),
            (up + 0.0004, DAEMON, f"{NETWORKD}: {hca.netdev}: Gained carrier"),
        ]
    return out


def _spread(rng: random.Random, lines: list[str], start: float, end: float) -> list[Entry]:
    """Kernel lines in order between two uptimes, at irregular intervals as probes print them."""
    gaps = [rng.expovariate(1.0) for _ in lines]
    scale = (end - start) / (sum(gaps) or 1.0)
    out, at = [], start
    for gap, line in zip(gaps, lines, strict=True):
        out.append((at, KERNEL, line))
        at += gap * scale
    return out


def _machine(node: Node, rng: random.Random) -> dict[str, str]:
    """What stays the same from boot to boot: host name, root file system, on-board NIC address."""
    return {
        "host": node.host,
        "root_uuid": _uuid(rng),
        "mac": ":".join(f"{b:02x}" for b in [0x3C, 0xEC, 0xEF] + [rng.randrange(256) for _ in range(3)]),
    }


def _boot(node: Node, rng: random.Random, machine: dict[str, str], at: datetime) -> list[Entry]:
    """A full boot of the node at `at`, up to the IB links becoming ready (about 45 s)."""
    values = {
        **machine,
        "rtc_time": f"{at:%H:%M:%S}",
        "rtc_date": f"{at:%Y-%m-%d}",
        "audit": str(_epoch(at) + 14),
        "rtc_iso": f"{at + timedelta(seconds=4):%Y-%m-%dT%H:%M:%S}",
        "rtc_epoch": str(_epoch(at) + 4),
    }
    static = _EARLY + _PLATFORM + _NVIDIA_UVM
    entries = [(t, ch, text.format_map(values) if "{" in text else text) for t, ch, text in static]
    entries += _pci(node, rng, _downtrained(node)) + _pcieport(node, rng) + _nvme(node, rng) + _mlx5_probe(node, rng)
    entries += _edac(node, rng) + _ipoib(node, rng) + _nvidia(node, rng)
    entries += _persistenced(node, rng) + _fabric(node, rng) + _links(node, rng)
    scale = rng.uniform(0.96, 1.06)  # how fast this boot went
    return [(t * scale, ch, text) for t, ch, text in entries]


# ------------------------------------------------------------------------------------- the burn-in run
STEPS = ["dcgm", "nccl", "hpl", "nvbandwidth"]
PROCESS = {"dcgm": "nvvs", "nccl": "all_reduce_perf", "hpl": "xhpl", "nvbandwidth": "nvbandwidth"}


@dataclass(frozen=True)
class Run:
    """The burn-in steps in seconds since boot, and the pids of the processes that run them."""

    windows: dict[str, tuple[float, float]]  # step -> (start, end)
    ib_before: float
    ib_after: float
    end: float  # the bundle is collected
    pids: dict[str, int]  # step (and nv-hostengine) -> pid

    @classmethod
    def of(cls, node: Node, rng: random.Random) -> Run:
        """The run of `node`, from its timeline."""
        tl = node.timeline
        marks = [(getattr(tl, step) - tl.boot).total_seconds() for step in STEPS]
        marks.append((tl.ib_after - tl.boot).total_seconds())
        pids = {"nv-hostengine": rng.randint(2400, 3200)}
        pid = rng.randint(8000, 12000)
        for step in STEPS:
            pids[step] = pid
            pid += rng.randint(2500, 6000)
        return cls(
            windows={step: (marks[i], marks[i + 1]) for i, step in enumerate(STEPS)},
            ib_before=(tl.ib_before - tl.boot).total_seconds(),
            ib_after=marks[-1],
            end=(tl.collected - tl.boot).total_seconds(),
            pids=pids,
        )

    def during(self, rng: random.Random, step: str, margin: float = 30.0) -> float:
        """A moment inside a step, `margin` seconds clear of its start and end."""
        start, end = self.windows[step]
        return rng.uniform(start + margin, end - margin)

    def job(self, step: str) -> str:
        """`pid=..., name=...` of the process running a step, as the driver names it in an Xid."""
        return f"pid={self.pids[step]}, name={PROCESS[step]}"


def _group(start: float, lines: list[str], step: float = 0.000021, channel: int = KERNEL) -> list[Entry]:
    """Lines printed back to back from `start`."""
    return [(start + i * step, channel, line) for i, line in enumerate(lines)]


def _container(rng: random.Random, start: float, stop: float, first: bool) -> list[Entry]:
    """Docker starting and removing the container of one burn-in step."""
    veth, peer = f"veth{rng.getrandbits(28):07x}", f"veth{rng.getrandbits(28):07x}"
    up = [
        f"docker0: port 1({veth}) entered blocking state",
        f"docker0: port 1({veth}) entered disabled state",
        f"device {veth} entered promiscuous mode",
        f"eth0: renamed from {peer}",
        f"IPv6: ADDRCONF(NETDEV_CHANGE): {veth}: link becomes ready",
        f"docker0: port 1({veth}) entered blocking state",
        f"docker0: port 1({veth}) entered forwarding state",
    ]
    if first:
        up.append("IPv6: ADDRCONF(NETDEV_CHANGE): docker0: link becomes ready")
    down = [
        f"docker0: port 1({veth}) entered disabled state",
        f"{peer}: renamed from eth0",
        f"docker0: port 1({veth}) entered disabled state",
        f"device {veth} left promiscuous mode",
        f"docker0: port 1({veth}) entered disabled state",
    ]
    return _group(start, up, 0.0173) + _group(stop, down, 0.0211)


def _runtime(rng: random.Random, run: Run) -> list[Entry]:
    """Sparse chatter of a healthy run: a container per step, a perf sampling notice under HPL."""
    out = []
    for n, step in enumerate(STEPS):
        start, end = run.windows[step]
        out += _container(rng, start - rng.uniform(2, 6), end - rng.uniform(8, 20), n == 0)
    limit = rng.choice([79750, 63750, 50750])
    out.append(
        (
            run.during(rng, "hpl"),
            KERNEL,
            f"perf: interrupt took too long ({rng.randint(2502, 3300)} > 2500), "
            f"lowering kernel.perf_event_max_sample_rate to {limit}",
        )
    )
    return out


# ------------------------------------------------------------------------------------- faults
def _xid_bdf(gpu: Gpu) -> str:
    """The address as Xid lines print it: `0000:18:00`."""
    return gpu.bdf.rsplit(".", 1)[0]


def _xid(gpu: Gpu, code: int, text: str, who: str = UNKNOWN) -> str:
    """One `NVRM: Xid` line."""
    return f"NVRM: Xid (PCI:{_xid_bdf(gpu)}): {code}, {who}, {text}"


def _aer_corrected(rng: random.Random, port: str, at: float, bad_tlp: bool) -> list[Entry]:
    """One corrected AER event the root port logged about its own link."""
    multiple = "Multiple " if bad_tlp else ""
    lines = [
        f"pcieport {port}: AER: {multiple}Corrected error received: {port}",
        f"pcieport {port}: PCIe Bus Error: severity=Corrected, type=Physical Layer, (Receiver ID)",
        f"pcieport {port}:   device [{ROOT_PORT_ID}] error status/mask={0x41 if bad_tlp else 0x1:08x}/00002000",
        f"pcieport {port}:    [ 0] {'RxErr':<22}",
    ]
    if bad_tlp:
        lines.append(f"pcieport {port}:    [ 6] {'BadTLP':<22}")
    return _group(at, lines, 0.000013)


def _fallen_off_bus(fault: Fault, node: Node, rng: random.Random, run: Run) -> list[Entry]:
    """Surprise Down on the root port, then Xid 79: the GPU is gone for the rest of the run."""
    gpu = _gpu(fault)
    port, at = gpu.root_port, run.during(rng, rng.choice(["nccl", "hpl"]))
    aer = [
        f"pcieport {port}: AER: Uncorrected (Fatal) error received: {port}",
        f"pcieport {port}: PCIe Bus Error: severity=Uncorrected (Fatal), type=Data Link Layer, (Receiver ID)",
        f"pcieport {port}:   device [{ROOT_PORT_ID}] error status/mask=00000020/00400000",
        f"pcieport {port}:    [ 5] {'SDES':<22} (First)",
        f"pcieport {port}: AER: device recovery failed",
    ]
    lost = [
        _xid(gpu, 79, "GPU has fallen off the bus."),
        f"NVRM: GPU {gpu.bdf}: GPU has fallen off the bus.",
        f"NVRM: GPU {gpu.bdf}: GPU serial number is {gpu.serial}.",
    ]
    return _group(at, aer) + _group(at + rng.uniform(0.2, 1.5), lost, 0.000004)


def _sm_exception(gpu: Gpu, who: str, gpc: int, tpc: int, sm: int) -> list[str]:
    """The three lines of one Xid 13 graphics exception on an SM."""
    esr = 0x504730 + gpc * 0x8000 + tpc * 0x800 + sm * 0x80
    return [
        _xid(gpu, 13, f"Graphics SM Warp Exception on (GPC {gpc}, TPC {tpc}, SM {sm}): Out Of Range Address", who),
        _xid(gpu, 13, f"Graphics SM Global Exception on (GPC {gpc}, TPC {tpc}, SM {sm}): Multiple Warp Errors", who),
        _xid(
            gpu,
            13,
            f"Graphics Exception: ESR 0x{esr:x}=0x11f000e 0x{esr + 4:x}=0x24 0x{esr - 8:x}=0xf81eb60 "
            f"0x{esr - 4:x}=0x1174",
            who,
        ),
    ]


def _diag_failure(fault: Fault, node: Node, rng: random.Random, run: Run) -> list[Entry]:
    """The same SM faults again and again under the DCGM diagnostic and under HPL."""
    gpu = _gpu(fault)
    gpc, tpc, sm = rng.randrange(8), rng.randrange(9), rng.randrange(2)
    out = []
    for step, count in (("dcgm", rng.randint(2, 4)), ("hpl", rng.randint(1, 3))):
        for _ in range(count):
            out += _group(run.during(rng, step), _sm_exception(gpu, run.job(step), gpc, tpc, sm), 0.000089)
    return out


def _dbe(gpu: Gpu, rng: random.Random, address: int) -> str:
    """Xid 48: an uncorrectable double-bit error in HBM."""
    where = f"physAddr 0x{address:x} partition {rng.randrange(10)}, subpartition {rng.randrange(2)}"
    return _xid(
        gpu, 48, f"An uncorrectable double bit error (DBE) has been detected on GPU in the framebuffer at {where}."
    )


def _hbm_address(rng: random.Random) -> int:
    return rng.randrange(0x40000000, 0x13F0000000) & ~0x1F


def _remap_failure(fault: Fault, node: Node, rng: random.Random, run: Run) -> list[Entry]:
    """A DBE under the memory test whose row cannot be remapped; the same row hits HPL uncontained."""
    gpu, address = _gpu(fault), _hbm_address(rng)
    first = [
        _dbe(gpu, rng, address),
        _xid(gpu, 64, f"Row Remapper Error: (0x{address:016x}) - All reserved rows for bank are remapped"),
    ]
    again = [
        _dbe(gpu, rng, address),
        _xid(gpu, 95, "Uncontained: LTC TAG (0x2,0x1). RST: Yes, D-RST: No", run.job("hpl")),
    ]
    return _group(run.during(rng, "dcgm", 120), first, 0.0287) + _group(run.during(rng, "hpl"), again, 0.0191)


def _remap_pending(fault: Fault, node: Node, rng: random.Random, run: Run) -> list[Entry]:
    """DBEs whose rows are marked for remapping at the next reset; under HPL the error is contained."""
    gpu = _gpu(fault)
    out = []
    for step in ("dcgm", "hpl"):
        address = _hbm_address(rng)
        lines = [
            _dbe(gpu, rng, address),
            _xid(gpu, 63, f"Row Remapper: New row (0x{address:016x}) marked for remapping, reset gpu to activate."),
        ]
        if step == "hpl":
            lines.append(_xid(gpu, 94, "Contained: SM (0x1). RST: No, D-RST: No"))
            lines += [_xid(gpu, 94, f"Ch {8 + n:08x}", run.job("hpl")) for n in range(rng.randint(3, 6))]
        out += _group(run.during(rng, step, 120 if step == "dcgm" else 30), lines, 0.0093)
    return out


def _ib_cable(fault: Fault, node: Node, rng: random.Random, run: Run) -> list[Entry]:
    """A bad cable: a module error, then the port's link going down and up (as many times as the counters say)."""
    hca = _hca(fault)
    flaps = sorted(rng.uniform(run.ib_before + 60, run.ib_after - 60) for _ in range(infiniband.link_downs(node)))
    out = [
        (
            flaps[0] - 0.0012,
            KERNEL,
            f"mlx5_core {hca.bdf}: Port module event[error]: module 0, Cable error, Bad or shorted cable/module",
        )
    ]
    for down in flaps:
        up = down + rng.uniform(2.0, 14.0)
        out += [
            (down, KERNEL, f"mlx5_core {hca.bdf} {hca.netdev}: Link down"),
            (down + 0.0021, DAEMON, f"{NETWORKD}: {hca.netdev}: Lost carrier"),
            (up, KERNEL, f"mlx5_core {hca.bdf} {hca.netdev}: Link up"),
            (up + 0.0019, DAEMON, f"{NETWORKD}: {hca.netdev}: Gained carrier"),
        ]
    return out


def _rpc_history(rng: random.Random, gpu: Gpu, pending: tuple[int, str, int, int]) -> list[str]:
    """The RPC dump the driver prints after the first GSP timeout of a GPU."""
    fn, name, data0, data1 = pending
    head = "NVRM:     entry function                   data0              data1              ts_start           ts_end"
    ts = rng.getrandbits(40) | 0x00062E0000000000
    lines = [
        f"NVRM: GPU{gpu.index} GSP RPC buffer contains function {fn} ({name}) and data 0x{data0:016x} 0x{data1:016x}.",
        f"NVRM: GPU{gpu.index} RPC history (CPU -> GSP):",
        f"{head}             duration actively_polling",
        f"NVRM:      0    {fn:<4} {name:<21} 0x{data0:016x} 0x{data1:016x} 0x{ts:016x} 0x{0:016x}          y",
    ]
    for entry in range(1, 8):
        fn, name = RPC_FUNCTIONS[rng.randrange(len(RPC_FUNCTIONS))]
        took = rng.randint(280, 760)
        ts -= rng.randint(400000, 900000)
        args = f"0x{0x20800000 + rng.getrandbits(16):016x} 0x{rng.choice([4, 8, 0x20]):016x}"
        lines.append(
            f"NVRM:     -{entry}    {fn:<4} {name:<21} {args} 0x{ts:016x} 0x{ts + took * 1000:016x} {took:>7}us"
        )
    lines += [
        f"NVRM: GPU{gpu.index} RPC event history (CPU <- GSP):",
        f"{head}             duration during_incomplete_rpc",
    ]
    for entry in range(4):
        ts -= rng.randint(10**9, 9 * 10**9)
        lines.append(
            f"NVRM:     {-entry:>2}    4124 {'GSP_LOCKDOWN_NOTICE':<21} 0x{entry % 2:016x} 0x{0:016x} "
            f"0x{ts:016x} 0x{ts:016x}"
        )
    return lines


def _stack(pid: int, comm: str) -> list[str]:
    """The stack the driver dumps with its first RPC timeout."""
    return [
        f"CPU: 41 PID: {pid} Comm: {comm} Tainted: P           OE     {RELEASE} #115-Ubuntu",
        f"Hardware name: {HARDWARE}",
        "Call Trace:",
        " <TASK>",
        " show_stack+0x52/0x5c",
        " dump_stack_lvl+0x4a/0x63",
        " dump_stack+0x10/0x16",
        " os_dump_stack+0xe/0x14 [nvidia]",
        " _nv012454rm+0x437/0x4b0 [nvidia]",
        " ? entry_SYSCALL_64_after_hwframe+0x67/0xd1",
        " </TASK>",
    ]


def _gsp_timeout(fault: Fault, node: Node, rng: random.Random, run: Run) -> list[Entry]:
    """GSP stops answering RPCs under DCGM: Xid 119 every 6 s, a rate-limit notice, then Xid 154."""
    gpu = _gpu(fault)
    pid = run.pids["nv-hostengine"]
    who = f"pid={pid}, name=nv-hostengine"
    at = run.during(rng, "dcgm", 60)
    out: list[Entry] = []
    for n in range(3):
        fn, name = RPC_FUNCTIONS[n % 2]
        data0, data1 = (0x20801348, 0x8) if fn == 76 else (0x2081 + n, 0x4)
        text = f"Timeout after 6s of waiting for RPC response from GPU{gpu.index} GSP! Expected function {fn} ({name})"
        lines = [_xid(gpu, 119, f"{text} (0x{data0:x} 0x{data1:x}).", who)]
        if n == 0:
            lines += _rpc_history(rng, gpu, (fn, name, data0, data1)) + _stack(pid, "nv-hostengine")
        out += _group(at + 6.0 * n, lines, 0.000011)
    notice = [
        f"NVRM: Rate limiting GSP RPC error prints for GPU at PCI:{_xid_bdf(gpu)} (printing 1 of every 30).  "
        "The GPU likely needs to be reset.",
        _xid(gpu, 154, "GPU recovery action changed from 0x0 (None) to 0x1 (GPU Reset Required)"),
    ]
    out += _group(at + 18.0 + rng.uniform(0, 0.5), notice, 0.0012)
    for step in rng.sample(STEPS[1:], rng.randint(0, 2)):
        late = f"Timeout after 6s of waiting for RPC response from GPU{gpu.index} GSP! Expected function 76"
        out.append(
            (run.during(rng, step), KERNEL, _xid(gpu, 119, f"{late} (GSP_RM_CONTROL) (0x20801348 0x8).", run.job(step)))
        )
    return out


def _hca_failure(fault: Fault, node: Node, rng: random.Random, run: Run) -> list[Entry]:
    """The adapter firmware stops under NCCL traffic: lost heartbeat, health buffer dump, failed recovery."""
    hca = _hca(fault)
    prefix = f"mlx5_core {hca.bdf}: "
    at = run.windows["nccl"][0] + rng.uniform(20, 240)
    health = [
        ("poll_health:801", "device's health compromised - reached miss count"),
        ("print_health_info:431", "Health issue observed, unrecoverable hardware error, severity(2) CRIT:"),
    ]
    health += [("print_health_info:435", f"assert_var[{n}] 0x{rng.getrandbits(32):08x}") for n in range(5)]
    health += [
        ("print_health_info:438", f"assert_exit_ptr 0x{rng.getrandbits(24):08x}"),
        ("print_health_info:440", f"assert_callra 0x{rng.getrandbits(24):08x}"),
        ("print_health_info:443", f"fw_ver {HCA_FW}"),
        ("print_health_info:445", f"time {_epoch(node.timeline.boot) + int(at)}"),
        ("print_health_info:446", "hw_id 0x00000218"),
        ("print_health_info:447", "rfr 0"),
        ("print_health_info:448", "severity 2 (CRIT)"),
        ("print_health_info:449", "irisc_index 0"),
        ("print_health_info:450", "synd 0x8: unrecoverable hardware error"),
        ("print_health_info:452", f"ext_synd 0x{rng.getrandbits(16):04x}"),
        ("print_health_info:453", "raw fw_ver 0x1c2703ea"),
    ]
    worker = rng.randint(900, 1900)
    recovery = [
        ("mlx5_health_try_recover:376", "handling bad device here"),
        ("mlx5_error_sw_reset:232", "start"),
        ("mlx5_error_sw_reset:265", "end"),
        ("mlx5_health_try_recover:385", "starting health recovery flow"),
        ("mlx5_health_try_recover:388", "health recovery failed"),
    ]
    dump = [f"{prefix}{where}:(pid 0): {text}" for where, text in health]
    recover = [f"{prefix}{where}:(pid {worker}): {text}" for where, text in recovery]
    down = [
        (at + 0.9, KERNEL, f"mlx5_core {hca.bdf} {hca.netdev}: Link down"),
        (at + 0.9021, DAEMON, f"{NETWORKD}: {hca.netdev}: Lost carrier"),
    ]
    return (
        _group(at, dump, 0.000031) + _group(at + 0.35, recover[:3], 0.21) + _group(at + 62.0, recover[3:], 5.3) + down
    )


def _dimm_uncorrectable(fault: Fault, node: Node, rng: random.Random, run: Run) -> list[Entry]:
    """A few corrected errors on one DIMM, then an uncorrectable one under HPL."""
    dimm = _dimm(fault)
    out = []
    for at in sorted(
        rng.uniform(run.windows["dcgm"][0], run.windows["hpl"][0] + 300) for _ in range(rng.randint(2, 4))
    ):
        lines = ["mce: [Hardware Error]: Machine check events logged", _edac_line(dimm, rng, corrected=True)]
        out += _group(at, lines, 0.00031)
    page = rng.randrange(0x100000, 0x3FFFFFF)
    lines = [
        "mce: [Hardware Error]: Machine check events logged",
        _edac_line(dimm, rng, corrected=False, page=page),
        f"Memory failure: 0x{page:x}: recovery action for dirty LRU page: Recovered",
    ]
    return out + _group(run.during(rng, "hpl", 120), lines, 0.00027)


def _edac_line(dimm: Dimm, rng: random.Random, corrected: bool, page: int | None = None) -> str:
    """One i10nm_edac report, decoded to the DIMM (ADXL fields)."""
    mc = dimm.socket * 4 + dimm.mc
    page = page if page is not None else rng.randrange(0x100000, 0x3FFFFFF)
    offset = rng.randrange(0, 0x1000, 0x40)
    address = page << 12 | offset
    kind, code, syndrome = ("CE", "0x0101:0x0091", " syndrome:0x0") if corrected else ("UE", "0x00a0:0x0090", "")
    return (
        f"EDAC MC{mc}: 1 {kind} memory read error on {dimm.label} (channel:{dimm.channel} slot:{dimm.slot} "
        f"page:0x{page:x} offset:0x{offset:x} grain:32{syndrome} -  err_code:{code}  SystemAddress:0x{address:x} "
        f"ProcessorSocketId:0x{dimm.socket:x} MemoryControllerId:0x{dimm.mc:x} ChannelAddress:0x{address >> 3:x} "
        f"ChannelId:0x{dimm.channel:x} RankAddress:0x{address >> 5:x} PhysicalRankId:0x{rng.randrange(2):x} "
        f"DimmSlotId:0x{dimm.slot:x} Row:0x{rng.randrange(0x20000):x} Column:0x{rng.randrange(0x400, 0x800, 8):x} "
        f"Bank:0x{rng.randrange(4):x} BankGroup:0x{rng.randrange(8):x} ChipSelect:0x{rng.randrange(2):x} ChipId:0x0)"
    )


def _pcie_downtrained(fault: Fault, node: Node, rng: random.Random, run: Run) -> list[Entry]:
    """The low link shows at enumeration (see `_downtrained`); under host traffic its port logs bursts of replays."""
    port = _gpu(fault).root_port
    start, end = run.windows["hpl"][0] + 60, run.ib_after - 60
    times = sorted(rng.uniform(start, end) for _ in range(rng.randint(104, 125)))
    return [entry for at in times for entry in _aer_corrected(rng, port, at, rng.random() < 0.25)]


def _nvswitch_fatal(fault: Fault, node: Node, rng: random.Random, run: Run) -> list[Entry]:
    """A fatal SXid on NVSwitch ports under NCCL, and the GPUs on the other end of the links see Xid 74."""
    switch = _nvswitch(fault)
    at = run.during(rng, "nccl", 60)
    name = f"nvidia-nvswitch{switch.index}: SXid (PCI:{switch.bdf}): 20034"
    data = "Data {0x10000000, 0x10000000, 0x00000000, 0x10000000, " + ", ".join(["0x00000000"] * 5) + "}"
    lines = []
    for link in sorted(rng.sample(range(64), rng.randint(1, 2))):
        lines += [
            f"{name}, Fatal, Link {link} LTSSM Fault Up",
            f"{name}, Severity 1 Engine instance {link:02d} Sub-engine instance 00",
            f"{name}, {data}",
        ]
    gpus = sorted(rng.sample(node.gpus, rng.randint(2, 4)), key=lambda gpu: gpu.index)
    nvlink = [
        _xid(
            gpu, 74, f"NVLink: fatal error detected on link {rng.randrange(18)}(0x0, 0x0, 0x10000, 0x0, 0x0, 0x0, 0x0)"
        )
        for gpu in gpus
    ]
    return _group(at, lines, 0.0013) + _group(at + rng.uniform(0.05, 0.4), nvlink, 0.0007)


def _driver_mismatch(fault: Fault, node: Node, rng: random.Random, run: Run) -> list[Entry]:
    """Every CUDA/NVML client of the old user-space driver is refused by the kernel module."""
    mismatch = [
        f"NVRM: API mismatch: the client has the version {CLIENT_DRIVER}, but",
        f"NVRM: this kernel module has the version {node.driver}.  Please",
        "NVRM: make sure that this kernel module and all NVIDIA driver",
        "NVRM: components have the same version.",
    ]
    clients = [rng.uniform(20, 30)] + [run.windows[step][0] + rng.uniform(1, 8) for step in STEPS]
    clients.append(run.end - rng.uniform(20, 50))
    return [entry for at in clients for entry in _group(at, mismatch, 0.000006)]


def _application_error(fault: Fault, node: Node, rng: random.Random, run: Run) -> list[Entry]:
    """A user job faulting on one GPU, again and again, and crashing inside libcuda once."""
    gpu = _gpu(fault)
    out = []
    start, end = run.windows["nccl"][0] + 30, run.ib_after - 30
    count = rng.randint(3, 6)
    times = sorted(rng.uniform(start, end) for _ in range(count))
    pids = sorted(rng.sample(range(20000, 60000), count))
    for n, (at, pid) in enumerate(zip(times, pids, strict=True)):
        who = f"pid={pid}, name=python3"
        channel = rng.randrange(8, 0x40)
        lines = [
            _xid(gpu, 31, _mmu_fault(rng, channel), who),
            _xid(gpu, 43, f"Ch {channel:08x}", who),
        ]
        if n == 0:
            lines += _segfault(rng, pid)
        out += _group(at, lines, 0.1337)
    return out


def _mmu_fault(rng: random.Random, channel: int) -> str:
    """The text of an Xid 31 MMU fault."""
    address = f"0x{rng.getrandbits(16):x}_{rng.getrandbits(32) & ~0xFFF:08x}"
    return (
        f"channel 0x{channel:08x}, intr 00000000. MMU Fault: ENGINE GRAPHICS GPCCLIENT_T1_{rng.randrange(16)} "
        f"faulted @ {address}. Fault is of type FAULT_PDE ACCESS_TYPE_VIRT_READ"
    )


def _segfault(rng: random.Random, pid: int) -> list[str]:
    """A process dying inside libcuda, with the code bytes the kernel prints."""
    base = 0x7F0000000000 + (rng.getrandbits(28) << 12)
    ip = base + rng.randrange(0x100000, 0x1E00000)
    code = " ".join(f"{rng.getrandbits(8):02x}" for _ in range(42))
    return [
        f"python3[{pid}]: segfault at 0 ip {ip:016x} sp 00007ffd{rng.getrandbits(28) << 4:08x} error 4 in "
        f"libcuda.so.550.54.15[{base:x}+1e8b000]",
        f"Code: {code} <8b> 07 48 85 c0 74 0b 48 83 c4 08 5b 5d c3 0f 1f 40 00",
    ]


FAULTS: dict[str, Callable[[Fault, Node, random.Random, Run], list[Entry]]] = {
    "gpu_fallen_off_bus": _fallen_off_bus,
    "gpu_diag_failure": _diag_failure,
    "hbm_remap_failure": _remap_failure,
    "hbm_remap_pending": _remap_pending,
    "ib_cable": _ib_cable,
    "gsp_timeout": _gsp_timeout,
    "hca_failure": _hca_failure,
    "dimm_uncorrectable": _dimm_uncorrectable,
    "pcie_downtrained": _pcie_downtrained,
    "nvswitch_fatal": _nvswitch_fatal,
    "driver_mismatch": _driver_mismatch,
    "application_error": _application_error,
}


def _gpu(fault: Fault) -> Gpu:
    assert isinstance(fault.target, Gpu), fault
    return fault.target


def _hca(fault: Fault) -> Hca:
    assert isinstance(fault.target, Hca), fault
    return fault.target


def _nvswitch(fault: Fault) -> NvSwitch:
    assert isinstance(fault.target, NvSwitch), fault
    return fault.target


def _dimm(fault: Fault) -> Dimm:
    assert isinstance(fault.target, Dimm), fault
    return fault.target


# ------------------------------------------------------------------------------------- benign noise
def _app_xid(node: Node, rng: random.Random, run: Run) -> list[Entry]:
    """One Xid 13, 31 or 43 of a test process: an application fault, not the GPU's."""
    gpu, step = rng.choice(node.gpus), rng.choice(["nccl", "hpl"])
    code = rng.choice([13, 31, 43])
    channel = rng.randrange(8, 0x40)
    text = {
        13: f"Graphics SM Warp Exception on (GPC {rng.randrange(8)}, TPC {rng.randrange(9)}, SM {rng.randrange(2)}): "
        "Out Of Range Address",
        31: _mmu_fault(rng, channel),
        43: f"Ch {channel:08x}",
    }[code]
    return [(run.during(rng, step), KERNEL, _xid(gpu, code, text, run.job(step)))]


def _aer_noise(node: Node, rng: random.Random, run: Run) -> list[Entry]:
    """Two or three corrected AER events on one root port over the whole run."""
    port = rng.choice(sorted({gpu.root_port for gpu in node.gpus}))
    times = sorted(rng.uniform(120, run.end - 60) for _ in range(rng.randint(2, 3)))
    return [entry for at in times for entry in _aer_corrected(rng, port, at, False)]


def _access_reg(node: Node, rng: random.Random, run: Run) -> list[Entry]:
    """A counter reader at boot asking restricted registers of a few HCAs."""
    pid = rng.randint(3300, 4200)
    hcas = sorted(rng.sample(node.hcas, rng.randint(2, 4)), key=lambda hca: hca.index)
    at = rng.uniform(30, 60)
    lines = [
        f"mlx5_core {hca.bdf}: mlx5_cmd_out_err:838:(pid {pid}): ACCESS_REG(0x805) op_mod(0x1) failed, "
        f"status bad parameter(0x3), syndrome (0x{rng.getrandbits(24):06x}), err(-22)"
        for hca in hcas
    ]
    return _group(at, lines, 0.0031)


NOISE: dict[str, Callable[[Node, random.Random, Run], list[Entry]]] = {
    "app_xid": _app_xid,
    "aer_corrected": _aer_noise,
    "access_reg": _access_reg,
}


# ------------------------------------------------------------------------------------- boots and layouts
@dataclass(frozen=True)
class Boot:
    """One boot in the log: when it started, its journal id, and its lines in order."""

    at: datetime
    boot_id: str
    entries: list[Entry]


def _boots(node: Node, rng: random.Random) -> list[Boot]:
    """The boots the log spans: the burn-in boot, after an earlier one when the node got the reboot noise."""
    machine = _machine(node, rng)
    run = Run.of(node, rng)
    entries = _boot(node, rng, machine, node.timeline.boot) + _runtime(rng, run)
    for fault in node.faults:
        if fault.kind in FAULTS:
            entries += FAULTS[fault.kind](fault, node, rng, run)
    for kind in node.noise:
        if kind in NOISE:
            entries += NOISE[kind](node, rng, run)
    entries.sort(key=_uptime)
    boots = [Boot(node.timeline.boot, rng.getrandbits(128).to_bytes(16).hex(), entries)]
    if node.has_noise("reboot"):
        boots.insert(0, _previous(node, rng, machine))
    return boots


def _previous(node: Node, rng: random.Random, machine: dict[str, str]) -> Boot:
    """The boot before the burn-in one: a few hours of idle chatter, then a clean reboot."""
    life = rng.uniform(3, 9) * 3600
    at = node.timeline.boot - timedelta(seconds=round(life))
    entries = _boot(node, rng, machine, at)
    for n in range(rng.randint(1, 3)):
        start = rng.uniform(600, life / 2)
        entries += _container(rng, start, start + rng.uniform(300, 1800), n == 0)
    shutdown = life - rng.uniform(240, 420)
    entries += _group(shutdown, _SHUTDOWN, 0.0137, RING)
    entries.sort(key=_uptime)
    return Boot(at, rng.getrandbits(128).to_bytes(16).hex(), entries)


def _uptime(entry: Entry) -> float:
    return entry[0]


class _Clock:
    """Wall-clock stamps of one boot's uptimes, formatted once per second."""

    def __init__(self, boot: datetime, style: Callable[[time.struct_time], str]) -> None:
        self._epoch = _epoch(boot)
        self._style = style
        self._cache: dict[int, str] = {}

    def __call__(self, uptime: float) -> str:
        second = self._epoch + int(uptime)
        stamp = self._cache.get(second)
        if stamp is None:
            stamp = self._cache[second] = self._style(time.gmtime(second))
        return stamp


def _ctime(tm: time.struct_time) -> str:
    return f"{DAYS[tm.tm_wday]} {_bsd(tm)} {tm.tm_year}"


def _iso(tm: time.struct_time) -> str:
    return f"{tm.tm_year}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}+0000"


def _bsd(tm: time.struct_time) -> str:
    return f"{MONTHS[tm.tm_mon]} {tm.tm_mday:2d} {tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}"


def _dmesg(host: str, boot: Boot) -> list[str]:
    return [f"[{t:12.6f}] {text}" for t, channel, text in boot.entries if channel != DAEMON]


def _dmesg_ctime(host: str, boot: Boot) -> list[str]:
    clock = _Clock(boot.at, _ctime)
    return [f"[{clock(t)}] {text}" for t, channel, text in boot.entries if channel != DAEMON]


def _journal(host: str, boot: Boot) -> list[str]:
    clock = _Clock(boot.at, _iso)
    ident = {KERNEL: f" {host} kernel: ", KMSG: f" {host} "}
    return [f"{clock(t)}{ident[channel]}{text}" for t, channel, text in boot.entries if channel in ident]


def _syslog(host: str, boot: Boot) -> list[str]:
    clock = _Clock(boot.at, _bsd)
    return [
        f"{clock(t)} {host} kernel: [{t:12.6f}] {text}" if channel == KERNEL else f"{clock(t)} {host} {text}"
        for t, channel, text in boot.entries
        if channel != RING
    ]


LAYOUTS: dict[str, Callable[[str, Boot], list[str]]] = {
    "dmesg": _dmesg,
    "dmesg_ctime": _dmesg_ctime,
    "journal_short_iso": _journal,
    "syslog": _syslog,
}


def render(node: Node, layout: str) -> bytes:
    """The node's kernel log in `layout`."""
    lines: list[str] = []
    for n, boot in enumerate(_boots(node, node.rng("kernel"))):
        if n and layout == "journal_short_iso":
            lines.append(f"-- Boot {boot.boot_id} --")
        lines += LAYOUTS[layout](node.host, boot)
    return ("\n".join(lines) + "\n").encode()


def write(node: Node) -> dict[str, bytes]:
    """The node's kernel log in its layout: relative path -> content."""
    layout = node.formats["kernel"]
    return {FILES[layout]: render(node, layout)}


def _epoch(moment: datetime) -> int:
    """Seconds since 1970 of a naive UTC time."""
    return calendar.timegm(moment.timetuple())


def _uuid(rng: random.Random) -> str:
    text = f"{rng.getrandbits(128):032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
