"""What every source module provides: sniffing a file's kind and parsing its lines.

A source is a module with:
  KIND: str                                     family name stored in `files.kind`
  sniff(sample, name) -> Sniffed | None         recognise a file from its first lines
                                                (`name` is the display path, for formats
                                                only their name gives away)
  parser(sniffed, ctx) -> Parser                a parser for one file
A `Parser` turns each `LineBatch` into rows per table and, once the file is read,
returns `Fixups`: what needs the whole file (year-less stamps, boot times, the rows of
formats read as one document) and the first fault of a malformed file.

Rows carry every column of their table (`triage.schema`) except `host` and `file_id`,
which the ingest fills in; a row may name its own `host` (a scrape of many nodes).
`run_id` is numbered from 1 within the file; the ingest makes it unique in the store.
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
    """What a parser hands over once the whole file was read.

    `year_shift` and `boot_times` correct the file's events; `tables` holds rows that
    could only be built from the whole file; `error` names the first fault of a file
    that is recognised but malformed ("line 57: ..."): the rows parsed before it are kept
    and the file gets status `error`.
    """

    year_shift: int = 0
    boot_times: dict[int, datetime] = field(default_factory=dict)
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    error: str | None = None


class Parser(Protocol):
    """Parses the batches of one file, in order."""

    def parse(self, batch: LineBatch) -> dict[str, pl.DataFrame]:
        """Rows per table for one batch of lines; `events` rows carry `line_no`."""
        ...

    def finish(self) -> Fixups:
        """Corrections to apply once every batch was parsed."""
        ...
