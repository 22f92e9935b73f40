"""``torch.backends.opt_einsum``: PyTorch's contraction-order optimisation for einsum with three or more
operands (it uses the opt_einsum package when installed). eigengrad's einsum contracts pairwise in its own
order; the flags are kept so scripts can set and read them, and ``is_available()`` says whether the package
is importable, as PyTorch's does."""
from __future__ import annotations

import importlib.util

enabled = True
strategy = "auto"


def is_available() -> bool:
    return importlib.util.find_spec("opt_einsum") is not None


def get_opt_einsum():
    """The opt_einsum module, or None when it is not installed."""
    if not is_available():
        return None
    import opt_einsum

    return opt_einsum


__all__ = ["enabled", "strategy", "is_available", "get_opt_einsum"]
