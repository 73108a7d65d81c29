"""nvidia-smi dumps: `-q` text (whole and `-d` sections), `-q -x` XML, the default table, `--query-gpu` CSV."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from triage.ingest import ingest
from triage.sources import nvidia_smi
from triage.sources.reading import parse_bytes, parse_path
from triage.sources.records import Records
from triage.store import Store

# `nvidia-smi -q` of a V100 on driver 470 (sections abridged): single/double bit ECC with totals,
# "Clocks Throttle Reasons", "Power Readings" with an enforced limit, a GPU Part Number but no Board Part Number.
Q_V100 = """\
==============NVSMI LOG==============

Timestamp                                 : Mon Mar  4 10:15:02 2024
Driver Version                            : 470.223.02
CUDA Version                              : 11.4

Attached GPUs                             : 1
GPU 00000000:1A:00.0
    Product Name                          : Tesla V100-SXM2-32GB
    Product Brand                         : Tesla
    Persistence Mode                      : Enabled
    Serial Number                         : 0323218012345
    GPU UUID                              : GPU-2f1c9a1e-4b7d-11ee-9c3a-0242ac120002
    Minor Number                          : 0
    VBIOS Version                         : 88.00.80.00.01
    GPU Part Number                       : 900-2G503-0430-000
    PCI
        Bus                               : 0x1A
        Bus Id                            : 00000000:1A:00.0
        GPU Link Info
            PCIe Generation
                Max                       : 3
                Current                   : 3
            Link Width
                Max                       : 16x
                Current                   : 8x
        Replays Since Reset               : 4
        Replay Number Rollovers           : 0
    Fan Speed                             : N/A
    Performance State                     : P0
    Clocks Throttle Reasons
        Idle                              : Not Active
        Applications Clocks Setting       : Not Active
        SW Power Cap                      : Not Active
        HW Slowdown                       : Active
            HW Thermal Slowdown           : Active
            HW Power Brake Slowdown       : Not Active
        Sync Boost                        : Not Active
        SW Thermal Slowdown               : Not Active
        Display Clock Setting             : Not Active
    FB Memory Usage
        Total                             : 32510 MiB
        Used                              : 31800 MiB
        Free                              : 710 MiB
    Ecc Mode
        Current                           : Enabled
        Pending                           : Enabled
    ECC Errors
        Volatile
            Single Bit
                Device Memory             : 3
                Register File             : 0
                L1 Cache                  : 0
                L2 Cache                  : 0
                Texture Memory            : N/A
                Texture Shared            : N/A
                CBU                       : N/A
                Total                     : 3
            Double Bit
                Device Memory             : 1
                Register File             : 0
                L1 Cache                  : 0
                L2 Cache                  : 0
                Texture Memory            : N/A
                Texture Shared            : N/A
                CBU                       : 0
                Total                     : 1
    Retired Pages
        Single Bit ECC                    : 2
        Double Bit ECC                    : 1
        Pending Page Blacklist            : Yes
    Remapped Rows                         : N/A
    Temperature
        GPU Current Temp                  : 71 C
        GPU Shutdown Temp                 : 90 C
        GPU Slowdown Temp                 : 87 C
        GPU Max Operating Temp            : 83 C
        GPU Target Temperature            : N/A
        Memory Current Temp               : 68 C
        Memory Max Operating Temp         : 85 C
    Power Readings
        Power Management                  : Supported
        Power Draw                        : 287.41 W
        Power Limit                       : 300.00 W
        Default Power Limit               : 300.00 W
        Enforced Power Limit              : 250.00 W
    Clocks
        Graphics                          : 1312 MHz
        SM                                : 1312 MHz
        Memory                            : 877 MHz
        Video                             : 1185 MHz
    Processes
        GPU instance ID                   : N/A
        Compute instance ID               : N/A
        Process ID                        : 48213
            Type                          : C
            Name                          : python3
            Used GPU Memory               : 31794 MiB

"""

# `nvidia-smi -q -d ECC,PAGE_RETIREMENT,ROW_REMAPPER` on two H100s: SRAM/DRAM parts and no identity lines.
Q_ECC = """\
==============NVSMI LOG==============

Timestamp                                 : Wed Nov 20 03:14:55 2024
Driver Version                            : 550.90.07
CUDA Version                              : 12.4

Attached GPUs                             : 2
GPU 00000000:19:00.0
    ECC Mode
        Current                           : Enabled
        Pending                           : Enabled
    ECC Errors
        Volatile
            SRAM Correctable              : 0
            SRAM Uncorrectable Parity     : 0
            SRAM Uncorrectable SEC-DED    : 0
            DRAM Correctable              : 0
            DRAM Uncorrectable            : 0
        Aggregate
            SRAM Correctable              : 0
            SRAM Uncorrectable Parity     : 0
            SRAM Uncorrectable SEC-DED    : 0
            DRAM Correctable              : 0
            DRAM Uncorrectable            : 0
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
        Uncorrectable Error               : 0
        Pending                           : No
        Remapping Failure Occurred        : No
        Bank Remap Availability Histogram
            Max                           : 2560 bank(s)
            High                          : 0 bank(s)
            Partial                       : 0 bank(s)
            Low                           : 0 bank(s)
            None                          : 0 bank(s)

GPU 00000000:3B:00.0
    ECC Mode
        Current                           : Enabled
        Pending                           : Enabled
    ECC Errors
        Volatile
            SRAM Correctable              : 12
            SRAM Uncorrectable Parity     : 1
            SRAM Uncorrectable SEC-DED    : 2
            DRAM Correctable              : 5
            DRAM Uncorrectable            : 3
        Aggregate
            SRAM Correctable              : 40
            SRAM Uncorrectable Parity     : 1
            SRAM Uncorrectable SEC-DED    : 2
            DRAM Correctable              : 17
            DRAM Uncorrectable            : 3
            SRAM Threshold Exceeded       : Yes
        Aggregate Uncorrectable SRAM Sources
            SRAM L2                       : 2
            SRAM SM                       : 1
            SRAM Microcontroller          : 0
            SRAM PCIE                     : 0
            SRAM Other                    : 0
    Retired Pages
        Single Bit ECC                    : N/A
        Double Bit ECC                    : N/A
        Pending Page Blacklist            : N/A
    Remapped Rows
        Correctable Error                 : 0
        Uncorrectable Error               : 3
        Pending                           : Yes
        Remapping Failure Occurred        : No
        Bank Remap Availability Histogram
            Max                           : 2557 bank(s)
            High                          : 3 bank(s)
            Partial                       : 0 bank(s)
            Low                           : 0 bank(s)
            None                          : 0 bank(s)

