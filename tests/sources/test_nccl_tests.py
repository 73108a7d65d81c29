"""nccl-tests outputs: layouts, runs and verdicts, collective naming, sniffing, real files, ingest."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from triage.ingest import ingest
from triage.sources import nccl_tests
from triage.sources.reading import Parsed, parse_bytes, parse_path
from triage.sources.records import canonical_json
from triage.store import Store

RANKS_8 = "\n".join(
    f"#  Rank  {r} Group  0 Pid  41234 on gpu-node-017 device  {r} [0000:{bus}:00] NVIDIA H100 80GB HBM3"
    for r, bus in enumerate(["18", "2a", "3a", "5d", "9a", "ab", "ba", "db"])
)
COLUMNS = """\
#                                                              out-of-place                       in-place          
#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong
#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)       """  # noqa: W291

# nccl-tests 2.13-style all_reduce on one 8-GPU node (`#wrong`, `Group` in the rank lines).
ALL_REDUCE = f"""\
# nThread 1 nGpus 8 minBytes 1048576 maxBytes 4194304 step: 2(factor) warmup iters: 5 iters: 20 agg iters: 1 validation: 1 graph: 0
#
# Using devices
{RANKS_8}
#
{COLUMNS}
     1048576        262144     float     sum      -1    33.12   31.66   55.40      0    32.87   31.90   55.83      0
     2097152        524288     float     sum      -1    41.80   50.17   87.80      0    41.52   50.51   88.39      0
     4194304       1048576     float     sum      -1    58.94   71.16  124.53      0    58.70   71.45  125.04      0
# Out of bounds values : 0 OK
# Avg bus bandwidth    : 89.5817 
#
"""  # noqa: W291

# The old layout: `error` column, no `root` for all_reduce, rank lines without `Group`.
OLD_ALL_REDUCE = """\
# nThread 1 nGpus 8 minBytes 8 maxBytes 32 step: 2(factor) warmup iters: 5 iters: 20 validation: 1
#
# Using devices
#   Rank  0 Pid  27541 on   dgx-a100-03 device  0 [0x07] A100-SXM4-40GB
#   Rank  1 Pid  27541 on   dgx-a100-03 device  1 [0x0f] A100-SXM4-40GB
#
#                                                     out-of-place                       in-place
#       size         count    type   redop     time   algbw   busbw  error     time   algbw   busbw  error
#        (B)    (elements)                     (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)
           8             2   float     sum    12.61    0.00    0.00  0e+00    12.40    0.00    0.00  0e+00
          16             4   float     sum    12.48    0.00    0.00  0e+00    12.39    0.00    0.00  0e+00
          32             8   float     sum    12.55    0.00    0.00  0e+00    12.47    0.00    0.00  0e+00
# Out of bounds values : 0 OK
# Avg bus bandwidth    : 0.00198
#
"""

# The current layout: version line, banner, `#iters`, per-iteration columns and timestamps.
CURRENT_BROADCAST = """\
# nccl-tests version 2.17.6 nccl-headers=22807 nccl-library=22807
# Collective test starting: broadcast_perf
# nThread 1 nGpus 2 minBytes 16777216 maxBytes 33554432 step: 2(factor) warmup iters: 1 iters: 20 agg iters: 1 validation: 1 graph: 0 unalign: 0
# Per-Iteration Report: CUDA event timing; i_* uses max over process rows 
#
# Using devices
#  Rank  0 Group  0 Pid   9001 on gpu-node-021 device  0 [0000:18:00] NVIDIA H200
#  Rank  1 Group  0 Pid   9001 on gpu-node-021 device  1 [0000:2a:00] NVIDIA H200
#
#                                              out-of-place (+ per-iteration)                                in-place (+ per-iteration)
#       size         count      type   redop    root     time   algbw   busbw  #wrong    i_min    i_max    i_p99    i_cv%     time   algbw   busbw  #wrong    i_min    i_max    i_p99    i_cv%           timestamp
#        (B)    (elements)                               (us)  (GB/s)  (GB/s)             (us)     (us)     (us)      (%)     (us)  (GB/s)  (GB/s)             (us)     (us)     (us)      (%)   %Y-%m-%d %H:%M:%S
    16777216       4194304     float    none       0    52.31  320.73  320.73       0    51.02    55.90    55.90     2.10    51.88  323.39  323.39       0    50.94    54.71    54.71     1.95  2025-06-01 10:00:01
    33554432       8388608     float    none       0    99.87  335.98  335.98       0    98.70   104.22   104.22     1.45    99.12  338.52  338.52       0    98.33   103.01   103.01     1.38  2025-06-01 10:00:02
# Out of bounds values : 0 OK
# Avg bus bandwidth    : 329.655 
#
# Collective test concluded: broadcast_perf
#
"""  # noqa: W291

