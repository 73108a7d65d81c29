"""HPL and HPL-NVIDIA output: result rows, residual verdicts, failures, truncation and sniffing."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from triage.ingest import ingest
from triage.sources import hpl
from triage.sources.reading import Parsed, parse_bytes, parse_path
from triage.store import Store

HPL_HEADER = """\
================================================================================
HPLinpack 2.3  --  High-Performance Linpack benchmark  --   December 2, 2018
Written by A. Petitet and R. Clint Whaley,  Innovative Computing Laboratory, UTK
Modified by Piotr Luszczek, Innovative Computing Laboratory, UTK
Modified by Julien Langou, University of Colorado Denver
================================================================================

An explanation of the input/output parameters follows:
T/V    : Wall time / encoded variant.
N      : The order of the coefficient matrix A.
NB     : The partitioning blocking factor.
P      : The number of process rows.
Q      : The number of process columns.
Time   : Time in seconds to solve the linear system.
Gflops : Rate of execution for solving the linear system.

The following parameter values will be used:

N      :   40000
NB     :     192     256
PMAP   : Row-major process mapping
P      :       2
Q      :       4
PFACT  :   Right
NBMIN  :       4
NDIV   :       2
RFACT  :   Crout
BCAST  :  1ringM
DEPTH  :       1
SWAP   : Mix (threshold = 64)
L1     : transposed form
U      : transposed form
EQUIL  : yes
ALIGN  : 8 double precision words

--------------------------------------------------------------------------------

- The matrix A is randomly generated for each test.
- The following scaled residual check will be computed:
      ||Ax-b||_oo / ( eps * ( || x ||_oo * || A ||_oo + || b ||_oo ) * N )
- The relative machine precision (eps) is taken to be               1.110223e-16
- Computational tests pass if scaled residuals are less than                16.0

"""  # 43 lines

TEST_192 = """\
================================================================================
T/V                N    NB     P     Q               Time                 Gflops
--------------------------------------------------------------------------------
WR11C2R4       40000   192     2     4              62.81             6.7930e+02
HPL_pdgesv() start time Mon Mar 10 09:14:02 2025

HPL_pdgesv() end time   Mon Mar 10 09:15:05 2025

--------------------------------------------------------------------------------
||Ax-b||_oo/(eps*(||A||_oo*||x||_oo+||b||_oo)*N)=   3.86615812e-03 ...... PASSED
"""  # lines 44-53: row at 47, residual at 53

TEST_256 = """\
================================================================================
T/V                N    NB     P     Q               Time                 Gflops
--------------------------------------------------------------------------------
WR11C2R4       40000   256     2     4              60.02             7.1089e+02
HPL_pdgesv() start time Mon Mar 10 09:15:06 2025

HPL_pdgesv() end time   Mon Mar 10 09:16:06 2025

--------------------------------------------------------------------------------
||Ax-b||_oo/(eps*(||A||_oo*||x||_oo+||b||_oo)*N)=   2.41507320e+01 ...... FAILED
"""  # lines 54-63: row at 57, residual at 63

SUMMARY = """\
================================================================================

Finished      2 tests with the following results:
              1 tests completed and passed residual checks,
              1 tests completed and failed residual checks,
              0 tests skipped because of illegal input values.
--------------------------------------------------------------------------------

End of Tests.
================================================================================
"""

NVIDIA_HEADER = """\
================================================================================
HPL-NVIDIA 24.3.0  -- NVIDIA accelerated HPL benchmark -- NVIDIA
================================================================================
HPLinpack 2.1  --  High-Performance Linpack benchmark  --   October 26, 2012
Written by A. Petitet and R. Clint Whaley,  Innovative Computing Laboratory, UTK
Modified by Piotr Luszczek, Innovative Computing Laboratory, UTK
Modified by Julien Langou, University of Colorado Denver
================================================================================

The following parameter values will be used:

