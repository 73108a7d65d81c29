"""Streaming a byte stream into batches of text lines, vectorised.

A file is read in blocks of a few MiB. Each block is split on newlines with numpy
and becomes one Arrow string array without copying line by line. Line numbers
stay exact whatever the content: CRLF endings are folded, NUL bytes dropped,
invalid UTF-8 replaced (U+FFFD) and lines longer than `max_line_bytes` truncated;
each of these is counted in `LineStats` so the ingest can say so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

BATCH_BYTES = 32 << 20
MAX_LINE_BYTES = 1 << 20


@dataclass
class LineStats:
    """What the reader had to repair while reading one file."""

    bytes: int = 0
    lines: int = 0
    lossy_batches: int = 0
    nul_batches: int = 0
    truncated_lines: int = 0

    def notes(self) -> list[str]:
        """Human-readable remarks, empty when the file was clean text."""
        out = []
        if self.lossy_batches:
            out.append("invalid UTF-8 replaced with U+FFFD")
        if self.nul_batches:
            out.append("NUL bytes removed")
        if self.truncated_lines:
            out.append(f"{self.truncated_lines} line(s) longer than {MAX_LINE_BYTES} bytes truncated")
        return out


@dataclass
class LineBatch:
    """Consecutive lines of one file: `lines[i]` is line number `first_line_no + i`."""

    first_line_no: int
    lines: pl.Series

    def line_numbers(self) -> pl.Series:
        """The 1-based line number of every line in the batch."""
        return pl.int_range(self.first_line_no, self.first_line_no + len(self.lines), dtype=pl.Int64, eager=True)


def iter_line_batches(
    stream: BinaryIO,
    stats: LineStats | None = None,
    batch_bytes: int = BATCH_BYTES,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Iterator[LineBatch]:
    """Yield the lines of `stream` in batches of roughly `batch_bytes`."""
    stats = stats if stats is not None else LineStats()
    carry = b""
    skipping = False  # inside an over-long line whose head was already emitted
    next_line_no = 1
    while True:
        block = stream.read(batch_bytes)
        at_eof = not block
        stats.bytes += len(block)
        if skipping:
            cut = block.find(b"\n")
            if cut < 0 and not at_eof:
                continue
            block = block[cut + 1 :] if cut >= 0 else b""
            skipping = False
        data = carry + block
        if at_eof:
            carry = b""
        else:
            cut = data.rfind(b"\n")
            if cut < 0:
                if len(data) > max_line_bytes:
                    data, carry, skipping = head_of(data, max_line_bytes) + b"\n", b"", True
                    stats.truncated_lines += 1
                else:
                    carry = data
                    continue
            else:
                data, carry = data[: cut + 1], data[cut + 1 :]
        if data:
            array = _split(data, stats, max_line_bytes)
            yield LineBatch(next_line_no, pl.Series("line", array))
            next_line_no += len(array)
            stats.lines += len(array)
        if at_eof:
            return


def _split(data: bytes, stats: LineStats, max_line_bytes: int) -> pa.Array:
    if b"\x00" in data:
        data = data.replace(b"\x00", b"")
        stats.nul_batches += 1
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    array = _to_array(data, max_line_bytes, stats)
    try:
        return array.cast(pa.large_string())
    except pa.ArrowInvalid:
        stats.lossy_batches += 1
        repaired = data.decode("utf-8", errors="replace").encode("utf-8")
        return _to_array(repaired, max_line_bytes, None).cast(pa.large_string())


def _to_array(data: bytes, max_line_bytes: int, stats: LineStats | None) -> pa.Array:
    """Binary array of the newline-separated lines of `data` (newlines removed)."""
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    ends_open = not data.endswith(b"\n")
    n = len(newlines) + (1 if ends_open else 0)
    starts = np.empty(n, dtype=np.int64)
    starts[0] = 0
    starts[1:] = newlines[: n - 1] + 1
    body = data.replace(b"\n", b"")
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[:n] = starts - np.arange(n, dtype=np.int64)
    offsets[n] = len(body)
    lengths = np.diff(offsets)
    if len(lengths) and lengths.max() > max_line_bytes:
        return _truncate(body, offsets, max_line_bytes, stats)
    return pa.Array.from_buffers(pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(body)])


def _truncate(body: bytes, offsets: np.ndarray, max_line_bytes: int, stats: LineStats | None) -> pa.Array:
    lengths = np.diff(offsets)
    long = np.flatnonzero(lengths > max_line_bytes)
    if stats is not None:
        stats.truncated_lines += len(long)
    array = pa.Array.from_buffers(pa.large_binary(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(body)])
    # Only the few over-long lines are cut, each at a character boundary.
    heads = [head_of(body[offsets[i] : offsets[i + 1]], max_line_bytes) for i in long]
    mask = np.zeros(len(lengths), dtype=bool)
    mask[long] = True
    return pc.replace_with_mask(array, pa.array(mask), pa.array(heads, type=pa.large_binary()))


def head_of(line: bytes, max_bytes: int) -> bytes:
    """At most `max_bytes` of `line`, never ending inside a UTF-8 character."""
    if len(line) <= max_bytes:
        return line
    cut = max_bytes
    while cut > 0 and line[cut] & 0xC0 == 0x80:
        cut -= 1
    return line[:cut]
