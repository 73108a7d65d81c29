"""`nvidia-smi -q` of a node's 8 H100 GPUs, taken when the bundle was collected (`timeline.collected`).

Layouts (node.formats["nvidia_smi"]):
  text  `nvidia-smi -q` (`nvidia-smi-q.txt`), laid out as driver 550 prints it for an H100 SXM: identity,
        reset status and GPU Recovery Action, PCI with link generation/width and replays, clocks event
        reasons, memory, ECC (SRAM/DRAM, volatile and aggregate), remapped rows with the bank remap
        availability histogram, T.Limit temperatures, power, clocks, fabric and processes
  xml   `nvidia-smi -q -x` (`nvidia-smi-q.xml`), the same values under the DTD v12 element names

Fault kinds rendered (faults.CHAINS "nvidia_smi"):
  gpu_fallen_off_bus  the GPU's section is missing ("Attached GPUs" still 8); the text dump opens with
                      nvidia-smi's `Unable to determine the device handle for GPU0000:18:00.0: Unknown Error`
  hbm_remap_failure   volatile and aggregate DRAM uncorrectable > 0, uncorrectable remapped rows, one bank
                      without spare rows, Remapping Failure Occurred: Yes
  hbm_remap_pending   DRAM uncorrectable > 0, 1-2 uncorrectable remapped rows, Pending: Yes
  gsp_timeout         Reset Required: Yes, GPU Recovery Action: Reset
  pcie_downtrained    link width 8x of 16x or generation 3 of 5, hundreds of replays
  gpu_thermal         HW (thermal) and SW thermal slowdown Active, 86-90 C at the slowdown T.Limit, clocks cut
  driver_mismatch     the whole file is NVML's `Failed to initialize NVML: Driver/library version mismatch`
No noise kind shows here: healthy GPUs idle at 30-45 C and 70-120 W with zero ECC counts and no remaps.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from fleetgen.model import Gpu, Node

TEXT_FILE, XML_FILE = "nvidia-smi-q.txt", "nvidia-smi-q.xml"
MISMATCH = b"Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 535.129\n"
BANKS = 2560  # H100 80GB HBM3 remap banks
TLIMIT_BASE = 86  # C: GPU temperature at which T.Limit reads 0 (max operating), per board +0..1
SLOWDOWN_TLIMIT = -2  # C: HW slowdown starts this far past T.Limit

Values = dict[str, str]

# ---------------------------------------------------------------------------------------------- templates
# Outlines: one `Key: value` or section `Key` per line, nesting by 4 spaces; `{name}` are per-GPU values.

_TEXT_GPU = """
Product Name: NVIDIA H100 80GB HBM3
Product Brand: NVIDIA
Product Architecture: Hopper
Display Mode: Enabled
Display Active: Disabled
Persistence Mode: Enabled
Addressing Mode: None
MIG Mode
    Current: Disabled
    Pending: Disabled
Accounting Mode: Disabled
Accounting Mode Buffer Size: 4000
Driver Model
    Current: N/A
    Pending: N/A
Serial Number: {serial}
GPU UUID: {uuid}
Minor Number: {minor}
VBIOS Version: 96.00.74.00.01
MultiGPU Board: No
Board ID: {board_id}
Board Part Number: 692-2G520-0200-000
GPU Part Number: 2330-885-A1
FRU Part Number: N/A
Module ID: {module_id}
Inforom Version
    Image Version: G520.0200.00.05
    OEM Object: 2.1
    ECC Object: 7.16
    Power Management Object: N/A
Inforom BBX Object Flush
    Latest Timestamp: {bbx_time}
    Latest Duration: {bbx_duration} us
GPU Operation Mode
    Current: N/A
    Pending: N/A
GPU C2C Mode: N/A
GPU Virtualization Mode
    Virtualization Mode: None
    Host VGPU Mode: N/A
    vGPU Heterogeneous Mode: N/A
GPU Reset Status
    Reset Required: {reset_required}
    Drain and Reset Recommended: No
