"""iter_line_batches: exact line splitting, numbering and repair accounting."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.sources.lines import LineStats, iter_line_batches


def read(data: bytes, **kwargs: int) -> tuple[list[tuple[int, list[str]]], LineStats]:
    """(first_line_no, lines) of every batch, and the stats the reader filled in."""
    stats = LineStats()
    batches = [(b.first_line_no, b.lines.to_list()) for b in iter_line_batches(io.BytesIO(data), stats, **kwargs)]
    return batches, stats


def flat(batches: list[tuple[int, list[str]]]) -> list[str]:
    return [line for _, lines in batches for line in lines]


def numbers(data: bytes, **kwargs: int) -> list[int]:
    """The line number of every line, as reported by the batches."""
    return [n for b in iter_line_batches(io.BytesIO(data), **kwargs) for n in b.line_numbers().to_list()]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"alpha\r\nbeta\r\n\r\ngamma\r\n", ["alpha", "beta", "", "gamma"], id="crlf"),
        pytest.param(b"alpha\r\nbeta\ngamma\r\n", ["alpha", "beta", "gamma"], id="mixed_crlf_lf"),
        pytest.param(b"one\n\n\nfour\n", ["one", "", "", "four"], id="blank_lines_kept"),
        pytest.param(b"one\ntwo", ["one", "two"], id="final_line_without_newline"),
        pytest.param(b"one\ntwo\r\n", ["one", "two"], id="final_crlf"),
        pytest.param(b"\n", [""], id="single_newline_is_one_empty_line"),
        pytest.param(b"\n\n", ["", ""], id="two_newlines_are_two_empty_lines"),
        pytest.param(b"a\rb\n", ["a\rb"], id="lone_cr_is_not_a_line_end"),
        pytest.param("GPU état ✓\n".encode(), ["GPU état ✓"], id="utf8_passthrough"),
    ],
)
@pytest.mark.parametrize("batch_bytes", [pytest.param(1 << 20, id="one_block"), pytest.param(1, id="byte_blocks")])
def test_lines_are_split_exactly(data: bytes, expected: list[str], batch_bytes: int) -> None:
    batches, stats = read(data, batch_bytes=batch_bytes)
    assert flat(batches) == expected
    assert numbers(data, batch_bytes=batch_bytes) == list(range(1, len(expected) + 1))
    assert stats.lines == len(expected)
    assert stats.bytes == len(data)
    assert stats.notes() == []


def test_blank_lines_keep_numbering() -> None:
    data = b"[    1.000000] first\n\n\n[    4.000000] fourth\n\n[    6.000000] sixth\n"
    batches, _ = read(data, batch_bytes=7)
    pairs = [(first + i, line) for first, lines in batches for i, line in enumerate(lines)]
    assert pairs == [
        (1, "[    1.000000] first"),
        (2, ""),
        (3, ""),
        (4, "[    4.000000] fourth"),
        (5, ""),
        (6, "[    6.000000] sixth"),
    ]


def test_empty_input_yields_nothing() -> None:
    batches, stats = read(b"")
    assert batches == []
    assert stats == LineStats()


def test_nul_bytes_are_removed_and_noted() -> None:
    batches, stats = read(b"NVRM: Xid\x00 (PCI:0000:3b:00): 79\n\x00\x00\nok\n")
    assert batches == [(1, ["NVRM: Xid (PCI:0000:3b:00): 79", "", "ok"])]
    assert stats.nul_batches == 1
    assert stats.lossy_batches == 0
    assert stats.notes() == ["NUL bytes removed"]


def test_invalid_utf8_is_replaced_and_noted() -> None:
    batches, stats = read(b"ok\n\xff\xfeNVRM: Xid 79\nGPU \xc3(\n\xe2\x9c\x93 fine\n")
    assert batches == [(1, ["ok", "\ufffd\ufffdNVRM: Xid 79", "GPU \ufffd(", "✓ fine"])]
    assert stats.lossy_batches == 1
    assert stats.nul_batches == 0
    assert stats.lines == 4
    assert stats.notes() == ["invalid UTF-8 replaced with U+FFFD"]


@pytest.mark.parametrize(
    "batch_bytes",
    [
        pytest.param(1 << 20, id="line_inside_one_block"),
        pytest.param(3, id="line_spans_blocks"),
    ],
)
def test_overlong_line_is_truncated_and_counted(batch_bytes: int) -> None:
    data = b"short\n" + b"x" * 50 + b"\nnext\n" + b"y" * 17 + b"\n"
    batches, stats = read(data, batch_bytes=batch_bytes, max_line_bytes=16)
    assert flat(batches) == ["short", "x" * 16, "next", "y" * 16]
    assert numbers(data, batch_bytes=batch_bytes, max_line_bytes=16) == [1, 2, 3, 4]
    assert stats.truncated_lines == 2
    assert stats.lines == 4
    assert stats.bytes == len(data)
    assert len(stats.notes()) == 1
    assert stats.notes()[0].startswith("2 line(s) longer than ")


def test_line_of_exactly_max_bytes_is_kept() -> None:
    batches, stats = read(b"x" * 16 + b"\n" + b"y" * 16, batch_bytes=5, max_line_bytes=16)
    assert flat(batches) == ["x" * 16, "y" * 16]
    assert stats.truncated_lines == 0


@pytest.mark.parametrize(
    "batch_bytes",
    [
        pytest.param(1 << 20, id="line_inside_one_block"),
        pytest.param(4, id="line_spans_blocks"),
    ],
)
def test_overlong_line_is_cut_on_a_character_boundary(batch_bytes: int) -> None:
    # "xid=79 " is 7 bytes, "é" is 2: a cut at 8 bytes would split the character.
    # The truncated line must still be the text's own prefix (valid UTF-8, no
    # U+FFFD invented for a file that was clean), at most max_line_bytes long.
    data = "xid=79 état\nnext\n".encode()
    batches, stats = read(data, batch_bytes=batch_bytes, max_line_bytes=8)
    assert flat(batches) == ["xid=79 ", "next"]
    assert stats.truncated_lines == 1
    assert stats.lossy_batches == 0


def test_line_spanning_many_small_blocks_is_reassembled() -> None:
    long_line = "NVRM: Xid (PCI:0000:3b:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus."
    data = f"a\n{long_line}\nb\n{long_line[::-1]}".encode()
    batches, stats = read(data, batch_bytes=8)
    assert flat(batches) == ["a", long_line, "b", long_line[::-1]]
    assert stats.truncated_lines == 0
    assert stats.bytes == len(data)
    # 8-byte blocks: every line ends in a different block, so each is its own batch.
    assert [first for first, _ in batches] == [1, 2, 3, 4]


def test_line_numbers_are_continuous_across_batches() -> None:
    lines = [f"[{i:6d}.000000] line {i}" + "!" * (i % 7) for i in range(1, 61)]
    data = ("\n".join(lines) + "\n").encode()
    batches, stats = read(data, batch_bytes=40)
    assert len(batches) > 10
    expected_first = 1
    for first, batch_lines in batches:
        assert first == expected_first
        assert batch_lines  # no empty batch is ever yielded
        expected_first += len(batch_lines)
    assert flat(batches) == lines
    assert stats.lines == 60


# Any character but the three the reader rewrites ("\n" splits, "\r\n" folds, NUL is dropped);
# surrogates cannot be encoded.
LINE_TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\n\r\x00"),
    max_size=30,
)


@settings(max_examples=300, deadline=None, database=None)
@given(lines=st.lists(LINE_TEXT, max_size=25), trailing_newline=st.booleans(), batch_bytes=st.integers(1, 64))
def test_batches_concatenate_to_the_split_text(lines: list[str], trailing_newline: bool, batch_bytes: int) -> None:
    text = "\n".join(lines) + ("\n" if trailing_newline else "")
    # The reader's lines are text.split("\n") except that the empty string after a final
    # newline (or the lone empty string of an empty text) is not a line.
    expected = text.split("\n")
    if expected[-1] == "":
        expected.pop()
    data = text.encode()
    batches, stats = read(data, batch_bytes=batch_bytes)
    assert flat(batches) == expected
    assert numbers(data, batch_bytes=batch_bytes) == list(range(1, len(expected) + 1))
    assert stats.lines == len(expected)
    assert stats.bytes == len(data)
    assert stats.notes() == []