# No `# nThread` header: a result table amid NCCL_DEBUG=INFO lines, as `grep`-ed from a job log.
NOISE_TABLE = """\
gpu-node-030:7781:7781 [0] NCCL INFO Bootstrap : Using eth0:10.1.0.30<0>
gpu-node-030:7781:7781 [0] NCCL INFO NCCL version 2.21.5+cuda12.4
gpu-node-030:7781:7809 [0] NCCL INFO NET/IB : Using [0]mlx5_0:1/IB [1]mlx5_3:1/IB ; OOB eth0:10.1.0.30<0>
gpu-node-030:7781:7809 [0] NCCL INFO Channel 00/02 :    0   1   2   3   4   5   6   7
           1048576        262144     float     sum      -1    33.12   31.66   55.40      0    32.87   31.90   55.83      0
gpu-node-030:7781:7815 [0] NCCL INFO Connected all rings
           2097152        524288     float     sum      -1    41.80   50.17   87.80      0    41.52   50.51   88.39      0
gpu-node-030:7781:7781 [0] NCCL INFO comm 0x55d1c5a0 rank 0 nranks 8 cudaDev 0 busId 18000 - Destroy COMPLETE
"""

# srun could not start the test at all.
SRUN_FAILURE = """\
srun: job 884213 queued and waiting for resources
srun: job 884213 has been allocated resources
/opt/nccl-tests/build/alltoall_perf: error while loading shared libraries: libnccl.so.2: cannot open shared object file
srun: error: gpu-node-044: task 0: Exited with exit code 127
"""


def header_and_rows(rows: list[str], footer: list[str] | None = None) -> bytes:
    """An all_reduce run of ALL_REDUCE's header with other rows and footer."""
    head = ALL_REDUCE.split(COLUMNS)[0] + COLUMNS + "\n"
    return (head + "\n".join(rows + (footer or [])) + "\n").encode()


ROW_1M = "     1048576        262144     float     sum      -1    33.12   31.66   55.40      0    32.87   31.90   55.83      0"
ROW_2M = "     2097152        524288     float     sum      -1    41.80   50.17   87.80      0    41.52   50.51   88.39      0"
ROW_4M = "     4194304       1048576     float     sum      -1    58.94   71.16  124.53      0    58.70   71.45  125.04      0"
FOOTER = ["# Out of bounds values : 0 OK", "# Avg bus bandwidth    : 89.5817 ", "#"]


def runs(parsed: Parsed) -> list[tuple[Any, ...]]:
    """(test, status, line_no, detail) of every run."""
    return parsed.table("test_runs").select("test", "status", "line_no", "detail").rows()


def values(parsed: Parsed, metric: str) -> list[tuple[Any, ...]]:
    """(line_no, value, params as dict) of one metric."""
    frame = parsed.table("measurements")
    if frame.height == 0:
        return []
    frame = frame.filter(pl.col("metric") == metric)
    return [(n, v, json.loads(p) if p else None) for n, v, p in frame.select("line_no", "value", "params").rows()]


def run_params(parsed: Parsed, run: int = 0) -> dict[str, Any]:
    return json.loads(parsed.table("test_runs")["params"][run])


# --- layouts ---------------------------------------------------------------------------------------


def test_wrong_column_layout() -> None:
    parsed = parse_bytes(ALL_REDUCE.encode(), "gpu-node-017/nccl/stdout.txt")
    assert (parsed.kind, parsed.format, parsed.host, parsed.error) == (
        "nccl_tests",
        "wrong_column",
        "gpu-node-017",
        None,
    )
    assert runs(parsed) == [("nccl_all_reduce", "pass", 1, "Avg bus bandwidth 89.5817 GB/s; 3 result rows")]
    params = run_params(parsed)
    assert {k: v for k, v in params.items() if k != "ranks"} == {
        "nThread": 1,
        "nGpus": 8,
        "minBytes": 1048576,
        "maxBytes": 4194304,
        "step": 2,
        "step_unit": "factor",
        "warmup_iters": 5,
        "iters": 20,
        "agg_iters": 1,
        "validation": 1,
        "graph": 0,
        "nranks": 8,
        "nodes": 1,
    }
    assert params["ranks"][3] == {
        "rank": 3,
        "host": "gpu-node-017",
        "device": 3,
        "bus_id": "0000:5d:00.0",
        "model": "NVIDIA H100 80GB HBM3",
    }
    measurements = parsed.table("measurements")
    assert measurements["device"].null_count() == measurements.height
    assert set(measurements["test"]) == {"nccl_all_reduce"}
    assert values(parsed, "busbw")[-2:] == [
        (18, 124.53, {"count": 1048576, "placement": "out_of_place", "redop": "sum", "root": -1, "size": 4194304, "type": "float"}),
        (18, 125.04, {"count": 1048576, "placement": "in_place", "redop": "sum", "root": -1, "size": 4194304, "type": "float"}),
    ]  # fmt: skip
    assert measurements["params"][0] == canonical_json(
        {"size": 1048576, "count": 262144, "type": "float", "redop": "sum", "root": -1, "placement": "out_of_place"}
    )
    units = dict(measurements.select("metric", "unit").unique().rows())
    assert units == {
        "time": "us",
        "algbw": "GB/s",
        "busbw": "GB/s",
        "wrong": "count",
        "oob_values": "count",
        "avg_busbw": "GB/s",
    }
    assert values(parsed, "avg_busbw") == [(20, 89.5817, None)]
    assert values(parsed, "oob_values") == [(19, 0.0, None)]
    assert measurements.height == 3 * 8 + 2