"""

# `nvidia-smi -q -x` with the older schema: throttle reasons, power_readings, single/double bit ECC.
XML_V10 = """\
<?xml version="1.0" ?>
<!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v10.dtd">
<nvidia_smi_log>
	<timestamp>Tue Feb  6 08:01:44 2024</timestamp>
	<driver_version>450.248.02</driver_version>
	<cuda_version>11.0</cuda_version>
	<attached_gpus>2</attached_gpus>
	<gpu id="00000000:86:00.0">
		<product_name>Tesla V100-SXM2-16GB</product_name>
		<persistence_mode>Disabled</persistence_mode>
		<serial>0324017054321</serial>
		<uuid>GPU-5d8c01a2-7f1e-3b4c-9d2e-1a2b3c4d5e6f</uuid>
		<vbios_version>88.00.4F.00.09</vbios_version>
		<board_part_number>900-2G503-0000-000</board_part_number>
		<pci>
			<pci_bus_id>00000000:86:00.0</pci_bus_id>
			<pci_gpu_link_info>
				<pcie_gen>
					<max_link_gen>3</max_link_gen>
					<current_link_gen>3</current_link_gen>
				</pcie_gen>
				<link_widths>
					<max_link_width>16x</max_link_width>
					<current_link_width>16x</current_link_width>
				</link_widths>
			</pci_gpu_link_info>
			<replay_counter>0</replay_counter>
			<replay_rollover_counter>0</replay_rollover_counter>
		</pci>
		<clocks_throttle_reasons>
			<clocks_throttle_reason_gpu_idle>Active</clocks_throttle_reason_gpu_idle>
			<clocks_throttle_reason_sw_power_cap>Not Active</clocks_throttle_reason_sw_power_cap>
			<clocks_throttle_reason_hw_slowdown>Not Active</clocks_throttle_reason_hw_slowdown>
		</clocks_throttle_reasons>
		<fb_memory_usage>
			<total>16160 MiB</total>
			<used>0 MiB</used>
			<free>16160 MiB</free>
		</fb_memory_usage>
		<ecc_errors>
			<volatile>
				<single_bit>
					<device_memory>0</device_memory>
					<texture_shm>N/A</texture_shm>
					<total>0</total>
				</single_bit>
				<double_bit>
					<device_memory>0</device_memory>
					<texture_shm>N/A</texture_shm>
					<total>0</total>
				</double_bit>
			</volatile>
		</ecc_errors>
		<retired_pages>
			<multiple_single_bit_retirement>
				<retired_count>0</retired_count>
				<retired_pagelist>
				</retired_pagelist>
			</multiple_single_bit_retirement>
			<double_bit_retirement>
				<retired_count>0</retired_count>
				<retired_pagelist>
				</retired_pagelist>
			</double_bit_retirement>
			<pending_blacklist>No</pending_blacklist>
			<pending_retirement>No</pending_retirement>
		</retired_pages>
		<temperature>
			<gpu_temp>34 C</gpu_temp>
			<gpu_temp_max_threshold>90 C</gpu_temp_max_threshold>
		</temperature>
		<power_readings>
			<power_draw>41.12 W</power_draw>
			<power_limit>300.00 W</power_limit>
			<enforced_power_limit>300.00 W</enforced_power_limit>
		</power_readings>
		<processes>
		</processes>
	</gpu>
	<gpu id="00000000:89:00.0">
		<product_name>Tesla V100-SXM2-16GB</product_name>
		<serial>0324017054399</serial>
		<uuid>GPU-0b4d3f12-8a9c-4e5f-a1b2-c3d4e5f60718</uuid>
		<vbios_version>88.00.4F.00.09</vbios_version>
		<board_part_number>900-2G503-0000-000</board_part_number>
		<pci>
			<pci_bus_id>00000000:89:00.0</pci_bus_id>
		</pci>
		<temperature>
			<gpu_temp>N/A</gpu_temp>
		</temperature>
	</gpu>
</nvidia_smi_log>
"""

# The default `nvidia-smi` box of a 535 driver, two A100s.
TABLE = """\
Thu Nov 21 09:30:12 2024
+---------------------------------------------------------------------------------------+
| NVIDIA-SMI 535.129.03             Driver Version: 535.129.03   CUDA Version: 12.2     |
|-----------------------------------------+----------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id        Disp.A | Volatile Uncorr. ECC |
| Fan  Temp   Perf          Pwr:Usage/Cap |         Memory-Usage | GPU-Util  Compute M. |
|                                         |                      |               MIG M. |
|=========================================+======================+======================|
|   0  NVIDIA A100-SXM4-80GB          On  | 00000000:07:00.0 Off |                    0 |
| N/A   31C    P0              62W / 400W |      4MiB / 81920MiB |      0%      Default |
|                                         |                      |             Disabled |
+-----------------------------------------+----------------------+----------------------+
|   1  NVIDIA A100-SXM4-80GB          On  | 00000000:0F:00.0 Off |                    2 |
| N/A   44C    P0             301W / 400W |  80211MiB / 81920MiB |     97%      Default |
|                                         |                      |             Disabled |
+-----------------------------------------+----------------------+----------------------+

