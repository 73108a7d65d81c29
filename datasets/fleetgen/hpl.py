"""HPL-NVIDIA (NVIDIA HPC-Benchmarks 24.09) on the node's 8 GPUs: `hpl.log`.

Layout: the HPL-NVIDIA banner over the HPLinpack 2.1 one, the input explanation and parameter block
(N 266240, NB 1024, P 2 x Q 4: the largest N whose matrix fits 8 x 80 GB), the residual check description,
the parameters HPL-NVIDIA ignores, `--- DEVICE INFO ---` (H100 SXM: 1980 MHz, SM 90, 132 SMs), `Prog=`
progress lines, the result row `WC0 N NB P Q Time Gflops ( per GPU)` (~4.2e+05 Gflops, +-1.5% between
nodes), the `HPL_pdgesv()` start and end times (UTC, from timeline.hpl), the scaled residual check and the
`Finished 1 tests` summary.

Fault kinds rendered:
  gpu_thermal         Gflops ~15% low (HPL runs at the pace of its slowest GPU)
  gpu_diag_failure    the scaled residual check FAILED (a GPU computes wrong results)
  gpu_fallen_off_bus  CUDA sees 7 GPUs: the 8th rank fails `cudaSetDevice` (invalid device ordinal), MPI_ABORT
  driver_mismatch     every rank fails its first CUDA call (driver / CUDA driver combination), MPI_ABORT
No noise kind shows in this file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from fleetgen.model import Node

PATH = "hpl.log"
N, NB, P, Q = 266240, 1024, 2, 4
GPUS = P * Q
GFLOPS_PER_GPU = 52_600.0
THERMAL_SHARE = 0.85
EPS = 1.110223e-16
PANELS_PER_PROGRESS = 4  # a progress line every 4 panels of NB columns
FLOPS = (2 / 3 * N + 3 / 2) * N * N

BANNER = """\
================================================================================
HPL-NVIDIA 24.9.0  -- NVIDIA accelerated HPL benchmark -- NVIDIA
================================================================================
HPLinpack 2.1  --  High-Performance Linpack benchmark  --   October 26, 2012
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

"""
# The parameter block: numbers and short names right-aligned with HPL's trailing blank, descriptions as words.
PARAMETERS = [
    ("N", N),
    ("NB", NB),
    ("PMAP", "Row-major process mapping"),
    ("P", P),
    ("Q", Q),
    ("PFACT", "Left"),
    ("NBMIN", 2),
    ("NDIV", 2),
    ("RFACT", "Left"),
    ("BCAST", "2ringM"),
    ("DEPTH", 1),
    ("SWAP", "Spread-roll (long)"),
    ("L1", "no-transposed form"),
    ("U", "transposed form"),
    ("EQUIL", "no"),
    ("ALIGN", "8 double precision words"),
]
CHECKS = """\

--------------------------------------------------------------------------------

- The matrix A is randomly generated for each test.
- The following scaled residual check will be computed:
      ||Ax-b||_oo / ( eps * ( || x ||_oo * || A ||_oo + || b ||_oo ) * N )
- The relative machine precision (eps) is taken to be               1.110223e-16
- Computational tests pass if scaled residuals are less than                16.0


HPL-NVIDIA ignores the following parameters from input file:
\t* Broadcast parameters
\t* Panel factorization parameters
\t* Look-ahead value
\t* L1 layout
\t* U layout
\t* Equilibration parameter
\t* Memory alignment parameter

HPL-NVIDIA settings from environment variables:
"""
DESCRIBED = {"PMAP", "SWAP", "L1", "U", "EQUIL", "ALIGN"}  # printed as words, not in a number column
HEADER = (
    BANNER
    + "".join(
        f"{name:<7}: {value}\n" if name in DESCRIBED else f"{name:<7}: {value:>7} \n" for name, value in PARAMETERS
    )
    + CHECKS
)
DEVICE_INFO = """\
--- DEVICE INFO ---
  Peak clock frequency: 1980 MHz
  SM version          : 90
  Number of SMs       : 132
-------------------
"""
PROGRESS = (
    " Prog= {prog:.2f}%\tN_left= {left}\tTime= {time:.2f}\tTime_left= {remain:.2f}\tiGF= {igf:.2f}\tGF= {gf:.2f}"
    "\tiGF_per= {igf_per:.2f} \tGF_per= {gf_per:.2f}\n"
)
RESULT = """\
================================================================================
T/V                N    NB     P     Q         Time          Gflops (   per GPU)
--------------------------------------------------------------------------------
{row}
HPL_pdgesv() start time {start}
HPL_pdgesv() end time   {end}
--------------------------------------------------------------------------------
||Ax-b||_oo/(eps*(||A||_oo*||x||_oo+||b||_oo)*N)={resid:17.12f} ...... {verdict}
||Ax-b||_oo  . . . . . . . . . . . . . . . . . = {axb:.16f}
||A||_oo . . . . . . . . . . . . . . . . . . . = {a:.16f}
||x||_oo . . . . . . . . . . . . . . . . . . . = {x:.16f}
||b||_oo . . . . . . . . . . . . . . . . . . . = {b:.16f}
================================================================================

Finished      1 tests with the following results:
              {passed} tests completed and passed residual checks,
              {failed} tests completed and failed residual checks,
              0 tests skipped because of illegal input values.
--------------------------------------------------------------------------------

End of Tests.
================================================================================
"""
MPI_ABORT = """\
--------------------------------------------------------------------------
MPI_ABORT was invoked on rank {rank} in communicator MPI_COMM_WORLD
with errorcode 1.

