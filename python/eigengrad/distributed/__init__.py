"""Data-parallel training over MPI with ``torch.distributed``'s names (``pip install "eigengrad[mpi]"``).

    # mpiexec -n 2 python train.py
    import eigengrad.distributed as dist
    dist.init_process_group("mpi")
    model = eigengrad.nn.parallel.DistributedDataParallel(model)
    sampler = eigengrad.data.DistributedSampler(dataset)       # each rank its shard
    ...
    dist.all_reduce(t, op=dist.ReduceOp.AVG)                   # in place, same bits on every rank

The collectives run in place on the tensors' memory (:mod:`.collectives`); every wait is bounded by
the group's timeout and an uncaught exception on a rank aborts the job (:mod:`.watchdog`); each rank's
kernel threads follow the cores it owns (:mod:`.threads`). mpi4py is imported only by
:func:`init_process_group`. See docs/distributed.md.
"""
from eigengrad.distributed.collectives import (
    ReduceOp, Work, all_gather, all_reduce, barrier, broadcast, gather, reduce,
)
from eigengrad.distributed.process_group import (
    DEFAULT_TIMEOUT, destroy_process_group, get_backend, get_rank, get_world_size, init_process_group,
    is_available, is_initialized, is_main_process, is_mpi_available,
)

default_pg_timeout = DEFAULT_TIMEOUT

__all__ = [
    "init_process_group", "destroy_process_group", "is_available", "is_mpi_available", "is_initialized",
    "get_rank", "get_world_size", "get_backend", "is_main_process", "barrier", "all_reduce", "reduce",
    "broadcast", "all_gather", "gather", "ReduceOp", "Work", "default_pg_timeout",
]