+---------------------------------------------------------------------------------------+
| Processes:                                                                            |
|  GPU   GI   CI        PID   Type   Process name                            GPU Memory |
|        ID   ID                                                             Usage      |
|=======================================================================================|
|    1   N/A  N/A     51234      C   python                                    80200MiB |
+---------------------------------------------------------------------------------------+
"""

CSV = """\
index, pci.bus_id, serial, uuid, name, temperature.gpu, power.draw [W], memory.used [MiB], clocks_event_reasons.hw_slowdown, gpu_recovery_action
0, 00000000:19:00.0, 1650124031592, GPU-ee7954ec-da95-fd7a-ddfd-c6b32cc2f8aa, NVIDIA H100 80GB HBM3, 33, 71.52 W, 1 MiB, Not Active, None
1, 00000000:3B:00.0, 1650124008135, GPU-47daa2ad-a218-6286-252b-af45f0dfaf00, NVIDIA H100 80GB HBM3, 35, [N/A], 81000 MiB, Active, Reset
"""


def metrics(frame: pl.DataFrame, device: str) -> dict[str, float]:
    """metric -> value of one device."""
    rows = frame.filter(pl.col("device") == device).select("metric", "value").rows()
    out = dict(rows)
    assert len(out) == len(rows), "a metric was recorded twice"
    return out


def values(found: dict[str, float], *names: str) -> tuple[float, ...]:
    return tuple(found[name] for name in names)


def identity(frame: pl.DataFrame) -> list[tuple]:
    return frame.select("index", "device", "serial", "uuid", "part_number", "model", "firmware", "driver").rows()


# ------------------------------------------------------------------------------------------ -q text


def test_query_text_old_layout() -> None:
    parsed = parse_bytes(Q_V100.encode(), "node1/nvidia-smi-q.txt")
    assert (parsed.kind, parsed.format, parsed.host, parsed.error) == ("nvidia_smi", "query_text", None, None)
    assets = parsed.table("assets")
    assert identity(assets) == [
        (0, "0000:1a:00.0", "0323218012345", "GPU-2f1c9a1e-4b7d-11ee-9c3a-0242ac120002", "900-2G503-0430-000",
         "Tesla V100-SXM2-32GB", "88.00.80.00.01", "470.223.02"),
    ]  # fmt: skip
    assert assets.select("kind", "pci_bdf", "line_no").rows() == [("gpu", "0000:1a:00.0", 8)]
    measurements = parsed.table("measurements")
    assert set(measurements["test"]) == {"nvidia_smi"}
    assert set(measurements["ts"]) == {datetime(2024, 3, 4, 10, 15, 2)}
    assert metrics(measurements, "0000:1a:00.0") == {
        "persistence_mode": 1, "pcie_gen_current": 3, "pcie_gen_max": 3, "pcie_width_current": 8,
        "pcie_width_max": 16, "pcie_replay_count": 4, "pcie_replay_rollover": 0,
        "fb_memory_total": 32510, "fb_memory_used": 31800, "ecc_enabled": 1,
        "retired_pages_sbe": 2, "retired_pages_dbe": 1, "retired_pages_pending": 1,
        "temperature_gpu": 71, "temperature_gpu_shutdown": 90, "temperature_gpu_slowdown": 87,
        "temperature_gpu_max_operating": 83, "temperature_memory": 68, "temperature_memory_max_operating": 85,
        "power_draw": 287.41, "power_limit": 250, "clocks_graphics": 1312, "clocks_sm": 1312, "clocks_memory": 877,
        "clocks_event_gpu_idle": 0, "clocks_event_applications_clocks_setting": 0, "clocks_event_sw_power_cap": 0,
        "clocks_event_hw_slowdown": 1, "clocks_event_hw_thermal_slowdown": 1,
        "clocks_event_hw_power_brake_slowdown": 0, "clocks_event_sync_boost": 0,
        "clocks_event_sw_thermal_slowdown": 0, "clocks_event_display_clocks_setting": 0,
        "ecc_volatile_device_memory_correctable": 3, "ecc_volatile_register_file_correctable": 0,
        "ecc_volatile_l1_cache_correctable": 0, "ecc_volatile_l2_cache_correctable": 0,
        "ecc_volatile_device_memory_uncorrectable": 1, "ecc_volatile_register_file_uncorrectable": 0,
        "ecc_volatile_l1_cache_uncorrectable": 0, "ecc_volatile_l2_cache_uncorrectable": 0,
        "ecc_volatile_cbu_uncorrectable": 0,
        "ecc_volatile_correctable": 3, "ecc_volatile_uncorrectable": 1,
    }  # fmt: skip
    units = dict(measurements.select("metric", "unit").rows())
    assert [units[m] for m in ("pcie_width_current", "temperature_gpu", "power_draw", "fb_memory_used", "clocks_sm")] == [
        "count", "C", "W", "MiB", "MHz",
    ]  # fmt: skip
    lines = dict(measurements.select("metric", "line_no").rows())
    assert (lines["ecc_volatile_correctable"], lines["clocks_event_hw_thermal_slowdown"]) == (58, 36)
    assert parsed.table("events").height == Q_V100.count("\n")


def test_query_text_ecc_sections() -> None:
    parsed = parse_bytes(Q_ECC.encode(), "nvsmi_ecc.txt")
    assert (parsed.format, parsed.error) == ("query_text", None)
    assert identity(parsed.table("assets")) == [
        (0, "0000:19:00.0", None, None, None, None, None, "550.90.07"),
        (1, "0000:3b:00.0", None, None, None, None, None, "550.90.07"),
    ]
    measurements = parsed.table("measurements")
    assert metrics(measurements, "0000:3b:00.0") == {
        "ecc_enabled": 1,
        "remapped_rows_correctable": 0, "remapped_rows_uncorrectable": 3, "remapped_rows_pending": 1,
        "remapped_rows_failure": 0, "remapped_rows_banks_max": 2557, "remapped_rows_banks_high": 3,
        "remapped_rows_banks_partial": 0, "remapped_rows_banks_low": 0, "remapped_rows_banks_none": 0,
        "ecc_volatile_sram_correctable": 12, "ecc_volatile_sram_uncorrectable_parity": 1,
        "ecc_volatile_sram_uncorrectable_secded": 2, "ecc_volatile_dram_correctable": 5,
        "ecc_volatile_dram_uncorrectable": 3,
        "ecc_aggregate_sram_correctable": 40, "ecc_aggregate_sram_uncorrectable_parity": 1,
        "ecc_aggregate_sram_uncorrectable_secded": 2, "ecc_aggregate_dram_correctable": 17,
        "ecc_aggregate_dram_uncorrectable": 3, "ecc_aggregate_sram_threshold_exceeded": 1,
        "ecc_aggregate_uncorrectable_sram_l2": 2, "ecc_aggregate_uncorrectable_sram_sm": 1,
        "ecc_aggregate_uncorrectable_sram_microcontroller": 0, "ecc_aggregate_uncorrectable_sram_pcie": 0,
        "ecc_aggregate_uncorrectable_sram_other": 0,
        "ecc_volatile_correctable": 17, "ecc_volatile_uncorrectable": 6,
        "ecc_aggregate_correctable": 57, "ecc_aggregate_uncorrectable": 6,
    }  # fmt: skip
    assert metrics(measurements, "0000:19:00.0")["ecc_volatile_uncorrectable"] == 0


def test_read_query_text_offsets_lines_and_converts_local_time() -> None:
    records = Records()
    nvidia_smi.read_query_text(Q_ECC.splitlines(), 1001, records, timezone="Europe/Berlin")
    assert [(a["device"], a["line_no"]) for a in records.assets] == [("0000:19:00.0", 1008), ("0000:3b:00.0", 1048)]
    first = records.measurements[0]
    assert (first["metric"], first["line_no"], first["ts"]) == ("ecc_enabled", 1010, datetime(2024, 11, 20, 2, 14, 55))


def test_index_unknown_when_fewer_gpus_than_attached() -> None:
    selection = Q_V100.replace("Attached GPUs                             : 1", "Attached GPUs : 8")
    parsed = parse_bytes(selection.encode(), "nvidia-smi-q-i3.txt")
    assert parsed.error is None
    assert parsed.table("assets").select("index", "device").rows() == [(None, "0000:1a:00.0")]


def test_query_text_recovery_action_and_fabric() -> None:
    text = (
        "Attached GPUs                             : 1\n"
        "GPU 00000000:18:00.0\n"
        "    GPU Recovery Action                   : Drain and Reset\n"
        "    Fabric\n"
        "        State                             : Completed\n"
        "        Status                            : NVML_ERROR_INSUFFICIENT_RESOURCES\n"
        "    Clocks Event Reasons Counters\n"
        "        SW Power Capping                  : 12234991553 us\n"
        "        HW Power Braking                  : 0 us\n"
    )
    measurements = parse_bytes(text.encode(), "q.txt").table("measurements")
    assert measurements.select("metric", "value", "unit", "params").rows() == [
        ("gpu_recovery_action", 4, "enum", '{"text":"Drain and Reset"}'),
        ("fabric_state", 3, "enum", '{"text":"Completed"}'),
        ("fabric_status_success", 0, "bool", '{"text":"NVML_ERROR_INSUFFICIENT_RESOURCES"}'),
        ("clocks_event_time_sw_power_cap", 12234991553, "us", None),
        ("clocks_event_time_hw_power_brake_slowdown", 0, "us", None),
    ]


@pytest.mark.parametrize(
    ("cut", "error"),
    [
        pytest.param(
            "    Temperature\n",
            "line 72: output ends inside the section of GPU 00000000:1A:00.0 (no 'Processes' section; 1 of 1 attached GPUs listed)",
            id="cut-inside-gpu",
        ),
        pytest.param(
            "GPU 00000000:1A:00.0\n",
            "line 7: no GPU section although 'Attached GPUs' is 1",
            id="cut-after-header",
        ),
    ],
)
def test_truncated_query_text_keeps_rows_before(cut: str, error: str) -> None:
    truncated = Q_V100[: Q_V100.index(cut)]
    parsed = parse_bytes(truncated.encode(), "nvidia-smi-q.txt")
    assert parsed.error == error
    if cut.startswith("    "):
        assert parsed.table("assets")["serial"].to_list() == ["0323218012345"]
        assert metrics(parsed.table("measurements"), "0000:1a:00.0")["retired_pages_dbe"] == 1


def test_excerpt_is_not_truncation() -> None:
    excerpt = Q_V100[: Q_V100.index("    Temperature\n")] + "    [...]\n"
    assert parse_bytes(excerpt.encode(), "pasted.txt").error is None


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("==============NVSMI LOG==============\n\n", id="banner-only"),
        pytest.param("==============NVSMI LOG==============\n\nNo devices were found\n", id="no-devices"),
    ],
)
def test_empty_dumps(text: str) -> None:
    parsed = parse_bytes(text.encode(), "nvidia-smi-q.txt")
    assert (parsed.kind, parsed.error, parsed.table("assets").height, parsed.table("measurements").height) == (
        "nvidia_smi", None, 0, 0,
    )  # fmt: skip
    assert parsed.table("events").height == text.count("\n")


# ------------------------------------------------------------------------------------------ -q -x XML


def test_query_xml_old_schema() -> None:
    parsed = parse_bytes(XML_V10.encode(), "nvidia-smi-q-x.xml")
    assert (parsed.kind, parsed.format, parsed.error) == ("nvidia_smi", "query_xml", None)
    assert identity(parsed.table("assets")) == [
        (0, "0000:86:00.0", "0324017054321", "GPU-5d8c01a2-7f1e-3b4c-9d2e-1a2b3c4d5e6f", "900-2G503-0000-000",
         "Tesla V100-SXM2-16GB", "88.00.4F.00.09", "450.248.02"),
        (1, "0000:89:00.0", "0324017054399", "GPU-0b4d3f12-8a9c-4e5f-a1b2-c3d4e5f60718", "900-2G503-0000-000",
         "Tesla V100-SXM2-16GB", "88.00.4F.00.09", "450.248.02"),
    ]  # fmt: skip
    assert parsed.table("assets")["line_no"].to_list() == [8, 80]
    measurements = parsed.table("measurements")
    assert metrics(measurements, "0000:86:00.0") == {
        "persistence_mode": 0, "pcie_gen_current": 3, "pcie_gen_max": 3, "pcie_width_current": 16,
        "pcie_width_max": 16, "pcie_replay_count": 0, "pcie_replay_rollover": 0,
        "fb_memory_total": 16160, "fb_memory_used": 0,
        "retired_pages_sbe": 0, "retired_pages_dbe": 0, "retired_pages_pending": 0,
        "temperature_gpu": 34, "temperature_gpu_shutdown": 90, "power_draw": 41.12, "power_limit": 300,
        "clocks_event_gpu_idle": 1, "clocks_event_sw_power_cap": 0, "clocks_event_hw_slowdown": 0,
        "ecc_volatile_device_memory_correctable": 0, "ecc_volatile_device_memory_uncorrectable": 0,
        "ecc_volatile_correctable": 0, "ecc_volatile_uncorrectable": 0,
    }  # fmt: skip
    assert metrics(measurements, "0000:89:00.0") == {}
    lines = dict(measurements.select("metric", "line_no").rows())
    assert (lines["power_draw"], lines["ecc_volatile_uncorrectable"]) == (73, 50)
    assert set(measurements["ts"]) == {datetime(2024, 2, 6, 8, 1, 44)}


def test_truncated_xml_keeps_gpus_read() -> None:
    cut = XML_V10[: XML_V10.index('\t<gpu id="00000000:89:00.0">')] + '\t<gpu id="00000000:89:00.0">\n\t\t<serial>03'
    parsed = parse_bytes(cut.encode(), "nvidia-smi-q-x.xml")
    assert parsed.error == "line 81: broken XML: no element found"
    assert parsed.table("assets").select("device", "serial").rows() == [
        ("0000:86:00.0", "0324017054321"),
        ("0000:89:00.0", None),
    ]


def test_xml_entities_are_refused() -> None:
    evil = XML_V10.replace(
        '<!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v10.dtd">',
        '<!DOCTYPE nvidia_smi_log [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
    )
    parsed = parse_bytes(evil.encode(), "nvidia-smi-q-x.xml")
    assert parsed.error == "line 2: XML entity declarations are not allowed in an nvidia-smi dump"
    assert parsed.table("assets").height == 0


# ------------------------------------------------------------------------------------------ table and CSV


def test_default_table() -> None:
    parsed = parse_bytes(TABLE.encode(), "nvidia-smi.txt")
    assert (parsed.kind, parsed.format, parsed.error) == ("nvidia_smi", "table", None)
    assert identity(parsed.table("assets")) == [
        (0, "0000:07:00.0", None, None, None, "NVIDIA A100-SXM4-80GB", None, "535.129.03"),
        (1, "0000:0f:00.0", None, None, None, "NVIDIA A100-SXM4-80GB", None, "535.129.03"),
    ]
    measurements = parsed.table("measurements")
    assert metrics(measurements, "0000:0f:00.0") == {
        "persistence_mode": 1, "ecc_volatile_uncorrectable": 2, "temperature_gpu": 44, "power_draw": 301,
        "power_limit": 400, "fb_memory_used": 80211, "fb_memory_total": 81920, "utilization_gpu": 97,
    }  # fmt: skip
    assert set(measurements["ts"]) == {datetime(2024, 11, 21, 9, 30, 12)}
    assert measurements.filter(pl.col("metric") == "temperature_gpu")["line_no"].to_list() == [10, 14]


def test_query_csv() -> None:
    parsed = parse_bytes(CSV.encode(), "gpus.csv")
    assert (parsed.kind, parsed.format, parsed.error) == ("nvidia_smi", "query_csv", None)
    assert identity(parsed.table("assets")) == [
        (0, "0000:19:00.0", "1650124031592", "GPU-ee7954ec-da95-fd7a-ddfd-c6b32cc2f8aa", None, "NVIDIA H100 80GB HBM3", None, None),
        (1, "0000:3b:00.0", "1650124008135", "GPU-47daa2ad-a218-6286-252b-af45f0dfaf00", None, "NVIDIA H100 80GB HBM3", None, None),
    ]  # fmt: skip
    measurements = parsed.table("measurements")
    assert metrics(measurements, "0000:3b:00.0") == {
        "temperature_gpu": 35, "fb_memory_used": 81000, "clocks_event_hw_slowdown": 1, "gpu_recovery_action": 1,
    }  # fmt: skip
    assert measurements.filter(pl.col("metric") == "gpu_recovery_action")["params"].to_list() == [
        '{"text":"None"}',
        '{"text":"Reset"}',
    ]


@pytest.mark.parametrize(
    ("row", "error"),
    [
        pytest.param("2, 00000000:4C:00.0, 1650124047722", "line 4: 3 values for 10 columns", id="missing-values"),
        pytest.param(
            "x, 00000000:4C:00.0, 1650124047722, GPU-1, NVIDIA H100 80GB HBM3, 33, 71.52 W, 1 MiB, Not Active, None",
            "line 4: GPU index 'x' is not a number",
            id="garbled-index",
        ),
    ],
)
def test_bad_csv_row_is_an_error_after_the_rows_before_it(row: str, error: str) -> None:
    parsed = parse_bytes((CSV + row + "\n").encode(), "gpus.csv")
    assert parsed.error == error
    assert parsed.table("assets").height == 2


# ------------------------------------------------------------------------------------------ sniffing


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(["[  12.345678] NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus."], id="dmesg"),
        pytest.param(
            ["Jul 23 07:53:55 node1 kernel: NVRM: GPU at PCI:0000:3b:00: GPU-566e6f65-c38e-b12f-4824-6944218668b9"],
            id="syslog",
        ),
        pytest.param(
            ["GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-5269b708-678a-b1a8-60f0-c90406537486)", "\t Link 0: 25 GB/s"],
            id="nvlink-status",
        ),
        pytest.param(
            [
                "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-ee7954ec-da95-fd7a-ddfd-c6b32cc2f8aa)",
                "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-47daa2ad-a218-6286-252b-af45f0dfaf00)",
            ],
            id="nvidia-smi-L",
        ),
        pytest.param(["index, score, label", "0, 0.93, cat"], id="csv-of-something-else"),
        pytest.param(["0, None", "1, Reset"], id="csv-noheader"),
        pytest.param(
            ["LineId,Label,Timestamp,Date,Node", "1,-,1117838570,2005.06.03,R02-M1-N0-C:J12-U11"], id="loghub"
        ),
    ],
)
def test_sniff_leaves_other_formats(lines: list[str]) -> None:
    assert nvidia_smi.sniff(lines, "x.txt") is None


@pytest.mark.parametrize(
    "relative",
    [
        "nvidia_smi/misc/nvidia_smi_topo_output.txt",
        "nvidia_smi/nvlink/nvidia-smi.nvlink.status.a100",
        "nvidia_smi/nvlink/bad_nvlink_status.txt",
        "dcgm/issue_excerpts/DCGM-263__dcgmi_health_c_j_healthy__and_dcgmi_dmon_xid120.txt",
        "kernel_logs/gpud/dmesg-time-format-iso.log",
        "nccl_tests/superbench/nccl_allreduce.log",
        "infiniband/ibstat_gpud",
    ],
)
def test_sniff_leaves_realdata_of_other_formats(realdata: Path, relative: str) -> None:
    paths = [p for p in sorted((realdata / relative).glob("*")) if p.is_file()] or [realdata / relative]
    for path in paths:
        sample = path.read_bytes()[: 1 << 16].decode("utf-8", "replace").splitlines()[:200]
        assert nvidia_smi.sniff(sample, str(path)) is None, path


# ------------------------------------------------------------------------------------------ realdata

H100_183_SERIALS = [
    "1655022005478", "1654522012780", "1654922018857", "1654522012479",
    "1654922016523", "1655022006092", "1654522012843", "1654922015414",
]  # fmt: skip


def test_realdata_h100_query(realdata: Path) -> None:
    parsed = parse_path(realdata / "nvidia_smi/gpud_q/nvidia-smi-query.535.183.01.out.0.valid")
    assert (parsed.format, parsed.error) == ("query_text", None)
    assets = parsed.table("assets")
    assert assets["serial"].to_list() == H100_183_SERIALS
    assert assets.select("index", "device", "part_number", "model", "firmware", "driver").row(7) == (
        7, "0000:ca:00.0", "692-2G520-0200-000", "NVIDIA H100 80GB HBM3", "96.00.74.00.01", "535.183.01",
    )  # fmt: skip
    measurements = parsed.table("measurements")
    replay = measurements.filter(pl.col("metric") == "pcie_replay_count").select("device", "value")
    assert replay.rows()[:3] == [("0000:53:00.0", 120), ("0000:64:00.0", 111), ("0000:75:00.0", 58)]
    gpu2 = metrics(measurements, "0000:75:00.0")
    assert values(gpu2, "clocks_event_sw_power_cap", "clocks_event_sw_thermal_slowdown", "clocks_event_gpu_idle") == (
        1,
        1,
        0,
    )
    gpu0 = metrics(measurements, "0000:53:00.0")
    assert values(gpu0, "temperature_gpu", "temperature_gpu_shutdown_tlimit", "power_draw", "power_limit") == (
        36,
        -8,
        71.97,
        700,
    )
    assert values(gpu0, "fabric_state", "remapped_rows_banks_max", "ecc_aggregate_uncorrectable") == (3, 2560, 0)
    assert len(gpu0) == 70
    assert set(measurements["ts"]) == {datetime(2024, 6, 21, 2, 3, 8)}


def test_realdata_invalid_query_is_truncated(realdata: Path) -> None:
    """gpud's "invalid" sample: misaligned `Invalid HW Slowdown` keys, cut inside GPU 0 of 8."""
    parsed = parse_path(realdata / "nvidia_smi/gpud_q/nvidia-smi-query.535.183.01.out.0.invalid")
    assert parsed.error == (
        "line 91: output ends inside the section of GPU 00000000:53:00.0 (no 'Processes' section; 1 of 8 attached GPUs listed)"
    )
    assert parsed.table("assets").select("index", "serial").rows() == [(None, "1655022005478")]
    assert metrics(parsed.table("measurements"), "0000:53:00.0")["clocks_event_invalid_hw_slowdown"] == 0


