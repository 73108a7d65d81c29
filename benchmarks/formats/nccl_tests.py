"""nccl-tests outputs for the parser benchmark: whole 8 B - 8 GB sweeps of every collective per node.

Per node (4 x scale nodes): one file per collective in the current layout (`#wrong`, `redop`,
`root`), one all_reduce sweep over every data type and operator (`-d all -o all`, ~1,800 rows),
one 2-node all_reduce with NCCL_DEBUG=INFO lines interleaved, and one sweep in the old `error`
column layout. Values follow nccl-tests' own formulas (algbw = size / time, busbw per collective)
with seeded noise, so the files are deterministic.
"""

from __future__ import annotations

import random

GPUS = 8
MODEL = "NVIDIA H100 80GB HBM3"
BUSES = ["18", "2a", "3a", "5d", "9a", "ab", "ba", "db"]
# collective: (size = count x word x nranks?, bus factor for n ranks, redop, rooted)
COLLECTIVES = {
    "all_reduce": (False, lambda n: 2 * (n - 1) / n, "sum", False),
    "all_gather": (True, lambda n: (n - 1) / n, "none", False),
    "reduce_scatter": (True, lambda n: (n - 1) / n, "sum", False),
    "alltoall": (True, lambda n: (n - 1) / n, "none", False),
    "broadcast": (False, lambda n: 1.0, "none", True),
    "reduce": (False, lambda n: 1.0, "sum", True),
    "sendrecv": (False, lambda n: 1.0, "sum", False),
}
TYPES = {"int8": 1, "uint8": 1, "int32": 4, "uint32": 4, "int64": 8, "uint64": 8, "half": 2, "float": 4,
         "double": 8, "bfloat16": 2}  # fmt: skip
OPS = ["sum", "prod", "max", "min", "avg"]
COLUMNS = """\
#
#                                                              out-of-place                       in-place          
#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong
#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)       
"""  # noqa: W291
OLD_COLUMNS = """\
#
#                                                     out-of-place                       in-place
#       size         count    type   redop     time   algbw   busbw  error     time   algbw   busbw  error
#        (B)    (elements)                     (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)
"""


def make(scale: int = 1) -> list[tuple[str, bytes]]:
    """Realistic nccl-tests output files (name, content); `scale` multiplies the nodes."""
    files = []
    for n in range(4 * scale):
        host = f"gpu-node-{n + 1:03d}"
        rng = random.Random(n)
        for name in COLLECTIVES:
            files.append((f"{host}/nccl/{name}_perf.log", _run(rng, host, name, ["float"], None).encode()))
        files.append(
            (f"{host}/nccl/all_reduce_all_types.log", _run(rng, host, "all_reduce", list(TYPES), OPS).encode())
        )
        files.append((f"{host}/nccl/all_reduce_2node_debug.log", _debug_run(rng, host).encode()))
        files.append((f"{host}/nccl/nccl_allreduce_old.log", _old_run(rng, host).encode()))
    return files


def _sizes() -> list[int]:
    return [8 << k for k in range(31)]  # 8 B .. 8 GiB


def _time_us(rng: random.Random, size: int, peak_gbps: float) -> float:
    return (12.0 + size / (peak_gbps * 1e3)) * rng.uniform(0.97, 1.03)


def _cell(value: float, width: int) -> str:
    """A number the way nccl-tests prints it: fewer decimals as it grows."""
    digits = len(str(int(value)))
    decimals = 2 if digits < width - 2 else 1 if digits < width - 1 else 0
    return f"{value:{width}.{decimals}f}"


def _header(host: str, ranks: list[tuple[str, int]], min_bytes: int, max_bytes: int, name: str) -> str:
    lines = [
        "# nccl-tests version 2.13.10 nccl-headers=22105 nccl-library=22105",
        f"# Collective test starting: {name}_perf",
        f"# nThread 1 nGpus 1 minBytes {min_bytes} maxBytes {max_bytes} step: 2(factor) warmup iters: 5 iters: 20 "
        "agg iters: 1 validation: 1 graph: 0",
        "#",
        "# Using devices",
    ]
    for rank, (rank_host, device) in enumerate(ranks):
        lines.append(
            f"#  Rank {rank:2d} Group  0 Pid {40000 + rank:6d} on {rank_host:>10s} device {device:2d} "
            f"[0000:{BUSES[device]}:00] {MODEL}"
        )
    return "\n".join(lines) + "\n"


