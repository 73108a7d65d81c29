"""Fabric Manager logs: records with times and levels, continuation lines, sniffing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from triage.ingest import ingest
from triage.sources import fabric_manager
from triage.sources.reading import parse_bytes, parse_path
from triage.store import Store

LOG = b"""[Jul 23 2024 07:53:55] [INFO] [tid 841] Received an inband message:  Message header details: magic Id:adbc
Message payload details:Team release request: Team Handle:99c9f23d49236386 Flags:0

[Jul 23 2024 07:53:56] [ERROR] [tid 841] detected NVSwitch fatal error 20034 on fid 0 on NVSwitch pci bus id 00000000:86:00.0 physical id 3 port 33
[Jul  3 2024 08:00:00] [WARNING] [tid 9] fabric manager is shutting down
"""


def test_records_and_continuations() -> None:
    parsed = parse_bytes(LOG, "fabricmanager.log")
    assert (parsed.kind, parsed.format, parsed.error) == ("fabric_manager", "fabricmanager_log", None)
    events = parsed.table("events").select("line_no", "ts", "priority", "ident", "message")
    assert events.rows() == [
        (1, datetime(2024, 7, 23, 7, 53, 55), 6, "nv-fabricmanager", "Received an inband message:  Message header details: magic Id:adbc"),
        (2, datetime(2024, 7, 23, 7, 53, 55), 6, "nv-fabricmanager", "Message payload details:Team release request: Team Handle:99c9f23d49236386 Flags:0"),
        (3, datetime(2024, 7, 23, 7, 53, 55), 6, "nv-fabricmanager", ""),
        (4, datetime(2024, 7, 23, 7, 53, 56), 3, "nv-fabricmanager", "detected NVSwitch fatal error 20034 on fid 0 on NVSwitch pci bus id 00000000:86:00.0 physical id 3 port 33"),
        (5, datetime(2024, 7, 3, 8, 0), 4, "nv-fabricmanager", "fabric manager is shutting down"),
    ]  # fmt: skip


def test_continuation_across_batches() -> None:
    one = parse_bytes(LOG, "fm.log", batch_bytes=1 << 20).table("events")
    many = parse_bytes(LOG, "fm.log", batch_bytes=64).table("events")
    assert many.equals(one)


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(["[  12.345678] NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus."], id="dmesg"),
        pytest.param(["Jul 23 07:53:55 node1 kernel: mlx5_core 0000:0c:00.0: link down"], id="syslog"),
        pytest.param(["# nThread 1 nGpus 8 minBytes 8 maxBytes 8589934592 step: 2(factor)"], id="nccl-tests"),
        pytest.param(["[INFO] starting", "[ERROR] failed"], id="bracketed-levels-without-dates"),
    ],
)
def test_sniff_leaves_other_logs(lines: list[str]) -> None:
    assert fabric_manager.sniff(lines, "x.log") is None


def test_local_time_is_converted_to_utc(tmp_path: Path, store: Store) -> None:
    from triage.ingest.pipeline import IngestOptions

    path = tmp_path / "node7" / "fabricmanager.log"
    path.parent.mkdir()
    path.write_bytes(LOG)
    ingest(store, [str(tmp_path)], IngestOptions(timezone="Europe/Berlin"))
    first = store.frame("SELECT host, ts FROM events WHERE line_no = 1")
    assert first.rows() == [("node7", datetime(2024, 7, 23, 5, 53, 55))]


def test_realdata_nvswitch_error(realdata: Path) -> None:
    parsed = parse_path(realdata / "fabric_manager" / "fabricmanager.log")
    errors = parsed.table("events").filter(pl.col("priority") == 3).select("line_no", "ts", "message")
    assert errors.rows()[0] == (
        100,
        datetime(2025, 2, 27, 15, 10, 2),
        "detected NVSwitch non-fatal error 12028 on fid 0 on NVSwitch pci bus id 00000000:86:00.0 physical id 3 port 61",
    )


@pytest.mark.parametrize("name", ["fabricmanager.log", "fabric-manager.0.log"])
def test_realdata_every_line_dated(realdata: Path, name: str) -> None:
    parsed = parse_path(realdata / "fabric_manager" / name)
    events = parsed.table("events")
    assert (parsed.kind, parsed.error, events["ts"].null_count()) == ("fabric_manager", None, 0)
