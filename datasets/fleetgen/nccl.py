"""nccl-tests `all_reduce_perf` on the node's 8 GPUs: `nccl/all_reduce_perf.log`.

Layout: the current nccl-tests output (`# nccl-tests version 2.13.11 ...`, `# Collective test starting`,
`# nThread 1 nGpus 1 ...` of `mpirun -np 8 all_reduce_perf -b 8 -e 8G -f 2 -g 1`, one `# Using devices`
rank line per GPU with its bus id, the `#wrong` table, the `Out of bounds` / `Avg bus bandwidth` footer
and `# Collective test concluded`), with the `NCCL INFO NCCL version` line NCCL_DEBUG=WARN prints and
NCCL WARN lines as NCCL writes them (`host:pid:tid [dev] file.cc:line NCCL WARN ...`). Timings follow
an H100 NVLink all_reduce (latency-bound small sizes, busbw ~480 GB/s at 8 GB; busbw = algbw * 2(n-1)/n)
with +-2% between nodes.

Fault kinds rendered:
  gpu_fallen_off_bus  the sweep aborts mid-table: NCCL WARN Cuda failure 'unspecified launch failure' on the
                      GPU's rank, `Test NCCL failure ... 'unhandled cuda error ...'`, mpirun's abort
  driver_mismatch     every rank fails before the table: `Test CUDA failure ... 'system has unsupported display
                      driver / cuda driver combination'` (the CUDA error of a driver/library mismatch)
  application_error   communicator init fails on the GPU's rank: NCCL WARN Cuda failure 'out of memory'
  nvswitch_fatal      busbw above 1 MB at ~30% of normal, or the sweep aborts with an uncorrectable NVLink error
  ib_cable            NET/IB port error and retry-exceeded completion errors naming the HCA, busbw ~10% low
  hca_failure         NET/IB async event `local catastrophic error` on the HCA
  performance         busbw ~20% low at every size above 1 MB, nothing else
No noise kind shows in this file.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from fleetgen.model import Fault, Gpu, Hca, Node

PATH = "nccl/all_reduce_perf.log"
TESTS_VERSION = "2.13.11"
NCCL_CODE = 22304
NCCL_VERSION = "2.23.4+cuda12.6"
NRANKS = 8
SIZES = [1 << k for k in range(3, 34)]  # 8 B .. 8 GiB, factor 2
BUS_FACTOR = 2 * (NRANKS - 1) / NRANKS
PEAK_BUSBW = 490.0  # GB/s the NVLink all_reduce approaches at 8 GiB
SLOW_FROM = 1 << 20  # faults that cost bandwidth show above 1 MiB
SQRT_COST = 0.008  # us per sqrt(byte): the protocol ramp between latency- and bandwidth-bound sizes

HEADER = (
    "# nccl-tests version {tests} nccl-headers={code} nccl-library={code}\n"
    "# Collective test starting: all_reduce_perf\n"
    "# nThread 1 nGpus 1 minBytes 8 maxBytes 8589934592 step: 2(factor) warmup iters: 5 iters: 20 "
    "agg iters: 1 validation: 1 graph: 0\n"
    "#\n"
    "# Using devices\n"
)
RANK = "#  Rank {rank:2d} Group  0 Pid {pid:6d} on {host:>10s} device {dev:2d} [{bus}] NVIDIA H100 80GB HBM3\n"
TABLE_HEAD = (
    "#\n"
    f"# {'':>10s}  {'':>12s}  {'':>8s}  {'':>6s}  {'':>6s}"
    "           out-of-place                       in-place          \n"
    f"# {'size':>10s}  {'count':>12s}  {'type':>8s}  {'redop':>6s}  {'root':>6s}"
    f"  {'time':>7s}  {'algbw':>6s}  {'busbw':>6s}  {'#wrong':>6s}  {'time':>7s}  {'algbw':>6s}  {'busbw':>6s}"
    f"  {'#wrong':>6s} \n"
    f"# {'(B)':>10s}  {'(elements)':>12s}  {'':>8s}  {'':>6s}  {'':>6s}"
    f"  {'(us)':>7s}  {'(GB/s)':>6s}  {'(GB/s)':>6s}  {'':>6s}  {'(us)':>7s}  {'(GB/s)':>6s}  {'(GB/s)':>6s}"
    f"  {'':>6s} \n"
)
FOOTER = (
    "# Out of bounds values : 0 OK\n"
    "# Avg bus bandwidth    : {avg:g} \n"
    "#\n"
    "# Collective test concluded: all_reduce_perf\n"
    "\n"
)
MPIRUN_ABORT = (
    "--------------------------------------------------------------------------\n"
    "Primary job  terminated normally, but 1 process returned\n"
    "a non-zero exit code. Per user-direction, the job has been aborted.\n"
    "--------------------------------------------------------------------------\n"
    "--------------------------------------------------------------------------\n"
    "mpirun detected that one or more processes exited with non-zero status, thus causing\n"
    "the job to be terminated. The first process to do so was:\n"
    "\n"
    "  Process name: [[{jobid},1],{rank}]\n"
    "  Exit code:    {code}\n"
    "--------------------------------------------------------------------------\n"
)
WARN = "\n{host}:{pid}:{tid} [{dev}] {where} NCCL WARN {text}\n"
NCCL_FAILURE = (
    "{host}: Test NCCL failure common.cu:1005 'unhandled cuda error (run with NCCL_DEBUG=INFO for details) "
    "/ Cuda failure '{error}''\n"
)
CUDA_FAILURE = "{host}: Test CUDA failure common.cu:891 '{error}'\n"
TRACE = " .. {host} pid {pid}: Test failure {where}\n"
# The TESTCHECK trail a failing rank prints on its way out: mid-sweep, and from communicator init.
SWEEP_TRACE = ("common.cu:422", "common.cu:594", "all_reduce.cu:90", "common.cu:623", "common.cu:1092")
INIT_TRACE = ("common.cu:1150",)
DRIVER_MISMATCH = "system has unsupported display driver / cuda driver combination"
LAUNCH_FAILURE = "unspecified launch failure"
NVLINK_FAILURE = "uncorrectable NVLink error was detected during the execution"


@dataclass
class _Draws:
    """Every random draw of the file, made up front so a fault changes the text, never the draws."""

    pids: list[int]
    tids: list[int]
    jobid: int
    latency: float  # us
    peak: float  # busbw GB/s at the largest size
    jitter: list[tuple[float, float]]  # per size: out-of-place and in-place time factors
    abort_row: int  # the size a mid-sweep abort hits
    warn_row: int  # the row IB warnings follow
    nvswitch_aborts: bool
    peer_port: int


@dataclass
class _Outcome:
    """What the faults do to the run: a bandwidth factor, extra lines after rows, an abort."""

    factor: float = 1.0  # busbw multiplier above SLOW_FROM
    after_row: dict[int, list[str]] = field(default_factory=dict)
    abort_row: int | None = None  # the row whose preamble is the last thing printed
    abort_lines: list[str] = field(default_factory=list)
    init_lines: list[str] | None = None  # the run fails before the table (communicator init)
    start_lines: list[str] | None = None  # the run fails before the devices are listed


def write(node: Node) -> dict[str, bytes]:
    """The all_reduce_perf log of `node`."""
    draws = _draw(node.rng("nccl"))
    outcome = _outcome(node, draws)
    return {PATH: _render(node, draws, outcome).encode()}


def _draw(rng: random.Random) -> _Draws:
    pid = rng.randrange(18000, 60000)
    return _Draws(
        pids=[pid + r for r in range(NRANKS)],
        tids=[rng.randrange(40, 120) for _ in range(NRANKS)],
        jobid=rng.randrange(10000, 65000),
        latency=rng.uniform(10.5, 12.5),
        peak=PEAK_BUSBW * rng.uniform(0.98, 1.02),
        jitter=[(1 + rng.gauss(0, 0.004), 1 + rng.gauss(0, 0.004)) for _ in SIZES],
        abort_row=rng.randrange(16, 28),
        warn_row=rng.randrange(18, 26),
        nvswitch_aborts=rng.random() < 0.5,
        peer_port=rng.randrange(32768, 60999),
    )


def _outcome(node: Node, draws: _Draws) -> _Outcome:
    """Fold the node's faults into one outcome (a failure earlier in the run hides a later one)."""
    out = _Outcome()
    for _ in node.faults_of("performance"):
        out.factor *= 0.8
    _network(out, node, draws)
    for _ in node.faults_of("nvswitch_fatal"):
        if draws.nvswitch_aborts:
            _abort_sweep(out, node, draws, draws.abort_row % NRANKS, NVLINK_FAILURE)
        else:
            out.factor *= 0.3
    for fault in node.faults_of("gpu_fallen_off_bus"):
        _abort_sweep(out, node, draws, _gpu(fault).index, LAUNCH_FAILURE)
    for fault in node.faults_of("application_error"):
        rank = _gpu(fault).index
        out.init_lines = [
            _warn(node, draws, rank, "init.cc:1780", "Cuda failure 'out of memory'"),
            NCCL_FAILURE.format(host=node.host, error="out of memory"),
            *_trace(node, draws, rank, INIT_TRACE),
            MPIRUN_ABORT.format(jobid=draws.jobid, rank=rank, code=3),
        ]
    if node.faults_of("driver_mismatch"):
        out.start_lines = _driver_mismatch(node, draws)
    return out


