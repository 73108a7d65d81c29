"""Node health check logs: a fleet-wide distributed aznhc health and debug log, and per-node NHC logs.

`make(scale)` gives the `.health.log` of a distributed aznhc job over 4000 * scale nodes (about 3%
failing with the checks' real messages), its verbose `.debug.log` for 1000 * scale of them (nvbandwidth
H2D/D2H/P2P per GPU pair, ib_write_bw per HCA, NCCL all-reduce, ECC and row-remap counts: ~150 lines a
node), and 20 * scale per-node NHC logs with timestamps and debug output. Deterministic (seeded).
"""

from __future__ import annotations

import random

JOB = "distributed_nhc-48213-2025-01-17_10-02-44"
HCAS = [f"mlx5_ib{i}" for i in range(8)]
FAILURES = [
    "ERROR: nhc: Health check failed: check_gpu_xid: GPU Xid errors detected: [ {up:.6f}] NVRM: Xid "
    "(PCI:0002:00:00): 119, pid=67769, name=nvidia-smi, Timeout waiting for RPC from GSP1! Expected function 76 "
    "(GSP_RM_CONTROL) (0x2080014b 0x5).. FaultCode: NHC2001",
    "ERROR: nhc: Health check failed: check_nccl_allreduce_ib_loopback: NCCL allreduce, BUS BW (expected >=40.0 "
    "GB/s, but measured {low:.4f} GB/s). FaultCode: NHC2003",
    "ERROR: nhc: Health check failed: check_gpu_bw: H2D test on GPU {gpu} failed. Bandwidth {low:.2f} is less than 52",
    "ERROR: No results reported",
    "ERROR: nhc: Health check failed: check_hw_ib: No IB port mlx5_ib{gpu}:1 is ACTIVE (LinkUp 400 Gb/sec).",
    "ERROR: nhc: Health check failed: check_gpu_ecc: GPU id {gpu}: SRAM Uncorrectable ECC error count detected, "
    "(0,1). FaultCode: NHC2019",
    "ERROR: nhc: Health check failed: check_ib_bw_gdr: ib_write_bw, IB=mlx5_ib{gpu}, mlx5_ib{gpu}, IB BW (expected > "
    "380 Gbps, but measured {low:.2f} Gbps. FaultCode: NHC2003",
    "ERROR: nhc: Health check failed: check_nvlink_status: GPU {gpu} has nvlinks inactive: Link 3: Inactive. "
    "FaultCode: NHC2016",
]


def _host(n: int) -> str:
    return f"ndv5-{n:06d}"


def health_log(nodes: int, seed: int = 3) -> bytes:
    """The `.health.log` of one distributed aznhc job: one result line per node, sorted."""
    rng = random.Random(seed)
    lines = []
    for n in range(nodes):
        if rng.random() < 0.03:
            text = rng.choice(FAILURES).format(up=rng.uniform(100, 90000), low=rng.uniform(5, 30), gpu=rng.randrange(8))
        else:
            text = "Healthy"
        lines.append(f"{_host(n)} | {text}")
    return ("\n".join(sorted(lines)) + "\n").encode()


def _debug_lines(rng: random.Random) -> list[str]:
    """The debug values one node prints during a full aznhc run on an ND H100 v5."""
    out = []
    for g in range(8):
        out.append(f"H2D_GPU_{g}: {rng.gauss(55.2, 0.3):.2f} GB/s")
        out.append(f"D2H_GPU_{g}: {rng.gauss(55.0, 0.3):.2f} GB/s")
    out += [f"P2P_GPU_{a}_{b}: {rng.gauss(389.5, 1.0):.2f} GB/s" for a in range(8) for b in range(8) if a != b]
    for g in range(8):
        out.append(f"GPU id {g}: row remap pending, (0)")
        out.append(f"GPU id {g}: row remap error, (0)")
        out.append(f"GPU id {g}: row remap uncorrectable error count, ({rng.choice([0, 0, 0, 1, 2])})")
        out.append(f"GPU id {g}: No GPU row remap pending, row remap errors or row remap high count errors")
        out.append(f"GPU id {g}: Normal SRAM Uncorrectable/correctable ECC error count, (0,0,0,{rng.randrange(3)})")
        out.append(f"GPU id {g}: Normal DRAM Uncorrectable/correctable ECC error count, (0,0,{rng.randrange(40)},0)")
    for hca in HCAS:
        bw = f"{rng.gauss(391.0, 0.2):.2f}"
        out.append(f"IB devices={hca}, {hca}: numa domains=0,0, Measured IB BW {bw} Gbps")
        out.append(f"ib_write_lb_{hca}: {bw} Gbps")
    busbw = f"{rng.gauss(478.0, 2.0):.3f}"
    out.append(f"Measured Avg NCCL allreduce bus BW {busbw} GB/s (expected >=460.0 GB/s)")
    out.append(f"nccl_all_red: {busbw}  GB/s")
    lb = f"{rng.gauss(46.4, 0.3):.4f}"
    out.append(f"nccl_all_red_lb: {lb}  GB/s")
    out.append(f"NCCL allreduce IB loopback bandwidth {lb} GB/s")
    out.append("No GPU Xid error found in dmesg")
    return out


