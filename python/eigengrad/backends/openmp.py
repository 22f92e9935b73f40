"""``torch.backends.openmp``: whether this build runs its kernels with OpenMP."""
from __future__ import annotations


def is_available() -> bool:
    """True when the kernels were built with OpenMP (else every kernel runs on one thread)."""
    from eigengrad._config import get_config

    return bool(get_config()["openmp"])