def test_old_error_column_layout() -> None:
    parsed = parse_bytes(OLD_ALL_REDUCE.encode(), "dgx-a100-03/all_reduce_perf.out")
    assert (parsed.format, parsed.host, parsed.error) == ("error_column", "dgx-a100-03", None)
    assert runs(parsed) == [("nccl_all_reduce", "pass", 1, "Avg bus bandwidth 0.00198 GB/s; 3 result rows")]
    assert values(parsed, "time")[:2] == [
        (10, 12.61, {"count": 2, "placement": "out_of_place", "redop": "sum", "size": 8, "type": "float"}),
        (10, 12.4, {"count": 2, "placement": "in_place", "redop": "sum", "size": 8, "type": "float"}),
    ]
    assert [v for _, v, _ in values(parsed, "wrong")] == [0.0] * 6  # printed as `0e+00`
    assert run_params(parsed)["ranks"][1] == {
        "rank": 1,
        "host": "dgx-a100-03",
        "device": 1,
        "bus_id": "0x0f",
        "model": "A100-SXM4-40GB",
    }


def test_current_layout_with_per_iteration_columns_and_timestamps() -> None:
    parsed = parse_bytes(CURRENT_BROADCAST.encode(), "gpu-node-021/results.txt")
    assert (parsed.format, parsed.host, parsed.error) == ("collective_banner", "gpu-node-021", None)
    assert runs(parsed) == [("nccl_broadcast", "pass", 1, "Avg bus bandwidth 329.655 GB/s; 2 result rows")]
    run = parsed.table("test_runs").row(0, named=True)
    assert (run["started"], run["ended"]) == (datetime(2025, 6, 1, 10, 0, 1), datetime(2025, 6, 1, 10, 0, 2))
    assert run_params(parsed)["nccl_tests_version"] == "2.17.6"
    assert run_params(parsed)["unalign"] == 0
    row_13 = parsed.table("measurements").filter(pl.col("line_no") == 13)
    assert row_13.select("metric", "value", "unit").rows() == [
        ("time", 52.31, "us"),
        ("algbw", 320.73, "GB/s"),
        ("busbw", 320.73, "GB/s"),
        ("wrong", 0.0, "count"),
        ("time_min", 51.02, "us"),
        ("time_max", 55.9, "us"),
        ("time_p99", 55.9, "us"),
        ("time_cv", 2.1, "%"),
        ("time", 51.88, "us"),
        ("algbw", 323.39, "GB/s"),
        ("busbw", 323.39, "GB/s"),
        ("wrong", 0.0, "count"),
        ("time_min", 50.94, "us"),
        ("time_max", 54.71, "us"),
        ("time_p99", 54.71, "us"),
        ("time_cv", 1.95, "%"),
    ]
    assert set(row_13["ts"]) == {datetime(2025, 6, 1, 10, 0, 1)}
    assert json.loads(row_13["params"][0]) == {
        "count": 4194304,
        "placement": "out_of_place",
        "redop": "none",
        "root": 0,
        "size": 16777216,
        "type": "float",
    }


def test_table_amid_nccl_debug_noise() -> None:
    parsed = parse_bytes(NOISE_TABLE.encode(), "gpu-node-030/job-884100.out")
    assert (parsed.kind, parsed.format, parsed.error) == ("nccl_tests", "table_only", None)
    assert runs(parsed) == [
        (
            "nccl_unknown",
            "incomplete",
            5,
            "cut off after size 2097152 B (line 7); no 'Avg bus bandwidth' footer; collective unknown: not named in "
            "the output or file name, and the table fits all_reduce, reduce_scatter (redop op, no root, unknown ranks)",
        )
    ]
    assert run_params(parsed) == {"nccl_version": "2.21.5+cuda12.4"}
    assert [(n, v) for n, v, _ in values(parsed, "busbw")] == [(5, 55.4), (5, 55.83), (7, 87.8), (7, 88.39)]


def test_launcher_failure_without_table() -> None:
    parsed = parse_bytes(SRUN_FAILURE.encode(), "gpu-node-044/slurm-884213.out")
    assert (parsed.kind, parsed.format, parsed.error) == ("nccl_tests", "launch_failure", None)
    assert runs(parsed) == [
        ("nccl_alltoall", "error", 4, "srun: error: gpu-node-044: task 0: Exited with exit code 127"),
    ]
    assert parsed.table("measurements").height == 0


def test_every_line_is_an_event() -> None:
    data = header_and_rows(
        [ROW_1M, "gpu-node-017:41234:41301 [1] NCCL WARN NET/IB : Got async event : port error", ROW_2M], FOOTER
    )
    parsed = parse_bytes(data, "node/x.log")
    events = parsed.table("events")
    assert events["line_no"].to_list() == list(range(1, data.count(b"\n") + 1))
    assert set(events["source"]) == {"nccl_tests"}
    assert events.filter(pl.col("line_no") == 17)["message"].to_list() == [
        "gpu-node-017:41234:41301 [1] NCCL WARN NET/IB : Got async event : port error"
    ]


def test_batches_do_not_change_the_result() -> None:
    data = CURRENT_BROADCAST.encode()
    whole = parse_bytes(data, "n/x.txt")
    pieces = parse_bytes(data, "n/x.txt", batch_bytes=128)
    for table in ("events", "measurements", "test_runs"):
        assert pieces.table(table).equals(whole.table(table))