NOTE: invoking MPI_ABORT causes Open MPI to kill all MPI processes.
You may or may not see output from other processes, depending on
exactly when Open MPI kills them.
--------------------------------------------------------------------------
"""
DRIVER_MISMATCH = (
    "HPL ERROR: cudaGetDeviceCount failed: system has unsupported display driver / cuda driver combination "
    "(cudaErrorSystemDriverMismatch)\n"
)
NO_DEVICE = "HPL ERROR: cudaSetDevice({rank}) failed: invalid device ordinal (cudaErrorInvalidDevice)\n"


@dataclass
class _Draws:
    """The node's random draws, all made up front so a fault changes the text, never the draws."""

    gflops_per_gpu: float
    setup: float  # seconds from the job start to HPL_pdgesv()
    step_noise: list[float]  # per progress interval, a rate factor
    residual: float
    bad_residual: float
    x_norm: float
    a_norm: float
    b_norm: float


def write(node: Node) -> dict[str, bytes]:
    """The HPL-NVIDIA log of `node`."""
    draws = _draw(node.rng("hpl"))
    if node.faults_of("driver_mismatch"):
        return {PATH: (HEADER + DRIVER_MISMATCH * GPUS + MPI_ABORT.format(rank=0)).encode()}
    if node.faults_of("gpu_fallen_off_bus"):
        lost = NO_DEVICE.format(rank=GPUS - 1)
        return {PATH: (HEADER + DEVICE_INFO + lost + MPI_ABORT.format(rank=GPUS - 1)).encode()}
    per_gpu = draws.gflops_per_gpu * (THERMAL_SHARE if node.faults_of("gpu_thermal") else 1.0)
    seconds = FLOPS / (per_gpu * GPUS * 1e9)
    start = node.timeline.hpl + timedelta(seconds=draws.setup)
    text = HEADER + DEVICE_INFO + _progress(seconds, draws) + _result(node, draws, seconds, start)
    return {PATH: text.encode()}


def _draw(rng: random.Random) -> _Draws:
    steps = -(-N // (NB * PANELS_PER_PROGRESS))
    return _Draws(
        gflops_per_gpu=GFLOPS_PER_GPU * rng.uniform(0.985, 1.015),
        setup=rng.uniform(35.0, 70.0),
        step_noise=[rng.uniform(0.985, 1.015) for _ in range(steps)],
        residual=rng.uniform(2.5e-4, 6.5e-4),
        bad_residual=rng.uniform(2e3, 9e4),
        x_norm=rng.uniform(2.5, 9.0),
        a_norm=N / 4 * rng.uniform(0.999, 1.001),
        b_norm=0.5 - rng.uniform(1e-7, 1e-5),
    )


def _progress(seconds: float, draws: _Draws) -> str:
    """The progress lines: the rate sags as the trailing matrix shrinks; the total takes `seconds`."""
    lefts = list(range(N - NB * PANELS_PER_PROGRESS, 0, -NB * PANELS_PER_PROGRESS))
    done = [_flops_done(left) for left in [N, *lefts]]
    weights = [(done[k + 1] - done[k]) / (_rate(left) * draws.step_noise[k]) for k, left in enumerate(lefts)]
    scale = seconds / (sum(weights) + (FLOPS - done[-1]) / _rate(0))
    lines, elapsed = [], 0.0
    for k, left in enumerate(lefts):
        interval = weights[k] * scale
        elapsed += interval
        gf = done[k + 1] / elapsed / 1e9
        igf = (done[k + 1] - done[k]) / interval / 1e9
        prog = done[k + 1] / FLOPS
        lines.append(
            PROGRESS.format(
                prog=100 * prog,
                left=left,
                time=elapsed,
                remain=elapsed * (1 - prog) / prog,
                igf=igf,
                gf=gf,
                igf_per=igf / GPUS,
                gf_per=gf / GPUS,
            )
        )
    return "".join(lines)


def _flops_done(left: int) -> float:
    """Flops of the factorisation done once `left` columns remain."""
    return FLOPS * (1 - (left / N) ** 3)


def _rate(left: int) -> float:
    """Relative speed with `left` columns remaining: full until the last quarter, then sagging to 60%."""
    return 0.6 + 0.4 * min(1.0, left / (0.25 * N))


def _result(node: Node, draws: _Draws, seconds: float, start: datetime) -> str:
    failed = bool(node.faults_of("gpu_diag_failure"))
    resid = draws.bad_residual if failed else draws.residual
    gflops = FLOPS / seconds / 1e9
    row = f"{'WC0':<10}{N:>10d}{NB:>6d}{P:>6d}{Q:>6d}{seconds:>13.2f}{gflops:>16.3e} ({gflops / GPUS:>10.3e})"
    return RESULT.format(
        row=row,
        start=_ctime(start),
        end=_ctime(start + timedelta(seconds=seconds)),
        resid=resid,
        verdict="FAILED" if failed else "PASSED",
        axb=resid * EPS * (draws.a_norm * draws.x_norm + draws.b_norm) * N,
        a=draws.a_norm,
        x=draws.x_norm,
        b=draws.b_norm,
        passed=0 if failed else 1,
        failed=1 if failed else 0,
    )


def _ctime(stamp: datetime) -> str:
    """A time as C's ctime() prints it (`Mon Nov 16 06:37:12 2026`, the day padded with a space)."""
    return f"{stamp:%a %b} {stamp.day:2d} {stamp:%H:%M:%S %Y}"
