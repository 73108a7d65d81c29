"""nvbandwidth v0.7 (copy-engine testcases) on the node's GPUs: `nvbandwidth.log`.

Layout: the text output of `nvbandwidth -t host_to_device_memcpy_ce device_to_host_memcpy_ce
host_to_device_bidirectional_memcpy_ce device_to_host_bidirectional_memcpy_ce device_to_device_memcpy_read_ce
device_to_device_memcpy_write_ce`: version, CUDA and driver versions, one `Device N: NVIDIA H100 80GB HBM3
(00000000:18:00)` line per GPU CUDA sees, then per testcase `Running <testcase>.`, its matrix (CPU row x GPU
columns, or GPU x GPU with `N/A` on the diagonal; 10-wide cells, 2 decimals) and its `SUM` line.
H100 SXM on PCIe Gen5 x16: host<->device ~55 GB/s one way, ~51.5 GB/s each way when bidirectional; NVLink
device-to-device ~375-385 GB/s; +-2% between nodes, +-0.5% between cells.

Fault kinds rendered:
  pcie_downtrained    the GPU's host<->device bandwidths about half the others
  gpu_fallen_off_bus  CUDA no longer sees the GPU: 7 Device lines (the lost bus id missing), 7-wide matrices
  driver_mismatch     the run stops after its banner: `[CUDA_ERROR_SYSTEM_DRIVER_MISMATCH] ...`
No noise kind shows in this file.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleetgen.model import Gpu, Node

PATH = "nvbandwidth.log"
VERSION = "v0.7"
MODEL = "NVIDIA H100 80GB HBM3"
DRIVER_MISMATCH = (
    "[CUDA_ERROR_SYSTEM_DRIVER_MISMATCH] system has unsupported display driver / cuda driver combination\n"
)


@dataclass(frozen=True)
class Testcase:
    """One testcase: its name, matrix title, whether it is GPU x GPU, and its typical cell (GB/s)."""

    name: str
    title: str
    pairs: bool
    bandwidth: float


TESTCASES = [
    Testcase("host_to_device_memcpy_ce", "memcpy CE CPU(row) -> GPU(column) bandwidth (GB/s)", False, 55.2),
    Testcase("device_to_host_memcpy_ce", "memcpy CE CPU(row) <- GPU(column) bandwidth (GB/s)", False, 55.4),
    Testcase(
        "host_to_device_bidirectional_memcpy_ce", "memcpy CE CPU(row) <-> GPU(column) bandwidth (GB/s)", False, 51.4
    ),
    Testcase(
        "device_to_host_bidirectional_memcpy_ce", "memcpy CE CPU(row) <-> GPU(column) bandwidth (GB/s)", False, 51.7
    ),
    Testcase("device_to_device_memcpy_read_ce", "memcpy CE GPU(row) -> GPU(column) bandwidth (GB/s)", True, 376.0),
    Testcase("device_to_device_memcpy_write_ce", "memcpy CE GPU(row) <- GPU(column) bandwidth (GB/s)", True, 383.0),
]


def write(node: Node) -> dict[str, bytes]:
    """The nvbandwidth output of `node`."""
    rng = node.rng("nvbandwidth")
    factor = rng.uniform(0.98, 1.02)
    noise = {tc.name: [rng.uniform(0.995, 1.005) for _ in range(len(node.gpus) ** 2)] for tc in TESTCASES}
    parts = [
        f"nvbandwidth Version: {VERSION}\nBuilt from Git version: {VERSION}\n\n",
    ]
    if node.faults_of("driver_mismatch"):
        return {PATH: "".join([*parts, DRIVER_MISMATCH]).encode()}
    cuda = _cuda_version(node.cuda)
    parts.append(f"CUDA Runtime Version: {cuda}\nCUDA Driver Version: {cuda}\nDriver Version: {node.driver}\n\n")
    lost = {f.target.bdf for f in node.faults_of("gpu_fallen_off_bus") if isinstance(f.target, Gpu)}
    gpus = [g for g in node.gpus if g.bdf not in lost]
    parts.extend(f"Device {k}: {MODEL} ({_bus_id(g)})\n" for k, g in enumerate(gpus))
    parts.append("\n")
    slow = {f.target.bdf for f in node.faults_of("pcie_downtrained") if isinstance(f.target, Gpu)}
    for tc in TESTCASES:
        matrix = _matrix(tc, gpus, slow, factor, noise[tc.name])
        parts.append(f"Running {tc.name}.\n{tc.title}\n{_format(matrix, len(gpus))}\n")
        total = sum(v for row in matrix for v in row if v is not None)
        parts.append(f"SUM {tc.name} {total:.2f}\n\n")
    return {PATH: "".join(parts).encode()}


def _matrix(
    tc: Testcase, gpus: list[Gpu], slow: set[str], factor: float, noise: list[float]
) -> list[list[float | None]]:
    """The cells of one testcase: one CPU row, or GPU x GPU pairs without the diagonal."""
    n = len(gpus)
    if not tc.pairs:
        return [[tc.bandwidth * factor * noise[c] * (0.5 if g.bdf in slow else 1.0) for c, g in enumerate(gpus)]]
    return [[None if r == c else tc.bandwidth * factor * noise[r * n + c] for c in range(n)] for r in range(n)]


def _format(matrix: list[list[float | None]], columns: int) -> str:
    """A matrix as nvbandwidth prints it: a header of GPU indexes, then `row  cell cell ...`, a blank line."""
    lines = ["  " + "".join(f"{c:>10d}" for c in range(columns))]
    for r, row in enumerate(matrix):
        cells = "".join("       N/A" if v is None else f"{v:>10.2f}" for v in row)
        lines.append(f"{r:>2d}{cells}")
    return "\n".join(lines) + "\n"


def _bus_id(gpu: Gpu) -> str:
    """The bus id as nvbandwidth prints it: 8-digit domain, bus and device (`00000000:18:00`)."""
    domain, bus, device = gpu.bdf.split(".")[0].split(":")
    return f"{int(domain, 16):08x}:{bus}:{device}"


def _cuda_version(cuda: str) -> int:
    """CUDA's integer version (`12.4` -> 12040)."""
    major, minor = cuda.split(".")[:2]
    return int(major) * 1000 + int(minor) * 10
