"""PyTorch's global switches that scripts set at the top: matmul precision, deterministic algorithms,
inter-op threads. eigengrad's behaviour is already what they ask for or they do not apply (see each
function); the settings are kept and read back, so ``set``/``get`` pairs round-trip as in PyTorch."""
from __future__ import annotations

import numbers

_PRECISIONS = ("highest", "high", "medium")
_state = {"matmul_precision": "highest", "deterministic": False, "warn_only": False, "interop_threads": 1}


def set_float32_matmul_precision(precision: str) -> None:
    """PyTorch's switch to TF32/bfloat16 matrix products (``"highest"``, ``"high"``, ``"medium"``).

    eigengrad's CPU GEMM always multiplies float32 in float32 (``"highest"``); the choice is recorded and
    :func:`get_float32_matmul_precision` returns it, nothing else changes."""
    if precision not in _PRECISIONS:
        raise ValueError(f"precision: expected one of {', '.join(map(repr, _PRECISIONS))}, got {precision!r}")
    _state["matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    """The value last given to :func:`set_float32_matmul_precision` (default ``"highest"``)."""
    return _state["matmul_precision"]


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """PyTorch's request for deterministic kernels. eigengrad's are deterministic whatever this says
    (fixed reduction order, counter-based random numbers: the same bits on any number of threads), so
    the flag is only recorded for :func:`are_deterministic_algorithms_enabled`."""
    if not isinstance(mode, bool):
        raise TypeError(f"mode: expected a bool, got {type(mode).__name__}")
    if not isinstance(warn_only, bool):
        raise TypeError(f"warn_only: expected a bool, got {type(warn_only).__name__}")
    _state["deterministic"], _state["warn_only"] = mode, warn_only


def are_deterministic_algorithms_enabled() -> bool:
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _state["warn_only"]


def set_num_interop_threads(n: int) -> None:
    """PyTorch's pool for running independent operators at once. eigengrad runs operators one after
    another (each kernel is parallel inside, see ``set_num_threads``); the number is recorded."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n: expected a positive int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n: expected a positive number of threads, got {n}")
    _state["interop_threads"] = int(n)


def get_num_interop_threads() -> int:
    """The value last given to :func:`set_num_interop_threads` (default 1: operators run one at a time)."""
    return _state["interop_threads"]
