"""Stub: the dcgm source is being written."""

from __future__ import annotations

from triage.sources.base import ParseContext, Parser, Sniffed

KIND = "dcgm"


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """Not recognised yet."""
    return None


def parser(sniffed: Sniffed, ctx: ParseContext) -> Parser:
    """Not written yet."""
    raise NotImplementedError(KIND)