GPU Recovery Action: {recovery_action}
GSP Firmware Version: {driver}
IBMNPU
    Relaxed Ordering Mode: N/A
PCI
    Bus: 0x{bus}
    Device: 0x00
    Domain: 0x0000
    Base Classcode: 0x3
    Sub Classcode: 0x2
    Device Id: 0x233010DE
    Bus Id: {bus_id}
    Sub System Id: 0x16C110DE
    GPU Link Info
        PCIe Generation
            Max: {gen_max}
            Current: {gen_current}
            Device Current: {gen_current}
            Device Max: {gen_max}
            Host Max: {gen_max}
        Link Width
            Max: {width_max}x
            Current: {width_current}x
    Bridge Chip
        Type: N/A
        Firmware: N/A
    Replays Since Reset: {replays}
    Replay Number Rollovers: 0
    Tx Throughput: {tx} KB/s
    Rx Throughput: {rx} KB/s
    Atomic Caps Outbound: N/A
    Atomic Caps Inbound: N/A
Fan Speed: N/A
Performance State: P0
Clocks Event Reasons
    Idle: {idle}
    Applications Clocks Setting: Not Active
    SW Power Cap: Not Active
    HW Slowdown: {hw_slowdown}
        HW Thermal Slowdown: {hw_thermal}
        HW Power Brake Slowdown: Not Active
    Sync Boost: Not Active
    SW Thermal Slowdown: {sw_thermal}
    Display Clock Setting: Not Active
Sparse Operation Mode: Disabled
FB Memory Usage
    Total: 81559 MiB
    Reserved: 551 MiB
    Used: {fb_used} MiB
    Free: {fb_free} MiB
BAR1 Memory Usage
    Total: 131072 MiB
    Used: 1 MiB
    Free: 131071 MiB
Conf Compute Protected Memory Usage
    Total: 0 MiB
    Used: 0 MiB
    Free: 0 MiB
Compute Mode: Default
Utilization
    Gpu: 0 %
    Memory: 0 %
    Encoder: 0 %
    Decoder: 0 %
    JPEG: 0 %
    OFA: 0 %
Encoder Stats
    Active Sessions: 0
    Average FPS: 0
    Average Latency: 0
FBC Stats
    Active Sessions: 0
    Average FPS: 0
    Average Latency: 0
ECC Mode
    Current: Enabled
    Pending: Enabled
ECC Errors
    Volatile
        SRAM Correctable: 0
        SRAM Uncorrectable Parity: 0
        SRAM Uncorrectable SEC-DED: 0
        DRAM Correctable: {vol_dram_ce}
        DRAM Uncorrectable: {vol_dram_ue}
    Aggregate
        SRAM Correctable: 0
        SRAM Uncorrectable Parity: 0
        SRAM Uncorrectable SEC-DED: 0
        DRAM Correctable: {agg_dram_ce}
        DRAM Uncorrectable: {agg_dram_ue}
        SRAM Threshold Exceeded: No
    Aggregate Uncorrectable SRAM Sources
        SRAM L2: 0
        SRAM SM: 0
        SRAM Microcontroller: 0
        SRAM PCIE: 0
        SRAM Other: 0
Retired Pages
    Single Bit ECC: N/A
    Double Bit ECC: N/A
    Pending Page Blacklist: N/A
Remapped Rows
    Correctable Error: {remap_ce}
    Uncorrectable Error: {remap_ue}
    Pending: {remap_pending}
    Remapping Failure Occurred: {remap_failure}
    Bank Remap Availability Histogram
        Max: {banks_max} bank(s)
        High: {banks_high} bank(s)
        Partial: {banks_partial} bank(s)
        Low: {banks_low} bank(s)
        None: {banks_none} bank(s)
Temperature
    GPU Current Temp: {temp} C
    GPU T.Limit Temp: {tlimit} C
    GPU Shutdown T.Limit Temp: -8 C
    GPU Slowdown T.Limit Temp: -2 C
    GPU Max Operating T.Limit Temp: 0 C
    GPU Target Temperature: N/A
    Memory Current Temp: {mem_temp} C
    Memory Max Operating T.Limit Temp: 0 C