@pytest.mark.parametrize(
    ("name", "gpus", "serial0", "uuid7", "extra"),
    [
        pytest.param("nvidia-smi-query.535.161.08.out.0.valid", 8, "1650124031592", "GPU-b0fe4996-1f7c-91f6-0ccd-08ae3b7e23c5",
                     ("0000:cb:00.0", "pcie_replay_count", 82), id="h100-161"),
        pytest.param("nvidia-smi-query.535.154.05.out.0.valid", 8, None, "GPU-94f6cd0f-cb66-91a9-a3b0-7253e9f9a0ba",
                     ("0000:e1:00.0", "clocks_event_gpu_idle", 1), id="4090-0"),
        pytest.param("nvidia-smi-query.535.154.05.out.1.valid", 8, None, "GPU-839379d5-33cc-2fae-2c64-a782cd63010e",
                     ("0000:23:00.0", "clocks_event_sw_power_cap", 1), id="4090-1"),
        pytest.param("nvidia-smi-query.535.154.05.out.2.valid", 8, None, "GPU-839379d5-33cc-2fae-2c64-a782cd63010e",
                     ("0000:23:00.0", "clocks_event_sw_power_cap", 0), id="4090-2"),
        pytest.param("nvidia-smi-query.535.154.05.out.3.valid", 8, None, "GPU-df372c44-e2a5-b8a9-3d6c-f25475aaa57f",
                     ("0000:21:00.0", "pcie_gen_max", 4), id="4090-3"),
        pytest.param("nvidia-smi-query.535.154.05.out.0.valid.4090", 8, None, "GPU-78289b93-0248-1915-dc72-4427058400fa",
                     ("0000:c1:00.0", "fb_memory_total", 24564), id="4090-4"),
        pytest.param("nvidia-smi-query.535.129.03.out.0.valid.a10", 1, "1324521052681", None,
                     ("0000:07:00.0", "remapped_rows_uncorrectable", 4), id="a10"),
        pytest.param("nvidia-smi-query.560.35.03.out.0.valid", 1, "0334517001520", None,
                     ("0000:01:00.0", "temperature_gpu_target", 84), id="titan-v"),
    ],
)  # fmt: skip
def test_realdata_gpud_queries(
    realdata: Path, name: str, gpus: int, serial0: str | None, uuid7: str | None, extra: tuple[str, str, float]
) -> None:
    parsed = parse_path(realdata / "nvidia_smi/gpud_q" / name)
    assert (parsed.kind, parsed.format, parsed.error) == ("nvidia_smi", "query_text", None)
    assets = parsed.table("assets")
    assert assets["index"].to_list() == list(range(gpus))
    assert assets["serial"][0] == serial0
    if uuid7:
        assert assets["uuid"][7] == uuid7
    device, metric, value = extra
    assert metrics(parsed.table("measurements"), device)[metric] == value


