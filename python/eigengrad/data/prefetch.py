"""Background prefetch: a worker thread prepares the next batches while the model trains.

Works because eigengrad's kernels (and NumPy's copies) release the GIL. One producer thread keeps
the order of the batches; an exception in it is raised in the consumer at the batch where it
happened; leaving the loop early (break, exception) stops the thread.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Iterable, Iterator

_DONE = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(jobs: Iterable, fetch: Callable, depth: int, timeout: float | None = None) -> Iterator:
    """``fetch(job)`` for every job in order, computed up to ``depth`` jobs ahead in a daemon thread. With a
    ``timeout``, waiting longer than that many seconds for the next result is a RuntimeError (the DataLoader's
    ``timeout``, PyTorch's message)."""
    buffer: queue.Queue = queue.Queue(maxsize=max(depth, 1))
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for job in jobs:
                if not put(fetch(job)):
                    return
        except BaseException as error:  # handed to the consumer, raised there
            put(_Failure(error))
            return
        put(_DONE)

    worker = threading.Thread(target=produce, name="eigengrad-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            try:
                item = buffer.get(timeout=timeout)
            except queue.Empty:
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds") from None
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        # (a generator left in a reference cycle may be closed by a collection the worker itself triggers: it then
        # stops on its own at its next put, and joining it from itself would raise)
        if threading.current_thread() is not worker:
            worker.join(timeout=5)