def _network(out: _Outcome, node: Node, draws: _Draws) -> None:
    """InfiniBand faults: NCCL's NET/IB warnings mid-sweep, and a flapping cable's lost bandwidth."""
    for fault in node.faults_of("ib_cable"):
        out.factor *= 0.9
        out.after_row.setdefault(draws.warn_row, []).extend(_ib_cable_lines(node, draws, _hca(fault)))
    for fault in node.faults_of("hca_failure"):
        hca = _hca(fault)
        line = _warn(node, draws, hca.index, "transport/net_ib.cc:117", _async(hca, "local catastrophic error"))
        out.after_row.setdefault(draws.warn_row - 2, []).append(line)


def _abort_sweep(out: _Outcome, node: Node, draws: _Draws, rank: int, error: str) -> None:
    """The sweep dies at `draws.abort_row` on `rank` with a CUDA error under NCCL."""
    if out.abort_row is not None:
        return
    out.abort_row = draws.abort_row
    out.abort_lines = [
        _warn(node, draws, rank, "enqueue.cc:1556", f"Cuda failure '{error}'"),
        NCCL_FAILURE.format(host=node.host, error=error),
        *_trace(node, draws, rank, SWEEP_TRACE),
        MPIRUN_ABORT.format(jobid=draws.jobid, rank=rank, code=3),
    ]


