"""nvidia-smi dumps for the parse benchmark: whole 8-GPU H100 `-q` text and `-q -x` XML, the table and CSV.

Per node: `nvidia-smi-q.txt` (driver 535 layout, every section, ~205 lines per GPU),
`nvidia-smi-q.xml` (schema v12, with the supported-clocks lists that make real XML dumps large),
`nvidia-smi.txt` (the default box) and `gpus.csv` (`--query-gpu` with a header row). Values vary per
GPU (temperatures, power, replay counters, a few ECC and remapped-row counts). `scale` multiplies
the nodes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

NODES_PER_SCALE = 8
BUSES = ["19", "3B", "4C", "5D", "9B", "BB", "CB", "DB"]
DRIVER = "535.161.08"
STAMP = "Tue Apr  9 14:02:31 2024"


@dataclass
class Gpu:
    """The values of one generated GPU."""

    index: int
    bus: str
    serial: str
    uuid: str
    temp: int
    mem_temp: int
    power: float
    replays: int
    sram_corr: int
    dram_corr: int
    dram_unc: int
    remapped_unc: int
    used_mib: int
    sm_clock: int


def make(scale: int = 1) -> list[tuple[str, bytes]]:
    """Files (name, content) for `NODES_PER_SCALE * scale` nodes; deterministic."""
    files = []
    for node in range(NODES_PER_SCALE * scale):
        host = f"gpu-node{node:04d}"
        gpus = _gpus(random.Random(node), node)
        files.append((f"{host}/nvidia-smi-q.txt", _query_text(gpus).encode()))
        files.append((f"{host}/nvidia-smi-q.xml", _query_xml(gpus).encode()))
        files.append((f"{host}/nvidia-smi.txt", _table(gpus).encode()))
        files.append((f"{host}/gpus.csv", _csv(gpus).encode()))
    return files


def _gpus(rng: random.Random, node: int) -> list[Gpu]:
    out = []
    for i, bus in enumerate(BUSES):
        faulty = rng.random() < 0.05
        out.append(
            Gpu(
                index=i,
                bus=bus,
                serial=f"16501240{node:03d}{i:02d}",
                uuid=f"GPU-{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-{rng.getrandbits(16):04x}-"
                f"{rng.getrandbits(16):04x}-{rng.getrandbits(48):012x}",
                temp=rng.randint(28, 41),
                mem_temp=rng.randint(34, 48),
                power=round(rng.uniform(68.0, 121.0), 2),
                replays=rng.randint(0, 90),
                sram_corr=rng.randint(0, 3) if faulty else 0,
                dram_corr=rng.randint(1, 400) if faulty else 0,
                dram_unc=rng.randint(1, 4) if faulty else 0,
                remapped_unc=rng.randint(1, 4) if faulty else 0,
                used_mib=rng.choice([0, 0, 0, 78211]),
                sm_clock=rng.choice([345, 1980]),
            )
        )
    return out


_GPU_TEXT = """\
GPU 00000000:{bus}:00.0
    Product Name                          : NVIDIA H100 80GB HBM3
    Product Brand                         : NVIDIA
    Product Architecture                  : Hopper
    Display Mode                          : Disabled
    Display Active                        : Disabled
    Persistence Mode                      : Enabled
    Addressing Mode                       : None
    MIG Mode
        Current                           : Disabled
        Pending                           : Disabled
    Accounting Mode                       : Disabled
    Accounting Mode Buffer Size           : 4000
    Driver Model
        Current                           : N/A
        Pending                           : N/A
    Serial Number                         : {serial}
    GPU UUID                              : {uuid}
    Minor Number                          : {index}
    VBIOS Version                         : 96.00.74.00.0D
    MultiGPU Board                        : No
    Board ID                              : 0x{bus_lower}00
    Board Part Number                     : 692-2G520-0200-000
    GPU Part Number                       : 2330-885-A1
    FRU Part Number                       : N/A
    Module ID                             : {module}
    Inforom Version
        Image Version                     : G520.0200.00.05
        OEM Object                        : 2.1
        ECC Object                        : 7.16
        Power Management Object           : N/A
    GPU Operation Mode
        Current                           : N/A
        Pending                           : N/A
    GSP Firmware Version                  : {driver}
    GPU Reset Status
        Reset Required                    : No
        Drain and Reset Recommended       : No
    PCI
        Bus                               : 0x{bus}
        Device                            : 0x00
        Domain                            : 0x0000
        Device Id                         : 0x233010DE
        Bus Id                            : 00000000:{bus}:00.0
        Sub System Id                     : 0x16C110DE
        GPU Link Info
            PCIe Generation
                Max                       : 5
                Current                   : 5
                Device Current            : 5
                Device Max                : 5
                Host Max                  : 5
            Link Width
                Max                       : 16x
                Current                   : 16x
        Bridge Chip
            Type                          : N/A
            Firmware                      : N/A
        Replays Since Reset               : {replays}
        Replay Number Rollovers           : 0
        Tx Throughput                     : 712 KB/s
        Rx Throughput                     : 604 KB/s
    Fan Speed                             : N/A
    Performance State                     : P0
    Clocks Event Reasons
        Idle                              : {idle}
        Applications Clocks Setting       : Not Active
        SW Power Cap                      : Not Active
        HW Slowdown                       : Not Active
            HW Thermal Slowdown           : Not Active
            HW Power Brake Slowdown       : Not Active
        Sync Boost                        : Not Active
        SW Thermal Slowdown               : Not Active
        Display Clock Setting             : Not Active
    FB Memory Usage
        Total                             : 81559 MiB
        Reserved                          : 551 MiB
        Used                              : {used_mib} MiB
        Free                              : {free_mib} MiB
    BAR1 Memory Usage
        Total                             : 131072 MiB
        Used                              : 1 MiB
        Free                              : 131071 MiB
    Compute Mode                          : Default
    Utilization
        Gpu                               : 0 %
        Memory                            : 0 %
        Encoder                           : 0 %
        Decoder                           : 0 %
    ECC Mode
        Current                           : Enabled
        Pending                           : Enabled
    ECC Errors
        Volatile
            SRAM Correctable              : {sram_corr}
            SRAM Uncorrectable Parity     : 0
            SRAM Uncorrectable SEC-DED    : 0
            DRAM Correctable              : {dram_corr}
            DRAM Uncorrectable            : {dram_unc}
        Aggregate
            SRAM Correctable              : {sram_corr}
            SRAM Uncorrectable Parity     : 0
            SRAM Uncorrectable SEC-DED    : 0
            DRAM Correctable              : {dram_corr}
            DRAM Uncorrectable            : {dram_unc}
            SRAM Threshold Exceeded       : No
        Aggregate Uncorrectable SRAM Sources
            SRAM L2                       : 0
            SRAM SM                       : 0
            SRAM Microcontroller          : 0
            SRAM PCIE                     : 0
            SRAM Other                    : 0
    Retired Pages
        Single Bit ECC                    : N/A
        Double Bit ECC                    : N/A
        Pending Page Blacklist            : N/A
    Remapped Rows
        Correctable Error                 : 0
        Uncorrectable Error               : {remapped_unc}
        Pending                           : {remap_pending}
        Remapping Failure Occurred        : No
        Bank Remap Availability Histogram
            Max                           : {banks_max} bank(s)
            High                          : {remapped_unc} bank(s)
            Partial                       : 0 bank(s)
            Low                           : 0 bank(s)
            None                          : 0 bank(s)
    Temperature
        GPU Current Temp                  : {temp} C
        GPU T.Limit Temp                  : {tlimit} C
        GPU Shutdown T.Limit Temp         : -8 C
        GPU Slowdown T.Limit Temp         : -2 C
        GPU Max Operating T.Limit Temp    : 0 C
        GPU Target Temperature            : N/A
        Memory Current Temp               : {mem_temp} C
        Memory Max Operating T.Limit Temp : 0 C
    GPU Power Readings
        Power Draw                        : {power:.2f} W
        Current Power Limit               : 700.00 W
        Requested Power Limit             : 700.00 W
        Default Power Limit               : 700.00 W
        Min Power Limit                   : 200.00 W
        Max Power Limit                   : 700.00 W
    Clocks
        Graphics                          : {sm_clock} MHz
        SM                                : {sm_clock} MHz
        Memory                            : 2619 MHz
        Video                             : 765 MHz
    Max Clocks
        Graphics                          : 1980 MHz
        SM                                : 1980 MHz
        Memory                            : 2619 MHz
        Video                             : 1545 MHz
    Voltage
        Graphics                          : 670.000 mV
    Fabric
        State                             : Completed
        Status                            : Success
    Processes                             : None

