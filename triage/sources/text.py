"""Plain text of a kind no parser knows yet: every line kept as an event without a time."""

from __future__ import annotations

import polars as pl

from triage.sources.base import Fixups, ParseContext, Sniffed
from triage.sources.lines import LineBatch

KIND = "text"


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """Any text file: the fallback, sniffed last."""
    return Sniffed(KIND)


class TextSource:
    """`Parser` keeping each line as a timeless event."""

    def parse(self, batch: LineBatch) -> dict[str, pl.DataFrame]:
        """One event per line."""
        return {"events": pl.DataFrame({"line_no": batch.line_numbers(), "message": batch.lines, "source": KIND})}

    def finish(self) -> Fixups:
        """Nothing to correct."""
        return Fixups()


def parser(sniffed: Sniffed, ctx: ParseContext) -> TextSource:
    """Parser for a text file."""
    return TextSource()