def _driver_mismatch(node: Node, draws: _Draws) -> list[str]:
    """Every rank's first CUDA call fails; mpirun reports the first rank to exit."""
    lines = []
    for rank in range(NRANKS):
        lines.append(CUDA_FAILURE.format(host=node.host, error=DRIVER_MISMATCH))
        lines.append(TRACE.format(host=node.host, pid=draws.pids[rank], where="common.cu:1129"))
    lines.append(MPIRUN_ABORT.format(jobid=draws.jobid, rank=0, code=2))
    return lines


def _ib_cable_lines(node: Node, draws: _Draws, hca: Hca) -> list[str]:
    """A flapping link: port error, retry-exceeded completions on the HCA, then the port back up."""
    peer = f"10.{16 + hca.index}.{hca.lid % 250}.{10 + hca.index}<{draws.peer_port}>"
    completion = (
        f"NET/IB: Got completion from peer {peer} with status=IBV_WC_RETRY_EXC_ERR(12) "
        f"opcode=IBV_WC_RDMA_WRITE(1) vendor_err=129  hca {hca.name}"
    )
    rank = hca.index  # the GPU on the HCA's PCIe switch
    return [
        _warn(node, draws, rank, "transport/net_ib.cc:117", _async(hca, "port error")),
        _warn(node, draws, rank, "transport/net_ib.cc:2310", completion),
        _warn(node, draws, (rank + 1) % NRANKS, "transport/net_ib.cc:2310", completion),
        _warn(node, draws, rank, "transport/net_ib.cc:117", _async(hca, "port active")),
    ]


