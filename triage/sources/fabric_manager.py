"""NVIDIA Fabric Manager logs (`/var/log/fabricmanager.log`): events with their times.

Each record starts `[Feb 27 2025 15:10:02] [ERROR] [tid 12727] <message>`; some records
continue over untimed lines (inband message payloads), which take the time of the record
they continue. The stamp is the node's local time (`--timezone`); the level becomes
the syslog priority (ERROR 3, WARNING 4, INFO 6, DEBUG 7). Rules read the messages
(`detected NVSwitch non-fatal error 12028 ... pci bus id ... port 61`, see rules/nvswitch.yaml).
"""

from __future__ import annotations

import re
from datetime import datetime

import polars as pl

from triage.sources.base import Fixups, ParseContext, Sniffed
from triage.sources.kernel_log import local_to_utc
from triage.sources.lines import LineBatch

KIND = "fabric_manager"
IDENT = "nv-fabricmanager"

_RECORD = re.compile(r"^\[[A-Z][a-z]{2} +\d{1,2} \d{4} \d{2}:\d{2}:\d{2}\] \[[A-Z]+\] \[tid \d+\] ")
_PREFIX = r"^\[([A-Z][a-z]{2} +\d{1,2} \d{4} \d{2}:\d{2}:\d{2})\] \[([A-Z]+)\] \[tid \d+\] "
_PRIORITY = {"FATAL": 2, "CRITICAL": 2, "ERROR": 3, "WARNING": 4, "WARN": 4, "NOTICE": 5, "INFO": 6, "DEBUG": 7}


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """A Fabric Manager log when most stamped lines have its `[date] [LEVEL] [tid N]` prefix."""
    stamped = [line for line in sample if line.startswith("[")]
    records = sum(1 for line in stamped if _RECORD.match(line))
    if (records >= 2 and records >= 0.8 * len(stamped)) or (records == 1 and len(stamped) == 1):
        return Sniffed(KIND, "fabricmanager_log")
    return None


class FabricManagerSource:
    """`Parser` over a Fabric Manager log: one event per line."""

    def __init__(self, ctx: ParseContext) -> None:
        self._ctx = ctx
        self._last_ts: datetime | None = None
        self._last_priority: int | None = None

    def parse(self, batch: LineBatch) -> dict[str, pl.DataFrame]:
        """Events of one batch; continuation lines carry the time and level of their record."""
        prefix = pl.col("line").str.extract_groups(_PREFIX)
        frame = pl.DataFrame({"line_no": batch.line_numbers(), "line": batch.lines}).with_columns(
            stamp=prefix.struct.field("1"), level=prefix.struct.field("2")
        )
        local = pl.col("stamp").str.replace_all(" +", " ").str.to_datetime("%b %d %Y %H:%M:%S", strict=False)
        frame = frame.with_columns(
            ts=local_to_utc(local, self._ctx.timezone).dt.cast_time_unit("us"),
            priority=pl.col("level").replace_strict(_PRIORITY, default=None, return_dtype=pl.Int8),
            message=pl.when(pl.col("stamp").is_not_null())
            .then(pl.col("line").str.replace(_PREFIX, ""))
            .otherwise(pl.col("line")),
        )
        # A line without a stamp continues the record before it (also across batches).
        frame = frame.with_columns(
            ts=pl.col("ts").forward_fill().fill_null(pl.lit(self._last_ts, dtype=pl.Datetime("us"))),
            priority=pl.col("priority").forward_fill().fill_null(pl.lit(self._last_priority, dtype=pl.Int8)),
        )
        if frame.height:
            self._last_ts = frame["ts"][-1]
            self._last_priority = frame["priority"][-1]
        events = frame.select(
            "line_no",
            "ts",
            "priority",
            "message",
            pl.lit(KIND).alias("source"),
            pl.lit(IDENT).alias("ident"),
        )
        return {"events": events}

    def finish(self) -> Fixups:
        """Nothing needs the whole file."""
        return Fixups()


def parser(sniffed: Sniffed, ctx: ParseContext) -> FabricManagerSource:
    """Parser for a Fabric Manager log."""
    return FabricManagerSource(ctx)
