"""What every source module provides: sniffing a file's kind and parsing its lines.

A source is a module with:
  KIND: str                                     family name stored in `files.kind`
  sniff(sample, name) -> Sniffed | None         recognise a file from its first lines
  parser(sniffed, ctx) -> Parser                a parser for one file
A `Parser` turns each `LineBatch` into rows per table and, once the file is read,
returns the `Fixups` that need the whole file (year-less stamps, boot times).
Parsers are pure: they never touch the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import polars as pl

from triage.sources.lines import LineBatch


@dataclass(frozen=True)
class Sniffed:
    """A recognised file: its family, its layout, and the host its content names."""

    kind: str
    format: str | None = None
    host: str | None = None


@dataclass(frozen=True)
class ParseContext:
    """What a parser may know about the file besides its lines."""

    path: str
    reference: datetime  # newest plausible time of the content (file mtime, UTC)
    timezone: str = "UTC"  # zone of stamps that carry none
    boot_time: datetime | None = None  # wall clock at uptime 0 of the file's last boot


@dataclass
class Fixups:
    """Corrections that need the whole file: applied to its events after the last batch."""

    year_shift: int = 0
    boot_times: dict[int, datetime] = field(default_factory=dict)


class Parser(Protocol):
    """Parses the batches of one file, in order."""

    def parse(self, batch: LineBatch) -> dict[str, pl.DataFrame]:
        """Rows per table for one batch of lines; `events` rows carry `line_no`."""
        ...

    def finish(self) -> Fixups:
        """Corrections to apply once every batch was parsed."""
        ...