"""

_GPU_XML_HEAD = """\
	<gpu id="00000000:{bus}:00.0">
		<product_name>NVIDIA H100 80GB HBM3</product_name>
		<product_brand>NVIDIA</product_brand>
		<product_architecture>Hopper</product_architecture>
		<persistence_mode>Enabled</persistence_mode>
		<serial>{serial}</serial>
		<uuid>{uuid}</uuid>
		<minor_number>{index}</minor_number>
		<vbios_version>96.00.74.00.0D</vbios_version>
		<board_part_number>692-2G520-0200-000</board_part_number>
		<gpu_part_number>2330-885-A1</gpu_part_number>
		<pci>
			<pci_bus_id>00000000:{bus}:00.0</pci_bus_id>
			<pci_gpu_link_info>
				<pcie_gen>
					<max_link_gen>5</max_link_gen>
					<current_link_gen>5</current_link_gen>
					<max_device_link_gen>5</max_device_link_gen>
					<max_host_link_gen>5</max_host_link_gen>
				</pcie_gen>
				<link_widths>
					<max_link_width>16x</max_link_width>
					<current_link_width>16x</current_link_width>
				</link_widths>
			</pci_gpu_link_info>
			<replay_counter>{replays}</replay_counter>
			<replay_rollover_counter>0</replay_rollover_counter>
		</pci>
		<clocks_event_reasons>
{reasons}		</clocks_event_reasons>
		<fb_memory_usage>
			<total>81559 MiB</total>
			<reserved>551 MiB</reserved>
			<used>{used_mib} MiB</used>
			<free>{free_mib} MiB</free>
		</fb_memory_usage>
		<ecc_mode>
			<current_ecc>Enabled</current_ecc>
			<pending_ecc>Enabled</pending_ecc>
		</ecc_mode>
		<ecc_errors>
			<volatile>
				<sram_correctable>{sram_corr}</sram_correctable>
				<sram_uncorrectable_parity>0</sram_uncorrectable_parity>
				<sram_uncorrectable_secded>0</sram_uncorrectable_secded>
				<dram_correctable>{dram_corr}</dram_correctable>
				<dram_uncorrectable>{dram_unc}</dram_uncorrectable>
			</volatile>
			<aggregate>
				<sram_correctable>{sram_corr}</sram_correctable>
				<sram_uncorrectable_parity>0</sram_uncorrectable_parity>
				<sram_uncorrectable_secded>0</sram_uncorrectable_secded>
				<dram_correctable>{dram_corr}</dram_correctable>
				<dram_uncorrectable>{dram_unc}</dram_uncorrectable>
				<sram_threshold_exceeded>No</sram_threshold_exceeded>
			</aggregate>
		</ecc_errors>
		<remapped_rows>
			<remapped_row_corr>0</remapped_row_corr>
			<remapped_row_unc>{remapped_unc}</remapped_row_unc>
			<remapped_row_pending>{remap_pending}</remapped_row_pending>
			<remapped_row_failure>No</remapped_row_failure>
		</remapped_rows>
		<temperature>
			<gpu_temp>{temp} C</gpu_temp>
			<gpu_temp_tlimit>{tlimit} C</gpu_temp_tlimit>
			<memory_temp>{mem_temp} C</memory_temp>
		</temperature>
		<gpu_power_readings>
			<power_draw>{power:.2f} W</power_draw>
			<current_power_limit>700.00 W</current_power_limit>
		</gpu_power_readings>
		<clocks>
			<graphics_clock>{sm_clock} MHz</graphics_clock>
			<sm_clock>{sm_clock} MHz</sm_clock>
			<mem_clock>2619 MHz</mem_clock>
		</clocks>
		<supported_clocks>
			<supported_mem_clock>
				<value>2619 MHz</value>