GPU Power Readings
    Power Draw: {power} W
    Current Power Limit: 700.00 W
    Requested Power Limit: 700.00 W
    Default Power Limit: 700.00 W
    Min Power Limit: 200.00 W
    Max Power Limit: 700.00 W
Module Power Readings
    Power Draw: N/A
    Current Power Limit: N/A
    Requested Power Limit: N/A
    Default Power Limit: N/A
    Min Power Limit: N/A
    Max Power Limit: N/A
Clocks
    Graphics: {clock_sm} MHz
    SM: {clock_sm} MHz
    Memory: 2619 MHz
    Video: {clock_video} MHz
Applications Clocks
    Graphics: 1980 MHz
    Memory: 2619 MHz
Default Applications Clocks
    Graphics: 1980 MHz
    Memory: 2619 MHz
Deferred Clocks
    Memory: N/A
Max Clocks
    Graphics: 1980 MHz
    SM: 1980 MHz
    Memory: 2619 MHz
    Video: 1545 MHz
Max Customer Boost Clocks
    Graphics: 1980 MHz
Clock Policy
    Auto Boost: N/A
    Auto Boost Default: N/A
Voltage
    Graphics: {voltage} mV
Fabric
    State: Completed
    Status: Success
Processes: None
"""

_XML_GPU = """
product_name: NVIDIA H100 80GB HBM3
product_brand: NVIDIA
product_architecture: Hopper
display_mode: Enabled
display_active: Disabled
persistence_mode: Enabled
addressing_mode: None
mig_mode
    current_mig: Disabled
    pending_mig: Disabled
mig_devices: None
accounting_mode: Disabled
accounting_mode_buffer_size: 4000
driver_model
    current_dm: N/A
    pending_dm: N/A
serial: {serial}
uuid: {uuid}
minor_number: {minor}
vbios_version: 96.00.74.00.01
multigpu_board: No
board_id: {board_id}
board_part_number: 692-2G520-0200-000
gpu_part_number: 2330-885-A1
gpu_fru_part_number: N/A
gpu_module_id: {module_id}
inforom_version
    img_version: G520.0200.00.05
    oem_object: 2.1
    ecc_object: 7.16
    pwr_object: N/A
inforom_bbx_flush
    latest_timestamp: {bbx_time}
    latest_duration: {bbx_duration} us
gpu_operation_mode
    current_gom: N/A
    pending_gom: N/A
c2c_mode: N/A
gpu_virtualization_mode
    virtualization_mode: None
    host_vgpu_mode: N/A
    vgpu_heterogeneous_mode: N/A
gpu_reset_status
    reset_required: {reset_required}
    drain_and_reset_recommended: No
gpu_recovery_action: {recovery_action}
gsp_firmware_version: {driver}
ibmnpu
    relaxed_ordering_mode: N/A
pci
    pci_bus: {bus}
    pci_device: 00
    pci_domain: 0000
    pci_base_class: 3
    pci_sub_class: 2
    pci_device_id: 233010DE
    pci_bus_id: {bus_id}
    pci_sub_system_id: 16C110DE
    pci_gpu_link_info
        pcie_gen
            max_link_gen: {gen_max}
            current_link_gen: {gen_current}
            device_current_link_gen: {gen_current}
            max_device_link_gen: {gen_max}
            max_host_link_gen: {gen_max}
        link_widths
            max_link_width: {width_max}x
            current_link_width: {width_current}x
    pci_bridge_chip
        bridge_chip_type: N/A
        bridge_chip_fw: N/A
    replay_counter: {replays}
    replay_rollover_counter: 0
    tx_util: {tx} KB/s
    rx_util: {rx} KB/s
    atomic_caps_outbound: N/A
    atomic_caps_inbound: N/A