def _row(rng: random.Random, name: str, size: int, type_name: str, op: str, nranks: int, peak: float) -> str:
    per_rank, factor, redop, rooted = COLLECTIVES[name]
    word = TYPES[type_name]
    count = size // word // (nranks if per_rank else 1)
    size = count * word * (nranks if per_rank else 1)
    cells = [
        f"{size:12d}  {count:12d}  {type_name:>8s}  {redop if redop == 'none' else op:>6s}  {0 if rooted else -1:6d}"
    ]
    for _ in range(2):
        time = _time_us(rng, size, peak)
        algbw = size / time / 1e3
        cells.append(f"  {_cell(time, 7)}  {_cell(algbw, 6)}  {_cell(algbw * factor(nranks), 6)}  {0:6d}")
    return "".join(cells)


def _footer(name: str, avg: float) -> str:
    lines = ["# Out of bounds values : 0 OK", f"# Avg bus bandwidth    : {avg:g} ", "#"]
    return "\n".join([*lines, f"# Collective test concluded: {name}_perf", "#", ""])


def _run(rng: random.Random, host: str, name: str, types: list[str], ops: list[str] | None) -> str:
    ranks = [(host, d) for d in range(GPUS)]
    rows = [
        _row(rng, name, size, type_name, op, GPUS, 240.0)
        for type_name in types
        for op in ops or [COLLECTIVES[name][2] if COLLECTIVES[name][2] != "none" else "sum"]
        for size in _sizes()
    ]
    return _header(host, ranks, 8, 8 << 30, name) + COLUMNS + "\n".join(rows) + "\n" + _footer(name, 71.2)


def _debug_run(rng: random.Random, host: str) -> str:
    peer = f"{host}-peer"
    ranks = [(h, d) for h in (host, peer) for d in range(GPUS)]
    info = [
        f"{host}:51234:{51300 + k} [{k % GPUS}] NCCL INFO Channel {k % 32:02d}/0 : {k % 16}[{k % GPUS}] -> "
        f"{(k + 1) % 16}[{(k + 1) % GPUS}] [send] via NET/IB/{k % 8}/GDRDMA"
        for k in range(400)
    ]
    rows = [_row(rng, "all_reduce", size, "float", "sum", 16, 180.0) for size in _sizes()]
    # Three INFO lines of other threads after every result row, as a busy 2-node run prints them.
    body = info[:300] + [line for k, row in enumerate(rows) for line in (row, *info[300 + 3 * k : 303 + 3 * k])]
    return (
        _header(host, ranks, 8, 8 << 30, "all_reduce") + COLUMNS + "\n".join(body) + "\n" + _footer("all_reduce", 63.9)
    )


def _old_run(rng: random.Random, host: str) -> str:
    ranks = "\n".join(
        f"#   Rank {d:2d} Pid  27541 on {host:>10s} device {d:2d} [0x{BUSES[d]}] {MODEL}" for d in range(GPUS)
    )
    head = (
        "# nThread 1 nGpus 8 minBytes 8 maxBytes 8589934592 step: 2(factor) warmup iters: 5 iters: 20 validation: 0\n"
        f"#\n# Using devices\n{ranks}\n"
    )
    rows = []
    for size in _sizes():
        cells = [f"{size:12d}  {size // 4:12d}  {'float':>6s}  {'sum':>6s}"]
        for _ in range(2):
            time = _time_us(rng, size, 230.0)
            algbw = size / time / 1e3
            cells.append(f"  {_cell(time, 7)}  {_cell(algbw, 6)}  {_cell(algbw * 1.75, 6)}    N/A")
        rows.append("".join(cells))
    return (
        head + OLD_COLUMNS + "\n".join(rows) + "\n# Out of bounds values : 0 OK\n# Avg bus bandwidth    : 68.4048\n#\n"
    )