def _async(hca: Hca, event: str) -> str:
    return f"NET/IB : {hca.name}:{hca.port} Got async event : {event}"


def _warn(node: Node, draws: _Draws, rank: int, where: str, text: str) -> str:
    pid = draws.pids[rank]
    return WARN.format(host=node.host, pid=pid, tid=pid + draws.tids[rank], dev=rank, where=where, text=text)


def _trace(node: Node, draws: _Draws, rank: int, places: tuple[str, ...]) -> list[str]:
    return [TRACE.format(host=node.host, pid=draws.pids[rank], where=where) for where in places]


def _gpu(fault: Fault) -> Gpu:
    assert isinstance(fault.target, Gpu)
    return fault.target


def _hca(fault: Fault) -> Hca:
    assert isinstance(fault.target, Hca)
    return fault.target


def _render(node: Node, draws: _Draws, out: _Outcome) -> str:
    parts = [HEADER.format(tests=TESTS_VERSION, code=NCCL_CODE)]
    if out.start_lines is not None:
        return "".join(parts + out.start_lines)
    for gpu in node.gpus:
        bus = gpu.bdf.rsplit(".", 1)[0]  # 0000:18:00
        parts.append(RANK.format(rank=gpu.index, pid=draws.pids[gpu.index], host=node.host, dev=gpu.index, bus=bus))
    parts.append(f"{node.host}:{draws.pids[0]}:{draws.pids[0]} [0] NCCL INFO NCCL version {NCCL_VERSION}\n")
    if out.init_lines is not None:
        return "".join(parts + out.init_lines)
    parts.append(TABLE_HEAD)
    busbws: list[float] = []
    for row, size in enumerate(SIZES):
        preamble = f"{size:12d}  {size // 4:12d}  {'float':>8s}  {'sum':>6s}  {-1:6d}"
        if row == out.abort_row:
            parts.append(preamble)
            return "".join(parts + out.abort_lines)
        cells = []
        for factor in draws.jitter[row]:
            time = _time(size, draws) * factor / (out.factor if size > SLOW_FROM else 1.0)
            algbw = size / time / 1e3
            busbws.append(algbw * BUS_FACTOR)
            cells.append(f"  {_num(time, 7)}  {_num(algbw, 6)}  {_num(algbw * BUS_FACTOR, 6)}  {0:6g}")
        parts.append(preamble + "".join(cells) + "\n")
        parts.extend(out.after_row.get(row, []))
    parts.append(FOOTER.format(avg=sum(busbws) / len(busbws)))
    return "".join(parts)


def _time(size: int, draws: _Draws) -> float:
    """Microseconds of one all_reduce of `size` bytes: latency, protocol ramp, then the bus bandwidth."""
    algbw_peak = draws.peak / BUS_FACTOR * 1e3  # bytes per us
    return draws.latency + SQRT_COST * math.sqrt(size) + size / algbw_peak


def _num(value: float, width: int) -> str:
    """A number as nccl-tests prints it in a `width` column (more decimals for smaller values)."""
    digits = len(str(int(value))) if value >= 1 else 0
    if digits < width - 2:
        return f"{value:{width}.2f}"
    if digits < width - 1:
        return f"{value:{width}.1f}"
    return f"{value:{width}.0f}"
