"""Run a function in several threads at once, interleaved as finely as the interpreter allows."""
from __future__ import annotations

import sys
import threading


def run_interleaved(work, n: int) -> list:
    """``work(i)`` for i in range(n), each in its own thread, all started together with a 1 us switch
    interval (else threads rarely interleave inside one another's short calls); returns the exceptions
    the calls raised (empty when all returned)."""
    errors: list = []

    def call(i: int) -> None:
        try:
            work(i)
        except BaseException as exc:  # reported to the caller
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    return errors
