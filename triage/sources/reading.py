"""Parsing one file without a store: what the ingest would add for it, as frames.

For notebooks ("what does triage make of this file?") and for tests of the parsers.
The same sniffing and parsers as `triage ingest`; nothing is written anywhere.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from triage import sources
from triage.sources.lines import BATCH_BYTES, iter_line_batches

SNIFF_LINES = 200


@dataclass
class Parsed:
    """The rows one file yields, per table (without `host` and `file_id` unless a row names its host)."""

    kind: str
    format: str | None
    host: str | None  # the host the content names, if any
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    error: str | None = None  # the fault of a malformed file; rows before it are kept

    def table(self, name: str) -> pl.DataFrame:
        """The rows of one table (an empty frame when the file gave none)."""
        return self.tables.get(name, pl.DataFrame())


def parse_bytes(
    data: bytes,
    name: str = "input.txt",
    reference: datetime | None = None,
    batch_bytes: int = BATCH_BYTES,
) -> Parsed:
    """Sniff and parse `data` as if it were a file named `name` (a display path)."""
    sample = data[: 1 << 16].decode("utf-8", errors="replace").splitlines()[:SNIFF_LINES]
    sniffed = sources.sniff(sample, name)
    ctx = sources.ParseContext(name, reference or datetime.now(UTC).replace(tzinfo=None))
    parser = sources.parser_for(sniffed, ctx)
    parts: dict[str, list[pl.DataFrame]] = {}
    for batch in iter_line_batches(io.BytesIO(data), batch_bytes=batch_bytes):
        for table, frame in parser.parse(batch).items():
            parts.setdefault(table, []).append(frame)
    fixups = parser.finish()
    for table, frame in fixups.tables.items():
        parts.setdefault(table, []).append(frame)
    tables = {table: pl.concat(frames, how="diagonal_relaxed") for table, frames in parts.items() if frames}
    return Parsed(sniffed.kind, sniffed.format, sniffed.host, tables, fixups.error)


def parse_path(path: str | Path) -> Parsed:
    """Sniff and parse one plain (uncompressed) file."""
    path = Path(path)
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)
    return parse_bytes(path.read_bytes(), str(path), mtime)


__all__ = ["Parsed", "parse_bytes", "parse_path"]