"""

_GPU_XML_TAIL = """\
			</supported_mem_clock>
		</supported_clocks>
		<processes>
		</processes>
	</gpu>
"""


_REASONS = "applications_clocks_setting sw_power_cap hw_slowdown hw_thermal_slowdown hw_power_brake_slowdown sync_boost"
_REASONS += " sw_thermal_slowdown display_clocks_setting"


def _fields(g: Gpu) -> dict[str, object]:
    """The template fields of one GPU."""
    idle = "Active" if g.sm_clock == 345 else "Not Active"
    states = [("gpu_idle", idle)] + [(reason, "Not Active") for reason in _REASONS.split()]
    return {
        **vars(g),
        "bus_lower": g.bus.lower(),
        "module": g.index + 1,
        "driver": DRIVER,
        "idle": idle,
        "reasons": "".join(f"\t\t\t<clocks_event_reason_{r}>{v}</clocks_event_reason_{r}>\n" for r, v in states),
        "free_mib": 81008 - g.used_mib,
        "remap_pending": "Yes" if g.remapped_unc else "No",
        "banks_max": 2560 - g.remapped_unc,
        "tlimit": 87 - g.temp,
    }


def _query_text(gpus: list[Gpu]) -> str:
    head = f"""\
==============NVSMI LOG==============

