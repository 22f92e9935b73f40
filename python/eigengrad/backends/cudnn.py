"""``torch.backends.cudnn``'s flags, which scripts set for speed or reproducibility. eigengrad has no cuDNN,
so they change nothing: its kernels are already deterministic (the same bits on any number of threads)
and choose their algorithms by shape. They can be read back and set, as in PyTorch."""
from __future__ import annotations

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    return False


def version():
    """None: no cuDNN (``torch.backends.cudnn.version()`` without CUDA)."""
    return None


__all__ = ["enabled", "benchmark", "deterministic", "allow_tf32", "is_available", "version"]
