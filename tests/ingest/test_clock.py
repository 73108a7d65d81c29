"""Wall-clock times for monotonic and year-less stamps: --boot-time, file mtime, and other files of the host."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from triage.ingest import IngestOptions, ingest
from triage.ingest.clock import apply_fixups, resolve_boot_times
from triage.sources import Fixups
from triage.store import Store

XID_48 = (
    "NVRM: Xid (PCI:0000:3b:00): 48, pid=1234, name=python3, An uncorrectable double bit error (DBE) has been "
    "detected on GPU in the framebuffer at partition 4, subpartition 1."
)
XID_63 = (
    "NVRM: Xid (PCI:0000:3b:00): 63, pid=1234, name=python3, Row Remapper: New row marked for remapping, "
    "reset gpu to activate."
)


def write(path: Path, text: str, mtime: datetime | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        stamp = mtime.replace(tzinfo=UTC).timestamp()
        os.utime(path, (stamp, stamp))
    return path


def rows(store: Store, path: Path) -> list[tuple[object, ...]]:
    return store.frame(
        "SELECT e.line_no, e.boot, e.uptime_s, e.ts FROM events e JOIN files f USING (file_id) "
        "WHERE f.path = ? ORDER BY e.line_no",
        [str(path)],
    ).rows()


def at(boot: datetime, uptime: float) -> datetime:
    return boot + timedelta(microseconds=round(uptime * 1e6))


# -- --boot-time ----------------------------------------------------------------------------

TWO_BOOTS = f"""[    0.000000] Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075) #45-Ubuntu SMP
[    5.250000] nvidia: loading out-of-tree module taints kernel.
[ 3600.000000] {XID_48}
[    0.000000] Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075) #45-Ubuntu SMP
[   12.500000] nvidia-nvlink: Nvlink Core is being initialized, major device number 510
[ 4182.123456] {XID_63}
"""


def test_boot_time_dates_the_last_boot_of_raw_dmesg_only(store: Store, inputs: Path) -> None:
    path = write(inputs / "node017" / "dmesg.log", TWO_BOOTS)
    boot = datetime(2026, 11, 20, 3, 0, 0)
    ingest(store, [str(inputs)], IngestOptions(boot_time=boot))
    assert rows(store, path) == [
        (1, 0, 0.0, None),
        (2, 0, 5.25, None),
        (3, 0, 3600.0, None),
        (4, 1, 0.0, boot),
        (5, 1, 12.5, datetime(2026, 11, 20, 3, 0, 12, 500000)),
        (6, 1, 4182.123456, datetime(2026, 11, 20, 4, 9, 42, 123456)),
    ]


def test_without_boot_time_raw_dmesg_has_no_wall_clock(store: Store, inputs: Path) -> None:
    path = write(inputs / "node017" / "dmesg.log", TWO_BOOTS)
    ingest(store, [str(inputs)])
    assert [ts for *_, ts in rows(store, path)] == [None] * 6


def test_boot_time_does_not_touch_lines_that_have_a_wall_clock(store: Store, inputs: Path) -> None:
    path = write(
        inputs / "node017" / "kern.log",
        f"Nov 20 01:09:42 node017 kernel: [ 4182.123456] {XID_48}\n",
        mtime=datetime(2026, 11, 21),
    )
    ingest(store, [str(inputs)], IngestOptions(boot_time=datetime(2026, 11, 19, 12, 0)))
    assert rows(store, path) == [(1, 0, 4182.123456, datetime(2026, 11, 20, 1, 9, 42))]


# -- year-less syslog -------------------------------------------------------------------------

NEW_YEAR = f"""Dec 31 23:59:58 node042 kernel: [86390.000000] {XID_48}
Dec 31 23:59:59 node042 systemd[1]: Starting Cleanup of Temporary Directories...
Jan  1 00:00:01 node042 kernel: [86393.000000] {XID_63}
Jan  1 00:00:05 node042 systemd[1]: Finished Cleanup of Temporary Directories.
"""


@pytest.mark.parametrize(
    "mtime",
    [
        pytest.param(datetime(2027, 1, 1, 0, 10), id="written_minutes_later"),
        pytest.param(datetime(2027, 3, 15, 8, 0), id="copied_months_later"),
        pytest.param(datetime(2027, 12, 30, 8, 0), id="copied_almost_a_year_later"),
    ],
)
def test_year_less_syslog_across_new_year(store: Store, inputs: Path, mtime: datetime) -> None:
    path = write(inputs / "node042" / "kern.log", NEW_YEAR, mtime=mtime)
    ingest(store, [str(inputs)])
    assert [ts for *_, ts in rows(store, path)] == [
        datetime(2026, 12, 31, 23, 59, 58),
        datetime(2026, 12, 31, 23, 59, 59),
        datetime(2027, 1, 1, 0, 0, 1),
        datetime(2027, 1, 1, 0, 0, 5),
    ]


@pytest.mark.parametrize(
    ("text", "mtime", "expected"),
    [
        pytest.param(
            "Dec 30 22:00:00 node042 kernel: NVRM: loading NVIDIA UNIX x86_64 Kernel Module  550.54.15\n"
            "Dec 31 23:00:00 node042 kernel: NVRM: GPU at PCI:0000:3b:00: GPU-5b1c1c0e\n",
            datetime(2027, 1, 2, 9, 0),
            [datetime(2026, 12, 30, 22, 0), datetime(2026, 12, 31, 23, 0)],
            id="december_log_read_in_january",
        ),
        pytest.param(
            "Nov 20 01:09:42 node042 kernel: NVRM: GPU at PCI:0000:3b:00: GPU-5b1c1c0e\n",
            datetime(2026, 11, 21, 0, 0),
            [datetime(2026, 11, 20, 1, 9, 42)],
            id="same_year",
        ),
    ],
)
def test_year_less_syslog_takes_the_year_of_the_file_mtime(
    store: Store, inputs: Path, text: str, mtime: datetime, expected: list[datetime]
) -> None:
    path = write(inputs / "node042" / "kern.log", text, mtime=mtime)
    ingest(store, [str(inputs)])
    assert [ts for *_, ts in rows(store, path)] == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(
            "Nov 20 11:09:42 node042 kernel: NVRM: GPU at PCI:0000:3b:00: GPU-5b1c1c0e\n",
            datetime(2026, 11, 20, 10, 9, 42),
            id="zone_less_stamp_is_local",
        ),
        pytest.param(
            "2026-11-20T11:09:42+00:00 node042 kernel: NVRM: GPU at PCI:0000:3b:00: GPU-5b1c1c0e\n",
            datetime(2026, 11, 20, 11, 9, 42),
            id="stamp_with_offset_keeps_it",
        ),
    ],
)
def test_timezone_applies_to_stamps_without_a_zone(store: Store, inputs: Path, line: str, expected: datetime) -> None:
    path = write(inputs / "node042" / "kern.log", line, mtime=datetime(2026, 11, 21))
    ingest(store, [str(inputs)], IngestOptions(timezone="Europe/Berlin"))
    assert [ts for *_, ts in rows(store, path)] == [expected]


# -- cross-file boot times --------------------------------------------------------------------

RAW_DMESG = f"""[    0.000000] Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075) #45-Ubuntu SMP
[   12.500000] nvidia-nvlink: Nvlink Core is being initialized, major device number 510
[ 4182.123456] {XID_48}
[ 4189.123456] {XID_63}
"""
KERN_LOG = f"""Nov 20 01:09:42 node042 kernel: [ 4182.123456] {XID_48}
Nov 20 01:09:49 node042 kernel: [ 4189.123456] {XID_63}
Nov 20 01:10:00 node042 systemd[1]: Started nvidia-persistenced.service.
"""
# 01:09:42 is 4182.123456 s after boot: the boot was at 2026-11-19T23:59:59.876544
BOOT = datetime(2026, 11, 19, 23, 59, 59, 876544)


@pytest.mark.parametrize(
    "order",
    [
        pytest.param("together", id="one_run"),
        pytest.param("kern_log_first", id="kern_log_in_an_earlier_run"),
        pytest.param("dmesg_first", id="dmesg_in_an_earlier_run"),
    ],
)
def test_raw_dmesg_is_dated_from_a_kern_log_relaying_it(store: Store, inputs: Path, order: str) -> None:
    dmesg = write(inputs / "node042" / "dmesg.log", RAW_DMESG)
    kern = write(inputs / "node042" / "kern.log", KERN_LOG, mtime=datetime(2026, 11, 21))
    options = IngestOptions(host="node042")
    if order == "together":
        ingest(store, [str(inputs)])
    elif order == "kern_log_first":
        ingest(store, [str(kern)], options)
        ingest(store, [str(dmesg)], options)
    else:
        ingest(store, [str(dmesg)], options)
        assert [ts for *_, ts in rows(store, dmesg)] == [None] * 4
        ingest(store, [str(kern)], options)
    assert rows(store, dmesg) == [
        (1, 0, 0.0, at(BOOT, 0.0)),
        (2, 0, 12.5, at(BOOT, 12.5)),
        (3, 0, 4182.123456, datetime(2026, 11, 20, 1, 9, 42)),
        (4, 0, 4189.123456, at(BOOT, 4189.123456)),
    ]
    # the relaying file keeps its own stamps
    assert [ts for *_, ts in rows(store, kern)] == [
        datetime(2026, 11, 20, 1, 9, 42),
        datetime(2026, 11, 20, 1, 9, 49),
        datetime(2026, 11, 20, 1, 10, 0),
    ]


def test_kern_log_of_another_host_does_not_date_dmesg(store: Store, inputs: Path) -> None:
    dmesg = write(inputs / "node017" / "dmesg.log", RAW_DMESG)
    write(inputs / "node042" / "kern.log", KERN_LOG, mtime=datetime(2026, 11, 21))
    ingest(store, [str(inputs)])
    assert [ts for *_, ts in rows(store, dmesg)] == [None] * 4


def test_different_message_at_same_uptime_does_not_date_dmesg(store: Store, inputs: Path) -> None:
    dmesg = write(inputs / "node042" / "dmesg.log", RAW_DMESG)
    write(
        inputs / "node042" / "kern.log",
        "Nov 20 01:09:42 node042 kernel: [ 4182.123456] mlx5_core 0000:0c:00.0: Port module event: module 0\n",
        mtime=datetime(2026, 11, 21),
    )
    ingest(store, [str(inputs)])
    assert [ts for *_, ts in rows(store, dmesg)] == [None] * 4


# -- the clock functions on their own ----------------------------------------------------------


def add_events(store: Store, file_id: int, host: str, events: list[tuple[int, float | None, datetime | None, str]]):
    store.append(
        "events",
        pl.DataFrame(
            {
                "host": [host] * len(events),
                "file_id": [file_id] * len(events),
                "line_no": list(range(1, len(events) + 1)),
                "boot": [b for b, _, _, _ in events],
                "uptime_s": [u for _, u, _, _ in events],
                "ts": [t for _, _, t, _ in events],
                "message": [m for _, _, _, m in events],
            },
            schema_overrides={"ts": pl.Datetime("us"), "uptime_s": pl.Float64},
        ),
    )


def stamps(store: Store, file_id: int) -> list[datetime | None]:
    return store.frame("SELECT ts FROM events WHERE file_id = ? ORDER BY line_no", [file_id])["ts"].to_list()


def test_apply_fixups_shifts_years_of_one_file_only(store: Store) -> None:
    add_events(store, 1, "node042", [(0, None, datetime(2027, 12, 31, 23, 59, 58), "a"), (0, None, None, "b")])
    add_events(store, 2, "node042", [(0, None, datetime(2027, 12, 31, 23, 59, 58), "a")])
    apply_fixups(store, 1, Fixups(year_shift=-1))
    assert stamps(store, 1) == [datetime(2026, 12, 31, 23, 59, 58), None]
    assert stamps(store, 2) == [datetime(2027, 12, 31, 23, 59, 58)]


def test_apply_fixups_dates_only_the_given_boot_and_undated_rows(store: Store) -> None:
    boot = datetime(2026, 11, 20, 3, 0, 0)
    add_events(
        store,
        1,
        "node017",
        [
            (0, 10.0, None, "old boot"),
            (1, 0.5, None, "new boot"),
            (1, 4182.123456, None, XID_48),
            (1, 20.0, datetime(2026, 1, 1), "already dated"),
            (1, None, None, "no uptime"),
        ],
    )
    apply_fixups(store, 1, Fixups(boot_times={1: boot}))
    assert stamps(store, 1) == [
        None,
        datetime(2026, 11, 20, 3, 0, 0, 500000),
        datetime(2026, 11, 20, 4, 9, 42, 123456),
        datetime(2026, 1, 1),
        None,
    ]


def test_resolve_boot_times_counts_the_rows_it_dated(store: Store) -> None:
    add_events(store, 1, "node042", [(0, 0.0, None, "Linux version 6.8.0"), (0, 4182.123456, None, XID_48)])
    add_events(store, 2, "node042", [(0, 4182.123456, datetime(2026, 11, 20, 1, 9, 42), XID_48)])
    add_events(store, 3, "node017", [(0, 1.0, None, "other host stays")])
    assert resolve_boot_times(store, ["node042", "node017"]) == 2
    assert stamps(store, 1) == [BOOT, datetime(2026, 11, 20, 1, 9, 42)]
    assert stamps(store, 3) == [None]
    assert resolve_boot_times(store, ["node042"]) == 0