@pytest.mark.parametrize(
    ("line", "rank"),
    [
        pytest.param(
            "#   Rank  0 Pid 112424 on localhost device  0 [0x00] A100-SXM4-40GB",
            {"rank": 0, "host": "localhost", "device": 0, "bus_id": "0x00", "model": "A100-SXM4-40GB"},
            id="pid-without-group",
        ),
        pytest.param(
            "#  Rank  3 Group  0 Pid    123 on   gpu-node-9 device  3 [0x07] NVIDIA H100 80GB HBM3",
            {"rank": 3, "host": "gpu-node-9", "device": 3, "bus_id": "0x07", "model": "NVIDIA H100 80GB HBM3"},
            id="group-and-bus-number",
        ),
        pytest.param(
            "#  Rank 12 Group  0 Pid  50781 on gpu-node-9 device  4 [0000:9a:00] NVIDIA B200",
            {"rank": 12, "host": "gpu-node-9", "device": 4, "bus_id": "0000:9a:00.0", "model": "NVIDIA B200"},
            id="domain-bus-device",
        ),
        pytest.param(
            "#   Rank  1 on    dgx1-07 device  1 [0x07] Tesla V100-SXM2-16GB",
            {"rank": 1, "host": "dgx1-07", "device": 1, "bus_id": "0x07", "model": "Tesla V100-SXM2-16GB"},
            id="without-pid",
        ),
    ],
)
def test_rank_line_variants(line: str, rank: dict[str, Any]) -> None:
    header = ALL_REDUCE.splitlines()[0]
    parsed = parse_bytes(f"{header}\n#\n# Using devices\n{line}\n".encode(), "n/all_reduce.log")
    assert run_params(parsed)["ranks"] == [rank]


# --- verdicts --------------------------------------------------------------------------------------


def test_wrong_elements_fail_the_run() -> None:
    rows = [
        ROW_1M,
        ROW_2M.replace("87.80      0", "87.80     12").replace("88.39      0", "88.39      3"),
        ROW_4M.replace("124.53      0", "124.53   1024"),
    ]
    parsed = parse_bytes(header_and_rows(rows, ["# Out of bounds values : 2 FAILED", "# Avg bus bandwidth    : 89.58"]))
    assert runs(parsed) == [
        (
            "nccl_all_reduce",  # inferred: busbw = algbw x 2(n-1)/n, size = count x 4 B
            "fail",
            1,
            "Out of bounds values: 2 FAILED; #wrong > 0 in 2 rows: 2097152 B (out_of_place 12, in_place 3), "
            "4194304 B (out_of_place 1024)",
        )
    ]
    assert [(n, v) for n, v, _ in values(parsed, "wrong") if v] == [(17, 12.0), (17, 3.0), (18, 1024.0)]
    assert values(parsed, "oob_values") == [(19, 2.0, None)]


def test_nccl_failure_is_an_error_with_its_line() -> None:
    data = header_and_rows(
        [
            ROW_1M,
            "gpu-node-017:41234:41340 [3] NCCL WARN Cuda failure 'an illegal memory access was encountered'",
            "gpu-node-017: Test NCCL failure common.cu:1005 'unhandled cuda error (run with NCCL_DEBUG=INFO for "
            "details) / Cuda failure 'an illegal memory access was encountered''",
            " .. gpu-node-017 pid 41234: Test failure common.cu:891",
        ]
    )
    parsed = parse_bytes(data, "gpu-node-017/all_reduce.log")
    assert runs(parsed) == [
        (
            "nccl_all_reduce",
            "error",
            1,
            "gpu-node-017: Test NCCL failure common.cu:1005 'unhandled cuda error (run with NCCL_DEBUG=INFO for "
            "details) / Cuda failure 'an illegal memory access was encountered''",
        )
    ]
    assert [n for n, _, _ in values(parsed, "busbw")] == [16, 16]


def test_mpi_abort_after_the_table_is_an_error() -> None:
    data = header_and_rows(
        [ROW_1M],
        [
            "--------------------------------------------------------------------------",
            "Primary job  terminated normally, but 1 process returned",
            "a non-zero exit code. Per user-direction, the job has been aborted.",
            "--------------------------------------------------------------------------",
        ],
    )
    parsed = parse_bytes(data, "n/all_reduce_perf.log")
    assert runs(parsed) == [
        (
            "nccl_all_reduce",
            "error",
            1,
            "Primary job  terminated normally, but 1 process returned a non-zero exit code. Per user-direction, "
            "the job has been aborted.",
        )
    ]


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        pytest.param(
            header_and_rows([ROW_1M, ROW_2M]),
            "cut off after size 2097152 B of 4194304 B (line 17); no 'Avg bus bandwidth' footer",
            id="after-a-whole-row",
        ),
        pytest.param(
            header_and_rows([ROW_1M, ROW_2M[:70]]),
            "cut off after size 1048576 B of 4194304 B (line 16); no 'Avg bus bandwidth' footer; "
            "line 17 is a partial row",
            id="mid-row-at-end-of-file",
        ),
        pytest.param(
            header_and_rows([ROW_1M, "gpu-node-017:41234:41301 [1] NCCL WARN NET/IB : Got async event : port error"]),
            "cut off after size 1048576 B of 4194304 B (line 16); no 'Avg bus bandwidth' footer; "
            "last warning: gpu-node-017:41234:41301 [1] NCCL WARN NET/IB : Got async event : port error",
            id="after-a-warning",
        ),
        pytest.param(
            header_and_rows([]),
            "cut off before the first result row; no 'Avg bus bandwidth' footer",
            id="before-the-first-row",
        ),
        pytest.param(
            header_and_rows([ROW_1M, ROW_2M, ROW_4M], ["# Out of bounds values : 0 OK"]),
            "cut off after size 4194304 B of 4194304 B (line 18); no 'Avg bus bandwidth' footer",
            id="before-the-average",
        ),
    ],
)
def test_truncated_runs_are_incomplete(data: bytes, detail: str) -> None:
    parsed = parse_bytes(data, "gpu-node-017/all_reduce.log")
    assert parsed.error is None
    assert runs(parsed) == [("nccl_all_reduce", "incomplete", 1, detail)]