N      :  136192
NB     :    1024
PMAP   : Row-major process mapping
P      :       2
Q      :       1
PFACT  :    Left
NBMIN  :       2
NDIV   :       2
RFACT  :    Left
BCAST  :  2ringM
DEPTH  :       1
SWAP   : Spread-roll (long)
L1     : no-transposed form
U      : transposed form
EQUIL  : no
ALIGN  : 8 double precision words

--------------------------------------------------------------------------------
--- DEVICE INFO ---
  Peak clock frequency: 1410 MHz
  SM version          : 80
  Number of SMs       : 108
-------------------
 Prog= 2.25%	N_left= 135168	Time= 1.16	Time_left= 50.40	iGF= 35811.17	GF= 35811.17	iGF_per= 17905.58 	GF_per= 17905.58
 Prog= 4.47%	N_left= 134144	Time= 2.30	Time_left= 49.21	iGF= 35164.37	GF= 35490.05	iGF_per= 17582.18 	GF_per= 17745.03
"""  # 36 lines

NVIDIA_RESULT = """\
================================================================================
T/V                N    NB     P     Q         Time          Gflops (   per GPU)
--------------------------------------------------------------------------------
WC0           136192  1024     2     1        50.86       3.311e+04 ( 1.656e+04)
HPL_pdgesv() start time Fri Mar 22 10:24:41 2024
HPL_pdgesv() end time   Fri Mar 22 10:25:32 2024
gpu001:407892:407892 [0] NCCL INFO comm 0x5555bc5462a0 rank 0 nranks 2 cudaDev 0 busId 100000 - Destroy COMPLETE
--------------------------------------------------------------------------------
||Ax-b||_oo/(eps*(||A||_oo*||x||_oo+||b||_oo)*N)=   0.000342665054 ...... PASSED
||Ax-b||_oo  . . . . . . . . . . . . . . . . . = 0.0000000005540878
||A||_oo . . . . . . . . . . . . . . . . . . . = 34324.2656301951064961
||x||_oo . . . . . . . . . . . . . . . . . . . = 3.1156139542548562
||b||_oo . . . . . . . . . . . . . . . . . . . = 0.4999973716258063
================================================================================
"""  # lines 37-50: row at 40, residual at 45

HPL_PARAMS_192 = {
    "N": 40000,
    "NB": 192,
    "P": 2,
    "Q": 4,
    "variant": "WR11C2R4",
    "implementation": "hpl",
    "version": "2.3",
}
RUN_COLUMNS = ["device", "test", "status", "started", "ended", "params", "detail", "line_no"]


def params_json(**params: object) -> str:
    """Params as the store keeps them (canonical JSON)."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


def runs(parsed: Parsed) -> list[tuple]:
    return parsed.table("test_runs").select(RUN_COLUMNS).rows()


def values(parsed: Parsed) -> list[tuple]:
    return parsed.table("measurements").select("run_id", "device", "metric", "value", "unit", "ts", "line_no").rows()


def test_hpl_sweep_pass_and_fail() -> None:
    parsed = parse_bytes((HPL_HEADER + TEST_192 + TEST_256 + SUMMARY).encode(), "node1/hpl.out")
    assert (parsed.kind, parsed.format, parsed.host, parsed.error) == ("hpl", "hpl", None, None)
    p192 = params_json(**HPL_PARAMS_192)
    p256 = params_json(**{**HPL_PARAMS_192, "NB": 256})
    assert runs(parsed) == [
        (None, "hpl", "pass", datetime(2025, 3, 10, 9, 14, 2), datetime(2025, 3, 10, 9, 15, 5), p192, None, 47),
        (None, "hpl", "fail", datetime(2025, 3, 10, 9, 15, 6), datetime(2025, 3, 10, 9, 16, 6), p256,
         "||Ax-b||_oo/(eps*(||A||_oo*||x||_oo+||b||_oo)*N)=   2.41507320e+01 ...... FAILED", 57),
    ]  # fmt: skip
    end1, end2 = datetime(2025, 3, 10, 9, 15, 5), datetime(2025, 3, 10, 9, 16, 6)
    assert values(parsed) == [
        (1, None, "gflops", 679.30, "Gflops", end1, 47),
        (1, None, "time", 62.81, "s", end1, 47),
        (1, None, "residual", 3.86615812e-03, "1", end1, 53),
        (2, None, "gflops", 710.89, "Gflops", end2, 57),
        (2, None, "time", 60.02, "s", end2, 57),
        (2, None, "residual", 24.1507320, "1", end2, 63),
    ]
    assert parsed.table("measurements")["params"].to_list() == [p192] * 3 + [p256] * 3
    assert parsed.table("events").height == (HPL_HEADER + TEST_192 + TEST_256 + SUMMARY).count("\n")


