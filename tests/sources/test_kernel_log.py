"""Kernel log layouts: detection, exact rows per layout, clocks, boots and batch state."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from triage.sources.kernel_log import ClockContext, KernelLogParser, detect_format, sample_hostname
from triage.sources.lines import iter_line_batches

REFERENCE = datetime(2025, 3, 1)

XID79 = "NVRM: Xid (PCI:0000:3b:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus."
XID119 = (
    "NVRM: Xid (PCI:0000:9b:00): 119, pid=2024380, name=nvidia-smi, Timeout after 6s of waiting for RPC "
    "response from GPU4 GSP! Expected function 103 (GSP_RM_ALLOC) (0x2081 0x4)."
)
XID13 = (
    "NVRM: Xid (PCI:0000:38:00): 13, pid='<unknown>', name=<unknown>, Graphics SM Warp Exception on "
    "(GPC 8, TPC 5, SM 0): Out Of Range Address"
)
XID31 = (
    "NVRM: Xid (PCI:0000:2b:00): 31, pid=1942, name=llama-bench, channel 0x00000002, intr 00000000. "
    "MMU Fault: ENGINE GRAPHICS GPCCLIENT_T1_13 faulted @ 0x6f6f_320c2000. Fault is of type FAULT_PDE "
    "ACCESS_TYPE_VIRT_READ"
)
AER_FATAL = "pcieport 0000:3a:00.0: AER: Uncorrected (Fatal) error received: 0000:3b:00.0"
AER_CORR = "pcieport 0000:3a:00.0: AER: Corrected error received: 0000:3b:00.0"
MLX5_FW = "mlx5_core 0000:5e:00.0: firmware version: 28.39.1002"
MLX5_POWER = (
    "mlx5_core 0000:5e:00.0: mlx5_pcie_event:301:(pid 812): Detected insufficient power on the PCIe slot (27W)."
)
PERSISTENCED = "device 0000:3b:00.0 - persistence mode disabled"
BANNER = "Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075) #45-Ubuntu SMP PREEMPT_DYNAMIC"
DOCKER = "docker0: port 1(vetha17b2cc) entered disabled state"
RFC5424_EXAMPLE = "%% It's time to make the do-nothings."  # RFC 5424, section 6.5, example 1
NO_PERMISSION = "dmesg: read kernel buffer failed: Operation not permitted"
BOOT_A = "4c2f3f8e9b1d4a6c8e7f0a1b2c3d4e5f"
BOOT_B = "9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a"

COLUMNS = ["line_no", "ts", "uptime_s", "boot", "boot_id", "source", "facility", "priority", "ident", "message"]


def ev(
    message: str,
    *,
    ts: datetime | None = None,
    up: float | None = None,
    boot: int = 0,
    boot_id: str | None = None,
    fac: str | None = None,
    pri: int | None = None,
    ident: str | None = None,
) -> dict[str, Any]:
    """One expected row, without its line_no (rows are listed in line order)."""
    return {
        "ts": ts,
        "uptime_s": up,
        "boot": boot,
        "boot_id": boot_id,
        "source": "kernel_log",
        "facility": fac,
        "priority": pri,
        "ident": ident,
        "message": message,
    }


def text_of(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def parse(
    text: str,
    fmt: str,
    *,
    timezone: str = "UTC",
    reference: datetime = REFERENCE,
    batch_bytes: int = 1 << 20,
) -> tuple[pl.DataFrame, KernelLogParser]:
    """All events of `text` (as one file) and the parser, with its end-of-file state."""
    parser = KernelLogParser(fmt, ClockContext(reference=reference, timezone=timezone))
    frames = [parser.parse(b) for b in iter_line_batches(io.BytesIO(text.encode()), batch_bytes=batch_bytes)]
    return pl.concat(frames), parser


def with_year_shift(frame: pl.DataFrame, shift: int) -> pl.DataFrame:
    """Apply a year_shift() result the way the ingest does: add `shift` years to every stamp."""
    return frame.with_columns(pl.col("ts").dt.offset_by(f"{shift}y"))


def rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    out = frame.to_dicts()
    assert [r.pop("line_no") for r in out] == list(range(1, len(out) + 1))
    return out


@dataclass
class Case:
    lines: list[str]
    fmt: str
    hits: int  # sample lines the layout's prefix matches, out of the non-blank ones
    expected: list[dict[str, Any]]
    year_shift: int = 0

    @property
    def text(self) -> str:
        return text_of(self.lines)


CASES = [
    pytest.param(
        Case(
            lines=[
                f"[    0.000000] {BANNER}",
                f"[   12.345678] {AER_FATAL}",
                f"[ 1234.567890] {XID79}",
                "",
                NO_PERMISSION,
                f"[    3.100000] {MLX5_FW}",
            ],
            fmt="dmesg",
            hits=4,
            expected=[
                ev(BANNER, up=0.0),
                ev(AER_FATAL, up=12.345678),
                ev(XID79, up=1234.56789),
                ev(""),
                ev(NO_PERMISSION),
                ev(MLX5_FW, up=3.1, boot=1),  # uptime went backwards: a new boot
            ],
        ),
        id="dmesg",
    ),
    pytest.param(
        Case(
            lines=[
                "<6>[    5.123456] [    T1] pci 0000:3b:00.0: [10de:2330] type 00 class 0x030200",
                f"<3>[  130.456250] [ T1946] {XID31}",
                "<4>[  131.000001] [  C12] mce: [Hardware Error]: Machine check events logged",
                "<30>[  132.500000] systemd[1]: Started nvidia-persistenced.service - NVIDIA Persistence Daemon.",
                "",
                "---[ end trace 8794939ba0598b91 ]---",
            ],
            fmt="dmesg",
            hits=4,
            expected=[
                ev("pci 0000:3b:00.0: [10de:2330] type 00 class 0x030200", up=5.123456, fac="kern", pri=6),
                ev(XID31, up=130.45625, fac="kern", pri=3),
                ev("mce: [Hardware Error]: Machine check events logged", up=131.000001, fac="kern", pri=4),
                ev(
                    "systemd[1]: Started nvidia-persistenced.service - NVIDIA Persistence Daemon.",
                    up=132.5,
                    fac="daemon",
                    pri=6,
                ),
                ev(""),
                ev("---[ end trace 8794939ba0598b91 ]---"),
            ],
        ),
        id="dmesg_raw_with_callers",
    ),
    pytest.param(
        Case(
            lines=[
                "kern  :info  : [    1.234567] pci 0000:3b:00.0: enabling device (0000 -> 0003)",
                f"kern  :err   : [ 5000.000001] {XID79}",
                f"kern  :warn  : [ 5000.100000] {AER_CORR}",
                "daemon:info  : [ 5001.500000] systemd[1]: Started nvidia-persistenced.service.",
                "",
                NO_PERMISSION,
            ],
            fmt="dmesg",
            hits=4,
            expected=[
                ev("pci 0000:3b:00.0: enabling device (0000 -> 0003)", up=1.234567, fac="kern", pri=6),
                ev(XID79, up=5000.000001, fac="kern", pri=3),
                ev(AER_CORR, up=5000.1, fac="kern", pri=4),
                ev("systemd[1]: Started nvidia-persistenced.service.", up=5001.5, fac="daemon", pri=6),
                ev(""),
                ev(NO_PERMISSION),
            ],
        ),
        id="dmesg_decode",
    ),
    pytest.param(
        Case(
            lines=[
                "[Sun Feb 23 16:24:18 2025] NVRM: GPU at PCI:0000:9b:00: GPU-509665ad-b600-ac93-3616-d754b23d636d",
                f"[Sun Feb 23 16:24:30 2025] {XID119}",
                f"kern  :warn  : [Mon Mar  3 09:05:07 2025] {AER_CORR}",
                "",
                NO_PERMISSION,
                f"[Mon Mar  3 09:12:44 2025] {BANNER}",
            ],
            fmt="dmesg_ctime",
            hits=4,
            expected=[
                ev(
                    "NVRM: GPU at PCI:0000:9b:00: GPU-509665ad-b600-ac93-3616-d754b23d636d",
                    ts=datetime(2025, 2, 23, 16, 24, 18),
                ),
                ev(XID119, ts=datetime(2025, 2, 23, 16, 24, 30)),
                ev(AER_CORR, ts=datetime(2025, 3, 3, 9, 5, 7), fac="kern", pri=4),
                ev(""),
                ev(NO_PERMISSION),
                ev(BANNER, ts=datetime(2025, 3, 3, 9, 12, 44), boot=1),  # banner after line 1: a new boot
            ],
        ),
        id="dmesg_ctime",
    ),
    pytest.param(
        Case(
            lines=[
                f"2025-01-21T02:21:33,498559+00:00 {XID13}",
                f"kern  :err   : 2025-01-21T10:21:34,000001+0800 {AER_FATAL}",
                f"kern  :info  : 2025-01-21T07:51:35,250000+05:30 {MLX5_POWER}",
                f"2025-01-20T21:21:36,100000-05:00 {XID79}",
                "",
                NO_PERMISSION,
            ],
            fmt="dmesg_iso",
            hits=4,
            expected=[
                ev(XID13, ts=datetime(2025, 1, 21, 2, 21, 33, 498559)),
                ev(AER_FATAL, ts=datetime(2025, 1, 21, 2, 21, 34, 1), fac="kern", pri=3),
                ev(MLX5_POWER, ts=datetime(2025, 1, 21, 2, 21, 35, 250000), fac="kern", pri=6),
                ev(XID79, ts=datetime(2025, 1, 21, 2, 21, 36, 100000)),
                ev(""),
                ev(NO_PERMISSION),
            ],
        ),
        id="dmesg_iso",
    ),
    pytest.param(
        Case(
            lines=[
                "[Feb23 16:24] NVRM: GPU at PCI:0000:9b:00: GPU-509665ad-b600-ac93-3616-d754b23d636d",
                f"[  +0.500000] {XID119}",
                f"[  +0.250000] {AER_CORR}",
                f"[Feb23 16:30] {XID79}",
                f"kern  :warn  : [  +1.000000] {MLX5_POWER}",
                "",
                NO_PERMISSION,
            ],
            fmt="dmesg_reltime",
            hits=5,
            expected=[
                ev(
                    "NVRM: GPU at PCI:0000:9b:00: GPU-509665ad-b600-ac93-3616-d754b23d636d",
                    ts=datetime(2025, 2, 23, 16, 24),
                ),
                ev(XID119, ts=datetime(2025, 2, 23, 16, 24, 0, 500000)),
                ev(AER_CORR, ts=datetime(2025, 2, 23, 16, 24, 0, 750000)),
                ev(XID79, ts=datetime(2025, 2, 23, 16, 30)),
                ev(MLX5_POWER, ts=datetime(2025, 2, 23, 16, 30, 1), fac="kern", pri=4),
                ev(""),  # lines that do not fit the layout have no time
                ev(NO_PERMISSION),
            ],
        ),
        id="dmesg_reltime",
    ),
    pytest.param(
        Case(
            lines=[
                "6,3964,206764307,-;nvidia-nvswitch2: open (major=510)",
                f"3,3970,227996636,-;{XID79}",
                " SUBSYSTEM=pci",
                " DEVICE=+pci:0000:3b:00.0",
                f"4,3971,228000000,c;{AER_CORR}",
                "30,3972,228100000,-;systemd[1]: nvidia-persistenced.service: Main process exited, status=1/FAILURE",
                "",
                "cat: /dev/kmsg: Operation not permitted",
                f"6,12,4500000,-;{MLX5_FW}",
            ],
            fmt="kmsg",
            hits=5,
            expected=[
                ev("nvidia-nvswitch2: open (major=510)", up=206.764307, fac="kern", pri=6),
                ev(XID79, up=227.996636, fac="kern", pri=3),
                ev(" SUBSYSTEM=pci", up=227.996636),  # continuation: the record's uptime
                ev(" DEVICE=+pci:0000:3b:00.0", up=227.996636),
                ev(AER_CORR, up=228.0, fac="kern", pri=4),
                ev(
                    "systemd[1]: nvidia-persistenced.service: Main process exited, status=1/FAILURE",
                    up=228.1,
                    fac="daemon",
                    pri=6,
                ),
                ev(""),
                ev("cat: /dev/kmsg: Operation not permitted"),
                ev(MLX5_FW, up=4.5, boot=1, fac="kern", pri=6),
            ],
        ),
        id="kmsg",
    ),
    pytest.param(
        Case(
            lines=[
                f"Dec 30 23:59:58 gpu-node-17 kernel: [  123.456789] {XID79}",
                f"Dec 31 00:00:01 gpu-node-17 kernel: {AER_FATAL}",
                f"<14>Jan  2 08:15:01 gpu-node-17 nvidia-persistenced[2211]: {PERSISTENCED}",
                f"Jan  2 08:20:00 gpu-node-17 kernel: [    0.000000] {BANNER}",
                f"Jan  2 08:20:07 gpu-node-17 kernel: [    7.250000] {MLX5_FW}",
                "",
                "Message from syslogd@gpu-node-17 at Jan  2 08:20:09 ...",
            ],
            fmt="syslog",
            hits=5,
            year_shift=-1,
            expected=[
                ev(XID79, ts=datetime(2024, 12, 30, 23, 59, 58), up=123.456789, ident="kernel"),
                ev(AER_FATAL, ts=datetime(2024, 12, 31, 0, 0, 1), ident="kernel"),
                ev(PERSISTENCED, ts=datetime(2025, 1, 2, 8, 15, 1), fac="user", pri=6, ident="nvidia-persistenced"),
                ev(BANNER, ts=datetime(2025, 1, 2, 8, 20), up=0.0, boot=1, ident="kernel"),
                ev(MLX5_FW, ts=datetime(2025, 1, 2, 8, 20, 7), up=7.25, boot=1, ident="kernel"),
                ev("", boot=1),
                ev("Message from syslogd@gpu-node-17 at Jan  2 08:20:09 ...", boot=1),
            ],
        ),
        id="syslog_rfc3164",
    ),
    pytest.param(
        Case(
            lines=[
                "-- Logs begin at Mon 2025-01-13 09:00:01 UTC, end at Fri 2025-01-17 15:44:00 UTC. --",
                f"Jan 17 15:36:15.003123 gpu-node-17 kernel: {XID79}",
                f"Jan 17 15:36:16.000001 gpu-node-17 nvidia-persistenced[2211]: {PERSISTENCED}",
                f"-- Boot {BOOT_B} --",
                f"Jan 17 15:40:02.500000 gpu-node-17 kernel: {MLX5_FW}",
                "-- Reboot --",
                f"Jan 17 15:44:00.000000 gpu-node-17 kernel: {AER_CORR}",
                "",
            ],
            fmt="syslog",
            hits=4,
            expected=[
                ev("-- Logs begin at Mon 2025-01-13 09:00:01 UTC, end at Fri 2025-01-17 15:44:00 UTC. --"),
                ev(XID79, ts=datetime(2025, 1, 17, 15, 36, 15, 3123), ident="kernel"),
                ev(PERSISTENCED, ts=datetime(2025, 1, 17, 15, 36, 16, 1), ident="nvidia-persistenced"),
                ev(f"-- Boot {BOOT_B} --", boot=1),
                ev(MLX5_FW, ts=datetime(2025, 1, 17, 15, 40, 2, 500000), boot=1, ident="kernel"),
                ev("-- Reboot --", boot=2),
                ev(AER_CORR, ts=datetime(2025, 1, 17, 15, 44), boot=2, ident="kernel"),
                ev("", boot=2),
            ],
        ),
        id="syslog_journal_short_precise",
    ),
    pytest.param(
        Case(
            lines=[
                f"2025-01-02T15:20:12+0800 jmsph-pro-a800-77-123 kernel: {DOCKER}",
                f"2025-01-17T17:10:43.123456+00:00 gpu-node-17 kernel: [ 4711.000001] {XID79}",
                f"2025-01-17T22:40:44.500+05:30 gpu-node-17 kernel: {MLX5_POWER}",
                f"2025-01-17T17:10:45Z gpu-node-17 kernel: {AER_CORR}",
                "",
                "-- No entries --",
            ],
            fmt="syslog",
            hits=4,
            expected=[
                ev(DOCKER, ts=datetime(2025, 1, 2, 7, 20, 12), ident="kernel"),
                ev(XID79, ts=datetime(2025, 1, 17, 17, 10, 43, 123456), up=4711.000001, ident="kernel"),
                ev(MLX5_POWER, ts=datetime(2025, 1, 17, 17, 10, 44, 500000), ident="kernel"),
                ev(AER_CORR, ts=datetime(2025, 1, 17, 17, 10, 45), ident="kernel"),
                ev(""),
                ev("-- No entries --"),
            ],
        ),
        id="syslog_iso",
    ),
    pytest.param(
        Case(
            lines=[
                f"<3>1 2025-01-17T15:36:15.003Z gpu-node-17 kernel - - - [  123.456789] {XID79}",
                f'<30>1 2025-01-17T16:36:16.500000+01:00 gpu-node-17 nvidia-persistenced 2211 - [origin ip="10.0.0.5"]'
                f'[meta sequenceId="7"] {PERSISTENCED}',
                f"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - {RFC5424_EXAMPLE}",
                f"<4>1 2025-01-17T15:36:20.000000+00:00 gpu-node-17 kernel - - - {AER_CORR}",
                "",
                "Jan 17 15:36:21 gpu-node-17 kernel: not an RFC 5424 record",
            ],
            fmt="rfc5424",
            hits=4,
            expected=[
                ev(XID79, ts=datetime(2025, 1, 17, 15, 36, 15, 3000), up=123.456789, fac="kern", pri=3, ident="kernel"),
                ev(
                    PERSISTENCED,
                    ts=datetime(2025, 1, 17, 15, 36, 16, 500000),
                    fac="daemon",
                    pri=6,
                    ident="nvidia-persistenced",
                ),
                ev(
                    RFC5424_EXAMPLE,
                    ts=datetime(2003, 8, 24, 12, 14, 15, 3),
                    fac="local4",
                    pri=5,
                    ident="myproc",
                ),
                ev(AER_CORR, ts=datetime(2025, 1, 17, 15, 36, 20), fac="kern", pri=4, ident="kernel"),
                ev(""),
                ev("Jan 17 15:36:21 gpu-node-17 kernel: not an RFC 5424 record"),
            ],
        ),
        id="rfc5424",
    ),
    pytest.param(
        Case(
            lines=[
                '{"__CURSOR":"s=1","__REALTIME_TIMESTAMP":"1737127575003123","__MONOTONIC_TIMESTAMP":"123456789",'
                f'"_BOOT_ID":"{BOOT_A}","PRIORITY":"3","SYSLOG_FACILITY":"0","SYSLOG_IDENTIFIER":"kernel",'
                f'"_HOSTNAME":"gpu-node-17","MESSAGE":"{XID79}"}}',
                '{"__CURSOR":"s=2","__REALTIME_TIMESTAMP":"1737127576000000","__MONOTONIC_TIMESTAMP":"124453666",'
                f'"_BOOT_ID":"{BOOT_A}","PRIORITY":"6","SYSLOG_FACILITY":"3",'
                '"SYSLOG_IDENTIFIER":"nvidia-persistenced","_HOSTNAME":"gpu-node-17",'
                '"MESSAGE":"device 0000:3b:00.0 - \\"persistence\\" mode disabled"}',
                "",
                "Failed to get journal fields: Bad message",
                '{"__CURSOR":"s=3","__REALTIME_TIMESTAMP":"1737131000000000","__MONOTONIC_TIMESTAMP":"5000000",'
                f'"_BOOT_ID":"{BOOT_B}","PRIORITY":"4","SYSLOG_FACILITY":"0","SYSLOG_IDENTIFIER":"kernel",'
                f'"_HOSTNAME":"gpu-node-17","MESSAGE":"[    4.999000] {MLX5_POWER}"}}',
            ],
            fmt="journal_json",
            hits=3,
            expected=[
                ev(
                    XID79,
                    ts=datetime(2025, 1, 17, 15, 26, 15, 3123),
                    up=123.456789,
                    boot_id=BOOT_A,
                    fac="kern",
                    pri=3,
                    ident="kernel",
                ),
                ev(
                    'device 0000:3b:00.0 - "persistence" mode disabled',
                    ts=datetime(2025, 1, 17, 15, 26, 16),
                    up=124.453666,
                    boot_id=BOOT_A,
                    fac="daemon",
                    pri=6,
                    ident="nvidia-persistenced",
                ),
                ev(""),
                ev("Failed to get journal fields: Bad message"),
                # the monotonic clock wins over an uptime quoted in the message, which is stripped
                ev(
                    MLX5_POWER,
                    ts=datetime(2025, 1, 17, 16, 23, 20),
                    up=5.0,
                    boot=1,
                    boot_id=BOOT_B,
                    fac="kern",
                    pri=4,
                    ident="kernel",
                ),
            ],
        ),
        id="journal_json",
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_layout_rows(case: Case) -> None:
    frame, parser = parse(case.text, case.fmt)
    assert parser.year_shift() == case.year_shift
    assert rows(with_year_shift(frame, parser.year_shift())) == case.expected


@pytest.mark.parametrize("case", CASES)
def test_detect_format_picks_the_layout(case: Case) -> None:
    non_blank = sum(1 for line in case.lines if line.strip())
    assert detect_format(case.text.split("\n")) == (case.fmt, case.hits / non_blank)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("batch_bytes", [1, 17, 96])
def test_state_carries_across_batches(case: Case, batch_bytes: int) -> None:
    whole, whole_parser = parse(case.text, case.fmt)
    pieces, pieces_parser = parse(case.text, case.fmt, batch_bytes=batch_bytes)
    n_batches = sum(1 for _ in iter_line_batches(io.BytesIO(case.text.encode()), batch_bytes=batch_bytes))
    assert n_batches > 1
    assert_frame_equal(pieces, whole)
    assert pieces_parser.year_shift() == whole_parser.year_shift()
    assert pieces_parser.boot == whole_parser.boot


def test_output_schema() -> None:
    frame, _ = parse(text_of([f"[   12.345678] {XID79}"]), "dmesg")
    assert frame.schema == pl.Schema(
        {
            "line_no": pl.Int64,
            "ts": pl.Datetime("us"),
            "uptime_s": pl.Float64,
            "boot": pl.Int32,
            "boot_id": pl.String,
            "source": pl.String,
            "facility": pl.String,
            "priority": pl.Int8,
            "ident": pl.String,
            "message": pl.String,
        }
    )


# -- detection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param([], (None, 0.0), id="empty_sample"),
        pytest.param(["", "   ", "\t"], (None, 0.0), id="only_blank_lines"),
        pytest.param([NO_PERMISSION, "hello"], (None, 0.0), id="nothing_fits"),
        pytest.param(
            [
                "2025-01-17T15:36:15.123456+0000 gpu-node-17 kernel: pci 0000:3b:00.0: enabling device",
                f"2025-01-17T15:36:16.000001+0000 gpu-node-17 kernel: {XID79}",
            ],
            ("syslog", 1.0),
            id="journal_short_iso_precise_is_syslog",
        ),
        pytest.param(
            # dmesg --time-format iso of PCIe/NIC lines: `<driver> <bdf>: ...` must not be read as
            # `<host> <ident>: ...`; the comma before the microseconds is dmesg's, never syslog's.
            [
                f"2025-01-21T02:21:33,498559+00:00 {AER_CORR}",
                "2025-01-21T02:21:33,498600+00:00 nvidia 0000:3b:00.0: PCIe Bus Error: severity=Corrected, "
                "type=Physical Layer, (Receiver ID)",
                f"2025-01-21T02:21:33,498700+00:00 {MLX5_POWER}",
                "2024-11-15T05:39:15,491363+00:00 nvidia-peermem nv_get_p2p_free_callback:127 ERROR detected "
                "invalid context, skipping further processing",
            ],
            ("dmesg_iso", 1.0),
            id="dmesg_iso_pci_lines_are_not_syslog",
        ),
        pytest.param(
            [f"[  130.456250] [ T1946] {XID31}", f"Jan 17 15:36:15 gpu-node-17 kernel: {XID79}"],
            ("syslog", 0.5),
            id="tie_goes_to_the_more_specific_layout",
        ),
    ],
)
def test_detect_format_edge_cases(lines: list[str], expected: tuple[str | None, float]) -> None:
    assert detect_format(lines) == expected


@pytest.mark.parametrize(
    ("lines", "fmt", "expected"),
    [
        pytest.param(
            [
                f"Jan 17 15:36:15 gpu-node-17 kernel: {XID79}",
                f"Jan 17 15:36:16 gpu-node-17 kernel: {AER_CORR}",
                f"Jan 17 15:36:17 other-node kernel: {MLX5_FW}",
                f"-- Boot {BOOT_A} --",
            ],
            "syslog",
            "gpu-node-17",
            id="syslog_majority",
        ),
        pytest.param(
            [f"2025-01-02T15:20:12+0800 jmsph-pro-a800-77-123 kernel: {MLX5_FW}"],
            "syslog",
            "jmsph-pro-a800-77-123",
            id="journal_short_iso",
        ),
        pytest.param([f"Jan 17 15:36:15 localhost kernel: {XID79}"], "syslog", None, id="localhost_is_no_name"),
        pytest.param(
            [f"<3>1 2025-01-17T15:36:15.003Z gpu-node-17 kernel - - - {XID79}"], "rfc5424", "gpu-node-17", id="rfc5424"
        ),
        pytest.param([f"<3>1 2025-01-17T15:36:15.003Z - kernel - - - {XID79}"], "rfc5424", None, id="rfc5424_nil_host"),
        pytest.param(
            [
                '{"__REALTIME_TIMESTAMP":"1737127575003123","_HOSTNAME":"dgx-a100-042","MESSAGE":"x"}',
                '{"__REALTIME_TIMESTAMP":"1737127575003124","_HOSTNAME" : "dgx-a100-042","MESSAGE":"y"}',
            ],
            "journal_json",
            "dgx-a100-042",
            id="journal_json",
        ),
        pytest.param([f"[   12.345678] {XID79}"], "dmesg", None, id="dmesg_has_no_host"),
        pytest.param([f"6,3970,227996636,-;{XID79}"], "kmsg", None, id="kmsg_has_no_host"),
        pytest.param([NO_PERMISSION], "syslog", None, id="no_matching_line"),
    ],
)
def test_sample_hostname(lines: list[str], fmt: str, expected: str | None) -> None:
    assert sample_hostname(lines, fmt) == expected


# -- prefixes ----------------------------------------------------------------------------


def one(line: str, fmt: str, **clock: Any) -> dict[str, Any]:
    frame, _ = parse(text_of([line]), fmt, **clock)
    (row,) = rows(frame)
    return row


@pytest.mark.parametrize(
    ("line", "facility", "priority"),
    [
        pytest.param(f"<0>[  201.909425] {XID79}", "kern", 0, id="kern_emerg"),
        pytest.param(f"<3>[  201.909425] {XID79}", "kern", 3, id="kern_err"),
        pytest.param(f"<6>[  201.909425] {XID79}", "kern", 6, id="kern_info"),
        pytest.param(f"<14>[  201.909425] {XID79}", "user", 6, id="user_info"),
        pytest.param(f"<30>[  201.909425] {XID79}", "daemon", 6, id="daemon_info"),
        pytest.param(f"<191>[  201.909425] {XID79}", "local7", 7, id="local7_debug"),
        pytest.param(f"[  201.909425] {XID79}", None, None, id="no_prefix"),
    ],
)
def test_dmesg_raw_priority_and_facility(line: str, facility: str | None, priority: int | None) -> None:
    row = one(line, "dmesg")
    assert (row["facility"], row["priority"], row["uptime_s"], row["message"]) == (
        facility,
        priority,
        201.909425,
        XID79,
    )


@pytest.mark.parametrize(
    ("line", "uptime", "message"),
    [
        pytest.param(f"[  130.456250] [ T1946] {XID31}", 130.45625, XID31, id="thread_caller"),
        pytest.param(f"[    0.000000] [    T0] {BANNER}", 0.0, BANNER, id="padded_thread_caller"),
        pytest.param(f"[    0.000000][    T0] {BANNER}", 0.0, BANNER, id="caller_without_space"),
        pytest.param(
            "[ 2791.012345] [  C12] mce: CPU12: Core temperature above threshold",
            2791.012345,
            "mce: CPU12: Core temperature above threshold",
            id="cpu_caller",
        ),
        pytest.param(f"<4>[  131.000001] [ T1946] {XID31}", 131.000001, XID31, id="raw_with_caller"),
        pytest.param(
            "[  131.000001] [Firmware Bug]: TSC ADJUST differs",
            131.000001,
            "[Firmware Bug]: TSC ADJUST differs",
            id="bracketed_text_is_not_a_caller",
        ),
    ],
)
def test_dmesg_caller_is_stripped(line: str, uptime: float, message: str) -> None:
    row = one(line, "dmesg")
    assert (row["uptime_s"], row["message"]) == (uptime, message)


@pytest.mark.parametrize(
    ("line", "fmt", "facility", "priority", "ts", "uptime"),
    [
        pytest.param(f"kern  :err   : [ 1234.567890] {XID79}", "dmesg", "kern", 3, None, 1234.56789, id="dmesg"),
        pytest.param(
            f"kern  :warn  : [Sun Feb 23 16:24:30 2025] {XID79}",
            "dmesg_ctime",
            "kern",
            4,
            datetime(2025, 2, 23, 16, 24, 30),
            None,
            id="dmesg_ctime",
        ),
        pytest.param(
            f"kern  :notice: 2025-01-21T02:21:33,498559+00:00 {XID79}",
            "dmesg_iso",
            "kern",
            5,
            datetime(2025, 1, 21, 2, 21, 33, 498559),
            None,
            id="dmesg_iso",
        ),
        pytest.param(
            f"user  :debug : 2025-01-21T02:21:33,498559+00:00 {XID79}",
            "dmesg_iso",
            "user",
            7,
            datetime(2025, 1, 21, 2, 21, 33, 498559),
            None,
            id="dmesg_iso_user_debug",
        ),
        pytest.param(
            f"daemon:info  : 2025-01-21T02:21:33,498559+00:00 {XID79}",
            "dmesg_iso",
            "daemon",
            6,
            datetime(2025, 1, 21, 2, 21, 33, 498559),
            None,
            id="dmesg_iso_daemon_info",
        ),
        pytest.param(
            f"syslog:info  : 2025-01-21T02:21:33,498559+00:00 {XID79}",
            "dmesg_iso",
            "syslog",
            6,
            datetime(2025, 1, 21, 2, 21, 33, 498559),
            None,
            id="dmesg_iso_syslog_info",
        ),
        pytest.param(
            f"kern  :emerg : [Feb23 16:24] {XID79}",
            "dmesg_reltime",
            "kern",
            0,
            datetime(2025, 2, 23, 16, 24),
            None,
            id="dmesg_reltime",
        ),
    ],
)
def test_decode_prefix(
    line: str, fmt: str, facility: str, priority: int, ts: datetime | None, uptime: float | None
) -> None:
    assert detect_format([line]) == (fmt, 1.0)
    row = one(line, fmt)
    assert (row["facility"], row["priority"], row["ts"], row["uptime_s"], row["message"]) == (
        facility,
        priority,
        ts,
        uptime,
        XID79,
    )


@pytest.mark.parametrize(
    ("line", "fmt", "ts"),
    [
        pytest.param(
            f"2025-01-21T10:21:33,498559+0800 {XID79}",
            "dmesg_iso",
            datetime(2025, 1, 21, 2, 21, 33, 498559),
            id="dmesg_iso_+0800",
        ),
        pytest.param(
            f"2025-01-21T10:21:33,498559+08:00 {XID79}",
            "dmesg_iso",
            datetime(2025, 1, 21, 2, 21, 33, 498559),
            id="dmesg_iso_+08:00",
        ),
        pytest.param(
            f"2025-01-21T07:51:33,498559+05:30 {XID79}",
            "dmesg_iso",
            datetime(2025, 1, 21, 2, 21, 33, 498559),
            id="dmesg_iso_+05:30",
        ),
        pytest.param(
            f"2025-01-20T21:21:33,498559-05:00 {XID79}",
            "dmesg_iso",
            datetime(2025, 1, 21, 2, 21, 33, 498559),
            id="dmesg_iso_-05:00_previous_day",
        ),
        pytest.param(
            f"2025-01-21T02:21:33,498559Z {XID79}",
            "dmesg_iso",
            datetime(2025, 1, 21, 2, 21, 33, 498559),
            id="dmesg_iso_Z",
        ),
        pytest.param(
            f"2025-01-02T15:20:12+0800 jmsph-pro-a800-77-123 kernel: {XID79}",
            "syslog",
            datetime(2025, 1, 2, 7, 20, 12),
            id="journal_short_iso_+0800",
        ),
        pytest.param(
            f"2025-01-02T15:20:12.250+05:30 gpu-node-17 kernel: {XID79}",
            "syslog",
            datetime(2025, 1, 2, 9, 50, 12, 250000),
            id="rsyslog_+05:30",
        ),
        pytest.param(
            f"2025-01-02T15:20:12.000001Z gpu-node-17 kernel: {XID79}",
            "syslog",
            datetime(2025, 1, 2, 15, 20, 12, 1),
            id="rsyslog_Z",
        ),
        pytest.param(
            f"<3>1 2025-01-02T00:20:12.5+01:00 gpu-node-17 kernel - - - {XID79}",
            "rfc5424",
            datetime(2025, 1, 1, 23, 20, 12, 500000),
            id="rfc5424_+01:00_previous_year",
        ),
    ],
)
def test_iso_offsets_are_converted_to_utc(line: str, fmt: str, ts: datetime) -> None:
    assert detect_format([line]) == (fmt, 1.0)
    # An explicit offset wins over the configured zone.
    for timezone in ("UTC", "Europe/Berlin"):
        row = one(line, fmt, timezone=timezone)
        assert (row["ts"], row["message"]) == (ts, XID79)


@pytest.mark.parametrize(
    ("line", "fmt", "ts"),
    [
        pytest.param(
            f"[Sun Feb 23 16:24:30 2025] {XID79}",
            "dmesg_ctime",
            datetime(2025, 2, 23, 15, 24, 30),
            id="dmesg_ctime_winter_cet",
        ),
        pytest.param(
            f"[Fri Jul  4 10:00:00 2025] {XID79}",
            "dmesg_ctime",
            datetime(2025, 7, 4, 8, 0),
            id="dmesg_ctime_summer_cest",
        ),
        pytest.param(f"[Feb23 16:24] {XID79}", "dmesg_reltime", datetime(2025, 2, 23, 15, 24), id="dmesg_reltime"),
        pytest.param(
            f"Jan  1 00:30:00 gpu-node-17 kernel: {XID79}",
            "syslog",
            datetime(2024, 12, 31, 23, 30),
            id="rfc3164_new_year_is_still_last_year_in_utc",
        ),
        pytest.param(
            f"Feb 28 23:59:59.999999 gpu-node-17 kernel: {XID79}",
            "syslog",
            datetime(2025, 2, 28, 22, 59, 59, 999999),
            id="journal_short_precise",
        ),
        pytest.param(
            f"2025-01-17T17:10:45 gpu-node-17 kernel: {XID79}",
            "syslog",
            datetime(2025, 1, 17, 16, 10, 45),
            id="naive_iso_syslog",
        ),
        pytest.param(
            f"<3>1 2025-07-17T17:10:45.5 gpu-node-17 kernel - - - {XID79}",
            "rfc5424",
            datetime(2025, 7, 17, 15, 10, 45, 500000),
            id="naive_rfc5424",
        ),
    ],
)
def test_timezone_shifts_naive_stamps_to_utc(line: str, fmt: str, ts: datetime) -> None:
    row = one(line, fmt, timezone="Europe/Berlin")
    assert (row["ts"], row["message"]) == (ts, XID79)


def test_timezone_does_not_touch_journal_json() -> None:
    line = f'{{"__REALTIME_TIMESTAMP":"1737127575003123","MESSAGE":"{XID79}"}}'
    row = one(line, "journal_json", timezone="Asia/Kolkata")
    assert (row["ts"], row["message"]) == (datetime(2025, 1, 17, 15, 26, 15, 3123), XID79)


@pytest.mark.parametrize(
    ("line", "fmt", "uptime", "message"),
    [
        pytest.param(
            f"Jan 17 15:36:15 gpu-node-17 kernel: [  123.456789] {XID79}", "syslog", 123.456789, XID79, id="rfc3164"
        ),
        pytest.param(
            f"Jan 17 15:36:15 gpu-node-17 kernel: [1234567.000001]{AER_CORR}",
            "syslog",
            1234567.000001,
            AER_CORR,
            id="rfc3164_no_space",
        ),
        pytest.param(
            f"2025-01-17T15:36:15.003+00:00 gpu-node-17 kernel: [    2.500000] {MLX5_FW}",
            "syslog",
            2.5,
            MLX5_FW,
            id="rsyslog_iso",
        ),
        pytest.param(
            f"<4>1 2025-01-17T15:36:15.003Z gpu-node-17 kernel - - - [   42.000042] {AER_CORR}",
            "rfc5424",
            42.000042,
            AER_CORR,
            id="rfc5424",
        ),
        pytest.param(
            "Jan 17 15:36:15 gpu-node-17 kernel: [Hardware Error]: Machine check events logged",
            "syslog",
            None,
            "[Hardware Error]: Machine check events logged",
            id="bracket_that_is_no_uptime",
        ),
        pytest.param(
            f"Jan 17 15:36:15 gpu-node-17 kernel: {XID79} [  123.456789]",
            "syslog",
            None,
            f"{XID79} [  123.456789]",
            id="uptime_not_at_start",
        ),
    ],
)
def test_embedded_uptime_is_lifted(line: str, fmt: str, uptime: float | None, message: str) -> None:
    row = one(line, fmt)
    assert (row["uptime_s"], row["message"], row["ident"]) == (uptime, message, "kernel")


# -- year inference ----------------------------------------------------------------------

WRAP = [
    f"Dec 30 23:59:58 gpu-node-17 kernel: {XID79}",
    f"Dec 31 12:00:00 gpu-node-17 kernel: {AER_FATAL}",
    f"Jan  2 08:15:00 gpu-node-17 kernel: {MLX5_FW}",
    f"Jan  2 08:15:01 gpu-node-17 kernel: {AER_CORR}",
]


def test_rfc3164_year_wrap_and_shift() -> None:
    frame, parser = parse(text_of(WRAP), "syslog", reference=datetime(2025, 3, 1))
    # Provisional: the reference year, one more after the December -> January wrap.
    assert frame["ts"].dt.year().to_list() == [2025, 2025, 2026, 2026]
    assert parser.year_wraps == 1
    assert parser.year_shift() == -1
    final = with_year_shift(frame, parser.year_shift())["ts"].to_list()
    assert final == [
        datetime(2024, 12, 30, 23, 59, 58),
        datetime(2024, 12, 31, 12, 0),
        datetime(2025, 1, 2, 8, 15),
        datetime(2025, 1, 2, 8, 15, 1),
    ]


@pytest.mark.parametrize(
    ("lines", "reference", "shift", "years"),
    [
        pytest.param(WRAP, datetime(2025, 1, 2, 9, 0), -1, [2024, 2024, 2025, 2025], id="wrap_mtime_just_after"),
        pytest.param(WRAP, datetime(2026, 6, 1), -1, [2025, 2025, 2026, 2026], id="wrap_mtime_months_later"),
        pytest.param(WRAP[:2], datetime(2025, 1, 5), -1, [2024, 2024], id="december_read_in_january"),
        pytest.param(WRAP[:2], datetime(2024, 12, 31, 12, 0), 0, [2024, 2024], id="last_line_at_mtime"),
        pytest.param(WRAP[2:], datetime(2025, 3, 1), 0, [2025, 2025], id="same_year"),
        pytest.param(
            [f"Feb 29 10:00:00 gpu-node-17 kernel: {XID79}"],
            datetime(2024, 3, 1),
            0,
            [2024],
            id="leap_day_in_leap_year",
        ),
        pytest.param(
            # Dec 2023 -> Feb 29 2024, file written on 2024-03-01: the provisional year after the
            # wrap (2025) has no 29 February, yet the line is dated once the shift is known.
            [WRAP[0], f"Feb 29 10:00:00 gpu-node-17 kernel: {XID79}"],
            datetime(2024, 3, 1),
            -1,
            [2023, 2024],
            id="leap_day_after_year_wrap",
            marks=pytest.mark.xfail(
                strict=True,
                reason="known limitation: year-less stamps are dated in a provisional year before the "
                "year shift is known, and 29 February does not exist in that year",
            ),
        ),
    ],
)
def test_rfc3164_year_shift(lines: list[str], reference: datetime, shift: int, years: list[int]) -> None:
    frame, parser = parse(text_of(lines), "syslog", reference=reference)
    assert parser.year_shift() == shift
    assert with_year_shift(frame, shift)["ts"].dt.year().to_list() == years


def test_year_shift_is_zero_for_stamps_with_a_year() -> None:
    _, parser = parse(text_of([f"[Fri Jul  4 10:00:00 2025] {XID79}"]), "dmesg_ctime", reference=datetime(2025, 3, 1))
    assert parser.year_shift() == 0


def test_reltime_year_wrap() -> None:
    lines = [f"[Dec31 23:59] {XID79}", f"[  +90.000000] {AER_CORR}", f"[Jan 1 00:01] {MLX5_FW}"]
    frame, parser = parse(text_of(lines), "dmesg_reltime", reference=datetime(2025, 1, 1, 0, 5))
    assert parser.year_shift() == -1
    assert with_year_shift(frame, -1)["ts"].to_list() == [
        datetime(2024, 12, 31, 23, 59),
        datetime(2025, 1, 1, 0, 0, 30),
        datetime(2025, 1, 1, 0, 1),
    ]


# -- boots ---------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_bytes", [pytest.param(1 << 20, id="one_batch"), pytest.param(1, id="line_batches")])
def test_dmesg_boot_counter_on_uptime_reset(batch_bytes: int) -> None:
    lines = [
        f"[ 5000.000000] {XID79}",
        f"[ 5000.500000] {AER_FATAL}",
        f"[ 4999.800000] {AER_CORR}",  # out of order by less than a second: same boot
        f"[    0.000000] {BANNER}",
        "",
        f"[    3.000000] {MLX5_FW}",
        f"[    1.000000] {MLX5_FW}",
    ]
    frame, parser = parse(text_of(lines), "dmesg", batch_bytes=batch_bytes)
    assert frame["boot"].to_list() == [0, 0, 0, 1, 1, 1, 2]
    assert parser.boot == 2


def test_journal_boot_mark_and_banner_count_one_boot() -> None:
    # journalctl -k: each boot starts with a boot mark, then the kernel banner.
    lines = [
        f"Jan 17 15:36:15 gpu-node-17 kernel: {XID79}",
        f"-- Boot {BOOT_B} --",
        f"Jan 17 15:40:00 gpu-node-17 kernel: {BANNER}",
        f"Jan 17 15:40:02 gpu-node-17 kernel: {MLX5_FW}",
    ]
    frame, _ = parse(text_of(lines), "syslog")
    assert frame["boot"].to_list() == [0, 1, 1, 1]


def test_syslog_banner_alone_starts_a_boot() -> None:
    lines = [
        f"Jan 17 15:36:15 gpu-node-17 kernel: [  880.000000] {XID79}",
        f"Jan 17 15:40:00 gpu-node-17 kernel: [    0.000000] {BANNER}",
        f"Jan 17 15:40:02 gpu-node-17 kernel: [    2.000000] {MLX5_FW}",
    ]
    frame, _ = parse(text_of(lines), "syslog")
    assert frame["boot"].to_list() == [0, 1, 1]


def test_banner_on_the_first_line_is_boot_zero() -> None:
    frame, _ = parse(
        text_of([f"[Mon Mar  3 09:12:44 2025] {BANNER}", f"[Mon Mar  3 09:12:45 2025] {XID79}"]), "dmesg_ctime"
    )
    assert frame["boot"].to_list() == [0, 0]


@pytest.mark.parametrize("batch_bytes", [pytest.param(1 << 20, id="one_batch"), pytest.param(1, id="line_batches")])
def test_journal_json_boot_id_change(batch_bytes: int) -> None:
    def entry(boot_id: str, rt: int) -> str:
        return f'{{"__REALTIME_TIMESTAMP":"{rt}","_BOOT_ID":"{boot_id}","MESSAGE":"m{rt}"}}'

    lines = [
        entry(BOOT_A, 1),
        entry(BOOT_A, 2),
        "",
        entry(BOOT_B, 3),
        '{"__REALTIME_TIMESTAMP":"4","MESSAGE":"no boot id"}',
        entry(BOOT_B, 5),
        entry(BOOT_A, 6),
    ]
    frame, parser = parse(text_of(lines), "journal_json", batch_bytes=batch_bytes)
    assert frame["boot"].to_list() == [0, 0, 0, 1, 1, 1, 2]
    assert frame["boot_id"].to_list() == [BOOT_A, BOOT_A, None, BOOT_B, None, BOOT_B, BOOT_A]
    assert (parser.boot, parser.boot_id) == (2, BOOT_A)


# -- kmsg, reltime, journal_json specifics ----------------------------------------------


@pytest.mark.parametrize("batch_bytes", [pytest.param(1 << 20, id="one_batch"), pytest.param(1, id="line_batches")])
def test_kmsg_continuation_inherits_uptime(batch_bytes: int) -> None:
    lines = [
        f"3,3970,227996636,-;{XID79}",
        " SUBSYSTEM=pci",
        " DEVICE=+pci:0000:3b:00.0",
        f"4,3971,228000000,c;{AER_CORR}",
        " SUBSYSTEM=pci",
    ]
    frame, _ = parse(text_of(lines), "kmsg", batch_bytes=batch_bytes)
    assert frame["uptime_s"].to_list() == [227.996636, 227.996636, 227.996636, 228.0, 228.0]
    assert frame["priority"].to_list() == [3, None, None, 4, None]
    assert frame["boot"].to_list() == [0, 0, 0, 0, 0]


@pytest.mark.parametrize("batch_bytes", [pytest.param(1 << 20, id="one_batch"), pytest.param(1, id="line_batches")])
def test_reltime_deltas_accumulate(batch_bytes: int) -> None:
    lines = [
        f"[Feb23 16:24] {XID119}",
        f"[  +0.500000] {XID79}",
        f"[  +0.250000] {AER_CORR}",
        f"[  +0.000123] {AER_FATAL}",
        f"[Feb23 16:25] {MLX5_FW}",
        f"[ +12.000001] {MLX5_POWER}",
    ]
    frame, parser = parse(text_of(lines), "dmesg_reltime", batch_bytes=batch_bytes)
    assert frame["ts"].to_list() == [
        datetime(2025, 2, 23, 16, 24),
        datetime(2025, 2, 23, 16, 24, 0, 500000),
        datetime(2025, 2, 23, 16, 24, 0, 750000),
        datetime(2025, 2, 23, 16, 24, 0, 750123),
        datetime(2025, 2, 23, 16, 25),
        datetime(2025, 2, 23, 16, 25, 12, 1),
    ]
    assert frame["message"].to_list() == [XID119, XID79, AER_CORR, AER_FATAL, MLX5_FW, MLX5_POWER]
    assert parser.year_shift() == 0


def test_reltime_lines_that_do_not_fit_have_no_time() -> None:
    lines = [f"[Feb23 16:24] {XID119}", "", NO_PERMISSION, f"[  +0.500000] {XID79}"]
    frame, _ = parse(text_of(lines), "dmesg_reltime")
    assert frame["ts"].to_list() == [
        datetime(2025, 2, 23, 16, 24),
        None,
        None,
        datetime(2025, 2, 23, 16, 24, 0, 500000),
    ]


def test_reltime_delta_before_any_anchor_has_no_time() -> None:
    frame, _ = parse(text_of([f"[  +0.500000] {XID79}", f"[Feb23 16:24] {AER_CORR}"]), "dmesg_reltime")
    assert frame["ts"].to_list() == [None, datetime(2025, 2, 23, 16, 24)]


def test_journal_json_fields() -> None:
    line = (
        '{"__CURSOR":"s=6a2f;i=1c4","__REALTIME_TIMESTAMP":"1737127575003123","__MONOTONIC_TIMESTAMP":"3661000001",'
        f'"_BOOT_ID":"{BOOT_A}","_TRANSPORT":"kernel","PRIORITY":"2","SYSLOG_FACILITY":"0",'
        '"SYSLOG_IDENTIFIER":"kernel","_HOSTNAME":"gpu-node-17",'
        '"MESSAGE":"NVRM: Xid (PCI:0000:3b:00): 48, pid=\'<unknown>\', name=<unknown>, An uncorrectable double bit '
        'error (DBE) has been detected on GPU in the framebuffer at partition 4, subpartition 1 \\u2013 \\"DBE\\""}'
    )
    row = one(line, "journal_json")
    assert row == {
        "ts": datetime(2025, 1, 17, 15, 26, 15, 3123),
        "uptime_s": 3661.000001,
        "boot": 0,
        "boot_id": BOOT_A,
        "source": "kernel_log",
        "facility": "kern",
        "priority": 2,
        "ident": "kernel",
        "message": "NVRM: Xid (PCI:0000:3b:00): 48, pid='<unknown>', name=<unknown>, An uncorrectable double bit "
        'error (DBE) has been detected on GPU in the framebuffer at partition 4, subpartition 1 – "DBE"',
    }


def test_journal_json_without_optional_fields() -> None:
    row = one('{"__REALTIME_TIMESTAMP":"1737127575000000","MESSAGE":"pcieport 0000:3a:00.0: AER: x"}', "journal_json")
    assert row == ev("pcieport 0000:3a:00.0: AER: x", ts=datetime(2025, 1, 17, 15, 26, 15))


def test_custom_source_label() -> None:
    parser = KernelLogParser("dmesg", ClockContext(reference=REFERENCE), source="bmc_sel")
    (batch,) = iter_line_batches(io.BytesIO(f"[   12.345678] {XID79}\n".encode()))
    assert parser.parse(batch)["source"].to_list() == ["bmc_sel"]


# -- prefixes that only appear later in a file --------------------------------------------

DMESG_HEAD = [f"[{i:5d}.000000] {MLX5_FW}" for i in range(1, 2501)]
ISO_HEAD = [f"2025-01-21T02:21:33,498559+00:00 {XID13}"] * 2500
SYSLOG_HEAD = [f"Jan 17 15:36:15 gpu-node-17 kernel: {MLX5_FW}"] * 2500


@pytest.mark.parametrize(
    ("lines", "fmt", "expected"),
    [
        pytest.param(
            [*DMESG_HEAD, f"<4>[ 2501.000000] {XID79}"],
            "dmesg",
            ev(XID79, up=2501.0, fac="kern", pri=4),
            id="dmesg_raw_priority",
        ),
        pytest.param(
            [*DMESG_HEAD, f"kern  :err   : [ 2501.000000] {XID79}"],
            "dmesg",
            ev(XID79, up=2501.0, fac="kern", pri=3),
            id="dmesg_decode",
        ),
        pytest.param(
            [*ISO_HEAD, f"kern  :err   : 2025-01-21T02:21:34,000001+00:00 {XID79}"],
            "dmesg_iso",
            ev(XID79, ts=datetime(2025, 1, 21, 2, 21, 34, 1), fac="kern", pri=3),
            id="dmesg_iso_decode",
        ),
        pytest.param(
            [*SYSLOG_HEAD, f"<14>Jan 17 15:36:16 gpu-node-17 nvidia-persistenced[2211]: {PERSISTENCED}"],
            "syslog",
            ev(PERSISTENCED, ts=datetime(2025, 1, 17, 15, 36, 16), fac="user", pri=6, ident="nvidia-persistenced"),
            id="syslog_priority",
        ),
    ],
)
def test_optional_prefix_parts_after_the_first_lines(lines: list[str], fmt: str, expected: dict[str, Any]) -> None:
    # One batch; the optional part (`<pri>`, `--decode` names) first shows up after line 2500.
    frame, _ = parse(text_of(lines), fmt)
    assert frame.height == len(lines)
    assert frame["line_no"][-1] == len(lines)
    assert frame.tail(1).drop("line_no").to_dicts() == [expected]
