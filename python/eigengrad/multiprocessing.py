"""``torch.multiprocessing``: Python's ``multiprocessing`` (eigengrad tensors pickle as their arrays, so they
pass through queues and pipes as they are; nothing is shared in place), plus PyTorch's ``spawn`` and
``start_processes``, which run ``fn(i, *args)`` in ``nprocs`` processes and raise if one fails."""
from __future__ import annotations

import multiprocessing as _mp
from multiprocessing import *  # noqa: F401,F403

__all__ = list(_mp.__all__) + ["spawn", "start_processes"]


def start_processes(fn, args=(), nprocs: int = 1, join: bool = True, daemon: bool = False, start_method: str = "spawn"):
    """``fn(i, *args)`` for i in range(nprocs), each in its own process; with ``join``, waits for all and
    raises a ProcessRaisedException-like RuntimeError naming the first that failed (its exit code)."""
    ctx = _mp.get_context(start_method)
    procs = [ctx.Process(target=fn, args=(i, *args), daemon=daemon) for i in range(nprocs)]
    for p in procs:
        p.start()
    if not join:
        return procs
    for p in procs:
        p.join()
    failed = [(i, p.exitcode) for i, p in enumerate(procs) if p.exitcode != 0]
    if failed:
        i, code = failed[0]
        raise RuntimeError(f"process {i} terminated with exit code {code}")
    return None


def spawn(fn, args=(), nprocs: int = 1, join: bool = True, daemon: bool = False, start_method: str = "spawn"):
    """PyTorch's ``torch.multiprocessing.spawn`` (see :func:`start_processes`)."""
    return start_processes(fn, args, nprocs, join, daemon, start_method)
