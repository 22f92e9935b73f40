"""Backend queries, as ``torch.backends``: ``eigengrad.backends.cpu.get_cpu_capability()``."""
from eigengrad.backends import cpu

__all__ = ["cpu"]
