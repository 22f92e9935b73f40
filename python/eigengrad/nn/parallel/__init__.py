"""Data parallelism (``torch.nn.parallel``): :class:`DistributedDataParallel` over MPI, and
:class:`DataParallel` (on the CPU, the module itself under PyTorch's wrapper interface)."""
from eigengrad.nn.parallel.data_parallel import DataParallel, data_parallel
from eigengrad.nn.parallel.distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel", "DataParallel", "data_parallel"]