fan_speed: N/A
performance_state: P0
clocks_event_reasons
    clocks_event_reason_gpu_idle: {idle}
    clocks_event_reason_applications_clocks_setting: Not Active
    clocks_event_reason_sw_power_cap: Not Active
    clocks_event_reason_hw_slowdown: {hw_slowdown}
    clocks_event_reason_hw_thermal_slowdown: {hw_thermal}
    clocks_event_reason_hw_power_brake_slowdown: Not Active
    clocks_event_reason_sync_boost: Not Active
    clocks_event_reason_sw_thermal_slowdown: {sw_thermal}
    clocks_event_reason_display_clocks_setting: Not Active
sparse_operation_mode: Disabled
fb_memory_usage
    total: 81559 MiB
    reserved: 551 MiB
    used: {fb_used} MiB
    free: {fb_free} MiB
bar1_memory_usage
    total: 131072 MiB
    used: 1 MiB
    free: 131071 MiB
cc_protected_memory_usage
    total: 0 MiB
    used: 0 MiB
    free: 0 MiB
compute_mode: Default
utilization
    gpu_util: 0 %
    memory_util: 0 %
    encoder_util: 0 %
    decoder_util: 0 %
    jpeg_util: 0 %
    ofa_util: 0 %
encoder_stats
    session_count: 0
    average_fps: 0
    average_latency: 0
fbc_stats
    session_count: 0
    average_fps: 0
    average_latency: 0
ecc_mode
    current_ecc: Enabled
    pending_ecc: Enabled
ecc_errors
    volatile
        sram_correctable: 0
        sram_uncorrectable_parity: 0
        sram_uncorrectable_secded: 0
        dram_correctable: {vol_dram_ce}
        dram_uncorrectable: {vol_dram_ue}
    aggregate
        sram_correctable: 0
        sram_uncorrectable_parity: 0
        sram_uncorrectable_secded: 0
        dram_correctable: {agg_dram_ce}
        dram_uncorrectable: {agg_dram_ue}
        sram_threshold_exceeded: No
    aggregate_uncorrectable_sram_sources
        sram_l2: 0
        sram_sm: 0
        sram_microcontroller: 0
        sram_pcie: 0
        sram_other: 0
retired_pages
    multiple_single_bit_retirement
        retired_count: N/A
        retired_pagelist: N/A
    double_bit_retirement
        retired_count: N/A
        retired_pagelist: N/A
    pending_blacklist: N/A
    pending_retirement: N/A
remapped_rows
    remapped_row_corr: {remap_ce}
    remapped_row_unc: {remap_ue}
    remapped_row_pending: {remap_pending}
    remapped_row_failure: {remap_failure}
    row_remapper_histogram
        row_remapper_histogram_max: {banks_max} bank(s)
        row_remapper_histogram_high: {banks_high} bank(s)
        row_remapper_histogram_partial: {banks_partial} bank(s)
        row_remapper_histogram_low: {banks_low} bank(s)
        row_remapper_histogram_none: {banks_none} bank(s)
temperature
    gpu_temp: {temp} C
    gpu_temp_tlimit: {tlimit} C
    gpu_temp_max_tlimit_threshold: -8 C
    gpu_temp_slow_tlimit_threshold: -2 C
    gpu_temp_max_gpu_tlimit_threshold: 0 C
    gpu_target_temperature: N/A
    memory_temp: {mem_temp} C
    gpu_temp_max_mem_tlimit_threshold: 0 C
supported_gpu_target_temp
    gpu_target_temp_min: N/A
    gpu_target_temp_max: N/A
gpu_power_readings
    power_state: P0
    power_draw: {power} W
    current_power_limit: 700.00 W
    requested_power_limit: 700.00 W
    default_power_limit: 700.00 W
    min_power_limit: 200.00 W
    max_power_limit: 700.00 W
module_power_readings
    power_state: P0
    power_draw: N/A
    current_power_limit: N/A
    requested_power_limit: N/A
    default_power_limit: N/A
    min_power_limit: N/A
    max_power_limit: N/A
