"""Formats read as one document: XML and JSON dumps, report tables, test outputs.

Every line still lands in `events` (source = the format's kind), batch by batch, so
evidence can quote it and the `any` rules see NCCL WARN or XID lines a test printed.
The document itself is read once the last batch arrived, by the subclass's `read`,
which adds rows to a `Records`. A `Malformed` raised there ends the reading: the rows
added before it are kept and the file gets status `error` naming the line.
"""

from __future__ import annotations

import polars as pl

from triage.sources.base import Fixups, ParseContext
from triage.sources.lines import LineBatch
from triage.sources.records import Malformed, Records

# Documents are read whole; beyond this size the file is refused rather than exhausting memory.
MAX_DOCUMENT_BYTES = 256 << 20


class DocumentSource:
    """`Parser` base for formats read whole: subclasses set `KIND` and implement `read`."""

    KIND = "document"

    def __init__(self, ctx: ParseContext, fmt: str | None = None) -> None:
        self.ctx = ctx
        self.format = fmt
        self._lines: list[str] = []
        self._bytes = 0
        self._too_big_at: int | None = None

    def parse(self, batch: LineBatch) -> dict[str, pl.DataFrame]:
        """The batch's lines as timeless events; the lines are kept for `read`."""
        if self._too_big_at is None:
            self._bytes += int(batch.lines.str.len_bytes().sum() or 0) + len(batch.lines)
            if self._bytes > MAX_DOCUMENT_BYTES:
                self._too_big_at = batch.first_line_no
            else:
                self._lines.extend(batch.lines.to_list())
        return {"events": pl.DataFrame({"line_no": batch.line_numbers(), "message": batch.lines, "source": self.KIND})}

    def finish(self) -> Fixups:
        """Read the document; its rows, and its first fault if it is malformed."""
        records = Records()
        error = None
        try:
            self.read(self._lines, records)
        except Malformed as exc:
            error = str(exc)
        if self._too_big_at is not None:
            error = error or (
                f"line {self._too_big_at}: {self.KIND} document larger than {MAX_DOCUMENT_BYTES >> 20} MiB; "
                "only the part before this line was read"
            )
        return Fixups(tables=records.frames(), error=error)

    def read(self, lines: list[str], records: Records) -> None:
        """Add the document's rows to `records`; `lines[i]` is line number `i + 1`. Raise `Malformed` on a fault."""
        raise NotImplementedError