def test_run_cut_mid_row_then_restarted() -> None:
    data = header_and_rows([ROW_1M, ROW_2M[:70]]) + ALL_REDUCE.encode()
    parsed = parse_bytes(data, "n/all_reduce.log")
    assert parsed.error is None
    assert [(s, n, d) for _, s, n, d in runs(parsed)] == [
        (
            "incomplete",
            1,
            "cut off after size 1048576 B of 4194304 B (line 16); no 'Avg bus bandwidth' footer; "
            "line 17 is a partial row",
        ),
        ("pass", 18, "Avg bus bandwidth 89.5817 GB/s; 3 result rows"),
    ]


def test_run_cut_mid_row_by_a_killed_job_is_an_error() -> None:
    data = header_and_rows([ROW_1M, ROW_2M[:70], "srun: error: gpu-node-017: task 0: Exited with exit code 137"])
    parsed = parse_bytes(data, "n/all_reduce.log")
    assert parsed.error is None
    assert runs(parsed) == [
        ("nccl_all_reduce", "error", 1, "srun: error: gpu-node-017: task 0: Exited with exit code 137")
    ]


def test_header_alone_is_an_incomplete_run() -> None:
    parsed = parse_bytes(ALL_REDUCE.splitlines()[0].encode(), "n/reduce_scatter_perf.txt")
    assert parsed.error is None
    assert runs(parsed) == [
        ("nccl_reduce_scatter", "incomplete", 1, "cut off before the first result row; no 'Avg bus bandwidth' footer")
    ]


def test_garbled_row_inside_the_table_is_malformed() -> None:
    garbled = (
        "     2097152        524288     float     sum      -1    41.80   50.1gpu-node-017:41234:41301 [1] NCCL INFO"
    )
    parsed = parse_bytes(header_and_rows([ROW_1M, garbled, ROW_4M], FOOTER), "n/all_reduce.log")
    assert parsed.error == "line 17: result row has 10 cells where the table's other rows have 13"
    assert runs(parsed) == [
        ("nccl_all_reduce", "error", 1, "line 17: result row has 10 cells where the table's other rows have 13")
    ]
    assert sorted({n for n, _, _ in values(parsed, "time")}) == [16]  # the row before the fault is kept
    assert values(parsed, "avg_busbw") == []


def test_unparsable_number_is_malformed() -> None:
    parsed = parse_bytes(header_and_rows([ROW_1M, ROW_2M.replace("41.80", "41.8x"), ROW_4M], FOOTER), "n/ar.log")
    assert parsed.error == "line 17: result row has a cell that is not a number"


def test_several_runs_in_one_file() -> None:
    second = CURRENT_BROADCAST.replace("broadcast_perf", "reduce_perf").replace("    none       0", "     sum       0")
    parsed = parse_bytes((ALL_REDUCE + "+ mpirun -np 8 ./build/reduce_perf -b 16M -e 32M\n" + second).encode())
    assert [(t, s, n) for t, s, n, _ in runs(parsed)] == [("nccl_all_reduce", "pass", 1), ("nccl_reduce", "pass", 23)]
    measurements = parsed.table("measurements")
    assert measurements.group_by("run_id").agg(pl.len()).sort("run_id").rows() == [(1, 26), (2, 34)]


def test_empty_and_blank_input() -> None:
    assert parse_bytes(b"", "n/nccl.log").kind == "text"
    parsed = parse_bytes(b"# Avg bus bandwidth    : 12.5\n\n", "n/all_gather_perf.log")
    assert (parsed.kind, parsed.format, parsed.error) == ("nccl_tests", "table_only", None)
    assert runs(parsed) == [("nccl_all_gather", "pass", 1, "Avg bus bandwidth 12.5 GB/s; 0 result rows")]


# --- which collective ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("fleet/node1/nccl_allreduce.log", "all_reduce", id="allreduce"),
        pytest.param("all_reduce_perf.out", "all_reduce", id="binary-name"),
        pytest.param("n/nccl_reducescatter.log", "reduce_scatter", id="reducescatter"),
        pytest.param("n/reduce_scatter_perf.txt", "reduce_scatter", id="reduce_scatter"),
        pytest.param("n/nccl_reduce.log", "reduce", id="reduce"),
        pytest.param("n/nccl_allgather.log", "all_gather", id="allgather"),
        pytest.param("n/alltoall_perf_2node.log", "alltoall", id="alltoall"),
        pytest.param("n/nccl_bcast.log", "broadcast", id="bcast"),
        pytest.param("n/sendrecv_roce_4gpu.log", "sendrecv", id="sendrecv"),
        pytest.param("n/gather_perf.log", "gather", id="gather"),
        pytest.param("n/scatter_perf.log", "scatter", id="scatter"),
        pytest.param("bundle.tar.gz!allreduce_dir/out.txt", None, id="folder-names-do-not-count"),
        pytest.param("n/nccl.log", None, id="no-name"),
    ],
)
def test_collective_from_file_name(name: str, expected: str | None) -> None:
    assert nccl_tests.collective_from_name(name) == expected