def debug_log(nodes: int, seed: int = 5) -> bytes:
    """The verbose `.debug.log` of one distributed aznhc job, sorted like the job script sorts it."""
    rng = random.Random(seed)
    lines = [f"{_host(n)} | {line}" for n in range(nodes) for line in _debug_lines(rng)]
    return ("\n".join(sorted(lines)) + "\n").encode()


def node_log(host: str, seed: int) -> bytes:
    """A per-node NHC log (`LOGFILE`, DEBUG and timestamps on) of one full aznhc run."""
    rng = random.Random(seed)
    t = 1_737_108_164
    checks = [
        "check_gpu_count 8",
        "check_gpu_xid",
        "check_nvsmi_healthmon",
        "check_gpu_bw 52 350",
        "check_gpu_ecc 20000 10000",
        "check_gpu_clock_throttling",
        "check_nvlink_status",
        "check_ib_bw_gdr 380",
        "check_nccl_allreduce 460.0 1 /opt/microsoft/ndv5-topo.xml 16G",
        "check_ib_link_flapping 6",
        "check_hw_ib 400 mlx5_ib0:1",
        "check_fs_mount_rw -t /sys sysfs",
    ]
    out = [f"[{t}] - DEBUG:  Loading scripts from /etc/nhc/scripts...", f"[{t}] - Node Health Check starting."]
    for i, check in enumerate(checks, 1):
        t += rng.randint(1, 40)
        out.append(f'[{t}] - Running check {i:02d} of {len(checks)}:  "{check}"')
        if check.startswith(("check_gpu_bw", "check_ib_bw_gdr", "check_nccl", "check_gpu_ecc")):
            out += [f"[{t}] - DEBUG:  {line}" for line in _debug_lines(rng) if _belongs(check, line)]
        name = check.split()[0]
        out.append(f"SUCCESS:  nhc:  Health check passed:  {name}: check passed")
    out.append(
        f"[{t}] - Node Health Check completed successfully; {len(checks)} passed in {t - 1_737_108_164} second(s)."
    )
    out.append(f'[{t}] - DEBUG:  Removing PID file "/var/run/nhc/NHC.{host}.pid"')
    return ("\n".join(out) + "\n").encode()


def _belongs(check: str, line: str) -> bool:
    if check.startswith("check_gpu_bw"):
        return line.startswith(("H2D", "D2H", "P2P"))
    if check.startswith("check_ib_bw_gdr"):
        return line.startswith(("IB devices", "ib_write_lb"))
    if check.startswith("check_nccl"):
        return "NCCL" in line or line.startswith("nccl")
    return line.startswith("GPU id")


def make(scale: int = 1) -> list[tuple[str, bytes]]:
    """The benchmark's files: one fleet health log, one fleet debug log and 20 * scale per-node NHC logs."""
    files = [
        (f"distributed_nhc/logs/{JOB}.health.log", health_log(4000 * scale)),
        (f"distributed_nhc/logs/{JOB}.debug.log", debug_log(1000 * scale)),
    ]
    files += [(f"fleet/{_host(n)}/nhc.log", node_log(_host(n), n)) for n in range(20 * scale)]
    return files
