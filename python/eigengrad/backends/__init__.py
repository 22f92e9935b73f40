"""Backend queries, as ``torch.backends``: ``eigengrad.backends.cpu.get_cpu_capability()``,
``eigengrad.backends.openmp.is_available()``."""
from eigengrad.backends import cpu, openmp

__all__ = ["cpu", "openmp"]
