"""Stub: the ib_status source is being written."""

from __future__ import annotations

from triage.sources.base import ParseContext, Parser, Sniffed

KIND = "ib_status"


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """Not recognised yet."""
    return None


def parser(sniffed: Sniffed, ctx: ParseContext) -> Parser:
    """Not written yet."""
    raise NotImplementedError(KIND)
