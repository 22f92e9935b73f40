"""Bounded waits: no collective hangs forever, and a rank that raises takes the job down with it.

An MPI collective waits for every rank. A rank that died is noticed by the launcher (``mpiexec`` ends
the job and names the rank), but a rank that raised and is unwinding, hung, or called a different
collective leaves the others waiting. So:

- every wait on a collective runs inside :meth:`Watchdog.guard`; a daemon thread checks the deadline
  of the guarded wait a few times a second, and past ``timeout`` it writes which collective on which
  rank timed out and calls ``MPI_Abort`` on ``MPI_COMM_WORLD``, which ends every rank of the job;
- an uncaught exception on a rank (``sys.excepthook``) prints its traceback as usual, then a line naming
  the rank and the exception, then aborts the job (mpi4py's ``python -m mpi4py`` does the same).

A guard costs a tuple and two attribute writes; the thread sleeps between checks (``min(1 s, timeout / 20)``).
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time

logger = logging.getLogger("eigengrad.distributed")


def abort(MPI, message: str) -> None:
    """Write ``message`` to the log (stderr when logging is not configured), then end every rank of the
    job (``MPI_Abort``)."""
    try:
        if logger.hasHandlers():
            logger.critical(message)
        else:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()
    finally:
        MPI.COMM_WORLD.Abort(1)
        os._exit(1)  # MPI_Abort does not return; this is for an MPI that would


class Watchdog:
    """Aborts the job when a guarded wait lasts longer than ``timeout`` seconds."""

    def __init__(self, MPI, rank: int, timeout: float) -> None:
        self.MPI, self.rank, self.timeout = MPI, rank, timeout
        # (the collective being waited for, its deadline), or None: one attribute, so that the thread
        # never reads the name of one wait with the deadline of another
        self._current: tuple[str, float] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="eigengrad-distributed-watchdog", daemon=True)
        self._thread.start()

    def guard(self, what: str) -> "_Guard":
        """``with watchdog.guard("all_reduce"): request.Wait()``."""
        return _Guard(self, what)

    def _run(self) -> None:
        period = min(1.0, max(0.02, self.timeout / 20))
        while not self._stop.wait(period):
            current = self._current
            if current is not None and time.monotonic() > current[1]:
                abort(self.MPI, f"eigengrad.distributed: rank {self.rank}: {current[0]} did not complete within "
                                f"{self.timeout:g} s (the process group's timeout): another rank has died, hung, "
                                "raised, or called a different collective; aborting all ranks (MPI_Abort)")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class _Guard:
    __slots__ = ("dog", "what", "outer")

    def __init__(self, dog: Watchdog, what: str) -> None:
        self.dog, self.what = dog, what

    def __enter__(self) -> None:
        dog = self.dog
        self.outer = dog._current
        dog._current = (self.what, time.monotonic() + dog.timeout)

    def __exit__(self, *exc) -> None:
        self.dog._current = self.outer


class AbortOnException:
    """``sys.excepthook`` for a rank of a job: the usual traceback, then a line naming the rank, then
    ``MPI_Abort`` (the other ranks would otherwise wait in their next collective)."""

    def __init__(self, MPI, rank: int, size: int) -> None:
        self.MPI, self.rank, self.size = MPI, rank, size
        self.previous = sys.excepthook

    def __call__(self, etype, value, tb) -> None:
        try:
            self.previous(etype, value, tb)
        finally:
            abort(self.MPI, f"eigengrad.distributed: rank {self.rank} of {self.size} raised "
                            f"{etype.__name__}: {value}; aborting all ranks (MPI_Abort)")

    def install(self) -> None:
        sys.excepthook = self

    def uninstall(self) -> None:
        if sys.excepthook is self:
            sys.excepthook = self.previous
