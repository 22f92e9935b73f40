"""``torch.nn.attention``: ``SDPBackend`` and the ``sdpa_kernel`` context manager that modern scripts wrap
around ``scaled_dot_product_attention`` to pick a CUDA backend. eigengrad has one attention kernel (its
fused CPU kernel), which every backend choice runs; the block checks its argument as PyTorch does and
changes nothing else."""
from __future__ import annotations

import contextlib
import enum

__all__ = ["SDPBackend", "sdpa_kernel"]


class SDPBackend(enum.IntEnum):
    """PyTorch's names and values of the attention backends."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority: bool = False):
    """``with sdpa_kernel(SDPBackend.FLASH_ATTENTION): ...`` (one backend or a list of them)."""
    chosen = list(backends) if isinstance(backends, (list, tuple, set)) else [backends]
    if not all(isinstance(b, SDPBackend) for b in chosen):
        raise TypeError(f"backends: expected SDPBackend members or a list of them, got {backends!r}")
    yield
