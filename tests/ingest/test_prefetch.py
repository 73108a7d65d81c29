"""prefetch: same items in the same order, errors passed on, producer stopped when the consumer leaves."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from triage.ingest.prefetch import prefetch


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "triage-prefetch" and t.is_alive()]


@pytest.mark.parametrize("depth", [pytest.param(1, id="depth_1"), pytest.param(4, id="depth_4")])
@pytest.mark.parametrize("n", [pytest.param(0, id="empty"), pytest.param(1, id="one"), pytest.param(500, id="many")])
def test_yields_every_item_in_order(depth: int, n: int) -> None:
    assert list(prefetch(iter(range(n)), depth=depth)) == list(range(n))
    assert prefetch_threads() == []


def test_items_are_passed_as_is() -> None:
    items = [{"batch": 1}, None, ("events", [1, 2])]
    got = list(prefetch(iter(items)))
    assert got == items
    assert got[0] is items[0]


def test_producer_exception_reaches_the_consumer_after_earlier_items() -> None:
    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("line 3: bad batch")

    received = []
    with pytest.raises(ValueError, match=r"^line 3: bad batch$"):
        for item in prefetch(produce()):
            received.append(item)
    assert received == [1, 2]
    assert prefetch_threads() == []


def test_exception_at_the_first_item() -> None:
    def produce() -> Iterator[int]:
        raise OSError("input/output error")
        yield 0  # pragma: no cover

    with pytest.raises(OSError, match="input/output error"):
        list(prefetch(produce()))


@pytest.mark.parametrize("depth", [pytest.param(1, id="depth_1"), pytest.param(3, id="depth_3")])
def test_consumer_breaking_early_stops_the_producer(depth: int) -> None:
    produced: list[int] = []

    def produce() -> Iterator[int]:
        for i in range(10_000):
            produced.append(i)
            yield i

    stream = prefetch(produce(), depth=depth)
    received = []
    for item in stream:
        received.append(item)
        if item == 2:
            break
    stream.close()  # what leaving a `for` loop does once the generator is dropped
    assert received == [0, 1, 2]
    assert prefetch_threads() == []
    # the producer got at most `depth` queued items, one blocked in `put` and one more pulled before it saw
    # the stop: nowhere near the 10,000 it would make if it kept running
    assert len(produced) <= 3 + depth + 2


def test_consumer_exception_stops_the_producer() -> None:
    produced: list[int] = []

    def produce() -> Iterator[int]:
        for i in range(10_000):
            produced.append(i)
            yield i

    def consume() -> None:
        for item in prefetch(produce()):
            if item == 5:
                raise KeyError("store full")

    with pytest.raises(KeyError):
        consume()
    assert prefetch_threads() == []
    assert len(produced) <= 6 + 1 + 2
