"""Conformance over the real kernel logs in ../shared/realdata/kernel_logs.

The expected numbers were established from the files themselves (wc, grep), not from
the parser: a file of n lines is n rows, numbered 1..n, and every line that carries a
stamp of the file's layout gets its time.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from triage.sources.kernel_log import ClockContext, KernelLogParser, detect_format, sample_hostname
from triage.sources.lines import LineStats, iter_line_batches

REALDATA = Path(__file__).parents[2].parent / "shared" / "realdata"
KERNEL_LOGS = REALDATA / "kernel_logs"
if not KERNEL_LOGS.is_dir():
    pytest.skip(f"no real data at {KERNEL_LOGS}", allow_module_level=True)

REFERENCE = datetime(2025, 6, 1)


@dataclass(frozen=True)
class Expect:
    layout: str
    lines: int  # newline-separated lines; a final line without newline counts, no empty line after a final newline
    stamped: int  # rows with ts or uptime_s
    first: datetime | float  # time of the first stamped row (ts, or uptime_s for monotonic layouts)
    last: datetime | float  # time of the last stamped row
    xid_messages: int  # messages that start with "NVRM: Xid" once the prefix is stripped
    boots: int = 1


EXPECTED: dict[str, Expect] = {
    # 40 newlines, last line unterminated; every line `<iso>,<usec>+00:00 msg`.
    "gpud/dmesg-time-format-iso.log": Expect(
        "dmesg_iso", 41, 41, datetime(2024, 11, 15, 5, 39, 15, 491363), datetime(2024, 11, 15, 12, 2, 15, 950445), 11
    ),
    # 43 terminated lines, all `[Sun Feb 23 ... 2025]`.
    "gpud/dmesg-with-xid-119.log": Expect(
        "dmesg_ctime", 43, 43, datetime(2025, 2, 23, 16, 24, 18), datetime(2025, 2, 23, 16, 30, 13), 5
    ),
    # 635 newlines + unterminated last line, all `kern  :warn  : <iso>` Xid 13/43 lines.
    "gpud/dmesg.decode.iso.log.0": Expect(
        "dmesg_iso", 636, 636, datetime(2025, 1, 21, 2, 21, 33, 498559), datetime(2025, 1, 21, 4, 41, 44, 287197), 636
    ),
    # 2381 newlines + unterminated last line; 20 of them are empty.
    "gpud/dmesg.decode.iso.log.1": Expect(
        "dmesg_iso", 2382, 2362, datetime(2025, 1, 17, 15, 36, 15, 345059), datetime(2025, 1, 20, 9, 8, 49, 163335), 0
    ),
    "gpud/dmesg.peermem.log.0": Expect(
        "dmesg_iso", 8, 8, datetime(2025, 2, 10, 16, 28, 6, 502716), datetime(2025, 2, 10, 16, 28, 7, 570939), 0
    ),
    # journalctl -o short-iso, +0800: 15:20:12 local is 07:20:12 UTC.
    "gpud/journalctl-time-format-short-iso-1.log": Expect(
        "syslog", 11, 11, datetime(2025, 1, 2, 7, 20, 12), datetime(2025, 1, 2, 7, 20, 12), 0
    ),
    "gpud/journalctl-time-format-short-iso-2.log": Expect(
        "syslog", 47, 47, datetime(2025, 1, 17, 17, 10, 43), datetime(2025, 1, 17, 17, 39, 30), 0
    ),
    # /dev/kmsg records: usec 206764307 .. 57631398464.
    "gpud/kmsg.1.log": Expect("kmsg", 47, 47, 206.764307, 57631.398464, 0),
    "gpud/kmsg.2.peermem.log": Expect("kmsg", 8, 8, 227.996636, 227.996662, 0),
    "gpud/memory__dmesg.decode.iso.log": Expect(
        "dmesg_iso", 24, 24, datetime(2025, 1, 21, 4, 41, 44, 283302), datetime(2025, 1, 21, 8, 47, 30, 287197), 17
    ),
    # Two lines, no final newline (wc -l says 1).
    "gpud/nccl__dmesg.decode.iso.log": Expect(
        "dmesg_iso", 2, 2, datetime(2025, 1, 21, 4, 41, 44, 285060), datetime(2025, 1, 21, 4, 42, 44, 285060), 0
    ),
    # pstore: two `dmesg-erst-...:` / `Panic#1 PartN` header pairs and 411 `<n>[uptime]` lines.
    "gpud/pstore__7530486857247__dmesg.txt": Expect("dmesg", 415, 411, 2.608284, 3098.275598, 0),
    "gpud/pstore__dmesg-erst.txt": Expect("dmesg", 39, 39, 201.650687, 201.92245, 0),
    # Lines quoted from Go tests: only 87-97 carry `[uptime]`; `[...] NVRM` (85, 86) is no stamp.
    "gpud_test_code_embedded_kmsg_lines.txt": Expect("dmesg", 105, 11, 131453.740743, 171168.601459, 91),
    # Quoted single lines: uptimes 449410.33 (line 5), 130.46 (12, with `[ T1946]`), 3606.83 (15);
    # going from 449410 back to 130 reads as a reboot.
    "xid_format_reference_lines__vendor_docs_and_tickets.log": Expect(
        "dmesg", 15, 3, 449410.332316, 3606.832215, 14, boots=2
    ),
}

HOSTS = {
    "gpud/journalctl-time-format-short-iso-1.log": "jmsph-pro-a800-77-123",
    "gpud/journalctl-time-format-short-iso-2.log": "exp03-ft-896z-1-lan.exp03-ft-896z-job-svc",
}


def files() -> list[str]:
    return sorted(str(p.relative_to(KERNEL_LOGS)) for p in KERNEL_LOGS.rglob("*") if p.is_file())


def split_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def parse(data: bytes, layout: str, batch_bytes: int = 1 << 25) -> tuple[pl.DataFrame, KernelLogParser, LineStats]:
    stats = LineStats()
    parser = KernelLogParser(layout, ClockContext(reference=REFERENCE))
    batches = iter_line_batches(io.BytesIO(data), stats, batch_bytes=batch_bytes)
    return pl.concat([parser.parse(b) for b in batches]), parser, stats


def test_every_file_has_expectations() -> None:
    assert files() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_file_conformance(name: str) -> None:
    expect = EXPECTED[name]
    data = (KERNEL_LOGS / name).read_bytes()
    lines = split_lines(data)
    assert len(lines) == expect.lines

    assert detect_format(lines)[0] == expect.layout
    frame, parser, stats = parse(data, expect.layout)

    assert stats.notes() == []
    assert frame.height == expect.lines
    assert frame["line_no"].to_list() == list(range(1, expect.lines + 1))
    assert frame["source"].unique().to_list() == ["kernel_log"]
    assert parser.year_shift() == 0

    # Monotonic layouts have uptime and never a wall time; the others the reverse.
    monotonic = expect.layout in ("dmesg", "kmsg")
    clock, other = ("uptime_s", "ts") if monotonic else ("ts", "uptime_s")
    assert frame[other].null_count() == frame.height
    stamped = frame.filter(pl.col(clock).is_not_null())
    assert stamped.height == expect.stamped
    assert (stamped[clock][0], stamped[clock][-1]) == (expect.first, expect.last)

    # Unstamped rows keep their whole line as the message.
    unstamped = frame.filter(pl.col(clock).is_null())
    assert unstamped["message"].to_list() == [lines[n - 1] for n in unstamped["line_no"]]
    assert frame["message"].str.starts_with("NVRM: Xid").sum() == expect.xid_messages
    assert frame["boot"].n_unique() == expect.boots


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_file_parses_the_same_in_small_batches(name: str) -> None:
    expect = EXPECTED[name]
    data = (KERNEL_LOGS / name).read_bytes()
    whole, _, _ = parse(data, expect.layout)
    pieces, _, _ = parse(data, expect.layout, batch_bytes=4096)
    assert_frame_equal(pieces, whole)


def test_decode_facilities_and_levels() -> None:
    # grep -o '^\w\+\s*:\w\+\s*:' dmesg.decode.iso.log.1 | sort | uniq -c
    frame, _, _ = parse((KERNEL_LOGS / "gpud/dmesg.decode.iso.log.1").read_bytes(), "dmesg_iso")
    counts = frame.group_by("facility", "priority").len().sort("facility", "priority", nulls_last=True)
    assert counts.rows() == [
        ("daemon", 6, 45),
        ("kern", 3, 4),
        ("kern", 4, 195),
        ("kern", 5, 72),
        ("kern", 6, 1998),
        ("kern", 7, 46),
        ("syslog", 6, 1),
        ("user", 5, 1),
        (None, None, 20),  # the empty lines
    ]


@pytest.mark.parametrize(("name", "host"), sorted(HOSTS.items()))
def test_journal_hostname_and_ident(name: str, host: str) -> None:
    data = (KERNEL_LOGS / name).read_bytes()
    assert sample_hostname(split_lines(data), "syslog") == host
    frame, _, _ = parse(data, "syslog")
    assert frame["ident"].unique().to_list() == ["kernel"]


def test_pstore_priorities() -> None:
    # grep -o '^<[0-9]>' pstore__dmesg-erst.txt | sort | uniq -c
    frame, _, _ = parse((KERNEL_LOGS / "gpud/pstore__dmesg-erst.txt").read_bytes(), "dmesg")
    counts = frame.group_by("facility", "priority").len().sort("priority")
    assert counts.rows() == [("kern", 1, 3), ("kern", 4, 35), ("kern", 6, 1)]
