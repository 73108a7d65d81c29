"""Real logs from ../shared/realdata through ingest and analyze, one file at a time.

Each file's findings above `info` are pinned (rule, device, severity, count), checked against
the files by hand (grep counts of each XID/SXid/flap line); and every line that looks like a
failure is classified by some rule, except the benign look-alikes listed.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from triage.ingest import IngestOptions, ingest
from triage.signatures import engine
from triage.signatures.analyze import analyze
from triage.signatures.loader import load_rules
from triage.store import Store

REALDATA = Path(__file__).parents[2].parent / "shared" / "realdata"
if not REALDATA.is_dir():
    pytest.skip(f"no real data at {REALDATA}", allow_module_level=True)
PACK = load_rules()

EXPECTED: dict[str, list[tuple[str, str | None, str, int]]] = {
    "aznhc/test_data/0flap_syslog": [],
    "aznhc/test_data/1dev_6flap_syslog": [
        ("ib-link-down", "ib6", "warning", 6),
        ("ib-link-flapping", "ib6", "error", 6),
    ],
    "fabric_manager/fabric-manager.0.log": [
        ("fabricmanager-nvswitch-error-12028", "0000:83:00.0", "warning", 2),
        ("fabricmanager-nvswitch-error-12028", "0000:84:00.0", "warning", 4),
        ("fabricmanager-nvswitch-error-12028", "0000:85:00.0", "warning", 8),
        ("fabricmanager-nvswitch-error-12028", "0000:86:00.0", "warning", 4),
    ],
    "fabric_manager/fabricmanager.log": [("fabricmanager-nvswitch-error-12028", "0000:86:00.0", "warning", 1)],
    "kernel_logs/gpud/dmesg-time-format-iso.log": [
        ("xid-48", "0000:19:00.0", "critical", 1),
        ("xid-63", "0000:19:00.0", "warning", 1),
        ("xid-94", "0000:19:00.0", "warning", 9),
    ],
    "kernel_logs/gpud/dmesg-with-xid-119.log": [("xid-119", "0000:9b:00.0", "error", 5)],
    "kernel_logs/gpud/dmesg.decode.iso.log.0": [
        ("xid-13", "0000:38:00.0", "warning", 629),
        ("xid-43", "0000:38:00.0", "warning", 7),
    ],
    "kernel_logs/gpud/dmesg.decode.iso.log.1": [],
    "kernel_logs/gpud/dmesg.peermem.log.0": [],
    "kernel_logs/gpud/journalctl-time-format-short-iso-1.log": [],
    "kernel_logs/gpud/journalctl-time-format-short-iso-2.log": [],
    "kernel_logs/gpud/kmsg.1.log": [],
    "kernel_logs/gpud/kmsg.2.peermem.log": [],
    "kernel_logs/gpud/memory__dmesg.decode.iso.log": [
        ("oom-kill", None, "warning", 6),
        ("xid-13", "0000:38:00.0", "warning", 16),
        ("xid-43", "0000:38:00.0", "warning", 1),
    ],
    "kernel_logs/gpud/nccl__dmesg.decode.iso.log": [("gpu-library-crash", None, "warning", 2)],
    "kernel_logs/gpud/pstore__7530486857247__dmesg.txt": [],
    "kernel_logs/gpud/pstore__dmesg-erst.txt": [("kernel-panic", None, "critical", 2)],
    "kernel_logs/gpud_test_code_embedded_kmsg_lines.txt": [
        ("gpu-fallen-off-bus", "0000:18:00.0", "critical", 1),
        ("gpu-fallen-off-bus", "0000:29:00.0", "critical", 1),
        ("sxid-12028", "0000:05:00.0", "warning", 5),
        ("sxid-20034", "0000:00:00.0", "error", 2),
        ("sxid-20123", "0000:05:00.0", "error", 1),
        ("sxid-22013", "0000:0a:00.0", "warning", 1),
        ("xid-14", "0000:03:00.0", "warning", 2),
        ("xid-144", "0000:01:00.0", "warning", 1),
        ("xid-144", "0000:04:00.0", "warning", 5),
        ("xid-145", "0000:04:00.0", "warning", 12),
        ("xid-145", "0008:01:00.0", "warning", 3),
        ("xid-145", "0008:06:00.0", "warning", 2),
        ("xid-145", "0018:01:00.0", "warning", 2),
        ("xid-145", "0019:01:00.0", "warning", 2),
        ("xid-146", "0000:04:00.0", "warning", 10),
        ("xid-147", "0000:04:00.0", "warning", 1),
        ("xid-148", "0000:04:00.0", "warning", 1),
        ("xid-149", "0000:00:00.0", "error", 2),
        ("xid-149", "0000:04:00.0", "error", 11),
        ("xid-149", "0008:01:00.0", "error", 5),
        ("xid-149", "0009:01:00.0", "error", 3),
        ("xid-149", "0018:01:00.0", "error", 4),
        ("xid-149", "0019:01:00.0", "error", 1),
        ("xid-150", "0000:04:00.0", "warning", 1),
        ("xid-31", "0000:01:00.0", "warning", 3),
        ("xid-31", "0000:02:00.0", "warning", 1),
        ("xid-31", "0000:03:00.0", "warning", 2),
        ("xid-63", "0000:01:00.0", "warning", 1),
        ("xid-63", "0000:02:00.0", "warning", 1),
        ("xid-63", "0000:04:00.0", "warning", 1),
        ("xid-63", "0000:05:00.0", "warning", 1),
        ("xid-64", "0000:02:00.0", "critical", 1),
        ("xid-64", "0000:03:00.0", "critical", 1),
        ("xid-64", "0000:04:00.0", "critical", 1),
        ("xid-69", "0000:04:00.0", "warning", 1),
        ("xid-79", "0000:01:00.0", "critical", 1),
        ("xid-79", "0000:03:00.0", "critical", 1),
        ("xid-79", "0000:04:00.0", "critical", 1),
        ("xid-79", "0000:05:00.0", "critical", 2),
        ("xid-94", "0000:05:00.0", "warning", 1),
    ],
    "kernel_logs/xid_format_reference_lines__vendor_docs_and_tickets.log": [
        ("xid-119", "0002:00:00.0", "error", 1),
        ("xid-119", "0004:01:00.0", "error", 1),
        ("xid-145", "0000:5f:00.0", "warning", 1),
        ("xid-31", "0000:2b:00.0", "warning", 1),
        ("xid-43", "0000:01:00.0", "warning", 1),
        ("xid-48", "0000:07:00.0", "critical", 1),
        ("xid-48", "0000:8a:00.0", "critical", 1),
        ("xid-63", "0000:10:1c.0", "warning", 1),
        ("xid-74", "0000:c1:00.0", "error", 1),
        ("xid-74", "0003:00:00.0", "error", 1),
        ("xid-79", "0004:01:00.0", "critical", 1),
        ("xid-94", "0000:01:00.0", "warning", 2),
        ("xid-95", "0000:01:00.0", "error", 1),
        ("xid-95", "0000:37:00.0", "error", 1),
    ],
}

# Failure-looking words, and the real lines carrying them that are rightly not findings.
FAILURE_WORDS = (
    r"Xid|SXid|AER:|PCIe Bus Error|mlx5_core.*(?i:error|fail|timeout|health|synd|fatal)|Machine Check|"
    r"Hardware Error|EDAC.*(CE|UE) |fallen off|segfault|Oops|BUG:|[Ll]ost carrier|NCCL WARN|soft lockup|"
    r"blocked for more|Out of memory|I/O error|nvme.*timeout|NVSwitch.*error"
)
BENIGN = {
    "NVRM: Xid",  # a bare prefix quoted in a test, no code
    "nvidia-nvswitch0: SXid (PCI:0000:a9:00.0): 20034, Data {0x50610002, 0x10100030}",  # follow-up line
    *(f"nvme nvme{n}: Shutdown timeout set to 11 seconds" for n in range(1, 7)),  # a setting, not a timeout
}


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_findings_of_each_real_file(relative: str) -> None:
    with Store.open(":memory:") as store:
        ingest(store, [str(REALDATA / relative)], IngestOptions(host="node"))
        analyze(store, PACK)
        found = store.frame(
            "SELECT rule_id, device, severity, count FROM findings WHERE severity <> 'info' ORDER BY rule_id, device"
        ).rows()

    assert found == EXPECTED[relative]


def test_every_real_failure_line_is_classified() -> None:
    with Store.open(":memory:") as store:
        ingest(store, [str(REALDATA / "kernel_logs"), str(REALDATA / "aznhc" / "test_data")])
        events = store.frame(f"SELECT {', '.join(engine.EVENT_COLUMNS)} FROM events")
    hits = engine.match(PACK, events).select("file_id", "line_no").unique()

    unclassified = (
        events.filter(pl.col("message").str.contains(FAILURE_WORDS))
        .join(hits, on=["file_id", "line_no"], how="anti")
        .filter(~pl.col("message").is_in(list(BENIGN)))
    )

    assert unclassified.select("message").to_series().to_list() == []