def test_hpl_nvidia_per_gpu_row() -> None:
    parsed = parse_bytes((NVIDIA_HEADER + NVIDIA_RESULT).encode(), "hpl-nvidia.log")
    assert (parsed.kind, parsed.format, parsed.error) == ("hpl", "hpl_nvidia", None)
    params = params_json(N=136192, NB=1024, P=2, Q=1, variant="WC0", implementation="hpl-nvidia", version="24.3.0")
    start, end = datetime(2024, 3, 22, 10, 24, 41), datetime(2024, 3, 22, 10, 25, 32)
    assert runs(parsed) == [(None, "hpl", "pass", start, end, params, None, 40)]
    assert values(parsed) == [
        (1, None, "gflops", 33110.0, "Gflops", end, 40),
        (1, None, "gflops_per_gpu", 16560.0, "Gflops", end, 40),
        (1, None, "time", 50.86, "s", end, 40),
        (1, None, "residual", 0.000342665054, "1", end, 45),
    ]


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        pytest.param(
            "HPL ERROR: CUBLAS initialization failed\n"
            "[gpu001:205060] *** Process received signal ***\n"
            "mpirun detected that one or more processes exited with non-zero status, thus causing\n",
            ("error", "HPL ERROR: CUBLAS initialization failed", 37),
            id="cublas-before-any-result",
        ),
        pytest.param(
            "--------------------------------------------------------------------------\n"
            "MPI_ABORT was invoked on rank 3 in communicator MPI_COMM_WORLD\n"
            "with errorcode -1.\n",
            ("error", "MPI_ABORT was invoked on rank 3 in communicator MPI_COMM_WORLD", 38),
            id="mpi-abort",
        ),
        pytest.param(
            "",
            ("incomplete", "output ends before the HPL result (last progress: Prog= 4.47%\tN_left= 134144\t"
             "Time= 2.30\tTime_left= 49.21\tiGF= 35164.37\tGF= 35490.05\tiGF_per= 17582.18 \tGF_per= 17745.03)", 36),
            id="ends-during-progress",
        ),
    ],
)  # fmt: skip
def test_hpl_nvidia_without_result(tail: str, expected: tuple) -> None:
    parsed = parse_bytes((NVIDIA_HEADER + tail).encode(), "hpl.log")
    assert parsed.error is None
    params = params_json(N=136192, NB=1024, P=2, Q=1, implementation="hpl-nvidia", version="24.3.0")
    assert parsed.table("test_runs").select("status", "detail", "line_no", "params").rows() == [(*expected, params)]
    assert parsed.table("measurements").is_empty()


def test_abort_after_row_is_the_rows_error() -> None:
    cut = NVIDIA_RESULT.split("--------------------------------------------------------------------------------\n||Ax")[
        0
    ]
    text = NVIDIA_HEADER + cut + "[gpu001:1234] *** Process received signal ***\n"
    parsed = parse_bytes(text.encode(), "hpl.log")
    assert parsed.table("test_runs").select("status", "detail", "line_no").rows() == [
        ("error", "[gpu001:1234] *** Process received signal ***", 40)
    ]
    assert parsed.table("measurements")["metric"].to_list() == ["gflops", "gflops_per_gpu", "time"]


