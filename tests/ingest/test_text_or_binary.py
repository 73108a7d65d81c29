"""Which files are text (ingested, repaired if need be) and which are binary (an error row)."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

from triage.ingest import ingest
from triage.store import Store

XID = "[ 4182.123456] NVRM: Xid (PCI:0000:3b:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus.\n"


@pytest.mark.parametrize(
    ("content", "status", "error", "note"),
    [
        pytest.param(
            b"x\xff\xfe y\n[ 1.0] ok\n", "ok", None, "invalid UTF-8 replaced with U+FFFD", id="tiny_invalid_utf8"
        ),
        pytest.param(
            ("Nov 20 03:12:09 node002 kernel: capteur température élevée\n" * 40).encode("latin-1"),
            "ok",
            None,
            "invalid UTF-8 replaced with U+FFFD",
            id="latin1_log",
        ),
        pytest.param(random.Random(7).randbytes(4096), "error", "binary file (not text)", None, id="random_bytes"),
        pytest.param(b"\x7fELF\x02\x01\x01" + b"\x00" * 4000, "error", "binary file (not text)", None, id="elf_header"),
        pytest.param(b"\x00" * 100, "error", "binary file (not text)", None, id="only_nul"),
    ],
)
def test_text_or_binary(
    store: Store, inputs: Path, content: bytes, status: str, error: str | None, note: str | None
) -> None:
    path = inputs / "node017" / "file.log"
    path.parent.mkdir()
    path.write_bytes(content)

    ingest(store, [str(inputs)])

    assert store.frame("SELECT status, error, note FROM files").rows() == [(status, error, note)]


def test_summary_counts_the_lines_kept_from_a_cut_file(store: Store, inputs: Path) -> None:
    whole = gzip.compress((XID * 5000).encode())
    (inputs / "node017").mkdir()
    (inputs / "node017" / "dmesg.log.gz").write_bytes(whole[: len(whole) // 2])

    summary = ingest(store, [str(inputs)])

    kept = store.count("events")
    assert 0 < kept < 5000
    assert (summary.ingested, len(summary.errors), summary.lines, summary.hosts) == (0, 1, kept, ["node017"])