def test_content_names_the_collective_before_the_file_name() -> None:
    parsed = parse_bytes(CURRENT_BROADCAST.encode(), "n/nccl_allreduce.log")
    assert runs(parsed)[0][0] == "nccl_broadcast"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("superbench/nccl_allreduce.log", "nccl_all_reduce", id="all_reduce"),
        pytest.param("superbench/nccl_allgather.log", "nccl_all_gather", id="all_gather-no-redop-column"),
        pytest.param("superbench/nccl_alltoall.log", "nccl_alltoall", id="alltoall-blank-redop"),
        pytest.param("superbench/nccl_broadcast.log", "nccl_broadcast", id="broadcast-root-column"),
        pytest.param("superbench/nccl_reduce.log", "nccl_reduce", id="reduce"),
        pytest.param("superbench/nccl_reducescatter.log", "nccl_reduce_scatter", id="reduce_scatter"),
        pytest.param("misc_repos/sendrecv_roce_4gpu.log", "nccl_sendrecv", id="sendrecv-busbw-factor"),
        pytest.param("misc_repos/sendrecv_roce_1gpu.log", "nccl_sendrecv", id="sendrecv-in-place-unchecked"),
        pytest.param("misc_repos/all_reduce_roce_1gpu.log", "nccl_all_reduce", id="all_reduce-2-ranks"),
        pytest.param("pkb/nccl_output.txt", "nccl_unknown", id="all_reduce-or-sendrecv"),
    ],
)
def test_collective_inferred_from_the_table(realdata: Path, path: str, expected: str) -> None:
    parsed = parse_bytes((realdata / "nccl_tests" / path).read_bytes(), "node1/output.txt")
    assert runs(parsed)[0][0] == expected


# --- sniffing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(["[ 1234.567890] NVRM: Xid (PCI:0000:3b:00): 79, pid=1, name=x, GPU has fallen off the bus."]),
        pytest.param(["Jul 23 07:53:55 node1 kernel: mlx5_core 0000:0c:00.0: Port module event: cable unplugged"]),
        pytest.param(["node1:1:1 [0] NCCL INFO Bootstrap : Using eth0:10.0.0.1<0>", "training step 10 loss 2.3"]),
        pytest.param(["mynode-411 | Measured Avg NCCL allreduce bus BW 477.873 GB/s (expected >=460.0 GB/s)"]),
        pytest.param(["Primary job  terminated normally, but 1 process returned", "a non-zero exit code."]),
        pytest.param(["HPL ERROR: CUBLAS initialization failed", "MPI_ABORT was invoked on rank 0"]),
    ],
    ids=["dmesg", "syslog", "nccl-info-without-table", "nhc-nccl-summary", "mpi-abort-of-another-tool", "hpl-abort"],
)
def test_sniff_leaves_other_logs(lines: list[str]) -> None:
    assert nccl_tests.sniff(lines, "node1/output.log") is None


OTHER_FORMATS = ["kernel_logs", "dcgm", "hpl", "nvbandwidth", "nvidia_smi", "infiniband", "aznhc", "fabric_manager"]


def test_sniff_leaves_other_realdata(realdata: Path) -> None:
    claimed = []
    for folder in OTHER_FORMATS:
        for path in sorted((realdata / folder).rglob("*")):
            if path.is_file():
                sample = path.read_bytes()[: 1 << 16].decode("utf-8", errors="replace").splitlines()[:200]
                if nccl_tests.sniff(sample, str(path)) is not None:
                    claimed.append(str(path.relative_to(realdata)))
    assert claimed == []


# --- real files ------------------------------------------------------------------------------------

SUPERBENCH = "Avg bus bandwidth {} GB/s; 34 result rows"