def test_error_line_before_a_passed_result_is_not_its_failure() -> None:
    text = NVIDIA_HEADER + "CUDA error: peer access is not supported between these two devices\n" + NVIDIA_RESULT
    parsed = parse_bytes(text.encode(), "hpl.log")
    assert parsed.table("test_runs").select("status", "detail").rows() == [("pass", None)]


@pytest.mark.parametrize(
    ("text", "statuses"),
    [
        pytest.param(HPL_HEADER + TEST_192 + "".join(TEST_256.splitlines(keepends=True)[:7]), [("pass", None), ("incomplete", "output ends before the residual check")], id="before-residual"),
        pytest.param(HPL_HEADER + TEST_192 + "Column=000009984 Fraction= 1.3% Gflops=6.812e+02\n", [("pass", None), ("incomplete", "output ends before the HPL result (last progress: Column=000009984 Fraction= 1.3% Gflops=6.812e+02)")], id="during-next-test"),
        pytest.param(HPL_HEADER + TEST_192, [("pass", None)], id="before-summary"),
        pytest.param(HPL_HEADER, [("incomplete", "output ends before the HPL result")], id="header-only"),
    ],
)  # fmt: skip
def test_truncated_output_is_incomplete(text: str, statuses: list[tuple]) -> None:
    parsed = parse_bytes(text.encode(), "hpl.log")
    assert parsed.error is None
    assert parsed.table("test_runs").select("status", "detail").rows() == statuses


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param(
            HPL_HEADER + TEST_192 + TEST_256.replace("            7.1089e+02", ""),
            "line 57: HPL result row is not `T/V N NB P Q Time Gflops`: WR11C2R4       40000   256     2     4              60.02",
            id="row-cut",
        ),
        pytest.param(
            HPL_HEADER + TEST_192 + TEST_256.replace(" ...... FAILED", ""),
            "line 63: HPL residual check without a PASSED/FAILED verdict: ||Ax-b||_oo/(eps*(||A||_oo*||x||_oo+||b||_oo)*N)=   2.41507320e+01",
            id="residual-cut",
        ),
        pytest.param(
            HPL_HEADER + TEST_192 + TEST_256.replace("Mon Mar 10 09:15:06 2025", "yesterday"),
            "line 58: HPL_pdgesv() time not understood: yesterday",
            id="bad-start-time",
        ),
    ],
)
def test_malformed_keeps_rows_before(text: str, error: str) -> None:
    parsed = parse_bytes(text.encode(), "hpl.log")
    assert parsed.error == error
    assert parsed.table("test_runs").select("status", "line_no").rows()[0] == ("pass", 47)
    assert parsed.table("events").height == text.count("\n")


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        pytest.param("Mon Mar 10 09:14:02 2025", datetime(2025, 3, 10, 9, 14, 2), id="ctime"),
        pytest.param("Mon Mar 10 09:14:02 UTC 2025", datetime(2025, 3, 10, 9, 14, 2), id="utc"),
        pytest.param("Mon Mar 10 09:14:02 +0100 2025", datetime(2025, 3, 10, 8, 14, 2), id="offset"),
        pytest.param("Mon Mar 10 09:14:02 CET 2025", None, id="named-zone-unknown"),
    ],
)
def test_start_time_zones(stamp: str, expected: datetime | None) -> None:
    parsed = parse_bytes((HPL_HEADER + TEST_192.replace("Mon Mar 10 09:14:02 2025", stamp)).encode(), "hpl.log")
    assert parsed.table("test_runs")["started"].to_list() == [expected]


def test_two_invocations_in_one_file() -> None:
    text = HPL_HEADER + TEST_192 + SUMMARY + NVIDIA_HEADER + NVIDIA_RESULT
    parsed = parse_bytes(text.encode(), "hpl.log")
    assert parsed.error is None
    params = [json.loads(p) for p in parsed.table("test_runs")["params"]]
    assert [(p["implementation"], p["version"]) for p in params] == [("hpl", "2.3"), ("hpl-nvidia", "24.3.0")]


