"""Putting wall-clock times on monotonic stamps.

Raw dmesg and /dev/kmsg only know seconds since boot. Their lines get a UTC time when
the boot time is known: from `--boot-time`, from a bug report's `/proc/uptime`
(both arrive as `Fixups`), or from another file of the same host that has both
clocks for the same lines (kern.log or a journal relaying dmesg's `[uptime]` stamps):
the same message at the same uptime pins the boot time.
"""

from __future__ import annotations

from triage.sources import Fixups
from triage.store import Store

# Two lines are the same kernel record when message and uptime agree to this many seconds.
SAME_RECORD_S = 0.0005


def apply_fixups(store: Store, file_id: int, fixups: Fixups) -> None:
    """Apply a parser's end-of-file corrections to the events of `file_id`."""
    if fixups.year_shift:
        store.execute(
            "UPDATE events SET ts = ts + to_years(CAST(? AS INTEGER)) WHERE file_id = ? AND ts IS NOT NULL",
            [fixups.year_shift, file_id],
        )
    for boot, boot_time in fixups.boot_times.items():
        store.execute(
            "UPDATE events SET ts = CAST(? AS TIMESTAMP) + to_microseconds(CAST(round(uptime_s * 1e6) AS BIGINT)) "
            "WHERE file_id = ? AND boot = ? AND ts IS NULL AND uptime_s IS NOT NULL",
            [boot_time, file_id, boot],
        )


def resolve_boot_times(store: Store, hosts: list[str]) -> int:
    """Date the timeless monotonic events of `hosts` from lines other files date; returns rows dated."""
    undated = _monotonic_events(store, hosts, dated=False)
    if undated == 0 or _monotonic_events(store, hosts, dated=True) == 0:
        return 0
    store.execute(
        f"""
        UPDATE events AS e SET ts = b.boot_ts + to_microseconds(CAST(round(e.uptime_s * 1e6) AS BIGINT))
        FROM (
            SELECT u.file_id, u.boot,
                   to_timestamp(median(epoch(d.ts) - d.uptime_s))::TIMESTAMP AS boot_ts
            FROM events u
            JOIN events d
              ON d.host = u.host AND d.file_id <> u.file_id AND d.message = u.message
             AND d.ts IS NOT NULL AND d.uptime_s IS NOT NULL
             AND abs(d.uptime_s - u.uptime_s) < {SAME_RECORD_S}
            WHERE u.host IN (SELECT unnest(?)) AND u.ts IS NULL AND u.uptime_s IS NOT NULL
            GROUP BY u.file_id, u.boot
        ) AS b
        WHERE e.file_id = b.file_id AND e.boot = b.boot AND e.ts IS NULL AND e.uptime_s IS NOT NULL
        """,
        [hosts],
    )
    return undated - _monotonic_events(store, hosts, dated=False)


def _monotonic_events(store: Store, hosts: list[str], dated: bool) -> int:
    """Events of `hosts` with an uptime, with (dated) or without a wall-clock time."""
    has_ts = "IS NOT NULL" if dated else "IS NULL"
    frame = store.frame(
        f"SELECT count(*) AS n FROM events WHERE host IN (SELECT unnest(?)) AND ts {has_ts} AND uptime_s IS NOT NULL",
        [hosts],
    )
    return int(frame["n"][0])
