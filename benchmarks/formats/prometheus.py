"""Prometheus text expositions: a fleet-wide dcgm-exporter federation scrape and per-node node_exporter scrapes.

`make(scale)` gives one federated dcgm-exporter scrape of 256 * scale nodes (8 H100 each, the default
counters plus ECC, NVLink and row-remap fields, with `# HELP`/`# TYPE` and millisecond timestamps), and
16 * scale node_exporter scrapes (CPU, memory, filesystems, network, hwmon, 8 InfiniBand HCAs).
Deterministic: values come from a seeded generator.
"""

from __future__ import annotations

import random

DRIVER = "535.129.03"
MODEL = "NVIDIA H100 80GB HBM3"
BUSES = ["18", "2a", "3a", "5d", "9a", "ab", "ba", "db"]
DCGM_FIELDS = [
    ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", lambda r: r.choice([1980, 1755, 345])),
    ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).", lambda r: 2619),
    ("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C).", lambda r: r.randint(30, 60)),
    ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", lambda r: r.randint(28, 75)),
    ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", lambda r: round(r.uniform(70, 690), 3)),
    (
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "counter",
        "Total energy consumption since boot (in mJ).",
        lambda r: r.randint(10**9, 10**12),
    ),
    ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries.", lambda r: r.choice([0] * 20 + [3])),
    ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", lambda r: r.randint(0, 100)),
    ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).", lambda r: r.randint(0, 100)),
    ("DCGM_FI_DEV_ENC_UTIL", "gauge", "Encoder utilization (in %).", lambda r: 0),
    ("DCGM_FI_DEV_DEC_UTIL", "gauge", "Decoder utilization (in %).", lambda r: 0),
    (
        "DCGM_FI_DEV_XID_ERRORS",
        "gauge",
        "Value of the last XID error encountered.",
        lambda r: r.choice([0] * 50 + [79]),
    ),
    ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", lambda r: r.randint(0, 81000)),
    ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", lambda r: r.randint(0, 81000)),
    ("DCGM_FI_DEV_ECC_SBE_VOL_TOTAL", "counter", "Total number of single-bit volatile ECC errors.", lambda r: 0),
    ("DCGM_FI_DEV_ECC_DBE_VOL_TOTAL", "counter", "Total number of double-bit volatile ECC errors.", lambda r: 0),
    ("DCGM_FI_DEV_ECC_SBE_AGG_TOTAL", "counter", "Total number of single-bit persistent ECC errors.", lambda r: 0),
    ("DCGM_FI_DEV_ECC_DBE_AGG_TOTAL", "counter", "Total number of double-bit persistent ECC errors.", lambda r: 0),
    (
        "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL",
        "counter",
        "Total number of NVLink flow-control CRC errors.",
        lambda r: r.choice([0] * 30 + [12]),
    ),
    (
        "DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL",
        "counter",
        "Total number of NVLink data CRC errors.",
        lambda r: 0,
    ),
    ("DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL", "counter", "Total number of NVLink retries.", lambda r: 0),
    (
        "DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL",
        "counter",
        "Total number of NVLink recovery errors.",
        lambda r: 0,
    ),
    (
        "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL",
        "counter",
        "Total number of NVLink bandwidth counters for all lanes",
        lambda r: r.randint(0, 10**12),
    ),
    ("DCGM_FI_DEV_VGPU_LICENSE_STATUS", "gauge", "vGPU License status", lambda r: 0),
    (
        "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
        "counter",
        "Number of remapped rows for uncorrectable errors",
        lambda r: r.choice([0] * 40 + [1]),
    ),
    ("DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", "counter", "Number of remapped rows for correctable errors", lambda r: 0),
    ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "gauge", "Whether remapping of rows has failed", lambda r: 0),
    (
        "DCGM_FI_DEV_CLOCKS_EVENT_REASONS",
        "gauge",
        "Current clock event reasons (bitmask).",
        lambda r: r.choice([0, 1, 4]),
    ),
    ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", "Ratio of time the graphics engine is active.", lambda r: r.random()),
    ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", "gauge", "Ratio of cycles the tensor pipe is active.", lambda r: r.random()),
]


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def dcgm_federation(nodes: int, seed: int = 7) -> bytes:
    """A Prometheus federation scrape of dcgm-exporter on `nodes` 8-GPU nodes."""
    rng = random.Random(seed)
    gpus = [
        (f"gpu-node-{n:04d}", g, _uuid(rng), f"00000000:{BUSES[g].upper()}:00.0", rng.random() < 0.3)
        for n in range(nodes)
        for g in range(8)
    ]
    stamp = 1_732_270_000_000
    out: list[str] = []
    for field, kind, help_text, value in DCGM_FIELDS:
        out.append(f"# HELP {field} {help_text}")
        out.append(f"# TYPE {field} {kind}")
        for host, g, uuid, bus, busy in gpus:
            labels = (
                f'gpu="{g}",UUID="{uuid}",pci_bus_id="{bus}",device="nvidia{g}",modelName="{MODEL}",'
                f'Hostname="{host}",DCGM_FI_DRIVER_VERSION="{DRIVER}"'
            )
            if busy:
                labels += f',container="trainer",namespace="ml",pod="llm-pretrain-{g}"'
            labels += f',instance="{host}:9400",job="dcgm-exporter"'
            out.append(f"{field}{{{labels}}} {value(rng)} {stamp + rng.randint(0, 15000)}")
    return ("\n".join(out) + "\n").encode()


