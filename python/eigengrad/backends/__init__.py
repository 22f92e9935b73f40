"""Backend queries, as ``torch.backends``: ``eigengrad.backends.cpu.get_cpu_capability()``,
``eigengrad.backends.openmp.is_available()``; ``mps`` and ``cudnn`` answer as on a machine without them
(eigengrad runs on the CPU)."""
from eigengrad.backends import cpu, cudnn, mps, openmp

__all__ = ["cpu", "cudnn", "mps", "openmp"]