def test_realdata_a10_pending_remap(realdata: Path) -> None:
    parsed = parse_path(realdata / "nvidia_smi/gpud_q/nvidia-smi-query.535.129.03.out.0.valid.a10")
    gpu = metrics(parsed.table("measurements"), "0000:07:00.0")
    assert values(gpu, "remapped_rows_uncorrectable", "remapped_rows_pending", "remapped_rows_failure") == (4, 1, 0)


@pytest.mark.parametrize(
    ("name", "gpus", "bdf1", "model", "driver", "temps"),
    [
        pytest.param("nvidia-smi.525.125.06.out.0.valid", 1, "0000:01:00.0", None, "525.125.06", [38], id="525"),
        pytest.param("nvidia-smi.550.90.07.out.0.valid", 8, "0000:19:00.0", "NVIDIA H100 80GB HBM3", "550.90.07",
                     [27, 24, 23, 23, 27, 22, 24, 23], id="550"),
    ],
)  # fmt: skip
def test_realdata_gpud_tables(
    realdata: Path, name: str, gpus: int, bdf1: str, model: str | None, driver: str, temps: list[float]
) -> None:
    parsed = parse_path(realdata / "nvidia_smi/gpud_q" / name)
    assert (parsed.format, parsed.error) == ("table", None)
    assets = parsed.table("assets")
    assert assets.height == gpus
    assert assets.select("device", "model", "driver").row(0) == (bdf1, model, driver)
    measurements = parsed.table("measurements")
    assert measurements.filter(pl.col("metric") == "temperature_gpu")["value"].to_list() == temps


