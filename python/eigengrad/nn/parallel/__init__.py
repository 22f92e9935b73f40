"""Data parallelism (``torch.nn.parallel``): :class:`DistributedDataParallel` over MPI."""
from eigengrad.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