clocks
    graphics_clock: {clock_sm} MHz
    sm_clock: {clock_sm} MHz
    mem_clock: 2619 MHz
    video_clock: {clock_video} MHz
applications_clocks
    graphics_clock: 1980 MHz
    mem_clock: 2619 MHz
default_applications_clocks
    graphics_clock: 1980 MHz
    mem_clock: 2619 MHz
deferred_clocks
    mem_clock: N/A
max_clocks
    graphics_clock: 1980 MHz
    sm_clock: 1980 MHz
    mem_clock: 2619 MHz
    video_clock: 1545 MHz
max_customer_boost_clocks
    graphics_clock: 1980 MHz
clock_policy
    auto_boost: N/A
    auto_boost_default: N/A
voltage
    graphics_volt: {voltage} mV
fabric
    state: Completed
    status: Success
processes
accounted_processes
"""


def _outline(outline: str) -> list[tuple[int, str, str | None]]:
    """(depth, key, value or None for a section) of each outline line."""
    rows = []
    for line in outline.strip("\n").splitlines():
        body = line.lstrip(" ")
        key, sep, value = body.partition(": ")
        rows.append(((len(line) - len(body)) // 4, key, value if sep else None))
    return rows


def _text_template(outline: str) -> str:
    """A GPU section of `nvidia-smi -q`: keys padded so the colons line up in column 43."""
    lines = []
    for depth, key, value in _outline(outline):
        name = "    " * (depth + 1) + key
        lines.append(name if value is None else f"{name:<41} : {value}")
    return "\n".join(lines) + "\n"


def _xml_template(outline: str) -> str:
    """The children of a `<gpu>` element, tab-indented as nvidia-smi writes them."""
    rows = _outline(outline)
    lines: list[str] = []
    open_tags: list[tuple[int, str]] = []
    for i, (depth, key, value) in enumerate(rows):
        while open_tags and open_tags[-1][0] >= depth:
            closed_depth, closed = open_tags.pop()
            lines.append("\t" * (closed_depth + 2) + f"</{closed}>")
        tabs = "\t" * (depth + 2)
        if value is not None:
            lines.append(f"{tabs}<{key}>{value}</{key}>")
        else:
            lines.append(f"{tabs}<{key}>")
            open_tags.append((depth, key))
            if i + 1 == len(rows) or rows[i + 1][0] <= depth:  # a section without children
                lines.append(f"{tabs}</{key}>")
                open_tags.pop()
    lines.extend("\t" * (depth + 2) + f"</{key}>" for depth, key in reversed(open_tags))
    return "\n".join(lines) + "\n"


TEXT_GPU = _text_template(_TEXT_GPU)
XML_GPU = _xml_template(_XML_GPU)
TEXT_HEADER = (
    "==============NVSMI LOG==============\n\n"
    f"{'Timestamp':<41} : {{timestamp}}\n{'Driver Version':<41} : {{driver}}\n{'CUDA Version':<41} : {{cuda}}\n\n"
    f"{'Attached GPUs':<41} : {{attached}}\n"
)
XML_HEADER = (
    '<?xml version="1.0" ?>\n<!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v12.dtd">\n<nvidia_smi_log>\n'
    "\t<timestamp>{timestamp}</timestamp>\n\t<driver_version>{driver}</driver_version>\n"
    "\t<cuda_version>{cuda}</cuda_version>\n\t<attached_gpus>{attached}</attached_gpus>\n"
)

# ---------------------------------------------------------------------------------------------- values


def _healthy(node: Node, gpu: Gpu, rng: random.Random) -> Values:
    """An idle, healthy H100 after the burn-in: Gen5 x16, no ECC counts or remaps, 30-45 C, 70-120 W."""
    temp = rng.randint(30, 45)
    fb_used = rng.choice((0, 0, 1))
    bus = gpu.bdf[5:7].upper()
    flushed = node.timeline.boot + timedelta(seconds=rng.randrange(60, 3600))
    return {
        "serial": gpu.serial,
        "uuid": gpu.uuid,
        "minor": str(gpu.index),
        "board_id": f"0x{gpu.bdf[5:7]}00",
        "module_id": str(gpu.module_id),
        "bbx_time": f"{flushed:%Y/%m/%d %H:%M:%S}.{rng.randrange(1000):03d}",
        "bbx_duration": str(rng.randint(80000, 96000)),
        "reset_required": "No",
        "recovery_action": "None",
        "driver": node.driver,
        "bus": bus,
        "bus_id": f"00000000:{bus}:00.0",
        "gen_max": "5",
        "gen_current": "5",
        "width_max": "16",
        "width_current": "16",
        "replays": str(rng.randint(0, 12)),
        "tx": str(rng.randint(400, 700)),
        "rx": str(rng.randint(400, 700)),
        "idle": "Active",
        "hw_slowdown": "Not Active",
        "hw_thermal": "Not Active",
        "sw_thermal": "Not Active",
        "fb_used": str(fb_used),
        "fb_free": str(81559 - 551 - fb_used),
        "vol_dram_ce": "0",
        "vol_dram_ue": "0",
        "agg_dram_ce": "0",
        "agg_dram_ue": "0",
        **_remaps(0, 0, pending=False, failure=False),
        "temp": str(temp),
        "tlimit": str(TLIMIT_BASE + rng.randint(0, 1) - temp),
        "mem_temp": str(temp + rng.randint(4, 9)),
        "power": f"{rng.uniform(70, 120):.2f}",
        "clock_sm": "345",
        "clock_video": "765",
        "voltage": f"{rng.choice((665, 670, 675, 680, 685, 690)):.3f}",
    }


def _remaps(correctable: int, uncorrectable: int, pending: bool, failure: bool, exhausted: int = 0) -> Values:
    """Remapped Rows: counts, flags and the histogram (each remapped row takes a spare of its own bank)."""
    used = correctable + uncorrectable - 8 * exhausted  # rows outside the exhausted banks, one bank each
    return {
        "remap_ce": str(correctable),
        "remap_ue": str(uncorrectable),
        "remap_pending": "Yes" if pending else "No",
        "remap_failure": "Yes" if failure else "No",
        "banks_max": str(BANKS - used - exhausted),
        "banks_high": str(used),
        "banks_partial": "0",
        "banks_low": "0",
        "banks_none": str(exhausted),
    }


def _remap_failure(values: Values, rng: random.Random) -> None:
    """Uncorrectable DRAM errors whose row remap failed: a bank ran out of spare rows."""
    volatile = rng.randint(2, 6)
    values.update(
        vol_dram_ue=str(volatile),
        agg_dram_ue=str(volatile + rng.randint(0, 2)),
        vol_dram_ce=str(rng.randint(0, 40)),
        **_remaps(rng.randint(0, 2), 8 + rng.randint(0, 3), pending=False, failure=True, exhausted=1),
    )
    values["agg_dram_ce"] = values["vol_dram_ce"]


def _remap_pending(values: Values, rng: random.Random) -> None:
    """Uncorrectable DRAM errors whose row remap waits for the next GPU reset."""
    volatile = rng.randint(1, 2)
    rows = rng.randint(1, 2)
    values.update(vol_dram_ue=str(volatile), agg_dram_ue=str(volatile), **_remaps(0, rows, pending=True, failure=False))


def _gsp_timeout(values: Values, rng: random.Random) -> None:
    """After GSP RPC timeouts the driver wants the GPU reset."""
    values.update(reset_required="Yes", recovery_action="Reset")


def _pcie_downtrained(values: Values, rng: random.Random) -> None:
    """The link trained below its capability (half width or Gen3), with many replays."""
    if rng.random() < 0.5:
        values["width_current"] = "8"
    else:
        values["gen_current"] = "3"
    values["replays"] = str(rng.randint(100, 900))


def _thermal(values: Values, rng: random.Random) -> None:
    """A GPU that cannot shed heat: past its slowdown T.Limit, thermal slowdown active, clocks held down."""
    tlimit = SLOWDOWN_TLIMIT - rng.randint(0, 1)
    temp = TLIMIT_BASE + rng.randint(0, 1) - tlimit
    clock = rng.randrange(705, 1170, 15)
    values.update(
        temp=str(temp),
        tlimit=str(tlimit),
        mem_temp=str(temp - rng.randint(0, 4)),
        idle="Not Active",
        hw_slowdown="Active",
        hw_thermal="Active",
        sw_thermal="Active",
        power=f"{rng.uniform(150, 230):.2f}",
        clock_sm=str(clock),
        clock_video=str(clock * 3 // 4 // 15 * 15),
        voltage=f"{rng.choice((720, 735, 750)):.3f}",
    )


FAULT_EFFECTS: dict[str, Callable[[Values, random.Random], None]] = {
    "hbm_remap_failure": _remap_failure,
    "hbm_remap_pending": _remap_pending,
    "gsp_timeout": _gsp_timeout,
    "pcie_downtrained": _pcie_downtrained,
    "gpu_thermal": _thermal,
}


def gpu_values(node: Node, rng: random.Random) -> dict[str, Values]:
    """The template values of every GPU (by PCI address), faults applied, in the same draws for both layouts."""
    values = {gpu.bdf: _healthy(node, gpu, rng) for gpu in node.gpus}
    for fault in node.faults_of(*FAULT_EFFECTS):
        if isinstance(fault.target, Gpu):
            FAULT_EFFECTS[fault.kind](values[fault.target.bdf], rng)
    return values


# ---------------------------------------------------------------------------------------------- files


def _timestamp(moment: datetime) -> str:
    """`Fri Nov  6 10:00:00 2026`, as nvidia-smi prints its Timestamp."""
    return f"{moment:%a %b} {moment.day:2d} {moment:%H:%M:%S %Y}"


def _lost(node: Node) -> list[Gpu]:
    """The GPUs nvidia-smi cannot get a handle for."""
    return [f.target for f in node.faults_of("gpu_fallen_off_bus") if isinstance(f.target, Gpu)]


def _text(node: Node, values: dict[str, Values], lost: list[Gpu], header: Values) -> str:
    # nvidia-smi reports a lost GPU on stderr, unbuffered, so it lands above the buffered stdout.
    errors = "".join(f"Unable to determine the device handle for GPU{gpu.bdf.upper()}: Unknown Error\n" for gpu in lost)
    sections = "\n".join(
        f"GPU {values[gpu.bdf]['bus_id']}\n" + TEXT_GPU.format_map(values[gpu.bdf])
        for gpu in node.gpus
        if gpu not in lost
    )
    return errors + TEXT_HEADER.format_map(header) + sections


def _xml(node: Node, values: dict[str, Values], lost: list[Gpu], header: Values) -> str:
    gpus = "".join(
        f'\t<gpu id="{values[gpu.bdf]["bus_id"]}">\n' + XML_GPU.format_map(values[gpu.bdf]) + "\t</gpu>\n"
        for gpu in node.gpus
        if gpu not in lost
    )
    return XML_HEADER.format_map(header) + gpus + "</nvidia_smi_log>\n"


def write(node: Node) -> dict[str, bytes]:
    """The node's `nvidia-smi -q` dump in its layout: relative path -> content."""
    layout = node.formats.get("nvidia_smi", "text")
    name = XML_FILE if layout == "xml" else TEXT_FILE
    if node.faults_of("driver_mismatch"):
        return {name: MISMATCH}
    values = gpu_values(node, node.rng("nvidia_smi"))
    header = {
        "timestamp": _timestamp(node.timeline.collected),
        "driver": node.driver,
        "cuda": node.cuda,
        "attached": str(len(node.gpus)),
    }
    render = _xml if layout == "xml" else _text
    return {name: render(node, values, _lost(node), header).encode()}