def test_realdata_k80_table(realdata: Path) -> None:
    parsed = parse_path(realdata / "nvidia_smi/misc/nvidia_smi_output.txt")
    assert (parsed.format, parsed.error) == ("table", None)
    assert parsed.table("assets").select("index", "device", "model", "driver").rows() == [
        (0, "0000:00:04.0", "Tesla K80", "375.66"),
        (1, "0000:00:05.0", "Tesla K80", "375.66"),
        (2, "0000:00:06.0", "Tesla K80", "375.66"),
        (3, "0000:00:07.0", "Tesla K80", "375.66"),
    ]
    assert metrics(parsed.table("measurements"), "0000:00:05.0") == {
        "persistence_mode": 1, "ecc_volatile_uncorrectable": 0, "temperature_gpu": 46, "power_draw": 30,
        "power_limit": 149, "fb_memory_used": 0, "fb_memory_total": 11439, "utilization_gpu": 0,
    }  # fmt: skip
    assert set(parsed.table("measurements")["ts"]) == {datetime(2017, 7, 11, 17, 43, 15)}


def test_realdata_topo_is_not_claimed(realdata: Path) -> None:
    assert parse_path(realdata / "nvidia_smi/misc/nvidia_smi_topo_output.txt").kind == "text"


@pytest.mark.parametrize(
    ("name", "sbe", "dbe", "pending"),
    [
        pytest.param("orig_nvsmi8_output.txt", [0] * 8, [0] * 8, [0] * 8, id="orig"),
        pytest.param("bad_nvsmi8_output.txt", [60, 2, 0, 6, 0, 20, 0, 8], [5, 61, 0, 0, 0, 45, 0, 56],
                     [0, 1, 0, 1, 0, 1, 0, 1], id="bad"),
    ],
)  # fmt: skip
def test_realdata_aznhc_page_retirement(
    realdata: Path, name: str, sbe: list[float], dbe: list[float], pending: list[float]
) -> None:
    parsed = parse_path(realdata / "nvidia_smi/aznhc" / name)
    assert (parsed.format, parsed.error) == ("query_text", None)
    assert parsed.table("assets")["device"].to_list() == [f"000{i}:00:00.0" for i in range(1, 9)]
    measurements = parsed.table("measurements")

    def column(metric: str) -> list[float]:
        return measurements.filter(pl.col("metric") == metric)["value"].to_list()

    assert column("retired_pages_sbe") == sbe
    assert column("retired_pages_dbe") == dbe
    assert column("retired_pages_pending") == pending