Timestamp                                 : {STAMP}
Driver Version                            : {DRIVER}
CUDA Version                              : 12.2

Attached GPUs                             : {len(gpus)}
"""
    return head + "".join(_GPU_TEXT.format(**_fields(g)) for g in gpus)


def _query_xml(gpus: list[Gpu]) -> str:
    head = f"""\
<?xml version="1.0" ?>
<!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v12.dtd">
<nvidia_smi_log>
	<timestamp>{STAMP}</timestamp>
	<driver_version>{DRIVER}</driver_version>
	<cuda_version>12.2</cuda_version>
	<attached_gpus>{len(gpus)}</attached_gpus>
"""
    clocks = "".join(
        f"\t\t\t\t<supported_graphics_clock>{mhz} MHz</supported_graphics_clock>\n" for mhz in range(1980, 330, -15)
    )
    body = "".join(_GPU_XML_HEAD.format(**_fields(g)) + clocks + _GPU_XML_TAIL for g in gpus)
    return head + body + "</nvidia_smi_log>\n"


def _table(gpus: list[Gpu]) -> str:
    rule = "+-----------------------------------------+----------------------+----------------------+"
    lines = [
        STAMP,
        "+---------------------------------------------------------------------------------------+",
        f"| NVIDIA-SMI {DRIVER}             Driver Version: {DRIVER}   CUDA Version: 12.2     |",
        "|-----------------------------------------+----------------------+----------------------+",
        "| GPU  Name                 Persistence-M | Bus-Id        Disp.A | Volatile Uncorr. ECC |",
        "| Fan  Temp   Perf          Pwr:Usage/Cap |         Memory-Usage | GPU-Util  Compute M. |",
        "|                                         |                      |               MIG M. |",
        "|=========================================+======================+======================|",
    ]
    for g in gpus:
        memory = f"{g.used_mib}MiB / 81559MiB"
        lines += [
            f"| {g.index:>3}  NVIDIA H100 80GB HBM3          On  | 00000000:{g.bus}:00.0 Off | {g.dram_unc:>20} |",
            f"| N/A   {g.temp}C    P0 {round(g.power):>15}W / 700W | {memory:>20} | {0:>6}%      Default |",
            "|                                         |                      |             Disabled |",
            rule,
        ]
    return "\n".join(lines) + "\n"


def _csv(gpus: list[Gpu]) -> str:
    header = "index, pci.bus_id, serial, uuid, name, temperature.gpu, power.draw [W], memory.used [MiB], "
    header += "ecc.errors.uncorrected.volatile.total, remapped_rows.pending"
    rows = [
        f"{g.index}, 00000000:{g.bus}:00.0, {g.serial}, {g.uuid}, NVIDIA H100 80GB HBM3, {g.temp}, {g.power:.2f} W, "
        f"{g.used_mib} MiB, {g.dram_unc}, {'Yes' if g.remapped_unc else 'No'}"
        for g in gpus
    ]
    return "\n".join([header, *rows]) + "\n"
