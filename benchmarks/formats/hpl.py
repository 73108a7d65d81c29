"""HPL outputs for the parse benchmark: HPL 2.3 sweeps with progress lines, HPL-NVIDIA 8-GPU runs, failures.

Per node: `hpl.out`, an HPL 2.3 GPU build sweeping N x NB (4 tests, ~500 `Column=... Fraction=...`
progress lines each, as rocHPL-style builds print), and `hpl-nvidia.out`, an HPL-NVIDIA 24.6 run on
8 GPUs (P=4, Q=2) with `Prog=` lines and a `WC0 ... (per GPU)` row; every eighth node's HPL-NVIDIA run
fails with `HPL ERROR: CUBLAS initialization failed` and an mpirun abort. `scale` multiplies the nodes.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

NODES_PER_SCALE = 8
RULE = "=" * 80
DASHES = "-" * 80


def make(scale: int = 1) -> list[tuple[str, bytes]]:
    """Files (name, content) for `NODES_PER_SCALE * scale` nodes; deterministic."""
    files = []
    for node in range(NODES_PER_SCALE * scale):
        rng = random.Random(node)
        host = f"gpu-node{node:04d}"
        start = datetime(2025, 3, 1, 8, 0, 0) + timedelta(hours=node)
        files.append((f"{host}/hpl.out", _hpl_sweep(rng, start).encode()))
        files.append((f"{host}/hpl-nvidia.out", _hpl_nvidia(rng, host, start, failed=node % 8 == 7).encode()))
    return files


def _banner(version: str, date: str) -> list[str]:
    return [
        RULE,
        f"HPLinpack {version}  --  High-Performance Linpack benchmark  --   {date}",
        "Written by A. Petitet and R. Clint Whaley,  Innovative Computing Laboratory, UTK",
        "Modified by Piotr Luszczek, Innovative Computing Laboratory, UTK",
        "Modified by Julien Langou, University of Colorado Denver",
        RULE,
        "",
        "An explanation of the input/output parameters follows:",
        "T/V    : Wall time / encoded variant.",
        "N      : The order of the coefficient matrix A.",
        "NB     : The partitioning blocking factor.",
        "P      : The number of process rows.",
        "Q      : The number of process columns.",
        "Time   : Time in seconds to solve the linear system.",
        "Gflops : Rate of execution for solving the linear system.",
        "",
    ]


def _parameters(ns: list[int], nbs: list[int], p: int, q: int) -> list[str]:
    return [
        "The following parameter values will be used:",
        "",
        "N      : " + " ".join(f"{n:>7}" for n in ns),
        "NB     : " + " ".join(f"{nb:>7}" for nb in nbs),
        "PMAP   : Row-major process mapping",
        f"P      : {p:>7}",
        f"Q      : {q:>7}",
        "PFACT  :   Crout",
        "NBMIN  :      48",
        "NDIV   :       8",
        "RFACT  :   Right",
        "BCAST  :  HybBcast",
        "DEPTH  :       0",
        "SWAP   : Mix (threshold = 64)",
        "L1     : transposed form",
        "U      : transposed form",
        "EQUIL  : yes",
        "ALIGN  : 8 double precision words",
        "",
        DASHES,
        "",
        "- The matrix A is randomly generated for each test.",
        "- The following scaled residual check will be computed:",
        "      ||Ax-b||_oo / ( eps * ( || x ||_oo * || A ||_oo + || b ||_oo ) * N )",
        "- The relative machine precision (eps) is taken to be               1.110223e-16",
        "- Computational tests pass if scaled residuals are less than                16.0",
        "",
    ]


def _ctime(stamp: datetime) -> str:
    return f"{stamp:%a %b} {stamp.day:>2} {stamp:%H:%M:%S %Y}"


def _result(
    variant: str, n: int, nb: int, p: int, q: int, seconds: float, gflops: float, start: datetime, residual: float
) -> list[str]:
    verdict = "PASSED" if residual < 16.0 else "FAILED"
    return [
        RULE,
        "T/V                N    NB     P     Q               Time                 Gflops",
        DASHES,
        f"{variant:<10}{n:>10}{nb:>6}{p:>6}{q:>6}{seconds:>19.2f}{gflops:>23.4e}",
        f"HPL_pdgesv() start time {_ctime(start)}",
        "",
        f"HPL_pdgesv() end time   {_ctime(start + timedelta(seconds=seconds))}",
        "",
        DASHES,
        f"||Ax-b||_oo/(eps*(||A||_oo*||x||_oo+||b||_oo)*N)= {residual:>16.8e} ...... {verdict}",
    ]


def _hpl_sweep(rng: random.Random, start: datetime) -> str:
    ns, nbs, p, q = [184320, 192000], [384, 512], 1, 2
    lines = _banner("2.3", "December 2, 2018") + _parameters(ns, nbs, p, q)
    clock = start
    tests = 0
    for n in ns:
        for nb in nbs:
            rate = rng.uniform(7.9e3, 8.2e3)
            steps = n // nb
            for step in range(1, steps, max(1, steps // 500)):
                fraction = 100.0 * step / steps
                lines.append(
                    f"Column={step * nb:09d} Fraction={fraction:4.1f}% Gflops={rate * rng.uniform(0.99, 1.01):.3e}"
                )
            seconds = 2.0 * n**3 / 3.0 / (rate * 1e9)
            lines += _result("WR0XR8C48", n, nb, p, q, seconds, rate, clock, rng.uniform(1e-3, 9e-3))
            clock += timedelta(seconds=seconds + 5)
            tests += 1
    lines += [
        RULE,
        "",
        f"Finished {tests:>6} tests with the following results:",
        f"         {tests:>6} tests completed and passed residual checks,",
        "              0 tests completed and failed residual checks,",
        "              0 tests skipped because of illegal input values.",
        DASHES,
        "",
        "End of Tests.",
        RULE,
    ]
    return "\n".join(lines) + "\n"


def _hpl_nvidia(rng: random.Random, host: str, start: datetime, failed: bool) -> str:
    n, nb, p, q = 376832, 1024, 4, 2
    lines = [RULE, "HPL-NVIDIA 24.6.0  -- NVIDIA accelerated HPL benchmark -- NVIDIA"]
    lines += _banner("2.1", "October 26, 2012") + _parameters([n], [nb], p, q)
    lines += [
        "--- DEVICE INFO ---",
        "  Peak clock frequency: 1980 MHz",
        "  SM version          : 90",
        "  Number of SMs       : 132",
        "-------------------",
    ]
    if failed:
        pid = rng.randrange(100000, 400000)
        lines += [
            "[HPL TRACE] cuda_nvshmem_init: max=15.9546 (1) min=15.7468 (5)",
            "HPL ERROR: CUBLAS initialization failed",
            f"[{host}:{pid}] *** Process received signal ***",
            f"[{host}:{pid}] Signal: Aborted (6)",
            "--------------------------------------------------------------------------",
            "mpirun detected that one or more processes exited with non-zero status, thus causing",
            "the job to be terminated. The first process to do so was:",
            "",
            f"  Process name: [[50202,1],{rng.randrange(8)}]",
            "  Exit code:    134",
            "--------------------------------------------------------------------------",
        ]
        return "\n".join(lines) + "\n"
    per_gpu = rng.uniform(5.0e4, 5.3e4)
    total = per_gpu * p * q
    seconds = 2.0 * n**3 / 3.0 / (total * 1e9)
    for step in range(1, 100):
        elapsed = seconds * step / 100
        gf = total * rng.uniform(0.98, 1.02)
        lines.append(
            f" Prog= {step:.2f}%\tN_left= {n - n * step // 100}\tTime= {elapsed:.2f}"
            f"\tTime_left= {seconds - elapsed:.2f}\tiGF= {gf:.2f}\tGF= {total:.2f}"
            f"\tiGF_per= {gf / 8:.2f} \tGF_per= {per_gpu:.2f} "
        )
    lines += [
        RULE,
        "T/V                N    NB     P     Q         Time          Gflops (   per GPU)",
        DASHES,
        f"WC0       {n:>10}{nb:>6}{p:>6}{q:>6}{seconds:>13.2f}{total:>16.3e} ({per_gpu:>10.3e})",
        f"HPL_pdgesv() start time {_ctime(start)}",
        f"HPL_pdgesv() end time   {_ctime(start + timedelta(seconds=seconds))}",
        DASHES,
        f"||Ax-b||_oo/(eps*(||A||_oo*||x||_oo+||b||_oo)*N)=   {rng.uniform(2e-4, 9e-4):.12f} ...... PASSED",
        f"||Ax-b||_oo  . . . . . . . . . . . . . . . . . = {rng.uniform(1e-10, 9e-10):.16f}",
        f"||A||_oo . . . . . . . . . . . . . . . . . . . = {rng.uniform(9e4, 1e5):.16f}",
        f"||x||_oo . . . . . . . . . . . . . . . . . . . = {rng.uniform(1, 20):.16f}",
        f"||b||_oo . . . . . . . . . . . . . . . . . . . = {rng.uniform(0.49, 0.5):.16f}",
        RULE,
    ]
    return "\n".join(lines) + "\n"