def test_realdata_remapped_rows_fragment(realdata: Path) -> None:
    folder = realdata / "nvidia_smi/issue_excerpts"
    parsed = parse_path(folder / "ml-engineering-debug__nvidia-smi-q_a100_ecc_remapped_rows_pending_fragment.txt")
    assert (parsed.format, parsed.error) == ("query_text", None)
    assert parsed.table("assets").select("index", "device", "model", "driver").rows() == [
        (None, "0000:10:1c.0", "NVIDIA A100-SXM4-80GB", "510.73.08")
    ]
    gpu = metrics(parsed.table("measurements"), "0000:10:1c.0")
    assert values(gpu, "ecc_volatile_dram_correctable", "ecc_aggregate_correctable", "remapped_rows_pending") == (
        177,
        177,
        1,
    )
    assert values(gpu, "remapped_rows_correctable", "remapped_rows_banks_high", "ecc_volatile_uncorrectable") == (
        1,
        1,
        0,
    )


@pytest.mark.parametrize(
    ("name", "devices", "serials", "driver", "checks"),
    [
        pytest.param("a100-sxm4-v12.xml", ["0000:01:00.0"], ["1650522003820"], "535.54.03",
                     {"temperature_gpu": 27, "power_draw": 67.03, "fb_memory_total": 81920, "ecc_volatile_uncorrectable": 0}, id="a100"),
        pytest.param("a10g.xml", ["0000:00:1e.0"], ["0000000000000"], "515.105.01",
                     {"clocks_event_gpu_idle": 1, "ecc_enabled": 1}, id="a10g"),
        pytest.param("tesla-t4.xml", ["0000:00:1e.0"], ["0000000000000"], "515.105.01",
                     {"temperature_gpu": 40, "power_draw": 26.78, "power_limit": 70, "retired_pages_pending": 0}, id="t4"),
        pytest.param("quadro-p2000-v12.xml", ["0000:17:00.0"], ["0322218049033"], "525.125.06",
                     {"pcie_width_max": 16}, id="p2000"),
        pytest.param("rtx-3090-v12.xml", ["0000:00:10.0"], [None], "525.147.05", {"clocks_event_gpu_idle": 1}, id="3090-v12"),
        pytest.param("3090-v13.xml", ["0000:09:00.0"], [None], "590.44.01", {"clocks_event_sw_power_cap": 1}, id="3090-v13"),
        pytest.param("rtx-4000-sff-ada-v13.xml", ["0000:06:00.0"], ["REDACTED"], "595.84", {"clocks_event_gpu_idle": 1}, id="4000-ada"),
        pytest.param("dual_2080-v13.xml", ["0000:01:00.0", "0000:02:00.0"], [None, None], "590.44.01",
                     {"clocks_event_gpu_idle": 1}, id="dual-2080"),
        pytest.param("dual_a5000-v13.xml", ["0000:81:00.0", "0000:c1:00.0"], ["0123456789012", "1234567890123"], "590.44.01",
                     {"clocks_event_gpu_idle": 1}, id="dual-a5000"),
        pytest.param("pro-6000-maxq-blackwell-v13.xml", ["0000:61:00.0"], ["0123456789012"], "590.44.01",
                     {"gpu_recovery_action": 0, "power_draw": 3.97, "power_draw_instant": 3.99, "ecc_enabled": 0,
                      "clocks_event_time_sw_power_cap": 25483012608, "ecc_channel_repair_pending": 0,
                      "temperature_gpu_tlimit": 68, "pcie_gen_current": 1, "pcie_gen_device_max": 5}, id="blackwell"),
    ],
)  # fmt: skip
def test_realdata_telegraf_xml(
    realdata: Path, name: str, devices: list[str], serials: list[str | None], driver: str, checks: dict[str, float]
) -> None:
    parsed = parse_path(realdata / "nvidia_smi/telegraf_xml" / name)
    assert (parsed.kind, parsed.format, parsed.error) == ("nvidia_smi", "query_xml", None)
    assets = parsed.table("assets")
    assert (assets["device"].to_list(), assets["serial"].to_list()) == (devices, serials)
    assert set(assets["driver"]) == {driver}
    gpu = metrics(parsed.table("measurements"), devices[0])
    assert {metric: gpu[metric] for metric in checks} == checks