REAL = [
    # path, format, test, status, detail, avg busbw, oob, measurements, (line, in-place busbw of the last row)
    ("superbench/nccl_allreduce.log", "error_column", "nccl_all_reduce", "pass", SUPERBENCH.format(68.4048), 68.4048, 0, 206, (50, 235.03)),
    ("superbench/nccl_allgather.log", "error_column", "nccl_all_gather", "pass", SUPERBENCH.format(58.2651), 58.2651, 0, 206, (50, 230.07)),
    ("superbench/nccl_alltoall.log", "error_column", "nccl_alltoall", "pass", SUPERBENCH.format(58.6481), 58.6481, 0, 206, (49, 226.16)),
    ("superbench/nccl_broadcast.log", "error_column", "nccl_broadcast", "pass", SUPERBENCH.format(64.8653), 64.8653, 0, 206, (50, 234.7)),
    ("superbench/nccl_reduce.log", "error_column", "nccl_reduce", "pass", SUPERBENCH.format(65.018), 65.018, 0, 206, (50, 228.83)),
    ("superbench/nccl_reducescatter.log", "error_column", "nccl_reduce_scatter", "pass", SUPERBENCH.format(60.168), 60.168, 0, 206, (50, 231.25)),
    ("pkb/nccl_output.txt", "wrong_column", "nccl_unknown", "pass",
     "Avg bus bandwidth 0.565546 GB/s; 11 result rows; collective unknown: not named in the output or file name, "
     "and the table fits all_reduce, sendrecv (redop op, no root, 2 ranks)", 0.565546, 0, 68, (20, 0.61)),
    ("misc_repos/ztan-NCCL-test-result", "wrong_column", "nccl_all_reduce", "pass",
     "Avg bus bandwidth 70.742 GB/s; 31 result rows", 70.742, 0, 250, (62, 337.35)),
    ("misc_repos/all_reduce_roce_1gpu.log", "wrong_column", "nccl_all_reduce", "pass",
     "Avg bus bandwidth 15.0418 GB/s; 13 result rows", 15.0418, 0, 106, (68, 15.0)),
    ("misc_repos/sendrecv_roce_1gpu.log", "wrong_column", "nccl_sendrecv", "pass",
     "Avg bus bandwidth 13.9592 GB/s; 13 result rows", 13.9592, 0, 93, (67, 13.97)),
    ("misc_repos/sendrecv_roce_4gpu.log", "wrong_column", "nccl_sendrecv", "pass",
     "Avg bus bandwidth 5.80752 GB/s; 13 result rows", 5.80752, 0, 93, (132, 5.86)),
    ("gcm/sample_single_success_output.txt", "wrong_column", "nccl_all_reduce", "pass",
     "Avg bus bandwidth 210.99 GB/s; 6 result rows", 210.99, 0, 50, (22, 231.7)),
    ("gcm/sample_pairwise_success_output.txt", "wrong_column", "nccl_all_reduce", "pass",
     "Avg bus bandwidth 150.209 GB/s; 6 result rows", 150.209, 0, 50, (30, 181.39)),
    ("gcm/sample_failure_output.txt", "launch_failure", "nccl_all_reduce", "error",
     "There are not enough slots available in the system to satisfy the 16 slots that were requested by the "
     "application", None, None, 0, None),
    ("dcgm_mock/all_reduce_perf_mock_OUTPUT_PASS.txt", "collective_banner", "nccl_all_reduce", "pass",
     "Avg bus bandwidth 0 GB/s; 1 result row", 0.0, 0, 10, (10, 0.0)),
    ("dcgm_mock/all_reduce_perf_mock_OUTPUT_FAIL_OOB.txt", "collective_banner", "nccl_all_reduce", "fail",
     "Out of bounds values: 2 FAILED; #wrong > 0 in 1 row: 33554432 B (out_of_place 1, in_place 1)", 0.0, 2, 10,
     (10, 0.0)),
    ("dcgm_mock/all_reduce_perf_mock_OUTPUT_FAIL_BW.txt", "collective_banner", "nccl_all_reduce", "fail",
     "Avg bus bandwidth 0 GB/s FAILED the expected minimum", 0.0, 0, 10, (10, 0.0)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "fmt", "test", "status", "detail", "avg", "oob", "n_measurements", "last_busbw"),
    [pytest.param(*case, id=case[0]) for case in REAL],
)
def test_realdata(
    realdata: Path,
    path: str,
    fmt: str,
    test: str,
    status: str,
    detail: str,
    avg: float | None,
    oob: int | None,
    n_measurements: int,
    last_busbw: tuple[int, float] | None,
) -> None:
    parsed = parse_path(realdata / "nccl_tests" / path)
    assert (parsed.kind, parsed.format, parsed.error) == ("nccl_tests", fmt, None)
    assert [(t, s, d) for t, s, _, d in runs(parsed)] == [(test, status, detail)]
    assert [v for _, v, _ in values(parsed, "avg_busbw")] == ([avg] if avg is not None else [])
    assert [v for _, v, _ in values(parsed, "oob_values")] == ([oob] if oob is not None else [])
    assert parsed.table("measurements").height == n_measurements
    busbw = values(parsed, "busbw")
    assert ((busbw[-1][0], busbw[-1][1]) if busbw else None) == last_busbw
    lines = (realdata / "nccl_tests" / path).read_bytes().count(b"\n")
    assert parsed.table("events").height in (lines, lines + 1)


@pytest.mark.parametrize(
    ("path", "nranks", "nodes", "rank_1"),
    [
        pytest.param(
            "misc_repos/ztan-NCCL-test-result",
            16,
            2,
            {
                "rank": 9,
                "host": "ztan-mig-gq73",
                "device": 1,
                "bus_id": "0000:05:00.0",
                "model": "NVIDIA H100 80GB HBM3",
            },
            id="ztan-2-nodes",
        ),
        pytest.param(
            "pkb/nccl_output.txt",
            2,
            2,
            {"rank": 1, "host": "pkb-2b6a393d-3", "device": 0, "bus_id": "0x00", "model": "Tesla K80"},
            id="pkb-k80",
        ),
        pytest.param(
            "gcm/sample_pairwise_success_output.txt",
            16,
            2,
            {"rank": 9, "host": "{host2}", "device": 1, "bus_id": "0x00", "model": "NVIDIA A100-SXM4-80GB"},
            id="gcm-placeholders",
        ),
    ],
)
def test_realdata_ranks(realdata: Path, path: str, nranks: int, nodes: int, rank_1: dict[str, Any]) -> None:
    parsed = parse_path(realdata / "nccl_tests" / path)
    params = run_params(parsed)
    assert (params["nranks"], params["nodes"], parsed.host) == (nranks, nodes, None)
    assert rank_1 in params["ranks"]


