"""Running a generator one step ahead in a thread, so producing and consuming overlap.

Parsing (polars, numpy) and appending (DuckDB) both release the GIL, so on two
cores the parse of batch N+1 runs while batch N is written.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Yield what `items` yields, computing up to `depth` items ahead in a worker thread."""
    box: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                box.put(item)
        except BaseException as exc:
            box.put(_Failure(exc))
            return
        box.put(_DONE)

    worker = threading.Thread(target=work, name="triage-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                box.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
