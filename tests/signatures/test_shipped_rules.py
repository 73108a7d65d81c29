"""The shipped rule pack: every example runs; nothing above `info` fires on known-good logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.ingest import ingest
from triage.signatures.analyze import analyze
from triage.signatures.loader import load_rules
from triage.signatures.testing import run_examples
from triage.store import Store

PACK = load_rules()
REALDATA = Path(__file__).parents[2].parent / "shared" / "realdata"
KNOWN_GOOD_OWN = Path(__file__).parent / "data" / "known_good.log"
# Healthy real boots and logs: full H100 boot (mlx5, EDAC/AER boot lines), a crash-dump boot,
# journal kernel lines, an IB node with no flap, healthy nccl-tests sweeps.
KNOWN_GOOD_REAL = [
    "kernel_logs/gpud/dmesg.decode.iso.log.1",
    "kernel_logs/gpud/journalctl-time-format-short-iso-1.log",
    "kernel_logs/gpud/journalctl-time-format-short-iso-2.log",
    "kernel_logs/gpud/kmsg.1.log",
    "aznhc/test_data/0flap_syslog",
    "nccl_tests/superbench/nccl_allreduce.log",
    "nccl_tests/superbench/nccl_alltoall.log",
]


@pytest.mark.parametrize("rule_id", [rule.id for rule in PACK.rules])
def test_rule_examples(rule_id: str) -> None:
    failures = [r for r in run_examples(PACK, [rule_id]) if not r.ok]

    assert failures == []


def _above_info(store: Store) -> list[tuple[str, str, str, int]]:
    return store.frame(
        "SELECT host, rule_id, severity, count FROM findings WHERE severity <> 'info' ORDER BY host, rule_id"
    ).rows()


def test_nothing_above_info_fires_on_the_projects_known_good_lines(store: Store) -> None:
    ingest(
        store,
        [str(KNOWN_GOOD_OWN)],
    )
    analyze(store, PACK)

    assert _above_info(store) == []


@pytest.mark.skipif(not REALDATA.is_dir(), reason=f"no real data at {REALDATA}")
@pytest.mark.parametrize("relative", KNOWN_GOOD_REAL)
def test_nothing_above_info_fires_on_healthy_real_logs(store: Store, relative: str) -> None:
    ingest(store, [str(REALDATA / relative)])
    analyze(store, PACK)

    assert _above_info(store) == []