def test_empty_file_is_not_hpl() -> None:
    parsed = parse_bytes(b"", "hpl.log")
    assert parsed.kind == "text"


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(["[  12.345678] NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus."], id="dmesg"),
        pytest.param(["# nThread 1 nGpus 8 minBytes 8 maxBytes 8589934592 step: 2(factor)"], id="nccl-tests"),
        pytest.param(["HPL.dat is missing", "running xhpl with N=40000"], id="mentions-hpl"),
        pytest.param(["nvbandwidth Version: v0.6"], id="nvbandwidth"),
    ],
)
def test_sniff_leaves_other_logs(lines: list[str]) -> None:
    assert hpl.sniff(lines, "hpl.log") is None


def other_realdata(realdata: Path) -> list[Path]:
    return sorted(p for p in realdata.rglob("*") if p.is_file() and p.relative_to(realdata).parts[0] != "hpl")


def test_sniff_claims_no_other_realdata(realdata: Path) -> None:
    claimed = []
    for path in other_realdata(realdata):
        head = path.open("rb").read(1 << 16).decode("utf-8", errors="replace").splitlines()[:200]
        if hpl.sniff(head, str(path)) is not None:
            claimed.append(path.name)
    assert claimed == []


def test_realdata_superbench_passed(realdata: Path) -> None:
    parsed = parse_path(realdata / "hpl" / "superbench" / "hpl_results.log")
    assert (parsed.kind, parsed.format, parsed.error) == ("hpl", "hpl", None)
    params = params_json(N=384000, NB=384, P=1, Q=2, variant="WR0XR8C48", implementation="hpl", version="2.3")
    start, end = datetime(2023, 2, 3, 16, 33, 45), datetime(2023, 2, 3, 17, 51, 10)
    assert runs(parsed) == [(None, "hpl", "pass", start, end, params, None, 1046)]
    assert values(parsed) == [
        (1, None, "gflops", 8126.1, "Gflops", end, 1046),
        (1, None, "time", 4645.37, "s", end, 1046),
        (1, None, "residual", 4.12139792e-03, "1", end, 1052),
    ]


def test_realdata_hpl_nvidia_cublas_failure(realdata: Path) -> None:
    name = "gh200-notes__hpl-nvidia_24.6_gh200_cublas_init_failed__excerpt.txt"
    parsed = parse_path(realdata / "hpl" / "excerpts" / name)
    assert (parsed.kind, parsed.format, parsed.error) == ("hpl", "hpl_nvidia", None)
    params = params_json(N=6912, NB=192, P=8, Q=9, implementation="hpl-nvidia", version="24.6.0")
    assert runs(parsed) == [(None, "hpl", "error", None, None, params, "HPL ERROR: CUBLAS initialization failed", 64)]
    assert parsed.table("measurements").is_empty()


def test_ingest_end_to_end(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "fleet" / "node017"
    folder.mkdir(parents=True)
    (folder / "hpl.out").write_text(HPL_HEADER + TEST_192 + TEST_256 + SUMMARY)
    summary = ingest(store, [str(tmp_path / "fleet")])
    assert summary.errors == []
    files = store.frame("SELECT file_id, host, kind, format, status, error FROM files")
    file_id = files["file_id"][0]
    assert files.drop("file_id").rows() == [("node017", "hpl", "hpl", "ok", None)]
    runs_ = store.frame("SELECT host, file_id, status, line_no FROM test_runs ORDER BY line_no")
    assert runs_.rows() == [("node017", file_id, "pass", 47), ("node017", file_id, "fail", 57)]
    gflops = store.frame("SELECT host, value FROM measurements WHERE metric = 'gflops' ORDER BY line_no")
    assert gflops.rows() == [("node017", 679.30), ("node017", 710.89)]
    joined = store.frame(
        "SELECT count(*) AS n FROM measurements m JOIN test_runs r USING (run_id) WHERE m.file_id = r.file_id"
    )
    assert joined.item() == 6
    assert store.frame("SELECT count(*) FROM events WHERE source = 'hpl'").item() == 73
    assert store.frame("SELECT DISTINCT host FROM events").rows() == [("node017",)]