def test_realdata_placeholder_host_is_not_a_host(realdata: Path) -> None:
    parsed = parse_path(realdata / "nccl_tests" / "gcm" / "sample_single_success_output.txt")
    assert parsed.host is None
    assert run_params(parsed)["nccl_version"] == "2.16.2+cuda11.6"


def test_realdata_roce_info_lines_stay_events(realdata: Path) -> None:
    parsed = parse_path(realdata / "nccl_tests" / "misc_repos" / "sendrecv_roce_4gpu.log")
    events = parsed.table("events")
    assert events.filter(pl.col("message").str.contains(" NCCL INFO ")).height == 101
    assert run_params(parsed)["nccl_version"] == "2.26.2+cuda."


# --- ingest ----------------------------------------------------------------------------------------


def test_ingest_end_to_end(store: Store, inputs: Path) -> None:
    node = inputs / "gpu-node-017"
    node.mkdir()
    (node / "all_reduce_perf.log").write_text(ALL_REDUCE)
    (node / "cut.log").write_bytes(header_and_rows([ROW_1M, ROW_2M[:70]]))
    ingest(store, [str(inputs)])
    files = store.frame("SELECT file_id, path, host, kind, format, status, error FROM files ORDER BY path")
    assert files.select("host", "kind", "format", "status", "error").rows() == [
        ("gpu-node-017", "nccl_tests", "wrong_column", "ok", None),
        ("gpu-node-017", "nccl_tests", "wrong_column", "ok", None),
    ]
    ids = dict(zip([Path(p).name for p in files["path"]], files["file_id"], strict=True))
    test_runs = store.frame("SELECT host, device, test, status, file_id, line_no FROM test_runs ORDER BY status DESC")
    assert test_runs.rows() == [
        ("gpu-node-017", None, "nccl_all_reduce", "pass", ids["all_reduce_perf.log"], 1),
        ("gpu-node-017", None, "nccl_all_reduce", "incomplete", ids["cut.log"], 1),  # inferred from the table
    ]
    busbw = store.frame(
        "SELECT m.host, m.value, m.file_id, m.line_no, t.status FROM measurements m "
        "JOIN test_runs t ON t.run_id = m.run_id "
        "WHERE m.metric = 'avg_busbw'"
    )
    assert busbw.rows() == [("gpu-node-017", 89.5817, ids["all_reduce_perf.log"], 20, "pass")]
    per_file = store.frame(
        "SELECT f.file_id, (SELECT count(*) FROM events e WHERE e.file_id = f.file_id) AS events, "
        "(SELECT count(*) FROM measurements m WHERE m.file_id = f.file_id) AS measurements FROM files f ORDER BY path"
    )
    assert per_file.rows() == [(ids["all_reduce_perf.log"], 21, 26), (ids["cut.log"], 17, 8)]


ONE_NODE = b"""# nThread 1 nGpus 1 minBytes 8 maxBytes 16 step: 2(factor) warmup iters: 5 iters: 20 agg iters: 1 validation: 1 graph: 0
#
# Using devices
#  Rank  0 Group  0 Pid  41211 on   node0006 device  0 [0000:18:00] NVIDIA H100 80GB HBM3
#  Rank  1 Group  0 Pid  41212 on   node0006 device  1 [0000:2a:00] NVIDIA H100 80GB HBM3
#
#                                                              out-of-place                       in-place
#       size         count      type   redop    root     time   algbw   busbw #wrong     time   algbw   busbw #wrong
#        (B)    (elements)                               (us)  (GB/s)  (GB/s)            (us)  (GB/s)  (GB/s)
           8             2     float     sum      -1    11.20    0.00    0.00      0    10.90    0.00    0.00      0
          16             4     float     sum      -1    11.30    0.00    0.00      0    11.00    0.00    0.00      0
# Out of bounds values : 0 OK
# Avg bus bandwidth    : 0.0012
#
"""


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            ONE_NODE,
            [("0000:18:00.0", 0, "NVIDIA H100 80GB HBM3"), ("0000:2a:00.0", 1, "NVIDIA H100 80GB HBM3")],
            id="one-node-full-bus-ids",
        ),
        pytest.param(
            ONE_NODE.replace(b"[0000:18:00]", b"[0x18]").replace(b"[0000:2a:00]", b"[0x2a]"), [], id="short-bus-ids"
        ),
        pytest.param(ONE_NODE.replace(b"on   node0006 device  1", b"on   node0007 device  0"), [], id="two-nodes"),
    ],
)
def test_rank_lines_of_a_one_node_run_give_gpu_assets(data: bytes, expected: list[tuple]) -> None:
    parsed = parse_bytes(data, "all_reduce_perf.log")
    assert parsed.error is None
    assets = parsed.table("assets")
    assert (assets.select("device", "index", "model").rows() if assets.height else []) == expected


def test_garbled_column_header_is_an_error_naming_it() -> None:
    data = ONE_NODE.replace(b"#wrong     time", b"#wrong     timt", 1)
    parsed = parse_bytes(data, "all_reduce_perf.log")
    assert parsed.error == "line 8: column header names algbw twice for the out-of-place results"
    assert parsed.table("events").height == len(data.splitlines())