def node_exporter(host: str, seed: int) -> bytes:
    """One node_exporter scrape of a GPU node with 8 InfiniBand HCAs."""
    rng = random.Random(seed)
    out: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[tuple[str, object]]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(f"{name}{{{labels}}} {value}" if labels else f"{name} {value}" for labels, value in samples)

    modes = ["idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"]
    family(
        "node_cpu_seconds_total",
        "counter",
        "Seconds the CPUs spent in each mode.",
        [(f'cpu="{c}",mode="{m}"', round(rng.uniform(0, 1e6), 2)) for c in range(96) for m in modes],
    )
    family("node_memory_MemTotal_bytes", "gauge", "Memory information field MemTotal_bytes.", [("", 2164194537472)])
    family("node_memory_MemAvailable_bytes", "gauge", "Memory information field MemAvailable_bytes.", [("", 1.9e12)])
    family("node_load1", "gauge", "1m load average.", [("", round(rng.uniform(0, 90), 2))])
    family("node_boot_time_seconds", "gauge", "Node boot time, in unixtime.", [("", 1.7322e9)])
    mounts = [("/dev/nvme0n1p1", "/", "ext4"), ("/dev/md0", "/mnt/resource_nvme", "xfs"), ("tmpfs", "/run", "tmpfs")]
    family(
        "node_filesystem_avail_bytes",
        "gauge",
        "Filesystem space available to non-root users in bytes.",
        [(f'device="{d}",fstype="{t}",mountpoint="{m}"', rng.randint(10**9, 10**13)) for d, m, t in mounts],
    )
    nics = ["eth0", "lo", "docker0"] + [f"ib{i}" for i in range(8)]
    for metric, help_text in (
        ("node_network_receive_bytes_total", "Network device statistic receive_bytes."),
        ("node_network_transmit_bytes_total", "Network device statistic transmit_bytes."),
        ("node_network_receive_errs_total", "Network device statistic receive_errs."),
        ("node_network_carrier_changes_total", "Number of carrier changes."),
    ):
        family(metric, "counter", help_text, [(f'device="{n}"', rng.randint(0, 10**12)) for n in nics])
    family(
        "node_hwmon_temp_celsius",
        "gauge",
        "Hardware monitor for temperature (input)",
        [
            (f'chip="platform_coretemp_{s}",sensor="temp{t}"', rng.randint(30, 80))
            for s in range(2)
            for t in range(1, 49)
        ],
    )
    hcas = [f"mlx5_{i}" for i in range(8)]
    family(
        "node_infiniband_info",
        "gauge",
        "Non-numeric data from /sys/class/infiniband/<device>, value is always 1.",
        [(f'board_id="MT_0000000838",device="{h}",firmware_version="28.39.1002",hca_type="MT4129"', 1) for h in hcas],
    )
    counters = {
        "node_infiniband_state_id": ("gauge", lambda: rng.choice([4] * 30 + [1])),
        "node_infiniband_physical_state_id": ("gauge", lambda: rng.choice([5] * 30 + [2])),
        "node_infiniband_rate_bytes_per_second": ("gauge", lambda: 50000000000),
        "node_infiniband_symbol_error_total": ("counter", lambda: rng.choice([0] * 20 + [7, 65535])),
        "node_infiniband_link_downed_total": ("counter", lambda: rng.choice([0] * 20 + [1, 255])),
        "node_infiniband_link_error_recovery_total": ("counter", lambda: rng.choice([0] * 10 + [2])),
        "node_infiniband_port_errors_received_total": ("counter", lambda: rng.choice([0] * 10 + [113])),
        "node_infiniband_port_discards_transmitted_total": ("counter", lambda: rng.randint(0, 2000)),
        "node_infiniband_port_data_received_bytes_total": ("counter", lambda: rng.randint(0, 10**15)),
        "node_infiniband_port_data_transmitted_bytes_total": ("counter", lambda: rng.randint(0, 10**15)),
        "node_infiniband_port_packets_received_total": ("counter", lambda: rng.randint(0, 10**12)),
        "node_infiniband_port_packets_transmitted_total": ("counter", lambda: rng.randint(0, 10**12)),
        "node_infiniband_port_transmit_wait_total": ("counter", lambda: rng.randint(0, 4294967295)),
        "node_infiniband_local_link_integrity_errors_total": ("counter", lambda: 0),
        "node_infiniband_excessive_buffer_overrun_errors_total": ("counter", lambda: 0),
        "node_infiniband_vl15_dropped_total": ("counter", lambda: 0),
    }
    for name, (kind, value) in counters.items():
        family(name, kind, "InfiniBand port attribute.", [(f'device="{h}",port="1"', value()) for h in hcas])
    family(
        "node_exporter_build_info",
        "gauge",
        "A metric with a constant '1' value labeled by version, revision, branch, goversion from which "
        "node_exporter was built, and the goos and goarch for the build.",
        [('branch="HEAD",goarch="amd64",goos="linux",goversion="go1.22.5",revision="b8ef3d6",version="1.8.2"', 1)],
    )
    out.insert(0, f"# node_exporter scrape of {host}")
    return ("\n".join(out) + "\n").encode()


def make(scale: int = 1) -> list[tuple[str, bytes]]:
    """The benchmark's files: one dcgm-exporter federation scrape and 16 * scale node_exporter scrapes."""
    files = [("fleet/federate/dcgm-exporter.prom", dcgm_federation(256 * scale))]
    files += [
        (f"fleet/gpu-node-{n:04d}/node_exporter.prom", node_exporter(f"gpu-node-{n:04d}", n)) for n in range(16 * scale)
    ]
    return files
