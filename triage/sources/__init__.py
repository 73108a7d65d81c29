"""Input formats: one module per source family, each sniffed from content.

`SOURCES` is tried in order; the first whose `sniff` recognises a file parses it.
Structured formats (test outputs, inventories, counters) announce themselves with
unmistakable markers and come before the kernel logs, whose sniffing is lenient;
`text` comes last and takes anything else, so every line of every text file lands.
"""

from __future__ import annotations

from types import ModuleType

from triage.sources import (
    bug_report,
    dcgm,
    fabric_manager,
    hpl,
    ib_counters,
    ib_status,
    kernel_log,
    nccl_tests,
    nhc,
    nvbandwidth,
    nvidia_smi,
    nvlink,
    prometheus,
    text,
)
from triage.sources.base import Fixups, ParseContext, Parser, Sniffed

SOURCES: list[ModuleType] = [
    bug_report,
    nccl_tests,
    dcgm,
    hpl,
    nvbandwidth,
    nvidia_smi,
    nvlink,
    ib_counters,
    ib_status,
    nhc,
    prometheus,
    fabric_manager,
    kernel_log,
    text,
]

_BY_KIND = {module.KIND: module for module in SOURCES}


def sniff(sample: list[str], name: str) -> Sniffed:
    """The kind (and layout and named host) of a text file from its first lines."""
    for module in SOURCES:
        found = module.sniff(sample, name)
        if found is not None:
            return found
    return Sniffed(text.KIND)


def parser_for(sniffed: Sniffed, ctx: ParseContext) -> Parser:
    """The parser for a sniffed file."""
    return _BY_KIND[sniffed.kind].parser(sniffed, ctx)


__all__ = ["SOURCES", "Fixups", "ParseContext", "Parser", "Sniffed", "parser_for", "sniff"]
