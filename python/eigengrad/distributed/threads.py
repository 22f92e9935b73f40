"""Kernel threads per rank: from the cores the rank owns, never more threads than cores on a node.

A launcher either binds each rank to cores (Open MPI binds to a core when there are no more ranks
than cores: ``os.sched_getaffinity`` then shows that core alone) or lets all ranks see all cores
(``--oversubscribe``, ``--bind-to none``, MPICH's default). So a rank takes the cores it may run on and
divides them by the number of ranks on its node whose cores overlap its own: 2 ranks bound to a core
each get 1 thread each, 2 unbound ranks on 2 cores get 1 each, 2 unbound ranks on 8 cores get 4 each.

``OMP_NUM_THREADS`` set by the user or the launcher, or an earlier ``eigengrad.set_num_threads``,
wins: then nothing is changed. Results never depend on the thread count, only the speed.
"""
from __future__ import annotations

import logging
import os

import numpy as np

logger = logging.getLogger("eigengrad.distributed")


def own_cores() -> set[int]:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def threads_for(mine: set[int], others: list[set[int]]) -> int:
    """Threads for a rank owning cores ``mine`` among the node's ranks owning ``others`` (itself included)."""
    sharing = sum(1 for cores in others if cores & mine)
    return max(1, len(mine) // max(1, sharing))


def configure(comm, MPI) -> int | None:
    """Set eigengrad's thread count for this rank (collective over ``comm``); the count, or None when
    ``OMP_NUM_THREADS`` or ``set_num_threads`` already decided it."""
    from eigengrad import _kernels, set_num_threads

    decided = bool(os.environ.get("OMP_NUM_THREADS")) or _kernels.requested_num_threads() > 0
    node = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        width = np.array([max(os.cpu_count() or 1, max(own_cores()) + 1)], dtype=np.int64)
        node.Allreduce(MPI.IN_PLACE, width, op=MPI.MAX)
        mask = np.zeros(int(width[0]), dtype=np.uint8)
        mask[sorted(own_cores())] = 1
        masks = np.empty((node.size, mask.size), dtype=np.uint8)
        node.Allgather(mask, masks)  # every rank takes part, even one whose count is decided
    finally:
        node.Free()
    if decided:
        return None
    others = [set(np.flatnonzero(m).tolist()) for m in masks]
    n = threads_for(own_cores(), others)
    set_num_threads(n)
    logger.info("%d kernel thread(s) for this rank: %d core(s) of its own, %d rank(s) on the node",
                n, len(own_cores()), len(masks))
    return n