def test_realdata_xml_attached_count_differs(realdata: Path) -> None:
    """The A100 sample lists one of its four attached GPUs: its enumeration index is unknown."""
    parsed = parse_path(realdata / "nvidia_smi/telegraf_xml/a100-sxm4-v12.xml")
    assert parsed.table("assets").select("index", "part_number").rows() == [(None, "692-2G506-0212-002")]


# ------------------------------------------------------------------------------------------ end to end


def test_ingest_inventory(tmp_path: Path, store: Store) -> None:
    node = tmp_path / "fleet" / "node017"
    node.mkdir(parents=True)
    (node / "nvidia-smi-q.txt").write_text(Q_ECC)
    (node / "nvidia-smi-q.xml").write_text(XML_V10)
    ingest(store, [str(tmp_path / "fleet")])
    files = store.frame("SELECT path, host, kind, format, status, error FROM files ORDER BY path")
    assert files.select("host", "kind", "format", "status", "error").rows() == [
        ("node017", "nvidia_smi", "query_text", "ok", None),
        ("node017", "nvidia_smi", "query_xml", "ok", None),
    ]
    assets = store.frame("SELECT host, kind, device, index, serial, file_id IS NOT NULL FROM assets ORDER BY device")
    assert assets.rows() == [
        ("node017", "gpu", "0000:19:00.0", 0, None, True),
        ("node017", "gpu", "0000:3b:00.0", 1, None, True),
        ("node017", "gpu", "0000:86:00.0", 0, "0324017054321", True),
        ("node017", "gpu", "0000:89:00.0", 1, "0324017054399", True),
    ]
    pending = store.frame(
        "SELECT host, device, value, line_no FROM measurements WHERE test = 'nvidia_smi' AND metric = 'remapped_rows_pending'"
    )
    assert pending.rows() == [("node017", "0000:19:00.0", 0.0, 39), ("node017", "0000:3b:00.0", 1.0, 79)]
    events = store.frame("SELECT count(*) AS n FROM events WHERE source = 'nvidia_smi'")
    assert events["n"][0] == Q_ECC.count("\n") + XML_V10.count("\n")


LOST_GPU = b"""Unable to determine the device handle for GPU0000:2A:00.0: Unknown Error

==============NVSMI LOG==============

Timestamp                                 : Fri Nov 20 10:00:02 2026
Driver Version                            : 550.54.15

Attached GPUs                             : 3
GPU 00000000:18:00.0
    Serial Number                         : 1650104014249
    Processes                             : None

GPU 00000000:3A:00.0
    Serial Number                         : 1650104015102
    Processes                             : None
"""


def test_gpu_off_the_bus_is_named_and_every_gpu_keeps_its_pci_order_index() -> None:
    parsed = parse_bytes(LOST_GPU, "nvidia-smi-q.txt")
    assert parsed.error is None
    assets = parsed.table("assets").select("device", "index", "serial", "line_no").sort("index")
    assert assets.rows() == [
        ("0000:18:00.0", 0, "1650104014249", 9),
        ("0000:2a:00.0", 1, None, 1),
        ("0000:3a:00.0", 2, "1650104015102", 13),
    ]
    lost = parsed.table("measurements").filter(pl.col("metric") == "gpu_unreachable")
    assert lost.select("device", "value", "line_no").rows() == [("0000:2a:00.0", 1.0, 1)]
