"""The default process group: every rank the MPI launcher started, with ``torch.distributed``'s names.

    mpiexec -n 2 python train.py          # train.py calls eigengrad.distributed.init_process_group("mpi")

The ranks and their number come from MPI (``MPI_COMM_WORLD``), so ``init_method``, ``world_size`` and
``rank`` are only checked against it. eigengrad talks over a duplicate of ``MPI_COMM_WORLD`` of its own,
so a program's own mpi4py messages never mix with eigengrad's. Importing eigengrad never imports
mpi4py (importing ``mpi4py.MPI`` initialises MPI); :func:`init_process_group` does.
"""
from __future__ import annotations

import datetime
import importlib.util
import logging
import operator

from eigengrad.distributed.watchdog import AbortOnException, Watchdog

logger = logging.getLogger("eigengrad.distributed")

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)  # torch.distributed's default_pg_timeout
_NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."
_MPI_MISSING = ('eigengrad.distributed needs mpi4py and an MPI runtime: pip install "eigengrad[mpi]" (mpi4py and '
                "Open MPI from PyPI), or mpi4py built against a system MPI")


class World:
    """The initialised default group: ``comm`` (eigengrad's communicator), ``rank``, ``size``,
    ``timeout`` (seconds) and ``MPI`` (the mpi4py module); ``LANES`` more duplicates of the
    communicator carry the nonblocking collectives (see ``collectives.Work``)."""

    LANES = 8

    def __init__(self, MPI, timeout: float) -> None:
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank, self.size, self.timeout = self.comm.Get_rank(), self.comm.Get_size(), timeout
        self._lanes = [self.comm.Dup() for _ in range(self.LANES)]
        self._lane_work: list = [None] * self.LANES
        self._lane = 0
        self.watchdog = Watchdog(MPI, self.rank, timeout)
        self.excepthook = AbortOnException(MPI, self.rank, self.size) if self.size > 1 else None
        self.threads: int | None = None

    def guard(self, what: str):
        """A context in which a wait on ``what`` is bounded by the timeout (see ``watchdog``)."""
        return self.watchdog.guard(what)

    def take_lane(self, work) -> tuple:
        """The communicator of the next lane for ``work``, and the Work that lane carried before (or None)."""
        k = self._lane
        self._lane = (k + 1) % self.LANES
        previous, self._lane_work[k] = self._lane_work[k], work
        return self._lanes[k], previous

    def close(self) -> None:
        self.watchdog.stop()
        if self.excepthook is not None:
            self.excepthook.uninstall()
        for comm in (*self._lanes, self.comm):
            comm.Free()


_world: World | None = None


def world() -> World:
    """The default group, or torch's ValueError when there is none."""
    if _world is None:
        raise ValueError(_NOT_INITIALIZED)
    return _world


def is_available() -> bool:
    """True when the MPI backend can be used (mpi4py is installed); does not initialise MPI."""
    return importlib.util.find_spec("mpi4py") is not None


def is_mpi_available() -> bool:
    return is_available()


def is_initialized() -> bool:
    return _world is not None


def _seconds(timeout) -> float:
    if timeout is None:
        return DEFAULT_TIMEOUT.total_seconds()
    seconds = timeout.total_seconds() if isinstance(timeout, datetime.timedelta) else timeout
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise ValueError(f"timeout: expected a positive datetime.timedelta (or seconds), got {timeout!r}")
    return float(seconds)


def _check_args(backend, init_method, store, pg_options, device_id) -> None:
    if backend is not None and str(backend).lower() != "mpi":
        raise ValueError(f"backend: eigengrad's process groups run over MPI; expected 'mpi' (or None), got {backend!r}")
    if init_method not in (None, "env://"):
        raise ValueError(f"init_method: the MPI backend takes its ranks from the MPI launcher (mpiexec); expected None "
                         f"or 'env://', got {init_method!r}")
    if store is not None:
        raise ValueError(f"store: the MPI backend needs no store; expected None, got {type(store).__name__}")
    if pg_options is not None:
        raise ValueError(f"pg_options: the MPI backend takes no options; expected None, got {pg_options!r}")
    if device_id not in (None, "cpu"):
        raise ValueError(f"device_id: eigengrad runs on the CPU; expected None or 'cpu', got {device_id!r}")


def _check_rank_args(world_size, rank, size: int, mpi_rank: int) -> None:
    for name, value, actual, what in (("world_size", world_size, size, "the MPI launcher started {} processes"),
                                      ("rank", rank, mpi_rank, "MPI gave this process rank {}")):
        try:
            value = operator.index(value)
        except TypeError:
            raise TypeError(f"{name}: expected an int, got {type(value).__name__}") from None
        if value not in (-1, actual):
            raise ValueError(f"{name}: {what.format(actual)}, got {name}={value} (pass -1 or {actual})")


def init_process_group(backend: str | None = None, init_method: str | None = None, timeout=None,
                       world_size: int = -1, rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Join the default process group of every rank the MPI launcher started (``torch.distributed``'s
    ``init_process_group``; collective: every rank must call it).

    Args:
        backend: ``"mpi"`` (or None). No other backend exists here.
        init_method: None or ``"env://"``: the ranks come from MPI.
        timeout: how long any collective may wait (a ``datetime.timedelta`` or seconds; default 30
            minutes, as torch): past it the rank names the collective and aborts the whole job.
        world_size, rank: -1, or the values MPI gives (checked).

    It also sets this rank's kernel threads from the cores it owns (see ``distributed.threads``) unless
    ``OMP_NUM_THREADS`` or ``eigengrad.set_num_threads`` decided them, and, with more than one rank,
    makes an uncaught exception abort the job (so no rank waits for one that has gone).
    """
    global _world
    if _world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    _check_args(backend, init_method, store, pg_options, device_id)
    seconds = _seconds(timeout)
    try:
        from mpi4py import MPI
    except ImportError:
        raise ImportError(_MPI_MISSING) from None
    _check_rank_args(world_size, rank, MPI.COMM_WORLD.Get_size(), MPI.COMM_WORLD.Get_rank())
    w = World(MPI, seconds)
    try:
        from eigengrad.distributed import threads

        w.threads = threads.configure(w.comm, MPI)
        if w.excepthook is not None:
            w.excepthook.install()
    except BaseException:
        w.close()
        raise
    _world = w
    logger.info("rank %d of %d joined the process group (%s)", w.rank, w.size, MPI.Get_library_version().split(",")[0])


def destroy_process_group(group=None) -> None:
    """Leave the default group (its communicator is freed; MPI itself ends when the process does)."""
    global _world
    if group is not None:
        raise ValueError(f"group: only the default group exists; expected None, got {group!r}")
    w = world()
    _world = None
    w.close()


def get_rank(group=None) -> int:
    _no_group(group)
    return world().rank


def get_world_size(group=None) -> int:
    _no_group(group)
    return world().size


def get_backend(group=None) -> str:
    _no_group(group)
    world()
    return "mpi"


def is_main_process() -> bool:
    """True on rank 0, and in a program with no process group (the one process is the main one)."""
    return _world is None or _world.rank == 0


def _no_group(group) -> None:
    if group is not None:
        raise ValueError(f"group: only the default group exists; expected None, got {group!r}")
